"""The mouse wheel scrolls the dock: it changes an input only once the user has clicked it.

Scrolling a long column of controls passes inputs under the pointer; Qt's default lets
each of them take the wheel (a combo box steps zeros → reflect → replicate on the way,
each an undo step the user never made). Here an input takes focus by a click or Tab
only, and the wheel over an input without focus scrolls the column instead.
"""

from __future__ import annotations

from qtpy import QtCore, QtWidgets

__all__ = ["WheelGuard", "guarded"]


def guarded(widget: QtWidgets.QWidget) -> bool:
    """Inputs whose value the wheel would change: combo and spin boxes, sliders."""
    if isinstance(widget, QtWidgets.QScrollBar):
        return False
    return isinstance(
        widget, (QtWidgets.QComboBox, QtWidgets.QAbstractSpinBox, QtWidgets.QAbstractSlider)
    )


class WheelGuard(QtCore.QObject):
    """Sends the wheel over an unfocused input of :meth:`watch`'s widget to ``area``."""

    def __init__(self, area: QtWidgets.QAbstractScrollArea) -> None:
        super().__init__(area)
        self.area = area

    def watch(self, root: QtWidgets.QWidget) -> None:
        """Guard every input inside ``root`` (focus by click or Tab, not by the wheel)."""
        for child in root.findChildren(QtWidgets.QWidget):
            if guarded(child):
                child.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
                child.installEventFilter(self)

    def eventFilter(self, watched: QtCore.QObject | None, event: QtCore.QEvent | None) -> bool:
        if (
            event is not None
            and event.type() == QtCore.QEvent.Type.Wheel
            and isinstance(watched, QtWidgets.QWidget)
            and not watched.hasFocus()
        ):
            bar = self.area.verticalScrollBar()
            if bar is not None:
                QtWidgets.QApplication.sendEvent(bar, event)
            return True  # the input keeps its value
        return super().eventFilter(watched, event)
