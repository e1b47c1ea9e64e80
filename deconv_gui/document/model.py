"""The :class:`Document`: everything the window shows and edits, Qt-free and evented.

The document is the one home of the window's state: where the image came from and its
work size, the layer(s) with their :class:`~deconv_gui.core.Params`, how each filter
was made (preset, seed, "same in all channels"), the Insight toggles and the display
choices. It holds no pixels and no widgets. It is a psygnal evented dataclass: setting
a field emits ``document.events.<field>(new, old)`` (and ``document.events`` for any),
so widgets mirror it and write to it. Its parts are frozen records
(:mod:`deconv_gui.document.records`), so a snapshot (:meth:`Document.copy`) shares them
and costs nothing: undo is a stack of documents, sessions and stored settings are
:meth:`Document.to_dict` / :meth:`Document.from_dict`.

Its ``layers`` are a chain applied to the image in order: one convolution is the
default; ReLUs, poolings and further convolutions make a network built by hand
(:mod:`deconv_gui.document.network` turns it into a core network). ``selected`` is the
convolution under study, the one the forms edit; ``through`` says whether the window
studies it alone (on what the layers before it make of the image) or the network up to it
(a model file's layer: the file's network up to it).

Examples
--------
>>> from deconv_gui.document import Document
>>> doc = Document()
>>> doc.params.stride
(2, 2)
>>> doc.set_params(doc.params.replace(stride=3))
>>> Document.from_dict(doc.to_dict()) == doc
True
>>> doc.to_dict()["version"]
6
>>> doc.to_dict()["layers"][0]["params"]["weights"]["dtype"]  # an .npy file in base64
'float64'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, ClassVar

from psygnal import SignalGroup, evented

from ..core import INSIGHT_METHODS, Params
from .layer import Layer
from .migrate import DOCUMENT_VERSION, migrate
from .network import channels_problem
from .records import Display, ImageSource, Insight

__all__ = ["DOCUMENT_VERSION", "Document"]

_KEYS = ("version", "image", "layers", "selected", "insight", "display", "through")


@evented
@dataclass
class Document:
    """The window's state; see the module's docstring.

    Parameters
    ----------
    image : ImageSource
        Where the image came from and its work size.
    layers : tuple of Layer
        The chain, at least one layer.
    selected : int
        The index of the convolution under study (the forms show and edit it).
    insight : Insight
        The Insight menu's toggles that are not methods.
    display : Display
        Layout, shared levels, scaling, forward channel.
    through : bool
        Study the network of ``layers`` up to the selected one (its local linear map
        ``J`` at the image) instead of the selected layer alone; for a model file's layer,
        the file's network up to it. The one switch of both.

    Raises
    ------
    ValueError
        When there is no layer, ``selected`` is out of range, or a part has the wrong
        type. Setting a field checks it too (nothing is changed then).
    """

    image: ImageSource = field(default_factory=ImageSource)
    layers: tuple[Layer, ...] = field(default_factory=lambda: (Layer(),))
    selected: int = 0
    insight: Insight = field(default_factory=Insight)
    display: Display = field(default_factory=Display)
    through: bool = False

    if TYPE_CHECKING:  # added by psygnal's ``evented``: one signal per field
        events: ClassVar[SignalGroup]

    #: The version :meth:`to_dict` writes (older dicts are migrated on reading).
    version = DOCUMENT_VERSION

    def __post_init__(self) -> None:
        _check(self, self.values())
        self.__dict__["_ready"] = True  # from now on, setting a field checks it first

    # -- the selected layer -------------------------------------------------------------------
    @property
    def layer(self) -> Layer:
        """The selected layer."""
        return self.layers[self.selected]

    @property
    def params(self) -> Params:
        """The selected layer's :class:`~deconv_gui.core.Params`."""
        return self.layer.params

    @property
    def insight_panels(self) -> bool:
        """Whether the lost-information panels are computed (the layer's methods say)."""
        return any(m in INSIGHT_METHODS for m in self.params.methods)

    def set_layer(self, index: int | None = None, **changes: Any) -> None:
        """Replace fields of layer ``index`` (default: the selected one).

        >>> doc = Document()
        >>> doc.set_layer(preset="custom", filter_seed=3)
        >>> doc.layer.preset, doc.layer.filter_seed
        ('custom', 3)
        """
        index = self.selected if index is None else index
        if not 0 <= index < len(self.layers):
            raise ValueError(f"index must be a layer index below {len(self.layers)}, got {index}")
        layer = replace(self.layers[index], **changes)
        if layer != self.layers[index]:
            self.layers = (*self.layers[:index], layer, *self.layers[index + 1 :])

    def set_params(self, params: Params, index: int | None = None) -> None:
        """Make ``params`` the Params of layer ``index`` (default: the selected one)."""
        self.set_layer(index, params=params)

    # -- snapshots ----------------------------------------------------------------------------
    def copy(self) -> Document:
        """A snapshot: a new document sharing the (immutable) parts."""
        return Document(**self.values())

    def values(self) -> dict[str, Any]:
        """The fields by name (the parts are immutable: nothing is copied)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def update(self, other: Document | None = None, **changes: Any) -> None:
        """Take ``other``'s values and ``changes``, all or nothing, one event per changed field.

        Everything is checked before anything changes: on ValueError the document is
        as it was.
        """
        values = self.values() if other is None else other.values()
        values.update(changes)
        _check(self, values)
        changed = {k: v for k, v in values.items() if getattr(self, k) != v}
        self.__dict__["_updating"] = True  # checked as a whole above, not field by field
        try:
            with self.events.paused():  # listeners see a whole document, never half of one
                for name, value in changed.items():
                    setattr(self, name, value)
        finally:
            self.__dict__["_updating"] = False

    def __setattr__(self, name: str, value: Any) -> None:
        state = self.__dict__
        if name in _FIELDS and state.get("_ready") and not state.get("_updating"):
            _check(self, {**self.values(), name: value})
        super().__setattr__(name, value)

    # -- (de)serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values, with ``version`` (the inverse is :meth:`from_dict`)."""
        return {
            "version": DOCUMENT_VERSION,
            "image": self.image.to_dict(),
            "layers": [layer.to_dict() for layer in self.layers],
            "selected": self.selected,
            "insight": self.insight.to_dict(),
            "display": self.display.to_dict(),
            "through": self.through,
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as strict JSON (floats as their shortest round-trip ``repr``)."""
        return json.dumps(self.to_dict(), allow_nan=False, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Any) -> Document:
        """Rebuild a document from :meth:`to_dict` output of this or an earlier version.

        Earlier versions are migrated first (version 1 is the session file of
        deconv_gui ≤ 0.x: ``image``, ``work_size``, ``params`` and ``extra``).

        Raises
        ------
        ValueError
            Naming the key (``document.layers[0].params.stride ...``) on a wrong type,
            a value out of range, an unknown key, or a version newer than this code.
        """
        data = migrate(data)
        unknown = sorted(set(map(str, data)) - set(_KEYS))
        if unknown:
            raise ValueError(f"document has unknown fields: {', '.join(unknown)}")
        layers = data.get("layers", [Layer().to_dict()])
        if not isinstance(layers, list) or not layers:
            got = "an empty list" if layers == [] else type(layers).__name__
            raise ValueError(f"document.layers must be a non-empty list, got {got}")
        values: dict[str, Any] = {}
        try:
            if "image" in data:
                values["image"] = ImageSource.from_dict(data["image"])
            parsed = []
            for i, layer in enumerate(layers):
                try:
                    parsed.append(Layer.from_dict(layer))
                except ValueError as exc:
                    raise ValueError(f"layers[{i}]{_layer_part(exc)}") from None
            values["layers"] = tuple(parsed)
            for name, part in (("insight", Insight), ("display", Display)):
                if name in data:
                    values[name] = part.from_dict(data[name])
            values["selected"] = data.get("selected", 0)
            values["through"] = data.get("through", False)
            return cls(**values)
        except ValueError as exc:
            raise ValueError(f"document.{exc}") from None

    @classmethod
    def from_json(cls, text: str) -> Document:
        """:meth:`from_dict` of JSON text (NaN and infinities are refused)."""
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            raise ValueError(f"document is not valid JSON: {exc.msg}") from None
        return cls.from_dict(data)


_FIELDS = frozenset(f.name for f in fields(Document))
_PARTS = {"image": ImageSource, "insight": Insight, "display": Display}


def _check(doc: Document, values: dict[str, Any]) -> None:
    for name, kind in _PARTS.items():
        if not isinstance(values[name], kind):
            raise ValueError(f"{name} must be a {kind.__name__}, got {type(values[name]).__name__}")
    layers = values["layers"]
    if not isinstance(layers, tuple) or not layers:
        raise ValueError("layers must be a non-empty tuple of Layer")
    for i, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise ValueError(f"layers[{i}] must be a Layer, got {type(layer).__name__}")
    selected = values["selected"]
    if (
        not isinstance(selected, int)
        or isinstance(selected, bool)
        or not (0 <= selected < len(layers))
    ):
        raise ValueError(
            f"selected must be a layer index from 0 to {len(layers) - 1}, got {selected!r}"
        )
    if not layers[selected].is_conv:
        raise ValueError(
            f"selected must be a convolution's index: layer {selected} is a {layers[selected].kind}"
        )
    if not isinstance(values["through"], bool):
        raise ValueError(f"through must be true or false, got {values['through']!r}")
    problem = channels_problem(layers)
    if problem:
        raise ValueError(problem)


def _layer_part(exc: ValueError) -> str:
    """A layer's refusal as it follows ``layers[i]``: ``.params.stride must be…``, and
    `` must be a JSON object…`` for the layer itself (not ``layers[i].layer must be…``)."""
    text = str(exc)
    if text.startswith("layer."):
        return text[len("layer") :]
    return text.removeprefix("layer") if text.startswith("layer ") else f".{text}"


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed in a document")
