"""Rank, nullity and singular values of the convolution operator ``A``.

Exact answers come from the dense matrix (small problems only); for large problems the
singular values are approximated from the symbol of ``A Aᵀ`` on the output grid and the
rank is only bounded. Every answer says which it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .. import lapack
from .._cache import LRUCache
from ..choices import check_choice
from ..geometry import ConvGeometry
from ..keywords import takes_geometry
from ..operator import DENSE_COLUMN_LIMIT, ConvOperator, as_operator
from ..solvers.base import (
    CancelCheck,
    ProgressCallback,
    SolveCancelled,
    in_steps,
    is_cancelled,
)
from ..solvers.preconditioner import stationary_kernel

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..keywords import ProblemKeywords

__all__ = [
    "DENSE_ENTRY_LIMIT",
    "RankInfo",
    "SingularValues",
    "exact_rank_feasible",
    "operator_rank",
    "rank_bounds",
    "rank_info",
    "singular_values",
]

#: The exact (dense) rank and SVD also refuse matrices with more entries than this
#: (4096², 128 MiB in float64), whatever the number of columns.
DENSE_ENTRY_LIMIT = DENSE_COLUMN_LIMIT * DENSE_COLUMN_LIMIT


class RankInfo(NamedTuple):
    """Rank and nullity of ``A``, exact or bounded.

    Attributes
    ----------
    rank : int or None
        The numerical rank when ``exact``; None otherwise.
    nullity : int or None
        ``unknowns − rank`` when ``exact``; None otherwise.
    rank_upper : int
        ``min(equations, unknowns)``: the rank can never exceed it.
    nullity_lower : int
        ``max(0, unknowns − equations)``: at least this many dimensions are lost.
    exact : bool
        Whether ``rank`` and ``nullity`` were computed from the dense matrix.
    n_equations, n_unknowns : int
        Rows and columns of ``A``.
    """

    rank: int | None
    nullity: int | None
    rank_upper: int
    nullity_lower: int
    exact: bool
    n_equations: int
    n_unknowns: int

    def describe(self) -> str:
        """One line for the arithmetic strip, e.g. ``rank 9, nullity 138 (exact)``."""
        if self.exact:
            return f"rank {self.rank:,}, nullity {self.nullity:,} (exact)"
        return (
            f"rank ≤ {self.rank_upper:,}, nullity ≥ {self.nullity_lower:,} "
            "(bound: too large for an exact SVD)"
        )


class SingularValues(NamedTuple):
    """Singular values of ``A`` in decreasing order, and whether they are exact.

    Attributes
    ----------
    values : numpy.ndarray
        ``min(equations, unknowns)`` non-negative values, largest first.
    exact : bool
        True: the SVD of the dense matrix. False: the symbol approximation.
    """

    values: np.ndarray
    exact: bool


def rank_bounds(geometry: ConvGeometry) -> RankInfo:
    """The bounds on rank and nullity that hold for any filter of this geometry.

    Parameters
    ----------
    geometry : ConvGeometry
        Shapes and hyper-parameters.

    Returns
    -------
    RankInfo
        With ``exact=False``: ``rank ≤ min(equations, unknowns)`` and
        ``nullity ≥ max(0, unknowns − equations)``.

    Examples
    --------
    >>> from deconv_gui.core import ConvGeometry, rank_bounds
    >>> rank_bounds(ConvGeometry((256, 256, 3), (3, 3, 3), stride=2, padding=1)).describe()
    'rank ≤ 16,384, nullity ≥ 180,224 (bound: too large for an exact SVD)'
    """
    if not isinstance(geometry, ConvGeometry) and getattr(geometry, "kind", "") != (
        "conv_transpose"
    ):
        raise ValueError(f"geometry must be a ConvGeometry, got {type(geometry).__name__}")
    m, n = geometry.n_equations, geometry.n_unknowns
    return RankInfo(None, None, min(m, n), geometry.min_nullity, False, m, n)


def exact_rank_feasible(geometry: ConvGeometry, *, max_cost: float | None = None) -> bool:
    """Whether :func:`rank_info` and :func:`singular_values` can be exact for ``geometry``.

    True when the dense matrix is small enough for an SVD: at most
    ``DENSE_COLUMN_LIMIT`` columns and ``DENSE_ENTRY_LIMIT`` entries, and, with
    ``max_cost``, an SVD cost ``m n min(m, n)`` of at most ``max_cost`` (the window's
    background rank job passes the dense solve's
    :data:`~deconv_gui.core.solvers.dense.DENSE_SOLVE_COST`: near the size limits an SVD
    takes a minute on a loaded machine and cannot be interrupted). When False, only
    :func:`rank_bounds` is known (cheaply, at once).

    Examples
    --------
    >>> from deconv_gui.core import ConvGeometry, exact_rank_feasible
    >>> exact_rank_feasible(ConvGeometry((7, 7, 3), (3, 3, 3), stride=2))
    True
    >>> exact_rank_feasible(ConvGeometry((256, 256, 3), (3, 3, 3), stride=2))
    False
    >>> exact_rank_feasible(ConvGeometry((40, 40, 1), (3, 3, 1)), max_cost=5e7)
    False
    """
    m, n = geometry.n_equations, geometry.n_unknowns
    if max_cost is not None and m * n * min(m, n) > max_cost:
        return False
    return n <= DENSE_COLUMN_LIMIT and n * m <= DENSE_ENTRY_LIMIT


def _too_large_message(geom: ConvGeometry, what: str) -> str:
    m, n = geom.n_equations, geom.n_unknowns
    return (
        f"{what} needs the dense {m:,} × {n:,} matrix, which is too large (limit "
        f"{DENSE_COLUMN_LIMIT:,} columns and {DENSE_ENTRY_LIMIT:,} entries); only the bound "
        f"rank ≤ min(equations, unknowns) = {min(m, n):,} (nullity ≥ {geom.min_nullity:,}) "
        "is known"
    )


#: Exact singular values per (geometry, float64 weights): filled from the window's
#: insight thread and the live pipeline's thread alike, hence locked.
_SVD_CACHE: LRUCache[np.ndarray] = LRUCache(maxsize=8)


def _exact_singular_values(op: ConvOperator) -> np.ndarray:
    """The SVD of the dense matrix, cached per (geometry, weights): it may take seconds."""
    w = op.weights.astype(np.float64, copy=False)

    def compute() -> np.ndarray:
        values = lapack.svd(op.to_dense(np.float64), compute_uv=False)
        values.flags.writeable = False
        return values

    return _SVD_CACHE.get_or_compute((op.geometry, w.shape, w.tobytes()), compute)


def _numerical_rank(values: np.ndarray, geom: ConvGeometry) -> int:
    """``numpy.linalg.matrix_rank``'s rule: count σ > σ_max · max(m, n) · eps."""
    if values.size == 0 or values[0] == 0:
        return 0
    tol = values[0] * max(geom.n_equations, geom.n_unknowns) * np.finfo(np.float64).eps
    return int(np.count_nonzero(values > tol))


@takes_geometry
def operator_rank(
    weights: Any,
    **problem: Unpack[ProblemKeywords],
) -> int:
    """The exact numerical rank of ``A`` (the linear part of :func:`conv2d`).

    Parameters
    ----------
    %(weights)s
    %(input_shape)s
    %(geometry)s

    Returns
    -------
    int
        The number of singular values above ``σ_max · max(m, n) · eps``, the rule of
        :func:`numpy.linalg.matrix_rank`.

    Raises
    ------
    ValueError
        On invalid arguments, or when the dense matrix would be too large (more than
        ``DENSE_COLUMN_LIMIT`` columns or ``DENSE_ENTRY_LIMIT`` entries); the message
        gives the bound ``rank ≤ min(equations, unknowns)``. Use :func:`rank_info` to
        get the bound without an exception.

    Notes
    -----
    The SVD is cached per geometry and filter, so :func:`singular_values` and
    :func:`rank_info` on the same problem are free afterwards. Near the column
    limit the SVD takes tens of seconds: call it from a worker thread.

    Examples
    --------
    >>> from deconv_gui.core import make_filter, operator_rank
    >>> operator_rank(make_filter("box", in_channels=1), input_shape=(8, 8, 1), stride=2)
    9
    """
    op = as_operator(weights, **problem)
    if not exact_rank_feasible(op.geometry):
        raise ValueError(_too_large_message(op.geometry, "an exact rank"))
    return _numerical_rank(_exact_singular_values(op), op.geometry)


@takes_geometry
def rank_info(
    weights: Any,
    *,
    max_cost: float | None = None,
    **problem: Unpack[ProblemKeywords],
) -> RankInfo:
    """Rank and nullity of ``A``: exact when the dense matrix is small, else bounds.

    Parameters are as for :func:`operator_rank`; ``max_cost`` also bounds the SVD's
    cost (see :func:`exact_rank_feasible`). Never raises for size; invalid arguments
    still raise ``ValueError``.

    Examples
    --------
    The seed question: a 7×7×3 image, a 3×3×3 filter, stride 2.

    >>> from deconv_gui.core import make_filter, rank_info
    >>> rank_info(make_filter("seed_question"), input_shape=(7, 7, 3), stride=2).describe()
    'rank 9, nullity 138 (exact)'
    """
    op = as_operator(weights, **problem)
    geom = op.geometry
    bounds = rank_bounds(geom)
    if not exact_rank_feasible(geom, max_cost=max_cost):
        return bounds
    rank = _numerical_rank(_exact_singular_values(op), geom)
    return bounds._replace(rank=rank, nullity=geom.n_unknowns - rank, exact=True)


@takes_geometry
def singular_values(
    weights: Any,
    *,
    method: str = "auto",
    cancel: CancelCheck | None = None,
    progress: ProgressCallback | None = None,
    **problem: Unpack[ProblemKeywords],
) -> SingularValues:
    """The singular values of ``A``, exact for small problems, approximate otherwise.

    Parameters
    ----------
    weights, input_shape, stride, padding, dilation, padding_mode, groups, flip
        As for :func:`operator_rank`.
    method : {"auto", "exact", "symbol"}
        ``"exact"``: SVD of the dense matrix (ValueError when too large).
        ``"symbol"``: the periodic approximation below. ``"auto"``: exact when the
        dense matrix is small enough, else the symbol.
    cancel : threading.Event or callable, optional
        Checked between the symbol's slices of frequencies (raises
        :class:`~deconv_gui.core.SolveCancelled`); the exact SVD is one step.
    progress : callable, optional
        ``progress(slices done, fraction done)`` after each slice of frequencies.

    Returns
    -------
    SingularValues
        ``(values, exact)``; ``min(equations, unknowns)`` values, largest first.

    Notes
    -----
    On the output grid, ``A Aᵀ`` is (away from the borders) a block convolution:

    .. math::

        (A A^T)[(h, o), (h', o')] = R[s (h - h'), o, o'], \\qquad
        R[\\delta, o, o'] = \\sum_{r, c} w_d[r, c, o]\\, w_d[r + \\delta, c, o'],

    with :math:`w_d` the dilated filter and :math:`R` its cross-channel
    autocorrelation sampled at multiples of the stride. Treating it as periodic on the
    ``H_out × W_out`` grid, its eigenvalues are those of the ``C_out × C_out``
    Hermitian symbol :math:`\\hat K(\\xi) = \\sum_\\Delta R[s\\Delta]\\, e^{-2\\pi i
    \\xi \\cdot \\Delta / N}` at each grid frequency :math:`\\xi`, and
    :math:`\\sigma = \\sqrt{\\lambda}`. Borders and padding are ignored, so this is an
    approximation (good in the bulk of the spectrum for large images, loose at the
    small end); values beyond ``min(equations, unknowns)`` are dropped. The kernel
    :math:`R[s\\Delta]` is measured by applying ``A Aᵀ`` to impulses
    (:func:`~deconv_gui.core.solvers.preconditioner.periodic_symbol`, the same symbol the
    pseudo-inverse solver's preconditioner inverts).

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import make_filter, singular_values
    >>> w = make_filter("gaussian", in_channels=1)
    >>> exact = singular_values(w, input_shape=(16, 16, 1), stride=2, padding=1)
    >>> exact.exact, exact.values.shape
    (True, (64,))
    >>> approx = singular_values(w, input_shape=(16, 16, 1), stride=2, padding=1, method="symbol")
    >>> bool(abs(approx.values[0] - exact.values[0]) < 0.05 * exact.values[0])
    True
    """
    check_choice("method", method, ("auto", "exact", "symbol"))
    op = as_operator(weights, **problem)
    geom = op.geometry
    if method == "exact" or (method == "auto" and exact_rank_feasible(geom)):
        if not exact_rank_feasible(geom):
            raise ValueError(_too_large_message(geom, "an exact SVD"))
        if is_cancelled(cancel):
            raise SolveCancelled("cancelled")
        return SingularValues(_exact_singular_values(op), True)
    return SingularValues(_symbol_singular_values(op, cancel, progress), False)


#: Frequencies per slice of the symbol (a 64-channel layer: 16 MB of symbol, ~20 ms each).
SYMBOL_SLICE = 256


def _symbol_singular_values(
    op: ConvOperator,
    cancel: CancelCheck | None = None,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """The periodic symbol approximation described in :func:`singular_values`.

    The symbol of :func:`~deconv_gui.core.solvers.preconditioner.periodic_symbol`
    (``onesided=False``), evaluated a slice of grid rows at a time as the DFT of the
    small kernel (never the whole ``H' W' C² `` array: 4 GB for a 64-channel layer on
    256²), each slice's eigenvalues taken before the next, so that it can stop."""
    geom = op.geometry
    h_out, w_out, c_out = geom.output_shape
    kernel = stationary_kernel(op)
    lh, lw = kernel.shape[:2]
    shift_h, shift_w = np.arange(lh) - lh // 2, np.arange(lw) - lw // 2
    along_w = np.exp(-2j * np.pi * np.outer(np.arange(w_out), shift_w) / w_out)  # (W', lw)
    columns = np.einsum("lv,uvab->ulab", along_w, kernel)  # (lh, W', C, C)
    rows_per_slice = max(SYMBOL_SLICE // max(w_out, 1), 1)
    parts = []
    for rows in in_steps(h_out, rows_per_slice, cancel=cancel, progress=progress):
        along_h = np.exp(-2j * np.pi * np.outer(np.arange(h_out)[rows], shift_h) / h_out)
        symbol = np.einsum("ku,ulab->klab", along_h, columns).reshape(-1, c_out, c_out)
        symbol = 0.5 * (symbol + np.conj(np.swapaxes(symbol, -1, -2)))
        parts.append(lapack.eigvalsh(symbol).ravel())
    eigenvalues = np.concatenate(parts) if parts else np.zeros(0)
    values = np.sqrt(np.clip(eigenvalues, 0.0, None))
    values = np.sort(values)[::-1][: min(geom.n_equations, geom.n_unknowns)]
    return np.ascontiguousarray(values)
