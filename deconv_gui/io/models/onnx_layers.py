"""One ONNX Conv/ConvTranspose node as a :class:`~.record.ModelLayer`.

A ``Pad`` whose only consumer is the conv is fused into its padding (constant 0 pads add
to the conv's own; ``reflect``/``edge``/``wrap`` become the padding mode when the conv
pads nothing itself); a ``BatchNormalization`` that alone consumes the conv's output is
folded into its weights and bias, and the layer's output becomes the BN's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx

from .onnx_consts import Constants
from .record import LayerWeights, ModelLayer, Pads, auto_pads, torch_to_ours

__all__ = ["auto_pads", "conv_layer"]

_MODES = {"constant": "zeros", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}

Read = Callable[[str, Constants], np.ndarray]

#: The node names PyTorch's torch.export-based ONNX exporter (its default from 2.9) makes
#: up: node_Conv_33, node_conv2d_9, node_convolution_1. Its weights keep the module's
#: path (encoder.layer2.0.conv1.weight), the name a PyTorch user knows the layer by.
_MADE_UP = re.compile(r"node_[A-Za-z0-9]+(?:_[0-9]+)*")


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _text(value: Any, default: str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or default)


def _transpose_pads(
    rule: str, size: int, out: int, kernel: int, stride: int, dilation: int, extra: int
) -> tuple[int, int] | None:
    """ConvTranspose pads from auto_pad or output_shape (the ONNX operator's formula)."""
    total = stride * (size - 1) + extra + (kernel - 1) * dilation + 1 - out
    if total < 0:
        return None
    if rule == "SAME_UPPER":
        return total // 2, total - total // 2
    return total - total // 2, total // 2


def conv_layer(
    node: onnx.NodeProto,
    consts: Constants,
    shapes: dict[str, tuple],
    consumers: dict[str, list[onnx.NodeProto]],
    outputs: set[str],
    read: Read,
    notes: list[str],
) -> ModelLayer | None:
    """The layer of ``node``, or None (with a note saying why) when it is not a 2-D conv."""
    label = node.name or node.output[0]
    named = _module_name(label, node)
    transpose = node.op_type == "ConvTranspose"
    shape = _stored_2d_weights(node, consts, label, notes)
    if shape is None:
        return None
    attrs = _attrs(node)
    group = int(attrs.get("group", 1))
    kernel = (int(shape[2]), int(shape[3]))
    stride = tuple(int(s) for s in attrs.get("strides", (1, 1)))
    dilation = tuple(int(d) for d in attrs.get("dilations", (1, 1)))
    rule = _text(attrs.get("auto_pad"), "NOTSET")
    pads = [int(p) for p in attrs.get("pads", (0, 0, 0, 0))]
    output_padding = tuple(int(p) for p in attrs.get("output_padding", (0, 0)))
    _check_attrs(label, group, shape, stride, dilation, pads, output_padding)
    source, mode = node.input[0], "zeros"
    layer_notes: list[str] = []
    fused = None if transpose else _fused_pad(node, consts, consumers, outputs)
    if fused is not None and rule in ("NOTSET", "VALID"):
        source, mode, pads, rule = _with_fused_pad(fused, source, pads, rule, layer_notes)
    size = _spatial(shapes.get(source))
    padding: Pads | None = ((pads[0], pads[2]), (pads[1], pads[3]))
    padding, padding_rule = _resolve_rule(
        rule, transpose, padding, size, kernel, stride, dilation, output_padding, attrs
    )
    bn = _folded_bn(node, consts, consumers, outputs, layer_notes)
    in_ch, out_ch = _channels(shape, group, transpose)
    return ModelLayer(
        name=named or label,
        node=label if named else None,
        kind="conv_transpose" if transpose else "conv",
        weight_shape=shape,
        in_channels=in_ch,
        out_channels=out_ch,
        kernel=kernel,
        stride=(stride[0], stride[1]),
        padding=padding,
        dilation=(dilation[0], dilation[1]),
        groups=group,
        padding_mode=mode,
        output_padding=(output_padding[0], output_padding[1]) if transpose else None,
        input=source,
        output=node.output[0] if bn is None else bn.output[0],
        padding_rule=padding_rule,
        input_size=size,
        notes=tuple(layer_notes),
        loader=_loader(node, bn, consts, read, transpose, group),
    )


def _stored_2d_weights(
    node: onnx.NodeProto, consts: Constants, label: str, notes: list[str]
) -> tuple[int, ...] | None:
    """The shape of the conv's stored 2-D weights, or None with a note saying why not."""
    shape = consts.shape(node.input[1]) if len(node.input) > 1 else None
    if shape is None:
        notes.append(f"{node.op_type} {label!r} skipped: its weights are computed, not stored")
    elif len(shape) != 4:
        notes.append(f"{node.op_type} {label!r} skipped: {len(shape) - 2}-D, only 2-D is read")
        shape = None
    return shape


def _module_name(label: str, node: onnx.NodeProto) -> str | None:
    """The module path of a conv whose node name was made up (:data:`_MADE_UP`), from its
    weight's name ``<path>.weight``; None to keep the node's name.

    Examples
    --------
    >>> node = onnx.helper.make_node("Conv", ["x", "enc.conv1.weight"], ["y"], name="node_Conv_3")
    >>> _module_name(node.name, node), _module_name("/enc/conv1/Conv", node)
    ('enc.conv1', None)
    """
    weight = node.input[1] if len(node.input) > 1 else ""
    if not _MADE_UP.fullmatch(label) or not weight.endswith(".weight"):
        return None
    return weight[: -len(".weight")] or None


def _with_fused_pad(
    fused: tuple[onnx.NodeProto, Pads, str],
    source: str,
    pads: list[int],
    rule: str,
    notes: list[str],
) -> tuple[str, str, list[int], str]:
    """The conv's input, padding mode, pads and auto_pad rule with the ``Pad`` node
    ``fused`` (:func:`_fused_pad`) folded in: constant pads add to the conv's own, another
    mode is taken only when the conv pads nothing itself (else nothing is fused)."""
    pad_node, extra, pad_mode = fused
    if rule == "VALID":
        pads, rule = [0, 0, 0, 0], "NOTSET"
    if pad_mode != "zeros" and any(pads):
        return source, "zeros", pads, rule
    (top, bottom), (left, right) = extra
    pads = [pads[0] + top, pads[1] + left, pads[2] + bottom, pads[3] + right]
    notes.append(f"Pad {pad_node.name or pad_node.output[0]!r} fused ({pad_mode})")
    return pad_node.input[0], pad_mode, pads, rule


def _channels(shape: tuple, group: int, transpose: bool) -> tuple[int, int]:
    """``(C_in, C_out)`` of the weights' ``shape``: ``(C_out, C_in/g, k, k)`` for Conv,
    ``(C_in, C_out/g, k, k)`` for ConvTranspose."""
    if transpose:
        return int(shape[0]), int(shape[1]) * group
    return int(shape[1]) * group, int(shape[0])


def _check_attrs(label, group, shape, stride, dilation, pads, output_padding) -> None:
    """A one-line ValueError for attributes no runtime would accept."""
    problems = []
    if len(stride) != 2 or min(stride) < 1:
        problems.append(f"strides {list(stride)}")
    if len(dilation) != 2 or min(dilation) < 1:
        problems.append(f"dilations {list(dilation)}")
    if len(pads) != 4 or min(pads) < 0:
        problems.append(f"pads {pads}")
    if len(output_padding) != 2 or min(output_padding) < 0:
        problems.append(f"output_padding {list(output_padding)}")
    if group < 1 or shape[0] % group:  # Conv's C_out, ConvTranspose's C_in
        problems.append(f"group {group}")
    if problems:
        raise ValueError(f"{label!r} has invalid {', '.join(problems)}")


def _spatial(dims: tuple | None) -> tuple[int, int] | None:
    if dims is None or len(dims) != 4 or dims[2] is None or dims[3] is None:
        return None
    return int(dims[2]), int(dims[3])


def _resolve_rule(rule, transpose, padding, size, kernel, stride, dilation, extra, attrs):
    """Explicit pads, or those auto_pad/output_shape imply at the input size (if known)."""
    if rule == "VALID":
        return ((0, 0), (0, 0)), None
    wanted = attrs.get("output_shape")
    if rule not in ("SAME_UPPER", "SAME_LOWER") and not (transpose and wanted):
        return padding, None
    name = "same" if rule == "SAME_UPPER" else "same_lower"
    if size is None:
        return None, name
    if not transpose:
        return tuple(
            auto_pads(rule, size[i], kernel[i], stride[i], dilation[i]) for i in (0, 1)
        ), None
    out = wanted[-2:] if wanted else (size[0] * stride[0], size[1] * stride[1])
    sides = [
        _transpose_pads(rule, size[i], int(out[i]), kernel[i], stride[i], dilation[i], extra[i])
        for i in (0, 1)
    ]
    if None in sides:
        return None, name
    return tuple(sides), None


def _fused_pad(node, consts: Constants, consumers, outputs):
    """The Pad node feeding ``node`` alone, its spatial pads and mode, when it can be fused."""
    pad = consts.producer.get(node.input[0])
    if pad is None or pad.op_type != "Pad" or node.input[0] in outputs:
        return None
    if len(consumers.get(node.input[0], [])) != 1:
        return None
    attrs = _attrs(pad)
    mode = _MODES.get(_text(attrs.get("mode"), "constant"))
    pads = attrs.get("pads") if len(pad.input) < 2 else consts.value(pad.input[1])
    if mode is None or pads is None:
        return None
    pads = [int(p) for p in np.asarray(pads).reshape(-1)]
    if len(pad.input) > 3 and pad.input[3]:
        axes = consts.value(pad.input[3])
        if axes is None:
            return None
        full = [0] * 8
        for i, axis in enumerate(int(a) % 4 for a in np.asarray(axes).reshape(-1)):
            full[axis], full[axis + 4] = pads[i], pads[i + len(pads) // 2]
        pads = full
    if len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)) or min(pads) < 0:
        return None
    if len(pad.input) > 2 and pad.input[2]:
        value = consts.value(pad.input[2])
        if value is None or np.any(value != 0):
            return None
    if mode == "zeros" and "value" in attrs and attrs["value"] != 0:
        return None
    return pad, ((pads[2], pads[6]), (pads[3], pads[7])), mode


def _folded_bn(node, consts: Constants, consumers, outputs, notes: list[str]):
    """The ``BatchNormalization`` that alone consumes ``node``'s output with stored
    statistics, to fold into its weights and bias (said in ``notes``), or None."""
    out = node.output[0]
    users = consumers.get(out, [])
    if out in outputs or len(users) != 1 or users[0].op_type != "BatchNormalization":
        return None
    bn = users[0]
    if len(bn.output) > 1 and any(bn.output[1:]):  # training mode: not a fixed affine map
        return None
    if any(consts.shape(name) is None for name in bn.input[1:5]):
        return None
    notes.append(f"BatchNormalization {bn.name or bn.output[0]!r} folded into the weights and bias")
    return bn


def _loader(node, bn, consts: Constants, read: Read, transpose: bool, group: int):
    def load() -> LayerWeights:
        weight = np.asarray(read(node.input[1], consts), dtype=np.float64)
        bias = None
        if len(node.input) > 2 and node.input[2]:
            bias = np.asarray(read(node.input[2], consts), dtype=np.float64).reshape(-1)
        if bn is not None:
            weight, bias = _fold(weight, bias, bn, consts, read, transpose, group)
        return LayerWeights(torch_to_ours(weight), bias)

    return load


def _fold(weight, bias, bn, consts, read, transpose, group):
    """Conv then BN is one conv: W·s per output channel, (b − mean)·s + beta, s = γ/√(var+ε)."""
    gamma, beta, mean, var = (
        np.asarray(read(n, consts), np.float64).reshape(-1) for n in bn.input[1:5]
    )
    eps = float(_attrs(bn).get("epsilon", 1e-5))
    scale = gamma / np.sqrt(var + eps)
    if bias is None:
        bias = np.zeros_like(mean)
    if transpose:  # W_t (C_in, C_out/g, k, k): output channel g·(C_out/g) + j
        c_in, per = weight.shape[0], weight.shape[1]
        grouped = weight.reshape(group, c_in // group, per, *weight.shape[2:])
        weight = (grouped * scale.reshape(group, 1, per, 1, 1)).reshape(weight.shape)
    else:
        weight = weight * scale[:, None, None, None]
    return weight, (bias - mean) * scale + beta
