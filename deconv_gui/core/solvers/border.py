"""The border correction of the symbol preconditioner: what zero padding takes from ``A Aᵀ``.

Notes
-----
An output whose window reaches into the zero padding reads fewer taps, so its diagonal
block of ``A Aᵀ`` (the ``C_out × C_out`` Gram matrix of its taps) is ``G_p = Σ W_tᵀ W_t``
over the taps that read image pixels, not the interior's ``G``. The symbol
preconditioner ``M₀`` is built for ``G``; the corrected one is ``S M₀ Sᵀ`` with
``S_p = G_p^(−1/2) G^(1/2)`` at such outputs (``S_pᵀ G_p S_p = G``: seen through ``S``,
every output's diagonal block is the interior's) and ``S_p = I`` inside. It is symmetric
positive definite whenever ``M₀`` is.

Outputs fall into a few kinds (which taps read the image, per axis); the matrices are
built once per kind, from eigendecompositions where those cost less than one of the
layer's forward+adjoint pairs, else from Cholesky factors (``S_p = L_p^(−T) Lᵀ``, the
same property: one more CG iteration at 128 channels, as many at 256). Where a kind's
Gram matrix is singular (more output channels than the taps it reads carry input
values), the matrices give way to scalars, ``S_p = ρ^(−1/2)`` per output channel with
``ρ`` the share of its filter energy on image pixels (a Jacobi correction). Measured on
56²×64 → 128, 3×3, stride 2, padding 1, with the cell symbol (CG iterations to 10⁻⁶):
44 without a correction, 32 with the scalars, 22 with the matrices.
"""

from __future__ import annotations

import numpy as np

from .. import lapack
from ..operator import ConvOperator

__all__ = ["BorderCorrection", "border_correction"]

#: A kind's Gram matrix counts as singular below this share of its largest eigenvalue.
_SINGULAR = 1e-8
#: The scalar correction's smallest share of filter energy (a window almost all padding).
_SMALLEST_SHARE = 1e-3
#: An eigendecomposition with vectors of an ``n × n`` matrix, in multiply-adds per ``n³``
#: (as fast per ``n³`` as this many of a matrix product's, measured at 128 and 256).
_EIGH_WORK = 10


def _valid_taps(n: int, n_out: int, f: int, s: int, d: int, before: int) -> list[tuple[int, ...]]:
    """For each output index along one axis, the taps that read an image pixel."""
    return [tuple(t for t in range(f) if 0 <= s * p - before + d * t < n) for p in range(n_out)]


def _tap_grams(weights: np.ndarray, groups: int) -> np.ndarray:
    """``W_tᵀ W_t`` per tap, ``(f_h, f_w, C_out, C_out)``: a kind's Gram matrix is the sum
    over its taps. Outputs of different groups share no input: their entries are zero."""
    fh, fw, _, c_out = weights.shape
    grams = np.empty((fh, fw, c_out, c_out))
    for a in range(fh):
        for b in range(fw):
            np.matmul(weights[a, b].T, weights[a, b], out=grams[a, b])
    if groups > 1:
        group = np.arange(c_out) // (c_out // groups)
        grams *= group[:, None] == group[None, :]
    return grams


class BorderCorrection:
    """``S`` per output pixel (see the module): ``before`` applies ``Sᵀ``, ``after`` ``S``.

    Parameters
    ----------
    masks : list of numpy.ndarray
        One boolean ``(H_out, W_out)`` mask per kind of border output.
    factors : list of numpy.ndarray
        Per kind, ``S_p`` as a ``(C_out, C_out)`` matrix or a ``(C_out,)`` scale.
    """

    def __init__(self, masks: list[np.ndarray], factors: list[np.ndarray]) -> None:
        self.masks = masks
        self.factors = factors

    @property
    def matrices(self) -> bool:
        """Whether the correction is by matrices (else by scalars per channel)."""
        return bool(self.factors) and self.factors[0].ndim == 2

    def before(self, residual: np.ndarray) -> np.ndarray:
        """``Sᵀ r`` as a new array."""
        out = residual.copy()
        for mask, factor in zip(self.masks, self.factors, strict=True):
            out[mask] = residual[mask] @ factor if factor.ndim == 2 else residual[mask] * factor
        return out

    def after(self, values: np.ndarray) -> np.ndarray:
        """``S v``, in place."""
        for mask, factor in zip(self.masks, self.factors, strict=True):
            values[mask] = values[mask] @ factor.T if factor.ndim == 2 else values[mask] * factor
        return values


def border_correction(op: ConvOperator, reg: float = 0.0) -> BorderCorrection | None:
    """The border correction of a zero-padded layer (see the module); None when every
    output's window reads only image pixels (or the padding copies pixels instead).

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvOperator
    >>> w = np.random.default_rng(0).standard_normal((3, 3, 4, 8))
    >>> op = ConvOperator.from_weights(w, input_shape=(8, 8, 4), stride=2, padding=1)
    >>> correction = border_correction(op)
    >>> len(correction.masks), correction.matrices  # top row, left column, corner
    (3, True)
    >>> border_correction(ConvOperator.from_weights(w, input_shape=(9, 9, 4), stride=2)) is None
    True
    """
    g = op.geometry
    if g.padding_mode != "zeros" or g.pads == ((0, 0), (0, 0)):
        return None
    weights = op.weights.astype(np.float64, copy=False)
    if g.flip:
        weights = weights[::-1, ::-1]
    fh, fw = weights.shape[:2]
    h_out, w_out = g.output_shape[:2]
    axes = [
        _valid_taps(n, n_out, f, s, d, pads[0])
        for n, n_out, f, s, d, pads in zip(
            g.input_shape[:2], (h_out, w_out), (fh, fw), g.stride, g.dilation, g.pads, strict=True
        )
    ]
    full = (tuple(range(fh)), tuple(range(fw)))
    kinds = sorted({(a, b) for a in set(axes[0]) for b in set(axes[1])} - {full})
    if not kinds:
        return None
    masks = [
        np.logical_and.outer([a == kind[0] for a in axes[0]], [b == kind[1] for b in axes[1]])
        for kind in kinds
    ]
    taps = _tap_grams(weights, g.groups)
    ridge = reg * np.eye(weights.shape[3])
    interior = taps.sum(axis=(0, 1)) + ridge
    grams = [taps[np.ix_(rows, cols)].sum(axis=(0, 1)) + ridge for rows, cols in kinds]
    # square roots (an eigendecomposition per kind) where they cost less than one of the
    # layer's pairs, else Cholesky factors: a tenth of the work, and at 56²×64 → 128 one
    # more CG iteration, at 28²×128 → 256 as many
    pair = 2.0 * h_out * w_out * np.prod(weights.shape)
    roots = (len(kinds) + 1) * _EIGH_WORK * weights.shape[3] ** 3 <= pair
    factors = _matrix_factors(interior, grams, roots)
    if factors is None:
        factors = _scalar_factors(interior, grams)
    return BorderCorrection(masks, factors)


def _matrix_factors(
    interior: np.ndarray, grams: list[np.ndarray], roots: bool
) -> list[np.ndarray] | None:
    """``G_p^(−1/2) G^(1/2)`` per kind (``roots``), else ``L_p^(−T) Lᵀ`` from the Cholesky
    factors ``G = L Lᵀ`` (also ``Sᵀ G_p S = G``); None when a Gram matrix is singular."""
    if not roots:
        lower = [lapack.cholesky(gram) for gram in (interior, *grams)]
        regular = [f for f in lower if f is not None and _regular(np.square(np.diag(f)))]
        if len(regular) < len(lower):
            return None
        return [lapack.solve(f.T, regular[0].T) for f in regular[1:]]
    factors = []
    for gram, power in ((interior, 0.5), *((gram, -0.5) for gram in grams)):
        values, vectors = lapack.eigh(gram)
        if not _regular(values):
            return None
        factors.append((vectors * values**power) @ vectors.T)
    return [root @ factors[0] for root in factors[1:]]


def _regular(values: np.ndarray) -> bool:
    """Whether the smallest of ``values`` (eigenvalues, or a Cholesky factor's squared
    pivots) is above :data:`_SINGULAR` of the largest."""
    return bool(values.min() > _SINGULAR * values.max())


def _scalar_factors(interior: np.ndarray, grams: list[np.ndarray]) -> list[np.ndarray]:
    """``ρ^(−1/2)`` per kind and output channel: the diagonals' ratio."""
    total = np.diag(interior)
    factors = []
    for gram in grams:
        share = np.divide(np.diag(gram), total, out=np.ones_like(total), where=total > 0)
        factors.append(1.0 / np.sqrt(np.clip(share, _SMALLEST_SHARE, 1.0)))
    return factors
