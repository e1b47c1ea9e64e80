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
thread, while every Python object it uses is still intact.
"""

from __future__ import annotations

from PyQt5 import QtCore, QtWidgets, sip

__all__ = ["delete_now"]


def delete_now(widget: QtWidgets.QWidget | None) -> None:
    """Close ``widget`` and delete its C++ object (and children) right now.

    Safe to call twice, or on a widget already deleted by Qt. Must run in the GUI
    thread. The Python wrapper stays usable for plain attributes; Qt methods raise
    ``RuntimeError`` afterwards.
    """
    if widget is None or sip.isdeleted(widget):
        return
    widget.close()  # closeEvent: stops timers and waits for background jobs
    if sip.isdeleted(widget):  # WA_DeleteOnClose, or deleted by a slot
        return
    widget.deleteLater()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.DeferredDelete)
