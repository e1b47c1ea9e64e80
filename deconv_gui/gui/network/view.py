"""The switch "this layer alone | the network up to here" and what the second one shows.

The switch is the document's ``through``, one for a model's layer (the file's network up
to it) and for a network built by hand in the window: sessions, undo and the stored
settings carry it, and the radio buttons and the Network menu's check mirror it. In
"network up to here" mode the window's panels give way to :class:`~.panels.NetworkPanels`,
filled off the GUI thread in two requests of one :class:`~deconv_gui.gui.runner.JobRunner`
(only the newest reports): first the model's chain at the image with ``f(x₀)``, ``Jᵀ``, the
deconvnet and guided backprop (one pass each), then ``J⁺`` and the null space, whose solve
shows its progress in the status bar with a Cancel button (cancelling keeps the first
panels).
A click on a unit of ``f(x₀)`` computes its ``Jᵀ e_unit`` in a second runner.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from qtpy import QtCore, QtWidgets

from ...core.network import PrefixResult
from ...document import Document, ModelSource
from ...io import LoadedImage
from ..runner import JobRunner, Priority
from ..state import AppState
from ..support.qthelp import signals_blocked
from .bar import NetworkBar
from .jobs import (
    PrefixRequest,
    chain_text,
    effective_field,
    field_rect,
    no_graph,
    prefix_job,
    summary,
)
from .panels import NetworkPanels
from .progress import SolveProgress

__all__ = ["FIRST_METHODS", "FROZEN_GEOMETRY", "SOLVE_METHODS", "NetworkView"]

#: The dock's Geometry while the network up to a model file's layer shows (read-only).
FROZEN_GEOMETRY = "Read-only: the network up to here runs the file's own layers."

#: The first request's methods (one pass each) and the second's (the J⁺ solve).
FIRST_METHODS = ("transposed", "deconvnet", "guided_backprop")
SOLVE_METHODS = ("pinv", "nullspace")
#: The panels the second request fills.
_SOLVED = ("pinv", "recoverable", "nullspace")
#: The panels that wait for it (keys of NetworkPanels).
_SOLVED_PANELS = ("pinv", "nullspace")


class NetworkView(QtCore.QObject):
    """The "network up to here" mode of the window; see the module.

    Parameters
    ----------
    state : AppState
        The document (its selected layer's ``model``, or its chain) and the messages.
    source_image : callable
        The image the model or the chain runs on (not the layer's input).
    as_one_step : callable
        ``as_one_step(label)``: a context in which a change is one undo step.
    parent : QWidget
        The window.
    action : QAction, optional
        The Network menu's checkable "study the network up to here": it switches, and
        shows the switch.

    Signals
    -------
    modeChanged(bool)
        The window shows the network (True) or the layer alone (False).
    resultShown(object)
        A :class:`PrefixResult` is drawn (twice per image: without and with ``J⁺``).
    layerStudied(str, bool)
        What the filter of the layer under study is in the study shown (one line, ""
        for the layer alone), and whether the layer is read-only there: the network up
        to a model file's layer runs the file's own weights and geometry (the dock's
        Filter and Geometry mirror it).
    """

    modeChanged = QtCore.Signal(bool)
    resultShown = QtCore.Signal(object)
    layerStudied = QtCore.Signal(str, bool)

    def __init__(
        self,
        state: AppState,
        source_image: Callable[[], LoadedImage | None],
        as_one_step: Callable[[str], AbstractContextManager[Any]],
        parent: QtWidgets.QWidget,
        action: QtWidgets.QAction | None = None,
    ) -> None:
        super().__init__(parent)
        self._state, self._source_image, self._as_one_step = state, source_image, as_one_step
        self.action = action
        self._action_tip = "" if action is None else action.toolTip()
        self.bar = NetworkBar(parent)
        self.bar.setVisible(False)
        self.panels = NetworkPanels(parent)
        self.panels.setVisible(False)
        self.progress = SolveProgress()
        self.progress_bar, self.cancel_button = self.progress.bar, self.progress.cancel_button
        self.cancel_button.clicked.connect(self.cancel)
        self.runner = JobRunner(self, progress_interval=0.05, priority=Priority.LIVE)
        self.field_runner = JobRunner(self, priority=Priority.INSIGHT)
        self.result: PrefixResult | None = None
        self.field: np.ndarray | None = None
        self.solved = False  # the newest request's J⁺ reported (or was cancelled, or failed)
        self._phase: dict[int, str] = {}
        self._key: tuple | None = None
        self._showing = False
        self._said = ""  # the network's last message: taken back when the layer is alone
        #: the model layer whose network up to it the file's listing could not read, and why
        self._refused: tuple[ModelSource, str] | None = None
        self.bar.through.toggled.connect(lambda on: self.set_through(bool(on)))
        self.runner.resultReady.connect(self._on_result)
        self.runner.progress.connect(self._on_progress)
        self.runner.cancelled.connect(self._on_cancelled)
        self.runner.failed.connect(self._on_failed)
        self.field_runner.resultReady.connect(self._on_field)
        self.field_runner.failed.connect(lambda _rid, text: state.notify(text, True))
        self.panels.unitClicked.connect(self._clicked)
        # a session or a layer changes the document and the image in one pass: look once
        self._refresh = QtCore.QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(0)
        self._refresh.timeout.connect(self._on_document)
        state.document.events.layers.connect(self._schedule)
        state.document.events.selected.connect(self._schedule)
        state.document.events.through.connect(self._schedule)
        state.imageChanged.connect(self._schedule)

    # -- the switch --------------------------------------------------------------------------
    @property
    def document(self) -> Document:
        """The window's document."""
        return self._state.document

    @property
    def chain(self) -> bool:
        """Whether the document's layers are a network built by hand (more than one)."""
        doc = self.document
        return doc.layer.model is None and len(doc.layers) > 1

    @property
    def has_network(self) -> bool:
        """Whether the layer under study has a network before it: a model's, or the chain's."""
        return self.document.layer.model is not None or self.chain

    @property
    def no_graph(self) -> str:
        """Why the network up to a model file's layer cannot be studied: the file stores
        weights only, or its network up to the layer is not a chain (:meth:`refuse`); ""
        when it can, and for a network built by hand."""
        model = self.document.layer.model
        if model is None:
            return ""
        weights_only = no_graph(model.path)
        if weights_only or self._refused is None or self._refused[0] != model:
            return weights_only
        return self._refused[1]

    def refuse(self, model: ModelSource | None, why: str) -> None:
        """The file's network up to ``model``'s layer cannot be run, ``why`` (one line; ""
        when it can): the switch to it is off, its tooltip says why, and a window showing
        it goes back to the layer alone."""
        self._refused = None if model is None or not why else (model, why)
        self._schedule()

    @property
    def through(self) -> bool:
        """Whether the window shows the network up to the selected layer (the document's
        switch, when there is a network that can run)."""
        return self.has_network and self.document.through and not self.no_graph

    @property
    def settled(self) -> bool:
        """Nothing of this mode is pending (for ``--screenshot``): off, or drawn and solved."""
        if not self._showing:
            return True
        busy = self.runner.busy or self.field_runner.busy
        return self.result is not None and self.solved and not busy

    def set_through(self, through: bool) -> None:
        """Study the network up to the layer (True) or the layer alone, as one undo step
        (not the network of a file without a graph: :attr:`no_graph`)."""
        if not self.has_network or self.through == through or (through and self.no_graph):
            self._show_switch()
            return
        label = "the network up to here" if through else "this layer alone"
        with self._as_one_step(label):
            self.document.through = through

    def _show_switch(self) -> None:
        """The radio buttons and the menu's check show the document's switch."""
        shown, why = self.has_network, self.no_graph
        self.bar.setVisible(shown)
        self.bar.show_through(self.through)
        self.bar.offer_through(why)
        if self.action is not None:
            self.action.setEnabled(shown and not why)
            tip = f"{why}.\n{self._action_tip}" if why else self._action_tip
            self.action.setToolTip(tip)
            self.action.setStatusTip(tip.replace("\n", " "))
            with signals_blocked(self.action):
                self.action.setChecked(self.through)

    def _schedule(self, *_args: object) -> None:
        self._refresh.start()

    def _on_document(self) -> None:
        doc = self.document
        model = doc.layer.model
        self._show_switch()
        if model is not None:
            alone = ""
            if self.no_graph:
                alone = (
                    " (no graph: the layer alone)" if no_graph(model.path) else " (the layer alone)"
                )
            self.bar.chain.setText(f"layer {model.layer} of {Path(model.path).name}{alone}")
        elif self.chain:
            self.bar.chain.setText(_chain_words(doc.selected, self.through))
        showing = self.through
        if showing != self._showing:
            self._showing = showing
            self.panels.setVisible(showing)
            self.modeChanged.emit(showing)
        self.layerStudied.emit(*_filter_words(doc, showing))
        if not showing:
            self.cancel()
            if self._said and self._state.last_message == self._said:
                self._say("")  # its J⁺ report does not describe the layer alone
            return
        key = (self._solve_key(), doc.params.channel)
        if key != self._key or self.result is None:
            # only the projected channel changed: J⁺ (the long solve) stays as it is
            same_j = self._key is not None and key[0] == self._key[0] and self.solved
            self._key = key
            self.compute(_keep_solve=same_j)

    def _solve_key(self) -> tuple:
        """What J⁺ depends on: the network up to the layer, the image, reg and rtol."""
        doc = self.document
        params = doc.params.replace(channel=None)
        if doc.layer.model is None:
            what: tuple = (*doc.layers[: doc.selected], replace(doc.layer, params=params))
        else:
            what = (doc.layer.model, params.reg, params.rtol)
        return what, id(self._source_image())

    # -- computing ---------------------------------------------------------------------------
    def compute(self, _keep_solve: bool = False, **solve: Any) -> int | None:
        """Start computing the network up to the layer; the request id (None: nothing to run).

        ``solve`` overrides the ``J⁺`` options: ``reg`` and ``rtol`` (the layer's fields),
        ``max_iter`` and ``time_limit`` (:data:`~.jobs.WINDOW_PREFIX_TIME_LIMIT`: the layer's
        limits are the live update's, see there). The deconvnet and guided backprop project
        the layer's ``channel`` of ``f(x₀)`` (None: all of it).
        """
        doc, image = self.document, self._source_image()
        model = doc.layer.model
        if (model is None and not self.chain) or image is None:
            return None
        params = doc.params
        request = PrefixRequest(
            model,
            image.pixels,
            reg=params.reg,
            rtol=params.rtol,
            methods=FIRST_METHODS,
            chain=doc.layers[: doc.selected + 1] if model is None else (),
            channel=params.channel,
        )
        request = replace(request, **solve)
        kept = self.result if _keep_solve and not solve else None
        self._kept = kept if kept is not None and "pinv" in kept.images else None
        self.solved = False
        self.panels.clear_field()
        rid = self.runner.submit(prefix_job(request))
        self._phase = {rid: "first"}
        self._request = request
        name = f"layer {doc.selected + 1}" if model is None else model.layer
        self._say(f"Computing the network up to {name}…")
        return rid

    def cancel(self) -> None:
        """Stop the running request (the J⁺ solve: the first panels stay)."""
        self.runner.cancel()

    def _solve(self, first: PrefixResult) -> int:
        request = replace(self._request, methods=SOLVE_METHODS)
        rid = self.runner.submit(prefix_job(request, first))
        self._phase[rid] = "solve"
        self.progress.start(request)
        self._pending("computing J⁺…")
        return rid

    def _on_result(self, rid: int, value: object) -> None:
        assert isinstance(value, PrefixResult)
        if self._phase.get(rid) == "first":
            self.result = value
            self.panels.show_result(value)
            self.bar.chain.setText(f"J = {chain_text(value.network)}")
            if self._kept is not None:
                self._merge(self._kept)
            else:
                self._solve(value)
            shape = value.forward_output.shape  # a first field to look at: the centre unit
            self.show_unit(shape[0] // 2, shape[1] // 2, self.panels.channel)
        else:
            self._merge(value)
        self.resultShown.emit(self.result)

    def _merge(self, solved: PrefixResult) -> None:
        """Draw the J⁺ panels of ``solved`` beside the first request's."""
        base = self.result if self.result is not None else solved
        self.result = replace(
            base,
            images={**base.images, **{k: solved.images[k] for k in _SOLVED if k in solved.images}},
            solver=solved.solver,
            metrics={**base.metrics, **solved.metrics},
        )
        self.panels.show_result(self.result)
        self.solved = True
        self.progress.setVisible(False)
        self._say(summary(self.result, self._request.rtol))

    def _on_progress(self, rid: int, value: object) -> None:
        if self._phase.get(rid) == "solve" and isinstance(value, tuple):
            iteration, residual = int(value[0]), float(value[1])
            self.progress.report(iteration, residual)
            self._pending(f"computing J⁺… iteration {iteration}, residual {residual:.1g}")

    def _pending(self, text: str | None) -> None:
        """The J⁺ panels' placeholder while their solve runs (None: none)."""
        for key in _SOLVED_PANELS:
            self.panels.panel(key).set_pending(text)

    def _on_cancelled(self, rid: int) -> None:
        self.progress.setVisible(False)
        self._pending(None)
        self.solved = True
        if self._phase.get(rid) == "solve":
            self._say("J⁺ cancelled: its panels are empty (switch again to solve)")

    def _on_failed(self, _rid: int, text: str) -> None:
        self.progress.setVisible(False)
        self._pending(None)
        self.solved = True
        self._say(f"Could not compute the network up to the layer: {text}", True)

    def _say(self, text: str, error: bool = False) -> None:
        self._said = text
        self._state.notify(text, error)

    # -- the receptive field of a unit -------------------------------------------------------
    def show_unit(self, row: int, col: int, channel: int) -> int | None:
        """Compute and show ``Jᵀ e`` of output unit ``(row, col, channel)``; the request id."""
        result = self.result
        if result is None:
            return None
        unit = (int(row), int(col), int(channel))

        def job(_cancel: threading.Event, _progress: object) -> tuple:
            field = effective_field(result.network, result.image, unit)
            return unit, field, field_rect(result.network, unit[0], unit[1])

        return self.field_runner.submit(job)

    def _clicked(self, row: int, col: int, channel: int) -> None:
        self.show_unit(row, col, channel)

    def _on_field(self, _rid: int, value: object) -> None:
        assert isinstance(value, tuple)
        unit, array, rect = value
        self.field = array
        self.panels.show_field(unit, array, rect)

    def shutdown(self) -> None:
        """Cancel and wait for both runners (the window is closing)."""
        self.runner.shutdown()
        self.field_runner.shutdown()


def _chain_words(selected: int, through: bool) -> str:
    """What the window studies of a network built by hand (before ``J``'s chain is known)."""
    if through:
        return f"layers 1–{selected + 1} of the network built by hand"
    if selected == 0:
        return "layer 1 of the network built by hand, alone on the image"
    before = "layer 1" if selected == 1 else f"layers 1–{selected}"
    return f"layer {selected + 1} alone, on what {before} make of the image (its input x)"


def _filter_words(doc: Document, showing: bool) -> tuple[str, bool]:
    """The dock's note on the filter of the layer under study, and whether it is
    read-only: see :attr:`NetworkView.layerStudied`."""
    model = doc.layer.model
    if not showing:
        return "", False
    if model is not None:
        return (
            f"Read-only: the network up to here runs {Path(model.path).name} as saved. "
            f"Choose “this layer alone” to edit {model.layer}.",
            True,
        )
    return f"Layer {doc.selected + 1} of the network: edits change the network up to here.", False
