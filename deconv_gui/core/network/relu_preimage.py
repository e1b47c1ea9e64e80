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
and ``x = −Aᵀ z``: matrix-free (one forward and one adjoint per evaluation), solved here
by L-BFGS-B. Zero outputs turn equations into half-spaces: the ReLU adds to the layer's
lost dimensions every direction its zeros no longer pin down (``n − rank(A_E)`` instead
of ``n − rank(A)``), though each is bounded on one side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.optimize

from ..operator import DENSE_COLUMN_LIMIT, ConvOperator
from ..solvers import CancelCheck, ProgressCallback, SolveCancelled, is_cancelled

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
        ``max(A_I x + b_I, 0)`` relative to ``max |y|`` (0 when feasible).
    iterations : int
    converged : bool
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
        Tolerance of the dual solve (projected gradient, relative to ``‖r‖``).
    max_iter : int
        Iteration limit of L-BFGS-B.
    progress : callable, optional
        ``progress(iteration, change)``: the relative change of the dual variable.
    cancel : callable or threading.Event, optional
        Checked at each iteration; raises ``SolveCancelled``.

    Raises
    ------
    ValueError
        When ``y`` has the wrong shape, negative or non-finite values.

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
    geometry = op.geometry
    target = np.asarray(y, dtype=np.float64)
    if target.shape != geometry.output_shape:
        raise ValueError(f"y must have shape {geometry.output_shape}, got {target.shape}")
    if not np.isfinite(target).all() or (target < 0).any():
        raise ValueError("y must be finite and >= 0 (the output of a ReLU)")
    b = np.zeros(geometry.output_shape[2]) if bias is None else np.asarray(bias, np.float64)
    b = np.broadcast_to(b, (geometry.output_shape[2],))
    equal = target > 0
    r = np.where(equal, target - b, -b)  # E: A x = y − b; I: A x ≤ −b
    bounds = [(None, None) if e else (0.0, None) for e in equal.ravel()]
    shape = geometry.output_shape
    count = [0]

    def dual(z: np.ndarray) -> tuple[float, np.ndarray]:
        zz = z.reshape(shape)
        x = op.apply_adjoint(zz)
        return 0.5 * float(np.vdot(x, x)) + float(np.vdot(zz, r)), (op.apply(x) + r).ravel()

    previous = [np.zeros(r.size)]

    def step(z: np.ndarray) -> None:
        count[0] += 1
        if is_cancelled(cancel):
            raise SolveCancelled("ReLU preimage cancelled")
        if progress is not None:  # the relative change of the dual variable
            change = float(np.linalg.norm(z - previous[0])) / max(float(np.linalg.norm(z)), 1e-300)
            progress(count[0], change)
        previous[0] = z.copy()

    scale = max(float(np.linalg.norm(r)), 1e-300)
    solved = scipy.optimize.minimize(
        dual,
        np.zeros(r.size),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        callback=step,
        options={"maxiter": max_iter, "gtol": rtol * scale, "ftol": 0.0, "maxcor": 30},
    )
    z = solved.x.reshape(shape)
    x = -op.apply_adjoint(z)
    return _report(op, x, target, b, equal, z, solved)


def _report(op, x, target, b, equal, z, solved) -> ReluPreimage:
    out = op.apply(x) + b
    top = max(float(np.abs(target).max()), 1e-300)
    n_eq = int(equal.sum())
    eq_res = float(
        np.linalg.norm((out - target)[equal]) / max(np.linalg.norm(target[equal]), 1e-300)
    )
    violation = float(np.maximum(out[~equal], 0).max(initial=0.0)) / top
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
        iterations=int(solved.nit),
        converged=bool(solved.success),
        rank_computed=exact,
    )
