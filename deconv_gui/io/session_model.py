"""A session's model layer: the model file recorded (absolute, hashed) and checked again.

A layer read from a model file is saved as a
:class:`~deconv_gui.document.ModelSource`: the file's absolute path and SHA-256, the
layer's name, the scaling and the image the model runs on (itself absolute and hashed
when a file). Reopening checks both files first, so that a missing or changed one is
said in one line before anything changes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..document import ModelSource
from .images import LoadedImage, load_image, load_sample, sha256_of

__all__ = ["load_model_image", "model_problem", "recorded"]


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
