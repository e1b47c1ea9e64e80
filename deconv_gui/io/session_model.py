"""A session's model layer: the model file recorded (absolute, hashed) and checked again.

A layer read from a model file is saved as a
:class:`~deconv_gui.document.ModelSource`: the file's absolute path and SHA-256, the
layer's name, the scaling and the image the model runs on (itself absolute and hashed
when a file). Reopening checks both files first, so that a missing or changed one is
said in one line before anything changes.

Its weights stay in the model file while they are the file's, to the bit: the session
writes ``{"from_model": true, "shape": [...]}`` in their place
(:func:`weights_reference`), and reading it takes them from the file again, refused in
one line when that file is missing or changed since (:func:`weights_from_model`). A
filter edited away from the model's is written whole (as every other layer's).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..document import Layer, ModelSource
from .images import LoadedImage, load_image, load_sample, sha256_of

__all__ = [
    "load_model_image",
    "model_problem",
    "recorded",
    "refer_to_models",
    "weights_from_model",
    "weights_from_models",
    "weights_reference",
]


def recorded(model: ModelSource) -> ModelSource:
    """``model`` with its file (and the image's, when a file) absolute and hashed.

    Raises
    ------
    ValueError
        When the model file is missing (a session must not promise a layer it lacks).
    """
    image = model.image
    if image.kind == "file" and Path(image.source).is_file():
        file = Path(image.source)
        image = replace(image, source=str(file.resolve()), sha256=sha256_of(file))
    path = Path(model.path)
    if not path.is_file():
        raise ValueError(f"the layer's model file is missing: {model.path}")
    return replace(model, path=str(path.resolve()), sha256=sha256_of(path), image=image)


def model_problem(model: ModelSource) -> str | None:
    """One line when the model file, or the image it runs on, is missing or changed since
    it was recorded, else None."""
    path = Path(model.path)
    if not path.is_file():
        return f"the session's model file is missing: {model.path}"
    if model.sha256 and sha256_of(path) != model.sha256:
        return f"the session's model file changed since the session was saved: {path}"
    image = model.image
    if image.kind == "file":
        file = Path(image.source)
        if not file.is_file():
            return f"the image the model runs on is missing: {image.source}"
        if image.sha256 and sha256_of(file) != image.sha256:
            return f"the image the model runs on changed since the session was saved: {file}"
    return None


def load_model_image(model: ModelSource) -> LoadedImage:
    """The image the model runs on, loaded at its work size (sample or file).

    Raises
    ------
    ValueError
        When the image cannot be read.
    """
    image = model.image
    if image.kind == "sample":
        return load_sample(image.source, image.work_size)
    return load_image(image.source, image.work_size)


def _model_weights(model: ModelSource) -> np.ndarray:
    """The layer's weights as the model file stores them, float64 (as Params holds them)."""
    from .models import read_model

    return np.asarray(read_model(model.path).layer(model.layer).load().weights, np.float64)


def weights_reference(layer: Layer) -> dict[str, Any] | None:
    """What a session writes for the weights of ``layer`` (its model recorded): a
    reference to the model file when they are the file's to the bit, else None (the
    weights are written whole: edited, or the file cannot be read now)."""
    if layer.model is None:
        return None
    try:
        weights = _model_weights(layer.model)
    except (ValueError, OSError):
        return None
    if weights.shape != layer.params.weights.shape:
        return None
    if not np.array_equal(weights, layer.params.weights):
        return None
    return {"from_model": True, "shape": list(weights.shape)}


def weights_from_model(layer: Any, where: str) -> np.ndarray | None:
    """The weights a session's layer record (a dict) leaves in its model file, read
    there; None when the record holds its weights itself.

    Raises
    ------
    ValueError
        One line naming ``where`` (``document.layers[0].params.weights``): a reference
        of another form, a layer without a model, a model file missing, changed since
        the session was saved or unreadable, weights of another shape.
    """
    params = layer.get("params") if isinstance(layer, dict) else None
    reference = params.get("weights") if isinstance(params, dict) else None
    if not (isinstance(reference, dict) and "from_model" in reference):
        return None
    shape = reference.get("shape")
    if sorted(reference) != ["from_model", "shape"] or reference["from_model"] is not True:
        raise ValueError(f"{where} must be {{from_model: true, shape: [...]}}, got {reference}")
    if layer.get("model") is None:
        raise ValueError(f"{where} are the model file's, but the layer has no model file")
    try:
        model = ModelSource.from_dict(layer.get("model"))
    except ValueError as exc:
        raise ValueError(f"{where} are the model file's, but the layer's {exc}") from None
    problem = model_problem(model) or ("" if model.sha256 else "its SHA-256 is not recorded")
    if problem:
        raise ValueError(f"{where} are the model file's, which cannot be used: {problem}")
    try:
        weights = _model_weights(model)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{where} are the model file's, which cannot be read: {exc}") from None
    if list(weights.shape) != shape:
        raise ValueError(
            f"{where}: the model's are {list(weights.shape)}, the session says {shape}"
        )
    return weights


def refer_to_models(records: list[dict[str, Any]], layers: tuple[Layer, ...]) -> None:
    """In the layers' ``records`` (their ``to_dict()``), the weights that are their
    model file's replaced by a reference (:func:`weights_reference`)."""
    for record, layer in zip(records, layers, strict=True):
        reference = weights_reference(layer)
        if reference is not None:
            record["params"]["weights"] = reference


def weights_from_models(document: dict[str, Any]) -> None:
    """In a session's ``document`` dict, the weights its layers leave in their model
    files read there (:func:`weights_from_model`; a one-line ValueError if they cannot)."""
    layers = document.get("layers")
    for i, layer in enumerate(layers if isinstance(layers, list) else ()):
        weights = weights_from_model(layer, f"document.layers[{i}].params.weights")
        if weights is not None:
            layer["params"] = {**layer["params"], "weights": weights}
