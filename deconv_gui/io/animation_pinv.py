"""Drawing the frames of a :class:`~deconv_gui.core.PinvAnimation` (one per iteration).

Each frame shows the image ``x`` next to the solver's iterate ``x_k`` (per channel,
the same colours as the step animations), ``y``, ``A x_k`` and the residual
``y − A x_k`` on one colour scale (the residual fades to white as the solver
converges), and the history of the relative residual and of the distance to the
answer, on a log scale, with the current iteration marked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from ..core import PinvAnimation, PinvStep
from .cells import PRINT_PAPER
from .cells import draw_grid as _draw_grid
from .cells import font as _font
from .cells import level as _level
from .cells import text as _text

__all__ = ["PinvLayout", "render_pinv_step", "render_pinv_title"]

_WIDTH, _GAP, _LABEL, _PLOT_HEIGHT = 960, 12, 20, 150
_CURRENT = (230, 120, 0)
_TITLE = "Pseudo-inverse: the solver keeps correcting x_k until A x_k = y"


class PinvLayout:
    """Cell size, positions and colour scales, fixed for every frame of one animation;
    ``paper``: the colours around the cells."""

    paper = PRINT_PAPER

    def __init__(self, anim: PinvAnimation, scale: float = 1.0) -> None:
        (h, w, c_in), (h_out, w_out, c_out) = anim.image.shape, anim.y.shape
        width = int(_WIDTH * scale)
        gaps = (2 * c_in * _GAP, 3 * c_out * _GAP + 200)  # 200: room for the labels
        cell = min(
            40,
            (width - gaps[0]) // max(1, 2 * c_in * w),
            (width - gaps[1]) // max(1, 3 * c_out * w_out),
            int(220 * scale) // max(h, h_out),
        )
        self.cell = max(cell, 2)
        self.numbers = self.cell >= 26
        self.font = _font(max(9, self.cell // 3))
        self.text_font = _font(14)
        self.tiles: dict = {}  # grids drawn once (cells.draw_grid)
        self.width = width
        self.top_x = 3 * _LABEL + _GAP + _LABEL
        self.top_y = self.top_x + h * self.cell + _GAP + _LABEL
        self.top_plot = self.top_y + h_out * self.cell + _GAP + _LABEL
        self.height = self.top_plot + _PLOT_HEIGHT + _GAP
        self.x_level = _level(np.concatenate([anim.image.ravel(), anim.iterates.ravel()]))
        self.y_level = _level(anim.y)


def _grids(draw, layout: PinvLayout, top: int, groups, level: float) -> None:
    """Draw groups of grids side by side: ``[(label, [channel arrays]), ...]``."""
    x = _GAP
    for label, arrays in groups:
        _text(draw, (x, top - _LABEL + 2), label, layout.text_font, fill=layout.paper.label)
        start = x
        for values in arrays:
            _draw_grid(draw, layout, (x, top), values, level)
            x += values.shape[1] * layout.cell + _GAP // 2
        # the next group starts after this one's label too (small grids, long labels)
        x = max(x, start + int(draw.textlength(label, font=layout.text_font))) + _GAP


def _plot(draw, layout: PinvLayout, anim: PinvAnimation, current: int | None) -> None:
    left, top = _GAP + 60, layout.top_plot
    width, height = layout.width - left - 2 * _GAP - 150, _PLOT_HEIGHT - 30
    draw.rectangle((left, top, left + width, top + height), outline=layout.paper.axis)
    floor = -12.0
    n = max(len(anim) - 1, 1)

    def point(k: int, value: float) -> tuple[float, float]:
        v = np.log10(value) if value > 0 else floor
        v = min(max(v, floor), 0.5)
        return left + width * k / n, top + height * (0.5 - v) / (0.5 - floor)

    for exponent in range(0, int(floor) - 1, -3):
        _, y = point(0, 10.0**exponent)
        draw.line((left - 4, y, left, y), fill=layout.paper.axis)
        _text(
            draw,
            (left - 8, y),
            f"1e{exponent}",
            layout.text_font,
            fill=layout.paper.tick,
            anchor="rm",
        )
    start = anim.error_norms[0] or 1.0
    curves = (
        (anim.relative_residuals, layout.paper.residual, "‖A x_k − y‖ / ‖y‖"),
        (anim.error_norms / start, layout.paper.error, "‖x_k − A⁺y‖ / ‖A⁺y‖"),
    )
    for values, colour, _label in curves:
        points = [point(k, float(v)) for k, v in enumerate(values)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for px, py in points:
            draw.ellipse((px - 2, py - 2, px + 2, py + 2), fill=colour)
    for n_label, (_, colour, label) in enumerate(curves):
        _text(draw, (left + width + 12, top + 10 + 22 * n_label), label, layout.text_font,
              fill=colour)  # fmt: skip
    _text(draw, (left + width / 2, top + height + 14), "iteration", layout.text_font,
          fill=layout.paper.tick, anchor="mm")  # fmt: skip
    if current is not None:
        x, _ = point(current, 1.0)
        draw.line((x, top, x, top + height), fill=_CURRENT, width=2)


def _texts(anim: PinvAnimation, step: PinvStep | None) -> list[str]:
    g = anim.geometry
    what = "A⁺" if anim.reg == 0 else f"Tikhonov (reg {anim.reg:.3g})"
    head = [
        _TITLE if anim.reg == 0 else _TITLE.replace("Pseudo-inverse", what),
        f"{g.describe()} · stride {g.stride[0]},{g.stride[1]} · padding "
        f"{g.padding[0]},{g.padding[1]} ({g.padding_mode}) · dilation "
        f"{g.dilation[0]},{g.dilation[1]}",
    ]
    if step is None:
        lost = float(np.linalg.norm(anim.image - anim.solution))
        return [
            *head,
            f"done: {anim.report.message}. A x̂ = y, but x̂ is not x: ‖x − x̂‖ = {lost:.3g} "
            "(the null-space part, lost)",
        ]
    phase = {
        "start": "start: x_0 = 0",
        "pcg": "conjugate gradients on A Aᵀ",
        "cgls": "CGLS (restarted from the best iterate)",
        "cgls-normal": "CGLS on Aᵀ A (a tall layer: A Aᵀ is singular)",
    }[step.phase]
    return [
        *head,
        f"iteration {step.index} of {len(anim) - 1} ({phase}): ‖A x_k − y‖ = "
        f"{step.residual_norm:.3g} ({step.relative_residual:.1e} of ‖y‖), "
        f"‖x_k − A⁺y‖ = {step.error_norm:.3g}",
    ]


def render_pinv_step(
    anim: PinvAnimation, step: PinvStep | None, layout: PinvLayout | None = None
) -> np.ndarray:
    """Draw iteration ``step`` (None: the answer, with the summary) as ``(H, W, 3)`` uint8."""
    layout = layout or PinvLayout(anim)
    image = Image.new("RGB", (layout.width, layout.height), layout.paper.back)
    draw = ImageDraw.Draw(image)
    shown = step if step is not None else anim.step(len(anim) - 1)
    for n, line in enumerate(_texts(anim, step)):
        _text(draw, (_GAP, 6 + n * _LABEL), line, layout.text_font, fill=layout.paper.ink)
    c_in, c_out = anim.image.shape[2], anim.y.shape[2]
    x_label = "iterate x_k" if step is not None else "answer x̂ = A⁺y"
    _grids(
        draw,
        layout,
        layout.top_x,
        [
            ("image x (what the solver is not given)", [anim.image[:, :, c] for c in range(c_in)]),
            (x_label, [shown.iterate[:, :, c] for c in range(c_in)]),
        ],
        layout.x_level,
    )
    _grids(
        draw,
        layout,
        layout.top_y,
        [
            ("y = A x (given)", [anim.y[:, :, c] for c in range(c_out)]),
            ("A x_k", [shown.forward[:, :, c] for c in range(c_out)]),
            ("residual y − A x_k (fades away)",
             [shown.residual[:, :, c] for c in range(c_out)]),
        ],
        layout.y_level,
    )  # fmt: skip
    _text(draw, (_GAP, layout.top_plot - _LABEL + 2), "how far it still is (log scale)",
          layout.text_font, fill=layout.paper.label)  # fmt: skip
    _plot(draw, layout, anim, shown.index)
    return np.asarray(image)


def render_pinv_title(anim: PinvAnimation, layout: PinvLayout | None = None) -> np.ndarray:
    """The opening frame: what is shown and how many iterations."""
    layout = layout or PinvLayout(anim)
    image = Image.new("RGB", (layout.width, layout.height), layout.paper.back)
    draw = ImageDraw.Draw(image)
    lines: list[Any] = [
        _TITLE,
        anim.geometry.describe(),
        "Aᵀy is one step; A⁺ keeps correcting until A x = y (the solver of the pinv panel)",
        f"{len(anim) - 1} iterations, one frame each, from x_0 = 0",
    ]
    for n, line in enumerate(lines):
        _text(draw, (2 * _GAP, layout.height // 3 + n * 24), line, _font(16), fill=layout.paper.ink)
    return np.asarray(image)
