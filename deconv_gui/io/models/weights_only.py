"""Weights-only files (PyTorch state_dicts, safetensors): 4-D tensors become conv layers.

Such a file stores no geometry: stride, padding, dilation, groups and the layer kind are
unknown (None) and given by the user. The weight is taken as PyTorch's ``Conv2d``
``(C_out, C_in/groups, k_h, k_w)``; its bias is the 1-D tensor of the same prefix.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from .record import LayerWeights, ModelLayer, check_shape, torch_to_ours
from .torch_file import LazyTensor

__all__ = ["read_safetensors", "weights_layers"]

#: safetensors' own limit on its JSON header.
MAX_HEADER_BYTES = 100 * 2**20

_SAFETENSORS_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "bfloat16",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}

_NOTE = "geometry not stored in the file: kind assumed conv; give stride, padding, dilation, groups"


def weights_layers(tensors: dict[str, Any]) -> tuple[ModelLayer, ...]:
    """A layer for every 4-D floating tensor, in the file's order, with its bias.

    Examples
    --------
    >>> w = LazyTensor((8, 3, 3, 3), np.dtype("f4"), lambda: np.ones((8, 3, 3, 3), "f4"))
    >>> b = LazyTensor((8,), np.dtype("f4"), lambda: np.zeros(8, "f4"))
    >>> [layer] = weights_layers({"conv1.weight": w, "conv1.bias": b})
    >>> layer.name, layer.out_channels, layer.kernel, layer.stride, layer.load().weights.shape
    ('conv1', 8, (3, 3), None, (3, 3, 3, 8))
    """
    layers = []
    for key, tensor in tensors.items():
        if len(tensor.shape) != 4 or tensor.dtype.kind != "f":
            continue
        prefix = key[: -len(".weight")] if key.endswith(".weight") else key
        bias = tensors.get(f"{prefix}.bias") if prefix != key else None
        size = None if bias is None or len(bias.shape) != 1 else int(bias.shape[0])
        # ConvTranspose2d stores (C_in, C_out/groups, k, k): a bias as long as the second
        # axis and not the first says which kind it is
        transpose = size is not None and size == tensor.shape[1] != tensor.shape[0]
        if size not in (tensor.shape[0], tensor.shape[1]):
            bias = None
        notes = [
            _NOTE.replace("kind assumed conv", "kind conv_transpose (from the bias size)")
            if transpose
            else _NOTE
        ]
        layers.append(
            ModelLayer(
                name=prefix,
                kind="conv_transpose" if transpose else "conv",
                weight_shape=tuple(tensor.shape),
                in_channels=int(tensor.shape[0]) if transpose else None,
                out_channels=size if transpose else int(tensor.shape[0]),
                kernel=(int(tensor.shape[2]), int(tensor.shape[3])),
                notes=tuple(notes),
                loader=_loader(tensor, bias),
            )
        )
    return tuple(layers)


def _loader(weight: Any, bias: Any):
    def load() -> LayerWeights:
        values = torch_to_ours(np.asarray(weight.load(), dtype=np.float64))
        b = None if bias is None else np.asarray(bias.load(), dtype=np.float64)
        return LayerWeights(values, b)

    return load


def read_safetensors(path: Path) -> dict[str, LazyTensor]:
    """The tensors of a safetensors file, read lazily, header checked against the file.

    The format: an 8-byte little-endian header length, a JSON header mapping each name to
    ``dtype``, ``shape`` and ``data_offsets`` (into the buffer after the header).
    """
    what = f"model {path.name}"
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise ValueError(f"{what}: not a safetensors file (too short)")
        (length,) = struct.unpack("<Q", head)
        if length > MAX_HEADER_BYTES or 8 + length > size:
            raise ValueError(f"{what}: not a safetensors file (header of {length} bytes)")
        try:
            header = json.loads(handle.read(length))
        except (UnicodeDecodeError, ValueError):
            raise ValueError(f"{what}: not a safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise ValueError(f"{what}: not a safetensors file (its header is not an object)")
    start = 8 + length
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        tensors[str(name)] = _entry(path, what, str(name), entry, start, size)
    return tensors


def _entry(path: Path, what: str, name: str, entry: Any, start: int, size: int) -> LazyTensor:
    try:
        dtype_name, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        code = _SAFETENSORS_DTYPES[dtype_name]
        begin, end = int(begin), int(end)
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{what}: tensor {name!r} has an unreadable or unknown entry") from None
    dims = check_shape(shape, f"{what}: tensor {name!r}")
    itemsize = 2 if code == "bfloat16" else np.dtype(code).itemsize
    count = int(np.prod(dims, dtype=np.int64))
    if begin < 0 or end - begin != count * itemsize:
        raise ValueError(f"{what}: tensor {name!r}'s offsets do not match its shape")
    if start + end > size:
        raise ValueError(f"{what}: truncated: the file ends before tensor {name!r}'s data")

    def read() -> np.ndarray:
        with open(path, "rb") as handle:
            handle.seek(start + begin)
            data = handle.read(end - begin)
        if len(data) != end - begin:
            raise ValueError(f"{what}: tensor {name!r} is cut short")
        if code == "bfloat16":
            return (
                (np.frombuffer(data, "<u2").astype(np.uint32) << 16).view(np.float32).reshape(dims)
            )
        return np.frombuffer(data, code).reshape(dims).copy()

    dtype = np.dtype("f4" if code == "bfloat16" else code)
    return LazyTensor(dims, dtype, read)
