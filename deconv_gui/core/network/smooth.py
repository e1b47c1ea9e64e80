"""Element-wise activations other than the (leaky) ReLU: sigmoid, tanh, SiLU (Swish),
GELU (and erf), hard sigmoid, hard swish, ELU, SELU and softplus, with PyTorch's forwards.

Each is ``y = f(x)`` unit by unit, so its Jacobian at ``x₀`` is the diagonal
``diag(f'(x₀))`` (its own adjoint): ``forward`` returns ``f(x)`` and, as its state, the
slopes ``f'(x)``. A chain with one of them is no longer piecewise linear: ``J`` is its
Jacobian at ``x₀`` and ``f(x) ≈ J x + c`` holds to first order only
(:attr:`Activation.first_order`; the hard sigmoid, piecewise linear, is exact on its
region as a ReLU is). The deconvnet and guided backprop change the ReLUs alone (as
Captum's do): these layers pass the signal back by their Jacobian in all three rules.

Examples
--------
>>> import numpy as np
>>> x = np.array([-1.0, 0.0, 2.0])
>>> y, slope = SiLU().forward(x)
>>> np.round(y, 4).tolist(), np.round(slope, 4).tolist()
([-0.2689, 0.0, 1.7616], [0.0723, 0.5, 1.0908])
>>> [layer.kind for layer in (GELU(), GELU(approximate="tanh"), HardSwish())]
['gelu', 'gelu', 'hardswish']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from scipy.special import erf, expit

from ..choices import check_choice
from .layers import Layer, Shape
from .residual import Fork

__all__ = [
    "ELU",
    "EXACT_WORDS",
    "FIRST_ORDER_WORDS",
    "GELU",
    "SELU",
    "SMOOTH_KINDS",
    "Activation",
    "Erf",
    "HardSigmoid",
    "HardSwish",
    "SiLU",
    "Sigmoid",
    "Softplus",
    "Tanh",
    "first_order",
    "linearity_words",
]


class Activation(Layer):
    """Base: ``f`` unit by unit; ``state`` the slopes ``f'(x)`` (see the module)."""

    #: True when the layer is curved, so a chain holding it is linear to first order only.
    first_order: ClassVar[bool] = True
    is_linear: ClassVar[bool] = False

    def values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``f(x)`` and ``f'(x)``."""
        raise NotImplementedError

    def output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        return self.values(np.asarray(x, dtype=np.float64))

    def jvp(self, v: np.ndarray, state: Any) -> np.ndarray:
        return v * state

    def vjp(self, u: np.ndarray, state: Any) -> np.ndarray:
        return u * state


@dataclass
class Sigmoid(Activation):
    """``1 / (1 + e^{−x})``."""

    name: str = "sigmoid"
    kind: str = field(default="sigmoid", init=False)

    def values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = expit(x)
        return s, s * (1 - s)


@dataclass
class Tanh(Activation):
    """``tanh x``."""

    name: str = "tanh"
    kind: str = field(default="tanh", init=False)

    def values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.tanh(x)
        return t, 1 - t * t


@dataclass
class SiLU(Activation):
    """``x · sigmoid(x)`` (Swish)."""

    name: str = "silu"
    kind: str = field(default="silu", init=False)

    def values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = expit(x)
        return x * s, s * (1 + x * (1 - s))


@dataclass
class GELU(Activation):
    """``x Φ(x)`` (``approximate="none"``, with erf) or its tanh approximation
    ``x/2 · (1 + tanh(√(2/π) (x + 0.044715 x³)))``, as PyTorch and ONNX define them."""

    approximate: str = "none"
    name: str = "gelu"
    kind: str = field(default="gelu", init=False)

    def __post_init__(self) -> None:
        check_choice("approximate", self.approximate, ("none", "tanh"))

    def values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.approximate == "tanh":
            c = math.sqrt(2 / math.pi)
            t = np.tanh(c * (x + 0.044715 * x**3))
            slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
            return 0.5 * x * (1 + t), slope
        cdf = 0.5 * (1 + erf(x / math.sqrt(2)))
        return x * cdf, cdf + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


@dataclass
class Erf(Activation):
    """``erf x`` (a GELU that ONNX writes out: ``x/2 · (1 + erf(x/√2))``)."""

    name: str = "erf"
    kind: str = field(default="erf", init=False)

    def values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return erf(x), np.exp(-x * x) * (2 / math.sqrt(math.pi))


@dataclass
class HardSigmoid(Activation):
    """``clip(α x + β, 0, 1)``; PyTorch's ``α = 1/6, β = 1/2`` by default (ONNX's own
    default is ``α = 0.2``). Piecewise linear: exact on ``x₀``'s region."""

    alpha: float = 1 / 6
    beta: float = 0.5
    name: str = "hardsigmoid"
    kind: str = field(default="hardsigmoid", init=False)
    first_order: ClassVar[bool] = False

    def values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = self.alpha * x + self.beta
        inside = (z > 0) & (z < 1)
        return np.clip(z, 0, 1), np.where(inside, self.alpha, 0.0)


@dataclass
class HardSwish(Activation):
    """``x · clip(x/6 + 1/2, 0, 1)`` (PyTorch's, MobileNetV3's)."""

    name: str = "hardswish"
    kind: str = field(default="hardswish", init=False)

    def values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gate, gate_slope = HardSigmoid().values(x)
        return x * gate, gate + x * gate_slope


@dataclass
class ELU(Activation):
    """``x`` for ``x > 0``, else ``α (eˣ − 1)``."""

    alpha: float = 1.0
    name: str = "elu"
    kind: str = field(default="elu", init=False)

    def values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        e = self.alpha * np.exp(np.minimum(x, 0))
        positive = x > 0
        return np.where(positive, x, e - self.alpha), np.where(positive, 1.0, e)


@dataclass
class SELU(Activation):
    """``λ · ELU_α(x)`` with the self-normalising constants (PyTorch's, ONNX's defaults)."""

    alpha: float = 1.6732632423543772
    gamma: float = 1.0507009873554805
    name: str = "selu"
    kind: str = field(default="selu", init=False)

    def values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y, slope = ELU(self.alpha).values(x)
        return self.gamma * y, self.gamma * slope


@dataclass
class Softplus(Activation):
    """``log(1 + e^{βx}) / β``, ``x`` itself where ``βx > threshold`` (PyTorch's)."""

    beta: float = 1.0
    threshold: float = 20.0
    name: str = "softplus"
    kind: str = field(default="softplus", init=False)

    def values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bx = self.beta * x
        linear = bx > self.threshold
        y = np.where(linear, x, np.logaddexp(0, bx) / self.beta)
        return y, np.where(linear, 1.0, expit(bx))


#: The kinds of :class:`Activation` layers.
SMOOTH_KINDS = (
    "sigmoid",
    "tanh",
    "silu",
    "gelu",
    "erf",
    "hardsigmoid",
    "hardswish",
    "elu",
    "selu",
    "softplus",
)


def first_order(layers: Any) -> bool:
    """Whether ``layers`` (blocks' branches included) hold a curved layer or a product
    join: then ``J`` is the Jacobian at ``x₀`` and ``f ≈ J x + c`` to first order only.

    >>> from deconv_gui.core.network import ReLU
    >>> first_order([ReLU()]), first_order([ReLU(), Tanh()]), first_order([HardSigmoid()])
    (False, True, False)
    """
    for layer in layers:
        if isinstance(layer, Fork):  # each node of its graph once (nested blocks' too)
            nodes = layer.graph().nodes[1:]
            if any(node.join and node.layer.join == "mul" for node in nodes):
                return True
            if first_order([node.layer for node in nodes if not node.join]):
                return True
        elif isinstance(layer, Activation) and layer.first_order:
            return True
    return False


#: How a prefix's ``J`` relates to it, by :func:`first_order`.
EXACT_WORDS = "exact on x₀'s linear region"
FIRST_ORDER_WORDS = "linearised at x₀ (first order)"


def linearity_words(layers: Any) -> str:
    """What ``J`` is for ``layers``: :data:`FIRST_ORDER_WORDS` with a curved layer or a
    product among them, else :data:`EXACT_WORDS`.

    >>> linearity_words([Sigmoid()])
    'linearised at x₀ (first order)'
    """
    return FIRST_ORDER_WORDS if first_order(layers) else EXACT_WORDS
