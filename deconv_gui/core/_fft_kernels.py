"""FFT kernels for large filters: the forward pass and its adjoint by ``scipy.fft`` (internal).

The direct kernels of :mod:`deconv_gui.core._kernels` cost one shifted add (forward) or
copy (adjoint) per group of filter taps: fine for the usual 3×3 to 7×7 filters, slow for a
100×100 one (10,000 groups). Here both directions cost a few FFTs of the padded image,
whatever the filter size:

* forward: the stride-1 cross-correlation of the zero-padded image with the dilated
  filter is ``irfft2(X · conj(K))`` on a grid of the padded size (the valid part never
  wraps around), summed over the input channels; the output keeps every ``s``-th row
  and column of it;
* adjoint: the output is spread back onto the stride-1 grid (zeros in between) and
  convolved with the dilated filter, ``irfft2(Y · K)`` summed over the output channels,
  then cropped to the image (what lands in the padding is dropped).

Both are exact up to the FFT's rounding, ``O(ε log N)`` relative to ``Σ|w| max|x|``;
tests compare them with the literal loops of ``tests/reference.py``.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft

from . import threads
from ._cache import LRUCache
from .geometry import ConvGeometry

__all__ = ["CACHE_BYTES", "adjoint", "forward", "planes_speedup", "use_fft"]


#: The filters' spectra kept between calls, in bytes: an iterative solve applies the same
#: filter thousands of times, and its FFT (``C_in C_out`` planes) was most of each call's
#: work (a 7×7 stride-2 3 → 16 stem at 128²: 48 planes against the image's 3 or 16).
CACHE_BYTES = 64 * 2**20
_SPECTRA: LRUCache[np.ndarray] = LRUCache(maxsize=256, maxbytes=CACHE_BYTES)


def use_fft(w: np.ndarray, geom: ConvGeometry, speedup: float = 1.0) -> bool:
    """True when the FFT kernels are expected to beat the direct ones.

    The direct forward costs about ``f_h f_w H_out W_out C_in C_out`` (one shifted
    plane per tap group and output channel, plus the GEMMs); the FFT about
    ``G (log₂ G (C_in + C_out) + C_in C_out)`` on a grid of ``G`` pixels. The two are
    compared as they are: measured break-even (``benchmarks/bench_limits.py``) is at 5×5
    filters at stride 1 and 11×11 at stride 2 on a 256×256×3 image. Filters of 1 or 2
    taps always run directly (the FFT could only lose there). ``speedup`` is how many
    times faster than that count the direct kernel runs (the GEMM kernels of
    :mod:`._gemm` multiply at BLAS speed).
    """
    fh, fw, c_in, c_out = w.shape
    if fh * fw <= 2:
        return False
    h_out, w_out, _ = geom.output_shape
    g_h, g_w = _grid(geom)
    grid = g_h * g_w
    direct = fh * fw * h_out * w_out * c_in * c_out / speedup
    fft = grid * (np.log2(grid) * (c_in + c_out) + c_in * c_out)
    return bool(direct > fft)


def planes_speedup(c_out: int) -> float:
    """The ``speedup`` of :mod:`._kernels`'s plane kernels with ``c_out`` output channels.

    The break-even above was measured with one output channel; with more, the planes'
    GEMM over the column phases does more per call and each multiply-add costs less:
    0.7 ns with 4 channels, 0.3-0.5 ns with 16, against 1-3 ns with one, while the FFT
    stays at about 1.1 ns per unit of its count (128² and 256² images, 3 input channels,
    one thread). A ResNet stem (7×7, stride 2, 3 → 16) at 128² ran 6.2 ms (forward and
    adjoint) by FFT and 3.2 ms on the planes; at 256², 164 ms and 21 ms.

    >>> planes_speedup(1), planes_speedup(16), planes_speedup(64)
    (1.125, 3.0, 3.0)
    >>> stem = np.zeros((7, 7, 3, 16))
    >>> geom = ConvGeometry((128, 128, 3), stem.shape, stride=(2, 2), padding=(3, 3))
    >>> use_fft(stem, geom), use_fft(stem, geom, speedup=planes_speedup(16))
    (True, False)
    """
    return min(3.0, 1.0 + c_out / 8)


def _grid(geom: ConvGeometry) -> tuple[int, int]:
    """The FFT grid: the padded image, rounded up to sizes scipy.fft handles fast."""
    h, w, _ = geom.padded_shape
    return sfft.next_fast_len(h, real=True), sfft.next_fast_len(w, real=True)


def _kernel_spectrum(w: np.ndarray, geom: ConvGeometry, grid: tuple[int, int]) -> np.ndarray:
    """rfft2 of the dilated filter at the grid's origin: ``(G_h, G_w', C_in, C_out)``
    (read-only: it may be the cache's, see :data:`CACHE_BYTES`).

    The cache is keyed by the filter's values: one changed in place is transformed anew.

    >>> geom = ConvGeometry((8, 8, 1), (3, 3, 1, 1))
    >>> w = np.ones((3, 3, 1, 1))
    >>> first = _kernel_spectrum(w, geom, (8, 8))
    >>> _kernel_spectrum(w, geom, (8, 8)) is first, first.flags.writeable
    (True, False)
    >>> w[1, 1] = 2.0
    >>> float(_kernel_spectrum(w, geom, (8, 8))[0, 0].real[0, 0]), float(first[0, 0].real[0, 0])
    (10.0, 9.0)
    """
    if 4 * _spectrum_bytes(w, grid) > CACHE_BYTES:  # it would push out every other filter
        return _transform(w, geom, grid)
    key = (w.dtype.str, w.shape, geom.dilation, grid, w.tobytes())  # the values, not the id
    return _SPECTRA.get_or_compute(key, lambda: _transform(w, geom, grid))


def _spectrum_bytes(w: np.ndarray, grid: tuple[int, int]) -> int:
    itemsize = np.result_type(w.dtype, np.complex64).itemsize
    return grid[0] * (grid[1] // 2 + 1) * w.shape[2] * w.shape[3] * itemsize


def _transform(w: np.ndarray, geom: ConvGeometry, grid: tuple[int, int]) -> np.ndarray:
    """:func:`_kernel_spectrum` computed, read-only."""
    dh, dw = geom.dilation
    fh, fw = w.shape[:2]
    dilated = np.zeros((grid[0], grid[1], *w.shape[2:]), dtype=w.dtype)
    dilated[: dh * (fh - 1) + 1 : dh, : dw * (fw - 1) + 1 : dw] = w
    spectrum = sfft.rfft2(dilated, axes=(0, 1), workers=threads.get_num_threads())
    spectrum.flags.writeable = False
    return spectrum


def _through(placed: np.ndarray, spectrum: np.ndarray, sum_over: str) -> np.ndarray:
    """``irfft2`` of ``rfft2(placed)`` times the filter's spectrum, summed over the input
    (``sum_over="c"``: the forward) or the output channels (``"o"``: the adjoint)."""
    workers = threads.get_num_threads()
    data = sfft.rfft2(placed, axes=(0, 1), workers=workers)
    kept = "o" if sum_over == "c" else "c"
    product = np.einsum(f"uv{sum_over},uvco->uv{kept}", data, spectrum)
    return sfft.irfft2(product, s=placed.shape[:2], axes=(0, 1), workers=workers)


def forward(xb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Batched forward pass ``(m, H, W, C_in) → (m, H_out, W_out, C_out)``, no bias."""
    m, h, wd, _ = xb.shape
    h_out, w_out, _ = geom.output_shape
    (sh, sw), (ph, pw) = geom.stride, geom.padding
    grid = _grid(geom)
    spectrum = np.conj(_kernel_spectrum(w, geom, grid))
    out = np.empty((m, h_out, w_out, w.shape[3]), dtype=xb.dtype)
    for k in range(m):  # one image at a time bounds the complex buffers
        padded = np.zeros((grid[0], grid[1], xb.shape[3]), dtype=xb.dtype)
        padded[ph : ph + h, pw : pw + wd] = xb[k]
        full = _through(padded, spectrum, "c")
        out[k] = full[: sh * (h_out - 1) + 1 : sh, : sw * (w_out - 1) + 1 : sw]
    return out


def adjoint(yb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Batched adjoint ``(m, H_out, W_out, C_out) → (m, H, W, C_in)``."""
    m, h_out, w_out, c_out = yb.shape
    h, wd, c_in = geom.input_shape
    (sh, sw), (ph, pw) = geom.stride, geom.padding
    grid = _grid(geom)
    spectrum = _kernel_spectrum(w, geom, grid)
    out = np.empty((m, h, wd, c_in), dtype=yb.dtype)
    for k in range(m):
        spread = np.zeros((grid[0], grid[1], c_out), dtype=yb.dtype)
        spread[: sh * (h_out - 1) + 1 : sh, : sw * (w_out - 1) + 1 : sw] = yb[k]
        out[k] = _through(spread, spectrum, "o")[ph : ph + h, pw : pw + wd]
    return out
