"""Depthwise kernels: ``groups = C_in = C_out``, each channel with its own kernel (internal).

The general kernels of :mod:`deconv_gui.core._kernels` treat a grouped filter as one
dense block-diagonal filter, so a depthwise layer pays for a GEMM over every input
channel (two thirds of it multiplying zeros for RGB) and for planar intermediate
copies. Here each filter tap is one multiply-add of a shifted copy of the image, done
channels-last on whole rows:

* the input's stride phases are laid out once per row block in a zero-bordered buffer
  ``B[r, v]`` (input row ``s_h g + r``, column ``s_w u + v`` at super-row ``g``,
  super-column ``u``), with the channels interleaved as in the image;
* tap (i, j) reads phase ``(r, v)`` at super-row offset ``b`` and super-column offset
  ``a`` (``d_h i - p_h = s_h b + r``, ``d_w j - p_w = s_w a + v``): for a block of
  output rows that is one 2-D window of the buffer, multiplied by the tap's weights
  repeated along the row (each channel its own weight) and added to the output block;
* the adjoint runs the same windows backwards: each tap adds the shifted, weighted
  ``y`` into the phase plane it read from, and the phase planes are written back into
  the image's rows and columns.

The work is ``f_h f_w`` multiply-adds per output number (the dense path: a GEMM over
``C_in`` per tap group, plus as many plane additions). Row blocks are fixed by the
geometry, never by the number of threads, so results are bit-for-bit reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import threads
from .geometry import ConvGeometry

__all__ = ["adjoint", "applies", "forward"]

#: Rows per block: each of the block's arrays (a phase, the sum, a tap's weights) stays
#: within this many bytes, so that all of them together fit in the L2 cache.
_BLOCK_BYTES = 1 << 17
_MIN_BLOCK_ROWS = 2


def applies(w: np.ndarray, geom: ConvGeometry) -> bool:
    """Whether the grouped filter ``w`` is depthwise with one output channel per input channel."""
    c_in = geom.input_shape[2]
    return geom.groups > 1 and geom.groups == c_in and w.shape[2] == 1 and w.shape[3] == c_in


@dataclass(frozen=True)
class _Taps:
    """Each tap's phase (r, v), super-row offset b, super-column offset a and weights."""

    phase: tuple[tuple[int, int], ...]
    offset: tuple[tuple[int, int], ...]
    weights: tuple[np.ndarray, ...]  # (C,) per tap
    b_min: int
    b_max: int
    a_min: int
    a_max: int


def _taps(w: np.ndarray, geom: ConvGeometry) -> _Taps:
    (sh, sw), (ph, pw), (dh, dw) = geom.stride, geom.padding, geom.dilation
    fh, fw = w.shape[:2]
    phase, offset, weights = [], [], []
    for i in range(fh):
        b, r = divmod(dh * i - ph, sh)
        for j in range(fw):
            a, v = divmod(dw * j - pw, sw)
            phase.append((r, v))
            offset.append((b, a))
            weights.append(np.ascontiguousarray(w[i, j, 0]))
    bs, as_ = [o[0] for o in offset], [o[1] for o in offset]
    return _Taps(tuple(phase), tuple(offset), tuple(weights), min(bs), max(bs), min(as_), max(as_))


def _row_blocks(n_rows: int, bytes_per_row: int, n_images: int) -> list[tuple[int, int, int]]:
    step = max(_MIN_BLOCK_ROWS, min(n_rows, _BLOCK_BYTES // max(1, bytes_per_row)))
    return [
        (n, r0, min(r0 + step, n_rows)) for n in range(n_images) for r0 in range(0, n_rows, step)
    ]


def _pixels(a: np.ndarray) -> np.ndarray:
    """``a`` without its last (contiguous, channel) axis: one opaque item per pixel.

    Copies between channels-last arrays with different pixel strides then move whole
    pixels; on the numbers themselves numpy's inner loop would run over the few channels.
    """
    return a.view(np.dtype((np.void, a.shape[-1] * a.itemsize)))[..., 0]


def _as_super(xb: np.ndarray, sw: int, n_cols: int) -> np.ndarray:
    """``(m, H, U, s_w, C)``: the image's columns grouped in super-columns (right-padded)."""
    m, height, width, c = xb.shape
    if n_cols * sw != width:
        xb = np.pad(xb, ((0, 0), (0, 0), (0, n_cols * sw - width), (0, 0)))
    return np.ascontiguousarray(xb).reshape(m, height, n_cols, sw, c)


def forward(xb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Batched depthwise forward pass with zero padding (``w``: ``(f_h, f_w, 1, C)``)."""
    m, height, width, c = xb.shape
    h_out, w_out, _ = geom.output_shape
    sh, sw = geom.stride
    taps = _taps(w, geom)
    n_cols = -(-width // sw)
    x_super = _as_super(xb, sw, n_cols)
    left = max(0, -taps.a_min)
    pitch = max(left + n_cols, left + taps.a_max + w_out)  # in super-columns
    row_len = pitch * c
    rows_of_phase = [len(range(r, height, sh)) for r in range(sh)]
    used = sorted(set(taps.phase))
    tasks = _row_blocks(h_out, row_len * xb.itemsize, m)
    rows_max = max(t[2] - t[1] for t in tasks)
    n_buf = rows_max + taps.b_max - taps.b_min + 1  # one spare row for the last window
    # each tap's weights repeated along a block's flat rows (same-shape 1-D products run
    # at about twice the speed of a product broadcast over rows)
    tiles = [np.tile(wt, pitch * rows_max) for wt in taps.weights]
    out = np.empty((m, h_out, w_out, c), dtype=xb.dtype)

    def run(start: int, stop: int) -> None:
        buf = np.zeros((sh, sw, n_buf, row_len), dtype=xb.dtype)
        acc = np.empty(rows_max * row_len, dtype=xb.dtype)
        tmp = np.empty_like(acc)
        for n, h0, h1 in tasks[start:stop]:
            g0 = h0 + taps.b_min  # the first super-row of the buffer
            n_rows = h1 - h0
            for r in sorted({p[0] for p in used}):
                lo, hi = max(g0, 0), min(h1 + taps.b_max, rows_of_phase[r])
                planes = buf[r]
                planes[:, : max(0, lo - g0)] = 0
                planes[:, max(0, hi - g0) :] = 0
                if lo < hi:
                    src = x_super[n, r + sh * lo : r + sh * (hi - 1) + 1 : sh]  # (k, U, s_w, C)
                    dst = planes[:, lo - g0 : hi - g0, left * c : (left + n_cols) * c]
                    dst = _pixels(dst.reshape(sw, hi - lo, n_cols, c))
                    np.copyto(dst, _pixels(src).transpose(2, 0, 1))
            size = n_rows * row_len
            total, scratch = acc[:size], tmp[:size]
            for k, ((r, v), (b, a)) in enumerate(zip(taps.phase, taps.offset, strict=True)):
                begin = (b - taps.b_min) * row_len + (a + left) * c
                window = buf[r, v].reshape(-1)[begin : begin + size]
                np.multiply(window, tiles[k][:size], out=total if k == 0 else scratch)
                if k:
                    total += scratch
            grid = total.reshape(n_rows, row_len)[:, : w_out * c]
            out[n, h0:h1] = grid.reshape(n_rows, w_out, c)

    threads.map_chunks(run, len(tasks), height * width * c >= 1 << 17)
    return out


def adjoint(yb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Batched depthwise adjoint with zero padding: the taps' windows run backwards."""
    m, h_out, w_out, c = yb.shape
    height, width, _ = geom.input_shape
    sh, sw = geom.stride
    taps = _taps(w, geom)
    n_cols = -(-width // sw)
    left = max(0, taps.a_max)  # zero super-columns left of y in its buffer
    pitch = max(left + w_out, left + n_cols - taps.a_min)
    row_len = pitch * c
    g_rows = -(-height // sh)
    tasks = _row_blocks(g_rows, row_len * yb.itemsize, m)
    rows_max = max(t[2] - t[1] for t in tasks)
    n_buf = rows_max + taps.b_max - taps.b_min + 1
    tiles = [np.tile(wt, pitch * rows_max) for wt in taps.weights]
    by_phase: dict[tuple[int, int], list[int]] = {}
    for k, phase in enumerate(taps.phase):
        by_phase.setdefault(phase, []).append(k)
    x_super = np.empty((m, height, n_cols, sw, c), dtype=yb.dtype)
    for r in range(sh):
        for v in range(sw):
            if (r, v) not in by_phase:
                x_super[:, r::sh, :, v] = 0  # pixels no tap reads

    def run(start: int, stop: int) -> None:
        y_buf = np.zeros((n_buf, row_len), dtype=yb.dtype)
        y_flat = y_buf.reshape(-1)
        acc = np.empty(rows_max * row_len, dtype=yb.dtype)
        tmp = np.empty_like(acc)
        for n, g0, g1 in tasks[start:stop]:
            y0 = g0 - taps.b_max  # the first row of y in the buffer
            lo, hi = max(y0, 0), min(g1 - taps.b_min, h_out)
            y_buf[: max(0, lo - y0)] = 0
            y_buf[max(0, hi - y0) :] = 0
            if lo < hi:
                dst = y_buf[lo - y0 : hi - y0, left * c : (left + w_out) * c]
                dst.reshape(hi - lo, w_out, c)[...] = yb[n, lo:hi]
            for (r, v), ks in by_phase.items():
                count = min(g1, len(range(r, height, sh))) - g0
                if count <= 0:
                    continue
                size = count * row_len
                total, scratch = acc[:size], tmp[:size]
                for first, k in enumerate(ks):
                    b, a = taps.offset[k]
                    begin = (g0 - b - y0) * row_len + (left - a) * c
                    window = y_flat[begin : begin + size]
                    np.multiply(window, tiles[k][:size], out=scratch if first else total)
                    if first:
                        total += scratch
                grid = total.reshape(count, row_len)[:, : n_cols * c]
                rows = x_super[n, r + sh * g0 : r + sh * (g0 + count - 1) + 1 : sh, :, v]
                np.copyto(_pixels(rows), _pixels(grid.reshape(count, n_cols, c)))

    threads.map_chunks(run, len(tasks), height * width * c >= 1 << 17)
    x = x_super.reshape(m, height, n_cols * sw, c)
    return np.ascontiguousarray(x[:, :, :width]) if n_cols * sw != width else x
