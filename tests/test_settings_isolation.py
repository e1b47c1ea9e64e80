"""Tests leave the user's files alone: settings, recent files and dialog folders stay in
a temporary home (``tests/conftest.py``), for the app run in a subprocess and for the
suite's own tests run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import USER_ENVIRONMENT, home_environment

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]

# the app as ``deconv-gui IMAGE`` starts it; the window closes (saving its settings, as
# a user quitting does) once the first result is drawn
_RUN_APP = """
import sys
from qtpy import QtCore, QtWidgets
qt_app = QtWidgets.QApplication([sys.argv[0]])
from deconv_gui import app

def close_when_drawn():
    for window in QtWidgets.QApplication.topLevelWidgets():
        if type(window).__name__ == "MainWindow" and window.isVisible():
            if window.result is not None and window.live.idle:
                window.close()
                return
    QtCore.QTimer.singleShot(100, close_when_drawn)

QtCore.QTimer.singleShot(0, close_when_drawn)
raise SystemExit(app.main([sys.argv[1]]))
"""


def _ours(roots: list[Path]) -> dict[str, int]:
    """The app's files (a folder or file named deconv… or Deconvolution…) under ``roots``."""
    found: dict[str, int] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for first in root.iterdir():
            for child in [first, *(first.iterdir() if first.is_dir() else [])]:
                if not child.name.lower().startswith(("deconv", "deconvolution")):
                    continue
                files = [child] if child.is_file() else [p for p in child.rglob("*") if p.is_file()]
                found.update({str(p): p.stat().st_mtime_ns for p in files})
    return found


def _outside_roots(*temporary: Path) -> list[Path]:
    """The user's folders, the session's home and this test's home: all but ``temporary``."""
    homes = {Path(v) for v in USER_ENVIRONMENT.values() if v}
    homes |= {Path(os.environ["HOME"])}
    roots = set()
    for home in homes:
        roots |= {home, home / ".config", home / ".local" / "share", home / ".cache"}
    return sorted(r for r in roots if not any(r.is_relative_to(t) for t in temporary))


def _recent(path: Path) -> list[str]:
    """The recent files stored in the settings file ``path``."""
    from qtpy import QtCore

    ini = QtCore.QSettings.Format.IniFormat
    value = QtCore.QSettings(str(path), ini).value("recent_files", [])
    return [value] if isinstance(value, str) else list(value or [])


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, **home_environment(home), "QT_QPA_PLATFORM": "offscreen"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return env


def test_the_window_settings_are_in_the_tests_own_home(isolated_home):
    from deconv_gui.gui.support.settings import make_settings

    assert Path(make_settings().fileName()).is_relative_to(isolated_home)


def test_the_app_writes_its_settings_only_in_its_home(tmp_path):
    home = tmp_path / "home"
    image = tmp_path / "ramp.npy"
    np.save(image, np.linspace(0, 1, 12 * 16).reshape(12, 16))
    roots = _outside_roots(tmp_path)
    before = _ours(roots)
    done = subprocess.run(
        [sys.executable, "-c", _RUN_APP, str(image)],
        env=_env(home),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert _recent(home / ".config" / "deconv-gui" / "deconv-gui.ini") == [str(image)]
    assert _ours(roots) == before


def test_the_suites_own_tests_write_nothing_outside_their_temporary_folders(tmp_path):
    home, base = tmp_path / "home", tmp_path / "pytest"
    roots = _outside_roots(tmp_path)
    before = _ours(roots)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
            *("--basetemp", str(base), "tests/test_app_paths.py", "-k", "positional_image"),
        ],
        env=_env(home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # the test opened an image (a recent file) in the home the suite made for it ...
    written = [p for p in base.rglob("deconv-gui.ini") if _recent(p)]
    assert [Path(_recent(p)[0]).name for p in written] == ["ramp.npy"]
    # ... and nothing in the home it was started with, nor in the user's
    assert _ours([home, home / ".config", home / ".local" / "share", home / ".cache"]) == {}
    assert _ours(roots) == before
