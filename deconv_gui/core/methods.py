"""How each method of the registry is computed: one function per method.

Each :class:`~deconv_gui.core.registry.MethodSpec` carries its function from here;
:func:`~deconv_gui.core.run_pipeline` calls ``spec.compute(stage)`` for every method of
``Params.methods`` in the registry's order. A function reads the image, the
measurement and the params from the :class:`Stage` and puts its arrays in
``stage.images`` by panel name (its reports in ``stage.reports`` by method name). A new
method is one ``MethodSpec`` plus one function here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .analysis.lost import split_components, split_from_recoverable
from .decoder import Decoder, check_decoder
from .operator import ConvOperator
from .priors import nonneg_reconstruction, richardson_lucy, tv_reconstruction
from .reconstruct import (
    coverage_map,
    normalized_transposed_reconstruction,
    solve_pinv,
    transposed_reconstruction,
)
from .scores import SplitScore
from .solvers import Callbacks, CancelCheck, ProgressCallback, Reconstruction, SolverReport

__all__ = [
    "MethodParams",
    "Stage",
    "coverage",
    "decoder",
    "nonneg",
    "normalized_transposed",
    "nullspace",
    "pinv",
    "rl",
    "transposed",
    "tv",
]


class MethodParams(Protocol):
    """What the compute functions read of :class:`~deconv_gui.core.Params`.

    A protocol, not ``Params`` itself: the registry holds these functions, and the
    params' rules read the registry.
    """

    @property
    def bias(self) -> Any: ...
    @property
    def reg(self) -> float: ...
    @property
    def rtol(self) -> float: ...
    @property
    def max_iter(self) -> int | None: ...
    @property
    def prior_lam(self) -> float: ...
    @property
    def prior_nonneg(self) -> bool: ...
    @property
    def prior_iter(self) -> int: ...
    @property
    def noise_sigma(self) -> float: ...
    @property
    def photons(self) -> float: ...


@dataclass
class Stage:
    """What the methods' compute functions read, and the outputs they fill in."""

    x: np.ndarray
    y: np.ndarray
    op: ConvOperator
    params: MethodParams
    progress: ProgressCallback | None
    cancel: CancelCheck | None
    #: the priors, in the order the null-space split prefers one (the registry's)
    priors: tuple[str, ...] = ()
    #: the arrays computed, by panel name
    images: dict[str, np.ndarray] = field(default_factory=dict)
    split: SplitScore | None = None
    #: each solve's report (iterations, converged), by method name
    reports: dict[str, SolverReport] = field(default_factory=dict)
    #: the learned decoder of method ``"decoder"`` (a
    #: :class:`~deconv_gui.core.decoder.Decoder`, read by the caller), or None
    decoder: Decoder | None = None

    @property
    def callbacks(self) -> Callbacks:
        """The caller's progress and cancel, for every solve of the stage."""
        return Callbacks(self.progress, self.cancel)

    def keep(self, name: str, solved: Reconstruction) -> None:
        """Store a solve's image (panel ``name``) and report (method ``name``)."""
        self.images[name] = solved.image
        self.reports[name] = solved.report


def transposed(s: Stage) -> None:
    """``Aᵀ(y − b)``."""
    s.images["transposed"] = transposed_reconstruction(s.y, s.op, s.params.bias)


def normalized_transposed(s: Stage) -> None:
    """``Aᵀ(y − b) ⊘ Aᵀ1``."""
    s.images["normalized_transposed"] = normalized_transposed_reconstruction(
        s.y, s.op, s.params.bias
    )


def pinv(s: Stage) -> None:
    """``A⁺(y − b)`` (Tikhonov when ``reg > 0``) and the solver's report."""
    p = s.params
    options: dict[str, Any] = {"reg": p.reg, "rtol": p.rtol, "max_iter": p.max_iter}
    s.keep("pinv", solve_pinv(s.op, s.y, p.bias, **options, callbacks=s.callbacks))


def decoder(s: Stage) -> None:
    """``D(y)``: the learned decoder applied to the measurement ``y`` as it was fitted.

    ``fit-decoder`` fits ``D`` on ``y = A x + b`` itself (its own bias absorbs ``b``), so
    ``y`` goes in unchanged. A decoder of another stride, channel count or size is
    refused with a one-line ``ValueError`` naming ``decoder``.
    """
    if s.decoder is None:
        raise ValueError(
            "decoder: method decoder needs a decoder file (decoder_path, --decoder FILE.npz)"
        )
    check_decoder(s.decoder, s.op.geometry)
    s.images["decoder"] = s.decoder.apply(s.y).astype(s.x.dtype, copy=False)


def tv(s: Stage) -> None:
    """``argmin ½‖Ax − (y − b)‖² + λ TV(x)``, ``λ = prior_lam`` (``x ≥ 0``: ``prior_nonneg``)."""
    p = s.params
    options: dict[str, Any] = {
        "lam": p.prior_lam,
        "nonneg": p.prior_nonneg,
        "max_iter": p.prior_iter,
    }
    s.keep("tv", tv_reconstruction(s.y, s.op, p.bias, **options, callbacks=s.callbacks))


def nonneg(s: Stage) -> None:
    """``argmin ‖Ax − (y − b)‖² + reg‖x‖²`` subject to ``x ≥ 0``."""
    p = s.params
    options: dict[str, Any] = {"reg": p.reg, "max_iter": p.prior_iter}
    s.keep("nonneg", nonneg_reconstruction(s.y, s.op, p.bias, **options, callbacks=s.callbacks))


def rl(s: Stage) -> None:
    """``prior_iter`` Richardson–Lucy iterations on ``max(y − b, 0)``.

    Simulated noise makes some of ``y − b`` negative, which the Poisson model cannot
    hold: those values are clipped to 0 (a negative filter is still refused, with a
    ``ValueError`` naming ``weights``).
    """
    p = s.params
    centred = np.maximum(s.y - np.asarray(p.bias, dtype=s.y.dtype), 0)
    solved = richardson_lucy(centred, s.op, n_iter=p.prior_iter, callbacks=s.callbacks)
    s.keep("richardson_lucy", solved)


def coverage(s: Stage) -> None:
    """``Aᵀ1``."""
    s.images["coverage"] = coverage_map(s.op)


def nullspace(s: Stage) -> None:
    """``recoverable``, ``nullspace`` and (with a prior) ``invented``, and the split's numbers.

    With an exact measurement (no noise) and ``reg = 0``, ``A⁺(y − b) = A⁺Ax``: the
    pseudo-inverse panel already is the recoverable part, so it is reused. With a prior
    computed (the first of ``stage.priors``), its image ``x̂`` is split the same way and
    ``invented = x̂ − A⁺Ax̂``: what the prior put where ``y`` has no information.
    """
    p, pinv = s.params, s.images.get("pinv")
    solve: dict[str, Any] = {
        "rtol": p.rtol,
        "max_iter": p.max_iter,
        "progress": s.progress,
        "cancel": s.cancel,
    }
    reuse = pinv is not None and p.noise_sigma == 0 and p.photons == 0 and p.reg == 0
    if reuse and pinv is not None:
        split = split_from_recoverable(s.x, pinv, s.reports["pinv"])
    else:
        split = split_components(s.x, s.op, **solve)
    s.images["recoverable"], s.images["nullspace"] = split.recoverable, split.lost
    prior = next((name for name in s.priors if s.images.get(name) is not None), None)
    invented_fraction = None
    if prior is not None:
        invented = split_components(s.images[prior], s.op, **solve)
        s.images["invented"] = invented.lost
        invented_fraction = invented.lost_fraction
    s.split = SplitScore(
        recoverable_fraction=split.recoverable_fraction,
        lost_fraction=split.lost_fraction,
        iterations=int(split.report.iterations),
        converged=bool(split.report.converged),
        reused_pinv=bool(reuse),
        invented_by=prior,
        invented_fraction=invented_fraction,
    )
