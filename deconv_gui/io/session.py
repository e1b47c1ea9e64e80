"""Sessions: a small, versioned JSON file (``*.deconv.json``) that restores a set-up exactly.

A session is a :class:`~deconv_gui.document.Document` (its ``to_dict()``: the image's
origin and work size, the layers with every :class:`~deconv_gui.core.Params` field,
the filter presets, a model file's layer (path, SHA-256, layer name), the display
choices) under ``"schema"``, plus free-form ``"extra"``. The filter weights are an
``.npy`` file in base64 (:mod:`deconv_gui.document.arrays`: exact, a third of the size
of JSON numbers or less); a model file's layer whose weights are still the file's leaves
them there (:mod:`deconv_gui.io.session_model`): reading the session reads them from
the file, whose SHA-256 it checks. Files of earlier versions (weights as nested lists of
floats) are migrated by the document (:func:`~deconv_gui.document.migrate`). Never
pickle: a session file is text a user can read and diff.

This module writes and reads the file; what reading gives back, :class:`Session` (the
document, and its image found, checked and loaded before anything is applied), is in
:mod:`deconv_gui.io.session_restore` and importable from here too.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..core import Params
from ..core.deprecation import module_aliases
from ..core.limits import check_filter_magnitudes
from ..document import (
    DOCUMENT_VERSION,
    Document,
    ImageSource,
    Layer,
    check_version,
    migrate,
    same_in_all_channels,
)
from . import files
from .decode import short_name
from .decoder_file import read_decoder
from .images import SAMPLES, sha256_of
from .json_text import dumps_json
from .session_model import recorded, refer_to_models, weights_from_models
from .session_restore import Session

__all__ = [
    "SESSION_SCHEMA",
    "SESSION_SUFFIX",
    "SESSION_VERSION",
    "Session",
    "dumps_json",
    "load_session",
    "params_from_dict",
    "params_to_dict",
    "save_document",
    "save_session",
]

SESSION_SCHEMA = "deconv_gui.session"
#: The schema version this code writes and the newest it reads (the document's).
SESSION_VERSION = DOCUMENT_VERSION
SESSION_SUFFIX = ".deconv.json"


def params_to_dict(params: Params) -> dict[str, Any]:
    """Every :class:`Params` field as JSON-ready values: :meth:`Params.to_dict`.

    The inverse is :func:`params_from_dict`; ``params_from_dict(params_to_dict(p)) == p``.
    """
    if not isinstance(params, Params):
        raise ValueError(f"params must be a Params, got {type(params).__name__}")
    return params.to_dict()


def params_from_dict(data: Any) -> Params:
    """Rebuild :class:`Params` from :func:`params_to_dict` output: :meth:`Params.from_dict`.

    Raises
    ------
    ValueError
        Naming the field, on a missing ``weights``, an unknown field, a wrong type or
        a value out of range.
    """
    return Params.from_dict(data)


def _session_path(path: str | Path) -> Path:
    path = Path(path)
    if path.is_dir():  # a folder: the session goes inside it, never beside it
        return path / f"session{SESSION_SUFFIX}"
    if not path.name.endswith(".json"):
        return path.with_name(path.name + SESSION_SUFFIX)
    return path


def save_document(
    path: str | Path, document: Document, *, extra: dict[str, Any] | None = None
) -> Path:
    """Write ``document`` as a session file, atomically, and return its path.

    An image file's path is stored absolute, with its SHA-256 (to tell when it changed);
    so is a layer's model file (and the image the model runs on). ``path`` is completed
    as :func:`save_session` does.

    Raises
    ------
    ValueError
        On data that is not JSON-serialisable, or a folder that is missing or not
        writable (nothing is written then).
    """
    path = _session_path(path)
    image = document.image
    if image.kind == "file":
        file = Path(image.source)
        if file.is_file():
            image = replace(image, source=str(file.resolve()), sha256=sha256_of(file))
    layers = tuple(
        layer if layer.model is None else replace(layer, model=recorded(layer.model))
        for layer in document.layers
    )
    data = {
        "schema": SESSION_SCHEMA,
        **Document(
            **{**document.values(), "image": image, "layers": _absolute_decoders(layers)}
        ).to_dict(),
        "extra": dict(extra or {}),
    }
    refer_to_models(data["layers"], layers)  # a model's weights stay in its file
    return files.atomic_write_bytes(path, dumps_json(data).encode("utf-8"))


def save_session(
    path: str | Path,
    params: Params,
    *,
    image_source: str | None = None,
    work_size: int | None = 256,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a session of one layer atomically and return its path (see :func:`save_document`).

    Parameters
    ----------
    path : str or Path
        The file; ``.deconv.json`` is appended when the name does not end in ``.json``,
        and an existing folder gets ``session.deconv.json`` inside it. An existing file
        is replaced (the GUI's save dialog asks first).
    params : Params
        The set-up to restore.
    image_source : str, optional
        A sample name or an image path (stored absolute); default ``params.image_source``.
    work_size : int or None
        The long side the image is resized to (None: original size).
    extra : dict, optional
        JSON-serialisable data for the GUI (window state...).

    Raises
    ------
    ValueError
        On a bad argument, data that is not JSON-serialisable, or a folder that is
        missing or not writable (nothing is written then).
    """
    if not isinstance(params, Params):
        raise ValueError(f"params must be a Params, got {type(params).__name__}")
    if work_size is not None and (
        not isinstance(work_size, (int, np.integer)) or isinstance(work_size, bool) or work_size < 1
    ):
        raise ValueError(f"work_size must be an int >= 1 or None, got {work_size!r}")
    source = params.image_source if image_source is None else str(image_source)
    kind = "sample" if source in SAMPLES else "file"
    image = ImageSource(kind, source, None if work_size is None else int(work_size))
    same = same_in_all_channels(params.weights)
    document = Document(image=image, layers=(Layer(params, preset="custom", same_in_all=same),))
    return save_document(path, document, extra=extra)


def _check_decoder_file(decoder_path: str) -> None:
    """A session that names a decoder file is refused when that file cannot be read: its
    decoder panel could not be what was saved."""
    if decoder_path:
        try:
            read_decoder(Path(decoder_path))
        except ValueError as exc:
            raise ValueError(f"the session's decoder file: {exc}") from None


def _absolute_decoders(layers: tuple[Layer, ...]) -> tuple[Layer, ...]:
    """The layers with each decoder file named by its absolute path (as the image is)."""
    out = []
    for layer in layers:
        named = layer.params.decoder_path
        if named and Path(named).is_file() and not Path(named).is_absolute():
            resolved = layer.params.replace(decoder_path=str(Path(named).resolve()))
            layer = replace(layer, params=resolved)
        out.append(layer)
    return tuple(out)


#: What every session file holds, by version (``schema`` and ``version`` are checked
#: first): without them it restores nothing, or another image than the one saved.
_REQUIRED_KEYS = {1: ("image", "params")}
_REQUIRED_KEYS_SINCE_2 = ("image", "layers")


def _check_required(data: dict[str, Any], version: int, name: str) -> None:
    """Refuse a session file missing a key it cannot do without, naming the key (the
    defaults it would take otherwise are a sample image or a layer never saved)."""
    missing = [k for k in _REQUIRED_KEYS.get(version, _REQUIRED_KEYS_SINCE_2) if k not in data]
    if missing:
        named = " and no ".join(repr(k) for k in missing)
        raise ValueError(f"{name}: incomplete session file: no {named}")


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed in a session file")


def load_session(path: str | Path) -> Session:
    """Read a session file (of this version or an earlier one).

    Raises
    ------
    ValueError
        With a one-line reason: the file is missing or unreadable, not JSON, not a
        deconv_gui session, from a newer schema version, or holds wrong types. A
        missing *image* file is not an error here: see :attr:`Session.image_missing`.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"session file not found: {path}") from None
    except OSError as exc:  # the text, not str(exc): that repeats the whole path
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"cannot read session file {short_name(path.name)}: {reason}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"cannot read session file {short_name(path.name)}: {exc}") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path.name} is not a valid session file: corrupt JSON ({exc.msg}: line "
            f"{exc.lineno}, column {exc.colno})"
        ) from None
    except ValueError as exc:  # NaN, Infinity: what _reject_constant refuses
        raise ValueError(f"{path.name} is not a valid session file: {exc}") from None
    except RecursionError:  # "[[[[…" thousands deep: no session nests like that
        raise ValueError(
            f"{path.name} is not a valid session file: JSON nested too deeply"
        ) from None
    if not isinstance(data, dict) or data.get("schema") != SESSION_SCHEMA:
        raise ValueError(f"{path.name} is not a deconv_gui session file (no '{SESSION_SCHEMA}')")
    version = check_version(data.get("version"), SESSION_VERSION, path.name, "session version")
    _check_required(data, version, path.name)
    extra = data.get("extra", {})
    if not isinstance(extra, dict):
        raise ValueError(f"{path.name}: extra must be a JSON object, got {type(extra).__name__}")
    # version 1 kept the window's choices in "extra": the migration reads them there
    body = dict(data) if version == 1 else {k: v for k, v in data.items() if k != "extra"}
    body.pop("schema", None)
    try:
        body = migrate(body)  # the model records as this version reads them, weights first
        weights_from_models(body)
        document = Document.from_dict(body)
    except ValueError as exc:
        raise ValueError(f"{path.name}: {exc}") from None
    # what no image can be computed with is refused here, before anything is applied
    for layer in document.layers:
        try:
            check_filter_magnitudes(layer.params.weights, layer.params.bias)
            if "decoder" in layer.params.methods:  # a file named but unused is no refusal
                _check_decoder_file(layer.params.decoder_path)
        except ValueError as exc:
            raise ValueError(f"{path.name}: {exc}") from None
    return Session(document=document, schema_version=version, extra=extra, path=path)


#: Where the atomic write used to live (now :mod:`deconv_gui.io.files`).
__getattr__ = module_aliases(
    __name__,
    {"atomic_write_bytes": ("deconv_gui.io.files.atomic_write_bytes", files.atomic_write_bytes)},
)
