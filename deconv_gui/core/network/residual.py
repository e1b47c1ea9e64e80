"""A residual block: two branches from one input, added (ResNet's ``F(x) + x``).

A ResNet's block is ``body(x) + shortcut(x)``: the body a few convolutions, batch norms
and ReLUs, the shortcut the identity (no layers) or a projection (a strided 1×1
convolution and its batch norm). Each branch is a chain of layers, so the block is
piecewise linear as they are, and its linear maps are sums: ``J v = J_body v +
J_shortcut v`` and ``Jᵀ u = J_bodyᵀ u + J_shortcutᵀ u``. The deconvnet and guided
backprop send the signal back through each branch by their rules and add the two, as
backprop adds the gradients of the two paths.

Examples
--------
>>> import numpy as np
>>> from deconv_gui.core import ConvOperator
>>> from deconv_gui.core.network import Conv, Network, ReLU
>>> w = np.random.default_rng(0).standard_normal((3, 3, 2, 2))
>>> block = Residual([Conv(ConvOperator.from_weights(w, input_shape=(5, 5, 2), padding=1)), ReLU()])
>>> net = Network([block, ReLU()], input_shape=(5, 5, 2))
>>> x = np.random.default_rng(1).standard_normal((5, 5, 2))
>>> body = np.maximum(block.body[0].op.apply(x), 0)
>>> bool(np.allclose(net.forward(x), np.maximum(body + x, 0)))
True
>>> [layer.kind for layer, _ in flat_layers(net.layers, net.linearize(x).states)]
['conv', 'relu', 'relu']
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .layers import Layer, Shape

__all__ = ["Residual", "flat_layers"]


def _shapes(layers: Sequence[Layer], shape: Shape) -> Shape:
    for layer in layers:
        shape = layer.output_shape(shape)
    return shape


def _forward(layers: Sequence[Layer], x: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    states = []
    for layer in layers:
        x, state = layer.forward(x)
        states.append(state)
    return x, states


def _ahead(layers: Sequence[Layer], states: Sequence[Any], v: np.ndarray) -> np.ndarray:
    """``J v`` through a branch."""
    for layer, state in zip(layers, states, strict=True):
        v = layer.jvp(v, state)
    return v


def _back(layers: Sequence[Layer], states: Sequence[Any], u: np.ndarray, rule: str) -> np.ndarray:
    """``u`` sent back through a branch by the layers' method ``rule`` (``"vjp"``, …)."""
    for layer, state in zip(layers[::-1], states[::-1], strict=True):
        u = getattr(layer, rule)(u, state)
    return u


@dataclass
class Residual(Layer):
    """``body(x) + shortcut(x)``; an empty shortcut is the identity (see the module).

    Parameters
    ----------
    body : sequence of Layer
        The block's main branch, in order.
    shortcut : sequence of Layer
        The other branch (empty: ``x`` itself).
    name : str
        The block's name (the model's Add node).
    """

    body: Sequence[Layer]
    shortcut: Sequence[Layer] = ()
    name: str = "residual"
    kind: str = field(default="residual", init=False)

    def __post_init__(self) -> None:
        self.body, self.shortcut = tuple(self.body), tuple(self.shortcut)
        for layer in (*self.body, *self.shortcut):
            if not isinstance(layer, Layer):
                raise ValueError(f"body and shortcut must hold layers, got {type(layer).__name__}")

    def output_shape(self, input_shape: Shape) -> Shape:
        body, shortcut = _shapes(self.body, input_shape), _shapes(self.shortcut, input_shape)
        if tuple(body) != tuple(shortcut):
            raise ValueError(
                f"residual block {self.name!r}: its body gives {'×'.join(map(str, body))}, "
                f"its shortcut {'×'.join(map(str, shortcut))}; they must agree to be added"
            )
        return body

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        y_body, body = _forward(self.body, x)
        y_short, short = _forward(self.shortcut, x)
        return y_body + y_short, (body, short)

    def _both(self, arr: np.ndarray, state: Any, rule: str) -> np.ndarray:
        body, short = state
        return _back(self.body, body, arr, rule) + _back(self.shortcut, short, arr, rule)

    def jvp(self, v: np.ndarray, state: Any) -> np.ndarray:
        body, short = state
        return _ahead(self.body, body, v) + _ahead(self.shortcut, short, v)

    def vjp(self, u: np.ndarray, state: Any) -> np.ndarray:
        return self._both(u, state, "vjp")

    def deconvnet(self, u: np.ndarray, state: Any) -> np.ndarray:
        return self._both(u, state, "deconvnet")

    def guided(self, u: np.ndarray, state: Any) -> np.ndarray:
        return self._both(u, state, "guided")

    @property
    def is_linear(self) -> bool:
        return all(layer.is_linear for layer in (*self.body, *self.shortcut))


def flat_layers(
    layers: Sequence[Layer], states: Sequence[Any] | None = None
) -> Iterator[tuple[Layer, Any]]:
    """Every layer with its state (None without ``states``), a residual block's branches
    in place of the block (the body's, then the shortcut's): the ReLUs' masks of a whole
    network, say."""
    for index, layer in enumerate(layers):
        state = None if states is None else states[index]
        if isinstance(layer, Residual):
            body, short = (None, None) if state is None else state
            yield from flat_layers(layer.body, body)
            yield from flat_layers(layer.shortcut, short)
        else:
            yield layer, state
