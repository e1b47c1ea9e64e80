"""Drawing the steps of a :class:`~deconv_gui.core.StepAnimation` as RGB frames, and GIFs.

Qt-free: the grids are drawn with Pillow as coloured cells (the window's diverging
colormap, zero white), with the structural zeros marked (padding hatched grey, the
zeros inserted between spread outputs light grey), the window's taps outlined, and the
numbers written in the cells when the grids are small. :func:`write_gif` saves the
frames through imageio.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from ..core import StepAnimation
from ..core.analysis.steps import Step
from .animation_content import TITLES, frame_grids, same_transpose_line, step_text
from .cells import PRINT_PAPER, fitting_font, wrap
from .cells import draw_grid as _draw_grid
from .cells import font as _font
from .cells import level as _level
from .cells import number as _number
from .cells import text as _text

__all__ = [
    "MAX_GIF_STEPS",
    "TITLE_FRAMES",
    "animation_frames",
    "render_step",
    "render_title",
    "same_transpose_line",
    "write_gif",
]

#: The most steps drawn into one GIF: at half a second each, a few minutes to watch.
MAX_GIF_STEPS = 400
#: Title frames around the steps: one that says what is shown, one with the result.
TITLE_FRAMES = 2
_HIGHLIGHT = (230, 120, 0)
_WIDTH_LIMIT, _HEIGHT_LIMIT = 960, 340
_GAP, _LABEL = 12, 20


class _Layout:
    """Cell size and section positions, fixed for all frames of one animation.

    ``scale`` multiplies the size limits (the window draws larger frames, to zoom in);
    ``paper`` gives the colours around the cells (the window's theme's, files: print).
    """

    paper = PRINT_PAPER

    def __init__(self, anim: StepAnimation, scale: float = 1.0) -> None:
        self.sections = _section_shapes(anim)
        width, height = int(_WIDTH_LIMIT * scale), int(_HEIGHT_LIMIT * scale)
        cell = min(
            [40, height // max(h for s in self.sections for h, _ in s)]
            + [(width - _GAP * (len(s) + 1)) // sum(w for _, w in s) for s in self.sections]
        )
        self.cell = max(cell, 3)
        self.numbers = self.cell >= 26
        # the values as large as the cells allow: the widest label fits its cell, a pixel
        # or two to spare (a frame is drawn smaller in the window)
        self.font = fitting_font(_labels(anim), self.cell, fill=0.9)
        self.tiles: dict = {}  # grids drawn once (cells.draw_grid)
        self.label = max(_LABEL, round(_LABEL * scale))  # text lines grow with the frame
        self.text_font = _font(max(14, round(14 * scale)))
        grids = max(sum(w for _, w in s) * self.cell + _GAP * (len(s) + 3) for s in self.sections)
        self.width = max(width, grids)
        # room for the longest text of any frame, wrapped to the frame's width
        steps = [None, *(anim.step(k) for k in {0, len(anim) - 1} if len(anim))]
        lines = max(len(self.lines(step_text(anim, step))) for step in steps)
        self._place_sections(anim, steps, max(3, lines) * self.label + _GAP)
        # one colour scale per section for the whole animation, so frames compare
        if anim.mode == "scatter":
            final = max(_level(anim.grid), _level(anim.transposed()))
            self.levels = (_level(anim.output), _level(anim.weights), final)
            self.product_level = _level(anim.output) * _level(anim.weights)
        else:
            result = anim.output if anim.mode == "forward" else anim.transposed()
            self.levels = (_level(anim.grid), _level(anim.weights), _level(result))
            self.product_level = _level(anim.grid) * _level(anim.weights)

    def _place_sections(self, anim: StepAnimation, steps: list, top: int) -> None:
        """Sections side by side while they fit the frame's width, their labels wrapped
        over them: ``lefts``, ``tops`` (of their grids), ``rooms`` (their labels' width),
        ``height``. Side by side, the frame is lower and the window draws it larger (the
        forward pass's filters and output beside each other: 14 cells high, not 17)."""
        spans = [sum(w for _, w in s) * self.cell + _GAP * (len(s) + 2) for s in self.sections]
        rows: list[list[int]] = []
        self.lefts, x = [], self.width
        for index, span in enumerate(spans):
            if not rows or x + _GAP + span > self.width:
                rows.append([])
                x = 0
            rows[-1].append(index)
            self.lefts.append(x + _GAP)
            x += _GAP + span
        self.rooms = [0] * len(spans)
        for row in rows:
            ends = [self.lefts[i] for i in row[1:]] + [self.width]
            for index, end in zip(row, ends, strict=True):
                self.rooms[index] = end - _GAP - self.lefts[index]
        labels = [frame_grids(anim, step)[0] for step in steps]
        self.tops = [0] * len(spans)
        for row in rows:
            count = max(
                len(wrap(texts[i], self.text_font, self.rooms[i])) for texts in labels for i in row
            )
            for index in row:
                self.tops[index] = top + count * self.label
            high = max(h for i in row for h, _ in self.sections[i])
            top += count * self.label + high * self.cell + _GAP
        self.height = top + _GAP

    def label_lines(self, index: int, label: str) -> list[str]:
        """Section ``index``'s ``label`` wrapped to its room."""
        return wrap(label, self.text_font, self.rooms[index])

    def lines(self, texts: Sequence[str]) -> list[str]:
        """``texts`` wrapped to the frame's width (none runs off its right edge)."""
        room = self.width - 2 * _GAP
        return [line for text in texts for line in wrap(text, self.text_font, room)]


def _labels(anim: StepAnimation) -> set[str]:
    """Every number a cell of the animation can show (the products by their bound)."""
    arrays = (anim.grid, anim.weights, anim.output, anim.transposed())
    labels = {_number(float(v)) for a in arrays for v in np.ravel(a) if np.isfinite(v)}
    for data in (anim.grid, anim.output):
        labels.add(_number(-_level(data) * _level(anim.weights)))
    return labels


def _section_shapes(anim: StepAnimation) -> tuple[list[tuple[int, int]], ...]:
    g = anim.geometry
    fh, fw, c_in, c_out = g.filter_shape
    grid = anim.grid.shape
    h_out, w_out, _ = g.output_shape
    h, w, _ = g.input_shape
    # forward and scatter: each channel's filter, then the products (the terms summed,
    # or the block added)
    if anim.mode == "forward":
        return [grid[:2]] * c_in, [(fh, fw)] * (2 * c_in), [(h_out, w_out)] * c_out
    if anim.mode == "scatter":
        return [(h_out, w_out)] * c_out, [(fh, fw)] * (2 * c_in), [grid[:2]] * c_in
    return [grid[:2]] * c_out, [(fh, fw)] * (c_in * c_out), [(h, w)] * c_in


def _outline(draw, layout: _Layout, origin, cells: Sequence[tuple[int, int]], width: int = 3):
    cell, (x0, y0) = layout.cell, origin
    for r, c in cells:
        box = (x0 + c * cell, y0 + r * cell, x0 + (c + 1) * cell - 1, y0 + (r + 1) * cell - 1)
        draw.rectangle(box, outline=_HIGHLIGHT, width=min(width, max(1, cell // 4)))


def _row(layout: _Layout, index: int, shapes, split: int = 0) -> list[tuple[int, int]]:
    """The top-left pixel of each grid of section ``index``.

    A wider gap before grid ``split`` (the products after the filters) groups them.
    """
    x, out = layout.lefts[index], []
    for n, (_, w) in enumerate(shapes):
        if split and n == split:
            x += 2 * _GAP
        out.append((x, layout.tops[index]))
        x += w * layout.cell + _GAP
    return out


def render_step(anim: StepAnimation, step: Step | None, layout: Any = None) -> np.ndarray:
    """Draw one step (or, for ``step=None``, the finished result) as ``(H, W, 3)`` uint8.

    Parameters
    ----------
    anim : StepAnimation
        The animation.
    step : Step or None
        One of its steps; None draws the complete result without a window.
    layout : optional
        A layout from an earlier call (the same for every frame); built when None.
    """
    layout = layout or _Layout(anim)
    image = Image.new("RGB", (layout.width, layout.height), layout.paper.back)
    draw = ImageDraw.Draw(image)
    g, mode = anim.geometry, anim.mode
    fh, fw = g.filter_shape[:2]
    last = anim.step(len(anim) - 1) if step is None else step
    taps = [(last.origin[0] + g.dilation[0] * i, last.origin[1] + g.dilation[1] * j)
            for i in range(fh) for j in range(fw)]  # fmt: skip
    labels, grids = frame_grids(anim, step)
    copied = g.padding_mode != "zeros" and mode != "zero-insertion"
    texts = layout.lines(step_text(anim, step))
    for n, line in enumerate(texts):
        _text(draw, (_GAP, 6 + n * layout.label), line, layout.text_font, fill=layout.paper.ink)
    for index, (label, arrays) in enumerate(zip(labels, grids, strict=True)):
        wrapped = layout.label_lines(index, label)
        for n, line in enumerate(wrapped):  # over the section's grids, the last line lowest
            y = layout.tops[index] - layout.label * (len(wrapped) - n) + 2
            _text(draw, (layout.lefts[index], y), line, layout.text_font, fill=layout.paper.label)
        positions = grid_positions(anim, layout, index, arrays)
        for n, (pos, values) in enumerate(zip(positions, arrays, strict=True)):
            grid_window = (index == 0 and mode != "scatter") or (index == 2 and mode == "scatter")
            shaped = values.shape == anim.structural_zeros.shape
            codes = anim.structural_zeros if grid_window and shaped else None
            products = index == 1 and mode != "zero-insertion" and n >= g.filter_shape[2]
            level = layout.product_level if products else layout.levels[index]
            _draw_grid(draw, layout, pos, values, level, codes, copied)
            if step is None:
                continue
            if grid_window:
                _outline(draw, layout, pos, taps)
            elif index == 0 and n == step.channel:  # scatter: the value spread
                _outline(draw, layout, pos, [step.pixel])
            elif index == 2 and (mode == "zero-insertion" or n == step.channel):
                _outline(draw, layout, pos, [step.pixel])
    return np.asarray(image)


def grid_positions(anim: StepAnimation, layout: Any, index: int, arrays) -> list[tuple[int, int]]:
    """The top-left pixel of each grid of section ``index`` of a frame."""
    g = anim.geometry
    split = g.filter_shape[2] if index == 1 and anim.mode != "zero-insertion" else 0
    return _row(layout, index, [a.shape for a in arrays], split)


def render_title(anim: StepAnimation, layout: Any = None) -> np.ndarray:
    """The opening frame: what is animated, on which geometry, and how many steps."""
    layout = layout or _Layout(anim)
    image = Image.new("RGB", (layout.width, layout.height), layout.paper.back)
    draw = ImageDraw.Draw(image)
    g = anim.geometry
    lines = [
        TITLES[anim.mode],
        g.describe(),
        f"stride {g.stride}, padding {g.padding}, dilation {g.dilation}, filter "
        f"{'×'.join(map(str, g.filter_shape))}",
        f"{len(anim)} steps, one per "
        + ("result pixel" if anim.mode == "zero-insertion" else "output value"),
    ]
    title_font = _font(16)
    lines = [part for line in lines for part in wrap(line, title_font, layout.width - 4 * _GAP)]
    for n, line in enumerate(lines):
        _text(
            draw, (2 * _GAP, layout.height // 3 + n * 24), line, title_font, fill=layout.paper.ink
        )
    return np.asarray(image)


def animation_frames(anim: StepAnimation) -> Iterator[np.ndarray]:
    """The title frame, one frame per step, then the finished result (``TITLE_FRAMES``).

    Raises
    ------
    ValueError
        Naming ``anim`` when it has more than :data:`MAX_GIF_STEPS` steps.
    """
    if len(anim) > MAX_GIF_STEPS:
        raise ValueError(
            f"anim: {len(anim):,} steps ({anim.mode} on input_shape "
            f"{anim.geometry.input_shape}) are more than the {MAX_GIF_STEPS} a GIF shows; "
            "animate a smaller image or a crop"
        )
    layout = _Layout(anim)
    yield render_title(anim, layout)
    for step in anim:
        yield render_step(anim, step, layout)
    yield render_step(anim, None, layout)


def write_gif(
    path: Any, frames: Sequence[np.ndarray], *, step_ms: int = 500, title_ms: int = 2500
) -> Path:
    """Write ``frames`` (title, steps, result) as a looping GIF; returns the path.

    Raises
    ------
    ValueError
        Naming ``path`` when it cannot be written, or ``frames`` when there are none.
    """
    import imageio.v3 as iio

    from .files import atomic_write_bytes

    if len(frames) == 0:
        raise ValueError("frames must hold at least one frame")
    path = Path(path)
    durations = [step_ms] * len(frames)
    durations[0] = durations[-1] = title_ms
    # encoded in memory, then written atomically: a failed write (a full disk, a folder
    # that refuses it) leaves no half-written GIF and keeps the file it would replace
    data = iio.imwrite("<bytes>", np.stack(frames), extension=".gif", duration=durations, loop=0)
    try:
        return atomic_write_bytes(path, data)
    except ValueError as exc:
        raise ValueError(f"path: {exc}") from None
