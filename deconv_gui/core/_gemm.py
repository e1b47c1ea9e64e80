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
* forward: each tap's window of the image (strided by the stride; zeros where it reads
  the padding) goes into its ``C_in`` columns of the block's matrix (``im2col`` on
  contiguous runs of channels) and one product by the filter ``(f_h f_w C_in, C_out)``
  writes the output rows. With few input channels the runs are whole rows of taps
  (:mod:`._gemm_rows`). When BLAS has threads and the image is not tiny, the forward
  pass runs as the adjoint does, on the phases (one ``gemm`` per tap accumulated in
  place), which spares the one-thread copy;
* adjoint: ``y`` goes into a zero-bordered buffer whose rows have a common pitch, so
  that the ``y`` pixel a tap sends to each input pixel of a phase sits at one flat
  offset: each tap's input is one contiguous ``(rows · pitch, C_out)`` slice, and
  ``X_phase += Y_slice @ W[i, j]ᵀ`` is one ``gemm`` with ``beta = 1`` (no scatter; each
  input pixel is written once; ``pitch - n_cols`` columns of the result are dropped).

Groups run as separate products on channel groups laid out one after the other in the
buffers. Blocks are fixed by the geometry, never by the number of kernel threads, so
results do not depend on that setting. When BLAS has threads of its own they share each
product (scipy's ``gemm``); when it has one, the forward blocks are shared among
:mod:`deconv_gui.core.threads`'s pool (numpy's ``matmul``, which releases the GIL; the
adjoint's ``gemm`` holds it, so it runs on one thread): the two give the same results to
rounding. A grouped forward pass that gathers its blocks runs on one BLAS thread whatever
BLAS's threads (set to one for the call): its products are thin, and the gather, a third
of the time, would otherwise run on one thread while BLAS's wait; its blocks are shared
among the pool's threads from about 1 ms of work, below which the calling thread runs them
alone. Work buffers are about ``_gemm_util.BLOCK_BYTES`` each, kept per thread for the
next call.
"""

from __future__ import annotations

import numpy as np

from . import _fft_kernels as _fft
from . import _gemm_rows, threads
from . import _gemm_util as _u
from .geometry import ConvGeometry

__all__ = ["adjoint", "applies", "forward"]

#: How many times faster than one multiply-add per :func:`._fft_kernels.use_fft` count
#: these kernels run (BLAS speed), when the FFT competes for large filters.
_GEMM_SPEEDUP = 32.0

#: From this many output pixels per image the forward pass accumulates one product per
#: tap when BLAS has threads (below, one gathered product per block is faster).
_ACCUMULATE_MIN_PIXELS = 1024

#: A grouped forward pass run on one BLAS thread shares its blocks among the kernel threads
#: from this much work (bytes of multiply-adds: output numbers × f_h f_w C_in/g × itemsize,
#: about 1 ms on one thread); below, the calling thread runs them alone: waking the other
#: thread (whose core another process may hold) cost more than the half it saves.
#: Interleaved with torch at load 1-3, 56²×128 → 128 3×3 stride 2 groups 4 (1.2e8 in
#: float32): one thread 0.7-0.8× the shared blocks' median time; float64 (2.3e8): the
#: shared blocks 0.85× one thread's.
_SHARE_MIN_WORK = 1 << 27


def applies(w: np.ndarray, geom: ConvGeometry, adjoint: bool) -> bool:
    """Whether these kernels beat :mod:`._kernels`'s planes (and the FFT) for ``w``.

    A tap's product is ``(pixels, C_in/g) @ (C_in/g, C_out/g)`` (forward) or its
    transpose (adjoint); BLAS needs a few channels on both sides to pay for the call.
    Measured on 96² images (single thread; ``benchmarks/bench_operator.py`` has the
    many-channel rows): at stride 1 from 3 → 16 and 16 → 3 channels (3 → 8 on a 1024²
    image ran faster on the planes' two threads), 1 → 16 forward and 1 → 32 adjoint; at
    stride 2 the planes' GEMM over the column phases stays ahead until about 16 output
    channels.
    """
    c_in, c_out = w.shape[2], w.shape[3] // geom.groups
    product, big = c_in * c_out, 16 if not adjoint else 32
    if c_out < 3:
        return False
    if geom.stride == (1, 1):
        fits = product >= 48 and (c_in >= 3 or c_out >= big)
    else:
        fits = c_out >= 16 and product >= 64 and (not adjoint or c_in >= 16 or c_out >= 32)
    return fits and not _fft.use_fft(w, geom, speedup=_GEMM_SPEEDUP)


def forward(xb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Batched forward pass with zero padding, ``w`` grouped ``(f_h, f_w, C_in/g, C_out)``."""
    if _gemm_rows.applies(geom):
        return _gemm_rows.forward(xb, w, geom)
    h_out, w_out = geom.output_shape[:2]
    if threads.blas_threads() == 1:
        return _forward_taps(xb, w, geom, pooled=True)
    if h_out * w_out >= _ACCUMULATE_MIN_PIXELS:
        return _forward_accumulate(xb, w, geom)
    if geom.groups > 1 and threads.get_num_threads() > 1:
        # a group's product is thin (C_out/g columns): the kernel threads share the blocks,
        # gather included, each on one BLAS thread, instead of BLAS's threads sharing each
        # product while the gather runs on one thread (small layers: one thread)
        fh, fw, cg = geom.filter_shape[:3]
        work = xb.shape[0] * h_out * w_out * geom.output_shape[2] * fh * fw * cg * xb.itemsize
        with threads.one_blas_thread():
            return _forward_taps(xb, w, geom, pooled=True, share=work >= _SHARE_MIN_WORK)
    return _forward_taps(xb, w, geom, pooled=False)


def _phases(geom: ConvGeometry, taps: list[_u.Tap], n_out: int) -> tuple[int, int, dict[int, int]]:
    """``left``, ``pitch`` and each column phase's width of the zero-bordered phase
    buffers, for ``n_out`` output columns."""
    sw, width = geom.stride[1], geom.input_shape[1]
    a_min, a_max = min(t.a for t in taps), max(t.a for t in taps)
    n_cols = {v: len(range(v, width, sw)) for v in {t.phase[1] for t in taps}}
    left = max(0, -a_min)
    return left, max(left + max(n_cols.values()), left + a_max + n_out), n_cols


def _read_rows(
    bufs: dict[tuple[int, int], np.ndarray],
    x: np.ndarray,
    rows: tuple[int, int],
    n_rows: dict[int, int],
    n_cols: dict[int, int],
    layout: tuple[int, int, int],
) -> None:
    """Copy super-rows ``rows = (first, stop)`` of image ``x`` into each phase's buffer.

    ``bufs[(r, v)]`` is ``(groups, rows, pitch, C_in/g)``: phase ``(r, v)``'s pixels
    (rows ``r::s_h``, columns ``v::s_w``) from column ``left``; ``layout`` is
    ``(s_h, s_w, left)``. The buffer's rows outside the image are zeroed.
    """
    (g0, g1), (sh, sw, left) = rows, layout
    for (r, v), buf in bufs.items():
        groups, cg = buf.shape[0], buf.shape[3]
        lo, hi = max(g0, 0), min(g1, n_rows[r])
        buf[:, : max(0, lo - g0)] = 0
        buf[:, max(0, hi - g0) :] = 0
        if lo < hi:
            src = x[r + sh * lo : r + sh * (hi - 1) + 1 : sh, v::sw]
            dst = buf[:, lo - g0 : hi - g0, left : left + n_cols[v]]
            np.copyto(dst.transpose(1, 2, 0, 3), src.reshape(*src.shape[:2], groups, cg))


def _forward_accumulate(xb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """The forward pass as the adjoint runs: ``Y_ext += X_slice @ W[i, j]`` per tap.

    With the phase buffers' common pitch, the pixel tap (i, j) reads for output pixel
    ``(h, w)`` of the block sits at one flat offset, so each tap's input is one
    contiguous slice and its product accumulates in place (``gemm``, ``beta = 1``): no
    gathered matrix to copy on one thread while BLAS's threads wait.
    """
    m, height, _, c_in = xb.shape
    h_out, w_out, c_out = geom.output_shape
    (sh, sw), groups = geom.stride, geom.groups
    cg, cgo = c_in // groups, c_out // groups
    taps = _u.taps(geom)
    b_min, b_max = min(t.b for t in taps), max(t.b for t in taps)
    left, pitch, n_cols = _phases(geom, taps, w_out)
    n_rows = {r: len(range(r, height, sh)) for r, _ in {t.phase for t in taps}}
    weights = _u.group_weights(w, taps, groups, transpose=True)
    gemm = _u.gemm_of(xb.dtype)
    tasks = _u.tasks(h_out, pitch * cgo * xb.itemsize, m)  # a group's product in cache
    step = max(t[2] - t[1] for t in tasks)
    n_buf = step + b_max - b_min + 1  # one spare row: the last slice runs past the block
    out = np.empty((m, h_out, w_out, c_out), dtype=xb.dtype)
    bufs = {t.phase: _u.buffer(t.phase, (groups, n_buf, pitch, cg), xb.dtype) for t in taps}
    for (_, v), buf in bufs.items():
        _u.zero_columns(buf, left, left + n_cols[v])
    ext = _u.buffer("ext", (groups, step * pitch, cgo), xb.dtype)
    for n, h0, h1 in tasks:
        g0, rows = h0 + b_min, h1 - h0
        _read_rows(bufs, xb[n], (g0, h1 + b_max), n_rows, n_cols, (sh, sw, left))
        size = rows * pitch
        for g in range(groups):
            for k, t in enumerate(taps):
                begin = (t.b - b_min) * pitch + t.a + left
                src = bufs[t.phase][g].reshape(-1, cg)[begin : begin + size].T
                gemm(1.0, weights[k][g], src, 1.0 if k else 0.0, ext[g, :size].T, overwrite_c=1)
        grid = ext[:, :size].reshape(groups, rows, pitch, cgo)[:, :, :w_out]
        np.copyto(out[n, h0:h1].reshape(rows, w_out, groups, cgo), grid.transpose(1, 2, 0, 3))
    return out


def _forward_taps(
    xb: np.ndarray, w: np.ndarray, geom: ConvGeometry, pooled: bool, share: bool = True
) -> np.ndarray:
    """The forward pass gathering one slice per tap: ``im2col`` of a block, one product.

    ``pooled``: numpy's ``matmul`` for BLAS on one thread, the blocks shared among the
    kernel threads unless ``share`` is false; else scipy's ``gemm`` on BLAS's threads.

    Each block copies each tap's window of the image (``C_in/g`` contiguous numbers per
    pixel and group; zeros where it reads the padding) into its columns of the block's
    matrix, which one product per group multiplies by the filter
    ``(f_h f_w C_in/g, C_out/g)`` straight into the output's rows.
    """
    m, h_out, w_out, c_out = (xb.shape[0], *geom.output_shape)
    c_in, groups = geom.input_shape[2], geom.groups
    fh, fw = geom.filter_shape[:2]
    n_taps, cg, cgo = fh * fw, c_in // groups, c_out // groups
    flat_w = w.reshape(n_taps * cg, groups, cgo)
    mats = np.ascontiguousarray(flat_w.transpose(1, 0, 2))  # (groups, taps · C_in/g, C_out/g)
    # a block's matrix, and the copy of the image rows it reads (_gather): about s_h s_w
    # numbers an output pixel and input channel, more than the taps' with a large stride
    row_numbers = max(n_taps, geom.stride[0] * geom.stride[1]) * c_in
    pooled, tasks, step = _u.gathered_tasks(xb, geom, row_numbers, pooled)
    out = np.empty((m, h_out, w_out, c_out), dtype=xb.dtype)

    def run(start: int, stop: int) -> None:
        cols = _u.buffer("cols", (groups, step, w_out, fh, fw, cg), xb.dtype)
        prod = None
        if groups > 1 and not pooled:  # scipy's gemm writes contiguous matrices only
            prod = _u.buffer("prod", (groups, step * w_out, cgo), xb.dtype)
        for n, h0, h1 in tasks[start:stop]:
            rows, size = h1 - h0, (h1 - h0) * w_out
            _gather(xb[n], h0, geom, cols[:, :rows])
            lhs = cols[:, :rows].reshape(groups, size, n_taps * cg)
            dst = out[n, h0:h1].reshape(size, groups, cgo).transpose(1, 0, 2)
            if pooled:  # numpy's matmul writes the groups' columns in place
                np.matmul(lhs, mats, out=dst)
            elif prod is None:
                _u.product(lhs[0], mats[0], dst[0], pooled)
            else:
                for g in range(groups):
                    _u.product(lhs[g], mats[g], prod[g, :size], pooled)
                np.copyto(dst, prod[:, :size])

    threads.share_items(run, len(tasks), parallel=pooled and share)
    return out


def _gather(x: np.ndarray, h0: int, geom: ConvGeometry, cols: np.ndarray) -> None:
    """Copy each tap's window for output rows ``h0:h0 + rows`` of image ``x`` (``C_in``
    last) into ``cols`` ``(groups, rows, W_out, f_h, f_w, C_in/g)``, zeros where it reads
    the padding.

    The image rows the block reads go first into a zero-bordered buffer (this thread's),
    in which every tap's window is one strided view: one copy for all the taps, a pixel's
    group of channels as one item (a void dtype of ``C_in/g`` numbers). A handful of
    numpy calls a block instead of a few per tap: less time under the GIL, which the
    other kernel threads wait for.
    """
    (sh, sw), (dh, dw), (pt, pl) = geom.stride, geom.dilation, geom.padding
    groups, rows, w_out, fh, fw, cg = cols.shape
    height, width, c_in = x.shape
    n_in, n_cols = sh * (rows - 1) + dh * (fh - 1) + 1, sw * (w_out - 1) + dw * (fw - 1) + 1
    buf = _u.buffer("window", (n_in, n_cols, c_in), x.dtype)
    first = sh * h0 - pt  # the image row of the buffer's first row
    lo, hi = min(max(first, 0), height), max(min(first + n_in, height), 0)
    right = min(pl + width, n_cols)  # buffer column q holds image column q - pl
    buf[: max(0, min(lo - first, n_in))] = 0
    buf[max(0, hi - first) :] = 0
    buf[:, :pl] = 0
    buf[:, max(pl, right) :] = 0
    if lo < hi and pl < right:
        np.copyto(buf[lo - first : hi - first, pl:right], x[lo:hi, : right - pl])
    runs = _as_runs(buf, cg)  # (n_in, n_cols, groups)
    s0, s1, s2 = runs.strides
    windows = np.lib.stride_tricks.as_strided(
        runs, (groups, rows, w_out, fh, fw), (s2, sh * s0, sw * s1, dh * s0, dw * s1)
    )
    np.copyto(_as_runs(cols, cg)[..., 0], windows)


def _as_runs(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` with its last axis as items of ``n`` numbers each (a void dtype, no copy
    unless that axis is strided)."""
    if a.strides[-1] != a.itemsize:
        a = np.ascontiguousarray(a)
    return a.view(np.dtype((np.void, n * a.itemsize)))


def adjoint(yb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Batched adjoint with zero padding: per input phase, one product per tap."""
    m, h_out, w_out, c_out = yb.shape
    height, width, c_in = geom.input_shape
    (sh, sw), groups = geom.stride, geom.groups
    cg, cgo = c_in // groups, c_out // groups
    taps = _u.taps(geom)
    b_min, b_max = min(t.b for t in taps), max(t.b for t in taps)
    a_min, a_max = min(t.a for t in taps), max(t.a for t in taps)
    by_phase: dict[tuple[int, int], list[int]] = {}
    for k, t in enumerate(taps):
        by_phase.setdefault(t.phase, []).append(k)
    n_rows = {r: len(range(r, height, sh)) for r in range(sh)}
    n_cols = {v: len(range(v, width, sw)) for v in range(sw)}
    left = max(0, a_max)  # y's column q sits at buffer column q + left
    pitch = max(left + w_out, left + max(n_cols.values()) - a_min)
    weights = _u.group_weights(w, taps, groups)
    gemm = _u.gemm_of(yb.dtype)
    g_rows = max(n_rows.values())
    tasks = _u.tasks(g_rows, pitch * max(cg, cgo) * yb.itemsize, m)  # as in the forward
    step = max(t[2] - t[1] for t in tasks)
    n_buf = step + b_max - b_min + 1
    x = np.empty((m, height, width, c_in), dtype=yb.dtype)
    for r in range(sh):
        for v in range(sw):
            if (r, v) not in by_phase:
                x[:, r::sh, v::sw] = 0  # pixels no tap reads

    def run(start: int, stop: int) -> None:
        buf = _u.buffer("y", (groups, n_buf, pitch, cgo), yb.dtype)
        _u.zero_columns(buf, left, left + w_out)
        flat = buf.reshape(groups, -1, cgo)
        ext = _u.buffer("ext", (groups, step * pitch, cg), yb.dtype)
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
