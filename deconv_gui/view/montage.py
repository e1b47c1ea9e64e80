"""Feature maps of a deep layer as one picture: a grid of tiles, one per channel shown.

An array of more channels than a picture holds (a deep layer's input or output, 64 to
512 channels) is drawn as a montage of the channels the user picked: tiles in rows,
as square a grid as the tiles' shape allows, one gap pixel between them. Each tile is
labelled with its channel at its top-left corner, white on a dark box, where the label
fits (:func:`tile_labels`, :func:`label_fits`): the window writes them over its panels,
an exported PNG has them drawn in by :func:`draw_tile_labels`. The rules are here,
without Qt, so that the window's panels and the exported PNGs share them.

Examples
--------
>>> import numpy as np
>>> x = np.arange(2 * 3 * 5, dtype=float).reshape(2, 3, 5)
>>> picture = montage(x, (0, 1, 2, 3), fill=-1.0)
>>> picture.shape
(5, 7)
>>> parse_channels("0-2, 7", 16)
(0, 1, 2, 7)
>>> [(label.text, label.row, label.col) for label in tile_labels((0, 1, 2, 3), (2, 3))]
[('0', 0, 0), ('1', 0, 4), ('2', 3, 0), ('3', 3, 4)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_TILES",
    "GAP",
    "MAX_TILES",
    "MONTAGE_FROM",
    "TileLabel",
    "channels_text",
    "default_channels",
    "draw_tile_labels",
    "label_fits",
    "montage",
    "montage_columns",
    "parse_channels",
    "picture_pixel",
    "tile_at",
    "tile_labels",
]

#: Arrays of more channels than this are drawn as a montage (1 and 3 as a picture).
MONTAGE_FROM = 4
#: The channels a montage shows until the user picks: the first 16.
DEFAULT_TILES = 16
#: At most this many tiles in one montage (beyond, a picture of tiles too small to read).
MAX_TILES = 256
#: Pixels between two tiles.
GAP = 1


def default_channels(count: int) -> tuple[int, ...]:
    """The channels shown before a choice: the first :data:`DEFAULT_TILES`."""
    return tuple(range(min(count, DEFAULT_TILES)))


def parse_channels(text: str, count: int) -> tuple[int, ...]:
    """Channels typed as ``"all"``, ``"5"``, ``"0-15"`` or ``"0, 3, 8-11"`` (0-based).

    Raises
    ------
    ValueError
        Naming ``channels``: not a list of channels and ranges, a channel outside
        ``0 … count − 1``, or more than :data:`MAX_TILES` of them.
    """
    text = str(text).strip().lower()
    if text in ("", "all"):
        chosen = list(range(count))
    else:
        chosen = []
        for part in text.replace(" ", "").split(","):
            first, dash, last = part.partition("-")
            if not first.isdigit() or (dash and not last.isdigit()):
                raise ValueError(
                    f"channels must be numbers and ranges like 0-15, 20 (0-based), got {part!r}"
                )
            low, high = int(first), int(last) if dash else int(first)
            if low > high or high >= count:
                raise ValueError(f"channels must lie in 0-{count - 1}, got {part!r}")
            chosen += range(low, high + 1)
    unique = tuple(dict.fromkeys(chosen))
    if len(unique) > MAX_TILES:
        raise ValueError(
            f"channels: at most {MAX_TILES} in one montage, got {len(unique)} (pick a range)"
        )
    return unique


def channels_text(channels: Sequence[int]) -> str:
    """``(0, 1, 2, 7)`` → ``"0-2, 7"``, the inverse of :func:`parse_channels`.

    >>> channels_text((0, 1, 2, 7, 9, 10))
    '0-2, 7, 9-10'
    """
    parts: list[str] = []
    run: list[int] = []
    for c in channels:
        if run and c == run[-1] + 1:
            run.append(c)
            continue
        if run:
            parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [c]
    if run:
        parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ", ".join(parts)


def montage_columns(count: int, tile_h: int, tile_w: int) -> int:
    """Columns of a montage of ``count`` tiles: the picture about square.

    >>> montage_columns(16, 8, 8), montage_columns(16, 4, 16), montage_columns(1, 5, 5)
    (4, 2, 1)
    """
    if count <= 1:
        return 1
    columns = round(math.sqrt(count * tile_h / max(tile_w, 1)))
    return int(min(max(columns, 1), count))


def montage(
    array: np.ndarray, channels: Sequence[int], fill: float = 0.0, gap: int = GAP
) -> np.ndarray:
    """The ``channels`` of ``array`` ``(H, W, C)`` as one ``(rows·(H+gap)−gap,
    cols·(W+gap)−gap)`` picture, tiles in reading order, ``fill`` between and after them.

    Raises
    ------
    ValueError
        Naming ``array`` (not 3-D) or ``channels`` (empty or out of range).
    """
    array = np.asarray(array)
    if array.ndim != 3:
        raise ValueError(f"array must be (H, W, C), got shape {array.shape}")
    channels = tuple(int(c) for c in channels)
    if not channels or min(channels) < 0 or max(channels) >= array.shape[2]:
        raise ValueError(f"channels must be some of 0-{array.shape[2] - 1}, got {channels}")
    h, w = array.shape[:2]
    cols = montage_columns(len(channels), h, w)
    rows = -(-len(channels) // cols)
    dtype = np.result_type(array.dtype, np.float32)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), fill, dtype=dtype)
    for i, c in enumerate(channels):
        r, k = divmod(i, cols)
        out[r * (h + gap) : r * (h + gap) + h, k * (w + gap) : k * (w + gap) + w] = array[:, :, c]
    return out


def tile_at(
    row: int, col: int, shape: tuple[int, int], channels: Sequence[int], gap: int = GAP
) -> tuple[int, int, int] | None:
    """The ``(channel, row, col)`` of the array under pixel ``(row, col)`` of a montage of
    ``channels`` of an ``(H, W)`` array; None on a gap or past the last tile.

    >>> tile_at(6, 1, (5, 5), (0, 1, 2, 3))
    (2, 0, 1)
    """
    h, w = shape
    cols = montage_columns(len(channels), h, w)
    r, dr = divmod(int(row), h + gap)
    k, dc = divmod(int(col), w + gap)
    index = r * cols + k
    if dr >= h or dc >= w or k >= cols or not 0 <= index < len(channels) or row < 0 or col < 0:
        return None
    return channels[index], dr, dc


def picture_pixel(
    row: int, col: int, shape: tuple[int, int], tiles: Sequence[int], gap: int = GAP
) -> tuple[int, int, int] | None:
    """The array's ``(row, col, channel)`` under pixel ``(row, col)`` of a panel's
    picture: through :func:`tile_at` for a montage of ``tiles``, else the pixel itself
    with channel -1 (the picture is the array); None outside the array's pixels.

    >>> picture_pixel(6, 1, (5, 5), (0, 1, 2, 3)), picture_pixel(4, 4, (5, 5), ())
    ((0, 1, 2), (4, 4, -1))
    """
    if tiles:
        hit = tile_at(row, col, shape, tiles, gap)
        return None if hit is None else (hit[1], hit[2], hit[0])
    h, w = shape
    return (int(row), int(col), -1) if 0 <= row < h and 0 <= col < w else None


@dataclass(frozen=True)
class TileLabel:
    """The label of one montage tile: its channel's index, at its tile's top-left corner
    (``row``, ``col``: the montage picture's pixel)."""

    text: str
    row: int
    col: int


def tile_labels(
    channels: Sequence[int], shape: tuple[int, int], gap: int = GAP
) -> tuple[TileLabel, ...]:
    """The labels of a :func:`montage` of ``channels`` of an ``(H, W)`` array, in its
    reading order (see the module's example)."""
    h, w = shape
    cols = montage_columns(len(channels), h, w)
    return tuple(
        TileLabel(str(int(c)), (i // cols) * (h + gap), (i % cols) * (w + gap))
        for i, c in enumerate(channels)
    )


def label_fits(label: tuple[float, float], tile: tuple[float, float]) -> bool:
    """True when a label of ``(height, width)`` leaves most of a tile of ``(height,
    width)`` visible: at most half its height and two thirds of its width (both in the
    same units: screen pixels in the window, image pixels in a PNG).

    >>> label_fits((9, 13), (32, 32)), label_fits((9, 13), (16, 16))
    (True, False)
    """
    return label[0] <= tile[0] / 2 and label[1] <= tile[1] * 2 / 3


#: The digits of the PNG labels, 5 × 7 pixels each ("#" ink).
_GLYPHS = {
    str(d): np.array([[ch == "#" for ch in line] for line in rows.split()], dtype=bool)
    for d, rows in enumerate(
        (
            ".###. #...# #..## #.#.# ##..# #...# .###.",
            "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
            ".###. #...# ....# ...#. ..#.. .#... #####",
            "##### ...#. ..#.. ...#. ....# #...# .###.",
            "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
            "##### #.... ####. ....# ....# #...# .###.",
            "..##. .#... #.... ####. #...# #...# .###.",
            "##### ....# ...#. ..#.. .#... .#... .#...",
            ".###. #...# #...# .###. #...# #...# .###.",
            ".###. #...# #...# .#### ....# ...#. .##..",
        )
    )
}
#: The dark box under a label: this much black over the picture.
LABEL_SHADE = 0.63


def _label_mask(text: str, scale: int) -> np.ndarray:
    """The label's ink, ``scale`` pixels per glyph pixel, a glyph pixel between digits
    and around the text."""
    glyphs = [np.pad(_GLYPHS[ch], ((0, 0), (0, 1))) for ch in text]
    ink = np.pad(np.hstack(glyphs)[:, :-1], 1)
    return np.kron(ink, np.ones((scale, scale), dtype=bool)).astype(bool)


def draw_tile_labels(
    pixels: np.ndarray, channels: Sequence[int], shape: tuple[int, int], gap: int = GAP
) -> np.ndarray:
    """A copy of ``pixels`` (a montage's ``(H', W', 3)`` uint8 picture, as exported)
    with each tile's channel written at its top-left corner (:func:`tile_labels`), white
    on a dark box, in digits of 5 × 7 pixels times a whole scale that grows with the
    tile (one per 64 pixels of its side, at most three); a tile too small for its label
    (:func:`label_fits`) keeps its pixels.

    Raises
    ------
    ValueError
        Naming ``pixels`` when it is not an RGB uint8 picture of that montage's size.
    """
    pixels = np.asarray(pixels)
    h, w = shape
    cols = montage_columns(len(channels), h, w)
    rows = -(-len(channels) // cols)
    size = (rows * (h + gap) - gap, cols * (w + gap) - gap)
    if pixels.dtype != np.uint8 or pixels.shape != (*size, 3):
        raise ValueError(
            f"pixels must be the (H, W, 3) uint8 montage, {size} here; "
            f"got {pixels.dtype} {pixels.shape}"
        )
    out = pixels.copy()
    scale = int(min(max(min(h, w) // 64, 1), 3))
    for label in tile_labels(channels, shape, gap):
        ink = _label_mask(label.text, scale)
        if not label_fits(ink.shape, (h, w)):
            continue
        box = out[label.row : label.row + ink.shape[0], label.col : label.col + ink.shape[1]]
        shaded = np.round(box * (1.0 - LABEL_SHADE)).astype(np.uint8)
        box[...] = np.where(ink[:, :, None], np.uint8(255), shaded)
    return out
