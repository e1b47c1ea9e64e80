"""Padding modes as zero padding plus a correction on the border strips (internal).

A padding mode other than zeros pads the image with copies of its own pixels. The padded
image is the zero-padded one plus a *border image* ``D`` that is zero inside and holds
the copies on the border, so by linearity

    A_mode x   = A_zeros x + A_unpadded D(x)
    A_modeᵀ y  = A_zerosᵀ y + Dᵀ A_unpaddedᵀ y.

``A_zeros`` is the kernels' built-in zero padding (no copy of the image at all), and the
correction only involves the output rows (columns) whose receptive field reaches the
border: per side, a strip of ``D`` a few rows (columns) thick is convolved without padding
and added to those outputs; the adjoint convolves the same outputs back onto the strip
and adds each border pixel onto the image pixel it copied. The four sides are disjoint
parts of ``D``: the top and bottom strips span the padded width (corners included), the
left and right strips only the image's rows. So a padding mode costs the zero-padding
pass plus work proportional to the border, instead of a padded copy of the whole image.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from . import padding as _padding
from .geometry import ConvGeometry

__all__ = ["adjoint", "forward"]

Kernel = Callable[[np.ndarray, np.ndarray, ConvGeometry], np.ndarray]


def _sides(geom: ConvGeometry, axis: int) -> Iterator[tuple[slice, slice, range]]:
    """Per side of ``axis``: the outputs that read its border, the padded-image positions
    they read, and the border positions among them (all along ``axis``)."""
    n, (p, q) = geom.input_shape[axis], geom.pads[axis]
    s, d = geom.stride[axis], geom.dilation[axis]
    span = d * (geom.filter_shape[axis] - 1) + 1
    n_out = geom.output_shape[axis]
    low = min(n_out, -(-p // s))  # outputs h with s h < p
    if low > 0:
        yield slice(0, low), slice(0, s * (low - 1) + span), range(0, p)
    high = max(0, -(-(p + n - span + 1) // s))  # outputs reaching position p + n or beyond
    if q > 0 and high < n_out:
        reads = slice(s * high, s * (n_out - 1) + span)
        yield slice(high, n_out), reads, range(p + n, n + p + q)


def _zeros(geom: ConvGeometry) -> ConvGeometry:
    """The same layer with zero padding."""
    g = geom
    return ConvGeometry(
        g.input_shape, g.filter_shape, g.stride, g.pads, g.dilation, "zeros", g.groups
    )


def _strip_geometry(geom: ConvGeometry, w: np.ndarray, shape: tuple[int, ...]) -> ConvGeometry:
    return ConvGeometry(shape, w.shape, geom.stride, 0, geom.dilation, "zeros", geom.groups)


def _column_geometry(geom: ConvGeometry, w_t: np.ndarray, shape: tuple[int, ...]) -> ConvGeometry:
    """A left or right strip, transposed (its columns as rows: the kernels run row blocks)."""
    stride, dilation = geom.stride[::-1], geom.dilation[::-1]
    return ConvGeometry(shape, w_t.shape, stride, 0, dilation, "zeros", geom.groups)


def _convolve(
    kernel: Kernel, arrays: list[np.ndarray], w: np.ndarray, geoms: list[ConvGeometry]
) -> list[np.ndarray]:
    """``kernel`` on each array; strips of one shape (both sides, usually) in one call,
    since on such thin arrays the kernels' set-up costs about as much as the work."""
    if len(arrays) > 1 and all(
        a.shape == arrays[0].shape and g.input_shape == geoms[0].input_shape
        for a, g in zip(arrays, geoms, strict=True)
    ):
        return np.split(kernel(np.concatenate(arrays), w, geoms[0]), len(arrays))
    return [kernel(a, w, g) for a, g in zip(arrays, geoms, strict=True)]


def forward(xb: np.ndarray, w: np.ndarray, geom: ConvGeometry, kernel: Kernel) -> np.ndarray:
    """``A_mode x`` (a dense or grouped filter, not flipped): zero padding plus the strips."""
    (rows_pad, cols_pad), mode = geom.pads, geom.padding_mode
    m, height, width, c = xb.shape
    out = kernel(xb, w, _zeros(geom))
    rows = _padding.padded_index(height, rows_pad, mode)
    cols = _padding.padded_index(width, cols_pad, mode)
    padded_h, padded_w, _ = geom.padded_shape
    sides = list(_sides(geom, 0))
    strips = []
    for _, reads, border in sides:
        strip = np.zeros((m, reads.stop - reads.start, padded_w, c), dtype=xb.dtype)
        for k in border:
            if reads.start <= k < reads.stop:
                band = xb[:, rows[k] : rows[k] + 1]
                strip[:, k - reads.start] = _padding.pad(band, ((0, 0), cols_pad), mode)[:, 0]
        strips.append(strip)
    geoms = [_strip_geometry(geom, w, a.shape[1:]) for a in strips]
    for (outputs, _, _), share in zip(sides, _convolve(kernel, strips, w, geoms), strict=True):
        out[:, outputs] += share
    w_t = w.transpose(1, 0, 2, 3)
    sides = list(_sides(geom, 1))
    strips = []
    for _, reads, border in sides:
        strip = np.zeros((m, reads.stop - reads.start, padded_h, c), dtype=xb.dtype)
        top = rows_pad[0]
        for k in border:
            if reads.start <= k < reads.stop:
                strip[:, k - reads.start, top : top + height] = xb[:, :, cols[k]]
        strips.append(strip)
    geoms = [_column_geometry(geom, w_t, a.shape[1:]) for a in strips]
    for (outputs, _, _), share in zip(sides, _convolve(kernel, strips, w_t, geoms), strict=True):
        out[:, :, outputs] += share.transpose(0, 2, 1, 3)
    return out


def adjoint(yb: np.ndarray, w: np.ndarray, geom: ConvGeometry, kernel: Kernel) -> np.ndarray:
    """``A_modeᵀ y`` (a dense or grouped filter, not flipped): zero padding plus the strips'."""
    (rows_pad, cols_pad), mode = geom.pads, geom.padding_mode
    height, width, c = geom.input_shape
    x = kernel(yb, w, _zeros(geom))
    rows = _padding.padded_index(height, rows_pad, mode)
    cols = _padding.padded_index(width, cols_pad, mode)
    (padded_h, padded_w, _), top = geom.padded_shape, rows_pad[0]
    sides = list(_sides(geom, 0))
    parts = [np.ascontiguousarray(yb[:, outputs]) for outputs, _, _ in sides]
    geoms = [
        _strip_geometry(geom, w, (reads.stop - reads.start, padded_w, c)) for _, reads, _ in sides
    ]
    for (_, reads, border), grad in zip(sides, _convolve(kernel, parts, w, geoms), strict=True):
        for k in border:
            if reads.start <= k < reads.stop:
                band = grad[:, k - reads.start : k - reads.start + 1]
                x[:, rows[k]] += _padding.fold(band, ((0, 0), cols_pad), mode)[:, 0]
    w_t = w.transpose(1, 0, 2, 3)
    sides = list(_sides(geom, 1))
    parts = [
        np.ascontiguousarray(yb[:, :, outputs].transpose(0, 2, 1, 3)) for outputs, _, _ in sides
    ]
    geoms = [
        _column_geometry(geom, w_t, (reads.stop - reads.start, padded_h, c))
        for _, reads, _ in sides
    ]
    for (_, reads, border), grad in zip(sides, _convolve(kernel, parts, w_t, geoms), strict=True):
        for k in border:
            if reads.start <= k < reads.stop:
                x[:, :, cols[k]] += grad[:, k - reads.start, top : top + height]
    return x
