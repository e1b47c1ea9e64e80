"""An ONNX graph's constant tensors: initializers, Constant nodes, and small constant subgraphs.

The TorchScript exporter writes a ``Pad``'s pads as a little computation on constants
(ConstantOfShape, Concat, Reshape, Slice, Transpose, Cast); :meth:`Constants.value`
folds such a chain with numpy, refusing anything larger than :data:`MAX_FOLD_ELEMENTS`.
Large initializers are never read here: :meth:`Constants.shape` gives their dims.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from .record import check_shape

__all__ = ["MAX_FOLD_ELEMENTS", "Constants"]

#: Constant subgraphs are folded only while every tensor in them stays this small.
MAX_FOLD_ELEMENTS = 4096
_MAX_DEPTH = 64


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _slice(x: np.ndarray, starts, ends, axes=None, steps=None) -> np.ndarray:
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps, strict=True):
        index[int(a)] = slice(int(s), int(e), int(st))
    return x[tuple(index)]


def _reshape(x: np.ndarray, shape: np.ndarray, **_: Any) -> np.ndarray:
    dims = [x.shape[i] if d == 0 else int(d) for i, d in enumerate(shape.tolist())]
    return x.reshape(dims)


def _constant_of_shape(shape: np.ndarray, value: Any = None) -> np.ndarray:
    fill = np.zeros(1, np.float32) if value is None else numpy_helper.to_array(value)
    dims = check_shape(shape.tolist(), "ConstantOfShape")
    if int(np.prod(dims)) > MAX_FOLD_ELEMENTS:
        raise ValueError("too large")
    return np.full(dims, fill.reshape(-1)[0], dtype=fill.dtype)


#: How each foldable op computes: inputs (numpy), attributes → output.
_OPS: dict[str, Callable[..., np.ndarray]] = {
    "Identity": lambda x: x,
    "Cast": lambda x, to: x.astype(onnx.helper.tensor_dtype_to_np_dtype(to)),
    "Concat": lambda *xs, axis: np.concatenate(xs, axis=axis),
    "Reshape": _reshape,
    "Transpose": lambda x, perm=None: np.transpose(x, perm),
    "Slice": _slice,
    "ConstantOfShape": _constant_of_shape,
    "Unsqueeze": lambda x, axes=None: np.expand_dims(x, tuple(int(a) for a in axes)),
    "Squeeze": lambda x, axes=None: np.squeeze(x, None if axes is None else tuple(axes)),
    "Gather": lambda x, i, axis=0: np.take(x, i, axis=axis),
    "Neg": lambda x: -x,
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
}

# Since opset 13 these take as an input the axes they took as an attribute before.
_INPUT_ATTRS = ("Unsqueeze", "Squeeze")


class Constants:
    """The graph's constant values by tensor name, and which node produces each tensor."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        self.initializers = {t.name: t for t in graph.initializer}
        self.producer: dict[str, onnx.NodeProto] = {}
        for node in graph.node:
            for name in node.output:
                self.producer[name] = node
        self._cache: dict[str, np.ndarray | None] = {}

    def tensor(self, name: str) -> onnx.TensorProto | None:
        """The stored TensorProto of ``name`` (initializer or Constant, through Identity)."""
        for _ in range(_MAX_DEPTH):
            if name in self.initializers:
                return self.initializers[name]
            node = self.producer.get(name)
            if node is None:
                return None
            if node.op_type == "Identity":
                name = node.input[0]
                continue
            if node.op_type == "Constant":
                value = _attrs(node).get("value")
                return value if isinstance(value, onnx.TensorProto) else None
            return None
        return None

    def shape(self, name: str) -> tuple[int, ...] | None:
        """The dims of a stored tensor, without reading its data."""
        tensor = self.tensor(name)
        return None if tensor is None else check_shape(tensor.dims, f"tensor {name!r}")

    def value(self, name: str, depth: int = 0) -> np.ndarray | None:
        """The value of ``name`` if it is constant and small enough to fold, else None."""
        if name in self._cache:
            return self._cache[name]
        result = None
        if depth < _MAX_DEPTH:
            try:
                result = self._compute(name, depth)
            except (ValueError, TypeError, IndexError, KeyError):
                result = None
        self._cache[name] = result
        return result

    def _compute(self, name: str, depth: int) -> np.ndarray | None:
        tensor = self.tensor(name)
        if tensor is not None:
            if int(np.prod(check_shape(tensor.dims, name))) > MAX_FOLD_ELEMENTS:
                return None
            if tensor.data_location == onnx.TensorProto.EXTERNAL:
                return None
            return numpy_helper.to_array(tensor)
        node = self.producer.get(name)
        if node is None:
            return None
        if node.op_type == "Constant":
            return self._constant_attr(node)
        op = _OPS.get(node.op_type)
        if op is None or len(node.output) != 1:
            return None
        inputs = [self.value(i, depth + 1) if i else None for i in node.input]
        attrs = _attrs(node)
        if node.op_type in _INPUT_ATTRS and len(inputs) > 1:
            attrs["axes"], inputs = inputs[1], inputs[:1]
        required = inputs[:3] if node.op_type == "Slice" else inputs
        if any(x is None for x in required):
            return None
        out = np.asarray(op(*inputs, **attrs))
        return out if out.size <= MAX_FOLD_ELEMENTS else None

    @staticmethod
    def _constant_attr(node: onnx.NodeProto) -> np.ndarray | None:
        attrs = _attrs(node)
        for key, dtype in (
            ("value_int", np.int64),
            ("value_ints", np.int64),
            ("value_float", np.float32),
            ("value_floats", np.float32),
        ):
            if key in attrs:
                return np.asarray(attrs[key], dtype=dtype)
        return None
