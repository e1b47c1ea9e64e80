"""One layer with its activation, as a two-layer network: ``act(A x + b)`` and its ``J``.

The pipeline studies a single layer with an activation after it (``Params.activation``)
through the same :class:`~deconv_gui.core.network.Network` as a network prefix, so that
one convention holds everywhere: at the image ``x₀`` the layer is ``f(x) = J x + c`` with
``J = D A`` (``D`` the activation's slope at each output: 0 or 1 for a ReLU, the leaky
slope or 1 for a leaky ReLU) and ``c = D b``; ``transposed`` is ``Jᵀ(f(x₀) − c)``,
``pinv`` ``J⁺(f(x₀) − c) = J⁺J x₀`` and the lost part ``x₀ − J⁺J x₀``.

Examples
--------
>>> import numpy as np
>>> from deconv_gui.core import ConvOperator
>>> op = ConvOperator.from_weights(np.ones((2, 2, 1)), input_shape=(4, 4, 1), stride=2)
>>> net = layer_network(op, [-1.0], "relu")
>>> [layer.kind for layer in net.layers]
['conv', 'relu']
>>> x0 = np.arange(16.0).reshape(4, 4, 1) / 16
>>> lin = net.linearize(x0)
>>> bool(np.allclose(lin.apply(x0) + lin.offset, np.maximum(op.apply(x0) - 1, 0)))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..choices import check_choice
from ..operator import ConvOperator
from .chain import Network
from .layers import Conv, Layer, LeakyReLU, ReLU

__all__ = ["ACTIVATIONS", "activation_layer", "invert_activation", "layer_network"]

#: ``Params.activation``'s values.
ACTIVATIONS: tuple[str, ...] = ("none", "relu", "leaky_relu")


def activation_layer(activation: str, slope: float = 0.01) -> Layer | None:
    """The layer of ``activation`` (None for ``"none"``); ``slope``: leaky_relu's.

    Raises
    ------
    ValueError
        Naming ``activation`` when it is not one of :data:`ACTIVATIONS`.
    """
    if check_choice("activation", activation, ACTIVATIONS) == "none":
        return None
    if activation == "relu":
        return ReLU()
    return LeakyReLU(float(slope))


def layer_network(op: ConvOperator, bias: Any, activation: str, slope: float = 0.01) -> Network:
    """``[Conv(A, b), act]`` (or the conv alone for ``"none"``) on images of ``op``'s input.

    ``op`` may be a transposed layer's operator: the conv layer applies ``op`` as it is.
    """
    b = None if bias is None else np.asarray(bias, dtype=np.float64)
    layers: list[Layer] = [Conv(op, b)]
    act = activation_layer(activation, slope)
    if act is not None:
        layers.append(act)
    return Network(layers, op.geometry.input_shape)


def invert_activation(y: Any, activation: str, slope: float = 0.01) -> np.ndarray:
    """``act⁻¹(y)`` of an invertible activation: ``"none"``, or ``"leaky_relu"`` (slope > 0).

    A leaky ReLU loses nothing: ``y / slope`` where ``y < 0``.

    Raises
    ------
    ValueError
        For ``"relu"`` (not invertible: its zeros only bound ``A x + b``), naming
        ``activation``.
    """
    arr = np.asarray(y)
    if activation == "none":
        return arr
    if activation == "leaky_relu" and slope > 0:
        return np.where(arr < 0, arr / slope, arr).astype(arr.dtype, copy=False)
    raise ValueError(f"activation {activation!r} is not invertible (relu's zeros are bounds)")
