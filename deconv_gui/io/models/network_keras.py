"""A Keras chain up to a conv layer, as the steps of :func:`.network.model_network`.

Walked back from the layer through each layer's inbound layer (the previous one in a
Sequential model) to the input. Conv2D, Conv2DTranspose, DepthwiseConv2D (with a
relu, leaky_relu or linear activation), BatchNormalization, ReLU, LeakyReLU,
Activation, MaxPooling2D, AveragePooling2D, ZeroPadding2D (fused into the next conv),
Rescaling, and the layers that compute nothing at inference convert; a layer with more
than one input (Add, Concatenate, …) or any other layer is refused in one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .keras_geometry import _pair, _sides
from .keras_model import CONV_CLASSES, _config, keras_layers, layer_variables
from .network import (
    LayerStep,
    affine_step,
    batchnorm_step,
    conv_step,
    pool_step,
    refusal,
    relu_step,
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


def _name(entry: dict[str, Any]) -> str:
    return str(entry.get("name") or entry.get("config", {}).get("name", "?"))


def _inputs(entry: dict[str, Any]) -> int:
    """How many tensors a Functional model's layer reads (1 in a Sequential model)."""
    return json.dumps(entry.get("inbound_nodes", [])).count('"keras_history"')


def keras_steps(model: Model, target: ModelLayer) -> list[LayerStep]:
    """The steps from the model's input to ``target``'s output (before its activation)."""
    path = Path(model.path)
    if model.data_format != "channels_last":
        raise ValueError(f"model {path.name}: --through reads channels_last Keras models only")
    entries = list(keras_layers(_config(path, f"model {path.name}")))
    by_name = {_name(entry): (entry, source) for entry, source in entries}
    records = {r.name: r for r in model.layers}
    chain: list[dict[str, Any]] = []
    name: str | None = target.name
    for _ in range(len(entries) + 1):
        if name is None or name not in by_name:
            break
        entry, source = by_name[name]
        if _inputs(entry) > 1:
            raise refusal(target.name, f"{entry.get('class_name')} layer", name)
        chain.append(entry)
        name = source
    steps: list[LayerStep] = []
    padding = None  # a ZeroPadding2D waiting for its conv
    for entry in chain[::-1]:
        cls, label = entry.get("class_name"), _name(entry)
        if cls == "ZeroPadding2D":
            sides = _sides(entry.get("config", {}).get("padding", 1))
            padding = sides if padding is None else _add(padding, sides)
            continue
        if padding is not None and cls not in _PASS:
            if label not in records or records[label].kind != "conv":
                raise refusal(target.name, "ZeroPadding2D layer before a non-conv layer", label)
        steps.extend(_steps(entry, records, path, target, padding))
        if cls not in _PASS:
            padding = None
    return steps


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
    raise refusal(target.name, f"{cls} layer", label)


def _activation(name: Any, label: str, target: str) -> list[LayerStep]:
    if isinstance(name, dict):
        name = name.get("config", {}).get("name") or name.get("class_name")
    key = str(name or "linear").lower()
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
