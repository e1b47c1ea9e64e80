"""Shared test set-up: Qt runs offscreen, and nothing touches the user's own files.

Every test gets a fresh home folder of its own (``HOME`` and the XDG folders, which
subprocesses inherit), and Qt's settings paths point into it: the window's remembered
settings, recent files and dialog folders never reach the user's
``~/.config/deconv-gui``. Fixtures wider than one test (and code run at collection) see
a home folder made for the whole session, removed at its end.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

#: The variables that place a user's settings, data, caches and runtime files.
HOME_VARIABLES = (
    "HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
    "XDG_STATE_HOME",
    "XDG_RUNTIME_DIR",
)


def home_environment(home: Path) -> dict[str, str]:
    """``HOME`` and the XDG folders, all inside ``home`` (created, runtime folder 0700)."""
    folders = {
        "HOME": home,
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_STATE_HOME": home / ".local" / "state",
        "XDG_RUNTIME_DIR": home / "runtime",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    folders["XDG_RUNTIME_DIR"].chmod(0o700)  # Qt warns about any other mode
    return {name: str(folder) for name, folder in folders.items()}


def _point_qt_settings_at(config: str) -> None:
    """Qt reads the settings folder once per process: set it again for each test."""
    if "qtpy.QtCore" not in sys.modules:  # not imported yet: Qt will read the variables
        return
    from qtpy import QtCore

    user = QtCore.QSettings.Scope.UserScope
    for fmt in (QtCore.QSettings.Format.NativeFormat, QtCore.QSettings.Format.IniFormat):
        QtCore.QSettings.setPath(fmt, user, config)


#: Where the user's own files are (as the test run found the variables), never written.
USER_ENVIRONMENT: dict[str, str | None] = {name: os.environ.get(name) for name in HOME_VARIABLES}
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="deconv-gui-tests-home-"))
os.environ.update(home_environment(_SESSION_HOME))


def pytest_unconfigure(config) -> None:
    shutil.rmtree(_SESSION_HOME, ignore_errors=True)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch) -> Path:
    """A home folder for this test alone (settings, recent files, dialog folders)."""
    home = tmp_path_factory.mktemp("home")
    environment = home_environment(home)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    _point_qt_settings_at(environment["XDG_CONFIG_HOME"])
    return home


@pytest.fixture(autouse=True)
def application_as_it_was():
    """The test application's style sheet as it was before the test: the app's entry point
    run in-process (and a palette switch once it has) gives the shared application the
    window's style sheet, whose polish slows every window made after it. And no window
    left behind (:func:`_delete_windows`)."""
    app = _running_application()
    sheet = None if app is None else app.styleSheet()
    yield
    app = app or _running_application()
    if app is not None and app.styleSheet() != (sheet or ""):
        app.setStyleSheet(sheet or "")
    if app is not None:
        _delete_windows(app)


def _delete_windows(app) -> None:
    """Delete every top-level widget a test left (its jobs finished first): windows a
    test did not delete, and anything that would leak. A safety net: a worker once kept
    ~60k widgets (each window left ~190 parentless pyqtgraph menus and dialogs, which
    the views now own) and took 15-35 s for each palette switch (Qt sends it to every
    widget); tests/test_widget_leak.py checks that a closed window leaves none."""
    from qtpy import QtCore

    jobpool = sys.modules.get("deconv_gui.gui.jobpool")
    pool = getattr(jobpool, "_APP_POOL", None)
    if pool is not None:
        pool.pool.waitForDone(10_000)
    QtCore.QCoreApplication.processEvents()  # their results, to widgets still alive
    for widget in app.topLevelWidgets():
        widget.deleteLater()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)


def _running_application():
    if "qtpy" not in sys.modules:  # a test without Qt: nothing to put back
        return None
    from qtpy import QtWidgets

    app = QtWidgets.QApplication.instance()
    return app if isinstance(app, QtWidgets.QApplication) else None


#: The real-X tests' screen: a laptop's 1280×800.
XVFB_SCREEN = (1280, 800)
_START_TIMEOUT = 60  # seconds for Xvfb to report its display


def _skip_reason() -> str | None:
    from deconv_gui.xcb_check import missing_xcb_packages

    if not sys.platform.startswith("linux"):
        return "Xvfb runs on Linux"
    if shutil.which("Xvfb") is None:
        return "Xvfb is not installed (apt-get install xvfb)"
    missing = missing_xcb_packages()
    if missing:
        return f"Qt's X11 plugin needs {' '.join(missing)}"
    return None


@pytest.fixture(scope="session")
def display():
    """A private Xvfb display (and openbox on it when installed); its ``DISPLAY`` string."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_end),
            "-screen",
            "0",
            "{}x{}x24".format(*XVFB_SCREEN),
            "-nolisten",
            "tcp",
        ],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    number = b""
    while not number.endswith(b"\n"):
        ready, _, _ = select.select([read_end], [], [], _START_TIMEOUT)
        chunk = os.read(read_end, 16) if ready else b""
        if not chunk:
            break
        number += chunk
    os.close(read_end)
    if not number.strip():
        xvfb.kill()
        xvfb.wait()
        pytest.skip("Xvfb did not start")
    name = f":{int(number)}"
    helpers = []
    if shutil.which("openbox"):
        helpers.append(
            subprocess.Popen(
                ["openbox", "--sm-disable"],
                env={**os.environ, "DISPLAY": name},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    yield name
    for process in [*helpers, xvfb]:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
