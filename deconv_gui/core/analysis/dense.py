"""The explicit matrices ``A``, ``Aᵀ`` and ``A⁺`` of a small convolution, for display."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..keywords import takes_geometry
from ..operator import DENSE_COLUMN_LIMIT, as_operator
from ..solvers.dense import dense_pinv

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..keywords import ProblemKeywords

__all__ = ["DenseMatrices", "dense_matrices"]


class DenseMatrices(NamedTuple):
    """``A`` ``(n_equations, n_unknowns)``, its transpose and its pseudo-inverse (float64)."""

    A: np.ndarray
    A_transpose: np.ndarray
    A_pinv: np.ndarray


@takes_geometry
def dense_matrices(
    weights: Any,
    **problem: Unpack[ProblemKeywords],
) -> DenseMatrices:
    """The explicit ``A``, ``Aᵀ`` and ``A⁺`` of :func:`conv2d` for a small image.

    Parameters
    ----------
    weights, input_shape, stride, padding, dilation, padding_mode, groups, flip
        As for :func:`~deconv_gui.core.conv2d_transpose`; ``weights`` may be a
        :class:`~deconv_gui.core.ConvOperator`.

    Returns
    -------
    DenseMatrices
        Read-only float64 arrays: ``A`` (``H_out W_out C_out × H W C_in``, rows and
        columns in C order of ``(H_out, W_out, C_out)`` and ``(H, W, C_in)``),
        ``A_transpose`` and ``A_pinv`` (``H W C_in × H_out W_out C_out``).

    Raises
    ------
    ValueError
        On bad arguments (naming them), or when ``H W C_in`` exceeds
        :data:`~deconv_gui.core.DENSE_COLUMN_LIMIT` (the matrices would be too big to
        build or show).

    Notes
    -----
    ``A`` is :meth:`ConvOperator.to_dense` (the operator applied to the identity), and
    ``A⁺`` is the SVD pseudo-inverse with singular values below
    ``ε max(m, n) σ_max`` treated as zero (ε of the filter's dtype;
    :func:`~deconv_gui.core.solvers.dense.dense_pinv`), so it is the Moore–Penrose
    inverse also when ``A`` is rank-deficient, without inverting rounding noise. For the
    seed's 7×7×3 image, 3×3×3 filter and stride 2, ``A`` is 9×147 and this takes well
    under a millisecond.

    Examples
    --------
    >>> from deconv_gui.core import dense_matrices, make_filter
    >>> mats = dense_matrices(make_filter("seed_question"), input_shape=(7, 7, 3), stride=2)
    >>> mats.A.shape, mats.A_pinv.shape
    ((9, 147), (147, 9))
    """
    op = as_operator(weights, **problem)
    geom = op.geometry
    if geom.n_unknowns > DENSE_COLUMN_LIMIT:
        raise ValueError(
            f"input_shape {geom.input_shape} has {geom.n_unknowns:,} unknowns, more "
            f"than the dense limit of {DENSE_COLUMN_LIMIT:,}: the explicit matrices are "
            "only built for small examples"
        )
    matrix = op.to_dense(np.float64)
    transpose = np.ascontiguousarray(matrix.T)
    pinv = dense_pinv(matrix, dtype=op.dtype)
    for array in (matrix, transpose, pinv):
        array.flags.writeable = False
    return DenseMatrices(matrix, transpose, pinv)
