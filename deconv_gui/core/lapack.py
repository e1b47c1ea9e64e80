"""The dense factorisations (SVD, eigendecompositions, solves), one at a time per process.

The window computes in several threads at once (the live pipeline, the exact-rank job,
the inspector, the spectrum), and each may factorise a dense matrix through numpy's
LAPACK (OpenBLAS). Once, under heavy load and rapid edits, such a call crashed the
process (a segfault inside the SVD) while another ran; OpenBLAS's buffers are shared by
its threads. Every dense factorisation of the package goes through this module, which
holds :data:`LAPACK_LOCK` around it, so no two run at the same time: on this project's
small dense problems (see :data:`~deconv_gui.core.solvers.dense.DENSE_SOLVE_COST`) the
wait is short, and the matrix products (BLAS level 3) still run in parallel.

The lock stays although 8 threads running unlocked SVDs, eigendecompositions, solves and
pseudo-inverses together for four CPU-minutes (numpy's OpenBLAS 0.3.31, a machine loaded
20-fold) did not crash: the crash it answers was rare, so a passing stress proves
little, and :func:`~deconv_gui.core.threads.limit_blas_threads` also takes it, so that
OpenBLAS is never re-threaded while a factorisation runs (which OpenBLAS does not
support).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

__all__ = ["LAPACK_LOCK", "eigh", "eigvalsh", "pinv", "solve", "svd"]

#: Held around every dense factorisation of the package (re-entrant).
LAPACK_LOCK = threading.RLock()


def svd(matrix: np.ndarray, **options: Any) -> Any:
    """:func:`numpy.linalg.svd` under :data:`LAPACK_LOCK`.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core.lapack import svd
    >>> svd(np.diag([3.0, 4.0]), compute_uv=False)
    array([4., 3.])
    """
    with LAPACK_LOCK:
        return np.linalg.svd(matrix, **options)


def eigh(matrix: np.ndarray) -> Any:
    """:func:`numpy.linalg.eigh` under :data:`LAPACK_LOCK` (stacks of matrices too)."""
    with LAPACK_LOCK:
        return np.linalg.eigh(matrix)


def eigvalsh(matrix: np.ndarray) -> np.ndarray:
    """:func:`numpy.linalg.eigvalsh` under :data:`LAPACK_LOCK` (stacks of matrices too)."""
    with LAPACK_LOCK:
        return np.linalg.eigvalsh(matrix)


def pinv(matrix: np.ndarray, **options: Any) -> np.ndarray:
    """:func:`numpy.linalg.pinv` (an SVD) under :data:`LAPACK_LOCK` (stacks of matrices too)."""
    with LAPACK_LOCK:
        return np.linalg.pinv(matrix, **options)


def solve(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """:func:`numpy.linalg.solve` under :data:`LAPACK_LOCK`."""
    with LAPACK_LOCK:
        return np.linalg.solve(matrix, rhs)
