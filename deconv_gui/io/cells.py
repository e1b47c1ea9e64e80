"""Drawing grids of numbers as coloured cells (Pillow), shared by every animation's frames.

Values are coloured with the window's diverging colormap (zero white, one scale per
grid), structural zeros are marked (padding hatched grey, inserted zeros light grey),
and numbers are written in the cells when they are large enough. Fonts: DejaVu Sans
when installed (it has ᵀ, ×, −), else Pillow's own with ASCII stand-ins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..view.colormaps import apply_colormap, text_colour
from ..view.theme import THEMES, hex_rgb

__all__ = [
    "PADDING_FILL",
    "PRINT_PAPER",
    "TILE_CACHE",
    "Paper",
    "draw_grid",
    "fitting_font",
    "font",
    "level",
    "number",
    "paper",
    "text",
    "wrap",
]

#: Grids kept drawn per animation (most are the same in every frame).
TILE_CACHE = 96

#: Numbers on structural cells (copied padding, inserted zeros): grey, yet readable.
_STRUCTURAL_INK = (64, 64, 64)


class Paper(NamedTuple):
    """The colours a frame is drawn in (RGB): its background (also the lines between
    cells), its texts, section labels, the plot's frame and ticks, the cells not yet
    computed, the solver's two curves, a zero's cell (white on the print; values blend
    from it to the colormap's ends), inserted zeros, and the padding's cells and their
    hatching."""

    back: tuple[int, int, int]
    ink: tuple[int, int, int]
    label: tuple[int, int, int]
    axis: tuple[int, int, int]
    tick: tuple[int, int, int]
    pending: tuple[int, int, int]
    residual: tuple[int, int, int]
    error: tuple[int, int, int]
    zero: tuple[int, int, int]
    inserted: tuple[int, int, int]
    padding: tuple[int, int, int]
    hatch: tuple[int, int, int]


def paper(theme: Mapping[str, str]) -> Paper:
    """The :class:`Paper` of a theme (its ``frame_*`` roles, see
    :data:`deconv_gui.view.theme.THEMES`).

    Examples
    --------
    >>> paper(THEMES["light"]).back, paper(THEMES["dark"]).back != (255, 255, 255)
    ((255, 255, 255), True)
    """
    return Paper(*(hex_rgb(theme[f"frame_{name}"]) for name in Paper._fields))


#: Files are drawn on the light theme's paper (white, print-friendly), whatever the window.
PRINT_PAPER = paper(THEMES["light"])
#: The zero padding's cells on the print.
PADDING_FILL = PRINT_PAPER.padding


#: The fallback font has no glyphs for these; ASCII stands in for them.
_ASCII = str.maketrans({"ᵀ": "^T", "×": "x", "·": "*", "−": "-", "–": "-", "Σ": "sum"})


def font(size: int) -> Any:
    """DejaVu Sans when installed (it has ᵀ, ×, −), else Pillow's own font."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        pass
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType sizes
        return ImageFont.load_default()


def text(draw: ImageDraw.ImageDraw, xy: Any, text: str, font: Any, **kw: Any) -> None:
    """Write ``text`` at ``xy`` (ASCII stand-ins when the font lacks the glyphs)."""
    if "DejaVu" not in str(getattr(font, "path", "")):
        text = text.translate(_ASCII)
    draw.text(xy, text, font=font, **kw)


def wrap(text_: str, font_: Any, width: float) -> list[str]:
    """``text_`` in lines no wider than ``width`` pixels, broken at " · " or else at spaces.

    A single word wider than ``width`` keeps a line of its own.

    Examples
    --------
    >>> f = font(14)
    >>> wrap("short", f, 500)
    ['short']
    >>> lines = wrap("first part · second part · third part", f, 2 * f.getlength("first part"))
    >>> lines
    ['first part ·', 'second part ·', 'third part']
    >>> wrap("one two three", f, f.getlength("one two"))
    ['one two', 'three']
    """
    lines: list[str] = []
    for part in _pieces(text_, " · "):
        line = lines.pop() if lines else ""
        candidate = f"{line} {part}".strip() if line else part
        if _width(candidate, font_) <= width:
            lines.append(candidate)
            continue
        if line:
            lines.append(line)
        lines.extend(_by_words(part, font_, width))  # a first piece too wide too
    return [line.strip() for line in lines] or [""]


def _pieces(text_: str, separator: str) -> list[str]:
    """``a · b · c`` as ``["a ·", "b ·", "c"]``: a break after a separator keeps it."""
    parts = text_.split(separator)
    return [p + " ·" for p in parts[:-1]] + parts[-1:]


def _by_words(part: str, font_: Any, width: float) -> list[str]:
    lines: list[str] = []
    for word in part.split(" "):
        if lines and _width(f"{lines[-1]} {word}", font_) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _width(text_: str, font_: Any) -> float:
    try:
        return float(font_.getlength(text_))
    except AttributeError:  # Pillow's bitmap font without getlength
        return 6.0 * len(text_)


def fitting_font(labels: Any, cell: int, fill: float = 0.86) -> Any:
    """The largest font (at most half a cell high) in which every label fits a cell.

    Examples
    --------
    >>> small, large = fitting_font(["-240"], 26), fitting_font(["7"], 40)
    >>> small.size < large.size <= 20
    True
    """
    widest = max((str(label) for label in labels), key=len, default="0")
    size = max(9, cell // 2)
    while size > 9 and _width(widest, font(size)) > fill * cell:
        size -= 1
    return font(size)


def number(value: float) -> str:
    """A short label for a cell: at most about five characters."""
    size = abs(value)
    if value == round(value) and size < 1e4:
        return str(round(value))
    if size < 0.005:
        return f"{value:.0e}".replace("e-0", "e-")
    if size < 1:
        return f"{value:.2f}"
    return f"{value:.2g}" if size < 10 else f"{value:.3g}"


def level(array: np.ndarray) -> float:
    """The colour scale of ``array``: its largest magnitude (1 for an all-zero array)."""
    top = float(np.nanmax(np.abs(array))) if np.size(array) else 0.0
    return top if top > 0 else 1.0


def draw_grid(
    draw: ImageDraw.ImageDraw,
    layout: Any,
    origin: tuple[int, int],
    values: np.ndarray,
    level: float,
    codes: np.ndarray | None = None,
    copied: bool = False,
) -> None:
    """One ``(rows, cols)`` grid of cells at pixel ``origin`` (x, y).

    ``codes`` marks padding (1) and inserted zeros (2); with ``copied`` the padding
    cells hold values (a padding mode's copies, or a border to be folded back), drawn
    as a paler colour under the hatching, with their numbers.

    Most grids of an animation are the same from frame to frame (the input, the filter):
    each grid is drawn once as a tile, kept in ``layout.tiles`` (when the layout has
    that dict) by its content, and pasted; only grids that changed are drawn again.
    """
    image = getattr(draw, "_image", None)
    tiles = getattr(layout, "tiles", None)
    if image is None or tiles is None:
        _draw_cells(draw, layout, origin, values, level, codes, copied)
        return
    sheet = _paper(layout)
    key = (
        sheet,
        values.shape,
        values.tobytes(),
        None if codes is None else codes.tobytes(),
        float(level),
        bool(copied),
    )
    tile = tiles.pop(key, None)
    if tile is None:
        h, w = values.shape
        tile = Image.new("RGB", (w * layout.cell, h * layout.cell), sheet.back)
        _draw_cells(ImageDraw.Draw(tile), layout, (0, 0), values, level, codes, copied)
        if len(tiles) >= TILE_CACHE:
            tiles.pop(next(iter(tiles)))  # the oldest
    tiles[key] = tile  # most recently used last
    image.paste(tile, (int(origin[0]), int(origin[1])))


def _draw_cells(
    draw: ImageDraw.ImageDraw,
    layout: Any,
    origin: tuple[int, int],
    values: np.ndarray,
    level: float,
    codes: np.ndarray | None,
    copied: bool,
) -> None:
    cell, (x0, y0), sheet = layout.cell, origin, _paper(layout)
    colours = _cell_colours(np.nan_to_num(values) / level, sheet.zero)
    for (r, c), value in np.ndenumerate(values):
        box = (x0 + c * cell, y0 + r * cell, x0 + (c + 1) * cell - 1, y0 + (r + 1) * cell - 1)
        code = 0 if codes is None else int(codes[r, c])
        fill = _cell_fill(colours[r, c], code, float(value), copied, sheet)
        draw.rectangle(box, fill=fill)
        if code == 1:
            for t in range(-cell + 1, cell, max(4, cell // 4)):  # hatching: not image data
                u0, u1 = max(0, -t), min(cell - 1, cell - 1 - t)
                draw.line(
                    (box[0] + t + u0, box[3] - u0, box[0] + t + u1, box[3] - u1),
                    fill=sheet.hatch,
                )
        if cell >= 6:
            draw.rectangle(box, outline=sheet.back)
        if layout.numbers and not np.isnan(value) and (code != 1 or copied):
            text(
                draw,
                ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2),
                number(float(value)),
                layout.font,
                # black or white, whichever reads on the cell (a deep red or blue takes
                # white); structural cells in a dark grey that still reads
                fill=text_colour(fill, _STRUCTURAL_INK if code else (0, 0, 0)),
                anchor="mm",
            )


def _paper(layout: Any) -> Paper:
    """The layout's paper (a layout without one: the print's)."""
    return getattr(layout, "paper", None) or PRINT_PAPER


def _cell_colours(t: np.ndarray, zero: tuple[int, int, int]) -> np.ndarray:
    """The cells' RGB for values ``t`` in [-1, 1]: the diverging colormap (zero white),
    or on a dark paper a blend from its ``zero`` to the map's colour at ``|t|``, as the
    window's filter grid (a white zero would glare on it)."""
    colours = apply_colormap("diverging", 0.5 + 0.5 * t)
    if zero != (255, 255, 255):
        weight = np.clip(np.abs(t), 0.0, 1.0)[..., None]
        colours = (1.0 - weight) * np.asarray(zero, dtype=np.float64) + weight * colours
    return np.round(colours)


def _cell_fill(
    colour: Any, code: int, value: float, copied: bool, sheet: Paper
) -> tuple[int, int, int]:
    """A cell's fill: its value's colour, or padding (paler under copies), inserted, pending."""
    if code == 1:
        pad = sheet.padding
        pale = (np.asarray(colour) + np.asarray(pad)) / 2 if copied else pad
        return tuple(int(v) for v in pale)  # type: ignore[return-value]
    if code == 2:
        return sheet.inserted
    if np.isnan(value):
        return sheet.pending
    return tuple(int(v) for v in colour)  # type: ignore[return-value]
