"""ONNX models: every 2-D Conv and ConvTranspose node, with a preceding Pad and a following
BatchNormalization folded in where that is exact.

Listing reads shapes only (initializers' dims, shape inference on a copy of the graph
without the large weights), so a large model opens at once; a layer's weights are read
when :meth:`~.record.ModelLayer.load` asks. The file is untrusted: one larger than
protobuf's 2 GB limit is refused before it is parsed, external data must lie inside the
model's folder and within the file it names.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from .onnx_consts import MAX_FOLD_ELEMENTS, Constants
from .onnx_layers import conv_layer
from .record import Model, ModelLayer
from .safety import file_size

__all__ = ["MAX_ONNX_BYTES", "read_onnx", "tensor_array"]

#: Protobuf cannot hold more than 2 GB: a larger file is refused without parsing it.
MAX_ONNX_BYTES = 2**31 - 1


def read_onnx(path: Path) -> Model:
    """The conv layers of the ONNX model at ``path``, in graph order.

    Raises
    ------
    ValueError
        In one line: the file is too large, is not an ONNX model, or has no conv layer.
    """
    what = f"model {path.name}"
    size = file_size(path)
    if size > MAX_ONNX_BYTES:
        raise ValueError(f"{what}: {size} bytes is more than protobuf's 2 GB limit; refused")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and friends: any failure means "not ONNX"
        raise ValueError(
            f"{what}: not an ONNX model, or a truncated or damaged one ({type(exc).__name__})"
        ) from None
    graph = model.graph
    if not graph.node:
        raise ValueError(f"{what}: not an ONNX model (no graph)")
    consts = Constants(graph)
    shapes = _inferred_shapes(model, consts)
    read = _reader(path, what)
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    outputs = {o.name for o in graph.output}
    layers: list[ModelLayer] = []
    notes: list[str] = []
    for node in graph.node:
        if node.op_type not in ("Conv", "ConvTranspose"):
            continue
        try:
            layer = conv_layer(node, consts, shapes, consumers, outputs, read, notes)
        except (TypeError, IndexError, KeyError, AttributeError, OverflowError):
            label = node.name or (node.output[0] if node.output else "?")
            raise ValueError(f"{what}: {node.op_type} {label!r} is malformed") from None
        if layer is not None:
            layers.append(layer)
    return Model(
        path=str(path),
        format="onnx",
        layers=_unique(layers),
        input_shape=_input_shape(graph, consts),
        data_format="channels_first",
        notes=tuple(notes),
    )


def _unique(layers: list[ModelLayer]) -> tuple[ModelLayer, ...]:
    from dataclasses import replace

    seen: dict[str, int] = {}
    out = []
    for layer in layers:
        count = seen.get(layer.name, 0)
        seen[layer.name] = count + 1
        out.append(layer if count == 0 else replace(layer, name=f"{layer.name}#{count + 1}"))
    return tuple(out)


def _input_shape(graph: onnx.GraphProto, consts: Constants):
    for value in graph.input:
        if value.name in consts.initializers:
            continue
        dims = _dims(value)
        if dims is not None and len(dims) == 4:
            return (dims[1], dims[2], dims[3])
    return None


def _dims(value: onnx.ValueInfoProto) -> tuple[int | None, ...] | None:
    kind = value.type.WhichOneof("value")
    if kind != "tensor_type" or not value.type.tensor_type.HasField("shape"):
        return None
    return tuple(
        d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
        for d in value.type.tensor_type.shape.dim
    )


def _inferred_shapes(model: onnx.ModelProto, consts: Constants) -> dict[str, tuple]:
    """Every tensor's dims that shape inference finds, run on a copy without large weights."""
    light = onnx.ModelProto()
    light.ir_version = model.ir_version
    light.opset_import.extend(model.opset_import)
    light.functions.extend(model.functions)
    graph = light.graph
    graph.node.extend(model.graph.node)
    graph.input.extend(model.graph.input)
    graph.output.extend(model.graph.output)
    graph.value_info.extend(model.graph.value_info)
    for tensor in model.graph.initializer:
        small = int(np.prod(tensor.dims)) <= MAX_FOLD_ELEMENTS
        if small and tensor.data_location != onnx.TensorProto.EXTERNAL:
            graph.initializer.append(tensor)
        else:
            graph.initializer.add(name=tensor.name, data_type=tensor.data_type, dims=tensor.dims)
    try:
        inferred = onnx.shape_inference.infer_shapes(light).graph
    except Exception:  # inference is a help for the listing, never a requirement
        inferred = graph
    shapes: dict[str, tuple] = {}
    for value in [*inferred.input, *inferred.value_info, *inferred.output]:
        dims = _dims(value)
        if dims is not None:
            shapes[value.name] = dims
    return shapes


def _reader(path: Path, what: str) -> Callable[[str, Constants], np.ndarray]:
    def read(name: str, consts: Constants) -> np.ndarray:
        tensor = consts.tensor(name)
        if tensor is None:
            raise ValueError(f"{what}: tensor {name!r} is not stored in the file")
        return tensor_array(tensor, path.parent, what)

    return read


def tensor_array(tensor: onnx.TensorProto, folder: Path, what: str) -> np.ndarray:
    """A stored tensor as numpy; external data only from a file inside ``folder``."""
    if tensor.data_location != onnx.TensorProto.EXTERNAL:
        try:
            return numpy_helper.to_array(tensor)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{what}: tensor {tensor.name!r} is malformed ({exc})") from None
    info: dict[str, Any] = {e.key: e.value for e in tensor.external_data}
    location = Path(info.get("location", ""))
    target = (folder / location).resolve()
    if location.is_absolute() or folder.resolve() not in target.parents:
        raise ValueError(f"{what}: tensor {tensor.name!r}'s data lies outside the model's folder")
    dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)
    count = int(np.prod(tensor.dims, dtype=np.int64))
    offset = int(info.get("offset", 0))
    length = int(info.get("length", count * dtype.itemsize))
    if length != count * dtype.itemsize or offset < 0 or offset + length > file_size(target):
        raise ValueError(f"{what}: tensor {tensor.name!r}'s external data does not fit its file")
    with open(target, "rb") as handle:
        handle.seek(offset)
        data = handle.read(length)
    return np.frombuffer(data, dtype=dtype.newbyteorder("<")).reshape(tuple(tensor.dims)).copy()
