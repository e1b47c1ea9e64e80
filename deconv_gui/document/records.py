"""The document's immutable parts: where the image came from, a layer, the display choices.

Each record is a frozen dataclass that checks its values when it is made, so a
:class:`~deconv_gui.document.Document` never holds an invalid one; changing a part
means replacing it (``dataclasses.replace``), which is what makes the document's
snapshots (undo, sessions) cheap and exact. Each has ``to_dict``/``from_dict`` giving
JSON-ready values; the errors name the key.

A layer of the chain is :class:`~deconv_gui.document.layer.Layer` (its own module).

Examples
--------
>>> from deconv_gui.document import Display, ImageSource
>>> ImageSource("sample", "coffee", work_size=128).to_dict()["source"]
'coffee'
>>> Display.from_dict({"layout": "row"}).layout
'row'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

import numpy as np

from ..core import Params, make_filter
from ..core.choices import check_choice
from ..core.params import WINDOW_TIME_LIMIT
from ..view.display import SCALINGS

__all__ = [
    "DEFAULT_PRESET",
    "DEFAULT_WORK_SIZE",
    "IMAGE_KINDS",
    "LAYOUTS",
    "MODEL_SCALINGS",
    "SAMPLES",
    "Display",
    "ImageSource",
    "Insight",
    "ModelSource",
    "default_params",
    "same_in_all_channels",
]

#: The built-in sample images, in menu order (:mod:`deconv_gui.io` loads them);
#: ``seed_toy`` is the question's 7×7×3 example.
SAMPLES: tuple[str, ...] = ("astronaut", "coffee", "chelsea", "camera", "seed_toy")
#: The window's work size (the image's long side), and the command line's for samples.
DEFAULT_WORK_SIZE = 256
#: Where an image can come from: a built-in sample, a file, or pixels pasted or dropped
#: (those cannot be loaded again from a session; only their label, shape and note are kept).
IMAGE_KINDS: tuple[str, ...] = ("sample", "file", "array")
#: How the panels are laid out: a grid, or one row.
LAYOUTS: tuple[str, ...] = ("grid", "row")
#: The filter preset a new layer starts from.
DEFAULT_PRESET = "gaussian"
#: How a model expects its input: ``unit`` the image as loaded (floats in [0, 1]),
#: ``255`` the same times 255, ``imagenet`` (x − mean) / std per RGB channel.
MODEL_SCALINGS: tuple[str, ...] = ("unit", "255", "imagenet")

T = TypeVar("T")


def default_params(in_channels: int = 3) -> Params:
    """The window's starting set-up: a 3×3 Gaussian over ``in_channels``, the schema's
    defaults but the solve's time limit, :data:`~deconv_gui.core.params.WINDOW_TIME_LIMIT`
    (a live update answers within seconds; the command line has none).

    >>> default_params().weights.shape, default_params().time_limit
    ((3, 3, 3, 1), 2.0)
    """
    weights = make_filter(DEFAULT_PRESET, size=3, in_channels=in_channels)
    return Params(weights, time_limit=WINDOW_TIME_LIMIT)


def same_in_all_channels(weights: Any) -> bool:
    """Whether every input channel of ``weights`` holds the same kernel (False if unreadable).

    What "same in all channels" starts as for a layer whose filter came from elsewhere.

    >>> import numpy as np
    >>> same_in_all_channels(np.ones((3, 3, 2, 1))), same_in_all_channels(np.eye(2)[None])
    (True, False)
    """
    try:
        array = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if array.ndim == 3:
        array = array[..., None]
    return array.ndim == 4 and bool(np.all(array == array[:, :, :1]))


def _object(name: str, data: Any, known: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{name} must be a JSON object, got {type(data).__name__}")
    unknown = sorted(set(map(str, data)) - set(known))
    if unknown:
        raise ValueError(f"{name} has unknown fields: {', '.join(unknown)}")
    return data


def _names(cls: Any) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _values(record: Any) -> dict[str, Any]:
    """The record's fields by name (JSON-ready when they are plain values)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _nested(owner: str, build: Callable[[Any], T], data: Any) -> T:
    """``build(data)``, its errors named under ``owner`` (``model.image.kind …``)."""
    try:
        return build(data)
    except ValueError as exc:
        raise ValueError(f"{owner}.{exc}") from None


def _check_type(name: str, value: Any, kind: type | tuple[type, ...], words: str) -> None:
    wrong_bool = isinstance(value, bool) and kind in (int, (int, type(None)))
    if wrong_bool or not isinstance(value, kind):
        raise ValueError(f"{name} must be {words}, got {value!r}")


@dataclass(frozen=True)
class ImageSource:
    """Where the image came from, so that it can be loaded again.

    Parameters
    ----------
    kind : str
        One of :data:`IMAGE_KINDS`.
    source : str
        The sample's name, the file's path, or a label for pasted pixels ("clipboard").
    work_size : int or None
        The long side the image is resized to (None: its original size).
    shape : tuple of int or None
        ``(H, W, C)`` of the image as loaded, when known (for the record).
    note : str
        What loading did to it (a conversion, a resize), for the record.
    sha256 : str or None
        The file's SHA-256 when it was recorded (None for samples and pasted pixels).
    """

    kind: str = "sample"
    source: str = "astronaut"
    work_size: int | None = DEFAULT_WORK_SIZE
    shape: tuple[int, ...] | None = None
    note: str = ""
    sha256: str | None = None

    def __post_init__(self) -> None:
        check_choice("image.kind", self.kind, IMAGE_KINDS)
        _check_type("image.source", self.source, str, "a string")
        if self.kind == "sample":
            check_choice("image.source", self.source, SAMPLES)
        _check_type("image.work_size", self.work_size, (int, type(None)), "an int >= 1 or null")
        if self.work_size is not None and self.work_size < 1:
            raise ValueError(f"image.work_size must be an int >= 1 or null, got {self.work_size!r}")
        if self.shape is not None:
            shape = tuple(self.shape)
            if not all(_is_int(n) and n >= 0 for n in shape):
                raise ValueError(f"image.shape must be a list of ints >= 0, got {self.shape!r}")
            object.__setattr__(self, "shape", shape)
        _check_type("image.note", self.note, str, "a string")
        _check_type("image.sha256", self.sha256, (str, type(None)), "a string or null")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (lists for tuples)."""
        out = _values(self)
        out["shape"] = None if self.shape is None else list(self.shape)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> ImageSource:
        """Rebuild from :meth:`to_dict` output; missing keys take their defaults."""
        values = dict(_object("image", data, _names(cls)))
        if isinstance(values.get("shape"), list):
            values["shape"] = tuple(values["shape"])
        return cls(**values)


@dataclass(frozen=True)
class ModelSource:
    """Where a layer came from when it is a model file's: reopening reads it there again.

    The layer's input is then ``image`` (a sample or a file, loaded as it says) run
    through the model up to ``layer``.

    Parameters
    ----------
    path : str
        The model file (absolute when saved).
    sha256 : str or None
        The file's SHA-256 when it was recorded, to tell that it changed.
    layer : str
        The conv layer's name in the file (``deconv-gui layers`` lists them).
    scaling : str
        How the image is scaled for the model: one of :data:`MODEL_SCALINGS`.
    image : ImageSource
        The image the model runs on (a sample or a file; pixels are not stored).

    Whether the window studies the layer alone or the network up to it is the document's
    switch (:attr:`~deconv_gui.document.Document.through`), as for a network built by hand.
    """

    path: str
    layer: str
    sha256: str | None = None
    scaling: str = "unit"
    image: ImageSource = field(default_factory=ImageSource)

    def __post_init__(self) -> None:
        _check_type("model.path", self.path, str, "a string")
        if not self.path:
            raise ValueError("model.path must be a model file's path, got ''")
        _check_type("model.layer", self.layer, str, "a string")
        _check_type("model.sha256", self.sha256, (str, type(None)), "a string or null")
        check_choice("model.scaling", self.scaling, MODEL_SCALINGS)
        if not isinstance(self.image, ImageSource) or self.image.kind == "array":
            raise ValueError("model.image must be a sample or an image file")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (``image`` as :meth:`ImageSource.to_dict`)."""
        out = _values(self)
        out["image"] = self.image.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Any) -> ModelSource:
        """Rebuild from :meth:`to_dict` output; ``path`` and ``layer`` are required."""
        values = dict(_object("model", data, _names(cls)))
        for key in ("path", "layer"):
            if key not in values:
                raise ValueError(f"model.{key} is missing")
        if "image" in values:
            values["image"] = _nested("model", ImageSource.from_dict, values["image"])
        return cls(**values)


@dataclass(frozen=True)
class Display:
    """How the panels are drawn.

    Parameters
    ----------
    layout : str
        One of :data:`LAYOUTS`.
    shared_levels : bool
        One brightness range for every reconstruction panel.
    scaling : str
        ``"clip"`` (the input's range) or ``"auto"`` (each panel's own range).
    forward_channel : int
        The output channel the forward panel shows (0-based).
    """

    layout: str = "grid"
    shared_levels: bool = False
    scaling: str = "clip"
    forward_channel: int = 0

    def __post_init__(self) -> None:
        check_choice("display.layout", self.layout, LAYOUTS)
        _check_type("display.shared_levels", self.shared_levels, bool, "true or false")
        check_choice("display.scaling", self.scaling, SCALINGS)
        _check_type("display.forward_channel", self.forward_channel, int, "an int >= 0")
        if self.forward_channel < 0:
            raise ValueError(f"display.forward_channel must be >= 0, got {self.forward_channel!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return _values(self)

    @classmethod
    def from_dict(cls, data: Any) -> Display:
        """Rebuild from :meth:`to_dict` output; missing keys take their defaults."""
        return cls(**_object("display", data, _names(cls)))


@dataclass(frozen=True)
class Insight:
    """The Insight menu's toggles that are not a method.

    Whether the lost-information panels are shown is not stored here: it is whether the
    selected layer's methods include them (:attr:`Document.insight_panels`).

    Parameters
    ----------
    normalised_by_user : bool
        The user ticked the normalised-transposed panel themselves (showing the
        lost-information panels ticks it too, and hiding them unticks it unless this is
        true).
    """

    normalised_by_user: bool = False

    def __post_init__(self) -> None:
        _check_type("insight.normalised_by_user", self.normalised_by_user, bool, "true or false")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return _values(self)

    @classmethod
    def from_dict(cls, data: Any) -> Insight:
        """Rebuild from :meth:`to_dict` output; missing keys take their defaults."""
        return cls(**_object("insight", data, _names(cls)))
