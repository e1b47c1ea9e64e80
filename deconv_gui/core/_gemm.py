"""GEMM kernels for layers with many channels: one BLAS product per filter tap (internal).

The kernels of :mod:`deconv_gui.core._kernels` multiply each pixel by a matrix of all
the taps of a group at once and add shifted planes afterwards: right for a few channels,
where the planes are thin, but at 64 channels the plane additions cost ten times the
products. Here every addition happens inside BLAS (``gemm`` with ``beta = 1``):

* the input is split into its ``s_h s_w`` stride phases (input row ``s_h g + r``,
  column ``s_w u + v`` is pixel ``(g, u)`` of phase ``(r, v)``); tap (i, j) reads phase
  ``(r, v)`` at offset ``(b, a)``, where ``d_h i - p_top = s_h b + r`` and
  ``d_w j - p_left = s_w a + v``;
* each phase is copied, one row block at a time, into a zero-bordered channels-last
  buffer with a common row pitch, so that for every output pixel ``(h, w)`` of the block
  the pixel that tap reads sits at the same flat offset: the tap's input is one
  contiguous ``(rows · pitch, C_in)`` slice, and
  ``Y_ext += X_slice @ W[i, j]`` runs as one ``gemm`` into the block's output
  (``pitch - W_out`` columns of it are discarded);
* the adjoint is the same in reverse: ``y`` goes into a zero-bordered buffer, and each
  input phase is the sum over its taps of ``Y_slice @ W[i, j]ᵀ``: each input pixel is
  written once, with no scatter.

Groups run as separate products on channel groups laid out one after the other in the
buffers. Blocks are fixed by the geometry, never by the number of threads, so results are
bit-for-bit reproducible; when BLAS has threads of its own, they share each product,
otherwise the blocks are shared among :mod:`deconv_gui.core.threads`'s pool. No buffer
exceeds a few megabytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import blas

from . import _fft_kernels as _fft
from .geometry import ConvGeometry

__all__ = ["adjoint", "applies", "forward"]

#: How many times faster than one multiply-add per :func:`._fft_kernels.use_fft` count
#: these kernels run (BLAS speed), when the FFT competes for large filters.
_GEMM_SPEEDUP = 32.0

#: Target bytes of one block's output (or input, for the adjoint) buffer: large enough
#: for BLAS to share each product among its threads, small enough for the L2/L3 caches.
_BLOCK_BYTES = 1 << 21


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


def _group_weights(
    w: np.ndarray, taps: list[_Tap], groups: int, transpose: bool
) -> list[list[np.ndarray]]:
    """Per tap and group, the Fortran-ordered matrix BLAS multiplies by: ``W[i, j]ᵀ``
    ``(C_out/g, C_in/g)`` for the forward pass, ``W[i, j]`` for the adjoint."""
    cgo = w.shape[3] // groups
    out = []
    for t in taps:
        per_group = []
        for g in range(groups):
            block = w[t.i, t.j, :, g * cgo : (g + 1) * cgo]
            per_group.append(np.asfortranarray(block.T if transpose else block))
        out.append(per_group)
    return out


def _tasks(n_rows: int, bytes_per_row: int, n_images: int) -> list[tuple[int, int, int]]:
    step = max(1, min(n_rows, _BLOCK_BYTES // max(1, bytes_per_row)))
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
    m, height, width, c_in = xb.shape
    h_out, w_out, c_out = geom.output_shape
    (sh, sw), groups = geom.stride, geom.groups
    cg, cgo = c_in // groups, c_out // groups
    taps = _taps(geom)
    b_min, b_max = min(t.b for t in taps), max(t.b for t in taps)
    a_min, a_max = min(t.a for t in taps), max(t.a for t in taps)
    phases = sorted({t.phase for t in taps})
    n_rows = {r: len(range(r, height, sh)) for r, _ in phases}
    n_cols = {v: len(range(v, width, sw)) for _, v in phases}
    left = max(0, -a_min)
    pitch = max(left + max(n_cols.values()), left + a_max + w_out)
    weights = _group_weights(w, taps, groups, transpose=True)
    gemm = _gemm(xb.dtype)
    tasks = _tasks(h_out, pitch * c_out * xb.itemsize, m)
    step = max(t[2] - t[1] for t in tasks)
    n_buf = step + b_max - b_min + 1  # one spare row: the last slice runs past the block
    out = np.empty((m, h_out, w_out, c_out), dtype=xb.dtype)

    def run(start: int, stop: int) -> None:
        bufs = {p: np.zeros((groups, n_buf, pitch, cg), xb.dtype) for p in phases}
        flats = {p: buf.reshape(groups, -1, cg) for p, buf in bufs.items()}
        ext = np.empty((groups, step * pitch, cgo), xb.dtype)
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
            size = rows * pitch
            for g in range(groups):
                c = ext[g, :size].T
                for k, t in enumerate(taps):
                    begin = (t.b - b_min) * pitch + t.a + left
                    src = flats[t.phase][g, begin : begin + size].T
                    gemm(1.0, weights[k][g], src, 1.0 if k else 0.0, c, overwrite_c=1)
            grid = ext[:, :size].reshape(groups, rows, pitch, cgo)[:, :, :w_out]
            dst = out[n, h0:h1].reshape(rows, w_out, groups, cgo)
            np.copyto(dst, grid.transpose(1, 2, 0, 3))

    run(0, len(tasks))  # BLAS shares each product among its threads
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
    weights = _group_weights(w, taps, groups, transpose=False)
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
        buf = np.zeros((groups, n_buf, pitch, cgo), yb.dtype)
        flat = buf.reshape(groups, -1, cgo)
        ext = np.empty((groups, step * pitch, cg), yb.dtype)
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
