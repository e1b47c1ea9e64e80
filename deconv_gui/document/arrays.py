"""A layer's weights in a document: an ``.npy`` file in base64, exact and compact, never pickled.

A filter of 3×3×512×512 written as JSON numbers took 53 MB (each float its shortest
round-trip ``repr``); as the bytes of an ``.npy`` file in base64 it takes a third of that
(float64), or a sixth when every weight is exactly a float32, as those read from a
model file are: the array is stored as float32 then, which reads back to the same
float64 values. The record says its dtype and shape in plain words, so a reader can
see what the file holds; the bytes are read by ``np.load(allow_pickle=False)`` after
their header was checked against them (little-endian float32 or float64, C order,
exactly as many bytes as the shape needs), so a hostile or damaged payload is refused
in one line naming the field, before anything is allocated.

Examples
--------
>>> import numpy as np
>>> weights = np.array([0.5, -0.25, 1 / 3]).reshape(1, 1, 3, 1)
>>> record = encode_weights(weights)
>>> record["dtype"], record["shape"]
('float64', [1, 1, 3, 1])
>>> np.array_equal(decode_weights(record), weights)
True
>>> encode_weights(np.float32(weights))["dtype"]  # exactly float32: stored as float32
'float32'
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

import numpy as np

__all__ = ["decode_weights", "encode_weights", "is_encoded"]

#: The keys of an encoded array, in the order they are written.
_KEYS = ("dtype", "shape", "npy")
#: The dtypes an encoded array may have (little-endian, as ``np.save`` writes them here).
_DTYPES: dict[str, np.dtype] = {"float32": np.dtype("<f4"), "float64": np.dtype("<f8")}


def is_encoded(value: Any) -> bool:
    """True when ``value`` is an encoded array's record (a dict with an ``"npy"`` key)."""
    return isinstance(value, dict) and "npy" in value


def encode_weights(weights: Any) -> dict[str, Any]:
    """``{"dtype", "shape", "npy"}``: the weights as the base64 of an ``.npy`` file.

    float32 when every value is exactly a float32 (the same float64 values read back),
    else float64.
    """
    array: np.ndarray = np.ascontiguousarray(np.asarray(weights, dtype=np.float64))
    single = array.astype(np.float32)
    if np.array_equal(single.astype(np.float64), array):
        array = single
    buffer = io.BytesIO()
    np.save(buffer, array.astype(array.dtype.newbyteorder("<")), allow_pickle=False)
    return {
        "dtype": array.dtype.name,
        "shape": list(array.shape),
        "npy": base64.b64encode(buffer.getvalue()).decode("ascii"),
    }


def decode_weights(record: Any, name: str = "weights") -> np.ndarray:
    """The float64 array of an :func:`encode_weights` record.

    Raises
    ------
    ValueError
        One line naming ``name`` (``weights.npy``, ``weights.shape`` …): not such a
        record, not base64, not an ``.npy`` file, another dtype or order than its
        record says, bytes missing or left over, or values that are not finite.
    """
    if not isinstance(record, dict) or sorted(record) != sorted(_KEYS):
        keys = sorted(record) if isinstance(record, dict) else type(record).__name__
        raise ValueError(f"{name} must be an object with {', '.join(_KEYS)}, got {keys}")
    dtype: np.dtype | None = None
    if isinstance(record["dtype"], str):
        dtype = _DTYPES.get(record["dtype"])
    if dtype is None:
        raise ValueError(f"{name}.dtype must be float32 or float64, got {record['dtype']!r}")
    shape = record["shape"]
    if not (
        isinstance(shape, list)
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)
    ):
        raise ValueError(f"{name}.shape must be a list of ints >= 1, got {shape!r}")
    raw = _base64(record["npy"], name)
    fp = io.BytesIO(raw)
    header = _header(fp, name)
    if header != (tuple(shape), False, dtype):
        found = f"shape {list(header[0])}, {header[2]}, fortran_order {header[1]}"
        raise ValueError(f"{name}.npy holds {found}; its record says {shape} {record['dtype']}")
    if len(raw) - fp.tell() != int(np.prod(shape)) * dtype.itemsize:
        raise ValueError(f"{name}.npy has {len(raw) - fp.tell()} bytes of data for shape {shape}")
    array = np.load(io.BytesIO(raw), allow_pickle=False)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite numbers")
    return np.asarray(array, dtype=np.float64)


def _base64(text: Any, name: str) -> bytes:
    if not isinstance(text, str):
        raise ValueError(f"{name}.npy must be a base64 string, got {type(text).__name__}")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError(f"{name}.npy is not base64") from None


def _header(fp: io.BytesIO, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` of the ``.npy`` bytes in ``fp`` (left at the data)."""
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(fp)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(fp)
    except Exception:  # numpy's parse of a hostile header: any error means "not .npy"
        pass
    raise ValueError(f"{name}.npy is not the bytes of an .npy file")
