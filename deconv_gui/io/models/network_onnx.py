"""An ONNX graph's chain up to a conv layer, as the steps of :func:`.network.model_network`.

Walked back from the layer's output tensor to the graph's input: a tensor that a conv
record produces is that record (its Pad and BatchNormalization already fused by the
reader), any other tensor is one node's output, whose data input is its first; the
node's other inputs must be stored constants. An Add (or Sum) of two computed tensors is
a residual block: both inputs are walked back, to the last tensor their paths share (the
block's input), and the two rest are its branches. A Concat of computed tensors along
the channels (axis 1 of NCHW) joins its branches the same way, stacked (a U-Net's skip
connection); one along another axis, or any other node mixing two computed tensors (a
Mul of two branches, …) is refused with the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx

from ...core.network import ELU, GELU, SELU, Erf, HardSigmoid, HardSwish, Sigmoid, Softplus, Tanh
from .network import (
    LayerStep,
    activation_step,
    affine_step,
    batchnorm_step,
    concat_step,
    conv_step,
    fork,
    global_pool_step,
    parting,
    pool_step,
    product_step,
    refusal,
    relu_step,
    residual_step,
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
#: Element-wise activations: their layer and the node's attributes it takes (ONNX's
#: defaults where PyTorch's differ: HardSigmoid's α 0.2, Softplus without a threshold).
_SMOOTH: dict[str, tuple[Any, dict[str, tuple[str, Any]]]] = {
    "Sigmoid": (Sigmoid, {}),
    "Tanh": (Tanh, {}),
    "Erf": (Erf, {}),
    "Elu": (ELU, {"alpha": ("alpha", 1.0)}),
    "Selu": (SELU, {"alpha": ("alpha", SELU.alpha), "gamma": ("gamma", SELU.gamma)}),
    "Softplus": (Softplus, {"threshold": ("", float("inf"))}),
    "HardSigmoid": (HardSigmoid, {"alpha": ("alpha", 0.2), "beta": ("beta", 0.5)}),
    "HardSwish": (HardSwish, {}),
    "Gelu": (GELU, {"approximate": ("approximate", "none")}),
}


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


#: One tensor of a path from the graph's input and the step that made it (None: nothing).
_Entry = tuple[str, "LayerStep | None"]


def onnx_steps(model: Model, target: ModelLayer) -> list[LayerStep]:
    """The steps from the graph's input to ``target``'s output, in forward order."""
    graph = _graph(model)
    consts = Constants(graph)
    feeds = [v.name for v in graph.input if v.name not in consts.initializers]
    if len(feeds) != 1:
        raise ValueError(f"model {Path(model.path).name}: {len(feeds)} inputs; --through needs one")
    walker = _Walker(model, consts, feeds[0], target.name, len(graph.node))
    path = walker.path(target.output or "")
    return [step for _, step in path[1:] if step is not None]


class _Walker:
    """Paths from the graph's input to its tensors, back one node at a time (see the module).

    A path is the tensors from the input to a tensor, each with the step that made it. An
    Add of two computed tensors takes the two inputs' paths: they share the path up to the
    tensor they fork from (the block's input, the last tensor common to both), and the
    rest of each is a branch of a residual step. The paths of the tensors asked for are
    kept, so the paths of a block's two branches stop at the block before it.
    """

    def __init__(self, model: Model, consts: Constants, feed: str, target: str, nodes: int):
        self.consts, self.feed, self.target = consts, feed, target
        self.records = {r.output: r for r in model.layers if r.output}
        self.folder = Path(model.path).parent
        self.limit = nodes + 1
        self.known: dict[str, tuple[_Entry, ...]] = {feed: ((feed, None),)}

    def path(self, tensor: str) -> tuple[_Entry, ...]:
        """The path to ``tensor``, or a ValueError naming the node it cannot follow."""
        back: list[_Entry] = []
        for _ in range(self.limit):
            if tensor in self.known:
                break
            record = self.records.get(tensor)
            if record is not None and record.input:
                back.append((tensor, conv_step(record)))
                tensor = record.input
                continue
            node = self.consts.producer.get(tensor)
            if node is None:
                raise ValueError(f"tensor {tensor!r} before {self.target} comes from no node")
            if node.op_type in ("Add", "Sum") and self._joins(node):
                self.known[tensor] = self._residual(node)
                break
            if node.op_type == "Concat":
                self.known[tensor] = self._concat(node)
                break
            if node.op_type == "Mul" and self._joins(node):
                self.known[tensor] = self._product(node)
                break
            if node.op_type == "Where":
                back.append((tensor, self._softplus(node)))
                tensor = node.input[1]
                continue
            if node.op_type in _ARITHMETIC:
                affine, data = _arithmetic(node, self.consts, self.target, self.folder)
                back.append((tensor, affine))
                tensor = data
                continue
            back.append((tensor, _node_step(node, self.consts, self.target, self.folder)))
            tensor = node.input[0]
        else:
            raise ValueError(f"the prefix up to {self.target} does not reach the model's input")
        path = self.known[tensor] + tuple(back[::-1])
        self.known[path[-1][0]] = path
        return path

    def _joins(self, node: onnx.NodeProto) -> bool:
        """Whether ``node`` adds two computed tensors (not a tensor and a constant)."""
        names = [n for n in node.input if n]
        computed = [_constant(n, self.consts, self.folder) is None for n in names]
        return len(names) == 2 and all(computed)

    def _residual(self, node: onnx.NodeProto) -> tuple[_Entry, ...]:
        """The path to an Add of two branches: the path to their fork, then the block."""
        first, second = (self.path(name) for name in node.input if name)
        common, body, shortcut = fork(first, second)  # the longer branch is the body
        steps = [[step for _, step in branch if step is not None] for branch in (body, shortcut)]
        step = residual_step(_label(node), steps[0], steps[1])
        return (*first[:common], (node.output[0], step))

    def _concat(self, node: onnx.NodeProto) -> tuple[_Entry, ...]:
        """The path to a Concat along the channels: the path to where its inputs' paths
        part, then the block of their rests, in the node's order."""
        label, names = _label(node), [name for name in node.input if name]
        axis = int(_attrs(node).get("axis", 1))
        if axis not in (1, -3):  # NCHW: 1 is the channels (a conv model's tensors are 4-D)
            raise refusal(self.target, f"Concat node on axis {axis}", label)
        if not names or any(_constant(n, self.consts, self.folder) is not None for n in names):
            raise refusal(self.target, "Concat node of a stored tensor", label)
        return self._branches(node, names, concat_step)

    def _softplus(self, node: onnx.NodeProto) -> LayerStep:
        """``Where(βx > t, x, Softplus(βx) / β)``, the dynamo exporter's softplus with its
        β and threshold (``βx`` and ``/ β`` left out when β is 1), as one layer; any other
        Where is refused."""
        label, names, options = _label(node), list(node.input), None
        producer = self.consts.producer
        test, other = (producer.get(n) for n in (names[0], names[-1]))
        if len(names) == 3 and test is not None and other is not None:
            if test.op_type == "Greater" and len(test.input) == 2:
                options = self._softplus_options(names[1], test, other)
        if options is None:
            raise refusal(self.target, "Where node", label)
        return activation_step(Softplus, label, **options)

    def _softplus_options(
        self, x: str, test: onnx.NodeProto, other: onnx.NodeProto
    ) -> dict[str, float] | None:
        """β and the threshold of a softplus ``Where(test, x, other)``, None if it is not one."""
        scaled, beta = test.input[0], 1.0
        if other.op_type == "Div":  # Softplus(βx) / β
            beta = self._scalar(other.input[1])
            source = self.consts.producer.get(other.input[0])
            if source is None or not beta > 0 or not self._scales(scaled, x, beta):
                return None
            other = source
        elif scaled != x:
            return None
        limit = self._scalar(test.input[1])
        if other.op_type != "Softplus" or other.input[0] != scaled or np.isnan(limit):
            return None
        return {"beta": beta, "threshold": limit}

    def _scalar(self, name: str) -> float:
        """The stored scalar ``name``, NaN when it is none."""
        value = _constant(name, self.consts, self.folder)
        ok = value is not None and value.size == 1 and np.isfinite(value).all()
        return float(value.ravel()[0]) if ok else float("nan")  # type: ignore[union-attr]

    def _scales(self, scaled: str, x: str, beta: float) -> bool:
        """Whether ``scaled`` is ``x · β`` (a Mul of ``x`` by the constant β)."""
        node = self.consts.producer.get(scaled)
        if node is None or node.op_type != "Mul" or len(node.input) != 2 or x not in node.input:
            return False
        return self._scalar(node.input[1 - list(node.input).index(x)]) == beta

    def _product(self, node: onnx.NodeProto) -> tuple[_Entry, ...]:
        """The path to a Mul of two computed tensors (SiLU's ``x · σ(x)``, a gate)."""
        return self._branches(node, [name for name in node.input if name], product_step)

    def _branches(self, node: onnx.NodeProto, names: list[str], make: Any) -> tuple[_Entry, ...]:
        """The path to where the paths of ``names`` part, then ``make``'s block of their
        rests, in the node's order."""
        paths = [self.path(name) for name in names]
        common = parting(paths)
        steps = [[step for _, step in path[common:] if step is not None] for path in paths]
        return (*paths[0][:common], (node.output[0], make(_label(node), steps)))


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
    if op in _SMOOTH:
        return _smooth(op, label, attrs)
    if op == "GlobalAveragePool":
        return global_pool_step(label)
    if op == "ReduceMean":
        return _mean(node, attrs, consts, target, folder)
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


def _mean(
    node: onnx.NodeProto, attrs: dict[str, Any], consts: Constants, target: str, folder: Path
) -> LayerStep:
    """A ReduceMean over the height and width, kept as 1×1 (the dynamo exporter's
    adaptive_avg_pool2d(x, 1)): a global average pool; any other is refused."""
    axes: Any = attrs.get("axes")  # an attribute before opset 18, an input since
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = _constant(node.input[1], consts, folder)
    spatial = axes is not None and sorted(int(a) % 4 for a in np.ravel(axes)) == [2, 3]
    if not spatial or not int(attrs.get("keepdims", 1)):
        raise refusal(target, "ReduceMean node (not over the height and width, kept)", _label(node))
    return global_pool_step(_label(node))


def _smooth(op: str, label: str, attrs: dict[str, Any]) -> LayerStep:
    """The step of an element-wise activation node, with its attributes."""
    cls, names = _SMOOTH[op]
    options = {}
    for option, (attr, default) in names.items():
        value = attrs.get(attr, default) if attr else default
        options[option] = value.decode() if isinstance(value, bytes) else value
    return activation_step(cls, label, **options)


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
