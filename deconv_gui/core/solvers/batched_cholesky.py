"""The inverse Cholesky factor of many small Hermitian matrices at once (internal).

The matrices are laid out ``(k, k, f)``, the ``f`` frequencies last and contiguous, so that
each step of the factorisation is one vectorised operation over the entries it updates
and every frequency: entry by entry, a Python loop would run ``k³/2`` small operations,
and LAPACK called per matrix costs more in calls than in arithmetic for ``k ≤ 16``.

Every operation runs on contiguous complex rows (``‖z‖²`` on the interleaved real view):
numpy's arithmetic on the strided ``.real`` and ``.imag`` views of a complex array, or
between a complex and a real array, takes several times as long.
"""

from __future__ import annotations

import numpy as np

__all__ = ["inverse_cholesky", "sum_of_squares"]


def inverse_cholesky(gram: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``L⁻¹`` into ``out`` ``(f, k, k)`` (``G = L L^*``, from the lower triangle of
    ``gram`` ``(k, k, f)``), ``tr(G⁻¹) = ‖L⁻¹‖_F²`` and where the factorisation succeeded.

    ``L`` is made a column at a time (the entries below the diagonal of column ``j`` from
    the columns before it), ``L⁻¹`` a row at a time, each row summed over the rows of
    ``L⁻¹`` above it on their nonzero entries only (``k³/6`` products, as ``L``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((2, 3, 3)) + 1j * rng.standard_normal((2, 3, 3))
    >>> g = a @ np.conjugate(a).swapaxes(1, 2)
    >>> out = np.empty((2, 3, 3), complex)
    >>> trace, ok = inverse_cholesky(np.ascontiguousarray(g.transpose(1, 2, 0)), out)
    >>> bool(np.allclose(out, np.linalg.inv(np.linalg.cholesky(g)))), ok.tolist()
    (True, [True, True])
    >>> bool(np.allclose(trace, np.trace(np.linalg.inv(g), axis1=1, axis2=2).real))
    True
    """
    low, scale, ok = _cholesky(gram)
    k, f = len(gram), gram.shape[2]
    inv = np.zeros((k, k, f), complex)  # L⁻¹, lower
    for i in range(k):
        if i:
            row = np.zeros((i, f), complex)
            for p in range(i):  # inv[p, q] = 0 for q > p
                row[: p + 1] += low[i, p] * inv[p, : p + 1]
            np.multiply(row, -scale[i], out=inv[i, :i])
        inv[i, i] = scale[i]
    trace = sum_of_squares(inv)
    out[...] = inv.transpose(2, 0, 1)
    return trace, ok & np.isfinite(trace)


def _cholesky(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``L`` ``(k, k, f)`` (1 on the diagonal where a pivot is not positive), ``1 / L_jj``
    ``(k, f)`` and where every pivot is positive."""
    k, f = len(gram), gram.shape[2]
    low = np.zeros((k, k, f), complex)
    scale = np.empty((k, f), complex)
    ok = np.ones(f, bool)
    for j in range(k):
        pivot = gram[j, j].real - sum_of_squares(low[j, :j])
        ok &= pivot > 0
        low[j, j] = diagonal = np.sqrt(np.where(pivot > 0, pivot, 1.0))
        scale[j] = 1.0 / diagonal
        if j + 1 < k:
            products = (low[j + 1 :, :j] * np.conjugate(low[j, :j])).sum(axis=1)
            np.multiply(gram[j + 1 :, j] - products, scale[j], out=low[j + 1 :, j])
    return low, scale, ok


def sum_of_squares(z: np.ndarray) -> np.ndarray:
    """``Σ |z|²`` over every axis but the last of a contiguous complex ``z``.

    Examples
    --------
    >>> import numpy as np
    >>> sum_of_squares(np.array([[3 + 4j, 1j], [0, 2]])).tolist()
    [25.0, 5.0]
    """
    pairs = z.view(np.float64).reshape(-1, 2 * z.shape[-1])
    sums = np.einsum("ij,ij->j", pairs, pairs)
    return sums[0::2] + sums[1::2]
