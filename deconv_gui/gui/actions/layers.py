"""A network built by hand in the window: the Network menu's operations on the document's
chain, and the input of the convolution under study.

The chain is the document's ``layers`` (:mod:`deconv_gui.document.network` makes it a
core network); :class:`LayerChain` adds, removes and moves layers, edits a pooling's
window and stride or a leaky ReLU's slope, and picks the convolution under study. Each
operation is one undo step, shown through :class:`~.document.DocumentSync` like undo and
sessions, and refused in one line, nothing changed, when it would make a layer that fits
the image no longer fit. The convolutions are kept taking the channels that reach them.

The layer under study takes what the layers before it make of the image (the image
itself for the first): :meth:`LayerChain.input_of` is the window's
:attr:`~deconv_gui.gui.state.AppState.input_of`, so the single-layer panels, Insight,
export and "Copy as code" study it on that input, as they study a model's layer on the
activation the model feeds it. The document keeps the image as loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

import numpy as np
from qtpy import QtCore, QtWidgets

from ...document import Document, Layer
from ...document.network import (
    ACTIVATION_WORDS,
    adapt_channels,
    check_chain,
    conv_channels,
    layer_input,
    layer_text,
)
from ...io import LoadedImage
from ..controls.layers import LayerRow, LayersPanel
from ..state import AppState
from ..support.qthelp import make_timer
from .document import DocumentSync, error_line
from .model_chain import READ_ONLY, ModelNetworkList

__all__ = ["LAYER_WORDS", "LayerChain"]

#: How the undo history and the messages name a new layer of each kind.
LAYER_WORDS = {
    "conv": "conv layer",
    "relu": "ReLU",
    "leaky_relu": "leaky ReLU",
    "maxpool": "max-pool",
    "avgpool": "average pool",
    **ACTIVATION_WORDS,
}


#: The actions that edit the chain (besides adding): off for a model file's layer.
_EDITING = ("remove_layer", "move_layer_up", "move_layer_down")


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))


class LayerChain(QtCore.QObject):
    """The Network menu and the dock's Network section; see the module.

    Parameters
    ----------
    state : AppState
        The document, the image as loaded, the messages; its ``input_of`` becomes
        :meth:`input_of`.
    sync : DocumentSync
        Reads the forms into the document and shows a document (all or nothing).
    panel : LayersPanel
        The dock's list of layers.
    as_one_step : callable
        ``as_one_step(label)``: a context in which a change is one undo step.
    parent : QObject
        The window.
    models : ModelNetworkList, optional
        The list of a model's layers, shown instead of the chain when the layer under
        study is a model file's (its network is the file's: the editing actions are off).
    """

    def __init__(
        self,
        state: AppState,
        sync: DocumentSync,
        panel: LayersPanel,
        as_one_step: Callable[[str], AbstractContextManager[Any]],
        parent: QtCore.QObject,
        models: ModelNetworkList | None = None,
    ) -> None:
        super().__init__(parent)
        self._state, self._sync, self.panel = state, sync, panel
        self._as_one_step = as_one_step
        self.models = models
        if models is not None:
            models.listed.connect(self._enable)
        self.actions: Mapping[str, QtWidgets.QAction] = {}
        self._tips: dict[str, str] = {}
        self.current = 0  # the list's current row: where layers are added, what moves
        self._committing = False
        #: why the chain up to the layer under study cannot run on the image ("" if it can)
        self.problem = ""
        self._cache: tuple[tuple[Layer, ...], LoadedImage, LoadedImage] | None = None
        state.input_of = self.input_of
        # the operations' results are for their callers (tests); the panel needs none
        panel.studyRequested.connect(self.study)  # type: ignore[arg-type]
        panel.poolChanged.connect(self.set_pool)  # type: ignore[arg-type]
        panel.slopeChanged.connect(self.set_slope)  # type: ignore[arg-type]
        panel.currentChanged.connect(self._on_current)
        self._view = make_timer(self, 0, single_shot=True)
        self._view.timeout.connect(self.show)
        events = state.document.events
        for signal in (events.layers, events.selected, events.through):
            signal.connect(self._schedule)
        state.imageChanged.connect(self._schedule)

    def _schedule(self, *_args: object) -> None:
        self._view.start()

    def shutdown(self) -> None:
        """Stop reading a model's listing (the window is closing)."""
        self._view.stop()
        if self.models is not None:
            self.models.shutdown()

    @property
    def document(self) -> Document:
        """The window's document."""
        return self._state.document

    def set_actions(self, actions: Mapping[str, QtWidgets.QAction]) -> None:
        """The window's Network actions (enabled as the chain allows)."""
        self.actions = actions
        self._tips = {name: action.toolTip() for name, action in actions.items()}
        self.panel.set_actions(actions)
        self.show()

    # -- the input of the layer under study ----------------------------------------------------
    def input_of(self, source: LoadedImage) -> LoadedImage:
        """What the layers before the one under study make of ``source`` (``source`` itself
        for the first layer, or when they do not fit it: :attr:`problem` says why)."""
        doc = self.document
        index = doc.selected
        self.problem = ""
        if index == 0:
            return source
        layers = doc.layers
        try:  # another image may have other channels: the layers before take them
            adapted = adapt_channels(layers[:index], source.pixels.shape[2])
        except ValueError as exc:
            self.problem = str(exc)
            return source
        if adapted != layers[:index]:
            layers = (*adapted, *layers[index:])
            doc.update(layers=layers)
        cached = self._cache
        if cached is not None and cached[0] == adapted and cached[1] is source:
            return cached[2]
        try:
            pixels = layer_input(layers, index, source.pixels)
        except ValueError as exc:
            self.problem = str(exc)
            return source
        name = source.source.rsplit("/", 1)[-1]
        words = " → ".join(layer_text(layer) for layer in adapted)
        made = LoadedImage(
            np.asarray(pixels, dtype=np.float32),
            f"{name} through layers 1–{index}",
            f"what {words} make of {name} (the input of layer {index + 1})",
        )
        self._cache = (adapted, source, made)
        return made

    def refresh(self) -> None:
        """A document was shown: the layer under study takes its input again (and, unless
        an operation of the list showed it, becomes the current row)."""
        if not self._committing:
            self.current = self.document.selected
        self._state.refresh_input()
        self.show()

    def owns_channels(self) -> bool:
        """True when the layer under study takes a map the layers before it make: its
        channels follow them, not the image's."""
        doc = self.document
        return any(layer.is_conv for layer in doc.layers[: doc.selected])

    # -- showing -------------------------------------------------------------------------------
    def show(self) -> None:
        """Draw the chain in the dock and enable the actions it allows."""
        self._view.stop()
        doc, source = self.document, self._state.source
        check = None if source is None else check_chain(doc.layers, source.pixels.shape)
        rows = []
        for index, layer in enumerate(doc.layers):
            shape = ""
            if check is not None and index < len(check.shapes):
                shape = _shape_text(check.shapes[index])
            rows.append(
                LayerRow(
                    layer_text(layer),
                    shape,
                    layer.is_conv,
                    (layer.kernel, layer.stride) if layer.kind in ("maxpool", "avgpool") else None,
                    layer.slope if layer.kind == "leaky_relu" else None,
                    check is None or check.failed is None or index < check.failed,
                )
            )
        self.current = max(0, min(self.current, len(rows) - 1))
        problem = "" if check is None else check.problem
        if self.models is not None and doc.layer.model is not None:
            self.models.show(rows[doc.selected])  # the model file's network, read-only
        else:
            self.panel.show_chain(rows, doc.selected, self.current, problem or self.problem)
        self._enable()

    def _enable(self) -> None:
        if not self.actions:
            return
        doc, row = self.document, self.current
        own = doc.layer.model is None  # a model's layer goes through the model's network
        convs = [i for i, layer in enumerate(doc.layers) if layer.is_conv]
        allowed = {
            "remove_layer": own and len(doc.layers) > 1 and convs != [row],
            "move_layer_up": own and row > 0,
            "move_layer_down": own and row < len(doc.layers) - 1,
            "study_previous": convs[0] < doc.selected,
            "study_next": convs[-1] > doc.selected,
        }
        if not own and self.models is not None:  # the file's convs, in its order
            allowed["study_previous"] = self.models.can_step(-1)
            allowed["study_next"] = self.models.can_step(1)
        for name, action in self.actions.items():
            editing = name.startswith("add_") or name in _EDITING
            if name.startswith("add_"):
                action.setEnabled(own)
            elif name in allowed:
                action.setEnabled(allowed[name])
            if editing and name in self._tips:  # a disabled button says why
                tip = self._tips[name]
                action.setToolTip(tip if own else f"{READ_ONLY}.\n{tip}")

    def _on_current(self, row: int) -> None:
        self.current = row
        self._enable()

    # -- operations ----------------------------------------------------------------------------
    def add(self, kind: str) -> bool:
        """Add a layer of ``kind`` after the current row (a conv copies the layer under
        study and is studied next); False, with a message, when refused."""
        label = f"add {LAYER_WORDS[kind]}"
        doc = self._read(label)
        if doc is None:
            return False
        at = self.current + 1
        if kind == "conv":
            new = replace(doc.layer, name=f"conv {at + 1}", model=None)
        else:
            new = Layer(name=LAYER_WORDS[kind], kind=kind)
        layers = (*doc.layers[:at], new, *doc.layers[at:])
        selected = at if kind == "conv" else doc.selected + (doc.selected >= at)
        return self._commit(label, doc, layers, selected, at)

    def remove(self, row: int | None = None) -> bool:
        """Remove layer ``row`` (default: the current one); the last conv stays."""
        row = self.current if row is None else int(row)
        doc = self._read(f"remove layer {row + 1}")
        if doc is None or not 0 <= row < len(doc.layers):
            return False
        label = f"remove layer {row + 1} ({layer_text(doc.layers[row])})"
        layers = (*doc.layers[:row], *doc.layers[row + 1 :])
        convs = [i for i, layer in enumerate(layers) if layer.is_conv]
        if not convs:
            self._state.notify(f"Could not {label}: the network needs a convolution to study")
            return False
        selected = doc.selected - (doc.selected > row)
        if row == doc.selected:  # the conv before it is studied next, else the one after
            earlier = [i for i in convs if i < row]
            selected = earlier[-1] if earlier else convs[0]
        return self._commit(label, doc, layers, selected, min(row, len(layers) - 1))

    def move(self, step: int, row: int | None = None) -> bool:
        """Move layer ``row`` (default: the current one) ``step`` places (−1 earlier)."""
        row = self.current if row is None else int(row)
        to = row + int(step)
        doc = self._read(f"move layer {row + 1}")
        if doc is None or not (0 <= row < len(doc.layers) and 0 <= to < len(doc.layers)):
            return False
        layers = list(doc.layers)
        layers[row], layers[to] = layers[to], layers[row]
        order = {row: to, to: row}
        selected = order.get(doc.selected, doc.selected)
        label = (
            f"move layer {row + 1} ({layer_text(doc.layers[row])}) {'up' if to < row else 'down'}"
        )
        return self._commit(label, doc, tuple(layers), selected, to)

    def study(self, row: int) -> bool:
        """Study the convolution of ``row`` (the forms show it; a model's layer: the conv
        of that row of the file's network)."""
        doc = self.document
        if self.models is not None and doc.layer.model is not None:
            return self.models.study(row)
        if not (0 <= row < len(doc.layers) and doc.layers[row].is_conv):
            return False
        if row == doc.selected:
            self.current = row
            self.show()
            return True
        label = f"study layer {row + 1}"
        read = self._read(label)
        return read is not None and self._commit(label, read, read.layers, row, row)

    def study_step(self, step: int) -> bool:
        """Study the previous (``step < 0``) or next convolution (a model's layer: the
        file's)."""
        doc = self.document
        if self.models is not None and doc.layer.model is not None:
            return self.models.step(step)
        convs = [i for i, layer in enumerate(doc.layers) if layer.is_conv]
        position = convs.index(doc.selected) + (1 if step > 0 else -1)
        return 0 <= position < len(convs) and self.study(convs[position])

    def set_pool(self, row: int, kernel: int, stride: int) -> bool:
        """Give the pooling of ``row`` a ``kernel``×``kernel`` window and ``stride``."""
        return self._edit(
            row, f"window {kernel}×{kernel}, stride {stride}", kernel=kernel, stride=stride
        )

    def set_slope(self, row: int, slope: float) -> bool:
        """Give the leaky ReLU of ``row`` the negative slope ``slope``."""
        return self._edit(row, f"slope {slope:g}", slope=float(slope))

    def _edit(self, row: int, words: str, **changes: Any) -> bool:
        doc = self.document
        if not 0 <= row < len(doc.layers):
            return False
        layer = doc.layers[row]
        edited = replace(layer, **changes)
        if edited == layer:
            return True
        label = f"{LAYER_WORDS[layer.kind]} of layer {row + 1}: {words}"
        read = self._read(label)
        if read is None:
            return False
        layers = (*read.layers[:row], edited, *read.layers[row + 1 :])
        return self._commit(label, read, layers, read.selected, row)

    def _read(self, label: str) -> Document | None:
        """The document with the forms' values (None, said, when they are invalid)."""
        try:
            return self._sync.read().copy()
        except ValueError as exc:
            self._state.notify(f"Could not {label}: the settings are invalid: {exc}")
            return None

    def _commit(
        self, label: str, doc: Document, layers: tuple[Layer, ...], selected: int, current: int
    ) -> bool:
        """Show ``layers`` with ``selected`` under study, as one undo step called ``label``;
        refused, nothing changed, when a layer that fitted the image no longer would."""
        state, source = self._state, self._state.source
        refused = f"Could not {label} (nothing changed)"
        first = next((layer for layer in layers if layer.is_conv), None)
        channels = conv_channels(first.params)[0] if first is not None else 1
        try:
            if source is not None:
                channels = source.pixels.shape[2]
            layers = adapt_channels(layers, channels)
        except ValueError as exc:
            state.notify(f"{refused}: {exc}")
            return False
        if source is not None:
            new = check_chain(layers, source.pixels.shape)
            old = check_chain(doc.layers, source.pixels.shape)
            if new.failed is not None and (old.failed is None or new.failed < old.failed):
                state.notify(f"{refused}: {new.problem}")
                self.show()
                return False
        wanted = Document(**{**doc.values(), "layers": layers, "selected": selected})
        self.current, self._committing = current, True
        with self._as_one_step(label):
            try:
                self._sync.show(wanted)
            except Exception as exc:  # a form refuses a value: the window is as it was
                state.notify(f"{refused}: {error_line(exc)}")
                self.show()
                return False
            finally:
                self._committing = False
        return True
