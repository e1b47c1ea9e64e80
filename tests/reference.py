"""Literal-loop references for the convolution and its adjoint, written from the definition.

These are deliberately slow and obvious: one Python loop per index of the defining sum,
no padding buffers, no vectorisation. The tests compare the fast core against them, so
they must share no code with ``deconv_gui.core``. Use them only on tiny arrays.
"""

from __future__ import annotations

import numpy as np

__all__ = ["conv2d_loop", "conv2d_transpose_loop", "pair", "wcag_contrast"]


def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    """Return an int or an ``(h, w)`` pair as an ``(h, w)`` pair."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    return int(value[0]), int(value[1])


def _as_4d_filter(w: np.ndarray) -> np.ndarray:
    w = np.asarray(w, dtype=np.float64)
    return w[..., np.newaxis] if w.ndim == 3 else w


def conv2d_loop(
    x: np.ndarray,
    w: np.ndarray,
    b: float | np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """Strided, zero-padded, dilated cross-correlation by explicit loops, in float64.

    Parameters
    ----------
    x : numpy.ndarray
        Image ``(H, W, C_in)`` or batch ``(m, H, W, C_in)``.
    w : numpy.ndarray
        Filter ``(f_h, f_w, C_in, C_out)`` or ``(f_h, f_w, C_in)``.
    b : float or numpy.ndarray, optional
        Scalar or ``(C_out,)`` bias.
    stride, padding, dilation : int or (int, int)
        As in PyTorch's ``conv2d``.

    Returns
    -------
    numpy.ndarray
        ``(H_out, W_out, C_out)`` (or batched), float64.

    Notes
    -----
    .. math::

        y[h, w, o] = b_o + \\sum_{i, j, c} w[i, j, c, o]\\,
                     x[s_h h + d_h i - p_h,\\; s_w w + d_w j - p_w,\\; c],

    where terms whose image index falls outside the image are zero.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 4:
        return np.stack([conv2d_loop(xi, w, b, stride, padding, dilation) for xi in x])
    w = _as_4d_filter(w)
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    height, width, c_in = x.shape
    fh, fw, _, c_out = w.shape
    h_out = (height + 2 * ph - dh * (fh - 1) - 1) // sh + 1
    w_out = (width + 2 * pw - dw * (fw - 1) - 1) // sw + 1
    y = np.zeros((h_out, w_out, c_out))
    for h in range(h_out):
        for col in range(w_out):
            for o in range(c_out):
                total = 0.0 if b is None else float(np.broadcast_to(b, (c_out,))[o])
                for i in range(fh):
                    for j in range(fw):
                        row_in = sh * h + dh * i - ph
                        col_in = sw * col + dw * j - pw
                        if 0 <= row_in < height and 0 <= col_in < width:
                            for c in range(c_in):
                                total += w[i, j, c, o] * x[row_in, col_in, c]
                y[h, col, o] = total
    return y


def conv2d_transpose_loop(
    y: np.ndarray,
    w: np.ndarray,
    input_shape: tuple[int, ...],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """The adjoint of :func:`conv2d_loop` (without bias) by an explicit scatter loop.

    Parameters
    ----------
    y : numpy.ndarray
        ``(H_out, W_out, C_out)`` or batch ``(m, H_out, W_out, C_out)``.
    w : numpy.ndarray
        The forward filter ``(f_h, f_w, C_in, C_out)`` or ``(f_h, f_w, C_in)``.
    input_shape : tuple of int
        ``(H, W, C_in)`` of one forward input image.
    stride, padding, dilation : int or (int, int)
        The forward hyper-parameters.

    Returns
    -------
    numpy.ndarray
        ``input_shape`` (with the batch axis if ``y`` had one), float64.

    Notes
    -----
    Every forward term :math:`w[i, j, c, o]\\, x[r, k, c]` that contributed to
    :math:`y[h, w, o]` is sent back:
    :math:`x^T[r, k, c] \\mathrel{+}= w[i, j, c, o]\\, y[h, w, o]`.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 4:
        return np.stack(
            [conv2d_transpose_loop(yi, w, input_shape, stride, padding, dilation) for yi in y]
        )
    w = _as_4d_filter(w)
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    height, width, c_in = input_shape[-3:]
    fh, fw, _, c_out = w.shape
    x = np.zeros((height, width, c_in))
    h_out, w_out, _ = y.shape
    for h in range(h_out):
        for col in range(w_out):
            for o in range(c_out):
                for i in range(fh):
                    for j in range(fw):
                        row_in = sh * h + dh * i - ph
                        col_in = sw * col + dw * j - pw
                        if 0 <= row_in < height and 0 <= col_in < width:
                            for c in range(c_in):
                                x[row_in, col_in, c] += w[i, j, c, o] * y[h, col, o]
    return x


def wcag_contrast(foreground, background) -> float:
    """WCAG 2's contrast ratio of two sRGB colours (``"#rrggbb"`` or 0–255 triples), as
    written in the standard: 1 (the same) to 21 (black on white)."""

    def rgb(colour):
        if isinstance(colour, str):
            return [int(colour[k : k + 2], 16) for k in (1, 3, 5)]
        return list(colour)[:3]

    def luminance(colour) -> float:
        out = 0.0
        for value, weight in zip(rgb(colour), (0.2126, 0.7152, 0.0722), strict=True):
            c = value / 255
            out += weight * (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
        return out

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
