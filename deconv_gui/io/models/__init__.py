"""Model files: the conv layers of ONNX, PyTorch, safetensors and Keras files. Never Qt.

:func:`read_model` picks the reader by the file's content (and name), returns a
:class:`~.record.Model` listing every conv layer in graph order from shapes alone; each
layer's weights are read by :meth:`~.record.ModelLayer.load`. Model files are untrusted:
no pickle is ever executed, absurd shapes, zip bombs and oversized protobufs are refused
before anything is allocated, and every failure is one ValueError line.
"""

from __future__ import annotations

from pathlib import Path

from .record import GRAPH_FORMATS, MALFORMED, LayerWeights, Model, ModelLayer, Pads
from .safety import file_size

__all__ = [
    "GRAPH_FORMATS",
    "MODEL_EXTENSIONS",
    "LayerWeights",
    "Model",
    "ModelLayer",
    "Pads",
    "model_format",
    "read_model",
]

#: The model files the readers accept, by suffix (content decides when it disagrees).
MODEL_EXTENSIONS = (
    ".onnx",
    ".pt",
    ".pth",
    ".bin",
    ".ckpt",
    ".safetensors",
    ".keras",
    ".h5",
    ".hdf5",
)


def _sniff(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(16)
    suffix = path.suffix.lower()
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "keras_h5"
    if head.startswith(b"PK"):
        return "keras" if suffix == ".keras" else "zip"
    if suffix == ".safetensors" or (len(head) >= 9 and head[8:9] == b"{"):
        return "safetensors"
    if head.startswith(b"\x80"):
        return "pickle"
    return "onnx"  # protobuf has no magic number: parsing decides


def read_model(path: str | Path) -> Model:
    """The conv layers of the model file at ``path`` (weights read lazily).

    Raises
    ------
    ValueError
        One line naming the file and the problem: unreadable, an unsupported format, a
        pickle that needs code, an absurd shape, a zip bomb, no conv layer.
    """
    path = Path(path)
    try:
        return _read(path)
    except ValueError as exc:
        text = " ".join(str(exc).split())
        if text.startswith(("model ", "model:")):
            raise ValueError(text) from None
        raise ValueError(f"model {path.name}: {text}") from None
    except RecursionError:
        raise ValueError(f"model {path.name}: nested too deeply to read") from None
    except MALFORMED as exc:  # a reader met a structure it did not expect: the file is bad
        raise ValueError(f"model {path.name}: malformed ({type(exc).__name__}: {exc})") from None


def model_format(path: str | Path) -> str:
    """The reader a model file goes to, from its first bytes (and name, where they agree):
    ``"onnx"``, ``"keras"``, ``"pytorch"`` or ``"safetensors"``, the :attr:`Model.format
    <.record.Model.format>` :func:`read_model` gives it. It reads a few bytes (a zip's
    list of names), not the model; ``"onnx"`` is the guess for anything else.

    Raises
    ------
    OSError
        When the file cannot be read.
    """
    path = Path(path)
    kind = _sniff(path)
    if kind in ("keras", "keras_h5") or (kind == "zip" and _is_keras_zip(path)):
        return "keras"
    return "pytorch" if kind in ("zip", "pickle") else kind


def _read(path: Path) -> Model:
    file_size(path)
    try:
        kind = model_format(path)
    except OSError as exc:
        raise ValueError(f"model: cannot read {path}: {exc.strerror or exc}") from None
    if kind == "onnx":
        from .onnx_model import read_onnx

        try:
            model = read_onnx(path)
        except ValueError as exc:
            if path.suffix.lower() == ".onnx" or "not an ONNX model" not in str(exc):
                raise
            raise ValueError(
                f"model {path.name}: not a model file this tool reads (ONNX, PyTorch .pt/.pth, "
                "safetensors, Keras .keras/.h5)"
            ) from None
    elif kind == "keras":
        from .keras_model import read_keras

        model = read_keras(path)
    elif kind == "pytorch":
        from .torch_file import load_state, state_dict_of
        from .weights_only import weights_layers

        layers = weights_layers(state_dict_of(load_state(path)))
        model = Model(str(path), "pytorch", layers)
    else:
        from .weights_only import read_safetensors, weights_layers

        model = Model(str(path), "safetensors", weights_layers(read_safetensors(path)))
    if not model.layers:
        extra = f" ({'; '.join(model.notes)})" if model.notes else ""
        raise ValueError(f"model {path.name}: no 2-D conv layer found{extra}")
    return model


def _is_keras_zip(path: Path) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return "config.json" in names and "model.weights.h5" in names
