"""An FFT preconditioner for ``A Aᵀ`` on the output grid, from the operator's symbol.

Notes
-----
Away from the borders, ``B = A Aᵀ`` of a strided convolution is *stationary on the
output grid*: ``(B z)[p] = Σ_u k[u] z[p − u]`` with a small ``C_out × C_out`` matrix
kernel ``k`` (the filter's autocorrelation, subsampled by the stride;
:func:`stationary_kernel`). Embedded in a periodic grid of the output size plus the
kernel's reach (:func:`symbol_grid`), its discrete Fourier transform is the symbol
``K̂(ω)``, Hermitian positive semi-definite at every frequency.

The preconditioner is ``M⁻¹ r = S P_cropᵀ F⁻¹ (K̂ + (reg + δ) I)⁻¹ F P_pad Sᵀ r``:
zero-pad ``r`` to the FFT grid, solve frequency by frequency, crop. It is symmetric
positive definite for any ``δ > 0`` (``Pᵀ C⁻¹ P`` with ``C⁻¹`` SPD and ``P``
injective, ``S`` invertible), which is all preconditioned CG needs. ``δ = 10⁻⁶ max K̂``
caps the gain at frequencies where the symbol vanishes (box, Sobel or Gaussian filters
repeated over the channels). ``S`` (:mod:`~deconv_gui.core.solvers.border`) gives the
outputs whose window reaches into zero padding the diagonal block of the interior;
what else the borders change is left for CG: the preconditioner only needs to be
approximate, correctness comes from the Krylov iteration. ``sqrt(max K̂)`` is an upper
bound of ``‖A‖`` (the border rows of ``A`` are truncations of the stationary ones).

The inverse symbol is exact per frequency while that is cheap; with many output
channels the symbol's mean over a few cells of frequencies is inverted instead
(:mod:`~deconv_gui.core.solvers.symbol_cells`: the channels stay coupled, the set-up
costs a couple of the layer's own forward+adjoint pairs), and beyond even one cell's
budget only the diagonal (each channel's own symbol). On 56²×64 → 128, 3×3, stride 2,
padding 1 (He-initialised weights), CG on ``A Aᵀ`` to a relative residual of 10⁻⁶ took
77 iterations without a preconditioner, 61 with the diagonal symbol and scalar border
scales, 22 with 6 × 6 cells and the border matrices (29 with the exact symbol at every
frequency, which costs tens of pairs to set up).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
import scipy.fft

from .. import lapack
from .._cache import LRUCache
from ..operator import ConvOperator
from ..threads import get_num_threads, one_blas_thread
from .base import SolveCancelled, is_cancelled
from .border import border_correction
from .polyphase import is_periodic
from .symbol_cells import CellInverse, affordable_cells

__all__ = [
    "FULL_SYMBOL_COST",
    "PRECONDITIONER_CACHE_SIZE",
    "SymbolPreconditioner",
    "clear_preconditioner_cache",
    "diagonal_symbol",
    "periodic_symbol",
    "stationary_kernel",
    "symbol_grid",
    "symbol_preconditioner",
]

#: Relative floor of the symbol, ``δ / max K̂``.
SYMBOL_FLOOR = 1e-6


def stationary_kernel(op: ConvOperator) -> np.ndarray:
    """The kernel of ``A Aᵀ`` on the output grid, ``(L_h, L_w, C_out, C_out)``, in float64.

    ``k[R_h + u_h, R_w + u_w, o, o']`` is the response of ``A Aᵀ`` in output channel ``o``
    at offset ``u`` to an impulse in channel ``o'`` (its impulse response); ``R`` is the
    kernel's radius.

    Notes
    -----
    Outputs ``p + u`` and ``p`` read the same input pixel through taps ``t`` and ``t'``
    when ``d t' = s u + d t`` (per axis), so ``k[u] = Σ W_tᵀ W_t'`` over those tap pairs,
    ``W_t`` the filter's ``(C_in/groups, C_out)`` slice at tap ``t`` (outputs of
    different groups share no input). That is ``(f_h f_w)²`` small matrix products; the
    impulse responses of the operator it replaces took seconds at 128 channels (a batch
    of ``C_out`` tiny images through the GEMM kernels).
    """
    weights = op.weights.astype(np.float64, copy=False)
    if op.geometry.flip:
        weights = weights[::-1, ::-1]
    fh, fw, _, c_out = weights.shape
    (sh, sw), (dh, dw) = op.geometry.stride, op.geometry.dilation
    rh = -(-dh * (fh - 1) // sh)
    rw = -(-dw * (fw - 1) // sw)
    kernel = np.zeros((2 * rh + 1, 2 * rw + 1, c_out, c_out))
    rows = [
        (a, b, dh * (a - b) // sh) for a in range(fh) for b in range(fh) if dh * (a - b) % sh == 0
    ]
    cols = [
        (a, b, dw * (a - b) // sw) for a in range(fw) for b in range(fw) if dw * (a - b) % sw == 0
    ]
    for th, th2, uh in rows:
        for tw, tw2, uw in cols:
            kernel[rh + uh, rw + uw] += weights[th2, tw2].T @ weights[th, tw]
    groups = op.geometry.groups
    if groups > 1:
        group = np.arange(c_out) // (c_out // groups)
        kernel *= group[:, None] == group[None, :]
    return kernel


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


def _floor(top: float, reg: float) -> float:
    """``δ``: :data:`SYMBOL_FLOOR` times the symbol's top (1 when everything is zero)."""
    return SYMBOL_FLOOR * top if top > 0 or reg > 0 else 1.0


def _check(cancel: Any) -> None:
    if is_cancelled(cancel):
        raise SolveCancelled("the preconditioner's set-up was cancelled")


def symbol_grid(op: ConvOperator) -> tuple[int, int]:
    """The periodic FFT grid of the preconditioner: the output size plus the kernel's reach
    (the output size itself for a periodic layer), fast, and a multiple of
    ``q = d / gcd(s, d)`` on each axis.

    Beyond a periodic layer, ``A Aᵀ`` is a section of a stationary operator: on a grid of
    only the output's size its kernel wraps the last outputs onto the first ones, which
    the preconditioner then couples (64²×16 → 32, stride 2: 31 CG iterations to 10⁻⁶ on
    the 32² output grid, 20 on 33²). With dilation ``d`` and stride ``s``, ``A Aᵀ``
    couples two outputs only when their offset is a multiple of ``q`` (their input
    footprints interleave otherwise): the outputs split into ``q`` independent classes
    per axis. A periodic grid whose length is not a multiple of ``q`` wraps one class
    into another, and its inverse symbol then mixes them: measured on 11×21×3 with
    dilation (2, 1), the preconditioned spectrum spread 10⁷ against 10⁵ unpreconditioned.
    """
    g = op.geometry
    periodic = is_periodic(g)
    sizes = []
    shapes = zip(g.output_shape[:2], g.filter_shape[:2], g.stride, g.dilation, strict=True)
    for n, f, s, d in shapes:
        q = d // math.gcd(s, d)
        reach = 0 if periodic else -(-d * (f - 1) // s)
        sizes.append(q * scipy.fft.next_fast_len(-(-(n + reach) // q), True))
    return sizes[0], sizes[1]


#: The set-up's budget: frequencies × C_out³ (the eigendecompositions) up to this runs the
#: full matrix symbol; above, only its diagonal (one number per frequency and channel).
#: 32×17 frequencies × 500³ took 45 s here (einsum + eigh), 2·10⁸ takes about 0.1 s.
FULL_SYMBOL_COST = 2e8
#: Frequencies per eigendecomposition batch: the cancel check runs between batches.
_BATCH = 64


def diagonal_symbol(op: ConvOperator, grid: tuple[int, int]) -> np.ndarray:
    """The diagonal ``K̂_oo(ω)`` of the symbol, real ``(G_h, G_w // 2 + 1, C_out)``.

    From the diagonal of :func:`stationary_kernel` only: ``C_out`` numbers per frequency
    instead of ``C_out²`` (the full symbol of 500 channels on a 32×17 grid is 2 GiB).
    """
    kernel = stationary_kernel(op)
    c_out = kernel.shape[2]
    diagonal = kernel[:, :, np.arange(c_out), np.arange(c_out)]
    lh, lw = diagonal.shape[:2]
    periodic = np.zeros((*grid, c_out))
    rows = (np.arange(lh) - lh // 2) % grid[0]
    cols = (np.arange(lw) - lw // 2) % grid[1]
    np.add.at(periodic, (rows[:, None], cols[None, :]), diagonal)
    return np.maximum(scipy.fft.rfft2(periodic, axes=(0, 1)).real, 0.0)


class SymbolPreconditioner:
    """``r ↦ S (K̂ + (reg + δ) I)⁻¹ Sᵀ r`` by FFT on the (padded) output grid.

    ``S`` corrects the borders of a zero-padded layer
    (:mod:`~deconv_gui.core.solvers.border`: an output whose window reaches into the
    padding has fewer taps; ``S = I`` where every tap reads an image pixel). At
    56²×64 → 128, 3×3, stride 2 it halves the iterations.

    Parameters
    ----------
    op : ConvOperator
        The operator ``A`` (its filter is used in float64).
    reg : float
        Tikhonov weight added to the symbol (and to the border's Gram matrices).
    cancel : callable or threading.Event, optional
        Checked between batches of frequencies (or cells) of the set-up; raises
        :class:`~deconv_gui.core.solvers.SolveCancelled`.

    Attributes
    ----------
    operator_norm : float
        ``sqrt(max K̂)``, an upper bound of ``‖A‖``; 0 for an all-zero filter (then
        the preconditioner is ``1 / (reg or 1)`` times the identity). With the diagonal
        symbol, ``sqrt(C_out max K̂_oo)`` (``λ_max ≤ trace``); with the cell symbol, the
        largest eigenvalue of the cells' means (an estimate, from below).
    smallest : float
        The symbol's smallest eigenvalue (NaN with the diagonal or cell symbol, which do
        not bound it).
    kind : str
        ``"full"`` (the matrix symbol inverted per frequency), ``"cells"`` (the matrix
        symbol's mean over cells of frequencies inverted per cell,
        :mod:`~deconv_gui.core.solvers.symbol_cells`, when the full set-up would cost
        more than :data:`FULL_SYMBOL_COST`: many output channels) or ``"diagonal"``
        (each output channel's own symbol, when even one cell would cost more than
        :data:`~deconv_gui.core.solvers.symbol_cells.CELL_SETUP_PAIRS` pairs of the
        layer: far more output channels than the layer's work per channel).
    border : BorderCorrection or None
        The border correction ``S``.

    Notes
    -----
    The set-up's cost is bounded by construction: ``frequencies × C_out³`` above
    :data:`FULL_SYMBOL_COST` takes as many cells as
    :data:`~deconv_gui.core.solvers.symbol_cells.CELL_SETUP_PAIRS` of the layer's own
    pairs pay for, and the diagonal symbol (``frequencies × C_out`` work and memory)
    below one cell.
    """

    def __init__(self, op: ConvOperator, reg: float = 0.0, cancel: Any = None) -> None:
        with one_blas_thread():  # many small matrices (25× faster on a busy machine)
            self._setup(op, reg, cancel)

    def _setup(self, op: ConvOperator, reg: float, cancel: Any) -> None:
        h_out, w_out, c_out = op.geometry.output_shape
        self.grid = symbol_grid(op)
        self.output_hw = (h_out, w_out)
        frequencies = self.grid[0] * (self.grid[1] // 2 + 1)
        full = c_out == 1 or frequencies * c_out**3 <= FULL_SYMBOL_COST  # as the cache reads
        cells = 0 if full else affordable_cells(op, self.grid)
        self.kind = "full" if full else "cells" if cells else "diagonal"
        self.border = border_correction(op, reg)
        self.cells: CellInverse | None = None
        self.smallest = float("nan")  # the diagonal and the cells' means do not bound it
        if self.kind == "diagonal":
            values = diagonal_symbol(op, self.grid)
            top = float(values.max())
            self.operator_norm = float(np.sqrt(c_out * top))
            self.inverse = 1.0 / (values + reg + _floor(top, reg))
        elif self.kind == "cells":
            period = _classes(op)
            self.cells = CellInverse(
                stationary_kernel(op), self.grid, (cells, cells), period, reg, SYMBOL_FLOOR, cancel
            )
            self.operator_norm = float(np.sqrt(self.cells.top))
        else:
            self._full(op, reg, cancel)

    @property
    def nbytes(self) -> int:
        """The bytes its arrays take (the inverse symbol, the cells', the border's)."""
        arrays = [getattr(self, "inverse", None)]
        if self.cells is not None:
            arrays.append(self.cells.inverse)
        if self.border is not None:
            arrays += [*self.border.factors, *self.border.masks]
        return sum(a.nbytes for a in arrays if a is not None)

    def _full(self, op: ConvOperator, reg: float, cancel: Any) -> None:
        """The matrix symbol inverted at every frequency (by its eigenvalues)."""
        c_out = op.geometry.output_shape[2]
        symbol = periodic_symbol(op, self.grid)
        if c_out == 1:
            values = np.maximum(symbol[..., 0, 0].real, 0.0)
            top = float(values.max())
            self.inverse = (1.0 / (values + reg + _floor(top, reg)))[..., None]
        else:
            flat = symbol.reshape(-1, c_out, c_out)
            values = np.empty(flat.shape[:2])
            vectors = np.empty_like(flat)
            for start in range(0, len(flat), _BATCH):
                if start:  # between batches: a one-batch set-up is short
                    _check(cancel)
                part = slice(start, start + _BATCH)
                values[part], vectors[part] = lapack.eigh(flat[part])
            values = np.maximum(values, 0.0)
            top = float(values.max())
            scale = 1.0 / (values + reg + _floor(top, reg))
            inverse = np.empty_like(flat)
            for start in range(0, len(flat), _BATCH):
                if start:
                    _check(cancel)
                part = slice(start, start + _BATCH)
                inverse[part] = np.einsum(
                    "...ik,...k,...jk->...ij", vectors[part], scale[part], vectors[part].conj()
                )
            self.inverse = inverse.reshape(symbol.shape)
        self.operator_norm = float(np.sqrt(top))
        self.smallest = float(values.min()) if values.size else 0.0

    def __call__(self, residual: np.ndarray) -> np.ndarray:
        """Apply the preconditioner to an output-space array ``(H_out, W_out, C_out)``."""
        if self.border is not None:
            residual = self.border.before(residual)
        h, w = self.output_hw
        single = self.cells is not None and self.cells.single
        # zero-padded here: rfft2's own padding (its s argument) took twice as long
        padded = np.zeros((*self.grid, residual.shape[-1]), np.float32 if single else np.float64)
        padded[:h, :w] = residual
        workers = get_num_threads()
        spectrum = scipy.fft.rfft2(padded, axes=(0, 1), workers=workers)
        if self.cells is not None:
            with one_blas_thread():  # a few rows per product
                spectrum = self.cells.apply(spectrum)
        elif self.inverse.ndim == 3:  # one output channel, or the diagonal symbol
            spectrum *= self.inverse
        else:
            spectrum = np.einsum("...ij,...j->...i", self.inverse, spectrum)
        out = scipy.fft.irfft2(spectrum, s=self.grid, axes=(0, 1), workers=workers)
        out = np.array(out[:h, :w], dtype=np.float64)
        if self.border is not None:
            out = self.border.after(out)
        return out


def _classes(op: ConvOperator) -> tuple[int, int]:
    """``q = d / gcd(s, d)`` per axis: the symbol repeats every ``grid / q`` bins."""
    g = op.geometry
    h, w = (d // math.gcd(s, d) for s, d in zip(g.stride, g.dilation, strict=True))
    return h, w


#: Preconditioners kept between solves: another image through the same layer (same
#: weights, geometry and ``reg``) skips the set-up. One that takes more than
#: :data:`_CACHE_ENTRY_LIMIT` bytes is built afresh each time.
PRECONDITIONER_CACHE_SIZE = 4
_CACHE_ENTRY_LIMIT = 64 * 2**20
_PRECONDITIONERS: LRUCache[SymbolPreconditioner] = LRUCache(maxsize=PRECONDITIONER_CACHE_SIZE)


def clear_preconditioner_cache() -> None:
    """Forget the preconditioners kept between solves."""
    _PRECONDITIONERS.clear()


def symbol_preconditioner(
    op: ConvOperator, reg: float = 0.0, cancel: Any = None
) -> SymbolPreconditioner:
    """``SymbolPreconditioner(op, reg, cancel)``, from the cache when it was built lately.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvOperator
    >>> op = ConvOperator.from_weights(np.ones((3, 3, 2, 4)), input_shape=(8, 8, 2), stride=2)
    >>> symbol_preconditioner(op) is symbol_preconditioner(op)
    True
    """
    w = np.ascontiguousarray(op.weights)
    digest = hashlib.blake2b(w.tobytes(), digest_size=20).hexdigest()
    key = (op.geometry, w.dtype.str, w.shape, digest, float(reg))
    if key in _PRECONDITIONERS:
        return _PRECONDITIONERS.get_or_compute(key, lambda: SymbolPreconditioner(op, reg, cancel))
    built = SymbolPreconditioner(op, reg, cancel)
    if built.nbytes <= _CACHE_ENTRY_LIMIT:  # a large one is built afresh each time
        _PRECONDITIONERS.get_or_compute(key, lambda: built)
    return built
