"""How ill-conditioned ``A`` is, from its symbol: why a pseudo-inverse solve stalls.

Notes
-----
The eigenvalues of ``A Aᵀ`` are the squared singular values of ``A``. Away from the
borders ``A Aᵀ`` is a convolution on the output grid whose symbol ``K̂(ω)`` (a
``C_out × C_out`` Hermitian matrix per frequency, :func:`~.preconditioner.periodic_symbol`)
the preconditioner inverts, so ``σ_max² ≈ max_ω λ_max K̂(ω)`` and
``σ_min² ≈ min_ω λ_min K̂(ω)`` at no cost beyond a few small FFTs:

* periodic layers (circular padding tiling the input): the symbol on the output grid
  *is* the spectrum of ``A Aᵀ``; the estimate is exact;
* zero padding: ``A`` is a section of the infinite convolution. For a symmetric filter
  at stride 1 (the Gaussian), ``A`` is a (block) symmetric Toeplitz matrix and its
  eigenvalues lie inside the symbol's range (Grenander–Szegő), so the estimate bounds
  ``κ(A)`` from above and approaches it as the image grows (measured against
  ``numpy.linalg.cond``: 0.58 of it at 8², 0.85 at 16², 0.96 at 32²). Other filters and
  strides: an estimate of the interior's conditioning, which governs how fast
  Krylov methods converge and how much noise the pseudo-inverse amplifies.

The symbol is sampled on a grid of at most :data:`ESTIMATE_GRID` points per axis (an even
multiple of the dilation's classes, so that the Nyquist frequency, where blurs are
smallest, is on it): the symbol is a trigonometric polynomial of the filter's small
support, and a coarser grid than the image's finds its extremes. With many output
channels, the grid is as fine as
:data:`~deconv_gui.core.solvers.preconditioner.FULL_SYMBOL_COST` allows for the matrix
eigenvalues (12 × 12 at 128 channels: κ(A)² 50.4 against 50.5 on the full 28² grid), and
only beyond 4 × 4 the diagonal's extremes are taken (a rough estimate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import lapack
from ..operator import ConvOperator
from ..threads import one_blas_thread
from .preconditioner import FULL_SYMBOL_COST, diagonal_symbol, periodic_symbol

__all__ = [
    "ESTIMATE_GRID",
    "ILL_CONDITIONED",
    "ConditionEstimate",
    "estimate_condition",
    "tikhonov_advice",
]

#: Largest symbol grid per axis of a non-periodic layer's estimate.
ESTIMATE_GRID = 256


@dataclass(frozen=True)
class ConditionEstimate:
    """``κ(A) = σ_max / σ_min`` as estimated from the symbol of ``A Aᵀ``.

    Attributes
    ----------
    sigma_max, sigma_min : float
        The extreme singular values (``sigma_min`` 0 when the symbol vanishes).
    exact : bool
        True for a periodic layer (the symbol on the output grid is the spectrum).
    """

    sigma_max: float
    sigma_min: float
    exact: bool

    @property
    def kappa(self) -> float:
        """``σ_max / σ_min`` (inf when ``σ_min`` is 0; 1 for an all-zero filter)."""
        if self.sigma_max == 0:
            return 1.0
        return self.sigma_max / self.sigma_min if self.sigma_min > 0 else math.inf


def _grid(op: ConvOperator) -> tuple[int, int]:
    """The output grid of a periodic layer; else an even grid of at most ESTIMATE_GRID."""
    g = op.geometry
    h_out, w_out = g.output_shape[:2]
    if g.padding_mode == "circular" and (h_out * g.stride[0], w_out * g.stride[1]) == tuple(
        g.input_shape[:2]
    ):
        return h_out, w_out
    sizes = []
    for n, s, d in zip((h_out, w_out), g.stride, g.dilation, strict=True):
        step = 2 * (d // math.gcd(s, d))  # even, and a multiple of the dilation's classes
        sizes.append(step * max(1, -(-min(max(n, 2 * step), ESTIMATE_GRID) // step)))
    return sizes[0], sizes[1]


def estimate_condition(op: ConvOperator) -> ConditionEstimate:
    """Estimate ``κ(A)`` from the extreme eigenvalues of the symbol of ``A Aᵀ``.

    Parameters
    ----------
    op : ConvOperator
        A strided convolution (its weights are used in float64).

    Returns
    -------
    ConditionEstimate

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvOperator, make_filter
    >>> w = make_filter("gaussian", in_channels=1)
    >>> op = ConvOperator.from_weights(w, input_shape=(32, 32, 1), stride=1, padding=1)
    >>> round(estimate_condition(op).kappa)  # numpy.linalg.cond of the 1024² matrix: 100
    105
    """
    if not isinstance(op, ConvOperator) or op.transposed:
        raise ValueError("op must be the ConvOperator of a strided convolution")
    grid = _grid(op)
    c_out = op.geometry.output_shape[2]
    frequencies = grid[0] * (grid[1] // 2 + 1)
    if c_out > 1 and frequencies * c_out**3 > FULL_SYMBOL_COST:
        # many channels: the matrix symbol on a coarser grid (the channels' coupling is
        # most of such a layer's conditioning: its diagonal gave κ(A)² ≈ 2 for
        # 56²×64 → 128, stride 2, whose symbol's is 50), else the diagonal's extremes
        sampled = _sampled_grid(op, c_out)
        if sampled is None:
            values = diagonal_symbol(op, grid)
            low, top = float(values.min()), float(values.max())
            return ConditionEstimate(math.sqrt(top), math.sqrt(low), False)
        grid = sampled
    if c_out == 1:
        values = np.maximum(periodic_symbol(op, grid)[..., 0, 0].real, 0.0)
        low, top = float(values.min()), float(values.max())
    else:
        with one_blas_thread():  # many small matrices
            eigen = lapack.eigvalsh(periodic_symbol(op, grid))
        low, top = max(float(eigen.min()), 0.0), float(eigen.max())
    exact = grid == tuple(op.geometry.output_shape[:2]) and op.geometry.padding_mode == "circular"
    return ConditionEstimate(math.sqrt(top), math.sqrt(low), exact)


def _sampled_grid(op: ConvOperator, c_out: int) -> tuple[int, int] | None:
    """The largest even grid (a multiple of the dilation's classes) whose matrix symbol
    costs at most :data:`FULL_SYMBOL_COST`; None below 4 × 4."""
    g = op.geometry
    steps = [2 * (d // math.gcd(s, d)) for s, d in zip(g.stride, g.dilation, strict=True)]
    size = 0
    while True:
        h, w = ((size + 1) * step for step in steps)
        if h * (w // 2 + 1) * c_out**3 > FULL_SYMBOL_COST:
            break
        size += 1
    if size * min(steps) < 4:
        return None
    return size * steps[0], size * steps[1]


#: Above this estimated κ(A), a solve that stopped short is put down to the conditioning:
#: noise in y is amplified more than 30×, and κ(A Aᵀ) = κ² > 900 slows CG.
ILL_CONDITIONED = 30.0


def tikhonov_advice(estimate: ConditionEstimate) -> str:
    """Why an iterative solve stopped short and what to do, for a report's message.

    The suggested ``reg = σ_max σ_min``: Tikhonov's gain ``σ / (σ² + reg)`` peaks at
    ``1 / (2 sqrt(reg))``, so noise is amplified at most ``sqrt(κ) / 2`` times more than at
    ``σ_max`` (not ``κ`` times), and the regularised system ``A Aᵀ + reg I`` has condition
    number about ``κ`` instead of ``κ²`` (CG converges in the square root of the steps).

    Examples
    --------
    >>> tikhonov_advice(ConditionEstimate(1.0, 1e-4, False))
    'A is ill-conditioned, estimated κ(A) ≈ 1.0e+04 (σ_max/σ_min of its symbol): noise in y − b is amplified up to that factor and CG on A Aᵀ needs many iterations; try Tikhonov, reg > 0 (e.g. reg = σ_max·σ_min ≈ 1e-04, which caps the amplification near √κ)'
    >>> tikhonov_advice(ConditionEstimate(1.0, 0.5, True))
    'estimated κ(A) ≈ 2.0e+00 (exact: a periodic layer): more iterations (max_iter) or a larger rtol'
    """  # noqa: E501
    kappa = estimate.kappa
    shown = "∞" if math.isinf(kappa) else f"{kappa:.1e}"
    how = "exact: a periodic layer" if estimate.exact else "σ_max/σ_min of its symbol"
    if kappa <= ILL_CONDITIONED:
        return f"estimated κ(A) ≈ {shown} ({how}): more iterations (max_iter) or a larger rtol"
    if estimate.sigma_min > 0:
        reg = f"σ_max·σ_min ≈ {estimate.sigma_max * estimate.sigma_min:.0e}"
    else:
        reg = f"(σ_max/1000)² ≈ {(estimate.sigma_max / 1000) ** 2:.0e}"
    return (
        f"A is ill-conditioned, estimated κ(A) ≈ {shown} ({how}): noise in y − b is "
        "amplified up to that factor and CG on A Aᵀ needs many iterations; try Tikhonov, "
        f"reg > 0 (e.g. reg = {reg}, which caps the amplification near √κ)"
    )
