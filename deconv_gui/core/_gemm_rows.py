"""The GEMM forward pass for few input channels: whole rows of taps at once (internal).

Part of :mod:`deconv_gui.core._gemm`. With 3 input channels a product per tap would be
3 numbers deep, too thin for BLAS; here the image's columns are grouped in super-columns
of ``s_w`` pixels, so that a row of taps reads one contiguous run of numbers per output
pixel, and a block's matrix holds those runs for every row of taps.
"""

from __future__ import annotations

import numpy as np

from . import _gemm_util as _u
from . import threads
from .geometry import ConvGeometry

__all__ = ["MAX_C_IN", "applies", "forward"]

#: Up to this many input channels (and no groups) the forward pass gathers whole rows of
#: taps into one matrix: a product per tap would be too thin for BLAS.
MAX_C_IN = 8


def applies(geom: ConvGeometry) -> bool:
    """Whether the forward pass gathers whole rows of taps (few input channels, no groups,
    and the taps' columns leave few gaps: dilation 1, or a stride that takes it up)."""
    if geom.groups != 1 or geom.input_shape[2] > MAX_C_IN:
        return False
    fw, sw, dw = geom.filter_shape[1], geom.stride[1], geom.dilation[1]
    span = (dw * (fw - 1)) // sw + 2  # super-columns a row of taps covers, at most
    return span * sw <= 2 * fw


def forward(xb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
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
    taps = _u.taps(geom)
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
    tasks = _u.tasks(h_out, w_out * c_out * xb.itemsize, m, w_out * fh * span * k * xb.itemsize)
    step = max(t[2] - t[1] for t in tasks)
    n_buf = step + b_max - b_min
    out = np.empty((m, h_out, w_out, c_out), dtype=xb.dtype)
    pooled = threads.blas_threads() == 1
    isz = xb.itemsize

    def run(start: int, stop: int) -> None:
        bufs = {r: _u.buffer(r, (n_buf, pitch, 1), xb.dtype) for r in n_rows}
        for buf in bufs.values():
            _u.zero_columns(buf, left * k, left * k + width * c_in)
        bufs = {r: buf[..., 0] for r, buf in bufs.items()}
        cols = _u.buffer("cols", (step, w_out, fh, span * k), xb.dtype)
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
            _u.product(product, matrix, out[n, h0:h1].reshape(rows * w_out, c_out), pooled)

    threads.map_chunks(run, len(tasks), parallel=pooled)
    return out
