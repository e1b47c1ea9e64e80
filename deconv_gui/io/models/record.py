"""The one record of a model file's conv layer, whatever the framework wrote it.

Weights are converted to this tool's layout on demand (a model lists its layers from
shapes alone, so that a large file opens at once):

- ``kind="conv"``: ``(f_h, f_w, C_in/groups, C_out)``, the layout of
  :func:`~deconv_gui.core.conv2d`; PyTorch/ONNX ``(C_out, C_in/groups, k_h, k_w)`` is
  permuted ``(2, 3, 1, 0)``, Keras's kernel is already in it.
- ``kind="conv_transpose"``: PyTorch/ONNX ``W_t`` of shape ``(C_in, C_out/groups, k_h,
  k_w)`` permuted ``(2, 3, 1, 0)``, i.e. ``(f_h, f_w, C_out/groups, C_in)``: the filter of
  the strided convolution whose adjoint the layer is (Keras's ``Conv2DTranspose`` kernel
  is stored so already).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

__all__ = [
    "GRAPH_FORMATS",
    "MALFORMED",
    "MAX_TENSOR_ELEMENTS",
    "LayerWeights",
    "Model",
    "ModelLayer",
    "Pads",
    "auto_pads",
    "check_shape",
    "torch_to_ours",
    "transpose_auto_pads",
]

#: The formats (:attr:`Model.format`) whose files hold the network's graph, not only its
#: weights: the network up to a layer runs from them (not from a PyTorch state_dict or
#: safetensors).
GRAPH_FORMATS = ("onnx", "keras")

#: What a reader raises when an untrusted file's structure is not what it expects; turned
#: into one-line ValueErrors at the readers' boundary (listing and loading).
MALFORMED = (
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    EOFError,
    UnicodeError,
    OSError,
    RuntimeError,  # h5py on a corrupted file
)

#: Largest tensor a model file may ask for (2**31 elements, 8 GB in float32): an absurd
#: shape is refused before anything is allocated.
MAX_TENSOR_ELEMENTS = 2**31

Pads = tuple[tuple[int, int], tuple[int, int]]

#: The padding modes, named as PyTorch's ``padding_mode`` (ONNX ``edge`` is
#: ``replicate``, ``wrap`` is ``circular``).
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def check_shape(shape: Any, what: str) -> tuple[int, ...]:
    """``shape`` as a tuple of non-negative ints, refused if absurd.

    Examples
    --------
    >>> check_shape([8, 3, 3, 3], "conv1.weight")
    (8, 3, 3, 3)
    >>> check_shape([2**20, 2**20, 3, 3], "w")
    Traceback (most recent call last):
    ...
    ValueError: w: shape (1048576, 1048576, 3, 3) is absurd (more than 2147483648 elements)
    """
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: shape {shape!r} is not a list of integers") from None
    if any(d < 0 for d in dims) or len(dims) > 8:
        raise ValueError(f"{what}: shape {dims} is invalid")
    if math.prod(dims) > MAX_TENSOR_ELEMENTS:
        raise ValueError(
            f"{what}: shape {dims} is absurd (more than {MAX_TENSOR_ELEMENTS} elements)"
        )
    return dims


def auto_pads(rule: str, size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """ONNX ``auto_pad`` SAME_UPPER/SAME_LOWER (and TF/Keras 'same') for one axis of a Conv.

    Examples
    --------
    >>> auto_pads("SAME_UPPER", 32, 3, 2, 1), auto_pads("SAME_LOWER", 32, 3, 2, 1)
    ((0, 1), (1, 0))
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    small = total // 2
    return (small, total - small) if rule == "SAME_UPPER" else (total - small, small)


def transpose_auto_pads(
    rule: str, size: int, kernel: int, stride: int, dilation: int
) -> tuple[int, int]:
    """ONNX ``auto_pad`` SAME_UPPER/SAME_LOWER of a ConvTranspose along one axis: the
    crop that makes the output ``size · stride`` (never negative).

    Examples
    --------
    >>> transpose_auto_pads("SAME_UPPER", 8, 3, 2, 1), transpose_auto_pads("SAME_LOWER", 8, 4, 2, 1)
    ((0, 1), (1, 1))
    """
    total = max(stride * (size - 1) + (kernel - 1) * dilation + 1 - size * stride, 0)
    small = total // 2
    return (small, total - small) if rule == "SAME_UPPER" else (total - small, small)


def torch_to_ours(weight: np.ndarray) -> np.ndarray:
    """PyTorch/ONNX ``(O, I, k_h, k_w)`` (or ConvTranspose ``(I, O, k_h, k_w)``) → ours.

    Examples
    --------
    >>> torch_to_ours(np.zeros((8, 3, 5, 7))).shape
    (5, 7, 3, 8)
    """
    return np.ascontiguousarray(np.transpose(weight, (2, 3, 1, 0)))


@dataclass(frozen=True)
class LayerWeights:
    """A layer's weights in this tool's layout (see the module) and its bias (or None)."""

    weights: np.ndarray
    bias: np.ndarray | None


def _no_weights() -> LayerWeights:
    raise ValueError("this layer's weights were not read")


@dataclass(frozen=True)
class ModelLayer:
    """One conv layer of a model file; a field is None where the file does not store it.

    ``padding`` is ``((top, bottom), (left, right))``. When it depends on the input size
    (Keras ``'same'``, ONNX ``auto_pad``) and the file does not fix that size,
    ``padding`` is None and ``padding_rule`` says ``'same'`` or ``'same_lower'``.
    ``input``/``output`` are the file's tensor names (None without a graph);
    ``weight_shape`` is the weight as stored. ``input_size`` is the ``(H, W)`` the layer
    receives when the file fixes it. ``activation`` is what follows the layer when the
    file says so (Keras ``activation=``), applied after ``forward_output``. ``node`` is
    the graph node's own name when the layer is named otherwise (after its weights, for
    a node name an exporter made up); :meth:`Model.layer` finds the layer by either.
    """

    name: str
    kind: str
    weight_shape: tuple[int, ...]
    in_channels: int | None = None
    out_channels: int | None = None
    kernel: tuple[int, int] | None = None
    stride: tuple[int, int] | None = None
    padding: Pads | None = None
    dilation: tuple[int, int] | None = None
    groups: int | None = None
    padding_mode: str | None = None
    output_padding: tuple[int, int] | None = None
    input: str | None = None
    output: str | None = None
    padding_rule: str | None = None
    input_size: tuple[int, int] | None = None
    activation: str | None = None
    notes: tuple[str, ...] = ()
    node: str | None = None
    loader: Callable[[], LayerWeights] = field(default=_no_weights, repr=False, compare=False)

    def load(self) -> LayerWeights:
        """Read the weights (and bias) in this tool's layout (a one-line ValueError if bad)."""
        try:
            return self.loader()
        except MALFORMED as exc:
            text = " ".join(str(exc).split())
            raise ValueError(f"layer {self.name!r}: cannot read its weights ({text})") from None

    def params_fields(self, height: int, width: int) -> dict[str, Any]:
        """The :class:`~deconv_gui.core.Params` geometry the file stores, for an input of
        ``height × width``: a size-dependent 'same' resolved to its four sides, unknown
        fields left out (the caller keeps its own). ``layer_kind`` is always the record's
        (a weights-only file's guess from the bias size: a kind kept from another layer
        would read the weights with the other axis as the output), and a ConvTranspose
        layer adds its ``output_padding``; a user's own option may still override both."""
        padding = self.padding
        if padding is None and self.padding_rule and self.kernel and self.stride and self.dilation:
            rule = "SAME_UPPER" if self.padding_rule == "same" else "SAME_LOWER"
            axes = zip((height, width), self.kernel, self.stride, self.dilation, strict=True)
            pads = transpose_auto_pads if self.kind == "conv_transpose" else auto_pads
            sides = [pads(rule, n, k, s, d) for n, k, s, d in axes]
            padding = (sides[0], sides[1])
        stored = {
            "stride": self.stride,
            "padding": padding,
            "dilation": self.dilation,
            "groups": self.groups,
            "padding_mode": self.padding_mode,
        }
        stored["layer_kind"] = self.kind
        if self.kind == "conv_transpose":
            stored["output_padding"] = self.output_padding or (0, 0)
        return {name: value for name, value in stored.items() if value is not None}

    def to_json(self) -> dict[str, Any]:
        """The record as ``deconv-gui layers --json`` prints it."""

        def pair(value: Any) -> list[Any] | None:
            return (
                None if value is None else [list(v) if isinstance(v, tuple) else v for v in value]
            )

        return {
            "name": self.name,
            "kind": self.kind,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel": pair(self.kernel),
            "stride": pair(self.stride),
            "padding": pair(self.padding),
            "dilation": pair(self.dilation),
            "groups": self.groups,
            "padding_mode": self.padding_mode,
            "output_padding": pair(self.output_padding),
            "input": self.input,
            "output": self.output,
            "weight_shape": list(self.weight_shape),
            "padding_rule": self.padding_rule,
            "notes": list(self.notes),
            "node": self.node,
        }


@dataclass(frozen=True)
class Model:
    """A model file's conv layers in graph order, and what the file says about its input.

    ``input_shape`` is ``(C, H, W)`` when the file fixes it (any of them None when
    free); ``data_format`` is ``"channels_first"`` (ONNX, PyTorch) or
    ``"channels_last"`` (Keras' default).
    """

    path: str
    format: str
    layers: tuple[ModelLayer, ...]
    input_shape: tuple[int | None, int | None, int | None] | None = None
    data_format: str = "channels_first"
    notes: tuple[str, ...] = ()

    def layer(self, name: str) -> ModelLayer:
        """The layer called ``name`` (or whose graph node is); a ValueError listing a few
        names if none is."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        for layer in self.layers:
            if layer.node == name:
                return layer
        names = ", ".join(repr(layer.name) for layer in self.layers[:8])
        more = "…" if len(self.layers) > 8 else ""
        raise ValueError(f"layer: no conv layer {name!r} in {self.path} (it has {names}{more})")

    def with_weights(self, name: str, weights: LayerWeights) -> Model:
        """This model with layer ``name``'s weights already read: its :meth:`~ModelLayer.load`
        returns ``weights`` instead of reading the file again (a batch reads them once).

        >>> layer = ModelLayer("conv1", "conv", (1, 1, 1, 1))
        >>> given = LayerWeights(np.ones((1, 1, 1, 1)), None)
        >>> model = Model("m.pt", "torch", (layer,)).with_weights("conv1", given)
        >>> model.layer("conv1").load() is given
        True
        """
        target = self.layer(name)
        layers = tuple(
            replace(layer, loader=lambda: weights) if layer is target else layer
            for layer in self.layers
        )
        return replace(self, layers=layers)
