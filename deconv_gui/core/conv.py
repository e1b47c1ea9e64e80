"""Strided, padded, dilated 2-D cross-correlation and its exact adjoint.

Layouts follow the seed question (channels last): images are ``(H, W, C_in)`` or a
batch ``(m, H, W, C_in)``; filters are ``(f_h, f_w, C_in, C_out)`` (HWIO).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from ._kernels import adjoint, forward
from .geometry import (
    ConvGeometry,
    Padding,
    as_float_array,
    check_output_shape,
    normalize_bias,
    normalize_weights,
    transpose_input_shape,
)

__all__ = ["conv2d", "conv2d_transpose", "short_output"]


def _as_batch(array: Any, name: str, layout: str, finite: bool = True) -> tuple[np.ndarray, bool]:
    arr = as_float_array(array, name, finite=finite)
    if arr.ndim == 3:
        return arr[np.newaxis], False
    if arr.ndim == 4:
        return arr, True
    raise ValueError(
        f"{name} must have shape {layout} or a batch (m, {layout[1:]}, "
        f"got {arr.ndim} dimensions with shape {arr.shape}"
    )


def conv2d(
    x: Any,
    weights: Any,
    bias: Any = None,
    *,
    stride: int | tuple[int, int] = 1,
    padding: Padding = 0,
    dilation: int | tuple[int, int] = 1,
    padding_mode: str = "zeros",
    groups: int = 1,
    flip: bool = False,
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
    stride, dilation : int or (int, int)
        Stride (>= 1), dilation (>= 1).
    padding : int, (int, int), ((top, bottom), (left, right)) or str
        Padding on each side (>= 0), per axis, or per side; or ``"same"`` (TF/Keras,
        ONNX ``SAME_UPPER``, PyTorch ``'same'``: ``ceil(n / s)`` outputs, the odd pixel
        at the bottom/right), ``"same_lower"`` (the odd pixel at the top/left) or
        ``"valid"``. Asymmetric padding is PyTorch's ``F.pad`` followed by an unpadded
        ``conv2d``.
    padding_mode : str
        ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``, as PyTorch's
        ``nn.Conv2d(padding_mode=...)``: ``F.pad`` of the image, then no padding.
    groups : int
        PyTorch's ``groups``: ``weights`` is ``(f_h, f_w, C_in/groups, C_out)`` and
        output channel group ``k`` reads only input channel group ``k``.
    flip : bool
        True convolution (``scipy.signal.convolve``): the kernel is flipped first.

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

    There is no kernel flip. The input is split into its :math:`s_h s_w` stride phases;
    per row phase one GEMM over the channels (and the column phases) of each pixel gives
    one partial plane per group of filter taps, and the output is the sum of those planes
    shifted by each group's offset. Both steps run in cache-sized row blocks on the
    kernel threads (:mod:`deconv_gui.core.threads`); there is no loop over pixels. With
    many channels (from about 16 on each side) the taps' windows of a row block are
    gathered into one matrix instead, and BLAS multiplies it by the filter.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import conv2d
    >>> x = np.arange(16.0).reshape(4, 4, 1)
    >>> conv2d(x, np.ones((2, 2, 1)), stride=2)[:, :, 0]
    array([[10., 18.],
           [42., 50.]])
    >>> conv2d(np.ones((7, 7, 3)), np.ones((3, 3, 3, 4)), 0.5, stride=2, padding=1).shape
    (4, 4, 4)
    """
    # NaN or inf in x is found in the result when every pixel of x is read (NaN and inf
    # spread through any product and sum, also with a zero weight): that spares a pass
    # over x, a third of the time of a strided float32 pass. Otherwise x is checked now.
    xb, batched = _as_batch(x, "x", "(H, W, C_in)", finite=False)
    w = normalize_weights(weights)
    geom = ConvGeometry(
        xb.shape[1:], w.shape, stride, padding, dilation, padding_mode, groups, flip
    )
    reads_all = _reads_every_pixel(geom)
    if not reads_all:
        as_float_array(xb, "x")
    dtype = xb.dtype
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported just below
        w = w.astype(dtype, copy=False)
        b = normalize_bias(bias, w.shape[3], dtype)
        out = forward(xb, w, geom)
        if b is not None:
            out += b
    names = "x, weights and bias" if b is not None else "x and weights"
    _check_finite(out, names, xb if reads_all else None)
    return out if batched else out[0]


@lru_cache(maxsize=64)  # a geometry is immutable; layers are called again and again
def _reads_every_pixel(geom: ConvGeometry) -> bool:
    """Whether some filter tap reads each input pixel (with zero padding, so at least)."""
    for axis in (0, 1):
        size, n_out = geom.input_shape[axis], geom.output_shape[axis]
        stride, pad, dil = geom.stride[axis], geom.padding[axis], geom.dilation[axis]
        taps = dil * np.arange(geom.filter_shape[axis]) - pad
        read = (stride * np.arange(n_out)[:, np.newaxis] + taps).ravel()
        covered = np.zeros(size, dtype=bool)
        covered[read[(read >= 0) & (read < size)]] = True
        if not covered.all():
            return False
    return True


def _check_finite(out: np.ndarray, names: str, x: np.ndarray | None = None) -> None:
    """A ``ValueError`` naming the inputs when finite inputs overflowed the dtype.

    ``x``, when given, has not been checked yet: a non-finite result is first blamed on
    NaN or inf in it.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        total = out.sum()
    if not np.isfinite(total) and not np.isfinite(out).all():
        if x is not None:
            as_float_array(x, "x")
        raise ValueError(
            f"{names}: the result overflows {out.dtype} (values too large in magnitude; "
            "rescale them or use float64)"
        )


def conv2d_transpose(
    y: Any,
    weights: Any,
    *,
    input_shape: tuple[int, ...] | None = None,
    stride: int | tuple[int, int] = 1,
    padding: Padding = 0,
    output_padding: int | tuple[int, int] | None = None,
    dilation: int | tuple[int, int] = 1,
    padding_mode: str = "zeros",
    groups: int = 1,
    flip: bool = False,
) -> np.ndarray:
    """Apply the exact adjoint ``Aᵀ`` of the linear part of :func:`conv2d`: PyTorch's
    ``conv_transpose2d``.

    Parameters
    ----------
    y : array_like
        Output-space array ``(H_out, W_out, C_out)`` or a batch ``(m, H_out, W_out, C_out)``.
    weights : array_like
        The forward filter ``(f_h, f_w, C_in, C_out)`` (or 3-D for ``C_out = 1``), used
        as it is: no spatial flip or transpose is needed by the caller.
    input_shape : tuple of int, optional
        ``(H, W, C_in)`` (or ``(m, H, W, C_in)``) of the forward input. This removes
        the output-size ambiguity that PyTorch resolves with ``output_padding``: per
        axis, :func:`~deconv_gui.core.matching_input_sizes` lists the (at most ``stride``)
        sizes that give ``y``'s size, and ``output_padding = n - n_min`` where ``n`` is
        ``input_shape``'s size and ``n_min = (n_out - 1) s - p_0 - p_1 + d(f - 1) + 1``
        the smallest of them that PyTorch can return (``conv_transpose2d`` with
        ``output_padding = 0``). Give this or ``output_padding`` (or both, agreeing).
    stride, padding, dilation : int or (int, int)
        The forward operator's hyper-parameters (``padding`` in any form of
        :func:`conv2d`; ``"same"`` without ``input_shape`` or ``output_padding`` returns
        ``n_out · s`` rows and columns, as Keras's ``Conv2DTranspose``).
    output_padding : int or (int, int), optional
        PyTorch's ``output_padding``: the result has ``n_min + output_padding`` rows
        (columns), each below ``max(stride, dilation)`` as PyTorch requires (default 0
        when ``input_shape`` is not given). Then, with ``W_t`` PyTorch's
        ``(C_in_t, C_out_t / groups, k_h, k_w)`` weight of ``ConvTranspose2d``,
        ``conv2d_transpose(y, W_t.permute(2, 3, 1, 0), stride=…, padding=…,
        output_padding=…, dilation=…, groups=…)`` is ``F.conv_transpose2d(y, W_t, …)``
        (channels last). With a name for ``padding``, it picks among the sizes that
        name gives ``y``'s size: ``(n_out − 1) s + 1 + output_padding``.
    padding_mode : str
        The forward operator's padding mode; for a mode other than zeros the padded
        border's share is folded back onto the image pixels it copied.
    groups, flip : int, bool
        The forward operator's groups and kernel flip.

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
    reproduces ``input_shape``. It runs the forward algorithm backwards: shifted copies
    of ``y`` per group of taps, then one GEMM per stride phase of the input, so each
    input pixel is written exactly once (no scatter-add).

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import conv2d, conv2d_transpose
    >>> rng = np.random.default_rng(0)
    >>> x, w, y = rng.random((7, 7, 3)), rng.random((3, 3, 3)), rng.random((3, 3, 1))
    >>> x_t = conv2d_transpose(y, w, input_shape=x.shape, stride=2)
    >>> x_t.shape
    (7, 7, 3)
    >>> bool(np.isclose(np.vdot(conv2d(x, w, stride=2), y), np.vdot(x, x_t)))  # <Ax, y> = <x, Aᵀy>
    True
    """
    yb, batched = _as_batch(y, "y", "(H_out, W_out, C_out)")
    w = normalize_weights(weights)
    if input_shape is None:
        c_in = w.shape[2] * groups if isinstance(groups, int) and groups > 0 else w.shape[2]
        shape: tuple[int, ...] = transpose_input_shape(
            yb.shape[1:], w.shape, stride, padding, output_padding, dilation, c_in
        )
    else:
        shape = tuple(input_shape)
        if len(shape) == 4:
            if not batched or shape[0] != yb.shape[0]:
                raise ValueError(
                    f"input_shape {shape} has a batch axis that does not match y's shape {yb.shape}"
                )
            shape = shape[1:]
    geom = ConvGeometry(shape, w.shape, stride, padding, dilation, padding_mode, groups, flip)
    if input_shape is not None and output_padding is not None:
        implied = transpose_input_shape(
            yb.shape[1:], w.shape, stride, padding, output_padding, dilation, shape[2]
        )
        if implied != geom.input_shape:
            raise ValueError(
                f"output_padding {output_padding!r} gives an input of {implied[:2]}, but "
                f"input_shape is {geom.input_shape[:2]}: give one of them, or both agreeing"
            )
    yb = _extend_output(yb, geom)
    dtype = yb.dtype
    with np.errstate(over="ignore", invalid="ignore"):
        x = adjoint(yb, w.astype(dtype, copy=False), geom)
    _check_finite(x, "y and weights")
    return x if batched else x[0]


def _extend_output(yb: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``y`` zero-extended to the forward output of ``geom``.

    An ``output_padding`` of at least the stride (PyTorch allows it below the dilation)
    gives an input whose forward output is longer than ``y``: the transpose is then that
    of the conv with its last outputs cropped. Any other mismatch is an error.
    """
    if not short_output(yb.shape[1:], geom):
        check_output_shape(yb.shape[1:], geom)
        return yb
    full = geom.output_shape
    extra = ((0, 0), (0, full[0] - yb.shape[1]), (0, full[1] - yb.shape[2]), (0, 0))
    return np.pad(yb, extra)


def short_output(y_shape: tuple[int, ...], geom: ConvGeometry) -> bool:
    """Whether ``y_shape`` is ``geom``'s output cropped by an ``output_padding`` from the
    stride up to the dilation (the conv_transpose2d sizes a strided conv cannot return)."""
    full = geom.output_shape
    if len(y_shape) != 3 or y_shape[2] != full[2] or y_shape[:2] == full[:2]:
        return False
    for a in (0, 1):
        s, d, f = geom.stride[a], geom.dilation[a], geom.filter_shape[a]
        n_min = (y_shape[a] - 1) * s - sum(geom.pads[a]) + d * (f - 1) + 1
        if not 0 <= geom.input_shape[a] - n_min < max(s, d):
            return False
    return True
