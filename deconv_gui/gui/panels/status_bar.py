"""The window's status bar: the cursor read-out, what the computation does, the export folder."""

from __future__ import annotations

from pathlib import Path

from qtpy import QtCore, QtGui, QtWidgets

from ...core import Result
from ...view.readout import format_readout
from ..support.elided import ElidedLabel
from .grid import PanelGrid

__all__ = ["StatusWidgets"]


class StatusWidgets(QtCore.QObject):
    """The widgets of the status bar, added to ``bar``; the read-out follows the mouse
    over ``panels`` (what they show: a partial result too).

    Attributes
    ----------
    readout : ElidedLabel
        The value under the cursor in every panel (and the last message), ending in "…"
        where it does not fit (the whole text is then its tooltip).
    state_label : QLabel
        What the computation is doing ("computing…", "ready", …).
    open_folder_button : QToolButton
        Opens the last export folder; hidden until something was exported.
    """

    def __init__(self, bar: QtWidgets.QStatusBar, panels: PanelGrid) -> None:
        super().__init__(bar)
        self._panels = panels
        # elided with "…" (the whole text in its tooltip) where a long message does not fit
        self.readout = ElidedLabel("Move the mouse over a panel to read the values")
        self.readout.setObjectName("readout")
        # a long read-out is clipped, never widens the window past a laptop screen
        self.readout.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        self.readout.setToolTip(
            "The value at the corresponding pixel of every panel: x = column, y = row of "
            "the input; y[row, col] indexes the forward output"
        )
        self.state_label = QtWidgets.QLabel("starting…")
        self.state_label.setToolTip("What the computation is doing")
        self._folder: Path | None = None
        self._hover: tuple[str, int, int, int] | None = None
        self._load_note = ""
        self.open_folder_button = QtWidgets.QToolButton()
        self.open_folder_button.setText("Open export folder…")
        self.open_folder_button.setVisible(False)
        self.open_folder_button.clicked.connect(self._open_folder)
        bar.addWidget(self.readout, 1)
        bar.addPermanentWidget(self.open_folder_button)
        bar.addPermanentWidget(self.state_label)
        panels.hovered.connect(
            lambda panel, row, col, tile: self.show_values_at(panels.result, panel, row, col, tile)
        )

    def show_values_at(
        self, result: Result | None, panel: str, row: int, col: int, tile: int = -1
    ) -> None:
        """The read-out of every panel at the pixel hovered in ``panel`` (row < 0: left;
        ``tile``: the channel of the montage tile hovered, -1 none): ``y`` at the forward
        panel's channel, a deep image side at its montage's first channel, unless the
        mouse is over a tile (:func:`~deconv_gui.view.readout.format_readout`)."""
        if row < 0 or result is None:
            return
        self._hover = (panel, row, col, tile)
        channel, inputs = self._panels.forward_channel, self._panels.tiles[0]
        try:
            text = format_readout(result, panel, row, col, channel, tile, (*inputs, 0)[0])
        except (IndexError, ValueError):
            return
        self.readout.setText(text)

    def note_next_load(self, text: str) -> None:
        """Keep ``text`` before the next image's "Loaded …" line: why the window opened
        that image (the remembered model study could not run again), which the line
        would otherwise replace at once."""
        self._load_note = text

    def show_loaded(self, text: str) -> None:
        """Show the "Loaded …" line of an image, after the note kept for it, if any."""
        note, self._load_note = self._load_note, ""
        self.readout.setText(f"{note} — {text}" if note else text)

    def refresh_values(self, result: Result) -> None:
        """Read the last hovered pixel again in a new result."""
        if self._hover is not None:
            self.show_values_at(result, *self._hover)

    def offer_open_folder(self, folder: Path) -> None:
        """Show the "Open folder" button for ``folder``."""
        self._folder = Path(folder)
        self.open_folder_button.setToolTip(f"Open {folder} in the file manager")
        self.open_folder_button.setVisible(True)

    def _open_folder(self) -> None:
        if self._folder is not None:
            QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(self._folder)))
