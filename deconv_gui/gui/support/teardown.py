"""Deterministic teardown of windows that hold pyqtgraph scenes.

A top-level window created from Python is owned by its Python wrapper. If nothing
deletes it explicitly, the C++ widget tree is destroyed whenever Python's cyclic
garbage collector frees that wrapper: at an arbitrary allocation, possibly in a
worker thread (the pipeline's pool threads run Python too), and *after* the
collector has cleared every weak reference into the garbage. pyqtgraph items keep
their ``ViewBox`` as a weak reference, so their ``boundingRect`` overrides, called
by Qt while it takes the scene apart, then fail (``getViewBox()`` is None) and Qt
continues with an invalid rectangle and a half-removed item: a later
``QGraphicsScene::itemsBoundingRect`` dereferences freed memory.

:func:`delete_now` closes a widget and destroys its C++ tree immediately, in the GUI
thread, while every Python object it uses is still intact. :func:`run_once` runs a
modal dialog made for one answer, then deletes it.
"""

from __future__ import annotations

from qtpy import PYQT5, PYQT6, QtCore, QtWidgets
from qtpy.compat import isalive

__all__ = ["delete_now", "give_to_qt", "is_deleted", "run_once"]

#: Windows handed to Qt under PySide, which has no ownership transfer: a reference held
#: here until Qt destroys the window keeps the collector from tearing it down.
_OWNED_BY_QT: set[QtCore.QObject] = set()


def is_deleted(obj: QtCore.QObject) -> bool:
    """Whether the C++ object behind ``obj`` is gone (the Python wrapper may remain)."""
    return not isalive(obj)


def give_to_qt(obj: QtCore.QObject) -> None:
    """Let Qt, not Python's garbage collector, own ``obj`` (a top-level window).

    Qt then destroys it (``deleteLater`` on close, in the GUI thread) and the wrapper
    stays alive while the C++ object lives.
    """
    if PYQT5 or PYQT6:
        from qtpy import sip

        sip.transferto(obj, None)  # type: ignore[arg-type]  # None: to C++, as sip documents
        return
    _OWNED_BY_QT.add(obj)
    obj.destroyed.connect(lambda *_: _OWNED_BY_QT.discard(obj))


def delete_now(widget: QtWidgets.QWidget | None) -> None:
    """Close ``widget`` and delete its C++ object (and children) right now.

    Safe to call twice, or on a widget already deleted by Qt. Must run in the GUI
    thread. The Python wrapper stays usable for plain attributes; Qt methods raise
    ``RuntimeError`` afterwards.
    """
    if widget is None or is_deleted(widget):
        return
    widget.close()  # closeEvent: stops timers and waits for background jobs
    if is_deleted(widget):  # WA_DeleteOnClose, or deleted by a slot
        return
    widget.deleteLater()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)


def run_once(dialog: QtWidgets.QDialog) -> int:
    """``dialog.exec()``, then delete the dialog (made for this one answer).

    A dialog with a parent otherwise stays one of its windows until the parent goes (or
    until the collector frees a wrapper held in a cycle): one more each time it is
    opened, and Qt sends every palette change to each.

    Examples
    --------
    >>> from qtpy import QtCore, QtWidgets
    >>> app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    >>> parent = QtWidgets.QWidget()
    >>> dialog = QtWidgets.QDialog(parent)
    >>> QtCore.QTimer.singleShot(0, dialog.reject)
    >>> run_once(dialog)
    0
    >>> QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    >>> is_deleted(dialog), parent.findChildren(QtWidgets.QDialog)
    (True, [])
    """
    try:
        return dialog.exec()
    finally:
        dialog.deleteLater()
