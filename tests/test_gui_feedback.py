"""Small things a user notices: undo and redo say what they did; value labels never overlap."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore

from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 60_000  # ms; generous because the 2 CPU cores are shared


@pytest.fixture
def win(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(settings, restore=False)
    window.show()
    _idle(qtbot, window)
    window.set_work_size(24)
    _idle(qtbot, window)
    window.history.reset()
    yield window
    delete_now(window)


def _idle(qtbot, window):
    qtbot.waitUntil(lambda: window.result is not None and window.live.idle, timeout=TIMEOUT)


def test_undo_and_redo_say_what_they_did_in_the_status_bar(qtbot, win):
    bar = win.statusBar()
    win.geometry_editor.set_values(stride=(3, 3), padding=(1, 1), dilation=(1, 1))
    qtbot.waitUntil(lambda: win.history.stack.count() == 1, timeout=TIMEOUT)
    win.history_actions.undo.trigger()
    assert bar.currentMessage().startswith("Undone: ") and "stride" in bar.currentMessage()
    win.history_actions.redo.trigger()
    assert bar.currentMessage().startswith("Redone: ") and "stride" in bar.currentMessage()
    win.history_actions.redo.trigger()
    assert bar.currentMessage() == "Nothing to redo"


def _label_boxes(panel):
    return [label.sceneBoundingRect() for label in panel.values.items if label.isVisible()]


def test_value_labels_show_only_where_they_fit(qtbot, win, tmp_path):
    path = tmp_path / "tiny.npy"
    np.save(path, np.linspace(-0.123, 0.987, 5 * 6).reshape(5, 6))
    win.load_path(path)
    qtbot.waitUntil(lambda: win.result.image.shape[:2] == (5, 6), timeout=TIMEOUT)
    _idle(qtbot, win)
    for size in ((1500, 950), (900, 560)):
        win.resize(*size)
        qtbot.waitUntil(lambda: not win.panels._fit_timer.isActive(), timeout=TIMEOUT)
        QtCore.QCoreApplication.processEvents()
        for name in win.panels.visible_names():
            boxes = _label_boxes(win.panels.panel(name))
            for i, box in enumerate(boxes):  # side by side, never over one another
                assert not any(box.intersects(other) for other in boxes[i + 1 :]), name
        if size == (1500, 950):  # large pixels: every panel writes its values
            assert all(_label_boxes(win.panels.panel(n)) for n in win.panels.visible_names())


def test_settings_made_invalid_while_a_result_computes_say_so_not_cancelled(qtbot, win):
    """The computation an invalid edit stops reports its cancel after the edit was found
    invalid: the status line keeps saying why nothing is computed."""
    params = win.current_params()
    win.compute_now()
    assert win.runner.busy
    bad = params.replace(weights=np.ones((3, 3, 4, 2)), bias=(0.0, 0.0), channel=None)
    win.live.schedule()  # the edit: the running computation is stale
    win.apply_params(bad)
    assert win.compute_now() is None  # 4 channels of weights, 3 of image: invalid
    qtbot.waitUntil(lambda: not win.runner.busy, timeout=TIMEOUT)  # its cancel reported
    assert win.state_label.text() == "invalid settings: previous result kept"
    assert "channel mismatch" in win.last_message
