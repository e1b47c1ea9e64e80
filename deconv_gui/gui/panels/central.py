"""The window's middle: the message bar over the image panels over the metrics strip."""

from __future__ import annotations

from qtpy import QtWidgets

from .grid import PanelGrid
from .message_bar import MessageBar
from .metrics import MetricsStrip

__all__ = ["CentralArea"]


class CentralArea(QtWidgets.QWidget):
    """The central widget.

    Attributes
    ----------
    message_bar : MessageBar
        Errors and notices, one line, above the panels.
    panels : PanelGrid
        The image panels (they take all the height left).
    metrics : MetricsStrip
        The metrics table below the panels.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        column = QtWidgets.QVBoxLayout(self)
        column.setContentsMargins(4, 4, 4, 0)
        column.setSpacing(4)
        self.message_bar = MessageBar()
        self.panels = PanelGrid()
        self.metrics = MetricsStrip()
        column.addWidget(self.message_bar)
        column.addWidget(self.panels, 1)
        column.addWidget(self.metrics)
