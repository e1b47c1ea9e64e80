"""Strided, padded, dilated 2-D cross-correlation and its exact adjoint.

Layouts follow the seed question (channels last): images are ``(H, W, C_in)`` or a
batch ``(m, H, W, C_in)``; filters are ``(f_h, f_w, C_in, C_out)`` (HWIO).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .geometry import ConvGeometry, as_float_array, normalize_bias, normalize_weights

__all__ = ["conv2d", "conv2d_transpose"]


def _as_batch(array: Any, name: str, layout: str) -> tuple[np.ndarray, bool]:
    arr = as_float_array(array, name)
    if arr.ndim == 3:
        return arr[np.newaxis], False
    if arr.ndim == 4:
        return arr, True
    raise ValueError(
        f"{name} must have shape {layout} or a batch (m, {layout[1:]}, "
        f"got {arr.ndim} dimensions with shape {arr.shape}"
    )


def _tap_slices(geom: ConvGeometry, i: int, j: int) -> tuple[slice, slice]:
    """The rows and columns of the padded image that filter tap ``(i, j)`` reads."""
    h_out, w_out, _ = geom.output_shape
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    r0, c0 = i * dh, j * dw
    return (
        slice(r0, r0 + sh * (h_out - 1) + 1, sh),
        slice(c0, c0 + sw * (w_out - 1) + 1, sw),
    )


def conv2d(
    x: Any,
    weights: Any,
    bias: Any = None,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """Cross-correlate an image with a filter bank, as PyTorch's ``conv2d`` does.

    Parameters
    ----------
    x : array_like
        Image ``(H, W, C_in)`` or batch ``(m, H, W, C_in)``. float32 stays float32,
        float64 stays float64, anything else numeric becomes float64.
    weights : array_like
        Filter ``(f_h, f_w, C_in, C_out)``, or ``(f_h, f_w, C_in)`` for ``C_out = 1``.
    bias : float or array_like, optional
        Scalar or ``(C_out,)``, added to every output pixel of its channel.
    stride, padding, dilation : int or (int, int)
        Stride (>= 1), zero padding on each side (>= 0), dilation (>= 1).

    Returns
    -------
    numpy.ndarray
        ``(H_out, W_out, C_out)`` (with the batch axis if ``x`` had one), in the
        dtype of ``x``. The channel axis is kept when ``C_out = 1``.

    Raises
    ------
    ValueError
        On a wrong rank, channel mismatch, bad stride/padding/dilation, empty output,
        non-finite values, a bias of the wrong length or a non-numeric dtype.

    Notes
    -----
    With zero padding :math:`p`, stride :math:`s` and dilation :math:`d`,

    .. math::

        y[h, w, o] = b_o + \\sum_{i, j, c} w[i, j, c, o]\\,
                     x_p[s_h h + d_h i,\\; s_w w + d_w j,\\; c].

    There is no kernel flip. The sum is computed as one small matrix product over the
    channel axis per filter tap, accumulated into the output: no ``im2col`` buffer.
    """
    xb, batched = _as_batch(x, "x", "(H, W, C_in)")
    w = normalize_weights(weights)
    geom = ConvGeometry(xb.shape[1:], w.shape, stride, padding, dilation)
    dtype = xb.dtype
    w = w.astype(dtype, copy=False)
    b = normalize_bias(bias, w.shape[3], dtype)
    out = _forward(xb, w, geom)
    if b is not None:
        out += b
    return out if batched else out[0]


def conv2d_transpose(
    y: Any,
    weights: Any,
    *,
    input_shape: tuple[int, ...],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """Apply the exact adjoint ``Aᵀ`` of the linear part of :func:`conv2d`.

    Parameters
    ----------
    y : array_like
        Output-space array ``(H_out, W_out, C_out)`` or a batch ``(m, H_out, W_out, C_out)``.
    weights : array_like
        The forward filter ``(f_h, f_w, C_in, C_out)`` (or 3-D for ``C_out = 1``), used
        as it is: no spatial flip or transpose is needed by the caller.
    input_shape : tuple of int
        ``(H, W, C_in)`` (or ``(m, H, W, C_in)``) of the forward input. This removes
        the output-size ambiguity that PyTorch resolves with ``output_padding``.
    stride, padding, dilation : int or (int, int)
        The forward operator's hyper-parameters.

    Returns
    -------
    numpy.ndarray
        Array of shape ``input_shape`` in the dtype of ``y``.

    Notes
    -----
    ``conv2d_transpose`` satisfies :math:`\\langle A x, y\\rangle = \\langle x, A^T y\\rangle`
    to rounding. Each output pixel scatters ``w[i, j] @ y[h, w]`` back to the input
    pixels it was computed from; input pixels the forward pass never read (for example
    the last rows when the stride does not divide the size) receive zero. This equals
    ``torch.nn.functional.conv_transpose2d`` with the ``output_padding`` that
    reproduces ``input_shape``.
    """
    yb, batched = _as_batch(y, "y", "(H_out, W_out, C_out)")
    w = normalize_weights(weights)
    shape = tuple(input_shape) if input_shape is not None else ()
    if len(shape) == 4:
        if not batched or shape[0] != yb.shape[0]:
            raise ValueError(
                f"input_shape {shape} has a batch axis that does not match y's shape {yb.shape}"
            )
        shape = shape[1:]
    geom = ConvGeometry(shape, w.shape, stride, padding, dilation)
    if yb.shape[1:] != geom.output_shape:
        raise ValueError(
            f"y must have shape {geom.output_shape} (the output of input_shape {geom.input_shape} "
            f"with this filter and geometry), got {yb.shape[1:]}"
        )
    dtype = yb.dtype
    x = _adjoint(yb, w.astype(dtype, copy=False), geom)
    return x if batched else x[0]


def _forward(xb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Batched forward pass on validated arrays (no bias)."""
    m = xb.shape[0]
    (ph, pw) = geom.padding
    h_out, w_out, c_out = geom.output_shape
    fh, fw, c_in, _ = w.shape
    xp = np.pad(xb, ((0, 0), (ph, ph), (pw, pw), (0, 0))) if ph or pw else xb
    out = np.zeros((m, h_out, w_out, c_out), dtype=xb.dtype)
    for i in range(fh):
        for j in range(fw):
            rows, cols = _tap_slices(geom, i, j)
            patch = xp[:, rows, cols, :]
            if c_out == 1:
                # a dot over the channel axis; cheaper than a (N, C_in) @ (C_in, 1) GEMM
                for c in range(c_in):
                    out[..., 0] += w[i, j, c, 0] * patch[..., c]
            else:
                out += patch @ w[i, j]
    return out


def _adjoint(yb: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Batched adjoint on validated arrays: scatter each tap back into the padded image."""
    m = yb.shape[0]
    (ph, pw) = geom.padding
    h, wd, c_in = geom.input_shape
    fh, fw, _, c_out = w.shape
    xp = np.zeros((m, h + 2 * ph, wd + 2 * pw, c_in), dtype=yb.dtype)
    for i in range(fh):
        for j in range(fw):
            rows, cols = _tap_slices(geom, i, j)
            if c_out == 1:
                target = xp[:, rows, cols, :]
                target += yb[..., 0:1] * w[i, j, :, 0]
            else:
                xp[:, rows, cols, :] += yb @ w[i, j].T
    if ph or pw:
        return np.ascontiguousarray(xp[:, ph : ph + h, pw : pw + wd, :])
    return xp
