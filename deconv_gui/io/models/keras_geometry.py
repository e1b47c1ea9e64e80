"""A Keras conv layer's config as this tool's geometry (the fields of a ModelLayer).

Keras writes padding as 'valid' or 'same'. For a convolution 'same' pads
``max((⌈n/s⌉ − 1)·s + k_eff − n, 0)`` in all, the odd pixel at the bottom/right. For
Conv2DTranspose, Keras 3 (every backend, the torch one since it crops as JAX does) pads
the dilated input ``left = min(⌈p/2⌉, k_eff − 1)``, ``right = p − left`` with
``p = s + k_eff − 2``: as a transposed conv, a crop of ``(k_eff − 1 − left,
k_eff − 1 − right)`` (a negative crop is output_padding).
"""

from __future__ import annotations

from typing import Any

from .record import auto_pads

__all__ = ["conv_geometry", "input_sizes", "output_size", "transpose_pads"]


def _pair(value: Any, default: int = 1) -> tuple[int, int]:
    if value is None:
        return default, default
    if isinstance(value, int):
        return value, value
    return int(value[0]), int(value[1])


def transpose_pads(
    rule: str, kernel: int, stride: int, dilation: int, extra: int | None
) -> tuple[tuple[int, int], int]:
    """Conv2DTranspose's crop ``(top, bottom)`` and output_padding along one axis.

    Examples
    --------
    >>> transpose_pads("same", 3, 2, 1, None)
    ((0, 1), 0)
    >>> transpose_pads("valid", 1, 2, 1, None)
    ((0, 0), 1)
    """
    k_eff = (kernel - 1) * dilation + 1
    if rule == "valid":
        op = max(k_eff, stride) - k_eff if extra is None else extra
        left, right = k_eff - 1, k_eff - 1 + op
    else:
        total = stride + k_eff - 2 if extra is None else k_eff + k_eff % 2 - 2 + extra
        left = min(total // 2 + total % 2, k_eff - 1)
        right = total - left
    top, bottom = k_eff - 1 - left, k_eff - 1 - right
    return (top, max(bottom, 0)), max(-bottom, 0)


def conv_geometry(
    entry: dict[str, Any], shape: tuple[int, ...], walked: tuple[int, int] | None = None
) -> dict:
    """The ModelLayer fields of one Keras conv layer config (``shape``: its kernel's).

    ``walked`` is the input size found by :func:`input_sizes` when the config lacks a
    ``build_config`` (legacy files).
    """
    cls = entry.get("class_name")
    cfg = entry.get("config", {})
    kernel = (int(shape[0]), int(shape[1]))
    stride = _pair(cfg.get("strides"))
    dilation = _pair(cfg.get("dilation_rate"))
    rule = str(cfg.get("padding", "valid")).lower()
    fmt = cfg.get("data_format") or "channels_last"
    build = (entry.get("build_config") or {}).get("input_shape")
    size = None
    if isinstance(build, list) and len(build) == 4:
        hw = build[1:3] if fmt == "channels_last" else build[2:4]
        size = None if None in hw else (int(hw[0]), int(hw[1]))
    size = size or walked
    notes: list[str] = []
    extra = None
    if cls == "Conv2DTranspose":
        groups, in_ch, out_ch = 1, int(shape[3]), int(shape[2])
        given = cfg.get("output_padding")
        sides = [
            transpose_pads(
                rule, kernel[i], stride[i], dilation[i], None if given is None else _pair(given)[i]
            )
            for i in (0, 1)
        ]
        padding: Any = (sides[0][0], sides[1][0])
        extra = (sides[0][1], sides[1][1])
        rule_left = None
    elif cls == "DepthwiseConv2D":
        groups = int(shape[2])
        in_ch, out_ch = groups, int(shape[2]) * int(shape[3])
        padding, rule_left = _conv_padding(rule, size, kernel, stride, dilation)
    else:
        groups = int(cfg.get("groups", 1) or 1)
        in_ch, out_ch = int(shape[2]) * groups, int(shape[3])
        padding, rule_left = _conv_padding(rule, size, kernel, stride, dilation)
    if fmt != "channels_last":
        notes.append(f"data_format {fmt}")
    activation = cfg.get("activation")
    return {
        "kind": "conv_transpose" if cls == "Conv2DTranspose" else "conv",
        "in_channels": in_ch,
        "out_channels": out_ch,
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "groups": groups,
        "padding_mode": "zeros",
        "output_padding": extra,
        "padding_rule": rule_left,
        "input_size": size,
        "activation": None if activation in (None, "linear") else str(activation),
        "notes": tuple(notes),
    }


def _conv_padding(rule, size, kernel, stride, dilation):
    if rule == "valid":
        return ((0, 0), (0, 0)), None
    if rule != "same":
        raise ValueError(f"padding {rule!r} is not a 2-D conv padding this reader knows")
    if size is None:
        return None, "same"
    return tuple(
        auto_pads("SAME_UPPER", size[i], kernel[i], stride[i], dilation[i]) for i in (0, 1)
    ), None


_SAME_SIZE = (
    "BatchNormalization",
    "ReLU",
    "LeakyReLU",
    "Activation",
    "Dropout",
    "SpatialDropout2D",
    "PReLU",
    "ELU",
    "Softmax",
    "LayerNormalization",
    "GaussianNoise",
    "Rescaling",
    "Normalization",
)


def output_size(entry: dict[str, Any], size: tuple[int, int] | None):
    """The (H, W) a layer makes of an input of ``size``, None when unknown.

    Examples
    --------
    >>> conv = {"class_name": "Conv2D", "config": {"kernel_size": [3, 3], "strides": [2, 2],
    ...         "padding": "same"}}
    >>> output_size(conv, (33, 32))
    (17, 16)
    """
    if size is None:
        return None
    cls, cfg = entry.get("class_name"), entry.get("config", {})
    if cls in _SAME_SIZE:
        return size
    out = []
    for i in (0, 1):
        n = size[i]
        if cls in (
            "Conv2D",
            "Convolution2D",
            "DepthwiseConv2D",
            "MaxPooling2D",
            "AveragePooling2D",
        ):
            pooling = "Pooling" in str(cls)
            k = _pair(cfg.get("pool_size" if pooling else "kernel_size"), 2)[i]
            s = _pair(cfg.get("strides") or (cfg.get("pool_size") if pooling else 1), 2)[i]
            d = 1 if pooling else _pair(cfg.get("dilation_rate"))[i]
            k_eff = (k - 1) * d + 1
            same = str(cfg.get("padding", "valid")).lower() == "same"
            out.append(-(-n // s) if same else (n - k_eff) // s + 1)
        elif cls == "Conv2DTranspose":
            k, s = _pair(cfg.get("kernel_size"))[i], _pair(cfg.get("strides"))[i]
            d = _pair(cfg.get("dilation_rate"))[i]
            given = cfg.get("output_padding")
            rule = str(cfg.get("padding", "valid")).lower()
            (top, bottom), op = transpose_pads(
                rule, k, s, d, None if given is None else _pair(given)[i]
            )
            out.append((n - 1) * s + (k - 1) * d + 1 - top - bottom + op)
        elif cls in ("ZeroPadding2D", "Cropping2D"):
            sides = _sides(cfg.get("padding" if cls == "ZeroPadding2D" else "cropping"))[i]
            out.append(n + sum(sides) if cls == "ZeroPadding2D" else n - sum(sides))
        elif cls == "UpSampling2D":
            out.append(n * _pair(cfg.get("size"), 2)[i])
        else:
            return None
    return out[0], out[1]


def _sides(value: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras's ZeroPadding2D/Cropping2D ``padding``: int, (h, w) or ((t, b), (l, r))."""
    if isinstance(value, int):
        return (value, value), (value, value)
    first, second = value
    if isinstance(first, int):
        return (first, first), (int(second), int(second))
    return (int(first[0]), int(first[1])), (int(second[0]), int(second[1]))


def input_sizes(entries, first: tuple[int, int] | None) -> dict:
    """Each layer's input (H, W) walked from the model's input size (None where unknown)."""
    produced: dict[str | None, tuple[int, int] | None] = {None: first}
    sizes = {}
    for entry, source in entries:
        name = str(entry.get("name") or entry.get("config", {}).get("name"))
        size = produced.get(source, first if source is None else None)
        if entry.get("class_name") == "InputLayer":
            size = first
        sizes[name] = size
        produced[name] = (
            size if entry.get("class_name") == "InputLayer" else output_size(entry, size)
        )
    return sizes
