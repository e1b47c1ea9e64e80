"""The theoretical receptive field of a chain's units: how far back each one sees (its own
module: :mod:`.chain` and the ``J⁺`` solve's preconditioner both need it)."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

from .layers import Conv, Layer, Pad
from .residual import Fork

__all__ = ["ReceptiveField", "receptive_field"]


@dataclass(frozen=True)
class ReceptiveField:
    """The theoretical receptive field of one unit after a layer, per axis ``(h, w)``."""

    size: tuple[int, int]
    jump: tuple[int, int]
    start: tuple[float, float]


def receptive_field(network: Any) -> list[ReceptiveField]:
    """The receptive field after each layer (size, the stride between units, first centre).

    Convolutions and poolings grow it by ``(k_eff − 1) · jump`` and multiply the jump by
    their stride; point-wise layers leave it; a transposed convolution divides the jump
    (and its field is reported for the convolution it transposes, rounded up); a block's
    (a residual sum, a concatenation) is the span of its branches' fields.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvOperator
    >>> from deconv_gui.core.network import Conv, MaxPool, Network, ReLU
    >>> op = ConvOperator.from_weights(np.ones((3, 3, 1)), input_shape=(16, 16, 1), padding=1)
    >>> net = Network([Conv(op), ReLU(), MaxPool(2)])
    >>> [f.size for f in receptive_field(net)]
    [(3, 3), (3, 3), (4, 4)]
    """
    field = ReceptiveField((1, 1), (1, 1), (0.5, 0.5))
    fields = []
    for layer in network.layers:
        field = _after(layer, field)
        fields.append(field)
    return fields


def _after(layer: Layer, field: ReceptiveField) -> ReceptiveField:
    """The receptive field after ``layer`` of a unit whose field before it is ``field``."""
    if isinstance(layer, Fork):  # each node of its graph once: a join spans its branches'
        fields = [field]
        for node in layer.graph().nodes[1:]:
            if node.join:
                fields.append(functools.reduce(_union, [fields[s] for s in node.sources]))
            else:
                fields.append(_after(node.layer, fields[node.sources[0]]))
        return fields[-1]
    geometry = _window(layer)
    if geometry is None:
        return field
    kernel, stride, pad, transposed = geometry
    size, jump, start = list(field.size), list(field.jump), list(field.start)
    for axis in range(2):
        if transposed:
            jump[axis] = max(jump[axis] // stride[axis], 1)
            continue
        size[axis] += (kernel[axis] - 1) * jump[axis]
        start[axis] += ((kernel[axis] - 1) / 2 - pad[axis]) * jump[axis]
        jump[axis] *= stride[axis]
    return ReceptiveField((size[0], size[1]), (jump[0], jump[1]), (start[0], start[1]))


def _union(a: ReceptiveField, b: ReceptiveField) -> ReceptiveField:
    """The field of two joined branches: the span of both (the first's jump; the two
    branches' outputs are of one height and width, so their jumps agree)."""
    size, start = [], []
    for axis in range(2):
        low = min(a.start[axis] - a.size[axis] / 2, b.start[axis] - b.size[axis] / 2)
        high = max(a.start[axis] + a.size[axis] / 2, b.start[axis] + b.size[axis] / 2)
        size.append(math.ceil(high - low))
        start.append((low + high) / 2)
    return ReceptiveField((size[0], size[1]), a.jump, (start[0], start[1]))


def _window(layer: Layer) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], bool] | None:
    if isinstance(layer, Conv):
        g = layer.op.geometry
        kernel = (
            g.dilation[0] * (g.filter_shape[0] - 1) + 1,
            g.dilation[1] * (g.filter_shape[1] - 1) + 1,
        )
        return kernel, g.stride, g.padding, layer.op.transposed
    if isinstance(layer, Pad):  # a window of one pixel, shifted by the zeros before it
        return (1, 1), (1, 1), (layer.pads[0][0], layer.pads[1][0]), False
    if hasattr(layer, "kernel") and hasattr(layer, "stride"):
        return layer.kernel, layer.stride, layer.padding, False  # type: ignore[attr-defined]
    return None
