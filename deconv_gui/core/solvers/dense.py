"""The dense pseudo-inverse of a small explicit matrix, cut at the precision of the data.

``numpy.linalg.pinv`` keeps singular values down to ``1e-15 σ_max``, below the SVD's own
rounding level (``ε_64 max(m, n) σ_max``) and far below the rounding of float32 data.
Inverting those amplifies rounding noise by up to ``1/ε``: a 20×20 float32 image gave a
"solution" 10⁵ times larger than the image. Here singular values are kept only above

.. math:: \\tau = \\max(\\varepsilon_{data}\\,\\max(m, n),\\ \\mathrm{rtol})\\,\\sigma_{max},

the larger of the data's precision (numpy's ``matrix_rank`` rule at the dtype of the
data) and the tolerance the iterative solver is asked for. Both paths then solve the
same problem: a singular direction with ``σ_i < τ`` changes ``A x`` by less than ``τ``
per unit of ``x``, below what ``rtol`` (or the data's rounding) can distinguish from zero.

Whether a dense solve is used at all depends on its cost: see :func:`dense_is_fast`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import lapack

__all__ = [
    "DENSE_SOLVE_COST",
    "PINV_DENSE_COST",
    "dense_is_fast",
    "dense_pinv",
    "dense_solve",
    "pinv_cutoff",
]

#: ``m n min(m, n)`` (the SVD's flop count up to a constant) up to which a dense solve is
#: used: about 0.05 s on one core of a 2020s laptop, 0.1 s on this project's loaded CI
#: machine (``benchmarks/bench_dense.py``). Above it the iterative solver, which can be
#: cancelled between iterations, is both faster and interruptible.
DENSE_SOLVE_COST = 5e7


#: ``m n min(m, n)`` up to which the pseudo-inverse takes the exact dense solve (its SVD
#: cannot be cancelled, but is short): measured here (numpy's LAPACK, one core) 594×693
#: (2.4·10⁸) in 0.25 s and 1000×1000 (10⁹) in about 1 s, a few times less with threaded
#: LAPACK. Small but ill-conditioned problems (11×21×3, groups 3, replicate padding,
#: dilation (2, 1): condition number ~10³) need well over a thousand CG iterations; the
#: dense solve gives them exactly, in a fraction of a second.
PINV_DENSE_COST = 1e9


def dense_is_fast(n_equations: int, n_unknowns: int, cost: float = DENSE_SOLVE_COST) -> bool:
    """True when an ``n_equations × n_unknowns`` dense SVD costs at most ``cost``
    (``m n min(m, n)``; the default keeps it well under a second on a loaded machine)."""
    m, n = int(n_equations), int(n_unknowns)
    return m * n * min(m, n) <= cost


def pinv_cutoff(shape: tuple[int, int], dtype: Any = np.float64, rtol: float = 0.0) -> float:
    """The relative singular-value cut-off ``max(ε(dtype) max(m, n), rtol)``.

    Parameters
    ----------
    shape : (int, int)
        ``(m, n)`` of the matrix.
    dtype : numpy dtype
        The coarsest dtype of the data (the filter, the image or ``y``).
    rtol : float
        The requested relative tolerance (0: the data's precision only).
    """
    eps = float(np.finfo(np.dtype(dtype)).eps) if np.dtype(dtype).kind == "f" else 0.0
    return max(eps * max(shape), float(rtol), float(np.finfo(np.float64).eps) * max(shape))


def _svd(matrix: np.ndarray, cutoff: float):
    u, s, vt = lapack.svd(matrix, full_matrices=False)
    keep = s > cutoff * s[0] if s.size and s[0] > 0 else np.zeros(s.shape, bool)
    return u[:, keep], s[keep], vt[keep], int(keep.sum())


def dense_pinv(matrix: np.ndarray, *, dtype: Any = np.float64, rtol: float = 0.0) -> np.ndarray:
    """``A⁺`` with singular values below :func:`pinv_cutoff` treated as zero.

    Examples
    --------
    >>> a = np.array([[1.0, 0.0], [0.0, 1e-20]])
    >>> dense_pinv(a)  # numpy.linalg.pinv would give 1e20 in the corner
    array([[1., 0.],
           [0., 0.]])
    """
    u, s, vt, _ = _svd(np.asarray(matrix, dtype=np.float64), pinv_cutoff(matrix.shape, dtype, rtol))
    return (vt.T / s) @ u.T


def dense_solve(
    matrix: np.ndarray,
    rhs: np.ndarray,
    *,
    reg: float = 0.0,
    dtype: Any = np.float64,
    rtol: float = 0.0,
) -> tuple[np.ndarray, int, float]:
    """The minimum-norm least-squares (or Tikhonov, ``reg > 0``) solution of ``A x = rhs``.

    Returns
    -------
    x : numpy.ndarray
        ``Σ σ_i / (σ_i² + reg) (u_iᵀ rhs) v_i`` over the singular values kept.
    rank : int
        The number of singular values kept (the numerical rank at this precision).
    cutoff : float
        The relative cut-off used (:func:`pinv_cutoff`).
    """
    # Tikhonov damps the small singular values itself (σ / (σ² + reg) → 0): cutting them
    # at rtol would drop directions the closed form (AᵀA + reg I)⁻¹ Aᵀ keeps
    cutoff = pinv_cutoff(matrix.shape, dtype, rtol if reg == 0 else 0.0)
    u, s, vt, rank = _svd(np.asarray(matrix, dtype=np.float64), cutoff)
    coefficients = (u.T @ rhs) * (s / (s * s + float(reg)))
    return vt.T @ coefficients, rank, cutoff
