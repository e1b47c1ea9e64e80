"""Keras models: ``.keras`` (a zip of config.json and model.weights.h5) and legacy ``.h5``.

Conv2D, Conv2DTranspose and DepthwiseConv2D layers, with their strides, dilation, groups,
bias, data format and padding ('valid', or 'same' resolved to ``((top, bottom), (left,
right))`` at the input size the file records; asymmetric at stride > 1). Weights are read
from the HDF5 file on :meth:`~.record.ModelLayer.load`; the archive is opened again then,
never unpacked into memory as a whole.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .keras_geometry import conv_geometry, input_sizes
from .record import LayerWeights, Model, ModelLayer, check_shape
from .safety import check_zip, read_member

__all__ = ["CONV_CLASSES", "inbound_layers", "keras_layers", "layer_variables", "read_keras"]

CONV_CLASSES = ("Conv2D", "Convolution2D", "Conv2DTranspose", "DepthwiseConv2D")
_CONTAINERS = ("Sequential", "Functional", "Model")
MAX_CONFIG_BYTES = 64 * 2**20


class _Window(io.RawIOBase):
    """A read-only, seekable view of ``size`` bytes of ``raw`` from ``start``: the stored
    HDF5 member of a zip, which h5py then reads in place (a zip member's own file object
    rewinds and re-reads from its start on every backward seek)."""

    def __init__(self, raw: Any, start: int, size: int) -> None:
        super().__init__()
        self.raw, self.start, self.size, self.position = raw, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: Any) -> int:
        count = max(0, min(len(buffer), self.size - self.position))
        self.raw.seek(self.start + self.position)
        data = self.raw.read(count)
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def _data_offset(raw: Any, info: zipfile.ZipInfo) -> int:
    """Where a member's bytes start: after its local header (whose lengths may differ from
    the central directory's)."""
    raw.seek(info.header_offset)
    header = raw.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise ValueError("a zip member without its local header")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_length + extra_length


@contextmanager
def _weights_file(path: Path, what: str) -> Iterator[h5py.File]:
    """The model's HDF5 weights, read in place (inside the zip for ``.keras``)."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                check_zip(archive, what)
                if "model.weights.h5" not in archive.namelist():
                    raise ValueError(f"{what}: a .keras file without model.weights.h5")
                info = archive.getinfo("model.weights.h5")
                if info.compress_type == zipfile.ZIP_STORED:  # Keras stores it: read in place
                    with open(path, "rb") as raw:
                        window = _Window(raw, _data_offset(raw, info), info.file_size)
                        with h5py.File(window, "r") as h5:
                            yield h5
                    return
                with archive.open(info) as member, h5py.File(member, "r") as h5:
                    yield h5
        else:
            with h5py.File(path, "r") as h5:
                yield h5
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"{what}: cannot read its HDF5 weights ({exc})") from None


def _config(path: Path, what: str) -> dict[str, Any]:
    """The model's config (``config.json`` in a .keras zip, ``model_config`` in an .h5)."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                check_zip(archive, what)
                text: Any = read_member(archive, "config.json", what, MAX_CONFIG_BYTES)
        else:
            with h5py.File(path, "r") as h5:
                text = h5.attrs.get("model_config")
                if text is None:
                    raise ValueError(f"{what}: an .h5 of weights only (no model_config)")
        config = json.loads(text)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ValueError(
            f"{what}: not a Keras model file, or a truncated or damaged one ({exc})"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(f"{what}: its model config is not JSON") from None
    if not isinstance(config, dict) or "config" not in config:
        raise ValueError(f"{what}: its model config has no layers")
    return config


def keras_layers(config: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Every layer config in order (nested models flattened), with the name it follows."""
    previous = None
    body = config.get("config", {})
    layers = body.get("layers", []) if isinstance(body, dict) else body
    for entry in layers if isinstance(layers, list) else []:
        if not isinstance(entry, dict):
            continue
        if entry.get("class_name") in _CONTAINERS:
            yield from keras_layers(entry)
            continue
        inbound = _inbound(entry)
        yield entry, inbound if inbound is not None else previous
        previous = _name(entry)


def _name(entry: dict[str, Any]) -> str:
    return str(entry.get("name") or entry.get("config", {}).get("name", "?"))


def inbound_layers(entry: dict[str, Any]) -> list[str]:
    """The layers a Functional model's layer reads, in order (Keras 3's ``keras_history``;
    none in a Sequential model, whose layer reads the one before it)."""
    return re.findall(r'"keras_history": \["([^"]*)"', json.dumps(entry.get("inbound_nodes", [])))


def _inbound(entry: dict[str, Any]) -> str | None:
    """The (first) layer a Functional model's layer reads."""
    reads = inbound_layers(entry)
    return reads[0] if reads else None


def read_keras(path: Path) -> Model:
    """The conv layers of a Keras model file, in the config's order."""
    what = f"model {path.name}"
    config = _config(path, what)
    entries = list(keras_layers(config))
    model_input = _input_shape(entries)
    first = None if model_input is None or None in model_input[1:] else model_input[1:]
    walked = input_sizes(entries, first)  # type: ignore[arg-type]
    with _weights_file(path, what) as h5:
        locate = _locator(h5, entries)
        layers = []
        for entry, source in entries:
            if entry.get("class_name") not in CONV_CLASSES:
                continue
            name = _name(entry)
            paths = locate(name)
            kernel_path = paths[0] if paths else None
            bias_path = paths[1] if len(paths) > 1 else None
            if kernel_path is None:
                raise ValueError(f"{what}: no weights for layer {name!r}")
            shape = check_shape(h5[kernel_path].shape, f"{what}: {name}")
            geometry = conv_geometry(entry, shape, walked.get(name))
            layers.append(
                ModelLayer(
                    name=name,
                    weight_shape=shape,
                    input=source,
                    output=name,
                    loader=_loader(path, what, kernel_path, bias_path, entry),
                    **geometry,
                )
            )
    return Model(
        path=str(path),
        format="keras",
        layers=tuple(layers),
        input_shape=model_input,
        data_format=_data_format(entries),
    )


def _data_format(entries) -> str:
    for entry, _ in entries:
        fmt = entry.get("config", {}).get("data_format")
        if fmt:
            return str(fmt)
    return "channels_last"


def _input_shape(entries) -> tuple[int | None, int | None, int | None] | None:
    for entry, _ in entries:
        cfg = entry.get("config", {})
        shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
        if shape is None:
            shape = (entry.get("build_config") or {}).get("input_shape")
        if isinstance(shape, list) and len(shape) == 4:
            n_h_w_c = (
                shape
                if _data_format(entries) == "channels_last"
                else [shape[0], *shape[2:], shape[1]]
            )
            h, w, c = n_h_w_c[1:]
            return c, h, w
        if shape is not None:
            return None
    return None


def _locator(h5: h5py.File, entries) -> Callable[[str], list[str]]:
    """Where each layer's variables live, in order: Keras 3 ``layers/…/vars/i``, or legacy."""
    if "model_weights" in h5:
        return lambda name: _legacy_paths(h5, name)
    named: dict[str, str] = {}

    def visit(key: str, obj: Any) -> None:
        if isinstance(obj, h5py.Group) and key.endswith("vars") and "name" in obj.attrs:
            named.setdefault(str(obj.attrs["name"]), key)

    h5.visititems(visit)
    generated = _generated_names(entries)

    def locate(name: str) -> list[str]:
        group = named.get(name) or generated.get(name)
        if group is None or group not in h5:
            return []
        keys = sorted(h5[group].keys(), key=lambda k: int(k) if k.isdigit() else 0)
        return [f"{group}/{k}" for k in keys]

    return locate


def _generated_names(entries) -> dict[str, str]:
    """Keras 3 before it stored names: ``layers/<snake_case class>[_n]/vars``."""
    import re

    counts: dict[str, int] = {}
    out = {}
    for entry, _ in entries:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", str(entry.get("class_name", ""))).lower()
        snake = snake.replace("conv2_d", "conv2d").replace("2_d", "2d")
        n = counts.get(snake, 0)
        counts[snake] = n + 1
        out[_name(entry)] = f"layers/{snake if n == 0 else f'{snake}_{n}'}/vars"
    return out


def _legacy_paths(h5: h5py.File, name: str) -> list[str]:
    group = h5["model_weights"].get(name)
    if group is None:
        return []
    names = [
        w.decode() if isinstance(w, bytes) else str(w) for w in group.attrs.get("weight_names", [])
    ]
    return [f"model_weights/{name}/{w}" for w in names]


def layer_variables(path: Path, name: str) -> list[np.ndarray]:
    """The stored variables of Keras layer ``name`` in the order Keras keeps them."""
    what = f"model {path.name}"
    config = _config(path, what)
    entries = list(keras_layers(config))
    with _weights_file(path, what) as h5:
        paths = _locator(h5, entries)(name)
        for p in paths:
            check_shape(h5[p].shape, f"{what}: {p}")
        return [np.asarray(h5[p][()], dtype=np.float64) for p in paths]


def _loader(path: Path, what: str, kernel_path: str, bias_path: str | None, entry):
    depthwise = entry.get("class_name") == "DepthwiseConv2D"

    def load() -> LayerWeights:
        with _weights_file(path, what) as h5:
            kernel = np.asarray(h5[kernel_path][()], dtype=np.float64)
            bias = None if bias_path is None else np.asarray(h5[bias_path][()], np.float64)
        if depthwise:  # (k, k, C_in, multiplier) → groups = C_in, output c·multiplier + m
            kh, kw, c_in, mult = kernel.shape
            kernel = kernel.reshape(kh, kw, 1, c_in * mult)
        return LayerWeights(np.ascontiguousarray(kernel), bias)

    return load
