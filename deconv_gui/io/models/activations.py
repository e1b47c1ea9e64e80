"""What a model feeds a deep layer: the user's image run through the model up to it.

The image (H, W, C floats in [0, 1], as loaded) is resized to the model's input size
when the file fixes one, scaled as the model expects (:data:`SCALINGS`), and run: with
onnxruntime for ONNX (the layer's input and output exposed as graph outputs on a copy
of the model), with :mod:`.keras_run` for Keras models. Arrays come back in this
tool's (H, W, C) layout; NCHW is only used to talk to the runtimes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...core.choices import check_choice
from ...document.records import MODEL_SCALINGS
from .record import Model, ModelLayer

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "SCALINGS",
    "Activation",
    "layer_activation",
    "model_input",
    "onnx_tensors",
]

#: How the model expects its input (the document's list, which sessions check):
#: ``unit`` the image as loaded (floats in [0, 1]), ``255`` the same times 255,
#: ``imagenet`` (x − mean) / std per RGB channel.
SCALINGS = MODEL_SCALINGS
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Activation:
    """A layer's input and its output before any activation, (H, W, C), and who ran it."""

    input: np.ndarray
    output: np.ndarray
    runner: str


def model_input(image: np.ndarray, model: Model, scaling: str = "unit") -> np.ndarray:
    """The image as the model's first layer takes it: channels, size and scale.

    Examples
    --------
    >>> m = Model("m.onnx", "onnx", (), input_shape=(3, 4, 4))
    >>> x = model_input(np.full((8, 6, 1), 0.5), m, "255")
    >>> x.shape, float(x.max())
    ((4, 4, 3), 127.5)
    """
    check_choice("scaling", scaling, SCALINGS)
    x = np.asarray(image, dtype=np.float64)
    if x.ndim == 2:
        x = x[:, :, None]
    channels, height, width = model.input_shape or (None, None, None)
    if channels is not None and x.shape[2] != channels:
        if x.shape[2] == 1:
            x = np.repeat(x, channels, axis=2)
        elif channels == 1 and x.shape[2] in (3, 4):
            x = x[:, :, :3] @ np.array([0.2125, 0.7154, 0.0721])[:, None]
        else:
            raise ValueError(
                f"image: the model takes {channels} channels, the image has {x.shape[2]}"
            )
    if height is not None and width is not None and x.shape[:2] != (height, width):
        from skimage.transform import resize

        shrink = height < x.shape[0] or width < x.shape[1]
        x = resize(x, (height, width, x.shape[2]), order=1, anti_aliasing=shrink)
    if scaling == "255":
        x = x * 255.0
    elif scaling == "imagenet":
        if x.shape[2] != 3:
            raise ValueError("scaling: imagenet needs a 3-channel (RGB) input")
        x = (x - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    return x.astype(np.float32)


#: Sessions kept for reuse, keyed by the file's identity and the tensors exposed: choosing
#: another layer or image of the same model does not rebuild the session.
_SESSIONS: OrderedDict[tuple, tuple[Any, str, np.dtype]] = OrderedDict()
_KEEP_SESSIONS = 2


def _session(path: Path, names: Sequence[str]) -> tuple[Any, str, np.dtype]:
    """An onnxruntime session of a copy of the model with ``names`` as extra outputs."""
    import onnx
    import onnxruntime as ort

    from .onnx_model import MAX_ONNX_BYTES

    what = f"model {path.name}"
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, tuple(sorted(set(names))))
    if key in _SESSIONS:
        _SESSIONS.move_to_end(key)
        return _SESSIONS[key]
    if stat.st_size > MAX_ONNX_BYTES:
        raise ValueError(f"{what}: more than protobuf's 2 GB limit; refused")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # any parse or external-data failure
        raise ValueError(f"{what}: cannot load for running ({type(exc).__name__}: {exc})") from None
    stored = {t.name for t in model.graph.initializer}
    feeds = [v for v in model.graph.input if v.name not in stored]
    if len(feeds) != 1:
        raise ValueError(f"{what}: {len(feeds)} inputs; only models of one image input run")
    present = {o.name for o in model.graph.output}
    for name in names:
        if name not in present:
            model.graph.output.append(onnx.ValueInfoProto(name=name))
            present.add(name)
    elem = feeds[0].type.tensor_type.elem_type
    dtype = onnx.helper.tensor_dtype_to_np_dtype(elem) if elem else np.dtype(np.float32)
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime's own exception types
        raise ValueError(f"{what}: onnxruntime cannot load it ({_short(exc)})") from None
    _SESSIONS[key] = (session, feeds[0].name, dtype)
    while len(_SESSIONS) > _KEEP_SESSIONS:
        _SESSIONS.popitem(last=False)
    return _SESSIONS[key]


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def onnx_tensors(
    path: str | Path, x: np.ndarray, names: list[str], expose: Sequence[str] = ()
) -> list[np.ndarray]:
    """Tensors ``names`` of the ONNX model at ``path`` run on ``x`` (H, W, C), as (H, W, C).

    A copy of the model gets ``names`` and ``expose`` as extra graph outputs (a session
    exposing every conv layer's tensors serves every layer); onnxruntime runs it on the
    batch of one ``x`` in NCHW.
    """
    path = Path(path)
    session, feed, dtype = _session(path, [*names, *expose])
    batch = np.ascontiguousarray(np.transpose(x, (2, 0, 1))[None]).astype(dtype)
    try:
        results = session.run(names, {feed: batch})
    except Exception as exc:  # onnxruntime's own exception types
        raise ValueError(f"model {path.name}: onnxruntime cannot run it ({_short(exc)})") from None
    out = []
    for name, value in zip(names, results, strict=True):
        value = np.asarray(value)
        if value.ndim != 4 or value.shape[0] != 1:
            raise ValueError(f"model {path.name}: tensor {name!r} is not one (C, H, W) map")
        out.append(np.ascontiguousarray(np.transpose(value[0], (1, 2, 0)), dtype=np.float64))
    return out


def layer_activation(
    model: Model, layer: ModelLayer, image: np.ndarray, scaling: str = "unit"
) -> Activation:
    """The input the model feeds ``layer`` for ``image``, and the layer's output.

    Raises
    ------
    ValueError
        When the file cannot be run (weights-only files): the caller then uses the image
        itself if its channels match, or a feature map from ``.npy``.
    """
    x = model_input(image, model, scaling)
    if model.format == "onnx":
        if layer.input is None or layer.output is None:
            raise ValueError(f"layer {layer.name!r} has no tensor names to run to")
        every = [n for item in model.layers for n in (item.input, item.output) if n]
        fed, out = onnx_tensors(model.path, x, [layer.input, layer.output], every)
        return Activation(fed, out, "onnxruntime")
    if model.format == "keras":
        from .keras_run import run_keras

        fed, out = run_keras(model, layer, x)
        return Activation(fed, out, "keras executor")
    raise ValueError(
        f"model {Path(model.path).name}: a {model.format} file stores weights only and cannot "
        "be run; the layer's input is the image itself or a feature map (.npy)"
    )
