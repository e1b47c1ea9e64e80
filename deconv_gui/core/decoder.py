"""The decoder a network would learn: the least-squares transposed convolution ``D`` with
``D(A x) ≈ x`` over a set of images.

Notes
-----
``D(y) = conv_transpose(y, W) + b`` (stride of the layer, a ``K × K`` kernel) is linear
in its parameters: output pixel ``i`` receives ``y[j]`` through tap ``u`` exactly when
``i = j s − p + u``. So ``D(y)[i, c] = Σ_{u, o} Φ_i[u, o] W[u, c, o] + b_c`` with a
design row ``Φ_i`` that holds the ``y`` values each tap sees (0 where none), the same for
every output channel ``c``. Training is one linear least-squares problem with the normal
equations accumulated image by image, ``G = Σ ΦᵀΦ`` and ``R = Σ Φᵀ x``, solved for the
minimum-norm ``θ = (W, b)``: the exact optimum of ``Σ ‖x − D(A x)‖²`` (the one a
network trained to convergence with this layer would approach), whatever the number
of images.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .conv import conv2d_transpose
from .geometry import as_pair

__all__ = [
    "Decoder",
    "DecoderFit",
    "NormalEquations",
    "check_decoder",
    "check_decoder_size",
    "decoder_geometry",
    "fit_decoder",
    "normal_equations",
    "solve_decoder",
]

#: Bytes of design rows built at once (rows of output are processed in blocks).
DESIGN_BLOCK_BYTES = 64 * 2**20

#: Most unknowns ``K_h K_w C_y + 1`` of a decoder fit: its normal equations are a dense
#: square of that side (128 MiB here) solved by SVD, cubic in it. A 16 × 16 kernel on 16
#: channels, or 8 × 8 on 64, fits; a 1000 × 1000 kernel asked for terabytes.
MAX_DECODER_UNKNOWNS = 4097


def check_decoder_size(kernel_size: Any, channels: int) -> int:
    """The unknowns ``K_h K_w C_y + 1`` of a ``kernel_size`` decoder of ``channels`` inputs.

    Raises
    ------
    ValueError
        Naming ``kernel_size`` when it is not positive, or when the unknowns exceed
        :data:`MAX_DECODER_UNKNOWNS` (before anything that size is allocated).

    Examples
    --------
    >>> check_decoder_size(4, 3)
    49
    >>> check_decoder_size(1000, 1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: kernel_size (1000, 1000) on 1 channel(s) gives 1,000,001 unknowns, more ...
    """
    kh, kw = as_pair(kernel_size, "kernel_size", minimum=1)
    unknowns = kh * kw * int(channels) + 1
    if unknowns > MAX_DECODER_UNKNOWNS:
        raise ValueError(
            f"kernel_size {(kh, kw)} on {channels} channel(s) gives {unknowns:,} unknowns, "
            f"more than the {MAX_DECODER_UNKNOWNS:,} a decoder fit solves for (a dense "
            "square of that side)"
        )
    return unknowns


@dataclass(frozen=True)
class Decoder:
    """A transposed convolution with bias: ``conv2d_transpose(y, weights, …) + bias``.

    ``weights`` is ``(K_h, K_w, C_x, C_y)`` (this project's filter layout: the forward
    convolution it is the transpose of maps ``C_x`` channels to ``C_y``).
    """

    weights: np.ndarray
    bias: np.ndarray
    stride: tuple[int, int]
    padding: tuple[int, int]
    output_padding: tuple[int, int]

    def output_hw(self, y_hw: tuple[int, int]) -> tuple[int, int]:
        """``(H, W)`` of ``D(y)``: ``(n − 1) s − 2p + K + output_padding`` per axis."""
        k = self.weights.shape[:2]
        return (
            (y_hw[0] - 1) * self.stride[0] - 2 * self.padding[0] + k[0] + self.output_padding[0],
            (y_hw[1] - 1) * self.stride[1] - 2 * self.padding[1] + k[1] + self.output_padding[1],
        )

    def apply(self, y: Any) -> np.ndarray:
        """``D(y)`` for ``(H_y, W_y, C_y)`` or a batch."""
        arr = np.asarray(y, dtype=np.float64)
        h, w = self.output_hw(arr.shape[-3:-1])
        out = conv2d_transpose(
            arr,
            self.weights,
            input_shape=(h, w, self.weights.shape[2]),
            stride=self.stride,
            padding=self.padding,
        )
        return out + self.bias


def check_decoder(decoder: Decoder, geometry: Any) -> None:
    """Refuse, in one line, a decoder that does not undo the layer of ``geometry``.

    Its stride must be the layer's, its channels ``C_y → C_x`` the layer's output and
    input, and ``D(y)`` must have the image's size (its padding and output_padding then
    fit the layer's sizes).

    Parameters
    ----------
    decoder : Decoder
        What ``fit-decoder`` wrote.
    geometry : ConvGeometry
        The layer on the image (its ``input_shape``, ``output_shape`` and ``stride``).

    Raises
    ------
    ValueError
        Naming ``decoder`` and what differs.
    """
    x_shape, y_shape = geometry.input_shape, geometry.output_shape
    strides = tuple(geometry.stride)
    if tuple(decoder.stride) != strides:
        raise ValueError(
            f"decoder: its stride {decoder.stride} is not the layer's {strides} "
            "(fitted for another layer)"
        )
    c_x, c_y = decoder.weights.shape[2], decoder.weights.shape[3]
    if (c_x, c_y) != (x_shape[2], y_shape[2]):
        raise ValueError(
            f"decoder: it takes {c_y} channel(s) to {c_x}; this layer's output has "
            f"{y_shape[2]}, its input {x_shape[2]}"
        )
    size = decoder.output_hw((y_shape[0], y_shape[1]))
    if size != (x_shape[0], x_shape[1]):
        raise ValueError(
            f"decoder: with padding {decoder.padding} and output_padding "
            f"{decoder.output_padding} it returns {size[0]}×{size[1]} from the layer's "
            f"{y_shape[0]}×{y_shape[1]} output, not the image's {x_shape[0]}×{x_shape[1]} "
            "(fitted for another image size or padding)"
        )


@dataclass(frozen=True)
class DecoderFit:
    """A fitted decoder, its mean squared error per value on the training set, and the count."""

    decoder: Decoder
    mse: float
    n_images: int


def decoder_geometry(
    x_hw: tuple[int, int], y_hw: tuple[int, int], stride: Any, kernel_size: Any
) -> tuple[tuple[int, int], tuple[int, int]]:
    """The ``padding`` and ``output_padding`` that make a ``K``-tap decoder return ``x_hw``.

    The smallest padding ``p ≥ 0`` with ``0 ≤ output_padding < s``, where
    ``H = (H_y − 1) s − 2 p + K + output_padding``.

    Raises
    ------
    ValueError
        Naming ``kernel_size`` when no padding reaches ``x_hw`` (a kernel too small for
        the stride and the layer's sizes).

    Examples
    --------
    >>> decoder_geometry((64, 64), (32, 32), 2, 4)  # PyTorch's usual k=4, s=2, p=1
    ((1, 1), (0, 0))
    >>> decoder_geometry((7, 7), (3, 3), 2, 3)
    ((0, 0), (0, 0))
    """
    strides, kernels = (
        as_pair(stride, "stride", minimum=1),
        as_pair(kernel_size, "kernel_size", minimum=1),
    )
    pads, extras = [], []
    for n, n_y, s, k in zip(x_hw, y_hw, strides, kernels, strict=True):
        base = (n_y - 1) * s + k
        pad = max(0, -(-(base - n) // 2))
        extra = n - (base - 2 * pad)
        if not 0 <= extra < s:
            raise ValueError(
                f"kernel_size {k} cannot give {n} pixels from {n_y} at stride {s} "
                f"(a transposed convolution reaches {base - 2 * pad}; try a larger kernel_size)"
            )
        pads.append(pad)
        extras.append(extra)
    return (pads[0], pads[1]), (extras[0], extras[1])


def _tap_sources(n: int, n_y: int, stride: int, pad: int, k: int) -> np.ndarray:
    """``src[u, i]``: the index ``j`` of ``y`` that tap ``u`` brings to output ``i``, or ``n_y``."""
    i = np.arange(n)[None, :]
    offset = i + pad - np.arange(k)[:, None]  # = j s
    j = offset // stride
    valid = (offset % stride == 0) & (j >= 0) & (j < n_y)
    return np.where(valid, j, n_y)  # n_y points at an appended zero row


def _design_blocks(y: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> Iterable[np.ndarray]:
    """Design rows ``Φ`` (pixels × (K_h K_w C_y + 1)) for blocks of output rows."""
    padded = np.zeros((y.shape[0] + 1, y.shape[1] + 1, y.shape[2]))
    padded[:-1, :-1] = y
    kh, n = rows.shape
    kw, w = cols.shape
    per_row = w * (kh * kw * y.shape[2] + 1) * 8
    step = max(1, DESIGN_BLOCK_BYTES // per_row)
    for start in range(0, n, step):
        r = rows[:, start : start + step]  # (K_h, rows)
        block = padded[r[:, :, None, None], cols[None, None, :, :]]  # (K_h, rows, K_w, W, C_y)
        block = block.transpose(1, 3, 0, 2, 4).reshape(r.shape[1] * w, -1)
        yield np.hstack([block, np.ones((block.shape[0], 1))])


@dataclass(frozen=True)
class NormalEquations:
    """``G = Σ ΦᵀΦ``, ``R = Σ Φᵀ x``, ``Σ ‖x‖²`` and the counts, for pairs of one size.

    Sums of these (``+``) in a fixed order give the same decoder whoever computed the
    terms: image by image here, or on the workers of a cluster.
    """

    gram: np.ndarray
    rhs: np.ndarray
    sum_squares: float
    n_values: int
    n_images: int
    shapes: tuple[tuple[int, ...], tuple[int, ...]]

    def __add__(self, other: NormalEquations) -> NormalEquations:
        if other.shapes != self.shapes:
            raise ValueError(
                f"images must all have one size: {other.shapes[0]} after {self.shapes[0]}"
            )
        return NormalEquations(
            self.gram + other.gram,
            self.rhs + other.rhs,
            self.sum_squares + other.sum_squares,
            self.n_values + other.n_values,
            self.n_images + other.n_images,
            self.shapes,
        )


def normal_equations(x_in: Any, y_in: Any, *, stride: Any, kernel_size: Any) -> NormalEquations:
    """The decoder's normal equations for one pair ``(x, y)`` (see :func:`fit_decoder`)."""
    x, y = np.asarray(x_in, dtype=np.float64), np.asarray(y_in, dtype=np.float64)
    if x.ndim != 3 or y.ndim != 3 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("images must be finite (H, W, C) arrays, and so must their outputs")
    n_params = check_decoder_size(kernel_size, y.shape[2])
    padding, _ = decoder_geometry(x.shape[:2], y.shape[:2], stride, kernel_size)
    targets = x.reshape(-1, x.shape[2])
    gram = np.zeros((n_params, n_params))
    rhs = np.zeros((n_params, x.shape[2]))
    start = 0
    for phi in _design_blocks(y, *_sources(x.shape, y.shape, stride, kernel_size, padding)):
        gram += phi.T @ phi
        rhs += phi.T @ targets[start : start + phi.shape[0]]
        start += phi.shape[0]
    return NormalEquations(gram, rhs, float(np.vdot(x, x)), x.size, 1, (x.shape, y.shape))


def solve_decoder(terms: NormalEquations, *, stride: Any, kernel_size: Any) -> DecoderFit:
    """The minimum-norm least-squares decoder of summed normal equations."""
    theta = np.linalg.lstsq(terms.gram, terms.rhs, rcond=None)[0]
    residual = (
        terms.sum_squares
        - 2.0 * float(np.vdot(theta, terms.rhs))
        + float(np.vdot(theta, terms.gram @ theta))
    )
    (x_shape, y_shape) = terms.shapes
    geometry = decoder_geometry(
        (x_shape[0], x_shape[1]), (y_shape[0], y_shape[1]), stride, kernel_size
    )
    decoder = _decoder(theta, terms.shapes, stride, kernel_size, geometry)
    return DecoderFit(decoder, max(residual, 0.0) / terms.n_values, terms.n_images)


def fit_decoder(
    pairs: Iterable[tuple[Any, Any]],
    *,
    stride: Any,
    kernel_size: Any,
    progress: Callable[[int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> DecoderFit:
    """The least-squares decoder over ``(x, y)`` pairs (``y`` the layer's output of ``x``).

    Parameters
    ----------
    pairs : iterable of (array_like, array_like)
        ``x`` ``(H, W, C_x)`` and ``y`` ``(H_y, W_y, C_y)``, all of one size.
    stride : int or (int, int)
        The layer's stride (the decoder's).
    kernel_size : int or (int, int)
        The decoder's ``K``.
    progress : callable, optional
        ``progress(n_done)`` after each pair.
    cancel : callable, optional
        Checked before each pair; when it returns True, ``InterruptedError`` is raised.

    Returns
    -------
    DecoderFit

    Raises
    ------
    ValueError
        On no pairs, pairs of different sizes, non-finite values, or a ``kernel_size``
        that cannot reach the image size.

    Examples
    --------
    Plain subsampling by 2 and a 2×2 decoder: each output pixel copies its 2×2 block's
    kept pixel; on constant images that is exact.

    >>> import numpy as np
    >>> xs = [np.full((4, 4, 1), v) for v in (0.0, 1.0, 3.0)]
    >>> fit = fit_decoder([(x, x[::2, ::2]) for x in xs], stride=2, kernel_size=2)
    >>> round(fit.mse, 12), np.round(fit.decoder.apply(np.full((2, 2, 1), 5.0))[0, :, 0], 9)
    (0.0, array([5., 5., 5., 5.]))
    """
    total: NormalEquations | None = None
    for x, y in pairs:
        if cancel is not None and cancel():
            raise InterruptedError("fitting the decoder was cancelled")
        term = normal_equations(x, y, stride=stride, kernel_size=kernel_size)
        total = term if total is None else total + term
        if progress is not None:
            progress(total.n_images)
    if total is None:
        raise ValueError("images: no images to fit the decoder on")
    return solve_decoder(total, stride=stride, kernel_size=kernel_size)


def _sources(x_shape, y_shape, stride, kernel_size, padding) -> tuple[np.ndarray, np.ndarray]:
    (sh, sw) = as_pair(stride, "stride", minimum=1)
    (kh, kw) = as_pair(kernel_size, "kernel_size", minimum=1)
    rows = _tap_sources(x_shape[0], y_shape[0], sh, padding[0], kh)
    cols = _tap_sources(x_shape[1], y_shape[1], sw, padding[1], kw)
    return rows, cols


def _decoder(theta, shapes, stride, kernel_size, geometry) -> Decoder:
    (kh, kw), c_x, c_y = as_pair(kernel_size, "kernel_size", minimum=1), shapes[0][2], shapes[1][2]
    weights = theta[:-1].reshape(kh, kw, c_y, c_x).transpose(0, 1, 3, 2)
    return Decoder(
        np.ascontiguousarray(weights),
        theta[-1].copy(),
        as_pair(stride, "stride", minimum=1),
        geometry[0],
        geometry[1],
    )
