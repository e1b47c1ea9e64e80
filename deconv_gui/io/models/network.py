"""A model file's prefix as a :class:`~deconv_gui.core.network.Network`: the chain of
layers an image goes through up to a chosen conv layer.

ONNX graphs and Keras models (Sequential or Functional) are read up to the layer's
output before its activation (a batch norm that the reader folds into the layer
included), one node or Keras layer at a time, back from the layer to the model's input.
A chain of Conv, ConvTranspose, BatchNormalization, Relu, LeakyRelu, MaxPool,
AveragePool and Pad (fused into the next conv) converts, and so does an Add, Sub, Mul
or Div by a stored scalar or per-channel constant (a normalisation written in the graph:
an affine layer); Identity and Dropout are skipped. An Add (or ONNX Sum) of two computed
tensors joins two branches from one tensor: a residual block
(:class:`~deconv_gui.core.network.Residual`, ResNet's), each branch such a chain, found
by walking both inputs back to where their paths part (:func:`fork`). A Concat (Keras
Concatenate) along the channels of computed tensors joins branches likewise, stacked:
a U-Net's skip connection, DenseNet's (:class:`~deconv_gui.core.network.Concat`), and a
Mul of two computed tensors multiplies them (:class:`~deconv_gui.core.network.Product`:
SiLU written ``x · sigmoid(x)``, a squeeze-excitation gate after a global average pool).
The smooth activations (Sigmoid, Tanh, SiLU, GELU, HardSigmoid, HardSwish, ELU, SELU,
Softplus, Erf) are :mod:`~deconv_gui.core.network.smooth` layers. Any other node in the
prefix (a Concat along another axis, Softmax, Gemm, …) is refused in one line naming it.
PyTorch state_dicts and safetensors have no graph and are refused too.

Examples
--------
>>> try:
...     refuse_weights_only(Model("w.pt", "pytorch", ()))
... except ValueError as exc:
...     print(str(exc).split(": ")[1])
a pytorch file stores weights only, no graph
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np

from ...core import ConvOperator
from ...core.geometry import transpose_input_shape
from ...core.network import (
    Affine,
    AvgPool,
    Concat,
    Conv,
    ConvTranspose,
    Layer,
    LeakyReLU,
    MaxPool,
    Network,
    Pad,
    Product,
    Residual,
)
from ...core.network import ReLU as ReLULayer
from .record import GRAPH_FORMATS, Model, ModelLayer, auto_pads

__all__ = [
    "CHAIN_TEXT",
    "LayerStep",
    "activation_step",
    "concat_step",
    "fork",
    "global_pool_step",
    "model_network",
    "pad_step",
    "parting",
    "product_step",
    "refusal",
    "refuse_weights_only",
    "residual_step",
]

#: What the refusal of a node says the converter handles.
CHAIN_TEXT = (
    "the network up to a layer is followed through conv/BN/activation/pool layers, residual "
    "Adds, channel Concats and Muls of branches only"
)

Shape = tuple[int, int, int]
#: One layer of the chain, built once the shape it receives is known (None: skipped).
LayerStep = Callable[[Shape, Any], "Layer | None"]


def refusal(target: str, what: str, label: str) -> ValueError:
    """The one-line refusal of a node: ``the prefix up to L contains an Add node 'x': …``."""
    article = "an" if what[:1].lower() in "aeiou" else "a"
    return ValueError(
        f"the prefix up to {target} contains {article} {what} {label!r}: {CHAIN_TEXT}"
    )


def refuse_weights_only(model: Model) -> None:
    """A ValueError for a file without a graph (PyTorch state_dict, safetensors)."""
    if model.format not in GRAPH_FORMATS:
        raise ValueError(
            f"model {Path(model.path).name}: a {model.format} file stores weights only, "
            "no graph: --through needs an ONNX or Keras model"
        )


def model_network(
    model: Model, layer: str, input_shape: Shape, *, dtype: Any = np.float64
) -> Network:
    """The network of ``model`` from its input up to conv layer ``layer`` (its output
    before the activation), for inputs of ``input_shape`` ``(H, W, C)``.

    Parameters
    ----------
    model : Model
        What :func:`~deconv_gui.io.models.read_model` returned (ONNX or Keras).
    layer : str
        A conv layer's name, as ``deconv-gui layers`` lists it.
    input_shape : (int, int, int)
        The model's input as this tool holds it, ``(H, W, C)`` (see
        :func:`~deconv_gui.io.models.activations.model_input`).
    dtype : numpy dtype
        The convolutions' dtype (float64 for exact references, float32 for speed).

    Raises
    ------
    ValueError
        One line: a weights-only file, an unknown layer, a node the chain cannot hold
        (named, with its op), a geometry the file does not fix.
    """
    refuse_weights_only(model)
    record = model.layer(layer)
    if model.format == "onnx":
        from .network_onnx import onnx_steps

        steps = onnx_steps(model, record)
    else:
        from .network_keras import keras_steps

        steps = keras_steps(model, record)
    shape: Shape = tuple(int(v) for v in input_shape)  # type: ignore[assignment]
    token = _BUILT.set({})
    try:
        layers = _build(steps, shape, np.dtype(dtype))
    finally:
        _BUILT.reset(token)
    if not layers:
        raise ValueError(f"the prefix up to {layer} has no layer")
    return Network(layers, tuple(int(v) for v in input_shape))  # type: ignore[arg-type]


#: The layers built so far by :func:`model_network`, by step and input shape: a node
#: that several branches hold (DenseNet's maps, each stacked by every later Concat)
#: is one layer in each of them, so the listing can show it once with all it feeds.
_BUILT: ContextVar[dict[tuple[int, Shape], Layer | None] | None] = ContextVar(
    "_BUILT", default=None
)


def _build(steps: list[LayerStep], shape: Shape, dtype: Any) -> list[Layer]:
    """The layers of ``steps`` on inputs of ``shape`` (each step sees its own input's)."""
    layers: list[Layer] = []
    built_by = _BUILT.get()
    if built_by is None:
        built_by = {}
    for step in steps:
        key = (id(step), shape)  # the steps outlive the build: their ids stay theirs
        if key not in built_by:
            built_by[key] = step(shape, dtype)
        built = built_by[key]
        if built is None:
            continue
        layers.append(built)
        shape = built.output_shape(shape)
    return layers


def parting(paths: Sequence[Sequence[tuple[str, Any]]]) -> int:
    """How many entries (``(name, what)`` pairs) the paths from the input share: the
    branches of a join fork from the last shared tensor.

    A tensor's path is the path to the tensor before it and the tensor, so paths that
    hold one tensor at one place hold the same entries before it: the shared part is
    found by bisection (read entry by entry, each block of a 500-block ResNet re-read
    the whole chain before it).

    >>> parting([[("x", 0), ("a", 1)], [("x", 0), ("b", 2)], [("x", 0)]])
    1
    >>> parting([[("x", 0), ("a", 1), ("b", 2)], [("x", 0), ("a", 1), ("c", 3)]])
    2
    """
    shared, unshared = 0, min((len(path) for path in paths), default=0) + 1
    while unshared - shared > 1:  # the first `shared` entries are shared, `unshared` not
        middle = (shared + unshared) // 2
        if len({path[middle - 1][0] for path in paths}) == 1:
            shared = middle
        else:
            unshared = middle
    return shared


def fork(
    first: Sequence[tuple[str, Any]], second: Sequence[tuple[str, Any]]
) -> tuple[int, Any, Any]:
    """Where two paths from the input (``(name, what)`` pairs) part, and their two rests,
    the longer first: an Add's inputs as a residual block's common part, body, shortcut.

    >>> fork([("x", 0), ("a", 1), ("b", 2)], [("x", 0)])
    (1, [('a', 1), ('b', 2)], [])
    """
    common = parting([first, second])
    body, shortcut = sorted((list(first[common:]), list(second[common:])), key=len, reverse=True)
    return common, body, shortcut


def residual_step(name: str, body: list[LayerStep], shortcut: list[LayerStep]) -> LayerStep:
    """A residual block: the steps of its two branches from the block's input, added."""

    def build(shape: Shape, dtype: Any) -> Layer:
        block = Residual(_build(body, shape, dtype), _build(shortcut, shape, dtype), name=name)
        block.output_shape(shape)  # the branches must agree (a ValueError naming the block)
        return block

    return build


def concat_step(name: str, branches: list[list[LayerStep]], cls: Any = Concat) -> LayerStep:
    """A concatenation along the channels (``cls`` :class:`Product`: a product): the
    steps of its branches from its input."""

    def build(shape: Shape, dtype: Any) -> Layer:
        block = cls([_build(branch, shape, dtype) for branch in branches], name=name)
        block.output_shape(shape)  # the branches' shapes must fit (a ValueError naming it)
        return block

    return build


def product_step(name: str, branches: list[list[LayerStep]]) -> LayerStep:
    """An element-wise product of branches from one input (a gate, SiLU's ``x · σ(x)``)."""
    return concat_step(name, branches, Product)


def activation_step(cls: Any, name: str, **options: Any) -> LayerStep:
    """An element-wise activation step: ``cls(**options, name=name)`` (a ``smooth`` layer)."""
    return lambda shape, dtype: cls(**options, name=name)


def global_pool_step(name: str) -> LayerStep:
    """A mean over the whole map (GlobalAveragePool): an average pool of its size."""

    def build(shape: Shape, dtype: Any) -> Layer:
        return AvgPool((shape[0], shape[1]), (shape[0], shape[1]), 0, name=name)

    return build


def conv_step(record: ModelLayer, extra: tuple[tuple[int, int], tuple[int, int]] | None = None):
    """The step of a conv record; ``extra``: zero padding fused in from a padding layer."""

    def build(shape: Shape, dtype: Any) -> Layer:
        c = shape[2]
        if record.in_channels is not None and c != record.in_channels:
            raise ValueError(
                f"layer {record.name!r} takes {record.in_channels} channels, the prefix gives {c}"
            )
        loaded = record.load()
        weights = np.asarray(loaded.weights, dtype=dtype)
        bias = None if loaded.bias is None else np.asarray(loaded.bias, dtype=np.float64)
        if record.kind == "conv":
            return _conv(record, shape, weights, bias, extra)
        return _conv_transpose(record, shape, weights, bias)

    return build


def _conv(record: ModelLayer, shape: Shape, weights, bias, extra) -> Layer:
    h, w, _ = shape
    fields = record.params_fields(h, w)
    if "padding" not in fields:
        raise ValueError(f"layer {record.name!r}: its padding is not known from the file")
    (top, bottom), (left, right) = fields["padding"]
    if extra is not None:
        if fields.get("padding_mode", "zeros") != "zeros" and any(map(any, fields["padding"])):
            raise ValueError(
                f"layer {record.name!r}: zero padding before a {record.padding_mode}-padded conv"
            )
        fields["padding_mode"] = "zeros"
        (t, b), (lf, r) = extra
        top, bottom, left, right = top + t, bottom + b, left + lf, right + r
    op = ConvOperator.from_weights(
        weights,
        input_shape=shape,
        stride=fields.get("stride", 1),
        padding=((top, bottom), (left, right)),
        dilation=fields.get("dilation", 1),
        padding_mode=fields.get("padding_mode", "zeros"),
        groups=fields.get("groups", 1),
    )
    return Conv(op, bias, name=record.name)


def _conv_transpose(record: ModelLayer, shape: Shape, weights, bias) -> Layer:
    if record.padding is None or record.stride is None or record.dilation is None:
        raise ValueError(f"layer {record.name!r}: its padding is not known from the file")
    groups = record.groups or 1
    out = transpose_input_shape(
        shape,
        weights.shape,
        record.stride,
        record.padding,
        record.output_padding or (0, 0),
        record.dilation,
        weights.shape[2] * groups,
    )
    # B: the convolution whose transpose the layer is (it maps the layer's output back)
    op = ConvOperator.from_weights(
        weights,
        input_shape=out,
        stride=record.stride,
        padding=record.padding,
        dilation=record.dilation,
        groups=groups,
    )
    if op.geometry.output_shape != tuple(shape):
        raise ValueError(
            f"layer {record.name!r}: its transpose maps {out} to {op.geometry.output_shape}, "
            f"not the {shape} it receives"
        )
    return ConvTranspose(op, bias, name=record.name)


def pool_step(
    name: str,
    average: bool,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    pads: tuple[tuple[int, int], tuple[int, int]] | str,
    count_pad: bool = True,
) -> LayerStep:
    """A pooling step; ``pads`` ``((top, bottom), (left, right))`` or ``"same"`` (resolved
    at the input size, the odd pixel at the bottom/right, as Keras and SAME_UPPER)."""

    def build(shape: Shape, dtype: Any) -> Layer:
        sides = pads
        if isinstance(sides, str):
            sides = (
                auto_pads("SAME_UPPER", shape[0], kernel[0], stride[0], 1),
                auto_pads("SAME_UPPER", shape[1], kernel[1], stride[1], 1),
            )
        (top, bottom), (left, right) = sides
        if top != bottom or left != right:
            raise ValueError(f"pooling layer {name!r}: asymmetric padding {sides} is not handled")
        if average and (top or left) and not count_pad:
            raise ValueError(
                f"pooling layer {name!r} leaves its padding out of the mean; "
                "--through handles averages over the padded window"
            )
        cls = AvgPool if average else MaxPool
        return cls(kernel, stride, (top, left), name=name)

    return build


def pad_step(name: str, pads: tuple[tuple[int, int], tuple[int, int]]) -> LayerStep:
    """Zero padding ``((top, bottom), (left, right))`` as a layer of its own."""
    return lambda shape, dtype: Pad(pads, name=name)


def relu_step(name: str, slope: float = 0.0) -> LayerStep:
    """A ReLU (``slope = 0``) or leaky ReLU step."""
    return lambda shape, dtype: (
        ReLULayer(name=name) if slope == 0 else LeakyReLU(float(slope), name=name)
    )


def affine_step(name: str, scale: Any, shift: Any) -> LayerStep:
    """A per-channel ``scale · x + shift`` step (a batch norm in inference mode)."""

    def build(shape: Shape, dtype: Any) -> Layer:
        c = shape[2]
        for values in (scale, shift):
            if np.size(values) not in (1, c):
                raise ValueError(f"layer {name!r}: {np.size(values)} values for {c} channels")
        s = np.broadcast_to(np.asarray(scale, np.float64).reshape(-1), (c,)).copy()
        t = np.broadcast_to(np.asarray(shift, np.float64).reshape(-1), (c,)).copy()
        return Affine(s, t, name=name)

    return build


def batchnorm_step(name: str, gamma, beta, mean, var, eps: float) -> LayerStep:
    """A BatchNormalization in inference mode, as an affine step."""
    layer = Affine.from_batchnorm(gamma, beta, mean, var, eps, name=name)
    return affine_step(name, layer.scale, layer.shift)
