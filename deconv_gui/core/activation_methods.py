"""The methods of a layer with an activation: deconvnet, guided backprop, the ReLU preimage.

Registry compute functions like those of :mod:`deconv_gui.core.methods` (each reads the
:class:`~deconv_gui.core.methods.Stage` and fills its images): the two backward rules of
:meth:`~deconv_gui.core.network.Linearization.project` on ``f(x₀)``, and the minimum-norm
preimage of :func:`~deconv_gui.core.network.relu_preimage` with its report.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np

from .methods import Stage
from .network import Conv
from .network.single import invert_activation
from .operator import ConvOperator
from .scores import PreimageScore
from .solvers import SolverReport, solve_pinv

__all__ = ["deconvnet", "guided_backprop", "relu_preimage"]


def _features(s: Stage) -> np.ndarray:
    """The signal the backward rules project: ``f(x₀)`` as measured (``y``), only
    ``params.channel`` when one is chosen (the other channels set to 0)."""
    signal = np.array(s.y, dtype=np.float64)
    channel = s.params.channel
    if channel is not None:
        keep = signal[..., channel].copy()
        signal[...] = 0.0
        signal[..., channel] = keep
    return signal


def _project(s: Stage, rule: str) -> None:
    signal = _features(s)
    if s.lin is None:  # a conv alone: every rule is its transpose Aᵀ (biases unused)
        image = s.op.apply_adjoint(signal.astype(s.y.dtype, copy=False))
    else:
        image = s.lin.project(signal, rule).astype(s.y.dtype, copy=False)
    s.images[rule] = image


def deconvnet(s: Stage) -> None:
    """Zeiler & Fergus's deconvnet of ``f(x₀)``: ``Aᵀ`` of the activation applied to the
    signal (biases unused); without an activation ``Aᵀ y``."""
    _project(s, "deconvnet")


def guided_backprop(s: Stage) -> None:
    """Springenberg et al.'s guided backprop of ``f(x₀)``: the deconvnet's rule and the
    forward mask both; without an activation ``Aᵀ y``."""
    _project(s, "guided_backprop")


def _float64_operator(s: Stage) -> ConvOperator:
    """The layer's conv in float64: the linearisation's (the stage's may be float32)."""
    if s.lin is not None:
        first = s.lin.network.layers[0]
        if isinstance(first, Conv):
            return first.op
    return s.op


def relu_preimage(s: Stage) -> None:
    """The minimum-norm ``x`` with ``act(A x + b) = y``.

    For a ReLU, the convex programme of
    :func:`~deconv_gui.core.network.relu_preimage` (positive outputs are equations, zeros
    only ``A_i x + b_i ≤ 0``; noise's negative values are clipped to 0). ``"none"`` and a
    leaky ReLU are invertible: ``A⁺(act⁻¹(y) − b)``, the pseudo-inverse of the conv.
    """
    p = s.params
    if p.activation != "relu":
        target = invert_activation(s.y, p.activation, p.leaky_slope)
        options: dict[str, Any] = {"reg": p.reg, "rtol": p.rtol, "max_iter": p.max_iter}
        s.keep(
            "relu_preimage",
            solve_pinv(s.op, target, p.bias, **options, callbacks=s.callbacks),
        )
        size = int(np.prod(s.y.shape))
        s.preimage = PreimageScore(p.activation, n_equalities=size)
        return
    from .network import relu_preimage as solve

    found = solve(
        np.maximum(s.y, 0),
        _float64_operator(s),
        p.bias,
        rtol=p.rtol,
        max_iter=2000 if p.max_iter is None else p.max_iter,
        progress=s.progress,
        cancel=s.cancel,
    )
    # the score's numbers are the preimage's, by the same names
    shared = [f.name for f in fields(PreimageScore) if f.name != "activation"]
    score = PreimageScore("relu", **{name: getattr(found, name) for name in shared})
    report = SolverReport(
        method="relu-preimage",
        iterations=found.iterations,
        relative_residual=found.equality_residual,
        converged=found.converged,
        message=score.summary(),
    )
    s.images["relu_preimage"] = found.image.astype(s.y.dtype, copy=False)
    s.reports["relu_preimage"] = report
    s.preimage = score
