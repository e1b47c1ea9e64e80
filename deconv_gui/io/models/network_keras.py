"""A Keras chain up to a conv layer, as the steps of :func:`.network.model_network`.

Walked back from the layer through each layer's inbound layer (the previous one in a
Sequential model) to the input. Conv2D, Conv2DTranspose, DepthwiseConv2D (with a
relu, leaky_relu, linear or smooth activation: sigmoid, tanh, swish/silu, gelu,
hard_sigmoid, hard_swish/hard_silu, elu, selu, softplus), BatchNormalization, ReLU, LeakyReLU,
Activation, MaxPooling2D, AveragePooling2D, ZeroPadding2D (fused into the next conv; a
zero padding layer before another, e.g. ResNet50's before its max-pool),
Rescaling, and the layers that compute nothing at inference convert. In a Functional
model, an Add of two layers is a residual block (ResNet's), its branches walked back to
the layer they fork from, and a Concatenate on the channel axis stacks its branches
likewise (a U-Net's skip connection), and a Multiply multiplies them (a gate, a
squeeze-excitation); any other layer with more than one input (a Concatenate on another
axis, Subtract, …) or any other layer is refused in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...core.network import ELU, GELU, SELU, HardSigmoid, HardSwish, Sigmoid, SiLU, Softplus, Tanh
from .keras_geometry import _pair, _sides
from .keras_model import CONV_CLASSES, _config, inbound_layers, keras_layers, layer_variables
from .network import (
    LayerStep,
    activation_step,
    affine_step,
    batchnorm_step,
    concat_step,
    conv_step,
    fork,
    global_pool_step,
    pad_step,
    parting,
    pool_step,
    product_step,
    refusal,
    relu_step,
    residual_step,
)
from .record import Model, ModelLayer

__all__ = ["keras_steps"]

#: Layers that compute nothing at inference.
_PASS = (
    "InputLayer",
    "Dropout",
    "SpatialDropout2D",
    "GaussianNoise",
    "GaussianDropout",
    "Identity",
    "ActivityRegularization",
)
#: Keras activations a chain holds, by name: the leaky ReLU's slope (None: none at all).
_ACTIVATIONS: dict[str, float | None] = {"linear": None, "relu": 0.0, "leaky_relu": 0.2}
#: Keras's smooth activations, by name: their layers (Keras's hard sigmoid is PyTorch's).
_SMOOTH: dict[str, Any] = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "swish": SiLU,
    "silu": SiLU,
    "gelu": GELU,
    "hard_sigmoid": HardSigmoid,
    "hard_swish": HardSwish,
    "hard_silu": HardSwish,
    "elu": ELU,
    "selu": SELU,
    "softplus": Softplus,
}
#: Keras's merging layers that join branches, by their join.
_JOINS = {"Add": "add", "Concatenate": "concat", "Multiply": "mul"}


def _name(entry: dict[str, Any]) -> str:
    return str(entry.get("name") or entry.get("config", {}).get("name", "?"))


#: One layer of a path from the input, by name: its config, or a join's kind (``"add"``,
#: ``"concat"``) and its branches' paths.
_Item = tuple[str, Any]


def keras_steps(model: Model, target: ModelLayer) -> list[LayerStep]:
    """The steps from the model's input to ``target``'s output (before its activation)."""
    path = Path(model.path)
    if model.data_format != "channels_last":
        raise ValueError(f"model {path.name}: --through reads channels_last Keras models only")
    entries = list(keras_layers(_config(path, f"model {path.name}")))
    walk = _Walk({_name(entry): (entry, source) for entry, source in entries}, target.name)
    records = {r.name: r for r in model.layers}
    return _build(walk.path(target.name), records, path, target)


class _Walk:
    """Paths from the input to a layer, back through each layer's inbound one; an Add of
    two layers is a residual block whose branches fork where their paths part (as the
    ONNX walker's, :mod:`.network_onnx`)."""

    def __init__(self, by_name: dict[str, tuple[dict[str, Any], str | None]], target: str):
        self.by_name, self.target = by_name, target
        self.known: dict[str, tuple[_Item, ...]] = {}

    def path(self, name: str | None) -> tuple[_Item, ...]:
        back: list[_Item] = []
        base: tuple[_Item, ...] = ()
        for _ in range(len(self.by_name) + 1):
            if name is None or name not in self.by_name:
                break
            if name in self.known:
                base = self.known[name]
                break
            entry, source = self.by_name[name]
            reads = inbound_layers(entry)
            if len(reads) > 1:
                base = self.known[name] = self._join(name, entry, reads)
                break
            back.append((name, entry))
            name = source
        path = base + tuple(back[::-1])
        if path:
            self.known[path[-1][0]] = path
        return path

    def _join(self, name: str, entry: dict[str, Any], reads: list[str]) -> tuple[_Item, ...]:
        """The path to a merge: to where its inputs' paths part, then the block (an Add of
        two: a residual block; a Concatenate on the channels: their stack)."""
        cls, axis = entry.get("class_name"), entry.get("config", {}).get("axis", -1)
        join = _JOINS.get(str(cls))
        add = join == "add" and len(reads) == 2
        if join == "concat" and axis not in (-1, 3):  # channels_last: -1 (or 3): channels
            raise refusal(self.target, f"Concatenate layer on axis {axis}", name)
        if join is None or (join == "add" and not add):
            raise refusal(self.target, f"{cls} layer", name)
        paths = [self.path(read) for read in reads]
        if add:
            common, body, shortcut = fork(paths[0], paths[1])
            return (*paths[0][:common], (name, ("add", [body, shortcut])))
        common = parting(paths)
        return (*paths[0][:common], (name, (join, [p[common:] for p in paths])))


def _build(
    items: tuple[_Item, ...], records, path: Path, target: ModelLayer, made: Any = None
) -> list[LayerStep]:
    """The steps of a path's layers: a ZeroPadding2D fused into the conv after it, a zero
    padding layer before anything else (a max-pool's zeros are not its own padding). A
    layer that several branches hold (DenseNet's maps) gets the same steps in each
    (``made``), so the network holds it once."""
    made = {} if made is None else made
    steps: list[LayerStep] = []
    padding, padded = None, ""  # a ZeroPadding2D waiting for its conv, and its name
    for label, entry in items:
        cls = entry[0] if isinstance(entry, tuple) else entry.get("class_name")
        if cls == "ZeroPadding2D":
            sides = _sides(entry.get("config", {}).get("padding", 1))
            padding, padded = (sides if padding is None else _add(padding, sides)), label
            continue
        if padding is not None and cls not in _PASS:
            if label not in records or records[label].kind != "conv":
                steps.append(pad_step(padded, padding))
                padding = None
        if isinstance(entry, tuple):  # a join: its branches
            join, branches = entry
            if ("join", label) not in made:
                built = [_build(tuple(b), records, path, target, made) for b in branches]
                made["join", label] = [_join_step(join, label, built)]
            steps.extend(made["join", label])
            continue
        if (label, padding) not in made:
            made[label, padding] = _steps(entry, records, path, target, padding)
        steps.extend(made[label, padding])
        if cls not in _PASS:
            padding = None
    if padding is not None:
        steps.append(pad_step(padded, padding))
    return steps


def _join_step(join: str, label: str, built: list[list[LayerStep]]) -> LayerStep:
    """The block of a merge's branches: added, stacked or multiplied."""
    if join == "add":
        return residual_step(label, *built)
    return (product_step if join == "mul" else concat_step)(label, built)


def _add(a, b):
    return tuple((x[0] + y[0], x[1] + y[1]) for x, y in zip(a, b, strict=True))


def _steps(entry, records, path: Path, target: ModelLayer, padding) -> list[LayerStep]:
    cls, cfg, label = entry.get("class_name"), entry.get("config", {}), _name(entry)
    if cls in CONV_CLASSES and label in records:
        steps = [conv_step(records[label], padding)]
        if label != target.name:  # the chosen layer is read before its activation
            steps.extend(_activation(cfg.get("activation"), label, target.name))
        return steps
    if cls in _PASS:
        return []
    if cls == "BatchNormalization":
        return [_batch_norm(cfg, label, path, target.name)]
    if cls == "ReLU":
        if cfg.get("max_value") is not None or float(cfg.get("threshold", 0.0)) != 0:
            raise refusal(target.name, "ReLU layer with a cap or threshold", label)
        return [relu_step(label, float(cfg.get("negative_slope", 0.0)))]
    if cls == "LeakyReLU":
        return [relu_step(label, float(cfg.get("negative_slope", cfg.get("alpha", 0.3))))]
    if cls == "Activation":
        return _activation(cfg.get("activation"), label, target.name)
    if cls in ("MaxPooling2D", "AveragePooling2D"):
        size = _pair(cfg.get("pool_size"), 2)
        stride = _pair(cfg.get("strides") or size)
        rule = str(cfg.get("padding", "valid")).lower()
        pads: Any = "same" if rule == "same" else ((0, 0), (0, 0))
        # Keras leaves the padding out of an average
        return [pool_step(label, cls == "AveragePooling2D", size, stride, pads, False)]
    if cls == "Rescaling":
        return [affine_step(label, cfg.get("scale", 1.0), cfg.get("offset", 0.0))]
    if cls == "GlobalAveragePooling2D" and cfg.get("keepdims"):
        return [global_pool_step(label)]  # a squeeze-excitation's squeeze
    raise refusal(target.name, f"{cls} layer", label)


def _activation(name: Any, label: str, target: str) -> list[LayerStep]:
    if isinstance(name, dict):
        name = name.get("config", {}).get("name") or name.get("class_name")
    key = str(name or "linear").lower()
    if key in _SMOOTH:
        return [activation_step(_SMOOTH[key], f"{label}.activation")]
    if key not in _ACTIVATIONS:
        raise refusal(target, f"{key} activation in layer", label)
    slope = _ACTIVATIONS[key]
    return [] if slope is None else [relu_step(f"{label}.activation", slope)]


def _batch_norm(cfg: dict[str, Any], label: str, path: Path, target: str) -> LayerStep:
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
    if axis not in (-1, 3):
        raise refusal(target, f"BatchNormalization (axis {axis}) layer", label)
    values = layer_variables(path, label)
    gamma = values.pop(0) if cfg.get("scale", True) else 1.0
    beta = values.pop(0) if cfg.get("center", True) else 0.0
    mean, var = values[0], values[1]
    return batchnorm_step(label, gamma, beta, mean, var, float(cfg.get("epsilon", 1e-3)))
