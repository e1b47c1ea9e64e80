"""What a step frame shows at one of its pixels: the grid, the cell and its value.

:func:`describe_cell` turns a position in a frame drawn by
:func:`~deconv_gui.io.animation.render_step` into one line (``x[3, 4, 1] = 0.52``,
``padding: a copy of x[1, 4, 0]``, ``inserted zero``, ``w[0, 2, 1, 0] = -1``); the
window shows it under the mouse, linking what is drawn to the arrays' indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import StepAnimation
from ..core.analysis.steps import Step
from .animation import frame_grids, grid_positions

__all__ = ["describe_cell"]


def describe_cell(
    anim: StepAnimation, step: Step | None, layout: Any, x: float, y: float
) -> str | None:
    """One line about the cell at pixel ``(x, y)`` of a frame, or None off every grid.

    Parameters
    ----------
    anim : StepAnimation
        The animation.
    step : Step or None
        The step the frame shows (None: the finished result).
    layout
        The frames' layout (``FrameRenderer.layout``).
    x, y : float
        The pixel (column, row) in the frame.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvGeometry, StepAnimation
    >>> from deconv_gui.io.animation_hover import describe_cell
    >>> from deconv_gui.io.video import FrameRenderer
    >>> geometry = ConvGeometry((4, 4, 1), (2, 2, 1), stride=2, padding=1)
    >>> anim = StepAnimation(geometry, np.ones((2, 2, 1)), np.arange(16.0).reshape(4, 4, 1))
    >>> layout = FrameRenderer(anim).layout
    >>> x, y = 12 + 1.5 * layout.cell, layout.tops[0] + 1.5 * layout.cell
    >>> describe_cell(anim, anim.step(0), layout, x, y)
    'input x[0, 0, channel 0] = 0'
    """
    _, grids = frame_grids(anim, step)
    for index, arrays in enumerate(grids):
        for n, ((left, top), values) in enumerate(
            zip(grid_positions(anim, layout, index, arrays), arrays, strict=True)
        ):
            c, r = int((x - left) // layout.cell), int((y - top) // layout.cell)
            if 0 <= r < values.shape[0] and 0 <= c < values.shape[1]:
                return _describe(anim, step, index, n, r, c, float(values[r, c]))
    return None


def _value(v: float) -> str:
    return "not computed yet" if np.isnan(v) else f"{v:.4g}"


def _describe(
    anim: StepAnimation, step: Step | None, index: int, n: int, r: int, c: int, v: float
) -> str:
    g, mode = anim.geometry, anim.mode
    fh, fw, c_in, c_out = g.filter_shape
    o = (anim.step(len(anim) - 1) if step is None else step).channel
    if (mode == "forward" and index == 0) or (
        mode == "scatter" and index == 2 and step is not None
    ):
        (ph, pw), code = g.padding, int(anim.structural_zeros[r, c])
        where = "input x" if mode == "forward" else "result so far"
        if code == 0:
            return f"{where}[{r - ph}, {c - pw}, channel {n}] = {_value(v)}"
        rows, cols = anim.padding_source()
        if mode == "scatter":
            fate = "folded back onto the pixel it copies" if anim.folds else "cut off at the end"
            return f"border cell (row {r}, col {c}, channel {n}) = {_value(v)}: {fate}"
        if rows[r] < 0 or cols[c] < 0:
            return f"zero padding (row {r}, col {c} of the padded grid)"
        return f"padding: a copy of x[{rows[r]}, {cols[c]}, channel {n}] = {_value(v)}"
    if index == 1 and mode != "zero-insertion":
        if n < c_in:
            return f"filter w[{r}, {c}, {n}, {o}] = {_value(v)}"
        what = "product w·x" if mode == "forward" else "added y·w"
        return f"{what} at tap ({r}, {c}), channel {n - c_in} = {_value(v)}"
    if index == 1:  # zero insertion: the flipped filter, one grid per (c, o)
        ci, oi = divmod(n, c_out)
        return f"flipped: w[{fh - 1 - r}, {fw - 1 - c}, {ci}, {oi}] = {_value(v)}"
    if mode == "zero-insertion" and index == 0:
        code = int(anim.structural_zeros[r, c])
        if code == 2:
            return "an inserted zero (stride − 1 of them between the values of y)"
        if code == 1:
            return "zero padding of the spread y"
        return f"a value of y spread out: {_value(v)}"
    if index == 0 or mode == "forward":  # y itself
        return f"y[{r}, {c}, {n}] = {_value(v)}"
    if anim.folds and step is not None:
        return f"result on the padded grid (row {r}, col {c}, channel {n}) = {_value(v)}"
    return f"(Aᵀy)[{r}, {c}, {n}] = {_value(v)}"
