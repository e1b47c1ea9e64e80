"""The fast kernels behind :func:`~deconv_gui.core.conv2d` and its adjoint (internal).

Only :mod:`deconv_gui.core.conv` and :mod:`deconv_gui.core.operator` import this module:
callers use :func:`~deconv_gui.core.conv2d`, :func:`~deconv_gui.core.conv2d_transpose` or
:class:`~deconv_gui.core.ConvOperator`, whose :meth:`~deconv_gui.core.ConvOperator.apply`
and :meth:`~deconv_gui.core.ConvOperator.apply_adjoint` call it on validated arguments
(the geometry and filter are checked once, when the operator is built).

Both functions take batches: ``forward`` maps ``(m, H, W, C_in)`` to
``(m, H_out, W_out, C_out)`` (no bias) and ``adjoint`` maps back, for a filter
``(f_h, f_w, C_in, C_out)`` in the dtype of the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import _borders, _depthwise, _gemm, threads
from . import _fft_kernels as _fft
from . import padding as _padding
from .geometry import ConvGeometry
from .groups import dense_filter

__all__ = ["adjoint", "forward"]

# Both directions use the same decomposition. Split the input grid into stride phases:
# input row ``s_h g + r`` is super-row ``g`` of row phase ``r``, and columns are grouped
# into super-columns of ``s_w`` pixels, so a super-pixel holds ``K = s_w C_in`` numbers.
# Filter tap (i, j) then reads, for output pixel (h, w), super-row ``h + b_i`` of phase
# ``r_i`` and super-column ``w + a_j`` at sub-position ``v_j``, where
# ``d_h i - p_h = s_h b_i + r_i`` and ``d_w j - p_w = s_w a_j + v_j``. Taps with the same
# (i, a_j) form a *group*; its weights are one (K, C_out) matrix. So
#
#     forward:  Z_r = X_r W_r            (a GEMM over K per super-pixel, then)
#               y[h, w] += Z_r[h + b, w + a, group]    (one shifted add per group)
#     adjoint:  T_r[g, u, group] = y[g - b, u - a]     (one shifted copy per group, then)
#               X_r = T_r W_rᵀ           (a GEMM; each input pixel is written once)
#
# The shifted adds and copies run on zero-bordered buffers with a common row pitch, so
# each one is a single contiguous 1-D slice (no per-row loop), and they run in row blocks
# small enough to stay in cache. Blocks are fixed by the geometry, never by the number of
# threads, so results are bit-for-bit reproducible.

#: Target size of one block's intermediate buffer; ~L2-cache sized.
_BLOCK_BYTES = 1 << 19
#: Fewer rows per block make the per-call overhead of numpy dominate.
_MIN_BLOCK_ROWS = 8
#: Below this many input numbers per image, threads cost more than they save.
_THREAD_MIN_SIZE = 1 << 17
#: From this many output channels the forward GEMM writes channels-last planes per group.
_CHANNELS_LAST_MIN_C_OUT = 5


@dataclass(frozen=True)
class _Phase:
    """The filter taps that read input rows ``r, r + s_h, r + 2 s_h, …`` (one row phase)."""

    row: int  # r, the first input row of the phase
    n_rows: int  # number of input rows (super-rows) in the phase
    offsets: tuple[tuple[int, int], ...]  # (b, a) of each tap group
    weights_t: np.ndarray  # (n_groups C_out, K): row block k is group k's matrix, transposed
    weights_g: np.ndarray  # (n_groups, 1, K, C_out): group k's matrix, batched for matmul

    @cached_property
    def b_min(self) -> int:
        return min(b for b, _ in self.offsets)

    @cached_property
    def b_max(self) -> int:
        return max(b for b, _ in self.offsets)


@dataclass(frozen=True)
class _Plan:
    """The stride-phase decomposition of one geometry and filter."""

    phases: tuple[_Phase, ...]  # only phases that some tap reads
    n_super_cols: int  # U = ceil(W / s_w)
    a_min: int
    a_max: int


def _plan(w: np.ndarray, geom: ConvGeometry) -> _Plan:
    """Group the filter taps by row phase and offsets; build each phase's weight matrix."""
    height, width, c_in = geom.input_shape
    fh, fw, _, c_out = w.shape
    (sh, sw), (ph, pw), (dh, dw) = geom.stride, geom.padding, geom.dilation
    phases = []
    for r in range(sh):
        offsets, blocks = [], []
        for i in range(fh):
            b, r_i = divmod(dh * i - ph, sh)
            if r_i != r:
                continue
            by_a: dict[int, np.ndarray] = {}
            for j in range(fw):
                a, v = divmod(dw * j - pw, sw)
                block = by_a.setdefault(a, np.zeros((sw * c_in, c_out), w.dtype))
                block[v * c_in : (v + 1) * c_in] = w[i, j]
            for a, block in by_a.items():
                offsets.append((b, a))
                blocks.append(block.T)
        if offsets:
            n_rows = len(range(r, height, sh))
            stacked = np.ascontiguousarray(np.vstack(blocks))
            grouped = np.ascontiguousarray(
                stacked.reshape(len(offsets), c_out, -1).transpose(0, 2, 1)
            )
            phases.append(_Phase(r, n_rows, tuple(offsets), stacked, grouped[:, np.newaxis]))
    a_all = [a for p in phases for _, a in p.offsets]
    return _Plan(tuple(phases), -(-width // sw), min(a_all), max(a_all))


def _blocks(n_rows: int, bytes_per_row: int, n_images: int) -> list[tuple[int, int, int]]:
    """(image, first row, stop row) tasks of about ``_BLOCK_BYTES`` each."""
    step = max(_MIN_BLOCK_ROWS, min(n_rows, _BLOCK_BYTES // max(1, bytes_per_row)))
    return [
        (n, r0, min(r0 + step, n_rows)) for n in range(n_images) for r0 in range(0, n_rows, step)
    ]


def _padded(geom: ConvGeometry) -> bool:
    """Whether the image must be padded first: a mode other than zeros, with padding."""
    return geom.padding_mode != "zeros" and geom.padded_shape != geom.input_shape


#: Depthwise filters up to this many taps may run on the depthwise kernels (one
#: multiply-add per tap and output number); larger ones on the dense filter (FFTs when
#: they pay).
_DEPTHWISE_MAX_TAPS = 64
#: From this many channels the depthwise kernels always win (the dense filter's GEMM and
#: plane additions grow with the channels; measured 15-50x slower at 8-32 channels).
_DEPTHWISE_MIN_CHANNELS = 16


def _depthwise_run(
    batch: np.ndarray, w: np.ndarray, geom: ConvGeometry, is_adjoint: bool
) -> np.ndarray | None:
    """The forward pass (or the adjoint) of a depthwise layer that the depthwise kernels
    run faster, any flip applied to the filter and any padding mode's border strips added;
    None when the dense filter is faster.

    Measured on 1024² images (``benchmarks/bench_operator.py``): at stride 1 the depthwise
    forward is 1.4x faster for 2-3 channels and the adjoint from 4 channels on (below, the
    dense GEMM writes the image's pixels in one go); at stride 2 the dense filter's GEMM
    over the column phases keeps it ahead up to ~16 channels.
    """
    if not _depthwise.applies(w, geom) or w.shape[0] * w.shape[1] > _DEPTHWISE_MAX_TAPS:
        return None
    c = geom.input_shape[2]
    if c < _DEPTHWISE_MIN_CHANNELS and (geom.stride != (1, 1) or (is_adjoint and c < 4)):
        return None
    w, geom = _unflipped(w, geom)
    if _padded(geom):
        if is_adjoint:
            return _borders.adjoint(batch, w, geom, adjoint)
        return _borders.forward(batch, w, geom, forward)
    return (_depthwise.adjoint if is_adjoint else _depthwise.forward)(batch, w, geom)


#: The GEMM kernels pad a copy of the image (as ``F.pad`` does) when it stays under this
#: size: many small border-strip products cost more than the copy at these channel counts.
_PAD_COPY_BYTES = 1 << 26


def _pad_first(batch: np.ndarray, geom: ConvGeometry) -> bool:
    """Whether a padded copy of the image (``m`` of them) fits in ``_PAD_COPY_BYTES``."""
    height, width, c_in = geom.padded_shape
    return len(batch) * height * width * c_in * batch.itemsize <= _PAD_COPY_BYTES


def _unpadded(geom: ConvGeometry) -> ConvGeometry:
    """The same layer (groups kept, no flip) on the padded image, without padding."""
    g = geom
    return ConvGeometry(g.padded_shape, g.filter_shape, g.stride, 0, g.dilation, "zeros", g.groups)


def _unflipped(w: np.ndarray, geom: ConvGeometry) -> tuple[np.ndarray, ConvGeometry]:
    """The filter with any flip applied, and the geometry without the flip."""
    if not geom.flip:
        return w, geom
    g = ConvGeometry(
        geom.input_shape,
        geom.filter_shape,
        geom.stride,
        geom.pads,
        geom.dilation,
        geom.padding_mode,
        geom.groups,
    )
    return w[::-1, ::-1], g


def forward(xb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Batched forward pass on validated arrays (no bias): the kernel that fits the layer.

    Zero padding is built into the kernels; the other padding modes add the border
    strips' share to it (:mod:`._borders`), without a padded copy of the image.
    Depthwise layers, many channels (BLAS products) and large filters (FFT) have kernels
    of their own; the rest runs :func:`_forward_phases`.
    """
    depthwise = _depthwise_run(xb, w, geom, is_adjoint=False)
    if depthwise is not None:
        return depthwise
    if _gemm.applies(w, geom, adjoint=False):  # many channels: BLAS products
        w, geom = _unflipped(w, geom)
        if _padded(geom) and _pad_first(xb, geom):
            xp = _padding.pad(xb, geom.pads, geom.padding_mode)
            return _gemm.forward(xp, w, _unpadded(geom))
        if _padded(geom):
            return _borders.forward(xb, w, geom, forward)
        return _gemm.forward(xb, w, geom)
    if geom.groups != 1 or geom.flip:  # the block-diagonal and/or flipped filter
        return forward(xb, dense_filter(w, geom.groups, geom.flip), geom.dense())
    if _padded(geom):  # zero padding plus the border strips' share
        return _borders.forward(xb, w, geom, forward)
    # large filters: a few FFTs instead of one add per tap group
    if _fft.use_fft(w, geom, speedup=_fft.planes_speedup(w.shape[3])):
        return _fft.forward(xb, w, geom)
    return _forward_phases(xb, w, geom)


def _forward_phases(xb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """The forward pass of an unpadded, ungrouped, unflipped layer, by row phases.

    Each output row block reads, per row phase, the super-rows it needs into a zero-
    bordered buffer ``z`` of pitch ``pitch`` (the GEMM, :func:`_fill_phase`), then sums
    the groups' shifted planes as flat 1-D slices into ``acc`` and copies the valid
    columns to ``out``. For few output channels ``z`` holds one plane per group and
    channel (one GEMM per row writes them all); for many it holds one channels-last
    plane per group (one GEMM per row and group), which spares the final transpose to
    channels-last.
    """
    m, height, width, c_in = xb.shape
    h_out, w_out, c_out = geom.output_shape
    sh, sw = geom.stride
    plan = _plan(w, geom)
    n_cols = plan.n_super_cols
    if n_cols * sw != width:  # pad on the right to whole super-columns
        xb = np.pad(xb, ((0, 0), (0, 0), (0, n_cols * sw - width), (0, 0)))
    x_super = np.ascontiguousarray(xb).reshape(m, height, n_cols, sw * c_in)
    left = max(0, -plan.a_min)  # zero super-columns left of the data in Z
    pitch = max(left + n_cols, left + plan.a_max + w_out)
    n_planes = sum(p.weights_t.shape[0] for p in plan.phases)
    tasks = _blocks(h_out, n_planes * pitch * xb.itemsize, m)
    rows_max = max(t[2] - t[1] for t in tasks)
    out = np.empty((m, h_out, w_out, c_out), dtype=xb.dtype)
    planar = c_out < _CHANNELS_LAST_MIN_C_OUT
    # flat slices of z: ``lanes`` rows of numbers that are ``scale`` apart per pixel
    lanes, scale = (c_out, 1) if planar else (1, c_out)

    def run(start: int, stop: int) -> None:
        z_bufs = []
        for p in plan.phases:
            n_rows = rows_max + p.b_max - p.b_min
            shape: tuple[int, ...] = (len(p.offsets) * c_out, n_rows, pitch)
            if not planar:
                shape = (len(p.offsets), n_rows, pitch, c_out)
            z_bufs.append(np.zeros(shape, dtype=xb.dtype))
        acc = np.empty((lanes, rows_max * pitch * scale), xb.dtype)
        for n, h0, h1 in tasks[start:stop]:
            n_flat = ((h1 - h0 - 1) * pitch + w_out) * scale
            sources = []
            for phase, z in zip(plan.phases, z_bufs, strict=True):
                _fill_phase(z, phase, x_super[n], (h0, h1), (sh, left, n_cols), planar)
                flat = z.reshape(len(phase.offsets), lanes, -1)
                for k, (b, a) in enumerate(phase.offsets):
                    start_k = ((b - phase.b_min) * pitch + a + left) * scale
                    sources.append(flat[k, :, start_k : start_k + n_flat])
            _sum_into(acc[:, :n_flat], sources)
            n_rows = h1 - h0
            if planar:
                grid = acc[:, : n_rows * pitch].reshape(c_out, n_rows, pitch)
                out[n, h0:h1] = grid[:, :, :w_out].transpose(1, 2, 0)
            else:
                out[n, h0:h1] = acc[0, : n_rows * pitch * c_out].reshape(n_rows, pitch, c_out)[
                    :, :w_out
                ]

    threads.map_chunks(run, len(tasks), height * width * c_in >= _THREAD_MIN_SIZE)
    return out


def _fill_phase(
    z: np.ndarray,
    phase: _Phase,
    x_super: np.ndarray,
    block: tuple[int, int],
    columns: tuple[int, int, int],
    planar: bool,
) -> None:
    """One row phase's GEMM for output rows ``block``: ``z`` holds its tap groups' planes.

    ``columns`` is ``(row stride, zero super-columns left of the data, super-columns)``;
    the rows of ``z`` outside the image are zeroed.
    """
    (h0, h1), (sh, left, n_cols) = block, columns
    g0, g1 = h0 + phase.b_min, h1 + phase.b_max
    lo, hi = max(g0, 0), min(g1, phase.n_rows)
    z[:, : max(0, lo - g0)] = 0
    z[:, max(0, hi - g0) : g1 - g0] = 0
    if lo < hi:
        rows = x_super[phase.row + sh * lo : phase.row + sh * (hi - 1) + 1 : sh]
        target = z[:, lo - g0 : hi - g0, left : left + n_cols]
        if planar:
            np.matmul(phase.weights_t, rows.transpose(0, 2, 1), out=target.transpose(1, 0, 2))
        else:
            np.matmul(rows, phase.weights_g, out=target)


def _sum_into(total: np.ndarray, sources: list[np.ndarray]) -> None:
    """``total = sum(sources)`` without temporaries."""
    if len(sources) == 1:
        np.copyto(total, sources[0])
        return
    np.add(sources[0], sources[1], out=total)
    for src in sources[2:]:
        np.add(total, src, out=total)


def adjoint(yb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Batched adjoint on validated arrays: the kernel that fits the layer, as in
    :func:`forward` (the rest: :func:`_adjoint_phases`); a padding mode other than zeros
    folds the padded image's adjoint back, each border pixel onto the pixel it copied."""
    depthwise = _depthwise_run(yb, w, geom, is_adjoint=True)
    if depthwise is not None:
        return depthwise
    if _gemm.applies(w, geom, adjoint=True):
        w, geom = _unflipped(w, geom)
        if _padded(geom) and _pad_first(yb, geom):
            xp = _gemm.adjoint(yb, w, _unpadded(geom))
            return _padding.fold(xp, geom.pads, geom.padding_mode)
        if _padded(geom):
            return _borders.adjoint(yb, w, geom, adjoint)
        return _gemm.adjoint(yb, w, geom)
    if geom.groups != 1 or geom.flip:
        return adjoint(yb, dense_filter(w, geom.groups, geom.flip), geom.dense())
    if _padded(geom):
        return _borders.adjoint(yb, w, geom, adjoint)
    if _fft.use_fft(w, geom, speedup=_fft.planes_speedup(w.shape[3])):  # as in forward
        return _fft.adjoint(yb, w, geom)
    return _adjoint_phases(yb, w, geom)


def _adjoint_phases(yb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """The adjoint of an unpadded, ungrouped, unflipped layer: one GEMM per input row
    phase and block. Each block of super-rows copies the rows of ``y`` it needs into a
    zero-bordered buffer, gathers one shifted flat slice of it per group of taps into
    ``t_buf``, and multiplies by the phase's weights straight into the rows of the result.
    """
    m, h_out, w_out, c_out = yb.shape
    height, width, c_in = geom.input_shape
    sh, sw = geom.stride
    plan = _plan(w, geom)
    n_cols = plan.n_super_cols
    left = max(0, plan.a_max)  # zero columns left of the data in the y buffer
    pitch = max(left + w_out, left + n_cols - plan.a_min)
    b_min = min(p.b_min for p in plan.phases)
    b_max = max(p.b_max for p in plan.phases)
    n_planes = max(p.weights_t.shape[0] for p in plan.phases)
    g_rows = -(-height // sh)
    tasks = _blocks(g_rows, (n_planes + c_out) * pitch * yb.itemsize, m)
    rows_max = max(t[2] - t[1] for t in tasks)
    x_super = np.empty((m, height, n_cols, sw * c_in), dtype=yb.dtype)
    for r in set(range(sh)) - {p.row for p in plan.phases}:
        x_super[:, r::sh] = 0  # rows no filter tap reads

    def run(start: int, stop: int) -> None:
        y_buf = np.zeros((c_out, rows_max + b_max - b_min, pitch), yb.dtype)
        y_flat = y_buf.reshape(c_out, -1)
        t_buf = np.empty((n_planes, rows_max * pitch), yb.dtype)
        for n, g0, g1 in tasks[start:stop]:
            y0, y1 = g0 - b_max, g1 - b_min  # the rows of y this block reads
            lo, hi = max(y0, 0), min(y1, h_out)
            y_buf[:, : max(0, lo - y0)] = 0
            y_buf[:, max(0, hi - y0) : y1 - y0] = 0
            if lo < hi:
                y_buf[:, lo - y0 : hi - y0, left : left + w_out] = yb[n, lo:hi].transpose(2, 0, 1)
            n_flat = (g1 - g0 - 1) * pitch + n_cols
            for phase in plan.phases:
                count = min(g1, phase.n_rows) - g0
                if count <= 0:
                    continue
                for k, (b, a) in enumerate(phase.offsets):
                    start_k = (g0 - b - y0) * pitch + left - a
                    t_buf[k * c_out : (k + 1) * c_out, :n_flat] = y_flat[
                        :, start_k : start_k + n_flat
                    ]
                n_k = phase.weights_t.shape[0]
                t_grid = t_buf[:n_k, : (g1 - g0) * pitch].reshape(n_k, g1 - g0, pitch)
                rows = x_super[n, phase.row + sh * g0 : phase.row + sh * (g0 + count - 1) + 1 : sh]
                np.matmul(t_grid[:, :count, :n_cols].transpose(1, 2, 0), phase.weights_t, out=rows)

    threads.map_chunks(run, len(tasks), height * width * c_in >= _THREAD_MIN_SIZE)
    x = x_super.reshape(m, height, n_cols * sw, c_in)
    return np.ascontiguousarray(x[:, :, :width]) if n_cols * sw != width else x
