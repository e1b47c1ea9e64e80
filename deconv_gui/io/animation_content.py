"""What each frame of a :class:`~deconv_gui.core.StepAnimation` shows, Qt-free and
undrawn: its lines of text (what is animated, the geometry, the step's sum) and its three
sections' labels and grids (the input or y, the filter and its products, the result).
:mod:`.animation` lays them out and draws them; :mod:`.animation_hover` names a cell.
"""

from __future__ import annotations

import numpy as np

from ..core import ConvOperator, StepAnimation
from ..core.analysis.steps import Step

__all__ = ["TITLES", "frame_grids", "same_transpose_line", "step_text"]

#: The first line of a frame, by mode.
TITLES = {
    "forward": "Forward: the window slides over the padded input; each output is a sum of products",
    "scatter": "Transposed, as scatter: each output value × the kernel is added into the result",
    "zero-insertion": "Transposed, as zero insertion: spread y, pad, correlate with the flipped "
    "kernel",
}


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
             "result Aᵀy, accumulated block by block (no padding)" if max(g.padding) == 0 else
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


def step_text(anim: StepAnimation, step: Step | None) -> list[str]:
    """The lines above the grids: what is animated, the geometry, the step (or the end)."""
    g = anim.geometry
    head = [
        TITLES[anim.mode],
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
