"""The main window's title names what is open: ``name — Deconvolution Explorer``, the
session file last opened or saved while its image is the input, else the input image.

Every wait is on a condition, never a sleep; nothing is timed.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore

from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 120_000  # ms; generous because the CPU cores are shared
APP = "Deconvolution Explorer"


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    win.show()
    qtbot.waitUntil(lambda: win.result is not None, timeout=TIMEOUT)
    yield win
    delete_now(win)


def _load(qtbot, win, path):
    assert win.load_path(path)
    qtbot.waitUntil(lambda: not win.images.busy and win.state.origin.path == str(path))


def test_the_title_names_the_image_then_the_session(qtbot, window, tmp_path):
    assert window.windowTitle() == f"astronaut — {APP}"
    photo = tmp_path / "photo.npy"
    np.save(photo, np.linspace(0, 1, 30 * 20).reshape(30, 20))
    _load(qtbot, window, photo)
    assert window.windowTitle() == f"photo.npy — {APP}"
    saved = window.save_session_to(tmp_path / "run.deconv.json")
    assert saved is not None and window.windowTitle() == f"run.deconv.json — {APP}"
    window.set_work_size(16)  # the same image again, smaller: still the session's
    qtbot.waitUntil(lambda: window.loaded.pixels.shape[0] == 16 and not window.images.busy)
    assert window.windowTitle() == f"run.deconv.json — {APP}"
    window.load_sample("camera")  # another image: the window no longer shows the session
    assert window.windowTitle() == f"camera — {APP}"
    assert window.open_session(saved)  # its image loads off the GUI thread
    qtbot.waitUntil(lambda: window.windowTitle() == f"run.deconv.json — {APP}", timeout=TIMEOUT)
    assert window.state.origin.path == str(photo)
