"""The message bar above the panels: while a model's layer is studied it keeps its place,
so the panels do not move each time a computation says "Computing…" and is done.

Every wait is on a condition, never a sleep; nothing is timed.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
pytest.importorskip("torch")
import torch
from qtpy import QtCore, QtWidgets

from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 60_000  # ms; generous because the CPU cores are shared


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.result is not None and not win.runner.busy, timeout=TIMEOUT)
    yield win
    delete_now(win)


def _model(tmp_path):
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 5, 3, padding=1)
    ).eval()
    path = tmp_path / "bar.onnx"
    torch.onnx.export(
        net,
        torch.randn(1, 3, 16, 16),
        str(path),
        dynamo=False,
        dynamic_axes={"input": {2: "h", 3: "w"}},
        input_names=["input"],
    )
    return path


def _panels_top(window) -> int:
    """Where the panels (and the network's strip over them) start in the window."""
    QtWidgets.QApplication.processEvents()
    bar = window.network.bar
    top = bar if bar.isVisibleTo(window) else window.panels
    return top.mapTo(window, QtCore.QPoint(0, 0)).y()


def test_the_panels_stay_put_while_a_layers_messages_come_and_go(qtbot, window, tmp_path):
    assert not window.message_bar.reserved()  # the image alone: no empty strip over it
    window.set_work_size(64)
    qtbot.waitUntil(lambda: window.result is not None and not window.images.busy, timeout=TIMEOUT)
    assert window.models.load_layer(_model(tmp_path), "/2/Conv")
    qtbot.waitUntil(
        lambda: "bar.onnx" in window.loaded.source and not window.runner.busy, timeout=TIMEOUT
    )
    assert window.network.bar.isVisibleTo(window) and window.message_bar.reserved()
    window.message_bar.dismiss()
    hidden = _panels_top(window)
    window.show_message("Computing the network up to /2/Conv…", error=False)
    assert window.message_bar.isVisibleTo(window)
    assert _panels_top(window) == hidden
    long = "Could not open the model: " + "very_long_folder_name/" * 40 + "x.onnx"
    window.show_message(long)  # one line, elided: the bar does not grow
    assert window.message_bar.is_elided() and long in window.message_bar.toolTip()
    assert _panels_top(window) == hidden
    window.message_bar.dismiss()
    assert _panels_top(window) == hidden
    window.load_sample("astronaut")  # an image again: the strip goes with the network's
    qtbot.waitUntil(lambda: not window.network.bar.isVisibleTo(window), timeout=TIMEOUT)
    assert not window.message_bar.reserved()
