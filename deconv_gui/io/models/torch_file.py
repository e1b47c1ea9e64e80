"""PyTorch ``.pt``/``.pth`` files read without torch and without executing pickled code.

``torch.save`` writes a zip: ``<name>/data.pkl`` (a pickle of the state_dict) and one
member ``<name>/data/<key>`` per storage. The pickle is read by a restricted unpickler
whose ``find_class`` returns this module's own numpy stand-ins for the handful of
globals a state_dict needs (:data:`ALLOWED_GLOBALS`: torch's tensor-rebuild functions,
its storage types, ``OrderedDict`` and numpy scalars) and refuses every other global;
so a file that would run code (``os.system``, a pickled ``nn.Module``, …) is refused in
one line before any of it runs. Tensors are read lazily: listing a model reads shapes.
"""

from __future__ import annotations

import collections
import io
import math
import pickle
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .record import check_shape
from .safety import check_zip, read_member

__all__ = ["ALLOWED_GLOBALS", "LazyTensor", "load_state", "state_dict_of"]

#: data.pkl of a state_dict is small (a few hundred bytes per tensor).
MAX_PICKLE_BYTES = 256 * 2**20

_STORAGES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16",
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}

_SCALAR_KINDS = "biuf"


@dataclass(frozen=True)
class _StorageType:
    dtype: Any


@dataclass(frozen=True)
class _Storage:
    key: str
    dtype: Any
    numel: int


class LazyTensor:
    """A tensor of the file: its shape and dtype at once, its values on :meth:`load`."""

    def __init__(self, shape: tuple[int, ...], dtype: Any, read: Callable[[], np.ndarray]):
        self.shape = shape
        self.dtype = dtype
        self._read = read

    def load(self) -> np.ndarray:
        return self._read()

    def __repr__(self) -> str:
        return f"LazyTensor(shape={self.shape}, dtype={self.dtype})"


class _DtypeStandIn:
    """``numpy.dtype`` as pickled; its state is ignored, only the name is used."""

    def __init__(self, name: Any, *_args: Any) -> None:
        self.name = str(name)

    def __setstate__(self, state: Any) -> None:
        pass


def _scalar(dtype: Any, data: Any = b"") -> Any:
    name = getattr(dtype, "name", "")
    kind = np.dtype(name).kind if name in np.sctypeDict else ""
    if kind not in _SCALAR_KINDS or not isinstance(data, bytes):
        raise pickle.UnpicklingError(f"a numpy scalar of type {name!r}")
    return np.frombuffer(data, dtype=np.dtype(name), count=1)[0].item()


def _encode(text: Any, encoding: str = "utf-8") -> bytes:
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("_codecs.encode other than latin1 text")
    return text.encode("latin1")


def _ordered_dict(*args: Any) -> collections.OrderedDict[Any, Any]:
    if args:  # OrderedDict(iterable) would iterate whatever the pickle built
        raise pickle.UnpicklingError("collections.OrderedDict with arguments")
    return collections.OrderedDict()


class _Reader:
    """One file's zip, the stand-in functions bound to it, and its storages' bytes."""

    def __init__(self, path: Path, archive: zipfile.ZipFile, prefix: str, what: str) -> None:
        self.path, self.prefix, self.what = path, prefix, what
        self.big_endian = False
        name = f"{prefix}byteorder"
        if name in archive.namelist():
            self.big_endian = read_member(archive, name, what, 16).strip() == b"big"

    def storage(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"an unknown persistent id {str(pid)[:40]!r}")
        _, kind, key, _location, numel = pid
        if not isinstance(kind, _StorageType) or not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError("a malformed storage record")
        return _Storage(str(key), kind.dtype, numel)

    def rebuild(self, storage: Any, offset: Any, size: Any, stride: Any, *_rest: Any) -> Any:
        if not isinstance(storage, _Storage):
            raise pickle.UnpicklingError("a tensor without a storage")
        shape = check_shape(size, f"tensor in storage {storage.key}")
        strides = tuple(int(s) for s in stride)
        if len(strides) != len(shape) or min(strides, default=0) < 0 or int(offset) < 0:
            raise ValueError(f"{self.what}: tensor in storage {storage.key} has bad strides")
        extent = int(offset) + sum((n - 1) * s for n, s in zip(shape, strides, strict=True))
        if math.prod(shape) and extent >= storage.numel:
            raise ValueError(
                f"{self.what}: tensor in storage {storage.key} reaches past its storage"
            )

        def read() -> np.ndarray:
            flat = self._storage_values(storage)
            return np.lib.stride_tricks.as_strided(
                flat[int(offset) :], shape, [s * flat.itemsize for s in strides]
            ).copy()

        dtype = np.float32 if storage.dtype == "bfloat16" else storage.dtype
        return LazyTensor(shape, np.dtype(dtype), read)

    def _storage_values(self, storage: _Storage) -> np.ndarray:
        bf16 = storage.dtype == "bfloat16"
        itemsize = 2 if bf16 else np.dtype(storage.dtype).itemsize
        nbytes = storage.numel * itemsize
        try:
            with zipfile.ZipFile(self.path) as archive:  # reopened: tensors load lazily
                data = read_member(archive, f"{self.prefix}data/{storage.key}", self.what, nbytes)
        except (OSError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{self.what}: cannot read storage {storage.key}: {exc}") from None
        if len(data) != nbytes:
            raise ValueError(f"{self.what}: storage {storage.key} is not {nbytes} bytes")
        order = ">" if self.big_endian else "<"
        if bf16:  # bfloat16 is float32's upper half
            halves = np.frombuffer(data, dtype=f"{order}u2").astype(np.uint32)
            return (halves << 16).view(np.float32)
        return np.frombuffer(data, dtype=np.dtype(storage.dtype).newbyteorder(order))

    def parameter(self, data: Any, *_rest: Any) -> Any:
        return data

    def globals(self) -> dict[tuple[str, str], Any]:
        table: dict[tuple[str, str], Any] = {
            ("collections", "OrderedDict"): _ordered_dict,
            ("torch._utils", "_rebuild_tensor_v2"): self.rebuild,
            ("torch._utils", "_rebuild_tensor"): self.rebuild,
            ("torch._utils", "_rebuild_parameter"): self.parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): self.parameter,
            ("numpy.core.multiarray", "scalar"): _scalar,
            ("numpy._core.multiarray", "scalar"): _scalar,
            ("numpy", "dtype"): _DtypeStandIn,
            ("_codecs", "encode"): _encode,
        }
        for name, dtype in _STORAGES.items():
            table["torch", name] = _StorageType(dtype)
        return table


#: The only globals a pickle may name: ``(module, name)`` pairs.
ALLOWED_GLOBALS = frozenset(
    [
        ("collections", "OrderedDict"),
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._utils", "_rebuild_tensor"),
        ("torch._utils", "_rebuild_parameter"),
        ("torch._utils", "_rebuild_parameter_with_state"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
        *(("torch", name) for name in _STORAGES),
    ]
)


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, reader: _Reader | None, what: str) -> None:
        super().__init__(io.BytesIO(data))
        self.reader, self.what = reader, what
        self.table = reader.globals() if reader is not None else {}

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.table[module, name]
        except KeyError:
            raise ValueError(
                f"{self.what}: refused: the pickle needs the Python global {module}.{name}, "
                "and model files are never allowed to run code (save a state_dict, or "
                "export to ONNX or safetensors)"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        if self.reader is None:
            raise ValueError(f"{self.what}: refused: a pickle with persistent ids outside a zip")
        return self.reader.storage(pid)


def _unpickle(data: bytes, reader: _Reader | None, what: str) -> Any:
    try:
        return _Unpickler(data, reader, what).load()
    except ValueError:
        raise
    except (pickle.UnpicklingError, EOFError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(f"{what}: not a readable torch file ({exc})") from None
    except RecursionError:
        raise ValueError(f"{what}: the pickle nests too deeply") from None


def load_state(path: Path) -> Any:
    """The object ``torch.save`` wrote, tensors as :class:`LazyTensor`, no code run.

    Raises
    ------
    ValueError
        In one line: a global outside :data:`ALLOWED_GLOBALS` (the file is refused before
        any of it runs), a legacy (pre-1.6) or plain pickle that needs globals, a malformed
        archive or a tensor reaching past its storage.
    """
    what = f"model {path.name}"
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
        if head[:2] != b"PK":
            return _plain_pickle(path, what)
        with zipfile.ZipFile(path) as archive:
            check_zip(archive, what)
            pickles = [n for n in archive.namelist() if n.endswith("data.pkl")]
            if len(pickles) != 1:
                raise ValueError(f"{what}: not a torch.save file (no single data.pkl)")
            prefix = pickles[0][: -len("data.pkl")]
            data = read_member(archive, pickles[0], what, MAX_PICKLE_BYTES)
            return _unpickle(data, _Reader(path, archive, prefix, what), what)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{what}: a truncated or damaged zip, unreadable ({exc})") from None
    except OSError as exc:
        raise ValueError(f"{what}: cannot read: {exc.strerror or exc}") from None


def _plain_pickle(path: Path, what: str) -> Any:
    size = path.stat().st_size
    if size > MAX_PICKLE_BYTES:
        raise ValueError(f"{what}: a {size}-byte pickle outside a zip is not read")
    data = path.read_bytes()
    if not data.startswith(b"\x80"):
        raise ValueError(f"{what}: not a torch.save file (neither a zip nor a pickle)")
    # A legacy torch file (before 1.6) is a chain of pickles whose tensors need torch's
    # globals; any plain pickle that names a global is refused by the same unpickler.
    _unpickle(data, None, what)
    raise ValueError(
        f"{what}: a legacy (pre-1.6) or plain pickle holds no tensors this reader can use; "
        "re-save it with torch.save(model.state_dict(), path)"
    )


#: Where checkpoints keep their state_dict, in the order they are tried.
STATE_KEYS = ("state_dict", "model_state_dict", "model", "net", "network", "ema", "params")


def state_dict_of(loaded: Any) -> dict[str, LazyTensor]:
    """The state_dict in what :func:`load_state` read: itself, or a checkpoint's.

    Examples
    --------
    >>> t = LazyTensor((2,), np.dtype("f4"), lambda: np.zeros(2, "f4"))
    >>> list(state_dict_of({"epoch": 3, "model_state_dict": {"fc.bias": t}}))
    ['fc.bias']
    """
    state = loaded
    if not isinstance(state, dict):
        raise ValueError(f"the file holds a {type(state).__name__}, not a state_dict")
    if any(isinstance(v, LazyTensor) for v in state.values()):
        return {str(k): v for k, v in state.items() if isinstance(v, LazyTensor)}
    nested = [state[k] for k in STATE_KEYS if isinstance(state.get(k), dict)]
    nested += [v for v in state.values() if isinstance(v, dict)]
    for candidate in nested:
        tensors = {str(k): v for k, v in candidate.items() if isinstance(v, LazyTensor)}
        if tensors:
            return tensors
    raise ValueError("the file holds no tensors (neither a state_dict nor a checkpoint of one)")
