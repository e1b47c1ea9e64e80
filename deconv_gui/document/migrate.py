"""Older documents brought up to the current version, one version at a time.

Version 1 is the session file written before the document existed: ``image``
(``source``, ``sha256``), ``work_size``, ``params`` (one layer) and ``extra`` (what the
window stored beside them: the image's kind, shape and note, the filter preset, its
seed, "same in all channels", the display choices). Version 2 is the document of
one or more layers; version 3 (:meth:`~deconv_gui.document.Document.to_dict`) adds a
layer's ``model`` (the model file it was read from: path, SHA-256, layer name, scaling
and the image the model runs on), null for the layers of version 2. Version 4 makes the
layers a chain built by hand: a layer's ``kind`` (a convolution, as every earlier layer
was, a ReLU or a pooling) and the document's ``through`` (study the network up to the
selected layer), false before. Version 5 writes a convolution's weights as an ``.npy``
file in base64 (:mod:`~deconv_gui.document.arrays`) instead of nested lists of numbers,
which it still reads. Version 6 has one switch: a model file's layer had its own
(``model.through``), now the document's ``through`` holds it for both. Each step is a
function from one version's dict to the next's; :func:`migrate` runs the steps a dict needs.

Examples
--------
>>> old = {"version": 1, "image": {"source": "coffee"}, "work_size": 128,
...        "params": {"weights": [[[[1.0]]]]}, "extra": {"filter_preset": "custom"}}
>>> new = migrate(old)
>>> new["version"], new["image"]["kind"], new["image"]["work_size"], new["layers"][0]["preset"]
(6, 'sample', 128, 'custom')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .records import SAMPLES, same_in_all_channels

__all__ = ["DOCUMENT_VERSION", "check_version", "migrate"]

#: The version this code writes and the newest it reads.
DOCUMENT_VERSION = 6

_V1_KEYS = ("schema", "version", "image", "work_size", "params", "extra")
_V1_DISPLAY = ("layout", "shared_levels", "scaling", "forward_channel")


def check_version(version: Any, newest: int, where: str, what: str = "version") -> int:
    """``version`` of a file this code reads: an int from 1 to ``newest``.

    Raises
    ------
    ValueError
        Naming ``where`` (the document, a session file) and its ``what``, for a version
        that is no int >= 1, or one newer than ``newest`` (written by a newer deconv_gui).
    """
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{where}: {what} must be an int >= 1, got {version!r}")
    if version > newest:
        raise ValueError(
            f"{where} was written by a newer deconv_gui ({what} {version}); this version "
            f"reads up to {newest}: please upgrade"
        )
    return version


def _from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """The session file of version 1 (one layer, the window's choices under ``extra``)."""
    unknown = sorted(set(map(str, data)) - set(_V1_KEYS))
    if unknown:
        raise ValueError(f"document has unknown fields: {', '.join(unknown)}")
    image = data.get("image", {})
    if not isinstance(image, dict):
        raise ValueError(f"document.image must be a JSON object, got {type(image).__name__}")
    if not isinstance(image.get("source", ""), str):
        raise ValueError("document.image.source must be a string")
    extra = data.get("extra", {})
    if not isinstance(extra, dict):
        raise ValueError(f"document.extra must be a JSON object, got {type(extra).__name__}")
    source = image.get("source", "")
    kind = extra.get("image_kind")
    if kind not in ("sample", "file", "array"):
        kind = "sample" if source in SAMPLES else "file"
    if kind == "array" and not source:
        source = "pasted"
    new_image: dict[str, Any] = {"kind": kind, "source": source, "sha256": image.get("sha256")}
    if "work_size" in data:
        new_image["work_size"] = data["work_size"]
    if isinstance(extra.get("image_shape"), list):
        new_image["shape"] = extra["image_shape"]
    if isinstance(extra.get("image_note"), str):
        new_image["note"] = extra["image_note"]
    if "params" not in data:
        raise ValueError("document.params is missing")
    layer: dict[str, Any] = {"params": data["params"]}
    if isinstance(extra.get("filter_preset"), str):
        layer["preset"] = extra["filter_preset"]
    seed = extra.get("filter_seed")
    if isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0:
        layer["filter_seed"] = seed
    if isinstance(extra.get("same_in_all"), bool):
        layer["same_in_all"] = extra["same_in_all"]
    elif isinstance(data["params"], dict):  # not recorded: what the weights say
        layer["same_in_all"] = same_in_all_channels(data["params"].get("weights"))
    display = extra.get("display")
    new: dict[str, Any] = {"version": 2, "image": new_image, "layers": [layer]}
    if isinstance(display, dict):  # the window only ever wrote valid ones; others are dropped
        new["display"] = {k: display[k] for k in _V1_DISPLAY if k in display}
    return new


def _from_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 had no model files: every layer's ``model`` is null (the key may be absent)."""
    return {**data, "version": 3}


def _from_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Version 3's layers were all convolutions, studied alone: every ``kind`` is
    ``"conv"`` and ``through`` false (both are the defaults of absent keys)."""
    return {**data, "version": 4}


def _from_v4(data: dict[str, Any]) -> dict[str, Any]:
    """Version 4 wrote the weights as nested lists of numbers: read as they are (a
    layer's ``params.weights`` may be either form)."""
    return {**data, "version": 5}


def _from_v5(data: dict[str, Any]) -> dict[str, Any]:
    """Version 5 kept a model layer's switch in its ``model.through``: the document's
    ``through`` takes the selected layer's (the one the window read for a model's layer,
    whose document switch it ignored), and every ``model`` loses the key.

    >>> old = {"version": 5, "through": False, "layers": [{"model": {"path": "m.onnx",
    ...        "layer": "c", "through": True}}]}
    >>> new = _from_v5(old)
    >>> new["through"], new["layers"][0]["model"]
    (True, {'path': 'm.onnx', 'layer': 'c'})
    """
    layers = data.get("layers")
    if not isinstance(layers, list):
        return {**data, "version": 6}  # refused, naming the key, when read
    new = {**data, "version": 6, "layers": list(layers)}
    selected = data.get("selected", 0)
    for index, layer in enumerate(layers):
        model = layer.get("model") if isinstance(layer, dict) else None
        if not isinstance(model, dict) or "through" not in model:
            continue
        through = model["through"]
        if not isinstance(through, bool):  # what version 5 refused, in its words
            raise ValueError(
                f"document.layers[{index}].model.through must be true or false, got {through!r}"
            )
        rest = {k: v for k, v in model.items() if k != "through"}
        new["layers"][index] = {**layer, "model": rest}
        if index == selected:
            new["through"] = through
    return new


#: ``_STEPS[v]`` turns a version-``v`` dict into a version-``v + 1`` dict.
_STEPS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: _from_v1,
    2: _from_v2,
    3: _from_v3,
    4: _from_v4,
    5: _from_v5,
}


def migrate(data: Any) -> dict[str, Any]:
    """``data`` (a document dict of any version) as a dict of :data:`DOCUMENT_VERSION`.

    A dict without ``version`` is taken as the current version.

    Raises
    ------
    ValueError
        When ``data`` is not a JSON object, its version is not an int >= 1, or it is
        newer than this code reads.
    """
    if not isinstance(data, dict):
        raise ValueError(f"document must be a JSON object, got {type(data).__name__}")
    version = check_version(data.get("version", DOCUMENT_VERSION), DOCUMENT_VERSION, "document")
    while version < DOCUMENT_VERSION:
        data = _STEPS[version](data)
        version += 1
    return data
