"""An area of image panels placed by one rule: the layer alone's grid and the network's panels.

:class:`ArrangedPanels` puts its panels where
:func:`~deconv_gui.view.arrangement.arrange_panels` says for the View menu's layout, the
area's size and the picture's shape, again whenever one of them changes, and says what the
user should be told about it (a row too narrow for its panels wraps). The layer alone's
:class:`~.grid.PanelGrid` and the network's
:class:`~deconv_gui.gui.network.panels.NetworkPanels` are such areas, so their panels move
alike.
"""

from __future__ import annotations

from collections.abc import Mapping

from qtpy import QtCore, QtGui, QtWidgets

from ...core.choices import check_choice
from ...view.arrangement import Arrangement, arrange_panels
from .image_panel import ImagePanel

__all__ = ["PANEL_FRAME", "ArrangedPanels", "place_panels"]

#: What a panel keeps from the picture: margins and levels bar; title and subtitle.
PANEL_FRAME = (60.0, 90.0)


def place_panels(
    grid: QtWidgets.QGridLayout,
    panels: Mapping[str, QtWidgets.QWidget],
    arrangement: Arrangement,
) -> None:
    """Put ``panels`` in ``grid`` where ``arrangement`` says, every used row and column
    stretched alike (the network's panels are placed by the same rule as these)."""
    for panel in panels.values():
        grid.removeWidget(panel)
    for i in range(grid.columnCount()):
        grid.setColumnStretch(i, 0)
    for i in range(grid.rowCount()):
        grid.setRowStretch(i, 0)
    for name, row, col, span in arrangement.cells:
        grid.addWidget(panels[name], row, col, 1, span)
        grid.setRowStretch(row, 1)
    for col in range(arrangement.columns):
        grid.setColumnStretch(col, 1)


class ArrangedPanels(QtWidgets.QWidget):
    """Image panels in a grid layout, placed as the View menu's layout asks; see the module.

    A subclass fills :attr:`panels`, names the grid layout's groups (its class attributes
    :attr:`reconstruction_panels` and :attr:`insight_panels`) and says which panels are
    placed (:meth:`arranged_names`) and the shape of the picture drawn (:meth:`picture_shape`).

    Signals
    -------
    arranged(str)
        The panels moved: what the user is told about it ("" unless one row wrapped).
    """

    arranged = QtCore.Signal(str)
    #: The grid layout's second row: the panels of what comes back (the reconstructions).
    reconstruction_panels: tuple[str, ...] = ()
    #: The grid layout's third row: the panels of what is lost.
    insight_panels: tuple[str, ...] = ()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.panels: dict[str, ImagePanel] = {}
        self.layout_mode = "grid"
        self.arrangement: Arrangement | None = None
        self._grid = QtWidgets.QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(4)

    def arranged_names(self) -> list[str]:
        """The panels placed, in reading order: every one."""
        return list(self.panels)

    def picture_shape(self) -> tuple[int, int]:
        """The shape of the picture drawn, which decides between wide and tall cells."""
        return (1, 1)

    def set_layout_mode(self, mode: str) -> None:
        """``"grid"`` (input and forward output on top, what comes back below, what is lost
        in a third row) or ``"row"`` (one row, wrapped when too narrow)."""
        self.layout_mode = check_choice("layout mode", mode, ("grid", "row"))
        self._arrange()

    def _arrange(self) -> None:
        """Place the panels as the layout asks, at the area's size (one row wraps when too
        narrow: :func:`~deconv_gui.view.arrangement.arrange_panels`)."""
        laid_out = self.width() > 1 and self.isVisible()
        arrangement = arrange_panels(
            self.arranged_names(), self.layout_mode,
            reconstructions=self.reconstruction_panels, insight=self.insight_panels,
            size=(self.width(), self.height()) if laid_out else None,
            picture=self.picture_shape(), frame=PANEL_FRAME,
        )  # fmt: skip
        if arrangement == self.arrangement and self._grid.count():
            return
        self.arrangement = arrangement
        place_panels(self._grid, self.panels, arrangement)
        self.arranged.emit(arrangement.note)

    def resizeEvent(self, event: QtGui.QResizeEvent | None) -> None:
        """A narrower or wider area may place the panels otherwise (one row wraps, or
        unwraps, as the room for it changes)."""
        super().resizeEvent(event)
        self._arrange()
