"""The layers of a network, each with its forward pass and the linear maps around an input.

Every layer maps an image ``(H, W, C)`` (or a batch ``(m, H, W, C)``) to another and, at
a given input, is *piecewise linear*: a convolution is affine, a ReLU multiplies by a
0/1 mask, a max-pool selects one pixel per window (its *switches*). ``forward`` returns
the output and a ``state`` (the mask, the switches) from which the layer gives

- ``jvp(v, state)``: its Jacobian ``J v`` at that input;
- ``vjp(u, state)``: ``Jᵀ u`` (backprop);
- ``deconvnet(u, state)``: Zeiler & Fergus's backward rule (a ReLU applied to the
  signal instead of masking by the forward input);
- ``guided(u, state)``: Springenberg et al.'s guided backprop (both).

The three backward rules differ only at the nonlinearities; a convolution is always
its transpose (biases unused), a pooling layer its own adjoint with the switches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..geometry import as_pair
from ..operator import ConvOperator
from ..transposed import ConvTransposeOperator

__all__ = [
    "Affine",
    "AvgPool",
    "Conv",
    "ConvTranspose",
    "Layer",
    "LeakyReLU",
    "MaxPool",
    "Pad",
    "ReLU",
]

Shape = tuple[int, int, int]


class Layer:
    """Base: a linear layer whose backward rules are all its adjoint."""

    name: str = ""
    kind: str = ""

    def output_shape(self, input_shape: Shape) -> Shape:
        raise NotImplementedError

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def jvp(self, v: np.ndarray, state: Any) -> np.ndarray:
        raise NotImplementedError

    def vjp(self, u: np.ndarray, state: Any) -> np.ndarray:
        raise NotImplementedError

    def deconvnet(self, u: np.ndarray, state: Any) -> np.ndarray:
        return self.vjp(u, state)

    def guided(self, u: np.ndarray, state: Any) -> np.ndarray:
        return self.vjp(u, state)

    @property
    def is_linear(self) -> bool:
        """True when ``jvp`` does not depend on the input (conv, pooling by average)."""
        return True


@dataclass
class Conv(Layer):
    """``A x + b``: a linear operator ``A`` and a bias ``(C_out,)``.

    ``A`` is a :class:`~deconv_gui.core.ConvOperator`, or a
    :class:`~deconv_gui.core.ConvTransposeOperator` for a decoder's ConvTranspose2d
    (``kind`` ``"conv_transpose"``, see :func:`ConvTranspose`): the layer needs only the
    operator's ``apply``, its adjoint and its shapes.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvOperator
    >>> op = ConvOperator.from_weights(np.ones((3, 3, 1, 2)), input_shape=(6, 6, 1), stride=2)
    >>> Conv(op).kind, ConvTranspose(op).kind, ConvTranspose(op).output_shape((2, 2, 2))
    ('conv', 'conv_transpose', (6, 6, 1))
    """

    op: ConvOperator
    bias: np.ndarray | None = None
    name: str = "conv"
    kind: str = field(default="conv", init=False)

    def __post_init__(self) -> None:
        self.kind = "conv_transpose" if self.op.transposed else "conv"

    def output_shape(self, input_shape: Shape) -> Shape:
        return self.op.geometry.output_shape

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        y = self.op.apply(x)
        return (y if self.bias is None else y + self.bias), None

    def jvp(self, v: np.ndarray, state: Any) -> np.ndarray:
        return self.op.apply(v)

    def vjp(self, u: np.ndarray, state: Any) -> np.ndarray:
        return self.op.apply_adjoint(u)


def ConvTranspose(
    conv: ConvOperator, bias: np.ndarray | None = None, name: str = "conv_transpose"
) -> Conv:
    """``Bᵀ y + b``: the transpose of the convolution ``conv`` (PyTorch's ConvTranspose2d),
    a :class:`Conv` layer of its :class:`~deconv_gui.core.ConvTransposeOperator`."""
    return Conv(ConvTransposeOperator.of(conv), bias, name)


@dataclass
class Affine(Layer):
    """Per-channel ``scale · x + shift``: a batch norm in inference mode."""

    scale: np.ndarray
    shift: np.ndarray
    name: str = "batchnorm"
    kind: str = field(default="batchnorm", init=False)

    @classmethod
    def from_batchnorm(
        cls, gamma: Any, beta: Any, mean: Any, var: Any, eps: float = 1e-5, name: str = "batchnorm"
    ) -> Affine:
        """The affine map of ``γ (x − μ) / √(σ² + ε) + β``."""
        scale = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(var, np.float64) + eps)
        return cls(scale, np.asarray(beta, np.float64) - scale * np.asarray(mean, np.float64), name)

    def output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        return x * self.scale + self.shift, None

    def jvp(self, v: np.ndarray, state: Any) -> np.ndarray:
        return v * self.scale

    def vjp(self, u: np.ndarray, state: Any) -> np.ndarray:
        return u * self.scale


@dataclass
class Pad(Layer):
    """Zeros around the image, ``((top, bottom), (left, right))`` (Keras's ZeroPadding2D
    before a pooling: zeros, not the pooling's own padding); its adjoint crops them off."""

    pads: Any = ((1, 1), (1, 1))
    name: str = "pad"
    kind: str = field(default="pad", init=False)

    def __post_init__(self) -> None:
        pads = np.asarray(self.pads, dtype=int)
        if pads.shape != (2, 2) or np.any(pads < 0):
            raise ValueError(f"pads must be ((top, bottom), (left, right)) >= 0, got {self.pads}")
        self.pads = tuple((int(a), int(b)) for a, b in pads)

    def output_shape(self, input_shape: Shape) -> Shape:
        (t, b), (lf, r) = self.pads
        return (input_shape[0] + t + b, input_shape[1] + lf + r, input_shape[2])

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        return self.jvp(x, None), None

    def jvp(self, v: np.ndarray, state: Any) -> np.ndarray:
        lead = [(0, 0)] * (v.ndim - 3)
        return np.pad(v, [*lead, *self.pads, (0, 0)])

    def vjp(self, u: np.ndarray, state: Any) -> np.ndarray:
        (t, b), (lf, r) = self.pads
        return u[..., t : u.shape[-3] - b, lf : u.shape[-2] - r, :]


@dataclass
class LeakyReLU(Layer):
    """``max(x, 0) + slope · min(x, 0)``; ``slope = 0`` is the ReLU."""

    slope: float = 0.01
    name: str = "leaky_relu"
    kind: str = field(default="leaky_relu", init=False)
    is_linear: ClassVar[bool] = False

    def output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def gain(self, positive: np.ndarray) -> np.ndarray:
        """The slope at each unit, from the forward pass's mask (its ``state``)."""
        return np.where(positive, 1.0, self.slope)

    def _scale(self, v: np.ndarray, positive: np.ndarray) -> np.ndarray:
        """``v`` times the gain; a ReLU multiplies by the mask itself (no gain array:
        this runs twice per iteration of a ``J⁺`` solve)."""
        if self.slope == 0:
            return v * positive
        return v * self.gain(positive)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        positive = x > 0
        return self._scale(x, positive), positive

    def jvp(self, v: np.ndarray, state: Any) -> np.ndarray:
        return self._scale(v, state)

    def vjp(self, u: np.ndarray, state: Any) -> np.ndarray:
        return self._scale(u, state)

    def deconvnet(self, u: np.ndarray, state: Any) -> np.ndarray:
        return self._scale(u, u > 0)  # the nonlinearity applied to the signal

    def guided(self, u: np.ndarray, state: Any) -> np.ndarray:
        return self._scale(self.deconvnet(u, state), state)


@dataclass
class ReLU(LeakyReLU):
    """``max(x, 0)``."""

    slope: float = 0.0
    name: str = "relu"
    kind: str = field(default="relu", init=False)


def _pool_windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], pad, fill):
    """Windows ``(m, H_out, W_out, C, k_h, k_w)`` of ``x`` padded with ``fill``."""
    (ph, pw) = pad
    padded = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)), constant_values=fill)
    windows = sliding_window_view(padded, kernel, axis=(1, 2))
    return windows[:, :: stride[0], :: stride[1]], padded.shape


@dataclass
class _Pool(Layer):
    kernel: Any = 2
    stride: Any = None
    padding: Any = 0

    def __post_init__(self) -> None:
        self.kernel = as_pair(self.kernel, "kernel", minimum=1)
        self.stride = as_pair(
            self.kernel if self.stride is None else self.stride, "stride", minimum=1
        )
        self.padding = as_pair(self.padding, "padding", minimum=0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel, strict=True)):
            raise ValueError(
                f"padding {self.padding} must be at most half the kernel {self.kernel}"
            )

    def output_shape(self, input_shape: Shape) -> Shape:
        h, w, c = input_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        return ((h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1, c)


def _switch_index(m: int, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, ...]:
    """Fancy index of the winners for ``m`` images (switches recorded on one or on ``m``)."""
    channels = np.arange(rows.shape[-1])[None, None, None, :]
    return (np.arange(m)[:, None, None, None], rows, cols, channels)


@dataclass
class MaxPool(_Pool):
    """Max over each window; the switches (which pixel won) make it linear at ``x``."""

    name: str = "maxpool"
    kind: str = field(default="maxpool", init=False)
    is_linear: ClassVar[bool] = False

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        batch = x[None] if x.ndim == 3 else x
        windows, padded_shape = _pool_windows(
            batch, self.kernel, self.stride, self.padding, -np.inf
        )
        flat = windows.reshape(*windows.shape[:4], -1)
        winner = flat.argmax(axis=-1)  # first maximum, as PyTorch
        out = np.take_along_axis(flat, winner[..., None], -1)[..., 0]
        # the switches: row and column of each winner in the padded input
        a, b = np.divmod(winner, self.kernel[1])
        rows = np.arange(winner.shape[1])[None, :, None, None] * self.stride[0] + a
        cols = np.arange(winner.shape[2])[None, None, :, None] * self.stride[1] + b
        state = (rows, cols, padded_shape)
        return (out[0] if x.ndim == 3 else out), state

    def jvp(self, v: np.ndarray, state: Any) -> np.ndarray:
        rows, cols, _ = state
        batch = v[None] if v.ndim == 3 else v
        (ph, pw) = self.padding
        padded = np.pad(batch, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
        picked = padded[_switch_index(batch.shape[0], rows, cols)]
        return picked[0] if v.ndim == 3 else picked

    def vjp(self, u: np.ndarray, state: Any) -> np.ndarray:
        rows, cols, padded_shape = state
        batch = u[None] if u.ndim == 3 else u
        shape = (batch.shape[0], *padded_shape[1:])
        out = np.zeros(shape, dtype=np.result_type(batch, np.float32))
        index = _switch_index(batch.shape[0], rows, cols)
        if all(s >= k for s, k in zip(self.stride, self.kernel, strict=True)):
            out[index] = batch  # windows apart: each pixel wins at most once
        else:
            np.add.at(out, index, batch)
        (ph, pw) = self.padding
        out = out[:, ph : out.shape[1] - ph, pw : out.shape[2] - pw]
        return out[0] if u.ndim == 3 else out


@dataclass
class AvgPool(_Pool):
    """Mean over each window (zero padding counted, as PyTorch's default)."""

    name: str = "avgpool"
    kind: str = field(default="avgpool", init=False)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        return self.jvp(x, None), x.shape[-3:]

    def jvp(self, v: np.ndarray, state: Any) -> np.ndarray:
        batch = v[None] if v.ndim == 3 else v
        windows, _ = _pool_windows(batch, self.kernel, self.stride, self.padding, 0.0)
        out = windows.mean(axis=(-2, -1))
        return out[0] if v.ndim == 3 else out

    def vjp(self, u: np.ndarray, state: Any) -> np.ndarray:
        """Each output spread evenly over its window (``state``: the input's shape)."""
        batch = u[None] if u.ndim == 3 else u
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        h, w, c = state
        dtype = np.result_type(batch, np.float32)
        out = np.zeros((batch.shape[0], h + 2 * ph, w + 2 * pw, c), dtype=dtype)
        share = batch / (kh * kw)
        ho, wo = batch.shape[1:3]
        for a in range(kh):
            for b in range(kw):
                out[:, a : a + sh * (ho - 1) + 1 : sh, b : b + sw * (wo - 1) + 1 : sw] += share
        out = out[:, ph : ph + h, pw : pw + w]
        return out[0] if u.ndim == 3 else out
