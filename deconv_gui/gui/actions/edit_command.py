"""One undo step: the window's document before and after an edit, merged by gesture.

An :class:`EditCommand` holds two :class:`~.snapshot.Snapshot` s; commands of the same
change key (:func:`~.snapshot.describe`) and the same gesture group merge into one step,
and a burst that ends where it started is no step at all. Undo and redo ask the
:class:`~.history.EditHistory` to show a snapshot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy import QtWidgets

from .snapshot import Snapshot, describe

if TYPE_CHECKING:
    from .history import EditHistory

__all__ = ["EditCommand"]

_MERGE_ID = 1405  # any id: Qt merges only commands of equal ids (and -1 never merges)


class EditCommand(QtWidgets.QUndoCommand):
    """One step: the state before and after an edit (or a merged burst of edits)."""

    def __init__(self, history: EditHistory, before: Snapshot, after: Snapshot) -> None:
        change = describe(before, after)
        super().__init__(change.text)
        self.history = history
        self.before = before
        self.after = after
        self.key = change.key
        #: the gesture or burst it belongs to: only commands of one group merge
        self.group: int | None = None
        self._pushed = False

    def id(self) -> int:
        return _MERGE_ID if self.key is not None else -1

    def mergeWith(self, other: QtWidgets.QUndoCommand | None) -> bool:
        if not isinstance(other, EditCommand) or other.key != self.key:
            return False
        if other.group is None or other.group != self.group:
            return False
        self.after = other.after
        if self.before == self.after:  # back where the burst started: no step at all
            self.setObsolete(True)
        else:
            self.setText(describe(self.before, self.after).text)
        return True

    def redo(self) -> None:
        if self._pushed:
            self.history.show(self.after, self._index() + 1)
        self._pushed = True  # QUndoStack.push calls redo: the state is already shown

    def undo(self) -> None:
        self.history.show(self.before, self._index())

    def _index(self) -> int:
        """This command's position on the stack (the index before it)."""
        stack = self.history.stack
        return next((i for i in range(stack.count()) if stack.command(i) is self), 0)
