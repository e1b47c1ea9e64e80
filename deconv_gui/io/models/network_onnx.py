"""An ONNX graph's chain up to a conv layer, as the steps of :func:`.network.model_network`.

Walked back from the layer's output tensor to the graph's input: a tensor that a conv
record produces is that record (its Pad and BatchNormalization already fused by the
reader), any other tensor is one node's output, whose data input is its first; the
node's other inputs must be stored constants, so a node mixing two computed tensors
(Add, Concat, Mul of two branches, …) is refused with the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx

from .network import (
    LayerStep,
    affine_step,
    batchnorm_step,
    conv_step,
    pool_step,
    refusal,
    relu_step,
)
from .onnx_consts import Constants
from .onnx_model import MAX_ONNX_BYTES, tensor_array
from .record import Model, ModelLayer
from .safety import file_size

__all__ = ["onnx_steps"]

#: Nodes that compute nothing at inference.
_PASS = ("Identity", "Dropout")
#: Element-wise nodes that are affine when one operand is a stored scalar or per-channel
#: constant (a normalisation in the graph); with two computed operands, a branch joins.
_ARITHMETIC = ("Add", "Sub", "Mul", "Div")


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _label(node: onnx.NodeProto) -> str:
    return node.name or (node.output[0] if node.output else "?")


def _graph(model: Model) -> onnx.GraphProto:
    path = Path(model.path)
    if file_size(path) > MAX_ONNX_BYTES:
        raise ValueError(f"model {path.name}: more than protobuf's 2 GB limit; refused")
    try:
        return onnx.load(str(path), load_external_data=False).graph
    except Exception as exc:  # protobuf's errors: the file changed since it was listed
        raise ValueError(f"model {path.name}: not an ONNX model ({type(exc).__name__})") from None


def onnx_steps(model: Model, target: ModelLayer) -> list[LayerStep]:
    """The steps from the graph's input to ``target``'s output, in forward order."""
    graph = _graph(model)
    consts = Constants(graph)
    feeds = [v.name for v in graph.input if v.name not in consts.initializers]
    if len(feeds) != 1:
        raise ValueError(f"model {Path(model.path).name}: {len(feeds)} inputs; --through needs one")
    records = {r.output: r for r in model.layers if r.output}
    steps: list[LayerStep] = []
    tensor = target.output
    folder = Path(model.path).parent
    for _ in range(len(graph.node) + 1):
        if tensor == feeds[0]:
            return steps[::-1]
        record = records.get(tensor or "")
        if record is not None and record.input:
            steps.append(conv_step(record))
            tensor = record.input
            continue
        node = consts.producer.get(tensor or "")
        if node is None:
            raise ValueError(f"tensor {tensor!r} before {target.name} comes from no node")
        if node.op_type in _ARITHMETIC:
            affine, tensor = _arithmetic(node, consts, target.name, folder)
            steps.append(affine)
            continue
        step = _node_step(node, consts, target.name, folder)
        if step is not None:
            steps.append(step)
        tensor = node.input[0]
    raise ValueError(f"the prefix up to {target.name} does not reach the model's input")


def _node_step(
    node: onnx.NodeProto, consts: Constants, target: str, folder: Path
) -> LayerStep | None:
    """The step of one node of the chain (None: it computes nothing), or a refusal."""
    op, label = node.op_type, _label(node)
    if not node.input or not node.input[0]:
        raise refusal(target, f"{op} node", label)
    computed = [n for n in node.input[1:] if n and consts.tensor(n) is None]
    if computed and op not in _PASS:  # two computed inputs: a branch joins here
        raise refusal(target, f"{op} node", label)
    attrs = _attrs(node)
    if op in _PASS:
        return None
    if op == "Relu":
        return relu_step(label)
    if op == "LeakyRelu":
        return relu_step(label, float(attrs.get("alpha", 0.01)))
    if op == "BatchNormalization" and len(node.input) >= 5:
        what = f"model {folder.name}"
        gamma, beta, mean, var = (
            tensor_array(consts.tensor(n), folder, what)  # type: ignore[arg-type]
            for n in node.input[1:5]
        )
        return batchnorm_step(label, gamma, beta, mean, var, float(attrs.get("epsilon", 1e-5)))
    if op in ("MaxPool", "AveragePool"):
        return _pool(node, attrs, target)
    if op in ("Conv", "ConvTranspose"):
        raise ValueError(
            f"the prefix up to {target} contains {op} {label!r}, whose weights are computed, "
            "not stored"
        )
    raise refusal(target, f"{op} node", label)


def _pool(node: onnx.NodeProto, attrs: dict[str, Any], target: str) -> LayerStep:
    label = _label(node)
    kernel = tuple(int(k) for k in attrs.get("kernel_shape", ()))
    if len(kernel) != 2:
        raise refusal(target, f"{len(kernel)}-D {node.op_type} node", label)
    stride = tuple(int(s) for s in attrs.get("strides", (1, 1)))
    dilations = tuple(int(d) for d in attrs.get("dilations", (1, 1)))
    if int(attrs.get("ceil_mode", 0)) or any(d != 1 for d in dilations):
        raise refusal(target, f"{node.op_type} node (ceil_mode or dilations)", label)
    if len(node.output) > 1 and node.output[1]:
        raise refusal(target, "MaxPool node with indices", label)
    rule = attrs.get("auto_pad", b"NOTSET")
    rule = rule.decode() if isinstance(rule, bytes) else str(rule)
    pads: Any
    if rule in ("SAME_UPPER", "SAME_LOWER"):
        pads = "same" if rule == "SAME_UPPER" else None
        if pads is None:
            raise refusal(target, f"{node.op_type} node (SAME_LOWER)", label)
    else:
        p = [int(v) for v in attrs.get("pads", (0, 0, 0, 0))] if rule != "VALID" else [0] * 4
        pads = ((p[0], p[2]), (p[1], p[3]))
    return pool_step(
        label,
        node.op_type == "AveragePool",
        (kernel[0], kernel[1]),
        (int(stride[0]), int(stride[1])),
        pads,
        bool(int(attrs.get("count_include_pad", 0))),
    )


def _constant(name: str, consts: Constants, folder: Path) -> np.ndarray | None:
    """The stored or foldable constant ``name``, None when it is computed from the input."""
    if not name:
        return None
    value = consts.value(name)
    if value is None and consts.tensor(name) is not None:
        value = tensor_array(consts.tensor(name), folder, f"model {folder.name}")  # type: ignore[arg-type]
    return None if value is None else np.asarray(value, dtype=np.float64)


def _per_channel(value: np.ndarray) -> np.ndarray | None:
    """A scalar, or one value per channel as NCHW broadcasts it ((C, 1, 1), (1, C, 1, 1))."""
    if value.size == 1:
        return value.reshape(1)
    if value.ndim >= 3 and value.shape[-2:] == (1, 1) and value.size == value.shape[-3]:
        return value.reshape(-1)
    return None


def _arithmetic(
    node: onnx.NodeProto, consts: Constants, target: str, folder: Path
) -> tuple[LayerStep, str]:
    """An Add/Sub/Mul/Div with one constant operand as an affine step, and its data input."""
    op, label = node.op_type, _label(node)
    values = [_constant(n, consts, folder) for n in node.input[:2]]
    if len(node.input) != 2 or (values[0] is None) == (values[1] is None):
        raise refusal(target, f"{op} node", label)
    first = values[0] is not None
    constant = _per_channel(values[0] if first else values[1])  # type: ignore[arg-type]
    if constant is None or (op == "Div" and (first or np.any(constant == 0))):
        raise refusal(target, f"{op} node (not by a scalar or per-channel constant)", label)
    one, zero = np.ones_like(constant), np.zeros_like(constant)
    scale, shift = {
        "Add": (one, constant),
        "Sub": (-one, constant) if first else (one, -constant),
        "Mul": (constant, zero),
        "Div": (1.0 / constant, zero),
    }[op]
    return affine_step(label, scale, shift), node.input[0 if values[1] is not None else 1]
