"""Edit → Undo, Redo and History…: the menu entries of the edit history."""

from __future__ import annotations

from qtpy import QtCore, QtGui, QtWidgets

from ..dialogs.history import HistoryDialog
from ..support.teardown import is_deleted
from .history import EditHistory

__all__ = ["STATUS_MS", "HistoryActions"]

#: How long the status bar says what Undo or Redo did, in milliseconds.
STATUS_MS = 6000


class HistoryActions(QtCore.QObject):
    """Edit → Undo, Redo and History…, each naming its step ("Undo stride 2 → 3").

    Parameters
    ----------
    history : EditHistory
        What the actions undo, redo and list.
    menu : QMenu or None
        The Edit menu: the actions go at its top.
    window : QWidget
        The main window (the actions' shortcuts work anywhere in it).

    Attributes
    ----------
    undo, redo, history : QAction
        The menu entries (Ctrl+Z, Ctrl+Shift+Z, Ctrl+H).
    dialog : HistoryDialog or None
        The history list, once opened.
    """

    def __init__(
        self, history: EditHistory, menu: QtWidgets.QMenu | None, window: QtWidgets.QWidget
    ) -> None:
        super().__init__(window)
        keys = QtGui.QKeySequence
        std = QtGui.QKeySequence.StandardKey
        self._stack = history.stack
        self._window = window
        self.dialog: HistoryDialog | None = None
        self.undo = QtWidgets.QAction("&Undo", window)
        self.undo.setShortcut(keys(std.Undo))
        self._history = history
        self.undo.triggered.connect(self._undo)
        self.redo = QtWidgets.QAction("&Redo", window)
        redo_keys = [keys("Ctrl+Shift+Z")]
        if keys(std.Redo) not in redo_keys and not keys(std.Redo).isEmpty():
            redo_keys.append(keys(std.Redo))
        self.redo.setShortcuts(redo_keys)
        self.redo.triggered.connect(self._redo)
        self.history = QtWidgets.QAction("&History…", window)
        self.history.setShortcut(keys("Ctrl+H"))
        self.history.triggered.connect(self.open_dialog)  # type: ignore[arg-type]  # result unused
        self.undo.setWhatsThis("Undo the last edit")
        self.redo.setWhatsThis("Redo the undone edit")
        for action, tip in (
            (self.undo, "Go back one edit: filter, preset, geometry, options or image"),
            (self.redo, "Do the undone edit again"),
            (self.history, "Every edit in a list; click one to go back to it (Ctrl+H)"),
        ):
            action.setStatusTip(tip)
            action.setToolTip(tip)
        self._stack.indexChanged.connect(self._update)
        self._update()
        if menu is not None:
            self.add_to(menu)

    def add_to(self, menu: QtWidgets.QMenu) -> None:
        """Put the three actions at the top of ``menu``, then a separator."""
        first = menu.actions()[0] if menu.actions() else None
        for action in (self.undo, self.redo, self.history):
            menu.insertAction(first, action)
        menu.insertSeparator(first)

    def open_dialog(self) -> HistoryDialog:
        """Show the history list (one per window), in front."""
        if self.dialog is None:
            self.dialog = HistoryDialog(self._stack, self._window)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    def _undo(self) -> None:
        before = self._stack.index()
        self._history.undo()
        moved = self._stack.index() != before
        self._say(f"Undone: {self._stack.redoText()}" if moved else "Nothing to undo")

    def _redo(self) -> None:
        before = self._stack.index()
        self._history.redo()
        moved = self._stack.index() != before
        self._say(f"Redone: {self._stack.undoText()}" if moved else "Nothing to redo")

    def _say(self, text: str) -> None:
        """Undo and redo say in the status bar what they did (the panels change quietly)."""
        status = getattr(self._window, "statusBar", None)
        bar = status() if callable(status) else None
        if isinstance(bar, QtWidgets.QStatusBar):
            bar.showMessage(text, STATUS_MS)

    def _update(self) -> None:
        stack = self._stack
        if is_deleted(stack) or is_deleted(self.undo):  # the window is going away
            return
        for action, verb, text, can in (
            (self.undo, "Undo", stack.undoText(), stack.canUndo()),
            (self.redo, "Redo", stack.redoText(), stack.canRedo()),
        ):
            action.setText(f"&{verb} {text.replace('&', '&&')}" if text else f"&{verb}")
            action.setEnabled(can)
            shortcut = action.shortcut().toString(QtGui.QKeySequence.SequenceFormat.NativeText)
            tip = f"{verb} {text} ({shortcut})" if text else f"Nothing to {verb.lower()}"
            action.setToolTip(tip)
