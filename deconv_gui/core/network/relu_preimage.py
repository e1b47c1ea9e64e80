"""The minimum-norm image a layer with a ReLU maps to a given output.

Notes
-----
For ``y = ReLU(A x + b)`` a positive output is an equation, ``A_i x + b_i = y_i``, and
a zero output only says ``A_i x + b_i ≤ 0``. The minimum-norm preimage solves the convex
quadratic programme

.. math:: \\min_x \\tfrac12 \\|x\\|^2 \\quad\\text{s.t.}\\quad A_E x = y_E − b_E,\\;
          A_I x \\le −b_I .

Its dual is a bound-constrained problem on the output grid,
``min_z ½‖Aᵀz‖² + zᵀ r`` with ``z_I ≥ 0`` (``r = y − b`` on ``E``, ``−b`` on ``I``),
and ``x = −Aᵀ z``: matrix-free (one forward and one adjoint per evaluation). Zero
outputs turn equations into half-spaces: the ReLU adds to the layer's lost dimensions
every direction its zeros no longer pin down (``n − rank(A_E)`` instead of
``n − rank(A)``), though each is bounded on one side.

**Solver.** A primal-dual active set (Hintermüller, Ito & Kunisch 2002, a semismooth
Newton method): the working set ``S`` starts as ``E``; the equality-constrained problem on
``S`` is the minimum-norm ``x = A_Sᵀ w`` with ``A_S A_Sᵀ w = r_S``, preconditioned CG on
``D A Aᵀ D`` (``D`` the mask of ``S``) with the layer's own symbol preconditioner scaled by
the mask (:class:`~.precondition.ActivationPreconditioner`), warm-started from the previous
``w``; then the inequalities ``x`` violates join ``S`` and those whose multiplier
``z_i = −w_i`` is negative leave it. It stops when ``S`` no longer changes: ``x`` then
meets every KKT condition (to ``rtol``), so it is the QP's solution, not an approximation
of it. Most zero outputs are far from their bound and never enter ``S``: at 256², 4
channels (65,536 outputs, 58,501 zero, 1,610 tight), four passes and 57 CG iterations,
0.24 s, where L-BFGS-B on the dual took 25 iterations and 1.0–1.3 s (one BLAS thread, idle
machine). A working set that cycles, or a solve that stalls (an infeasible ``y``), hands
its ``z`` to L-BFGS-B on the dual as before, which ends the job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.optimize

from ..operator import DENSE_COLUMN_LIMIT, ConvOperator
from ..solvers import (
    Callbacks,
    CancelCheck,
    IterativeSolver,
    ProgressCallback,
    PseudoInverseSolver,
    SolveCancelled,
    is_cancelled,
)
from ..solvers.preconditioner import symbol_preconditioner
from .precondition import ActivationPreconditioner

__all__ = ["ReluPreimage", "relu_preimage"]


@dataclass(frozen=True)
class ReluPreimage:
    """The preimage and what it says about the constraints.

    Attributes
    ----------
    image : numpy.ndarray
        The minimum-norm ``x`` (float64, the operator's input shape).
    n_equalities, n_inequalities : int
        Outputs ``> 0`` (equations) and ``= 0`` (half-spaces).
    n_tight : int
        Inequalities that hold with equality at ``x`` (active units of the QP).
    free_directions : int
        ``n − rank(A_E)`` when the rank is computed (small layers), else the lower bound
        ``n − n_equalities``: directions no equation fixes.
    rank_computed : bool
        Whether ``free_directions`` is exact (the rank was computed) or the bound.
    equality_residual : float
        ``‖A_E x + b_E − y_E‖ / ‖y_E‖``.
    max_violation : float
        ``max(A_I x + b_I, 0)`` relative to the larger of ``max |y|`` and ``max |b|``
        (0 when feasible).
    iterations : int
    converged : bool
        Whether ``x`` meets the KKT conditions, whatever the solvers' stops said: the
        equations and the inequalities to ``√rtol`` (relative), and its dual ``z``
        (``x = −Aᵀz``) is ``≥ 0`` on the inequalities with a duality gap of at most
        ``√rtol ‖x‖²`` (so ``x`` is within ``√(2√rtol)`` of the minimum-norm preimage).
        Never for a ``y`` that no image gives.
    """

    image: np.ndarray
    n_equalities: int
    n_inequalities: int
    n_tight: int
    free_directions: int
    equality_residual: float
    max_violation: float
    iterations: int
    converged: bool
    rank_computed: bool = True


def relu_preimage(
    y: Any,
    op: ConvOperator,
    bias: Any = None,
    *,
    rtol: float = 1e-10,
    max_iter: int = 2000,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
) -> ReluPreimage:
    """The minimum-norm ``x`` with ``ReLU(A x + b) = y``.

    Parameters
    ----------
    y : array_like
        The layer's output after the ReLU, ``(H_out, W_out, C_out)``, all ``≥ 0``.
    op : ConvOperator
        ``A``.
    bias : array_like, optional
        ``(C_out,)``.
    rtol : float
        Tolerance of each equality-constrained solve (relative residual), and of the
        KKT conditions (relative to ``max |r|``); of the fallback's projected gradient.
    max_iter : int
        Iteration limit: CG iterations over all passes (then L-BFGS-B's).
    progress : callable, optional
        ``progress(iteration, measure)``: the CG iterations so far and the solve's relative
        residual (L-BFGS-B: the relative change of the dual variable).
    cancel : callable or threading.Event, optional
        Checked at each iteration; raises ``SolveCancelled``.

    Raises
    ------
    ValueError
        Naming ``y`` when it has the wrong shape, negative or non-finite values; ``bias``
        of the wrong size; ``rtol`` not a number > 0, ``max_iter`` not an int ≥ 1.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvOperator, make_filter
    >>> rng = np.random.default_rng(0)
    >>> op = ConvOperator.from_weights(rng.standard_normal((3, 3, 3)), input_shape=(7, 7, 3),
    ...                                stride=2)
    >>> y = np.maximum(op.apply(rng.random((7, 7, 3))) - 0.5, 0)
    >>> pre = relu_preimage(y, op, -0.5)
    >>> bool(np.allclose(np.maximum(op.apply(pre.image) - 0.5, 0), y, atol=1e-7))
    True
    """
    target, b = _checked(y, op, bias, rtol, max_iter)
    equal = target > 0
    r = np.where(equal, target - b, -b)  # E: A x = y − b; I: A x ≤ −b

    def report(iteration: int, measure: float) -> None:
        if is_cancelled(cancel):
            raise SolveCancelled("ReLU preimage cancelled")
        if progress is not None:
            progress(iteration, measure)

    z, iterations, converged = _active_set(op, r, equal, rtol, max_iter, report, cancel)
    nit = iterations
    if not converged:  # a cycling working set or a stalled solve: the dual by L-BFGS-B
        z, lbfgs_nit, _ = _lbfgsb(op, r, equal, z, rtol, max_iter, report, iterations)
        nit += lbfgs_nit
    x = -op.apply_adjoint(z)
    return _report(op, x, (target, b, equal, z, r), nit, rtol)


def _checked(y: Any, op: ConvOperator, bias: Any, rtol: Any, max_iter: Any):
    """``y`` and the bias per output channel in float64; a ValueError naming the argument."""
    shape = op.geometry.output_shape
    target = np.asarray(y, dtype=np.float64)
    if target.shape != shape:
        raise ValueError(f"y must have shape {shape}, got {target.shape}")
    if not np.isfinite(target).all() or (target < 0).any():
        raise ValueError("y must be finite and >= 0 (the output of a ReLU)")
    b = np.zeros(shape[2]) if bias is None else np.asarray(bias, np.float64)
    if b.ndim > 1 or b.size not in (1, shape[2]) or not np.isfinite(b).all():
        raise ValueError(f"bias must be finite: one number or {shape[2]}, got {np.shape(bias)}")
    if not (isinstance(rtol, (int, float, np.number)) and np.isfinite(rtol) and rtol > 0):
        raise ValueError(f"rtol must be a finite number > 0, got {rtol!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter must be an int >= 1, got {max_iter!r}")
    return target, np.broadcast_to(b, (shape[2],))


#: Passes of the active set before L-BFGS-B takes over (it settles in a handful).
MAX_PASSES = 50


def _active_set(
    op: ConvOperator, r: np.ndarray, equal: np.ndarray, rtol: float, max_iter: int, report, cancel
) -> tuple[np.ndarray, int, bool]:
    """The primal-dual active set (see the module): the dual ``z`` of the last working set
    whose equations were met, the CG iterations, and whether the working set settled."""
    # the layer's own symbol, kept for the next solve through it (as J⁺'s)
    symbol = None if op.transposed else symbol_preconditioner(op, 0.0, cancel)
    working = equal.copy()
    w, z = np.zeros_like(r), np.zeros_like(r)
    total, seen, per_pass = 0, set(), max_iter
    scale = max(float(np.abs(r).max()), 1e-300)
    for _ in range(MAX_PASSES):
        mask = working.astype(np.float64)
        w, iterations, solved = _solve_on(
            op,
            symbol,
            (mask, r, w * mask),
            (rtol, min(max_iter - total, per_pass)),
            lambda k, res, done=total: report(done + k, res),
            cancel,
        )
        total += iterations
        if not solved:  # equations with no common solution: too many inequalities joined
            return z, total, False
        # a pass that takes far longer than the first is solving such equations
        per_pass = min(per_pass, max(100, 10 * iterations))
        z = -(mask * w)
        g = r - op.apply(op.apply_adjoint(mask * w))  # the dual's gradient, −(A x − r)
        add = ~working & (g < -10 * rtol * scale)
        drop = working & ~equal & (w > 10 * rtol * max(float(np.abs(w).max()), 1e-300))
        if not add.any() and not drop.any():
            return z, total, True
        key = hash(working.tobytes())
        if key in seen or total >= max_iter:  # the working set cycles, or no time is left
            return z, total, False
        seen.add(key)
        working = (working | add) & ~drop
    return z, total, False


def _solve_on(op, symbol, system, limits, progress, cancel):
    """``w`` with ``D A Aᵀ D w = D r`` (``system = (mask, r, w0)``: ``D = diag(mask)``, from
    ``w0``) to ``limits = (rtol, iteration limit)``: its iterations and whether it
    converged."""
    mask, r, w0 = system
    rtol, limit = limits

    def forward(u: np.ndarray) -> np.ndarray:
        return mask * op.apply(u)

    def adjoint(v: np.ndarray) -> np.ndarray:
        return op.apply_adjoint(mask * v)

    rhs = mask * r - forward(adjoint(w0))
    target = max(float(np.linalg.norm(mask * r)), 1e-300)
    gap = float(np.linalg.norm(rhs))
    if gap <= rtol * target:
        return w0, 0, True
    preconditioner = None
    if symbol is not None:
        preconditioner = ActivationPreconditioner(symbol, op, mask, 0.0)
    solver = PseudoInverseSolver(
        forward,
        adjoint,
        preconditioner=preconditioner,
        rtol=rtol * target / gap,  # the same ‖D r − D A Aᵀ D w‖ ≤ rtol ‖D r‖ as from 0
        # the working set's equations are meant to be consistent: CG through plateaus
        consistent=True,
        callbacks=_Diverging(progress, cancel),
    )
    solver.setup(rhs)
    solver.run(max(limit, 1))
    # only equations met count: a least-squares answer (the working set's equations have
    # no common solution, too many inequalities in it) is no step of the active set
    met = solver.converged and solver.phase == "pcg" and solver.stop_reason == "residual"
    return w0 + mask * solver.z, solver.iiter, bool(met)


class _Diverging(Callbacks):
    """Progress and cancel, and a stop when the residual grows a thousandfold past its best:
    CG on equations with no common solution (CG through plateaus has no other stop)."""

    def on_step(self, solver: IterativeSolver) -> None:
        super().on_step(solver)
        if solver.history[-1] > 1e3 * min(solver.history):
            solver.stopped = True


def _lbfgsb(op, r, equal, z0, rtol, max_iter, report, done) -> tuple[np.ndarray, int, bool]:
    """L-BFGS-B on the dual from ``z0`` (projected on ``z_I ≥ 0``)."""
    shape = r.shape
    lower = np.where(equal.ravel(), -np.inf, 0.0)
    bounds = scipy.optimize.Bounds(lower, np.full(r.size, np.inf))

    def dual(z: np.ndarray) -> tuple[float, np.ndarray]:
        zz = z.reshape(shape)
        x = op.apply_adjoint(zz)
        return 0.5 * float(np.vdot(x, x)) + float(np.vdot(zz, r)), (op.apply(x) + r).ravel()

    previous = [np.maximum(z0.ravel(), lower)]
    steps = [0]

    def step(z: np.ndarray) -> None:  # the relative change of the dual variable
        steps[0] += 1
        change = float(np.linalg.norm(z - previous[0])) / max(float(np.linalg.norm(z)), 1e-300)
        report(done + steps[0], change)
        previous[0] = z.copy()

    scale = max(float(np.linalg.norm(r)), 1e-300)
    solved = scipy.optimize.minimize(
        dual,
        previous[0].copy(),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        callback=step,
        options={"maxiter": max_iter, "gtol": rtol * scale, "ftol": 0.0, "maxcor": 30},
    )
    return solved.x.reshape(shape), int(solved.nit), bool(solved.success)


def _optimal(x: np.ndarray, z: np.ndarray, equal: np.ndarray, r: np.ndarray, slack: float) -> bool:
    """Whether the dual ``z`` (with ``x = −Aᵀz``) certifies a feasible ``x`` optimal.

    ``z_I ≥ 0`` (to ``slack``) and the duality gap ``P − D = ‖x‖² + zᵀr`` at most
    ``slack ‖x‖²``: the gap bounds ``½‖x − x*‖²`` (the objective is 1-strongly convex), so
    ``x`` is within ``√(2 slack)`` of the minimum-norm preimage, relatively. ``x = 0``
    feasible is optimal whatever ``z``.
    """
    squared = float(np.vdot(x, x))
    if squared == 0.0:
        return True
    top = max(float(np.abs(z).max(initial=0.0)), 1e-300)
    if float(z[~equal].min(initial=0.0)) < -slack * top:
        return False
    gap = squared + float(np.vdot(z, r))
    return abs(gap) <= slack * squared


def _report(op, x, problem, iterations, rtol) -> ReluPreimage:
    target, b, equal, z, r = problem
    out = op.apply(x) + b
    top = max(float(np.abs(target).max()), 1e-300)
    n_eq = int(equal.sum())
    eq_res = float(
        np.linalg.norm((out - target)[equal]) / max(np.linalg.norm(target[equal]), 1e-300)
    )
    excess = float(np.maximum(out[~equal], 0).max(initial=0.0))
    # relative to the bias when y is all zeros (a max |y| of 0 would make any excess huge)
    scale = max(top if equal.any() else 0.0, float(np.abs(b).max(initial=0.0)), 1e-300)
    violation = excess / scale
    # the verdict is the KKT conditions at x, not the solvers' stops: a solver's success
    # is no proof (on a y that no image gives, L-BFGS-B on the dual, unbounded below, can
    # stop "successfully" with equations off by 100 %), nor is its failure a disproof (a
    # degenerate optimum, a multiplier 0 on a tight inequality, can stall either solver)
    slack = np.sqrt(rtol)
    feasible = eq_res <= slack and excess <= slack * scale
    converged = feasible and _optimal(x, z, equal, r, slack)
    # tight inequalities: a positive multiplier (z_I ≥ 0 by the bounds) holds them
    multipliers = z[~equal]
    tight = int((multipliers > 1e-9 * max(float(np.abs(z).max()), 1e-300)).sum())
    n = op.geometry.n_unknowns
    free, exact = n - n_eq, not n_eq
    # the rank from the dense rows: small layers only (to_dense refuses wide ones)
    if n <= DENSE_COLUMN_LIMIT and n * max(n_eq, 1) <= 4e6 and n_eq:
        rows = op.to_dense().astype(np.float64)[equal.ravel()]
        free, exact = n - int(np.linalg.matrix_rank(rows)), True
    return ReluPreimage(
        image=x,
        n_equalities=n_eq,
        n_inequalities=int((~equal).sum()),
        n_tight=tight,
        free_directions=free,
        equality_residual=eq_res,
        max_violation=violation,
        iterations=int(iterations),
        converged=bool(converged),
        rank_computed=exact,
    )
