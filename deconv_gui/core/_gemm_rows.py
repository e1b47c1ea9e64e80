"""The GEMM forward pass for few input channels: whole rows of taps at once (internal).

Part of :mod:`deconv_gui.core._gemm`. With 3 input channels a product per tap would be
3 numbers deep, too thin for BLAS, and a copy per tap would move 3 numbers at a time;
here a row of taps reads one contiguous run of an image row per output pixel (its
``f_w`` pixels' channels, the dilation's gaps included), and a block's matrix holds
those runs for every row of taps: ``K = f_h f_w C_in`` at dilation 1, the filter's size.
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
    and the dilation's gaps at most double a run)."""
    if geom.groups != 1 or geom.input_shape[2] > MAX_C_IN:
        return False
    fw, dw = geom.filter_shape[1], geom.dilation[1]
    return dw * (fw - 1) + 1 <= 2 * fw


def forward(xb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """The forward pass for few input channels: one GEMM per block over all the taps.

    A row of taps reads, for output pixel ``w``, the image columns ``s_w w - p_left``
    to ``s_w w - p_left + d_w (f_w - 1)``: one contiguous run of ``L = (d_w (f_w - 1) + 1)
    C_in`` numbers of an image row (its left border included), ``s_w C_in`` numbers after
    the previous pixel's. Each block of output rows gathers those runs for every row of
    taps into one matrix (``im2col`` by rows, without a copy per tap) and multiplies it by
    the filter's ``(f_h L, C_out)`` matrix (zero rows in the dilation's gaps) straight
    into the output.
    """
    m, h_out, w_out, c_out = (xb.shape[0], *geom.output_shape)
    layout = _Layout(geom)
    fh, run_len = geom.filter_shape[0], layout.run_len
    matrix = np.zeros((fh, run_len, c_out), dtype=xb.dtype)
    for j in range(geom.filter_shape[1]):
        start = j * geom.dilation[1] * geom.input_shape[2]
        matrix[:, start : start + geom.input_shape[2]] = w[:, j]
    matrix = matrix.reshape(fh * run_len, c_out)
    pooled, tasks, step = _u.gathered_tasks(xb, geom, fh * run_len)
    out = np.empty((m, h_out, w_out, c_out), dtype=xb.dtype)

    def run(start: int, stop: int) -> None:
        cols = _u.buffer("cols", (step, w_out, fh, run_len), xb.dtype)
        for n, h0, h1 in tasks[start:stop]:
            rows = h1 - h0
            layout.gather(xb[n], (h0, h1), cols, step)
            product = cols[:rows].reshape(rows * w_out, -1)
            _u.product(product, matrix, out[n, h0:h1].reshape(rows * w_out, c_out), pooled)

    threads.map_chunks(run, len(tasks), parallel=pooled)
    return out


class _Layout:
    """Where each row of taps reads its runs: one zero-bordered buffer per row phase."""

    def __init__(self, geom: ConvGeometry) -> None:
        height, width, c_in = geom.input_shape
        (sh, sw), (pt, pl), (dh, dw) = geom.stride, geom.padding, geom.dilation
        fw, w_out = geom.filter_shape[1], geom.output_shape[1]
        self.run_len = (dw * (fw - 1) + 1) * c_in  # L
        self.row_tap = [divmod(dh * i - pt, sh)[::-1] for i in range(geom.filter_shape[0])]
        self.b_min = min(b for _, b in self.row_tap)
        self.b_max = max(b for _, b in self.row_tap)
        # numbers per buffer row: the left border, the image row, the right border read
        self.pitch = max(pl + width, sw * (w_out - 1) + dw * (fw - 1) + 1) * c_in
        self.n_rows = {r: len(range(r, height, sh)) for r, _ in self.row_tap}
        self.data = slice(pl * c_in, (pl + width) * c_in)  # an image row in a buffer row
        self.sh, self.run_step, self.w_out = sh, sw * c_in, w_out

    def gather(self, x: np.ndarray, block: tuple[int, int], cols: np.ndarray, step: int) -> None:
        """Copy the runs of output rows ``block`` of image ``x`` into ``cols``
        ``(rows, W_out, f_h, L)``, through this thread's phase buffers (``step`` rows)."""
        (h0, h1), pitch, isz = block, self.pitch, x.itemsize
        g0, rows = h0 + self.b_min, h1 - h0
        bufs = {}
        for r in self.n_rows:
            buf = _u.buffer(("rows", r), (step + self.b_max - self.b_min, pitch), x.dtype)
            buf[:, : self.data.start] = 0
            buf[:, self.data.stop :] = 0
            lo, hi = max(g0, 0), min(h1 + self.b_max, self.n_rows[r])
            buf[: max(0, lo - g0)] = 0
            buf[max(0, hi - g0) : rows + self.b_max - self.b_min] = 0
            if lo < hi:
                src = x[r + self.sh * lo : r + self.sh * (hi - 1) + 1 : self.sh]
                np.copyto(buf[lo - g0 : hi - g0, self.data], src.reshape(hi - lo, -1))
            bufs[r] = buf.reshape(-1)
        # each run copied as one item (a void dtype of L numbers): the same bytes, but one
        # memmove per run instead of numpy's strided loop over its numbers, 2x faster
        run = np.dtype((np.void, self.run_len * isz))
        row_step = cols.strides[0]
        for i, (r, b) in enumerate(self.row_tap):
            window = np.ndarray(
                (rows, self.w_out),
                run,
                buffer=bufs[r],
                offset=(b - self.b_min) * pitch * isz,
                strides=(pitch * isz, self.run_step * isz),
            )
            target = np.ndarray(
                (rows, self.w_out),
                run,
                buffer=cols,
                offset=i * run.itemsize,
                strides=(row_step, cols.strides[1]),
            )
            np.copyto(target, window)
