"""The left dock: the control sections in one scrolling column."""

from __future__ import annotations

from qtpy import QtCore, QtWidgets

from ..support.qthelp import nonnull
from .filter_editor import FilterEditor
from .forms import ParamsForms
from .geometry import GeometryEditor
from .image import ImageControls
from .layers import LayersPanel
from .recon_options import ReconOptions
from .wheel import WheelGuard

__all__ = ["ControlsDock"]


class ControlsDock(QtWidgets.QDockWidget):
    """Image, network, filter, geometry, reconstruction options and the priors, top to bottom.

    Attributes
    ----------
    image_controls : ImageControls
    layers_panel : LayersPanel
        The layers applied to the image (the filter and geometry below are the studied one's).
    filter_editor : FilterEditor
    geometry_editor : GeometryEditor
    recon_options : ReconOptions
    params_forms : ParamsForms
        The filter, geometry and options forms read and shown as one ``Params``.
    scroll_area : QScrollArea
        The scrolling column; the wheel over an input without focus scrolls it.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Controls", parent)
        self.setObjectName("controls_dock")
        self.image_controls = ImageControls()
        self.layers_panel = LayersPanel()
        self.filter_editor = FilterEditor()
        self.geometry_editor = GeometryEditor()
        self.recon_options = ReconOptions()
        self.params_forms = ParamsForms(
            self.filter_editor, self.geometry_editor, self.recon_options
        )
        holder = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(holder)
        column.setContentsMargins(4, 4, 4, 4)
        for widget in (
            self.image_controls,
            self.layers_panel,
            self.filter_editor,
            self.geometry_editor,
            self.recon_options,
            self.recon_options.priors,
        ):
            # never squeezed below their natural height: the dock scrolls instead
            policy = widget.sizePolicy()
            policy.setVerticalPolicy(QtWidgets.QSizePolicy.Policy.Minimum)
            widget.setSizePolicy(policy)
            column.addWidget(widget)
        column.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(holder.sizeHint().width() + 24)
        self.setWidget(scroll)
        self.scroll_area = scroll
        # the wheel scrolls the column; it changes an input only once clicked
        self.wheel_guard = WheelGuard(scroll)
        self.wheel_guard.watch(holder)
        # closable: Qt disables the View menu's "Show controls" for a dock that is not,
        # and hiding the controls is how the panels get the whole window
        features = (
            QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.setFeatures(features)  # type: ignore[arg-type]  # PyQt5 stubs: flag | flag is int
        toggle = nonnull(self.toggleViewAction())
        toggle.setText("Show &controls")
        toggle.setToolTip("Show or hide the Controls dock (hidden, the panels get its room)")
