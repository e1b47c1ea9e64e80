"""Loading images into the window: files, drops, the work size.

Every wait is on a condition or a signal, never a sleep; nothing is timed.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PyQt5 import QtCore, QtGui, QtWidgets

from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 30_000  # ms; generous because the CPU cores are shared


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.result is not None and not win.runner.busy, timeout=TIMEOUT)
    yield win
    delete_now(win)


def _drop(widget: QtWidgets.QWidget, mime: QtCore.QMimeData) -> bool:
    """Send a drag-enter then a drop of ``mime``; returns whether the enter was accepted."""
    point = QtCore.QPoint(10, 10)
    enter = QtGui.QDragEnterEvent(
        point, QtCore.Qt.CopyAction, mime, QtCore.Qt.LeftButton, QtCore.Qt.NoModifier
    )
    QtWidgets.QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    drop = QtGui.QDropEvent(
        QtCore.QPointF(point),
        QtCore.Qt.CopyAction,
        mime,
        QtCore.Qt.LeftButton,
        QtCore.Qt.NoModifier,
    )
    QtWidgets.QApplication.sendEvent(widget, drop)
    return True


def test_a_dropped_file_is_loaded(qtbot, window, tmp_path):
    path = tmp_path / "ramp.npy"
    np.save(path, np.linspace(0, 1, 40 * 30).reshape(40, 30))
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(path))])
    assert _drop(window, mime)
    qtbot.waitUntil(lambda: window.result.image.shape == (40, 30, 1), timeout=TIMEOUT)
    assert window.image_controls.info_text().startswith("ramp.npy")
    assert window.state.origin.path == str(path)


def test_a_drop_without_an_image_is_refused(window):
    mime = QtCore.QMimeData()
    mime.setText("just words")
    assert not _drop(window, mime)
