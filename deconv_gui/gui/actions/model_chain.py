"""The dock's Network section for a model file's layer: the file's network up to it.

Where a network built by hand lists the document's layers (:class:`~.layers.LayerChain`),
a model's layer lists the file's layers from its input up to and including it, read-only:
each one's kind, name and output shape, ▶ on the conv under study, the rows of the core
network the "network up to here" panels run (:func:`~deconv_gui.gui.network.listing.
model_listing`, read off the GUI thread; the studied layer alone until it arrives, or
when the file has no graph). A click on another conv of the list, and *Study the previous
/ next conv*, study that layer of the file as File → Open model… does (the model's convs
in the file's order).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from qtpy import QtCore

from ...document import ModelSource
from ...io import LoadedImage
from ..controls.layers import LayerRow, LayersPanel
from ..network.listing import ModelListing, model_listing
from ..runner import JobRunner, Priority
from ..state import AppState

__all__ = ["READ_ONLY", "ModelNetworkList"]

#: Why the editing actions are off for a model's layer (the first line of their tooltips).
READ_ONLY = "Off for a model file's layer: its network is the file's, read-only here"


class ModelNetworkList(QtCore.QObject):
    """The list of a model's layers in the dock; see the module.

    Parameters
    ----------
    state : AppState
        The document (its selected layer's ``model``) and the messages.
    panel : LayersPanel
        The dock's list.
    source_image : callable
        The image the model runs on (not the layer's input).
    open_layer : callable
        ``open_layer(model, name)``: study the file's conv ``name`` (False when refused).
    parent : QObject
        The window.

    Signals
    -------
    listed()
        A listing arrived and is drawn (or failed, and the studied layer is listed alone).
    """

    listed = QtCore.Signal()

    def __init__(
        self,
        state: AppState,
        panel: LayersPanel,
        source_image: Callable[[], LoadedImage | None],
        open_layer: Callable[[ModelSource, str], bool],
        parent: QtCore.QObject,
    ) -> None:
        super().__init__(parent)
        self._state, self.panel = state, panel
        self._source_image, self._open_layer = source_image, open_layer
        self.runner = JobRunner(self, priority=Priority.INSIGHT)
        self.runner.resultReady.connect(self._on_listing)
        self.runner.failed.connect(self._on_failed)
        self.listing: ModelListing | None = None
        self._key: tuple | None = None
        self._alone = LayerRow("")

    @property
    def refusal(self) -> tuple[ModelSource | None, str]:
        """The model layer listed, and why its network up to it cannot be read ("": it can)."""
        listing = self.listing
        return self.model, "" if listing is None else listing.problem

    @property
    def model(self) -> ModelSource | None:
        """The model record of the layer under study (None: not a model's layer)."""
        return self._state.document.layer.model

    def show(self, alone: LayerRow) -> None:
        """Draw the listing of the layer under study (``alone``: its own row, drawn by itself
        while the listing is read); read it again when the layer or the image changed."""
        model, image = self.model, self._source_image()
        if model is None:
            return
        self._alone = alone
        key = (model, id(image))
        if key != self._key:
            self._key, self.listing = key, None
            if image is not None:
                pixels = image.pixels

                def job(_cancel: threading.Event, _progress: object) -> ModelListing:
                    return model_listing(model, pixels, alone)

                self.runner.submit(job)
        self._draw()

    def _draw(self) -> None:
        model, listing = self.model, self.listing
        if model is None:
            return
        name = Path(model.path).name
        tip = (
            f"The layers of {name} from its input up to {model.layer} (▶), as the network "
            "panels run them; read-only: click another convolution to study it"
        )
        if listing is None:
            note = f"Reading the layers of {name}…" if self.runner.busy else ""
            self.panel.show_chain([self._alone], 0, 0, note=note, tip=tip)
            return
        if listing.problem:
            note = f"{listing.problem}: the layer is listed alone"
        else:
            note = f"{name}, input {listing.input_shape}: read-only (the file's network)"
        rows = listing.rows
        self.panel.show_chain(rows, listing.studied, listing.studied, note=note, tip=tip)

    def _on_listing(self, _rid: int, value: object) -> None:
        assert isinstance(value, ModelListing)
        self.listing = value
        self._draw()
        self.listed.emit()

    def _on_failed(self, _rid: int, text: str) -> None:
        model = self.model
        convs = () if model is None else (model.layer,)
        self.listing = ModelListing((self._alone,), 0, convs, problem=text.splitlines()[0])
        self._draw()
        self.listed.emit()

    # -- studying another conv of the file ------------------------------------------------------
    def _neighbour(self, step: int) -> str | None:
        """The file's conv ``step`` places from the one under study (None: none there)."""
        model, listing = self.model, self.listing
        if model is None or listing is None or model.layer not in listing.convs:
            return None
        at = listing.convs.index(model.layer) + (1 if step > 0 else -1)
        return listing.convs[at] if 0 <= at < len(listing.convs) else None

    def can_step(self, step: int) -> bool:
        """Whether there is a conv of the file before (``step < 0``) or after this one."""
        return self._neighbour(step) is not None

    def step(self, step: int) -> bool:
        """Study the file's previous (``step < 0``) or next conv."""
        name, model = self._neighbour(step), self.model
        return name is not None and model is not None and self._open_layer(model, name)

    def study(self, row: int) -> bool:
        """Study the conv of ``row`` of the list (its own row: nothing to do)."""
        model, listing = self.model, self.listing
        if model is None or listing is None or not 0 <= row < len(listing.rows):
            return False
        chosen = listing.rows[row]
        if not chosen.is_conv or row == listing.studied:
            return row == listing.studied
        return self._open_layer(model, chosen.name)

    def shutdown(self) -> None:
        """Cancel and wait for the listing's job (the window is closing)."""
        self.runner.shutdown()
