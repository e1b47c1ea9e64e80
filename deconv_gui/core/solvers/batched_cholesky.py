"""The Cholesky factor of many small Hermitian matrices at once, and solves with it (internal).

The matrices are laid out ``(k, k, f)``, the ``f`` frequencies last and contiguous, so that
each step of the factorisation is one vectorised operation over the entries it updates
and every frequency: entry by entry, a Python loop would run ``k³/2`` small operations,
and LAPACK called per matrix costs more in calls than in arithmetic for ``k ≤ 16``.

The factor ``L`` (``G = L L^*``) is kept with ``1 / L_jj`` on its diagonal: a solve then
multiplies instead of dividing. ``L⁻¹`` is never stored: ``tr(G⁻¹) = ‖L⁻¹‖_F²`` is
summed a row of ``L⁻¹`` at a time (:func:`inverse_trace`), or bounded from above by the
comparison matrix of ``L`` (:func:`inverse_trace_bound`, ``k²/2`` real products instead
of ``k³/6`` complex ones), and ``G⁻¹ b`` is two substitutions (:func:`solve_gram`).

Every operation runs on contiguous complex rows (``‖z‖²`` on the interleaved real view):
numpy's arithmetic on the strided ``.real`` and ``.imag`` views of a complex array, or
between a complex and a real array, takes several times as long.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "cholesky",
    "inverse_trace",
    "inverse_trace_bound",
    "pack_lower",
    "solve_gram",
    "solve_packed",
    "sum_of_squares",
    "trace_where_unsure",
]


def cholesky(gram: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``L`` ``(k, k, f)`` of ``G = L L^*`` from the lower triangle of ``gram``
    ``(k, k, f)``, with ``1 / L_jj`` on its diagonal (1 where a pivot is not positive)
    and zeros above it, and where every pivot is positive. ``out``: a contiguous complex
    ``(k, k, f)`` array to write ``L`` into (its lower triangle and diagonal; what is above
    is left as it is, zeros in a buffer made by ``np.zeros`` and reused).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((2, 3, 3)) + 1j * rng.standard_normal((2, 3, 3))
    >>> g = a @ np.conjugate(a).swapaxes(1, 2)
    >>> low, ok = cholesky(np.ascontiguousarray(g.transpose(1, 2, 0)))
    >>> expected = np.linalg.cholesky(g).transpose(1, 2, 0)
    >>> diagonal = np.arange(3), np.arange(3)
    >>> bool(np.allclose(low[diagonal], 1 / expected[diagonal])), ok.tolist()
    (True, [True, True])
    """
    k, f = len(gram), gram.shape[2]
    low = np.zeros((k, k, f), complex) if out is None else out
    ok = np.ones(f, bool)
    for j in range(k):
        pivot = gram[j, j].real - sum_of_squares(low[j, :j])
        ok &= pivot > 0
        scale = 1.0 / np.sqrt(np.where(pivot > 0, pivot, 1.0))
        low[j, j] = scale
        if j + 1 < k:
            products = (low[j + 1 :, :j] * np.conjugate(low[j, :j])).sum(axis=1)
            np.multiply(gram[j + 1 :, j] - products, low[j, j], out=low[j + 1 :, j])
    return low, ok


def inverse_trace(low: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``tr(G⁻¹) = ‖L⁻¹‖_F²`` ``(f,)`` of :func:`cholesky`'s ``low``: ``L⁻¹`` made a row
    at a time, each row summed over the rows above it on their nonzero entries only
    (``k³/6`` products), and written into ``out`` ``(f, k, k)`` when given.

    Examples
    --------
    >>> import numpy as np
    >>> gram = np.array([[4, 2], [2, 5]], complex)[..., None]  # (k, k, f): one matrix
    >>> low, ok = cholesky(gram)
    >>> inverse_trace(low).round(6).tolist(), float(np.trace(np.linalg.inv(gram[..., 0])).real)
    ([0.5625], 0.5625)
    """
    k, f = len(low), low.shape[2]
    inv = np.zeros((k, k, f), complex)  # L⁻¹, lower
    for i in range(k):
        if i:
            row = np.zeros((i, f), complex)
            for p in range(i):  # inv[p, q] = 0 for q > p
                row[: p + 1] += low[i, p] * inv[p, : p + 1]
            np.multiply(row, -low[i, i], out=inv[i, :i])
        inv[i, i] = low[i, i]
    if out is not None:
        out[...] = inv.transpose(2, 0, 1)
    return sum_of_squares(inv)


def inverse_trace_bound(low: np.ndarray) -> np.ndarray:
    """An upper bound ``‖v‖²`` on ``tr(G⁻¹)`` ``(f,)`` of :func:`cholesky`'s ``low``, ``v``
    solving ``C v = 1`` with ``C`` the comparison matrix of ``L`` (``|L_ii|`` on its
    diagonal, ``-|L_ij|`` below).

    ``C`` is an M-matrix, so ``|L⁻¹| ≤ C⁻¹`` entry by entry and ``C⁻¹ ≥ 0``: the squares
    of a row of ``L⁻¹`` sum to at most the square of the row's sum in ``C⁻¹``, which is
    an entry of ``v``. Tens of times ``tr(G⁻¹)`` where ``L`` is dense, exact for a
    diagonal ``G``; made up for rounding by a factor ``1 + 10⁻⁶``.

    Examples
    --------
    >>> import numpy as np
    >>> low, _ = cholesky(np.array([[4, 2], [2, 5]], complex)[..., None])
    >>> bool(inverse_trace_bound(low)[0] >= inverse_trace(low)[0])
    True
    """
    k, f = len(low), low.shape[2]
    v = np.empty((k, f))
    for i in range(k):  # |L_ij| below the diagonal only; 1 / L_ii is real and positive
        above = np.einsum("jf,jf->f", np.abs(low[i, :i]), v[:i]) if i else 0.0
        v[i] = (1.0 + above) * low[i, i].real
    return np.einsum("if,if->f", v, v) * (1 + 1e-6)


def solve_gram(low: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``G⁻¹ rhs = L^{-*} (L^{-1} rhs)`` ``(f, k, B)`` by two substitutions, ``low``
    :func:`cholesky`'s ``(k, k, f)`` and ``rhs`` ``(f, k, B)``.

    Examples
    --------
    >>> import numpy as np
    >>> gram = np.array([[4, 2], [2, 5]], complex)
    >>> low, _ = cholesky(gram[..., None])
    >>> solve_gram(low, np.array([[[8], [10]]], complex)).real.round(6).tolist()  # G x = b
    [[[1.25], [1.5]]]
    """
    k = len(low)
    x = np.ascontiguousarray(rhs.transpose(1, 2, 0), complex)  # (k, B, f)
    for i in range(k):  # L y = rhs
        if i:
            x[i] -= (low[i, :i, None] * x[:i]).sum(axis=0)
        x[i] *= low[i, i]
    for i in range(k - 1, -1, -1):  # L^* x = y
        if i + 1 < k:
            x[i] -= (np.conjugate(low[i + 1 :, i, None]) * x[i + 1 :]).sum(axis=0)
        x[i] *= low[i, i]
    return x.transpose(2, 0, 1)


def pack_lower(low: np.ndarray, out: np.ndarray) -> None:
    """The diagonal and lower triangle of ``low`` ``(k, k, f)`` into ``out``
    ``(k (k + 1) / 2, f)``, row by row (``L_i0 … L_ii``): the stored factor of
    :func:`solve_packed`, in a little over half the memory."""
    for i in range(len(low)):
        out[i * (i + 1) // 2 : (i + 1) * (i + 2) // 2] = low[i, : i + 1]


def solve_packed(packed: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """:func:`solve_gram` by :func:`pack_lower`'s ``packed`` factor: ``G⁻¹ rhs``
    ``(f, k, B)``, the substitution by ``L^*`` a column at a time (rows of ``L``).

    Examples
    --------
    >>> import numpy as np
    >>> low, _ = cholesky(np.array([[4, 2], [2, 5]], complex)[..., None])
    >>> packed = np.empty((3, 1), complex)
    >>> pack_lower(low, packed)
    >>> solve_packed(packed, np.array([[[8], [10]]], complex)).real.round(6).tolist()
    [[[1.25], [1.5]]]
    """
    k = int(np.sqrt(8 * len(packed) + 1) - 1) // 2  # k (k + 1) / 2 rows
    x = np.ascontiguousarray(rhs.transpose(1, 2, 0), complex)  # (k, B, f)
    for i in range(k):  # L y = rhs
        row = packed[i * (i + 1) // 2 : (i + 1) * (i + 2) // 2]
        if i:
            x[i] -= (row[:i, None] * x[:i]).sum(axis=0)
        x[i] *= row[i]
    for i in range(k - 1, -1, -1):  # L^* x = y: x_i, then its part of the rows above
        row = packed[i * (i + 1) // 2 : (i + 1) * (i + 2) // 2]
        x[i] *= row[i]  # 1 / L_ii, real
        if i:
            x[:i] -= np.conjugate(row[:i, None]) * x[i]
    return x.transpose(2, 0, 1)


def trace_where_unsure(
    gram: np.ndarray,
    diagonal: np.ndarray,
    regularised: np.ndarray,
    ok: np.ndarray,
    reg: float,
    safe_at: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """``tr(G⁻¹)`` ``(f,)``, or a bound above it where that proves ``safe_at``: ``gram``
    ``G_reg`` ``(k, k, f)``, ``diagonal`` that of ``G``, ``regularised`` ``tr(G_reg⁻¹)``
    or a bound above it (``∞`` where not ``ok``, the Cholesky factorisation of ``G_reg``).

    ``tr(G⁻¹) ≤ tr(G_reg⁻¹) / (1 - reg tr(G_reg⁻¹))``: each ``1/λ = (1/μ) / (1 - reg/μ)``
    with ``μ = λ + reg ≥ 1 / tr(G_reg⁻¹)``. Where the bound proves nothing, ``G`` is
    factorised and ``tr(G⁻¹)`` decides, as it would alone.

    Examples
    --------
    >>> import numpy as np
    >>> gram = np.array([[4, 2], [2, 5]], complex)[..., None] + 0.5 * np.eye(2)[..., None]
    >>> low, ok = cholesky(gram)  # G_reg, reg = 0.5
    >>> upper = trace_where_unsure(gram, np.array([[4.0], [5.0]]), inverse_trace(low), ok,
    ...                            0.5, lambda t: t < 1.0)  # proves t < 1: tr(G⁻¹) = 0.5625
    >>> bool(0.5625 <= upper[0] < 1.0)
    True
    """
    k = len(gram)
    with np.errstate(divide="ignore", invalid="ignore"):
        upper = np.where(reg * regularised < 1, regularised / (1 - reg * regularised), np.inf)
    if reg > 0:
        upper *= 1 + 1e-6  # the rounding of G_reg against that of G
    unsure = ok & ~safe_at(upper)
    if unsure.any():
        gram = gram[:, :, unsure]
        gram[np.arange(k), np.arange(k)] = diagonal[:, unsure]  # G itself
        low, factorised = cholesky(gram)
        upper[unsure] = np.where(factorised, inverse_trace(low), np.inf)
    return upper


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
