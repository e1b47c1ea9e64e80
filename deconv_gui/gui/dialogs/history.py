"""Edit → History: every undo step in a list; clicking one goes back (or forward) to it."""

from __future__ import annotations

from qtpy import QtCore, QtWidgets

from ..support.qthelp import QUndoStack

__all__ = ["HistoryDialog"]


class HistoryDialog(QtWidgets.QDialog):
    """A small, non-modal window with the ``QUndoView`` of ``stack``.

    Parameters
    ----------
    stack : QUndoStack
        The window's edit history.
    parent : QWidget, optional
        The window (the dialog stays on top of it).
    """

    def __init__(self, stack: QUndoStack, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("history_dialog")
        self.setWindowTitle("Edit history")
        self.setWindowFlag(QtCore.Qt.WindowType.WindowContextHelpButtonHint, False)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        hint = QtWidgets.QLabel(
            "Every edit, oldest first. Click a step to go back to it (the later ones stay "
            "until the next edit); Ctrl+Z and Ctrl+Shift+Z step through them."
        )
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.view = QtWidgets.QUndoView(stack)
        self.view.setEmptyLabel("start (as the window opened)")
        self.view.setToolTip("Click a step to show the window as it was after it")
        self.view.setAlternatingRowColors(True)
        layout.addWidget(self.view, 1)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)  # type: ignore[arg-type]  # close()'s bool is unused
        layout.addWidget(buttons)
        self.resize(340, 420)
