"""An FFT preconditioner for ``A Aᵀ`` on the output grid, from the operator's symbol.

Notes
-----
Away from the borders, ``B = A Aᵀ`` of a strided convolution is *stationary on the
output grid*: ``(B z)[p] = Σ_u k[u] z[p − u]`` with a small ``C_out × C_out`` matrix
kernel ``k`` (the filter's autocorrelation, subsampled by the stride). We obtain
``k`` exactly by applying ``A Aᵀ`` to one impulse per output channel on a tiny
unpadded geometry (so no sign or flip convention can go wrong), embed it in a
periodic grid of at least the output size (rounded up to a fast FFT length), and
take its discrete Fourier transform: the symbol ``K̂(ω)``, Hermitian positive
semi-definite at every frequency.

The preconditioner is ``M⁻¹ r = P_cropᵀ F⁻¹ (K̂ + (reg + δ) I)⁻¹ F P_pad r``:
zero-pad ``r`` to the FFT grid, solve frequency by frequency, crop. It is symmetric
positive definite for any ``δ > 0`` (``Pᵀ C⁻¹ P`` with ``C⁻¹`` SPD and ``P``
injective), which is all preconditioned CG needs. ``δ = 10⁻⁶ max K̂`` caps the
gain at frequencies where the symbol vanishes (box, Sobel or Gaussian filters
repeated over the channels). Borders, where zero padding makes ``B`` differ from its
stationary part, are simply left for CG to fix: the preconditioner only needs to be
approximate; correctness comes from the Krylov iteration. ``sqrt(max K̂)`` is an
upper bound of ``‖A‖`` (the border rows of ``A`` are truncations of the stationary ones).
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from threadpoolctl import threadpool_limits

from .. import lapack
from ..geometry import ConvGeometry
from ..operator import ConvOperator

__all__ = ["SymbolPreconditioner", "periodic_symbol", "stationary_kernel"]

#: Relative floor of the symbol, ``δ / max K̂``.
SYMBOL_FLOOR = 1e-6


def stationary_kernel(op: ConvOperator) -> np.ndarray:
    """The kernel of ``A Aᵀ`` on the output grid, ``(L_h, L_w, C_out, C_out)``, in float64.

    ``k[R_h + u_h, R_w + u_w, o, o']`` is the weight with which output channel ``o'``
    at offset ``u`` contributes to channel ``o``; ``R`` is the kernel's radius.
    """
    weights = op.weights.astype(np.float64, copy=False)
    fh, fw, c_in, c_out = weights.shape
    (sh, sw), (dh, dw) = op.geometry.stride, op.geometry.dilation
    rh = -(-dh * (fh - 1) // sh)
    rw = -(-dw * (fw - 1) // sw)
    lh, lw = 2 * rh + 1, 2 * rw + 1
    groups, flip = op.geometry.groups, op.geometry.flip  # c_in is C_in / groups
    small = ConvGeometry(
        (sh * (lh - 1) + dh * (fh - 1) + 1, sw * (lw - 1) + dw * (fw - 1) + 1, c_in * groups),
        weights.shape,
        (sh, sw),
        0,
        (dh, dw),
        groups=groups,
        flip=flip,
    )
    impulses = np.zeros((c_out, lh, lw, c_out))
    impulses[np.arange(c_out), rh, rw, np.arange(c_out)] = 1.0
    small_op = ConvOperator(small, weights)
    responses = small_op.apply(small_op.apply_adjoint(impulses))
    return responses.transpose(1, 2, 3, 0).copy()  # [u, o, o'] from [o', u, o]


def periodic_symbol(
    op: ConvOperator,
    grid: tuple[int, int] | None = None,
    *,
    onesided: bool = True,
) -> np.ndarray:
    """The symbol ``K̂(ω)`` of ``A Aᵀ``: the DFT of :func:`stationary_kernel` on a periodic grid.

    Parameters
    ----------
    op : ConvOperator
        The operator ``A`` (its filter is used in float64).
    grid : (int, int), optional
        The periodic grid; default ``(H_out, W_out)``. A kernel wider than the grid
        wraps around (aliases), as a circulant matrix on that grid would.
    onesided : bool
        ``rfft2`` frequencies (``grid[1] // 2 + 1`` columns; enough to apply the
        operator) or all of them (``fft2``; needed to list every eigenvalue).

    Returns
    -------
    numpy.ndarray
        Complex ``(G_h, G_w or G_w // 2 + 1, C_out, C_out)``, Hermitian at every
        frequency (made exactly so); for ``C_out = 1`` real up to rounding.
    """
    h_out, w_out, c_out = op.geometry.output_shape
    grid = (h_out, w_out) if grid is None else (int(grid[0]), int(grid[1]))
    kernel = stationary_kernel(op)
    lh, lw = kernel.shape[:2]
    periodic = np.zeros((*grid, c_out, c_out))
    rows = (np.arange(lh) - lh // 2) % grid[0]
    cols = (np.arange(lw) - lw // 2) % grid[1]
    np.add.at(periodic, (rows[:, None], cols[None, :]), kernel)
    transform = scipy.fft.rfft2 if onesided else scipy.fft.fft2
    symbol = transform(periodic, axes=(0, 1))
    return 0.5 * (symbol + np.conj(np.swapaxes(symbol, -1, -2)))


class SymbolPreconditioner:
    """``r ↦ S (K̂ + (reg + δ) I)⁻¹ S r`` by FFT on the (padded) output grid.

    ``S`` corrects the borders of a zero-padded layer: an output whose window reaches
    into the padding has fewer taps, so its diagonal of ``A Aᵀ`` is a fraction ``ρ`` of
    the symbol's; ``S = ρ^(−1/2)`` per output (a Jacobi correction of the circulant
    preconditioner; ``S = I`` where every tap reads an image pixel). At 56²×64 → 128,
    3×3, stride 2 it saves about a quarter of the iterations.

    Parameters
    ----------
    op : ConvOperator
        The operator ``A`` (its filter is used in float64).
    reg : float
        Tikhonov weight added to the symbol.

    Attributes
    ----------
    operator_norm : float
        ``sqrt(max K̂)``, an upper bound of ``‖A‖``; 0 for an all-zero filter (then
        the preconditioner is ``1 / (reg or 1)`` times the identity).
    """

    def __init__(self, op: ConvOperator, reg: float = 0.0) -> None:
        h_out, w_out, c_out = op.geometry.output_shape
        self.grid = (scipy.fft.next_fast_len(h_out, True), scipy.fft.next_fast_len(w_out, True))
        self.output_hw = (h_out, w_out)
        symbol = periodic_symbol(op, self.grid)
        if c_out == 1:
            values = np.maximum(symbol[..., 0, 0].real, 0.0)
        else:
            # many small Hermitian matrices: one BLAS thread is fastest (threads that
            # synchronise per 128×128 matrix starve on a busy machine: 25× slower seen)
            with threadpool_limits(limits=1, user_api="blas"):
                values, vectors = lapack.eigh(symbol)
            values = np.maximum(values, 0.0)
        top = float(values.max())
        floor = SYMBOL_FLOOR * top if top > 0 or reg > 0 else 1.0
        scale = 1.0 / (values + reg + floor)
        if c_out == 1:
            self.inverse = scale[..., None]
        else:
            self.inverse = np.einsum("...ik,...k,...jk->...ij", vectors, scale, vectors.conj())
        self.operator_norm = float(np.sqrt(top))
        self.border = _border_scale(op)

    def __call__(self, residual: np.ndarray) -> np.ndarray:
        """Apply the preconditioner to an output-space array ``(H_out, W_out, C_out)``."""
        if self.border is not None:
            residual = residual * self.border
        spectrum = scipy.fft.rfft2(residual, s=self.grid, axes=(0, 1))
        if self.inverse.ndim == 3:
            spectrum *= self.inverse
        else:
            spectrum = np.einsum("...ij,...j->...i", self.inverse, spectrum)
        out = scipy.fft.irfft2(spectrum, s=self.grid, axes=(0, 1))
        h, w = self.output_hw
        out = np.ascontiguousarray(out[:h, :w])
        if self.border is not None:
            out *= self.border
        return out


def _border_scale(op: ConvOperator) -> np.ndarray | None:
    """``ρ^(−1/2)`` per output ``(H_out, W_out, C_out)``, ``ρ`` the share of its filter's
    energy on image pixels (1 inside; below 1 where the window reaches zero padding);
    None when it is 1 everywhere."""
    g = op.geometry
    if g.padding_mode != "zeros" or g.pads == ((0, 0), (0, 0)):
        return None
    energy = ConvOperator(g, np.square(op.weights.astype(np.float64)))
    reached = energy.apply(np.ones(g.input_shape))
    total = np.square(op.weights.astype(np.float64)).sum(axis=(0, 1, 2))
    ratio = np.divide(reached, total, out=np.ones_like(reached), where=total > 0)
    if np.all(ratio >= 1 - 1e-12):
        return None
    return 1.0 / np.sqrt(np.clip(ratio, 1e-3, 1.0))
