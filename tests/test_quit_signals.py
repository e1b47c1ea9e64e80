"""``kill`` and Ctrl+C close the running app as its Quit does: the window's settings are
saved and the process exits 0 (an idle Qt loop never ran Python's signal handlers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import home_environment

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]

# the app as ``deconv-gui IMAGE`` starts it; it says "drawn" once, then the loop idles
_RUN_APP = """
import sys
from qtpy import QtCore, QtWidgets
qt_app = QtWidgets.QApplication([sys.argv[0]])
from deconv_gui import app

def say_when_drawn():
    for window in QtWidgets.QApplication.topLevelWidgets():
        if type(window).__name__ == "MainWindow" and window.isVisible():
            if window.result is not None and window.live.idle:
                print("drawn", flush=True)
                return
    QtCore.QTimer.singleShot(100, say_when_drawn)

QtCore.QTimer.singleShot(0, say_when_drawn)
raise SystemExit(app.main([sys.argv[1]]))
"""


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_quit_signal_closes_the_window_and_saves_its_settings(tmp_path, number):
    home = tmp_path / "home"
    image = tmp_path / "ramp.npy"
    np.save(image, np.linspace(0, 1, 12 * 16).reshape(12, 16))
    env = {**os.environ, **home_environment(home), "QT_QPA_PLATFORM": "offscreen"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    app = subprocess.Popen(
        [sys.executable, "-c", _RUN_APP, str(image)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert app.stdout is not None
        assert app.stdout.readline().strip() == "drawn"
        app.send_signal(number)
        _, err = app.communicate(timeout=120)
    finally:
        app.kill()
    assert app.returncode == 0, err[-3000:]
    assert (home / ".config" / "deconv-gui" / "deconv-gui.ini").is_file()
