"""The symbol of ``A Aᵀ`` averaged over cells of frequencies: channels coupled, set-up bounded.

Notes
-----
Inverting the ``C_out × C_out`` symbol ``K̂(ω)`` at every frequency of the grid costs
``frequencies × C_out³``: at 56²×64 → 128, stride 2, 480 frequencies of 128×128
matrices, tens of forward+adjoint pairs of the layer itself. Its diagonal alone (each
channel on its own) is cheap but leaves the channels' coupling, which is most of the
conditioning of a layer with many channels (random weights: ``κ(A Aᵀ)`` 50, 49 with
the diagonal symbol, 1 with the full one).

The frequencies are therefore split into a few rectangular *cells* per axis, and every
frequency of a cell is given the inverse of the cell's mean symbol
``K̄_c = mean_{ω ∈ c} K̂(ω)``: few inversions, and at each frequency still a
``C_out × C_out`` matrix. The mean is exact and cheap, the symbol being a trigonometric
polynomial of the kernel's few offsets: ``K̄_c = Σ_u k[u] φ_c(u)`` with ``φ_c(u)`` the
mean of ``e^(−iω·u)`` over the cell. Each ``K̄_c`` is Hermitian positive semi-definite
(a mean of such matrices); the cells are symmetric under ``ω ↦ −ω`` (a cell's mirror is
a cell, and a frequency that is its own mirror lies in a cell that is its own mirror),
so the preconditioner is a real, symmetric, positive definite operator. With one cell
it is the inverse of ``k[0]`` (block Jacobi per output pixel). Measured on the periodic
56²×32 → 64 layer, ``κ`` of the preconditioned ``A Aᵀ``: 27 with 1 cell per axis, 12
with 4, 7.0 with 7, 3.0 with 14 (the cell centres' values instead of the means: 196,
19, 9.4, 3.1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import lapack, threads
from ..operator import ConvOperator
from .base import SolveCancelled, is_cancelled

__all__ = [
    "CELL_SETUP_PAIRS",
    "MAX_CELLS",
    "MAX_CELL_BYTES",
    "CellInverse",
    "affordable_cells",
    "cell_index",
    "cell_phases",
]

#: Cells inverted per batch (the cancel check runs between batches).
_BATCH = 64
#: Multiply-adds of one application from which the cells' products are split between threads.
_THREAD_MIN_WORK = 1 << 20


def cell_index(n: int, cells: int, period: int = 1) -> np.ndarray:
    """The cell of each of ``n`` DFT bins, ``(n,)`` ints in ``[0, cells)``.

    Bins ``j`` and ``j + n / period`` share a cell (the symbol of a dilated layer repeats
    with that period); within one period, bin ``j`` goes to the nearest of ``cells``
    equally spaced centres, rounded away from zero on ties so that ``−j`` goes to the
    mirror cell. ``cells`` must be even when the period has a Nyquist bin.

    Examples
    --------
    >>> cell_index(8, 4).tolist()
    [0, 1, 1, 2, 2, 2, 3, 3]
    >>> cell_index(8, 2, period=2).tolist()  # two periods of four bins
    [0, 1, 1, 1, 0, 1, 1, 1]
    """
    m = n // period
    j = np.arange(n) % m
    signed = np.where(j <= m // 2, j, j - m)
    return (np.sign(signed) * np.floor(np.abs(signed) * cells / m + 0.5)).astype(int) % cells


def cell_phases(n: int, index: np.ndarray, cells: int, offsets: np.ndarray) -> np.ndarray:
    """``φ[c, u]``: the mean of ``exp(−2πi j u / n)`` over the bins ``j`` of cell ``c``."""
    phases = np.exp(-2j * np.pi * np.outer(np.arange(n), offsets) / n)
    sums = np.zeros((cells, len(offsets)), dtype=complex)
    np.add.at(sums, index, phases)
    counts = np.bincount(index, minlength=cells)
    return sums / np.maximum(counts, 1)[:, None]


def _cells_per_axis(n: int, period: int, wanted: int) -> int:
    """At most ``wanted`` cells (at least 1) over one period of ``n // period`` bins; even
    where the period has a Nyquist bin (it is its own mirror: its cell must be too)."""
    m = n // period
    cells = max(1, min(wanted, m))
    if m % 2 == 0 and cells % 2 == 1 and cells > 1:
        cells -= 1
    return cells


#: The cell symbol's set-up budget, in forward+adjoint pairs of the layer: a cell costs
#: about ``4 C_out³`` multiply-adds (a complex Cholesky inverse), a pair
#: ``2 H_out W_out C_out f_h f_w C_in / groups``. At 56²×64 → 128, stride 2, that is 24
#: cells (6 per axis): 22 CG iterations to 10⁻⁶ where 2 per axis took 37, 4 took 26, 8
#: took 21 (and twice the set-up).
CELL_SETUP_PAIRS = 2.0
#: At most this many cells: their products run one per cell (microseconds of call each).
MAX_CELLS = 1024
#: At most this many bytes of inverses (complex ``C_out × C_out`` per cell).
MAX_CELL_BYTES = 64 * 2**20


def affordable_cells(op: ConvOperator, grid: tuple[int, int]) -> int:
    """How many cells per axis the cell symbol can afford: within
    :data:`CELL_SETUP_PAIRS` of the layer's pairs, :data:`MAX_CELLS` and
    :data:`MAX_CELL_BYTES` (0: not one; the grid's own size is the most).

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvOperator
    >>> w = np.zeros((3, 3, 64, 128))
    >>> op = ConvOperator.from_weights(w, input_shape=(56, 56, 64), stride=2, padding=1)
    >>> affordable_cells(op, (30, 30))  # 6 × 4 one-sided cells of 128 × 128
    6
    """
    g = op.geometry
    h_out, w_out, c_out = g.output_shape
    fh, fw, c_in = g.filter_shape[:3]
    pair = 2.0 * h_out * w_out * c_out * fh * fw * c_in
    affordable = min(
        CELL_SETUP_PAIRS * pair / (4.0 * c_out**3), MAX_CELLS, MAX_CELL_BYTES / (16 * c_out**2)
    )
    largest = max(grid)
    cells = 0
    while cells < largest and (cells + 1) * ((cells + 1) // 2 + 1) <= affordable:
        cells += 1
    return cells


class CellInverse:
    """``(K̄_c + shift I)⁻¹`` per cell, applied to a one-sided spectrum (see the module).

    Parameters
    ----------
    kernel : numpy.ndarray
        The stationary kernel of ``A Aᵀ``, ``(L_h, L_w, C_out, C_out)``, centred
        (:func:`~deconv_gui.core.solvers.preconditioner.stationary_kernel`).
    grid : (int, int)
        The periodic FFT grid; the spectra are ``(G_h, G_w // 2 + 1, C_out)``.
    cells : (int, int)
        Cells wanted per axis (fewer where the grid or a Nyquist bin asks for it).
    period : (int, int)
        The symbol's period in bins is ``grid / period`` (the dilation's classes).
    reg : float
        Tikhonov weight, added to every cell's mean.
    floor : float
        ``δ`` as a share of the largest eigenvalue, added too (caps the gain where the
        symbol vanishes).
    cancel : callable or threading.Event, optional
        Checked between batches of cells; raises
        :class:`~deconv_gui.core.solvers.SolveCancelled`.

    Attributes
    ----------
    cells : (int, int)
        The cells per axis used.
    top : float
        The largest eigenvalue of the cells' means (power iteration): at most the
        symbol's maximum, close to it with a few cells per axis.
    single : bool
        Whether the inverses are applied in single precision: where the cells' condition
        number is at most :data:`SINGLE_PRECISION_KAPPA`, so that rounding (``10⁻⁷``
        relative, times that) leaves the preconditioner as good as in double precision.
        A preconditioner only steers CG (the residual and the solution stay in float64);
        on 56²×64 → 128, stride 2 the iterations to 10⁻⁶, 10⁻⁸, 10⁻¹⁰ and 10⁻¹² were the
        same in both precisions, and the products and FFTs take half the time.
    """

    def __init__(
        self,
        kernel: np.ndarray,
        grid: tuple[int, int],
        cells: tuple[int, int],
        period: tuple[int, int],
        reg: float,
        floor: float,
        cancel: Any = None,
    ) -> None:
        index, phases = [], []
        for n, p, wanted, length in zip(grid, period, cells, kernel.shape[:2], strict=True):
            count = _cells_per_axis(n, p, wanted)
            offsets = np.arange(length) - length // 2
            index.append(cell_index(n, count, p))
            phases.append(cell_phases(n, index[-1], count, offsets))
        self.cells = (phases[0].shape[0], phases[1].shape[0])
        columns = index[1][: grid[1] // 2 + 1]
        used = np.unique(columns)
        means = _means(kernel, phases[0], phases[1][used])
        self.top = float(_largest_eigenvalues(means).max(initial=0.0))
        shift = reg + (floor * self.top if self.top > 0 or reg > 0 else 1.0)
        c_out = kernel.shape[-1]
        means[:, np.arange(c_out), np.arange(c_out)] += shift
        # single precision first (half the work); double where the condition asks for it
        inverse = _inverses(means.astype(np.complex64), cancel)
        kappa = (self.top + shift) * float(_largest_eigenvalues(inverse).max(initial=0.0))
        self.single = bool(kappa <= SINGLE_PRECISION_KAPPA)
        if not self.single:
            inverse = _inverses(means, cancel)
        # each product's right factor is the transpose, the conjugate of a Hermitian
        # matrix: the bins' vectors are rows
        self.inverse = inverse.conj()
        # the one-sided bins, sorted by cell: each cell's bins are one block of rows
        cell = index[0][:, None] * len(used) + np.searchsorted(used, columns)[None, :]
        self.order = np.argsort(cell.ravel(), kind="stable")
        self.bounds = np.searchsorted(cell.ravel()[self.order], np.arange(len(means) + 1))

    def apply(self, spectrum: np.ndarray) -> np.ndarray:
        """Multiply each bin of a ``(G_h, G_w // 2 + 1, C_out)`` spectrum by its cell's
        inverse; a new array (of the spectrum's dtype)."""
        flat = spectrum.reshape(-1, spectrum.shape[-1])[self.order]
        out = np.empty_like(flat)

        def run(first: int, last: int) -> None:
            for c in range(first, last):
                start, stop = self.bounds[c], self.bounds[c + 1]
                if stop > start:
                    np.matmul(flat[start:stop], self.inverse[c], out=out[start:stop])

        # the cells split between the kernel threads (each product on one BLAS thread)
        threads.map_chunks(run, len(self.inverse), flat.size * flat.shape[1] >= _THREAD_MIN_WORK)
        result = np.empty_like(out)
        result[self.order] = out
        return result.reshape(spectrum.shape)


#: The largest condition number of the cells' inverses applied in single precision.
SINGLE_PRECISION_KAPPA = 1e4


def _means(kernel: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``Σ_u k[u] φ_c(u)`` for every cell (rows × columns), ``(cells, C_out, C_out)``.

    Two real products, ``(cells, offsets) @ (offsets, C_out²)`` for the real and the
    imaginary part; Hermitian to rounding (the factorisation reads one triangle).
    """
    c_out = kernel.shape[-1]
    outer = (rows[:, None, :, None] * columns[None, :, None, :]).reshape(-1, kernel[..., 0, 0].size)
    flat = kernel.reshape(-1, c_out**2)
    means = np.empty((len(outer), c_out**2), dtype=complex)
    means.real = outer.real @ flat
    means.imag = outer.imag @ flat
    return means.reshape(-1, c_out, c_out)


def _inverses(matrices: np.ndarray, cancel: Any) -> np.ndarray:
    """The inverses of a stack of Hermitian positive definite matrices, in batches with a
    cancel check before each."""
    inverse = np.empty_like(matrices)
    for start in range(0, len(matrices), _BATCH):
        if is_cancelled(cancel):
            raise SolveCancelled("the preconditioner's set-up was cancelled")
        part = slice(start, start + _BATCH)
        inverse[part] = lapack.hermitian_inverse(matrices[part])
    return inverse


def _largest_eigenvalues(matrices: np.ndarray, steps: int = 6) -> np.ndarray:
    """The largest eigenvalue of each of a stack of Hermitian positive semi-definite
    matrices, by a few steps of power iteration: from below, what a floor's scale, a
    condition number's order of magnitude and an estimate of ``‖A‖²`` need (within 10 %
    of the symbol's maximum at 56²×64 → 128, stride 2, 6 × 6 cells)."""
    vectors = np.random.default_rng(0).standard_normal(matrices.shape[:2]).astype(matrices.dtype)
    values = np.zeros(len(matrices))
    for _ in range(steps):
        images = np.matmul(matrices, vectors[..., None])[..., 0]
        values = np.linalg.norm(images, axis=1)
        vectors = images / np.maximum(values, np.finfo(float).tiny)[:, None]
    return values
