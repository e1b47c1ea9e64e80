"""The window's "network up to here" mode: the chain up to the layer (a model's, or the
network built by hand) as ``J`` at the image (:mod:`.view` the switch and the requests,
:mod:`.bar` the switch's strip, :mod:`.panels` what is drawn, :mod:`.jobs` the Qt-free
computations).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from qtpy import QtWidgets

from ...document import ModelSource
from ...io import LoadedImage
from ..panels.central import CentralArea
from ..state import AppState
from .bar import NetworkBar
from .panels import NetworkPanels
from .view import FROZEN_GEOMETRY, NetworkView

__all__ = ["Listing", "NetworkBar", "NetworkPanels", "NetworkView", "install_network_view"]


class Listing(Protocol):
    """The dock's listing of a model file's layers, as the switch reads it."""

    listed: Any  # a signal: a listing arrived (or failed)

    @property
    def refusal(self) -> tuple[ModelSource | None, str]:
        """The model layer listed, and why its network up to it cannot be read."""
        ...


def install_network_view(
    window: QtWidgets.QMainWindow,
    state: AppState,
    source_image: Callable[[], LoadedImage | None],
    as_one_step: Callable[[str], AbstractContextManager[Any]],
    action: QtWidgets.QAction | None = None,
    *,
    state_label: QtWidgets.QWidget | None = None,
    listing: Listing | None = None,
    hide_alone: Callable[[bool], None] | None = None,
    display: Any = None,
    layer_forms: tuple[Any, Any] | None = None,
) -> NetworkView:
    """Put the switch above the panels, the network's panels beside them (one shown at a
    time) and the J⁺ progress in the status bar of ``window`` (``action``: the menu's
    check of the switch).

    ``state_label``, the status bar's report of the layer alone's solve, hides while the
    network's panels (which have their own progress) show, and ``hide_alone(True)`` stops
    the layer alone's computation for its hidden panels (``False``: they show again).
    The network's panels are arranged as the document's display layout says.
    ``listing``, the dock's list of a model file's layers, turns the switch off when the
    file's network up to the layer is not a chain it can run. ``display``, the window's
    :class:`~deconv_gui.gui.actions.display.DisplayMirror`, is told which panels show: its
    One row action says when theirs is wrapped. ``layer_forms``, the dock's filter and
    geometry editors, say what the layer is in the network shown, and are read-only
    where it runs a model file's own layers.
    """
    central = window.centralWidget()
    if not isinstance(central, CentralArea):
        raise TypeError("the window's central widget must be its CentralArea")
    view = NetworkView(state, source_image, as_one_step, window, action)
    column = central.layout()
    assert isinstance(column, QtWidgets.QVBoxLayout)
    column.insertWidget(column.indexOf(central.panels), view.bar)
    column.insertWidget(column.indexOf(central.panels) + 1, view.panels, 1)
    # while a network is studied, computations come and go: their message keeps its place
    view.bar.shownChanged.connect(central.message_bar.reserve)
    central.message_bar.reserve(view.bar.isVisibleTo(central))
    bar = window.statusBar()
    if bar is not None:
        bar.addPermanentWidget(view.progress)

    def show_mode(through: bool) -> None:
        central.panels.setVisible(not through)
        central.metrics.setVisible(not through)
        if state_label is not None:
            state_label.setVisible(not through)
        if hide_alone is not None:
            hide_alone(through)
        if display is not None:
            display.show_panels(view.panels if through else central.panels)

    if display is not None:
        display.watch(view.panels)
    view.modeChanged.connect(show_mode)
    # the View menu's layout is the user's for every panel, the network's too
    document = state.document
    view.panels.set_layout_mode(document.display.layout)
    document.events.display.connect(lambda display: view.panels.set_layout_mode(display.layout))
    if listing is not None:
        listing.listed.connect(lambda: view.refuse(*listing.refusal))
    if layer_forms is not None:
        filter_form, geometry_form = layer_forms
        view.layerStudied.connect(filter_form.set_study_note)
        view.layerStudied.connect(
            lambda _note, frozen: geometry_form.set_read_only(FROZEN_GEOMETRY if frozen else "")
        )
    return view
