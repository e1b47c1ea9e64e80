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

from ..core import ConvOperator, StepAnimation
from ..core.analysis.steps import Step
from .cells import draw_grid as _draw_grid
from .cells import fitting_font, wrap
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
_TITLES = {
    "forward": "Forward: the window slides over the padded input; each output is a sum of products",
    "scatter": "Transposed, as scatter: each output value × the kernel is added into the result",
    "zero-insertion": "Transposed, as zero insertion: spread y, pad, correlate with the flipped "
    "kernel",
}


class _Layout:
    """Cell size and section positions, fixed for all frames of one animation.

    ``scale`` multiplies the size limits (the window draws larger frames, to zoom in).
    """

    def __init__(self, anim: StepAnimation, scale: float = 1.0) -> None:
        self.sections = _section_shapes(anim)
        width, height = int(_WIDTH_LIMIT * scale), int(_HEIGHT_LIMIT * scale)
        cell = min(
            [40, height // max(h for s in self.sections for h, _ in s)]
            + [(width - _GAP * (len(s) + 1)) // sum(w for _, w in s) for s in self.sections]
        )
        self.cell = max(cell, 3)
        self.numbers = self.cell >= 26
        # the values as large as the cells allow: the widest label fits its cell
        self.font = fitting_font(_labels(anim), self.cell)
        self.tiles: dict = {}  # grids drawn once (cells.draw_grid)
        self.label = max(_LABEL, round(_LABEL * scale))  # text lines grow with the frame
        self.text_font = _font(max(14, round(14 * scale)))
        grids = max(sum(w for _, w in s) * self.cell + _GAP * (len(s) + 3) for s in self.sections)
        self.width = max(width, grids)
        # room for the longest text of any frame, wrapped to the frame's width
        steps = [None, *(anim.step(k) for k in {0, len(anim) - 1} if len(anim))]
        lines = max(len(self.lines(_step_text(anim, step))) for step in steps)
        top = max(3, lines) * self.label + _GAP
        self.tops = []
        for shapes in self.sections:
            self.tops.append(top + self.label)
            top += self.label + max(h for h, _ in shapes) * self.cell + _GAP
        self.height = top + _GAP
        # one colour scale per section for the whole animation, so frames compare
        if anim.mode == "scatter":
            final = max(_level(anim.grid), _level(anim.transposed()))
            self.levels = (_level(anim.output), _level(anim.weights), final)
            self.product_level = _level(anim.output) * _level(anim.weights)
        else:
            result = anim.output if anim.mode == "forward" else anim.transposed()
            self.levels = (_level(anim.grid), _level(anim.weights), _level(result))
            self.product_level = _level(anim.grid) * _level(anim.weights)

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
    x, out = _GAP, []
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
    image = Image.new("RGB", (layout.width, layout.height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    g, mode = anim.geometry, anim.mode
    fh, fw = g.filter_shape[:2]
    last = anim.step(len(anim) - 1) if step is None else step
    taps = [(last.origin[0] + g.dilation[0] * i, last.origin[1] + g.dilation[1] * j)
            for i in range(fh) for j in range(fw)]  # fmt: skip
    labels, grids = frame_grids(anim, step)
    copied = g.padding_mode != "zeros" and mode != "zero-insertion"
    texts = layout.lines(_step_text(anim, step))
    for n, line in enumerate(texts):
        _text(draw, (_GAP, 6 + n * layout.label), line, layout.text_font, fill=(0, 0, 0))
    for index, (label, arrays) in enumerate(zip(labels, grids, strict=True)):
        _text(draw, (_GAP, layout.tops[index] - layout.label + 2), label, layout.text_font,
              fill=(60, 60, 60))  # fmt: skip
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


def frame_grids(anim: StepAnimation, step: Step | None) -> tuple[list[str], list[list[np.ndarray]]]:
    """The three sections' labels and grids of a frame (``step=None``: the finished one)."""
    g, mode = anim.geometry, anim.mode
    labels, grids = _section_content(anim, anim.step(len(anim) - 1) if step is None else step)
    if step is None and mode != "forward":  # the end: the border cut off or folded back
        labels[2] = (
            "result Aᵀy: the border folded back onto the pixels it copied"
            if anim.folds
            else "result Aᵀy (the padding cut off)"
            if mode == "scatter" and max(g.padding) > 0
            else "result Aᵀy"
        )
        final = anim.transposed()
        grids[2] = [final[:, :, c] for c in range(final.shape[2])]
    return labels, grids


def grid_positions(anim: StepAnimation, layout: Any, index: int, arrays) -> list[tuple[int, int]]:
    """The top-left pixel of each grid of section ``index`` of a frame."""
    g = anim.geometry
    split = g.filter_shape[2] if index == 1 and anim.mode != "zero-insertion" else 0
    return _row(layout, index, [a.shape for a in arrays], split)


def _section_content(anim: StepAnimation, step: Step) -> tuple[list[str], list[list[np.ndarray]]]:
    g = anim.geometry
    _, _, c_in, c_out = g.filter_shape
    o = step.channel
    if anim.mode == "forward":
        return (
            [
                (
                    "input x (no padding), "
                    if max(g.padding) == 0
                    else f"padded input x (padding {g.padding[0]},{g.padding[1]} hatched), "
                    if g.padding_mode == "zeros"
                    else f"padded input x ({g.padding_mode} padding: the hatched cells copy "
                    "image pixels), "
                )
                + (f"channels 0–{c_in - 1}" if c_in > 1 else "channel 0"),
                f"filter w[:, :, c, {o}] for each input channel c, then the products w·x "
                "under the window (summed into one output)",
                "output y (one cell per step)",
            ],
            [
                [anim.grid[:, :, c] for c in range(c_in)],
                [anim.weights[:, :, c, o] for c in range(c_in)]
                + [step.products[:, :, c] for c in range(c_in)],
                [step.canvas[:, :, k] for k in range(c_out)],
            ],
        )
    if anim.mode == "scatter":
        return (
            ["y = A x (each value in turn)",
             f"filter w[:, :, c, {o}], then the block y·w added into the result",
             "result Aᵀy, accumulated on the padded grid (border hatched: "
             + ("added back onto the pixels it copied at the end)" if anim.folds
                else "cut off at the end)")],
            [
                [anim.output[:, :, k] for k in range(c_out)],
                [anim.weights[:, :, c, o] for c in range(c_in)]
                + [step.products[:, :, c] for c in range(c_in)],
                [step.canvas[:, :, c] for c in range(c_in)],
            ],
        )  # fmt: skip
    flipped = anim.weights[::-1, ::-1]
    return (
        ["y spread with stride − 1 zeros (light), padded by d·(f − 1) − p (+ output_padding)"
         if not anim.folds else
         "y spread with stride − 1 zeros (light), padded by d·(f − 1) (the padded image's grid)",
         "flipped filter w[::-1, ::-1, c, o] for each (c, o)",
         "result Aᵀy (stride-1 correlation, one pixel per step)" if not anim.folds else
         f"result on the {g.padding_mode}-padded grid (one pixel per step; folded at the end)"],
        [
            [anim.grid[:, :, k] for k in range(c_out)],
            [flipped[:, :, c, k] for c in range(c_in) for k in range(c_out)],
            [step.canvas[:, :, c] for c in range(c_in)],
        ],
    )  # fmt: skip


def _step_text(anim: StepAnimation, step: Step | None) -> list[str]:
    g = anim.geometry
    head = [
        _TITLES[anim.mode],
        f"{g.describe()} · stride {g.stride[0]},{g.stride[1]} · padding "
        f"{g.padding[0]},{g.padding[1]} · dilation {g.dilation[0]},{g.dilation[1]}",
    ]
    if step is None:
        return [*head, _summary(anim)]
    (a, b), n = step.pixel, f"step {step.index + 1} of {len(anim)}"
    if anim.mode == "forward":
        terms = step.products.size
        line = (
            f"y[{a}, {b}, {step.channel}] = sum of {terms} products w·x = {float(step.result):.4g}"
        )
    elif anim.mode == "scatter":
        line = (
            f"add y[{a}, {b}, {step.channel}] = {float(step.result):.4g} × w[:, :, :, "
            f"{step.channel}] into the outlined cells; overlaps add up"
        )
    else:
        values = ", ".join(f"{v:.3g}" for v in step.result)
        line = f"(Aᵀy)[{a}, {b}, :] = sum over the window of flipped w · spread y = ({values})"
    return [*head, f"{n}: {line}"]


def _summary(anim: StepAnimation) -> str:
    g = anim.geometry
    if anim.mode == "forward":
        return f"done: y = A x has {g.n_equations} values for {g.n_unknowns} unknowns"
    return same_transpose_line(anim)


def same_transpose_line(anim: StepAnimation) -> str:
    """The line that says scatter and zero insertion give the same ``Aᵀy`` (measured)."""
    reference = ConvOperator(anim.geometry, anim.weights).apply_adjoint(anim.output)
    other_mode = "zero-insertion" if anim.mode == "scatter" else "scatter"
    other = StepAnimation(anim.geometry, anim.weights, anim.image, other_mode).transposed()
    mine = anim.transposed()
    diff = max(float(np.abs(mine - reference).max()), float(np.abs(other - mine).max()))
    line = f"done: scatter = zero insertion = conv2d_transpose (max difference {diff:.0e})"
    (ph, pw), (h, w, _) = anim.geometry.padding, anim.geometry.input_shape
    counts = anim.window_counts()[ph : ph + h, pw : pw + w]
    if counts.min() != counts.max():  # the uneven coverage behind the checkerboard
        line += f" · {counts.min()} to {counts.max()} windows per pixel (the checkerboard)"
    return line + " · Aᵀy is not x"


def render_title(anim: StepAnimation, layout: Any = None) -> np.ndarray:
    """The opening frame: what is animated, on which geometry, and how many steps."""
    layout = layout or _Layout(anim)
    image = Image.new("RGB", (layout.width, layout.height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    g = anim.geometry
    lines = [
        _TITLES[anim.mode],
        g.describe(),
        f"stride {g.stride}, padding {g.padding}, dilation {g.dilation}, filter "
        f"{'×'.join(map(str, g.filter_shape))}",
        f"{len(anim)} steps, one per "
        + ("result pixel" if anim.mode == "zero-insertion" else "output value"),
    ]
    title_font = _font(16)
    lines = [part for line in lines for part in wrap(line, title_font, layout.width - 4 * _GAP)]
    for n, line in enumerate(lines):
        _text(draw, (2 * _GAP, layout.height // 3 + n * 24), line, title_font, fill=(0, 0, 0))
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
