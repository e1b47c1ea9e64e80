"""GEMM kernels for layers with many channels: BLAS does the multiply-adds (internal).

The kernels of :mod:`deconv_gui.core._kernels` multiply each pixel by a matrix of all
the taps of a group at once and add shifted planes afterwards: right for a few channels,
where the planes are thin, but at 64 channels the plane additions cost ten times the
products. Here every addition happens inside BLAS:

* the input is split into its ``s_h s_w`` stride phases (input row ``s_h g + r``,
  column ``s_w u + v`` is pixel ``(g, u)`` of phase ``(r, v)``); tap (i, j) reads phase
  ``(r, v)`` at offset ``(b, a)``, where ``d_h i - p_top = s_h b + r`` and
  ``d_w j - p_left = s_w a + v``; each phase is copied, one block of rows at a time,
  into a zero-bordered channels-last buffer (zero padding without a padded image);
* forward: each tap's window of its phase goes into its ``C_in`` columns of the block's
  matrix (``im2col`` on contiguous runs of channels) and one ``matmul`` by the filter
  ``(f_h f_w C_in, C_out)`` writes the output rows. With few input channels the runs
  are whole rows of taps in super-columns of ``s_w`` pixels instead (:func:`_forward_rows`);
* adjoint: ``y`` goes into a zero-bordered buffer whose rows have a common pitch, so
  that the ``y`` pixel a tap sends to each input pixel of a phase sits at one flat
  offset: each tap's input is one contiguous ``(rows · pitch, C_out)`` slice, and
  ``X_phase += Y_slice @ W[i, j]ᵀ`` is one ``gemm`` with ``beta = 1`` (no scatter; each
  input pixel is written once; ``pitch - n_cols`` columns of the result are dropped).

Groups run as separate products on channel groups laid out one after the other in the
buffers. Blocks are fixed by the geometry, never by the number of threads, so results are
bit-for-bit reproducible: when BLAS has threads of its own they share each product,
otherwise the forward blocks are shared among :mod:`deconv_gui.core.threads`'s pool
(scipy's ``gemm`` holds the GIL, so the adjoint then runs on one thread). Work buffers
are about ``_BLOCK_BYTES`` each and kept per thread for the next call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import blas

from . import _fft_kernels as _fft
from . import threads
from .geometry import ConvGeometry

__all__ = ["adjoint", "applies", "forward"]

#: How many times faster than one multiply-add per :func:`._fft_kernels.use_fft` count
#: these kernels run (BLAS speed), when the FFT competes for large filters.
_GEMM_SPEEDUP = 32.0
#: Up to this many input channels (and no groups) the forward pass gathers whole rows of
#: taps into one matrix: a product per tap would be too thin for BLAS.
_ROWS_MAX_C_IN = 8

#: Target bytes of one block's output (or input, for the adjoint) buffer: large enough
#: for BLAS to share each product among its threads, small enough for the L2/L3 caches.
_BLOCK_BYTES = 1 << 19
#: The forward pass's gathered matrix stays below this many bytes (it is ``f_h f_w``
#: times the block's input): fewer, larger products; each multi-threaded BLAS call costs
#: a wake-up of BLAS's threads, which on a loaded machine took milliseconds.
_MATRIX_BYTES = 1 << 23
#: Work buffers up to this size are kept per thread for the next call: a fresh multi-
#: megabyte buffer costs a page fault per 4 KiB, which on a loaded machine took longer
#: than the products themselves.
_KEEP_BYTES = 1 << 25
_local = threading.local()


@dataclass(frozen=True)
class _Tap:
    i: int
    j: int
    phase: tuple[int, int]  # (r, v)
    b: int
    a: int


def _taps(geom: ConvGeometry) -> list[_Tap]:
    (sh, sw), (pt, pl), (dh, dw) = geom.stride, geom.padding, geom.dilation
    fh, fw = geom.filter_shape[:2]
    taps = []
    for i in range(fh):
        b, r = divmod(dh * i - pt, sh)
        for j in range(fw):
            a, v = divmod(dw * j - pl, sw)
            taps.append(_Tap(i, j, (r, v), b, a))
    return taps


def _gemm(dtype: np.dtype) -> Any:
    return blas.sgemm if dtype == np.float32 else blas.dgemm


def _group_weights(w: np.ndarray, taps: list[_Tap], groups: int) -> list[list[np.ndarray]]:
    """Per tap and group, ``W[i, j]`` ``(C_in/g, C_out/g)`` in Fortran order (for BLAS)."""
    cgo = w.shape[3] // groups
    out = []
    for t in taps:
        per_group = []
        for g in range(groups):
            block = w[t.i, t.j, :, g * cgo : (g + 1) * cgo]
            per_group.append(np.asfortranarray(block))
        out.append(per_group)
    return out


def _buffer(key: object, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A work array of ``shape`` (not initialised), reusing this thread's buffer ``key``
    when it is large enough."""
    size = int(np.prod(shape))
    cache: dict[object, np.ndarray] = _local.__dict__.setdefault("buffers", {})
    kept = cache.get((key, dtype))
    if kept is None or kept.size < size:
        kept = np.empty(size, dtype)
        if size * kept.itemsize <= _KEEP_BYTES:
            cache[(key, dtype)] = kept
    return kept[:size].reshape(shape)


def _zero_columns(buf: np.ndarray, start: int, stop: int) -> None:
    """Zero the columns (axis -2) of ``buf`` outside ``start:stop``: its zero border."""
    buf[..., :start, :] = 0
    buf[..., stop:, :] = 0


def _product(a: np.ndarray, b: np.ndarray, out: np.ndarray, pooled: bool) -> None:
    """``out = a @ b`` for C-contiguous matrices.

    With BLAS on one thread, blocks run in the pool and numpy's ``matmul`` (which releases
    the GIL) multiplies; otherwise BLAS's threads share the product, through scipy's
    ``gemm`` as in the adjoint (numpy's bundled OpenBLAS kept spinning between the many
    small products of the padding modes' border strips).
    """
    if pooled:
        np.matmul(a, b, out=out)
    else:
        _gemm(a.dtype)(1.0, b.T, a.T, 0.0, out.T, overwrite_c=1)


def _tasks(
    n_rows: int, bytes_per_row: int, n_images: int, matrix_row: int = 0
) -> list[tuple[int, int, int]]:
    """(image, first row, stop row) blocks of about ``_BLOCK_BYTES`` (``bytes_per_row`` a
    row), whose gathered matrix (``matrix_row`` bytes a row) fits in ``_MATRIX_BYTES``."""
    step = _BLOCK_BYTES // max(1, bytes_per_row)
    if matrix_row:
        step = min(step, _MATRIX_BYTES // matrix_row)
    step = max(1, min(n_rows, step))
    starts = range(0, n_rows, step)
    return [(n, r0, min(r0 + step, n_rows)) for n in range(n_images) for r0 in starts]


def applies(w: np.ndarray, geom: ConvGeometry, adjoint: bool) -> bool:
    """Whether these kernels beat :mod:`._kernels`'s planes (and the FFT) for ``w``.

    A tap's product is ``(pixels, C_in/g) @ (C_in/g, C_out/g)`` (forward) or its
    transpose (adjoint); BLAS needs a few channels on both sides to pay for the call.
    Measured on 96² images (single thread; ``benchmarks/bench_operator.py`` has the
    many-channel rows): at stride 1 from 3 → 8 and 8 → 3 channels, 1 → 16 forward and
    1 → 32 adjoint; at stride 2 the planes' GEMM over the column phases stays ahead
    until about 16 output channels.
    """
    c_in, c_out = w.shape[2], w.shape[3] // geom.groups
    product, big = c_in * c_out, 16 if not adjoint else 32
    if c_out < 3:
        return False
    if geom.stride == (1, 1):
        fits = product >= 24 and (c_in >= 3 or c_out >= big)
    else:
        fits = c_out >= 16 and product >= 64 and (not adjoint or c_in >= 16 or c_out >= 32)
    return fits and not _fft.use_fft(w, geom, speedup=_GEMM_SPEEDUP)


def forward(xb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Batched forward pass with zero padding, ``w`` grouped ``(f_h, f_w, C_in/g, C_out)``."""
    if _by_rows(geom):
        return _forward_rows(xb, w, geom)
    return _forward_taps(xb, w, geom)


def _forward_taps(xb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """The forward pass gathering one slice per tap: ``im2col`` of a block, one product.

    Each block copies the stride phases it reads into zero-bordered buffers, then each
    tap's window of its phase (``C_in/g`` contiguous numbers per pixel) into its columns
    of the block's matrix, which one ``matmul`` per group multiplies by the filter
    ``(f_h f_w C_in/g, C_out/g)`` straight into the output's rows.
    """
    m, height, width, c_in = xb.shape
    h_out, w_out, c_out = geom.output_shape
    (sh, sw), groups = geom.stride, geom.groups
    cg, cgo = c_in // groups, c_out // groups
    taps = _taps(geom)
    n_taps = len(taps)
    b_min, b_max = min(t.b for t in taps), max(t.b for t in taps)
    a_min, a_max = min(t.a for t in taps), max(t.a for t in taps)
    phases = sorted({t.phase for t in taps})
    n_rows = {r: len(range(r, height, sh)) for r, _ in phases}
    n_cols = {v: len(range(v, width, sw)) for _, v in phases}
    left = max(0, -a_min)
    pitch = max(left + max(n_cols.values()), left + a_max + w_out)
    flat_w = w.reshape(n_taps * cg, groups, cgo)
    mats = np.ascontiguousarray(flat_w.transpose(1, 0, 2))  # (groups, taps · C_in/g, C_out/g)
    tasks = _tasks(h_out, w_out * c_out * xb.itemsize, m, w_out * n_taps * c_in * xb.itemsize)
    step = max(t[2] - t[1] for t in tasks)
    n_buf = step + b_max - b_min
    out = np.empty((m, h_out, w_out, c_out), dtype=xb.dtype)
    pooled = threads.blas_threads() == 1

    def run(start: int, stop: int) -> None:
        bufs = {p: _buffer(p, (groups, n_buf, pitch, cg), xb.dtype) for p in phases}
        for (_, v), buf in bufs.items():
            _zero_columns(buf, left, left + n_cols[v])
        cols = _buffer("cols", (groups, step, w_out, n_taps, cg), xb.dtype)
        prod = None
        if groups > 1:
            prod = _buffer("prod", (groups, step * w_out, cgo), xb.dtype)
        for n, h0, h1 in tasks[start:stop]:
            g0, rows = h0 + b_min, h1 - h0
            for (r, v), buf in bufs.items():
                lo, hi = max(g0, 0), min(h1 + b_max, n_rows[r])
                buf[:, : max(0, lo - g0)] = 0
                buf[:, max(0, hi - g0) :] = 0
                if lo < hi:
                    src = xb[n, r + sh * lo : r + sh * (hi - 1) + 1 : sh, v::sw]
                    dst = buf[:, lo - g0 : hi - g0, left : left + n_cols[v]]
                    np.copyto(dst.transpose(1, 2, 0, 3), src.reshape(*src.shape[:2], groups, cg))
            for k, t in enumerate(taps):
                row0, col0 = t.b - b_min, t.a + left
                window = bufs[t.phase][:, row0 : row0 + rows, col0 : col0 + w_out]
                np.copyto(cols[:, :rows, :, k], window)
            size = rows * w_out
            lhs = cols[:, :rows].reshape(groups, size, n_taps * cg)
            if prod is None:
                _product(lhs[0], mats[0], out[n, h0:h1].reshape(size, c_out), pooled)
            else:
                for g in range(groups):
                    _product(lhs[g], mats[g], prod[g, :size], pooled)
                grid = prod[:, :size].reshape(groups, rows, w_out, cgo)
                np.copyto(
                    out[n, h0:h1].reshape(rows, w_out, groups, cgo), grid.transpose(1, 2, 0, 3)
                )

    threads.map_chunks(run, len(tasks), parallel=pooled)
    return out


def _by_rows(geom: ConvGeometry) -> bool:
    """Whether the forward pass gathers whole rows of taps (few input channels, no groups,
    and the taps' columns leave few gaps: dilation 1, or a stride that takes it up)."""
    if geom.groups != 1 or geom.input_shape[2] > _ROWS_MAX_C_IN:
        return False
    fw, sw, dw = geom.filter_shape[1], geom.stride[1], geom.dilation[1]
    span = (dw * (fw - 1)) // sw + 2  # super-columns a row of taps covers, at most
    return span * sw <= 2 * fw


def _forward_rows(xb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """The forward pass for few input channels: one GEMM per block over all the taps.

    The image's columns are grouped in super-columns of ``s_w`` pixels (``K = s_w C_in``
    numbers, as in :mod:`._kernels`), so a row of taps reads ``span`` consecutive
    super-columns: one contiguous run of ``span K`` numbers per output pixel. Each block
    of output rows gathers those runs for every row of taps into one matrix (``im2col``
    by rows, without a copy per tap) and multiplies it by the filter's matrix (zero rows
    for the sub-positions no tap reads) straight into the output.
    """
    m, height, width, c_in = xb.shape
    h_out, w_out, c_out = geom.output_shape
    sh, sw = geom.stride
    taps = _taps(geom)
    fh = geom.filter_shape[0]
    b_min, b_max = min(t.b for t in taps), max(t.b for t in taps)
    a_min, a_max = min(t.a for t in taps), max(t.a for t in taps)
    span, k = a_max - a_min + 1, sw * c_in
    matrix = np.zeros((fh, span, sw, c_in, c_out), dtype=xb.dtype)
    for t in taps:
        matrix[t.i, t.a - a_min, t.phase[1]] = w[t.i, t.j]
    matrix = matrix.reshape(fh * span * k, c_out)
    row_tap = {t.i: (t.phase[0], t.b) for t in taps}
    n_cols = -(-width // sw)
    left = max(0, -a_min)
    pitch = max(left + n_cols, left + a_max + w_out) * k  # numbers per buffer row
    n_rows = {r: len(range(r, height, sh)) for r, _ in row_tap.values()}
    tasks = _tasks(h_out, w_out * c_out * xb.itemsize, m, w_out * fh * span * k * xb.itemsize)
    step = max(t[2] - t[1] for t in tasks)
    n_buf = step + b_max - b_min
    out = np.empty((m, h_out, w_out, c_out), dtype=xb.dtype)
    pooled = threads.blas_threads() == 1
    isz = xb.itemsize

    def run(start: int, stop: int) -> None:
        bufs = {r: _buffer(r, (n_buf, pitch, 1), xb.dtype) for r in n_rows}
        for buf in bufs.values():
            _zero_columns(buf, left * k, left * k + width * c_in)
        bufs = {r: buf[..., 0] for r, buf in bufs.items()}
        cols = _buffer("cols", (step, w_out, fh, span * k), xb.dtype)
        for n, h0, h1 in tasks[start:stop]:
            g0, rows = h0 + b_min, h1 - h0
            for r, buf in bufs.items():
                lo, hi = max(g0, 0), min(h1 + b_max, n_rows[r])
                buf[: max(0, lo - g0)] = 0
                buf[max(0, hi - g0) :] = 0
                if lo < hi:
                    src = xb[n, r + sh * lo : r + sh * (hi - 1) + 1 : sh]
                    dst = buf[lo - g0 : hi - g0, left * k : left * k + width * c_in]
                    np.copyto(dst, src.reshape(hi - lo, width * c_in))
            for i, (r, b) in row_tap.items():
                begin = (b - b_min) * pitch + (a_min + left) * k
                window = np.lib.stride_tricks.as_strided(
                    bufs[r].reshape(-1)[begin:],
                    shape=(rows, w_out, span * k),
                    strides=(pitch * isz, k * isz, isz),
                    writeable=False,
                )
                np.copyto(cols[:rows, :, i], window)
            product = cols[:rows].reshape(rows * w_out, -1)
            _product(product, matrix, out[n, h0:h1].reshape(rows * w_out, c_out), pooled)

    threads.map_chunks(run, len(tasks), parallel=pooled)
    return out


def adjoint(yb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Batched adjoint with zero padding: per input phase, one product per tap."""
    m, h_out, w_out, c_out = yb.shape
    height, width, c_in = geom.input_shape
    (sh, sw), groups = geom.stride, geom.groups
    cg, cgo = c_in // groups, c_out // groups
    taps = _taps(geom)
    b_min, b_max = min(t.b for t in taps), max(t.b for t in taps)
    a_min, a_max = min(t.a for t in taps), max(t.a for t in taps)
    by_phase: dict[tuple[int, int], list[int]] = {}
    for k, t in enumerate(taps):
        by_phase.setdefault(t.phase, []).append(k)
    n_rows = {r: len(range(r, height, sh)) for r in range(sh)}
    n_cols = {v: len(range(v, width, sw)) for v in range(sw)}
    left = max(0, a_max)  # y's column q sits at buffer column q + left
    pitch = max(left + w_out, left + max(n_cols.values()) - a_min)
    weights = _group_weights(w, taps, groups)
    gemm = _gemm(yb.dtype)
    g_rows = max(n_rows.values())
    tasks = _tasks(g_rows, pitch * max(c_in, c_out) * yb.itemsize, m)
    step = max(t[2] - t[1] for t in tasks)
    n_buf = step + b_max - b_min + 1
    x = np.empty((m, height, width, c_in), dtype=yb.dtype)
    for r in range(sh):
        for v in range(sw):
            if (r, v) not in by_phase:
                x[:, r::sh, v::sw] = 0  # pixels no tap reads

    def run(start: int, stop: int) -> None:
        buf = _buffer("y", (groups, n_buf, pitch, cgo), yb.dtype)
        _zero_columns(buf, left, left + w_out)
        flat = buf.reshape(groups, -1, cgo)
        ext = _buffer("ext", (groups, step * pitch, cg), yb.dtype)
        for n, g0, g1 in tasks[start:stop]:
            y0 = g0 - b_max  # the row of y in the buffer's first row
            lo, hi = max(y0, 0), min(g1 - b_min, h_out)
            buf[:, : max(0, lo - y0)] = 0
            buf[:, max(0, hi - y0) :] = 0
            if lo < hi:
                dst = buf[:, lo - y0 : hi - y0, left : left + w_out]
                src = yb[n, lo:hi].reshape(hi - lo, w_out, groups, cgo)
                np.copyto(dst.transpose(1, 2, 0, 3), src)
            for (r, v), ks in by_phase.items():
                count = min(g1, n_rows[r]) - g0
                if count <= 0:
                    continue
                size = count * pitch
                for g in range(groups):
                    c = ext[g, :size].T
                    for first, k in enumerate(ks):
                        t = taps[k]
                        begin = (b_max - t.b) * pitch + left - t.a
                        src = flat[g, begin : begin + size].T
                        gemm(1.0, weights[k][g], src, 1.0 if first else 0.0, c, overwrite_c=1)
                grid = ext[:, :size].reshape(groups, count, pitch, cg)[:, :, : n_cols[v]]
                rows = x[n, r + sh * g0 : r + sh * (g0 + count - 1) + 1 : sh, v::sw]
                np.copyto(rows.reshape(count, n_cols[v], groups, cg), grid.transpose(1, 2, 0, 3))

    run(0, len(tasks))  # BLAS shares each product among its threads
    return x
