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

__all__ = [
    "LAPACK_LOCK",
    "cholesky",
    "eigh",
    "eigvalsh",
    "hermitian_inverse",
    "pinv",
    "solve",
    "svd",
]

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


def cholesky(matrix: np.ndarray) -> np.ndarray | None:
    """The lower Cholesky factor (:func:`numpy.linalg.cholesky`) under :data:`LAPACK_LOCK`;
    None when the matrix is not numerically positive definite.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core.lapack import cholesky
    >>> cholesky(np.diag([4.0, 9.0]))
    array([[2., 0.],
           [0., 3.]])
    >>> cholesky(np.diag([1.0, -1.0])) is None
    True
    """
    with LAPACK_LOCK:
        try:
            return np.linalg.cholesky(matrix)
        except np.linalg.LinAlgError:
            return None


def pinv(matrix: np.ndarray, **options: Any) -> np.ndarray:
    """:func:`numpy.linalg.pinv` (an SVD) under :data:`LAPACK_LOCK` (stacks of matrices too)."""
    with LAPACK_LOCK:
        return np.linalg.pinv(matrix, **options)


def solve(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """:func:`numpy.linalg.solve` under :data:`LAPACK_LOCK`."""
    with LAPACK_LOCK:
        return np.linalg.solve(matrix, rhs)


def hermitian_inverse(stack: np.ndarray) -> np.ndarray:
    """The inverses of a stack ``(m, n, n)`` of Hermitian positive definite matrices.

    By Cholesky (LAPACK ``potrf`` and ``potri``: a third of the work of an
    eigendecomposition), under :data:`LAPACK_LOCK` (small matrices are fastest on one
    BLAS thread: :func:`~deconv_gui.core.threads.one_blas_thread`); a matrix that is
    not numerically positive definite is inverted through its eigenvalues, clipped at
    ``10⁻¹²`` of the largest.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core.lapack import hermitian_inverse
    >>> m = np.array([[[2.0, 1j], [-1j, 2.0]]])
    >>> bool(np.allclose(hermitian_inverse(m)[0] @ m[0], np.eye(2)))
    True
    """
    from scipy.linalg import lapack as scipy_lapack

    out = np.empty_like(stack)
    if not len(stack):
        return out
    potrf, potri = scipy_lapack.get_lapack_funcs(("potrf", "potri"), (stack[0],))
    lower = np.tril(np.ones(stack.shape[1:], dtype=bool), -1)
    with LAPACK_LOCK:
        for i, matrix in enumerate(stack):
            factor, info = potrf(matrix, lower=True, clean=False)
            if info == 0:
                inverse, info = potri(factor, lower=True)
            if info != 0:
                values, vectors = np.linalg.eigh(matrix)
                values = np.maximum(values, 1e-12 * max(float(values[-1]), 0.0))
                out[i] = (vectors / values) @ vectors.conj().T if values[-1] > 0 else 0.0
                continue
            out[i] = np.where(lower, inverse, inverse.conj().T)
    return out
