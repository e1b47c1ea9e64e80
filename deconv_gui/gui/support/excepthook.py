"""A ``sys.excepthook`` that logs an uncaught exception and shows it; the app keeps running.

PyQt aborts the process when a slot raises and the default hook is in place; with
this hook the error is logged, shown in a (non-modal) message box, and the event loop
goes on.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from types import TracebackType

from qtpy import QtCore, QtWidgets

__all__ = ["install_excepthook", "show_exception"]

log = logging.getLogger("deconv_gui")
_boxes: list[QtWidgets.QMessageBox] = []  # keep non-modal boxes alive


def show_exception(
    exc_type: type[BaseException],
    exc: BaseException,
    tb: TracebackType | None,
    parent: QtWidgets.QWidget | None = None,
) -> QtWidgets.QMessageBox | None:
    """Log the exception and show a non-modal message box (when a QApplication exists)."""
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    log.error("uncaught exception:\n%s", text)
    if QtWidgets.QApplication.instance() is None:
        return None
    box = QtWidgets.QMessageBox(parent)
    box.setIcon(QtWidgets.QMessageBox.Icon.Warning)
    box.setWindowTitle("Unexpected error")
    box.setText(f"Something went wrong: {exc_type.__name__}: {exc}")
    box.setInformativeText("The window keeps its previous state. Details are in the log.")
    box.setDetailedText(text)
    box.setModal(False)
    # deleted once closed: a child of the window would otherwise stay one of its windows
    box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    box.finished.connect(lambda _=0, b=box: _boxes.remove(b) if b in _boxes else None)
    _boxes.append(box)
    box.show()
    return box


def install_excepthook(
    parent: Callable[[], QtWidgets.QWidget | None] | None = None,
) -> Callable[..., None]:
    """Replace ``sys.excepthook``; returns the previous hook.

    Parameters
    ----------
    parent : callable, optional
        Returns the widget the message box belongs to (the main window).
    """
    previous = sys.excepthook

    def hook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        try:
            show_exception(exc_type, exc, tb, parent() if parent else None)
        except Exception:  # the hook itself must never raise
            previous(exc_type, exc, tb)

    sys.excepthook = hook
    return previous
