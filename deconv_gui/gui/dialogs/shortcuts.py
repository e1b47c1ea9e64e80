"""Help → Keyboard shortcuts: every shortcut of the window, read from its actions.

The list goes as the menus do: the menu bar's menus from left to right, each one's
actions from top to bottom (an action in two menus is listed in the first), then the
keys that are in no menu: the main window's own (:data:`OTHER_KEYS`), then those of its
other windows, under their title ("How it is computed window").
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence

from qtpy import QtCore, QtGui, QtWidgets

__all__ = ["OTHER_KEYS", "ShortcutsDialog", "shortcut_rows"]

#: The section of the main window's keys that are in no menu.
OTHER_KEYS = "Other keys"


def _plain(text: str) -> str:
    """A menu text without its ``&`` accelerator marks and trailing ellipsis."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()


def _keys(sequences: Sequence[QtGui.QKeySequence]) -> list[str]:
    """The key sequences as the user reads them (empty ones left out)."""
    native = QtGui.QKeySequence.SequenceFormat.NativeText
    return [text for text in (s.toString(native) for s in sequences) if text]


def _menu_actions(menu: QtWidgets.QMenu) -> Iterator[QtWidgets.QAction]:
    """The actions of ``menu`` from top to bottom, a submenu's in its place."""
    for action in menu.actions():
        submenu = action.menu()
        if submenu is not None:
            yield from _menu_actions(submenu)
        elif not action.isSeparator():
            yield action


def _window_of(window: QtWidgets.QMainWindow, owner: QtCore.QObject | None) -> QtWidgets.QWidget:
    """The window whose keys ``owner``'s are: ``window`` or another (the steps window)."""
    top = owner.window() if isinstance(owner, QtWidgets.QWidget) else None
    return top or window


def shortcut_rows(window: QtWidgets.QMainWindow) -> list[tuple[str, str, str]]:
    """``(section, keys, what it does)`` for every action and shortcut of ``window`` with keys.

    In the order of the module's description; a section is a menu's title (``"File"``)
    or where keys in no menu work. ``keys`` joins an action's alternatives with " / "
    (``"Ctrl+Shift+Z / Ctrl+Y"``). Read from the live actions, so the list cannot drift
    from what the keys do. A ``QShortcut`` without an action is listed when its
    ``whatsThis`` says what it does. Keys are listed once in the window they work in.
    """
    bar = window.menuBar()
    menus = [a.menu() for a in (bar.actions() if bar is not None else [])]
    placed: list[tuple[str, QtWidgets.QWidget, QtWidgets.QAction]] = [
        (_plain(menu.title()), window, action)
        for menu in menus
        if menu is not None
        for action in _menu_actions(menu)
    ]
    in_menus = {id(action) for _title, _window, action in placed}
    found: list[tuple[str, QtWidgets.QWidget, list[str], str]] = []
    for action in window.findChildren(QtWidgets.QAction):
        if id(action) not in in_menus:
            placed.append(("", _window_of(window, action.parent()), action))
    for title, where, action in placed:
        # an action whose text changes (Undo names its step) says what it does
        what = action.whatsThis() or _plain(action.text())
        found.append((title, where, _keys(action.shortcuts()), what))
    for shortcut in window.findChildren(QtWidgets.QShortcut):
        if shortcut.whatsThis():
            where = _window_of(window, shortcut.parentWidget())
            found.append(("", where, _keys([shortcut.key()]), shortcut.whatsThis()))
    return _grouped(window, found)


def _grouped(
    window: QtWidgets.QMainWindow, found: list[tuple[str, QtWidgets.QWidget, list[str], str]]
) -> list[tuple[str, str, str]]:
    """The rows with keys, each section's together (in order of first appearance), each
    key once in the window it works in (the first row that has it keeps it); a row of no
    menu (title "") goes under :data:`OTHER_KEYS` or its window's title."""
    sections: dict[str, list[tuple[str, str, str]]] = {}
    taken: set[tuple[int, str]] = set()
    for title, where, keys, what in found:
        free = [key for key in keys if (id(where), key) not in taken]
        taken.update((id(where), key) for key in free)
        if not free:
            continue
        if not title:
            title = OTHER_KEYS if where is window else f"{_plain(where.windowTitle())} window"
        sections.setdefault(title, []).append((title, " / ".join(free), what))
    return [row for rows in sections.values() for row in rows]


def _table(rows: Sequence[tuple[str, str, str]]) -> str:
    """An HTML table of ``rows``: each section's title, then its keys and what they do."""
    cells: list[str] = []
    section = None
    for name, keys, what in rows:
        if name != section:
            section = name
            top = "0" if not cells else "10px"
            cells.append(
                f"<tr><td colspan='2' style='padding-top:{top}'><b>{html.escape(name)}</b>"
                "</td></tr>"
            )
        cells.append(
            f"<tr><td style='padding-left:10px; padding-right:16px'>{html.escape(keys)}</td>"
            f"<td>{html.escape(what)}</td></tr>"
        )
    return f"<table>{''.join(cells)}</table>"


def _columns(rows: list[tuple[str, str, str]]) -> list[list[tuple[str, str, str]]]:
    """``rows`` in two columns cut between sections near the middle (the list then fits a
    laptop screen), or one column when there is one section."""
    starts = [i for i in range(1, len(rows)) if rows[i][0] != rows[i - 1][0]]
    if not starts:
        return [rows]
    cut = min(starts, key=lambda i: abs(2 * i - len(rows)))
    return [rows[:cut], rows[cut:]]


class ShortcutsDialog(QtWidgets.QDialog):
    """The window's keyboard shortcuts by menu, in two columns (see :func:`shortcut_rows`)."""

    def __init__(self, window: QtWidgets.QMainWindow) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        self.rows = shortcut_rows(window)
        columns = QtWidgets.QHBoxLayout()
        columns.setSpacing(32)
        for column in _columns(self.rows):
            label = QtWidgets.QLabel(_table(column))
            label.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
            label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            columns.addWidget(label)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(columns)
        layout.addWidget(buttons)
