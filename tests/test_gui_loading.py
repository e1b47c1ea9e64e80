"""Loading images into the window: files, drops, the work size.

Every wait is on a condition or a signal, never a sleep; nothing is timed.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PIL import Image
from qtpy import QtCore, QtGui, QtWidgets

from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 30_000  # ms; generous because the CPU cores are shared


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
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
        point,
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.LeftButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    QtWidgets.QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    drop = QtGui.QDropEvent(
        QtCore.QPointF(point),
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.LeftButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
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


# -- off the GUI thread ----------------------------------------------------------------------


class _Gate:
    """Holds the decoding of one file until released: the test decides when a load ends."""

    def __init__(self, monkeypatch, name: str) -> None:
        import deconv_gui.io.images as images

        self.name, self.started, self.release = name, threading.Event(), threading.Event()
        real = images.read_file

        def read_file(path):
            if path.name == self.name:
                self.started.set()
                self.release.wait(TIMEOUT / 1000)
            return real(path)

        monkeypatch.setattr(images, "read_file", read_file)


def _png(path, height: int, width: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = np.linspace(0, 255, height, dtype=np.float32)[:, None, None]
    pixels = (rows + rng.integers(0, 40, (height, width, 3))).clip(0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, compress_level=1)
    return path


def test_a_large_image_loads_while_the_event_loop_runs(qtbot, window, tmp_path):
    path = _png(tmp_path / "large.png", 3000, 2400)
    ticks = {"while loading": 0}

    def tick():
        if window.images.busy:
            ticks["while loading"] += 1

    timer = QtCore.QTimer(window, interval=5)
    timer.timeout.connect(tick)
    timer.start()
    progress = []
    window.images.loader.runner.progress.connect(lambda _rid, value: progress.append(value))
    before = window.loaded
    assert window.load_path(path)
    assert window.loaded is before and window.state.loading  # nothing changed yet
    qtbot.waitUntil(lambda: window.loaded.source == str(path), timeout=TIMEOUT)
    timer.stop()
    assert ticks["while loading"] >= 2  # the GUI thread kept serving its timers
    assert window.loaded.pixels.shape == (256, 205, 3)  # the work size, aspect kept
    assert "resized 3000×2400 → 256×205" in window.loaded.note  # H×W, as shapes
    assert [stage for _f, stage in progress][:1] == ["reading"]
    qtbot.waitUntil(lambda: window.result.image.shape == (256, 205, 3), timeout=TIMEOUT)
    assert not window.state.loading and window.images.loader.outcome is True


def test_the_window_serves_timers_and_shows_progress_while_a_file_decodes(
    qtbot, window, tmp_path, monkeypatch
):
    gate = _Gate(monkeypatch, "slow.png")
    path = _png(tmp_path / "slow.png", 40, 30)
    ticks = []
    timer = QtCore.QTimer(window, interval=5)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    window.load_path(path)
    assert gate.started.wait(TIMEOUT / 1000)
    qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=TIMEOUT)  # decoding, yet timers fire
    qtbot.waitUntil(lambda: window.images.loader.dialog is not None, timeout=TIMEOUT)
    assert "slow.png" in window.state_label.text()
    assert window.images.loader.dialog.labelText().startswith("Loading slow.png")
    gate.release.set()
    qtbot.waitUntil(lambda: window.loaded.source == str(path), timeout=TIMEOUT)
    timer.stop()
    assert window.images.loader.dialog is None  # closed when the load ended


def test_cancel_keeps_the_previous_image(qtbot, window, tmp_path, monkeypatch):
    gate = _Gate(monkeypatch, "slow.png")
    path = _png(tmp_path / "slow.png", 40, 30)
    before_image, before_origin = window.loaded, window.state.origin
    window.load_path(path)
    assert gate.started.wait(TIMEOUT / 1000)
    qtbot.waitUntil(lambda: window.images.loader.dialog is not None, timeout=TIMEOUT)
    with qtbot.waitSignal(window.images.loader.finished, timeout=TIMEOUT) as ended:
        window.images.loader.dialog.findChild(QtWidgets.QPushButton).click()  # Cancel
        gate.release.set()
    assert ended.args == [False]
    assert "cancelled" in window.last_message
    assert window.loaded is before_image and window.state.origin == before_origin
    assert not window.state.loading and window.images.loader.dialog is None


def test_a_corrupt_file_says_why_and_changes_nothing(qtbot, window, tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    qtbot.waitUntil(lambda: window.live.idle, timeout=TIMEOUT)  # the SSIM pass landed
    before = (window.loaded, window.result, window.state.origin, window.current_params())
    with qtbot.waitSignal(window.images.loader.finished, timeout=TIMEOUT) as ended:
        window.load_path(path)
    assert ended.args == [False]
    assert "Could not open the image (previous image kept)" in window.last_message
    assert "broken.png" in window.last_message and "\n" not in window.message_bar.text()
    assert (window.loaded, window.result, window.state.origin, window.current_params()) == before


def test_a_second_load_supersedes_the_first(qtbot, window, tmp_path, monkeypatch):
    gate = _Gate(monkeypatch, "first.png")
    first = _png(tmp_path / "first.png", 40, 30)
    second = _png(tmp_path / "second.png", 24, 36, seed=1)
    shown = []
    window.state.imageChanged.connect(lambda loaded: shown.append(loaded.source))
    window.load_path(first)
    assert gate.started.wait(TIMEOUT / 1000)
    window.load_path(second)  # the user picked another file meanwhile
    gate.release.set()
    qtbot.waitUntil(lambda: window.loaded.source == str(second), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not window.images.busy, timeout=TIMEOUT)
    assert shown == [str(second)]  # the first never became the image
    qtbot.waitUntil(lambda: window.result.image.shape == (24, 36, 3), timeout=TIMEOUT)


def test_a_sample_picked_while_a_file_loads_wins(qtbot, window, tmp_path, monkeypatch):
    gate = _Gate(monkeypatch, "slow.png")
    path = _png(tmp_path / "slow.png", 40, 30)
    window.load_path(path)
    assert gate.started.wait(TIMEOUT / 1000)
    assert window.load_sample("seed_toy")  # small: at once, and the file is now stale
    assert window.loaded.source == "seed_toy" and not window.state.loading
    gate.release.set()
    qtbot.waitUntil(lambda: window.images.loader.runner.pool.activeThreadCount() == 0)
    qtbot.wait(50)  # let a (wrong) late report arrive, if one were sent
    assert window.loaded.source == "seed_toy"
    assert window.image_controls.current_sample() == "seed_toy"


def test_a_session_with_an_image_file_loads_it_off_the_gui_thread(
    qtbot, window, tmp_path, monkeypatch
):
    from deconv_gui.core import Params, make_filter
    from deconv_gui.io.session import save_session

    gate = _Gate(monkeypatch, "photo.png")
    image = _png(tmp_path / "photo.png", 30, 20)
    params = Params(make_filter("box", in_channels=3), stride=(1, 1))
    path = save_session(tmp_path / "s.deconv.json", params, image_source=str(image), work_size=None)
    before = window.current_params()
    assert window.open_session(path) is True  # started
    assert gate.started.wait(TIMEOUT / 1000)
    assert window.current_params() == before  # nothing applied before the image is there
    with qtbot.waitSignal(window.images.loader.finished, timeout=TIMEOUT) as ended:
        gate.release.set()
    assert ended.args == [True]
    assert window.loaded.source == str(image) and window.current_params().stride == (1, 1)
    assert "Opened session s.deconv.json" in window.last_message


def test_an_image_set_elsewhere_makes_a_running_load_stale(qtbot, window, tmp_path, monkeypatch):
    gate = _Gate(monkeypatch, "slow.png")
    path = _png(tmp_path / "slow.png", 40, 30)
    other = window.loaded
    window.load_sample("seed_toy")
    window.load_path(path)
    assert gate.started.wait(TIMEOUT / 1000)
    window.state.set_image(other, window.state.origin)  # what undo does
    assert not window.state.loading and not window.images.busy
    gate.release.set()
    qtbot.waitUntil(lambda: window.images.loader.runner.pool.activeThreadCount() == 0)
    qtbot.wait(50)  # let a (wrong) late report arrive, if one were sent
    assert window.loaded is other
