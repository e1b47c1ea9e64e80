"""How each method of the registry is computed: one function per method.

Each :class:`~deconv_gui.core.registry.MethodSpec` carries its function from here;
:func:`~deconv_gui.core.run_pipeline` calls ``spec.compute(stage)`` for every method of
``Params.methods`` in the registry's order. A function reads the image, the
measurement and the params from the :class:`Stage` and puts its arrays in
``stage.images`` by panel name (its reports in ``stage.reports`` by method name). A new
method is one ``MethodSpec`` plus one function here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from .analysis.lost import split_components, split_from_recoverable
from .decoder import Decoder, check_decoder
from .network import LeakyReLU, Linearization
from .operator import ConvOperator
from .priors import nonneg_reconstruction, richardson_lucy, tv_reconstruction
from .reconstruct import (
    coverage_map,
    normalized_transposed_reconstruction,
    solve_pinv,
    transposed_reconstruction,
)
from .scores import PreimageScore, SplitScore
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
    def time_limit(self) -> float: ...
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
    @property
    def activation(self) -> str: ...
    @property
    def leaky_slope(self) -> float: ...
    @property
    def channel(self) -> int | None: ...


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
    #: with an activation, the layer's local linear map ``J = D A`` at the image (its
    #: ``offset`` is ``c = D b``); None for a layer without one
    lin: Linearization | None = None
    preimage: PreimageScore | None = None

    @property
    def offset(self) -> Any:
        """What the linear methods subtract from ``y``: ``b``, or ``c = D b`` with an activation."""
        return self.params.bias if self.lin is None else self.lin.offset

    def centred(self) -> np.ndarray:
        """``y − c`` in float64 (with an activation)."""
        return np.asarray(self.y, dtype=np.float64) - np.asarray(self.offset, dtype=np.float64)

    def forward_linear(self, x: np.ndarray) -> np.ndarray:
        """``A x``, or ``J x`` with an activation (in ``x``'s dtype)."""
        if self.lin is None:
            return self.op.apply(x)
        return self.lin.apply(x).astype(x.dtype, copy=False)

    def adjoint(self, u: Any) -> np.ndarray:
        """``Jᵀ u`` with an activation (in ``y``'s dtype)."""
        assert self.lin is not None
        return self.lin.apply_adjoint(u).astype(self.y.dtype, copy=False)

    def solve_j(self, rhs: np.ndarray, reg: float = 0.0, in_range: bool = False) -> Reconstruction:
        """``J⁺ rhs`` (Tikhonov with ``reg``) by the matrix-free solver, in ``y``'s dtype.

        A leaky ReLU's ``D`` is invertible, so ``J = D A`` has ``A``'s row space: for a
        ``rhs = J v`` in its range (``in_range``) and ``reg = 0``, ``J⁺ rhs = A⁺ D⁻¹ rhs``
        (the projection of ``v`` on that row space), solved as the layer's own pseudo-inverse
        (preconditioned, or exact when small): ``J``'s small slopes would slow CG down.
        """
        assert self.lin is not None
        p = self.params
        gain = self._gain()
        if in_range and reg == 0 and gain is not None and (gain > 0).all():
            options: dict[str, Any] = {"rtol": p.rtol, "max_iter": p.max_iter}
            options["time_limit"] = _time_limit(p)
            solved = solve_pinv(self.op, rhs / gain, None, **options, callbacks=self.callbacks)
            image64 = np.asarray(solved.image, dtype=np.float64)
            misfit = float(np.linalg.norm(self.lin.apply(image64) - rhs))
            residual = misfit / max(float(np.linalg.norm(rhs)), 1e-300)
            report = replace(solved.report, relative_residual=residual)
            return Reconstruction(solved.image.astype(self.y.dtype, copy=False), report)
        # y outside J's range (noise) or Tikhonov: CG on J Jᵀ, preconditioned by the conv's
        # symbol scaled by the slopes (network.precondition.ActivationPreconditioner)
        image, report = self.lin.pinv(
            rhs,
            reg=reg,
            rtol=p.rtol,
            max_iter=300 if p.max_iter is None else p.max_iter,
            time_limit=_time_limit(p),
            progress=self.progress,
            cancel=self.cancel,
        )
        return Reconstruction(image.astype(self.y.dtype, copy=False), report)

    def _gain(self) -> np.ndarray | None:
        """``D``'s diagonal: the activation's slope at each output (None: not a leaky ReLU)."""
        assert self.lin is not None
        act, positive = self.lin.network.layers[-1], self.lin.states[-1]
        if not isinstance(act, LeakyReLU) or act.slope <= 0:
            return None
        return np.where(positive, 1.0, act.slope)

    @property
    def callbacks(self) -> Callbacks:
        """The caller's progress and cancel, for every solve of the stage."""
        return Callbacks(self.progress, self.cancel)

    def keep(self, name: str, solved: Reconstruction) -> None:
        """Store a solve's image (panel ``name``) and report (method ``name``)."""
        self.images[name] = solved.image
        self.reports[name] = solved.report


def _time_limit(params: MethodParams) -> float | None:
    """The solves' time limit in seconds: ``params.time_limit``, None for 0 (no limit)."""
    return params.time_limit or None


def transposed(s: Stage) -> None:
    """``Aᵀ(y − b)``; with an activation ``Jᵀ(y − c)``."""
    if s.lin is not None:
        s.images["transposed"] = s.adjoint(s.centred())
        return
    s.images["transposed"] = transposed_reconstruction(s.y, s.op, s.params.bias)


def normalized_transposed(s: Stage) -> None:
    """``Aᵀ(y − b) ⊘ Aᵀ1``; with an activation ``Jᵀ(y − c) ⊘ Jᵀ1`` (0 where ``Jᵀ1 = 0``)."""
    if s.lin is not None:
        adjoint, cover = s.adjoint(s.centred()), _j_coverage(s)
        scale = np.abs(cover).max() if cover.size else 0.0
        nonzero = np.abs(cover) > 1e-12 * max(scale, 1e-300)
        out = np.zeros_like(adjoint)
        np.divide(adjoint, cover, out=out, where=nonzero)
        s.images["normalized_transposed"] = out
        return
    s.images["normalized_transposed"] = normalized_transposed_reconstruction(
        s.y, s.op, s.params.bias
    )


def _j_coverage(s: Stage) -> np.ndarray:
    """``Jᵀ1``: the coverage through the activation's slopes."""
    return s.adjoint(np.ones(s.y.shape))


def pinv(s: Stage) -> None:
    """``A⁺(y − b)`` (Tikhonov when ``reg > 0``) and the solver's report; with an
    activation ``J⁺(y − c)`` by the matrix-free solver."""
    p = s.params
    if s.lin is not None:
        exact = p.noise_sigma == 0 and p.photons == 0  # y − c = J x: in J's range
        s.keep("pinv", s.solve_j(s.centred(), p.reg, in_range=exact))
        return
    options: dict[str, Any] = {"reg": p.reg, "rtol": p.rtol, "max_iter": p.max_iter}
    options["time_limit"] = _time_limit(p)
    s.keep("pinv", solve_pinv(s.op, s.y, p.bias, **options, callbacks=s.callbacks))


def decoder(s: Stage) -> None:
    """``D(y)``: the learned decoder applied to the measurement ``y`` as it was fitted.

    ``fit-decoder`` fits ``D`` on ``y = A x + b`` itself (its own bias absorbs ``b``), so
    ``y`` goes in unchanged. A decoder of another stride, channel count or size is
    refused with a one-line ``ValueError`` naming ``decoder``.
    """
    if s.decoder is None:
        raise ValueError(
            "decoder: method decoder needs a decoder file "
            "(File → Load decoder…, or --decoder FILE.npz)"
        )
    check_decoder(s.decoder, s.op.geometry)
    s.images["decoder"] = s.decoder.apply(s.y).astype(s.x.dtype, copy=False)


def _no_prior_with_activation(s: Stage, name: str) -> None:
    if s.lin is not None:
        raise ValueError(
            f"methods: {name} needs activation none (the priors solve with the conv alone); "
            f"with activation {s.params.activation} use pinv or relu_preimage"
        )


def tv(s: Stage) -> None:
    """``argmin ½‖Ax − (y − b)‖² + λ TV(x)``, ``λ = prior_lam`` (``x ≥ 0``: ``prior_nonneg``)."""
    _no_prior_with_activation(s, "tv")
    p = s.params
    options: dict[str, Any] = {
        "lam": p.prior_lam,
        "nonneg": p.prior_nonneg,
        "max_iter": p.prior_iter,
    }
    s.keep("tv", tv_reconstruction(s.y, s.op, p.bias, **options, callbacks=s.callbacks))


def nonneg(s: Stage) -> None:
    """``argmin ‖Ax − (y − b)‖² + reg‖x‖²`` subject to ``x ≥ 0``."""
    _no_prior_with_activation(s, "nonneg")
    p = s.params
    options: dict[str, Any] = {"reg": p.reg, "max_iter": p.prior_iter}
    s.keep("nonneg", nonneg_reconstruction(s.y, s.op, p.bias, **options, callbacks=s.callbacks))


def rl(s: Stage) -> None:
    """``prior_iter`` Richardson–Lucy iterations on ``max(y − b, 0)``.

    Simulated noise makes some of ``y − b`` negative, which the Poisson model cannot
    hold: those values are clipped to 0 (a negative filter is still refused, with a
    ``ValueError`` naming ``weights``).
    """
    _no_prior_with_activation(s, "richardson_lucy")
    p = s.params
    centred = np.maximum(s.y - np.asarray(p.bias, dtype=s.y.dtype), 0)
    solved = richardson_lucy(centred, s.op, n_iter=p.prior_iter, callbacks=s.callbacks)
    s.keep("richardson_lucy", solved)


def coverage(s: Stage) -> None:
    """``Aᵀ1``; with an activation ``Jᵀ1``."""
    s.images["coverage"] = _j_coverage(s) if s.lin is not None else coverage_map(s.op)


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
        "time_limit": _time_limit(p),
        "progress": s.progress,
        "cancel": s.cancel,
    }
    reuse = pinv is not None and p.noise_sigma == 0 and p.photons == 0 and p.reg == 0
    if reuse and pinv is not None:
        split = split_from_recoverable(s.x, pinv, s.reports["pinv"])
    elif s.lin is not None:  # J⁺J x on the noise-free J x
        solved = s.solve_j(s.lin.apply(s.x), in_range=True)
        split = split_from_recoverable(s.x, solved.image, solved.report)
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
