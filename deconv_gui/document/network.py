"""The document's chain of layers as a core :class:`~deconv_gui.core.network.Network`.

A convolution becomes ``Conv(A, b)`` with its own activation after it when its Params
name one (``act(A x + b)``, the single layer's definition), a ReLU, leaky ReLU or pooling
the core layer of the same name. :func:`chain_network` builds the chain (or its prefix
up to a layer) for an image shape, checking every layer against the map it receives:
an impossible geometry is one ValueError naming the layer. :func:`adapt_channels` makes
each convolution take the channels that reach it (a preset filter is rebuilt for them,
a hand-made one keeps its response to a grey map), as a new image re-channels the
filter. :func:`layer_input` is what the layers before one make of the image.

Examples
--------
>>> from deconv_gui.core import Params, make_filter
>>> from deconv_gui.document import Layer
>>> conv = Layer(Params(make_filter("gaussian", in_channels=3, out_channels=2), stride=1))
>>> chain = (conv, Layer(kind="relu"), Layer(kind="maxpool"), conv)
>>> chain = adapt_channels(chain, 3)
>>> [layer_text(layer) for layer in chain]
['conv 3×3, 3→2', 'ReLU', 'max-pool 2×2, stride 2', 'conv 3×3, 2→2']
>>> net = chain_network(chain, (16, 12, 3))
>>> [layer.kind for layer in net.layers], net.shapes[-1]
(['conv', 'relu', 'maxpool', 'conv'], (8, 6, 2))
>>> chain_network(chain, (16, 12, 3), upto=0).shapes[-1]
(16, 12, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..core import Params
from ..core import network as core
from ..core.network.single import activation_layer
from .channels import fit_filter
from .layer import Layer

__all__ = [
    "ACTIVATION_WORDS",
    "ChainCheck",
    "adapt_channels",
    "chain_network",
    "channels_problem",
    "check_chain",
    "conv_channels",
    "conv_text",
    "layer_input",
    "layer_text",
]

Shape = tuple[int, int, int]

_POOL_WORDS = {"maxpool": "max-pool", "avgpool": "avg-pool"}
#: Each of :data:`~.layer.ACTIVATION_KINDS` in words, and its core layer.
ACTIVATION_WORDS = {
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "silu": "SiLU",
    "gelu": "GELU",
    "hardsigmoid": "hard sigmoid",
    "hardswish": "hard swish",
    "elu": "ELU",
    "selu": "SELU",
    "softplus": "softplus",
}
_ACTIVATION_LAYERS = {
    "sigmoid": core.Sigmoid,
    "tanh": core.Tanh,
    "silu": core.SiLU,
    "gelu": core.GELU,
    "hardsigmoid": core.HardSigmoid,
    "hardswish": core.HardSwish,
    "elu": core.ELU,
    "selu": core.SELU,
    "softplus": core.Softplus,
}


def conv_channels(params: Params) -> tuple[int, int]:
    """``(C_in, C_out)`` of a convolution's (or transposed convolution's) Params."""
    c_group, c_last = params.weights.shape[2:]
    if params.layer_kind == "conv_transpose":
        return c_last, c_group * params.groups
    return c_group * params.groups, c_last


def conv_text(
    transposed: bool,
    kernel: Sequence[int],
    channels: tuple[int, int],
    stride: Sequence[int] = (1, 1),
    dilation: Sequence[int] = (1, 1),
    groups: int = 1,
) -> str:
    """A convolution in words: ``conv 3×3, 3→4, stride 2``; one group per input channel is
    a ``depthwise`` conv, other groups and a dilation are said.

    >>> conv_text(False, (3, 3), (64, 64), dilation=(2, 2), groups=64)
    'depthwise conv 3×3, 64→64, dilation 2'
    >>> conv_text(True, (4, 4), (8, 4), (2, 1), groups=2)
    'transposed conv 4×4, 8→4, groups 2, stride 2×1'
    """
    c_in, c_out = channels
    word = "transposed conv" if transposed else "conv"
    if groups > 1 and groups == c_in:
        word = f"depthwise {word}"
    text = f"{word} {kernel[0]}×{kernel[1]}, {c_in}→{c_out}"
    if groups > 1 and groups != c_in:
        text += f", groups {groups}"
    for name, (a, b) in (("stride", stride), ("dilation", dilation)):
        if (a, b) != (1, 1):
            text += f", {name} {a}" if a == b else f", {name} {a}×{b}"
    return text


def layer_text(layer: Layer) -> str:
    """One line for a layer: ``conv 3×3, 3→4, stride 2``, ``ReLU``, ``max-pool 2×2, stride 2``.

    >>> layer_text(Layer(kind="leaky_relu", slope=0.2))
    'leaky ReLU (slope 0.2)'
    """
    if layer.kind == "relu":
        return "ReLU"
    if layer.kind == "leaky_relu":
        return f"leaky ReLU (slope {layer.slope:g})"
    if layer.kind in ACTIVATION_WORDS:
        return ACTIVATION_WORDS[layer.kind]
    if layer.kind in _POOL_WORDS:
        k = layer.kernel
        return f"{_POOL_WORDS[layer.kind]} {k}×{k}, stride {layer.stride}"
    p = layer.params
    transposed = p.layer_kind == "conv_transpose"
    channels = conv_channels(p)
    text = conv_text(transposed, p.weights.shape[:2], channels, p.stride, p.dilation, p.groups)
    if p.activation != "none":
        text += " + ReLU" if p.activation == "relu" else " + leaky ReLU"
    return text


def _core_layers(layer: Layer, shape: Shape) -> list[core.Layer]:
    """The core layers of one document layer receiving maps of ``shape`` (ValueError if
    they cannot)."""
    if layer.kind == "relu":
        return [core.ReLU()]
    if layer.kind == "leaky_relu":
        return [core.LeakyReLU(layer.slope)]
    if layer.kind in _ACTIVATION_LAYERS:
        return [_ACTIVATION_LAYERS[layer.kind]()]
    if layer.kind in _POOL_WORDS:
        if min(shape[:2]) < layer.kernel:
            raise ValueError(
                f"its input is {shape[0]}×{shape[1]}, smaller than its {layer.kernel}×"
                f"{layer.kernel} window"
            )
        pool = core.MaxPool if layer.kind == "maxpool" else core.AvgPool
        return [pool(layer.kernel, layer.stride)]
    params = layer.params
    c_in = conv_channels(params)[0]
    if c_in != shape[2]:
        raise ValueError(f"it {_takes(c_in, shape[2])}")
    bias = np.asarray(params.bias, dtype=np.float64)
    out: list[core.Layer] = [core.Conv(params.operator(shape), bias)]
    act = activation_layer(params.activation, params.leaky_slope)
    return out if act is None else [*out, act]


@dataclass(frozen=True)
class ChainCheck:
    """How a chain fits an image: each layer's output shape up to the first that does not.

    Attributes
    ----------
    shapes : tuple of (int, int, int)
        The output shape of each layer that fits, in order.
    failed : int or None
        The index of the first layer that does not fit (None: they all do).
    problem : str
        Why, in one line naming it (``""`` when they all fit).
    """

    shapes: tuple[Shape, ...]
    failed: int | None = None
    problem: str = ""


def _walk(layers: Sequence[Layer], shape: Shape) -> tuple[list[core.Layer], ChainCheck]:
    """The core layers of every document layer that fits, and the check."""
    built: list[core.Layer] = []
    shapes: list[Shape] = []
    for index, layer in enumerate(layers):
        try:
            parts = _core_layers(layer, shape)
            for part in parts:
                shape = part.output_shape(shape)
            if min(shape) < 1:
                raise ValueError(f"its output would be {'×'.join(map(str, shape))}")
        except ValueError as exc:
            problem = f"layer {index + 1} ({layer_text(layer)}) does not fit: {exc}"
            return built, ChainCheck(tuple(shapes), index, problem)
        built.extend(parts)
        shapes.append(shape)
    return built, ChainCheck(tuple(shapes))


def _shape(input_shape: Sequence[int]) -> Shape:
    shape = tuple(int(n) for n in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (H, W, C) of positive sizes, got {input_shape!r}")
    return shape[0], shape[1], shape[2]


def check_chain(layers: Sequence[Layer], input_shape: Sequence[int]) -> ChainCheck:
    """Each layer's output shape on images of ``input_shape``, and the first that does not fit.

    >>> from deconv_gui.document import Layer
    >>> check = check_chain((Layer(kind="maxpool", kernel=4, stride=4),) * 2, (8, 12, 3))
    >>> check.shapes, check.failed
    (((2, 3, 3),), 1)
    >>> check.problem
    'layer 2 (max-pool 4×4, stride 4) does not fit: its input is 2×3, smaller than its 4×4 window'
    """
    return _walk(layers, _shape(input_shape))[1]


def chain_network(
    layers: Sequence[Layer], input_shape: Sequence[int], upto: int | None = None
) -> core.Network:
    """The core network of ``layers`` (up to index ``upto``, included; default all) on
    images of ``input_shape`` ``(H, W, C)``.

    Raises
    ------
    ValueError
        Naming the first layer that does not fit the map it receives:
        ``layer 3 (max-pool 2×2, stride 2) does not fit: its input is 1×1, …``.
    """
    shape = _shape(input_shape)
    end = len(layers) if upto is None else int(upto) + 1
    if not 1 <= end <= len(layers):
        raise ValueError(f"upto must be a layer index below {len(layers)}, got {upto!r}")
    built, check = _walk(layers[:end], shape)
    if check.failed is not None:
        raise ValueError(check.problem)
    return core.Network(built, shape)


def layer_input(layers: Sequence[Layer], index: int, image: Any) -> np.ndarray:
    """What layers ``0 … index − 1`` make of ``image`` (float64): layer ``index``'s input.

    The image itself for the first layer.
    """
    x = np.asarray(image, dtype=np.float64)
    if index == 0:
        return x
    return chain_network(layers, x.shape, upto=index - 1).forward(x)


def _rechannelled(layer: Layer, c_in: int) -> Layer:
    """``layer`` (a convolution) taking ``c_in`` channels (see :func:`.channels.fit_filter`)."""
    params = layer.params
    weights, groups, preset = fit_filter(
        params.weights, params.groups, layer.preset, "conv", c_in, layer.filter_seed
    )
    return replace(layer, params=params.replace(weights=weights, groups=groups), preset=preset)


def channels_problem(layers: Sequence[Layer]) -> str:
    """Why a convolution after the first does not take the channels the layers before it
    make (``""`` when each does): ``layers[3] (conv 3×3, 3→1) takes 3 channels and 2 reach it``.

    The first convolution's are the image's, checked against each image.
    """
    channels = None
    for index, layer in enumerate(layers):
        if layer.is_conv:
            c_in, c_out = conv_channels(layer.params)
            if channels is not None and c_in != channels:
                return f"layers[{index}] ({layer_text(layer)}) {_takes(c_in, channels)}"
            channels = c_out
    return ""


def adapt_channels(layers: Sequence[Layer], in_channels: int, start: int = 0) -> tuple[Layer, ...]:
    """``layers`` with each convolution from index ``start`` on taking the channels that
    reach it (``in_channels`` reach layer ``start``: the image's for 0); the others, and
    layers that already do, are returned as they are.

    Raises
    ------
    ValueError
        For a transposed convolution that does not take them (its channels are its
        decoder's), naming the layer.
    """
    channels = int(in_channels)
    out = list(layers[:start])
    for index, layer in enumerate(layers[start:], start):
        if layer.is_conv:
            c_in = conv_channels(layer.params)[0]
            if c_in != channels:
                if layer.params.layer_kind == "conv_transpose":
                    raise ValueError(
                        f"layer {index + 1} ({layer_text(layer)}) {_takes(c_in, channels)} "
                        "(a transposed conv keeps its decoder's channels)"
                    )
                layer = _rechannelled(layer, channels)
            channels = conv_channels(layer.params)[1]
        out.append(layer)
    return tuple(out)


def _takes(c_in: int, arriving: int) -> str:
    """``"takes 1 channel and 3 reach it"``: a layer's channels against those reaching it."""
    takes = f"takes {c_in} channel{'s' if c_in != 1 else ''}"
    return f"{takes} and {arriving} {'reach' if arriving != 1 else 'reaches'} it"
