"""Small typed helpers over Qt: one-call timers, quiet updates, and Qt's nullable returns
made explicit.

Qt's type stubs mark every returned pointer as possibly null (``QMainWindow.menuBar()``,
``QTableWidget.item()``); :func:`nonnull` states where the window's own structure
guarantees an object, and fails loudly where it does not.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from qtpy import PYQT6, PYSIDE6, QtCore

if PYQT6 or PYSIDE6:  # moved from QtWidgets in Qt 6 (qtpy maps QUndoCommand, not this)
    from qtpy.QtGui import QUndoStack
else:
    from qtpy.QtWidgets import QUndoStack

__all__ = ["QUndoStack", "make_timer", "nonnull", "signals_blocked"]

T = TypeVar("T")


def make_timer(
    parent: QtCore.QObject, interval_ms: int, *, single_shot: bool = False
) -> QtCore.QTimer:
    """A stopped ``QTimer`` owned by ``parent``, firing every ``interval_ms`` (or once).

    Examples
    --------
    >>> from qtpy import QtCore
    >>> owner = QtCore.QObject()
    >>> timer = make_timer(owner, 250, single_shot=True)
    >>> timer.interval(), timer.isSingleShot(), timer.isActive()
    (250, True, False)
    """
    timer = QtCore.QTimer(parent)
    timer.setInterval(interval_ms)
    timer.setSingleShot(single_shot)
    return timer


def nonnull(obj: T | None, what: str = "Qt object") -> T:
    """``obj``, which Qt may type as nullable but the caller knows exists.

    Raises
    ------
    RuntimeError
        If ``obj`` is None (a null pointer from Qt).

    Examples
    --------
    >>> nonnull(3)
    3
    >>> nonnull(None, "menu bar")
    Traceback (most recent call last):
    ...
    RuntimeError: Qt returned no menu bar
    """
    if obj is None:
        raise RuntimeError(f"Qt returned no {what}")
    return obj


@contextmanager
def signals_blocked(*objects: QtCore.QObject) -> Iterator[None]:
    """Show values in ``objects`` without their signals; each is left as blocked as it was.

    Examples
    --------
    >>> from qtpy import QtCore
    >>> timer = QtCore.QTimer()
    >>> with signals_blocked(timer):
    ...     timer.signalsBlocked()
    True
    >>> timer.signalsBlocked()
    False
    """
    before = [obj.blockSignals(True) for obj in objects]
    try:
        yield
    finally:
        for obj, was in zip(objects, before, strict=True):
            obj.blockSignals(was)
