"""The mouse wheel over the Controls dock scrolls it: an input changes only once clicked.

Offscreen, with wheel events as the mouse sends them: over every combo box, spin box
and slider of the dock, without focus, the value and the undo history stay as they
were and the dock scrolls; a clicked (focused) input takes the wheel as usual.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore, QtGui, QtWidgets

from deconv_gui.gui.controls.wheel import guarded
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 60_000  # ms; generous because the 2 CPU cores are shared


@pytest.fixture
def win(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "wheel.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(settings, restore=False)
    window.resize(1100, 600)  # the dock's column is taller than the window: it scrolls
    window.show()
    qtbot.waitUntil(lambda: window.result is not None and window.live.idle, timeout=TIMEOUT)
    window.history.reset()
    yield window
    delete_now(window)


def _wheel(widget: QtWidgets.QWidget, steps: int) -> None:
    """``steps`` notches of the wheel over the middle of ``widget`` (down when negative)."""
    centre = QtCore.QPointF(widget.rect().center())
    event = QtGui.QWheelEvent(
        centre,
        QtCore.QPointF(widget.mapToGlobal(centre.toPoint())),
        QtCore.QPoint(0, 0),
        QtCore.QPoint(0, 120 * steps),
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
        QtCore.Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QtWidgets.QApplication.sendEvent(widget, event)


def _value(widget: QtWidgets.QWidget):
    if isinstance(widget, QtWidgets.QComboBox):
        return widget.currentIndex()
    return widget.value()


def test_the_wheel_over_unfocused_inputs_scrolls_the_dock(qtbot, win):
    dock = win.controls_dock
    bar = dock.scroll_area.verticalScrollBar()
    assert bar.maximum() > 0
    win.panels.setFocus()
    inputs = [w for w in dock.findChildren(QtWidgets.QWidget) if guarded(w) and w.isEnabled()]
    assert win.geometry_editor._mode in inputs and len(inputs) >= 10
    for widget in inputs:
        before = _value(widget)
        bar.setValue(bar.maximum() // 2)
        _wheel(widget, -1)  # down
        assert _value(widget) == before, widget.objectName() or type(widget).__name__
        assert bar.value() > bar.maximum() // 2, type(widget).__name__
    QtWidgets.QApplication.processEvents()
    assert win.history.stack.count() == 0  # no step the user never made
    assert win.geometry_editor.padding_mode() == "zeros"


def test_a_clicked_input_takes_the_wheel(qtbot, win):
    combo = win.geometry_editor._mode
    assert combo.focusPolicy() == QtCore.Qt.FocusPolicy.StrongFocus  # not by the wheel
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus, timeout=TIMEOUT)
    _wheel(combo, -1)
    assert combo.currentIndex() == 1
