"""Help → Keyboard shortcuts: every shortcut of the window, read from its actions."""

from __future__ import annotations

import html

from qtpy import QtCore, QtGui, QtWidgets

__all__ = ["ShortcutsDialog", "shortcut_rows"]


def _plain(text: str) -> str:
    """A menu text without its ``&`` accelerator marks and trailing ellipsis."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()


def shortcut_rows(window: QtWidgets.QWidget) -> list[tuple[str, str]]:
    """``(keys, what it does)`` for every action and shortcut of ``window`` that has keys.

    Read from the live actions, so the list cannot drift from what the keys do. A
    ``QShortcut`` without an action is listed when its ``whatsThis`` says what it does.
    """
    rows: dict[str, str] = {}
    for action in window.findChildren(QtWidgets.QAction):
        for sequence in action.shortcuts():
            keys = sequence.toString(QtGui.QKeySequence.SequenceFormat.NativeText)
            if keys and keys not in rows:
                # an action whose text changes (Undo names its step) says what it does
                rows[keys] = action.whatsThis() or _plain(action.text())
    for shortcut in window.findChildren(QtWidgets.QShortcut):
        keys = shortcut.key().toString(QtGui.QKeySequence.SequenceFormat.NativeText)
        if keys and shortcut.whatsThis() and keys not in rows:
            rows[keys] = shortcut.whatsThis()
    return sorted(rows.items(), key=lambda row: (len(row[0]), row[0]))


class ShortcutsDialog(QtWidgets.QDialog):
    """A two-column table of the window's keyboard shortcuts."""

    def __init__(self, window: QtWidgets.QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        self.rows = shortcut_rows(window)
        cells = "".join(
            f"<tr><td style='padding-right:16px'><b>{html.escape(keys)}</b></td>"
            f"<td>{html.escape(text)}</td></tr>"
            for keys, text in self.rows
        )
        label = QtWidgets.QLabel(f"<table>{cells}</table>")
        label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(buttons)
