"""The pseudo-inverse ``A⁺(y − b)`` (or Tikhonov), dense where that is fast, else iterative.

Where a dense solve is fast (:func:`~deconv_gui.core.solvers.dense.dense_is_fast`) by
the SVD of the explicit matrix cut at the data's precision and ``rtol``
(:mod:`~deconv_gui.core.solvers.dense`), else by
:class:`~deconv_gui.core.solvers.PseudoInverseSolver`:
preconditioned CG on the small output-grid system ``A Aᵀ z = y − b`` with ``x = Aᵀ z``,
preconditioned by the FFT of the stationary symbol of ``A Aᵀ``
(:class:`~deconv_gui.core.solvers.preconditioner.SymbolPreconditioner`), switching to
CGLS when ``y`` is outside the range of ``A``; a conv with more output channels than
input values per stride cell (a first layer, 3 → 64), whose ``A Aᵀ`` is singular, runs CG
on ``Aᵀ A`` on the input grid instead (:mod:`~deconv_gui.core.solvers.normal_pcg`).
:mod:`deconv_gui.core.solvers.pinv` explains why this gives the minimum-norm solution
and what the report's numbers mean.
Everything is computed in float64, on ``y`` (and an extreme filter) scaled to unit size,
and returned in the dtype of ``y``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from ..choices import check_choice
from ..geometry import ConvGeometry, centred_output
from ..norms import relative_norm
from ..operator import DENSE_COLUMN_LIMIT, ConvOperator
from .base import (
    DEFAULT_MAX_ITER,
    Callbacks,
    CancelCheck,
    IterativeSolver,
    ProgressCallback,
    Reconstruction,
    SolveCancelled,
    SolverReport,
    as_callbacks,
    norm,
)
from .condition import estimate_condition, tikhonov_advice
from .dense import PINV_DENSE_COST, dense_is_fast, dense_solve
from .normal_pcg import NormalPCGSolver, applies, filter_norm, is_tall
from .pinv import PseudoInverseSolver
from .polyphase import fourier_is_possible, polyphase_solve
from .preconditioner import symbol_preconditioner
from .unit_scale import (
    fourier_data,
    in_data_units,
    out_of_range_error,
    unit_data,
    unit_operator,
    unit_reg,
)

__all__ = ["PINV_METHODS", "make_pinv_solver", "solve_pinv"]


def make_pinv_solver(
    geometry: ConvGeometry | ConvOperator,
    weights: Any = None,
    *,
    reg: float = 0.0,
    rtol: float = 1e-8,
    preconditioned: bool = True,
    callbacks: Callbacks | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    dtype: Any = None,
) -> PseudoInverseSolver | NormalPCGSolver:
    """The matrix-free pseudo-inverse solver for one convolution geometry.

    Parameters
    ----------
    geometry : ConvGeometry or ConvOperator
        Shapes and hyper-parameters of ``A``, or the operator itself (then leave
        ``weights`` out).
    weights : array_like, optional
        The filter, matching ``geometry.filter_shape``; used in float64.
    reg, rtol, callbacks, progress, cancel
        As for :func:`~deconv_gui.core.pinv_reconstruction`.
    preconditioned : bool
        Use the FFT symbol preconditioner (True) or none (plain CG on ``A Aᵀ``).
    dtype : numpy dtype, optional
        The coarsest dtype of the data, whose precision also stops a least-squares solve
        (:mod:`~deconv_gui.core.solvers.stopping`); default: that of the ``y`` solved.

    Returns
    -------
    PseudoInverseSolver
        Call ``solve(y_centred, max_iter)`` on an ``(H_out, W_out, C_out)`` array to
        get ``(x, report)``.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvOperator, conv2d, make_filter, make_pinv_solver
    >>> w = make_filter("gaussian", in_channels=1)
    >>> op = ConvOperator.from_weights(w, input_shape=(64, 64, 1), stride=2, padding=1)
    >>> y = conv2d(np.random.default_rng(0).random((64, 64, 1)), w, stride=2, padding=1)
    >>> x, report = make_pinv_solver(op, rtol=1e-10).solve(y, 300)
    >>> report.converged, report.relative_residual < 1e-9
    (True, True)
    """
    if isinstance(geometry, ConvOperator):
        if weights is not None:
            raise ValueError("weights must be left out when geometry is a ConvOperator")
        op = geometry
    else:
        op = ConvOperator(geometry, weights)
    callbacks = as_callbacks(callbacks, progress, cancel)
    # the symbol preconditioner inverts A Aᵀ on a conv's output grid (its set-up is bounded
    # by its cost, checks the cancel between frequency batches and is kept for the next
    # solve through the same layer). A transposed conv A = Bᵀ has A Aᵀ = Bᵀ B on the big
    # map, not stationary: CG on the normal equations instead, on the small map where
    # Aᵀ A = B Bᵀ is the conv's (see normal_pcg), when A has full column rank; else plain CG.
    # A conv tall by its channels (a first layer, 3 → 64) has A Aᵀ singular at every
    # frequency, where CG crawls: CGLS on Aᵀ A instead, unpreconditioned, as its iterates
    # then stay in the range of Aᵀ (the minimum-norm answer whatever the rank: an input
    # preconditioner would break that where the borders make A rank-deficient)
    if preconditioned and is_tall(op):
        # a time-limited solve's clock runs from before this set-up: past its end the
        # norm settles for a slightly low estimate (a stricter stop) instead of its refinement
        deadline = callbacks.end if isinstance(callbacks, _TimeLimit) else None
        norm_a = filter_norm(op, cancel=callbacks.cancelled, deadline=deadline)
        return NormalPCGSolver(
            op, None, reg=reg, rtol=rtol, callbacks=callbacks, operator_norm=norm_a, dtype=dtype
        )
    if preconditioned and op.transposed and op.shape[0] >= op.shape[1]:
        conv_symbol = symbol_preconditioner(op.conv, reg, callbacks.cancelled)
        if applies(op, conv_symbol):
            return NormalPCGSolver(op, conv_symbol, reg=reg, rtol=rtol, callbacks=callbacks)
    use_symbol = preconditioned and not op.transposed
    preconditioner = symbol_preconditioner(op, reg, callbacks.cancelled) if use_symbol else None
    return PseudoInverseSolver(
        op.apply,
        op.apply_adjoint,
        preconditioner=preconditioner,
        reg=reg,
        rtol=rtol,
        operator_norm=preconditioner.operator_norm if preconditioner is not None else None,
        callbacks=callbacks,
        dtype=dtype,
    )


#: Values of ``pinv_reconstruction(method=...)``.
PINV_METHODS = ("auto", "dense", "fourier", "iterative")


def solve_pinv(
    op: ConvOperator,
    y: Any,
    bias: Any = None,
    *,
    reg: float = 0.0,
    rtol: float = 1e-8,
    max_iter: int | None = None,
    callbacks: Callbacks | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    method: str = "auto",
    time_limit: float | None = None,
) -> Reconstruction:
    """``A⁺(y − b)`` (Tikhonov when ``reg > 0``) and its report, for a ready operator.

    The operator-first form of :func:`~deconv_gui.core.pinv_reconstruction` (which
    builds ``op`` from loose arguments and calls this); the other analyses call it with
    their operator. Arguments and errors are those of ``pinv_reconstruction``; the
    result is always a :class:`Reconstruction` (no warning: the report says whether it
    converged). ``time_limit`` (seconds, None: none) stops the iterative solve after the
    iteration that passes it, as the iteration limit does. An iterative solve that stops
    short says why in its message: the estimated ``κ(A)``
    (:func:`~deconv_gui.core.solvers.condition.estimate_condition`) and, when that is
    large, Tikhonov as the remedy.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvOperator, conv2d
    >>> from deconv_gui.core.solvers import solve_pinv
    >>> w = np.ones((2, 2, 1))
    >>> op = ConvOperator.from_weights(w, input_shape=(4, 4, 1), stride=2)
    >>> solved = solve_pinv(op, conv2d(np.ones((4, 4, 1)), w, stride=2))
    >>> bool(np.allclose(solved.image, 1.0)), solved.report.method
    (True, 'dense')
    """
    if not isinstance(op, ConvOperator):
        raise ValueError(f"op must be a ConvOperator, got {type(op).__name__}")
    callbacks = as_callbacks(callbacks, progress, cancel)
    reg, rtol = _checked_settings(reg, rtol, max_iter, time_limit, method)
    centred = centred_output(y, op.geometry, bias)
    # the solution is linear in y and scales as 1/c with the filter: solving for unit-size
    # data keeps every norm and dot product far from overflow and underflow
    y_scale = float(np.abs(centred).max()) if centred.size else 0.0
    unit = y_scale if y_scale > 0 else 1.0  # what the data is divided by
    solve_op, w_scale = unit_operator(op)
    chosen = _chosen_method(method, op)
    # the coarser of the filter's and the data's precision bounds what can be resolved
    coarse = max((op.dtype, centred.dtype), key=lambda d: np.finfo(d).eps)
    if chosen == "iterative":
        rhs = unit_data(centred, unit, np.float64)
        iterations = default_iterations(op.geometry) if max_iter is None else max_iter
        limited = _TimeLimit(callbacks, time_limit)
        image, report = _iterative_solve(
            solve_op, rhs, (unit_reg(reg, w_scale), rtol), (iterations, coarse), limited
        )
    else:
        # the dense solve cannot stop halfway (it is only chosen where it is fast); the
        # per-frequency one (a periodic layer is block-diagonal in Fourier space: a few
        # FFTs) checks the cancel between the pieces of a several-channel factorisation
        # (the long part); a cancel that came before either is honoured
        if callbacks.cancelled():
            raise SolveCancelled("pseudo-inverse cancelled")
        if chosen == "dense":
            rhs = unit_data(centred, unit, np.float64)
            image, report = _dense_solve(solve_op, rhs, unit_reg(reg, w_scale), coarse, rtol)
        else:
            # in the data's own precision (float32 data is transformed in complex64)
            data, solve_op, unit, w_scale = fourier_data(centred, op, unit, y_scale)
            image, report = _fourier_solve(
                solve_op, data, unit_reg(reg, w_scale), coarse, rtol, callbacks.cancelled
            )
    image = in_data_units(image, unit / w_scale, centred.dtype)
    if not np.isfinite(image).all():
        raise out_of_range_error(bias, y_scale, w_scale, centred.dtype)
    return Reconstruction(image, report)


def _checked_settings(
    reg: Any, rtol: Any, max_iter: Any, time_limit: Any, method: Any
) -> tuple[float, float]:
    """``reg`` and ``rtol`` as floats, once every setting of :func:`solve_pinv` is valid.

    Raises
    ------
    ValueError
        Naming the setting that is not.
    """
    try:
        reg = float(reg)
        rtol = float(rtol)
    except (TypeError, ValueError):
        raise ValueError(f"reg and rtol must be numbers, got reg={reg!r}, rtol={rtol!r}") from None
    if not np.isfinite(reg) or reg < 0:
        raise ValueError(f"reg must be a finite number >= 0, got {reg!r}")
    if not np.isfinite(rtol) or rtol <= 0:
        raise ValueError(f"rtol must be a finite number > 0, got {rtol!r}")
    if max_iter is not None and (
        not isinstance(max_iter, (int, np.integer)) or isinstance(max_iter, bool) or max_iter < 1
    ):
        raise ValueError(f"max_iter must be an int >= 1 or None, got {max_iter!r}")
    if time_limit is not None and not (
        isinstance(time_limit, (int, float, np.floating)) and time_limit >= 0
    ):
        raise ValueError(f"time_limit must be a number of seconds >= 0 or None, got {time_limit!r}")
    check_choice("method", method, PINV_METHODS)
    return reg, rtol


def _chosen_method(method: str, op: ConvOperator) -> str:
    """``method``, or for ``"auto"`` the first that applies: ``"dense"`` where that is
    fast, ``"fourier"`` for a periodic conv, ``"iterative"`` otherwise."""
    if method != "auto":
        return method
    geom = op.geometry
    if geom.n_unknowns <= DENSE_COLUMN_LIMIT and dense_is_fast(
        geom.n_equations, geom.n_unknowns, PINV_DENSE_COST
    ):
        return "dense"
    if not op.transposed and fourier_is_possible(geom):
        return "fourier"
    return "iterative"


class _TimeLimit(Callbacks):
    """The caller's callbacks, and a stop (as at the iteration limit) past ``seconds``."""

    def __init__(self, inner: Callbacks, seconds: float | None) -> None:
        super().__init__(inner.progress, inner.cancel)
        self.inner, self.seconds, self.expired = inner, seconds, False
        self.end = None if seconds is None else time.perf_counter() + float(seconds)

    def cancelled(self) -> bool:
        return self.inner.cancelled()

    def on_setup(self, solver: IterativeSolver) -> None:
        self.inner.on_setup(solver)

    def on_step(self, solver: IterativeSolver) -> None:
        self.inner.on_step(solver)
        if self.end is not None and not solver.converged and time.perf_counter() >= self.end:
            solver.stopped = self.expired = True

    def on_finalize(self, solver: IterativeSolver, result: Any) -> None:
        self.inner.on_finalize(solver, result)


def _iterative_solve(
    op: ConvOperator,
    rhs: np.ndarray,
    settings: tuple[float, float],
    limits: tuple[int, np.dtype],
    limit: _TimeLimit,
) -> tuple[np.ndarray, SolverReport]:
    """CG (:func:`make_pinv_solver`) with ``settings`` ``(reg, rtol)``, within the
    iteration limit and the time limit, at the precision of ``limits``' dtype (the
    coarsest of the data); a report that stopped short says why and what to do."""
    (reg, rtol), (max_iter, dtype) = settings, limits
    solver = make_pinv_solver(op, reg=reg, rtol=rtol, callbacks=limit, dtype=dtype)
    image, report = solver.solve(rhs, max_iter)
    if not report.converged:
        # κ(A) from the symbol of A Aᵀ only where CG ran on it (a tall conv's is singular)
        on_output = isinstance(solver, PseudoInverseSolver) and not op.transposed
        report = _explained(report, op, limit, on_output)
    return image, report


def _explained(
    report: SolverReport, op: ConvOperator, limit: _TimeLimit, on_output: bool
) -> SolverReport:
    """The report of a solve that stopped short, saying why and what to do (and κ(A),
    when ``on_output``: CG ran on ``A Aᵀ``)."""
    message = report.message
    if limit.expired:
        at = f"stopped at the time limit ({limit.seconds:g} s)"
        # CG on A Aᵀ names its iteration limit; CG on the normal equations (a tall conv,
        # a transposed layer) only that it stopped before rtol
        message = message.replace(f"stopped at the iteration limit ({report.iterations})", at)
        message = message.replace("stopped before rtol=", f"{at} before rtol=")
    advice = tikhonov_advice(estimate_condition(op)) if on_output else ""
    return replace(report, message=f"{message}; {advice}" if advice else message)


#: The largest default iteration limit (:func:`default_iterations`).
MAX_DEFAULT_ITER = 3000


def default_iterations(geometry: ConvGeometry) -> int:
    """The iteration limit when the caller gives none: 300, or up to ``3 (m + min(m, n))``
    (at most :data:`MAX_DEFAULT_ITER`) for ``m`` equations and ``n`` unknowns.

    In exact arithmetic CG on ``A Aᵀ`` takes at most ``m`` steps and CGLS (when ``y`` is
    outside the range) at most the rank; rounding makes each take about three times
    that. Small ill-conditioned problems (κ ~10³, copied borders with dilation) took up to
    1700 steps of microseconds each; a rank-deficient 126 × 130 one 10 of CG and 406 of CGLS.

    Examples
    --------
    >>> from deconv_gui.core import ConvOperator
    >>> import numpy as np
    >>> op = ConvOperator.from_weights(np.ones((2, 3, 2, 2)), input_shape=(5, 13, 2))
    >>> op.shape, default_iterations(op.geometry)
    ((88, 130), 528)
    """
    m, n = geometry.n_equations, geometry.n_unknowns
    return max(DEFAULT_MAX_ITER, min(MAX_DEFAULT_ITER, 3 * (m + min(m, n))))


def _fourier_solve(
    op: ConvOperator,
    rhs: np.ndarray,
    reg: float,
    dtype: np.dtype,
    rtol: float,
    cancel: CancelCheck,
) -> tuple[np.ndarray, SolverReport]:
    solved = polyphase_solve(op, rhs, reg=reg, rtol=rtol, dtype=dtype, cancel=cancel)
    residual = op.apply(solved.image)
    residual -= rhs
    rel = relative_norm(norm(residual), norm(rhs))
    what = "Tikhonov " if reg > 0 else ""
    message = (
        f"{what}per-frequency solve (periodic layer, in {solved.image.dtype}), residual "
        f"{rel:.1e} "
        f"(rank {solved.rank:,} of {min(op.shape):,} at the cut-off {solved.cutoff:.1e}·σ_max)"
    )
    return solved.image, SolverReport("fourier", 0, rel, True, (rel,), message)


def _dense_solve(
    op: ConvOperator, rhs: np.ndarray, reg: float, dtype: np.dtype, rtol: float
) -> tuple[np.ndarray, SolverReport]:
    matrix = op.to_dense(np.float64)
    b = rhs.ravel()
    x, rank, cutoff = dense_solve(matrix, b, reg=reg, dtype=dtype, rtol=rtol)
    rel = relative_norm(float(np.linalg.norm(matrix @ x - b)), float(np.linalg.norm(b)))
    what = "Tikhonov " if reg > 0 else ""
    message = (
        f"{what}dense SVD solve, residual {rel:.1e} (rank {rank:,} of {min(matrix.shape):,} "
        f"at the cut-off {cutoff:.1e}·σ_max)"
    )
    report = SolverReport("dense", 0, rel, True, (rel,), message)
    return x.reshape(op.geometry.input_shape), report
