"""Feature maps of a deep layer as one picture: a grid of tiles, one per channel shown.

An array of more channels than a picture holds (a deep layer's input or output, 64 to
512 channels) is drawn as a montage of the channels the user picked: tiles in rows,
as square a grid as the tiles' shape allows, one gap pixel between them. The rules
are here, without Qt, so that the window's panels and the exported PNGs share them.

Examples
--------
>>> import numpy as np
>>> x = np.arange(2 * 3 * 5, dtype=float).reshape(2, 3, 5)
>>> picture = montage(x, (0, 1, 2, 3), fill=-1.0)
>>> picture.shape
(5, 7)
>>> parse_channels("0-2, 7", 16)
(0, 1, 2, 7)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "DEFAULT_TILES",
    "GAP",
    "MAX_TILES",
    "MONTAGE_FROM",
    "channels_text",
    "default_channels",
    "montage",
    "montage_columns",
    "parse_channels",
    "tile_at",
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
