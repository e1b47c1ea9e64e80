"""A small executor of Keras models: conv, BatchNormalization, ReLU/LeakyReLU, pooling,
padding, cropping, upsampling, dropout, and the merges of a Functional model's branches
(Add, Concatenate, …). Enough to feed a deep layer of a Sequential model or a ResNet the
activation the model would, without Keras.

Everything is computed in (H, W, C) with float64 and :func:`~deconv_gui.core.conv2d`;
a layer outside this list before the chosen one is named in a one-line ValueError.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...core import conv2d, conv2d_transpose
from ...core.network import GELU, HardSigmoid, HardSwish
from .keras_geometry import _pair, _sides
from .keras_model import _config, inbound_layers, keras_layers, layer_variables
from .record import Model, ModelLayer, auto_pads

__all__ = ["ACTIVATIONS", "apply_activation", "run_keras"]


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


#: The activations the executor applies (Keras names).
ACTIVATIONS: dict[str, Callable[[np.ndarray], Any]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "elu": _elu,
    "selu": lambda x: (
        1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0)))
    ),
    "silu": lambda x: x / (1 + np.exp(-x)),
    "swish": lambda x: x / (1 + np.exp(-x)),
    "softplus": lambda x: np.logaddexp(0, x),
    "gelu": lambda x: GELU().values(x)[0],
    "hard_sigmoid": lambda x: HardSigmoid().values(x)[0],
    "hard_swish": lambda x: HardSwish().values(x)[0],
    "hard_silu": lambda x: HardSwish().values(x)[0],
}


def apply_activation(name: Any, x: np.ndarray, layer: str) -> np.ndarray:
    """Keras activation ``name`` applied to ``x``; a ValueError naming an unknown one."""
    if isinstance(name, dict):
        name = name.get("config", {}).get("name") or name.get("class_name")
    key = str(name or "linear").lower()
    function = ACTIVATIONS.get(key)
    if function is None:
        raise ValueError(f"layer {layer!r}: activation {key!r} is not one the executor runs")
    return np.asarray(function(x))


def _conv(layer: ModelLayer, x: np.ndarray) -> np.ndarray:
    """The layer's output before its activation, from its record (asymmetric padding too;
    a strided 'same' of a model without a fixed input size resolved at ``x``'s size)."""
    padding = layer.params_fields(x.shape[0], x.shape[1]).get("padding")
    if padding is None or layer.stride is None or layer.dilation is None or not layer.groups:
        raise ValueError(f"layer {layer.name!r}: its geometry is not known from the file")
    loaded = layer.load()
    (top, bottom), (left, right) = padding
    if layer.kind == "conv":
        padded = np.pad(x, ((top, bottom), (left, right), (0, 0)))
        return conv2d(
            padded,
            loaded.weights,
            loaded.bias,
            stride=layer.stride,
            dilation=layer.dilation,
            groups=layer.groups,
        )
    kh, kw = loaded.weights.shape[:2]
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    full = ((x.shape[0] - 1) * sh + (kh - 1) * dh + 1, (x.shape[1] - 1) * sw + (kw - 1) * dw + 1)
    out = conv2d_transpose(
        x,
        loaded.weights,
        input_shape=(*full, loaded.weights.shape[2] * layer.groups),
        stride=layer.stride,
        dilation=layer.dilation,
        groups=layer.groups,
    )
    oh, ow = layer.output_padding or (0, 0)
    out = np.pad(out, ((0, oh), (0, ow), (0, 0)))
    out = out[top : out.shape[0] - bottom, left : out.shape[1] - right]
    return out if loaded.bias is None else out + loaded.bias


def _pool(cfg: dict[str, Any], x: np.ndarray, average: bool) -> np.ndarray:
    size = _pair(cfg.get("pool_size"), 2)
    stride = _pair(cfg.get("strides") or size)
    pads = [(0, 0), (0, 0)]
    if str(cfg.get("padding", "valid")).lower() == "same":
        pads = [auto_pads("SAME_UPPER", x.shape[i], size[i], stride[i], 1) for i in (0, 1)]
    fill = 0.0 if average else -np.inf
    padded = np.pad(x, (*pads, (0, 0)), constant_values=fill)
    count = np.pad(np.ones(x.shape[:2]), pads)
    windows = np.lib.stride_tricks.sliding_window_view(padded, size, axis=(0, 1))
    windows = windows[:: stride[0], :: stride[1]]
    if not average:
        return windows.max(axis=(-2, -1))
    counts = np.lib.stride_tricks.sliding_window_view(count, size)[:: stride[0], :: stride[1]]
    return windows.sum(axis=(-2, -1)) / counts.sum(axis=(-2, -1))[:, :, None]


def _batch_norm(cfg: dict[str, Any], x: np.ndarray, variables: list[np.ndarray]) -> np.ndarray:
    values = list(variables)
    gamma = values.pop(0) if cfg.get("scale", True) else 1.0
    beta = values.pop(0) if cfg.get("center", True) else 0.0
    mean, var = values[0], values[1]
    return (x - mean) / np.sqrt(var + float(cfg.get("epsilon", 1e-3))) * gamma + beta


def _step(path: Path, entry: dict[str, Any], x: np.ndarray, layers: dict[str, ModelLayer]):
    cls, cfg = entry.get("class_name"), entry.get("config", {})
    name = str(entry.get("name") or cfg.get("name"))
    if name in layers:
        return apply_activation(cfg.get("activation"), _conv(layers[name], x), name)
    if cls in ("InputLayer", "Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout"):
        return x
    if cls == "BatchNormalization":
        return _batch_norm(cfg, x, layer_variables(path, name))
    if cls == "ReLU":
        slope, top = float(cfg.get("negative_slope", 0.0)), cfg.get("max_value")
        threshold = float(cfg.get("threshold", 0.0))
        y = np.where(x >= threshold, x, slope * (x - threshold))
        return y if top is None else np.minimum(y, float(top))
    if cls == "LeakyReLU":
        slope = cfg.get("negative_slope", cfg.get("alpha", 0.3))
        return np.where(x >= 0, x, float(slope) * x)
    if cls == "Activation":
        return apply_activation(cfg.get("activation"), x, name)
    if cls in ("MaxPooling2D", "AveragePooling2D"):
        return _pool(cfg, x, cls == "AveragePooling2D")
    if cls == "ZeroPadding2D":
        return np.pad(x, (*_sides(cfg.get("padding", 1)), (0, 0)))
    if cls == "Cropping2D":
        (t, b), (left, r) = _sides(cfg.get("cropping", 0))
        return x[t : x.shape[0] - b, left : x.shape[1] - r]
    if cls == "UpSampling2D" and cfg.get("interpolation", "nearest") == "nearest":
        sh, sw = _pair(cfg.get("size"), 2)
        return np.repeat(np.repeat(x, sh, axis=0), sw, axis=1)
    if cls == "Rescaling":
        return x * float(cfg.get("scale", 1.0)) + float(cfg.get("offset", 0.0))
    raise ValueError(
        f"layer {name!r} ({cls}) is not one the Keras executor runs (conv, BatchNormalization, "
        "ReLU, LeakyReLU, pooling, padding, cropping, upsampling, dropout)"
    )


#: The merging layers the executor runs, on their inputs in order.
_MERGES: dict[str, Callable[[list[np.ndarray]], np.ndarray]] = {
    "Add": lambda xs: np.sum(xs, axis=0),
    "Subtract": lambda xs: xs[0] - xs[1],
    "Multiply": lambda xs: np.prod(xs, axis=0),
    "Average": lambda xs: np.mean(xs, axis=0),
    "Maximum": lambda xs: np.max(xs, axis=0),
    "Minimum": lambda xs: np.min(xs, axis=0),
}


def _merge(entry: dict[str, Any], inputs: list[np.ndarray], name: str) -> np.ndarray:
    """A layer of several inputs: a merge of same-shaped maps, or a Concatenate."""
    cls, cfg = entry.get("class_name"), entry.get("config", {})
    if cls == "Concatenate" and int(cfg.get("axis", -1)) in (-1, 3):
        return np.concatenate(inputs, axis=-1)
    if cls in _MERGES and len({x.shape for x in inputs}) == 1:
        return _MERGES[cls](inputs)
    raise ValueError(
        f"layer {name!r} ({cls}) merges {len(inputs)} inputs as the Keras executor does not "
        f"(Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate on channels)"
    )


def run_keras(model: Model, layer: ModelLayer, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(input, output before activation)`` of ``layer`` for the model input ``x`` (H, W, C)."""
    path = Path(model.path)
    config = _config(path, f"model {path.name}")
    convs = {item.name: item for item in model.layers}
    produced: dict[str | None, np.ndarray] = {}
    current = np.asarray(x, dtype=np.float64)
    for entry, source in keras_layers(config):
        name = str(entry.get("name") or entry.get("config", {}).get("name"))
        fed = produced.get(source, current) if source is not None else current
        if name == layer.name:
            return fed, _conv(layer, fed)
        reads = inbound_layers(entry)
        if len(reads) > 1:  # a merge: a residual Add, a U-Net's Concatenate, …
            current = _merge(entry, [produced.get(read, x) for read in reads], name)
        else:
            current = _step(path, entry, fed, convs)
        produced[name] = current
    raise ValueError(f"layer: {layer.name!r} was not reached in {path.name}")
