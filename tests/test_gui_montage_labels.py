"""A deep layer's montages in the window: each tile carries its channel where the view
module puts it (the exported pixels are the view module's drawing), and the read-out
names the channel of the tile under the mouse."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
pytest.importorskip("torch")
pytest.importorskip("onnx")
import torch
from qtpy import QtCore

from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.panels.capture import displayed_pixels
from deconv_gui.gui.support.qimage import qimage_to_array
from deconv_gui.gui.support.teardown import delete_now
from deconv_gui.view.display import fmt
from deconv_gui.view.montage import draw_tile_labels, tile_labels

pytestmark = pytest.mark.gui
TIMEOUT = 60_000  # ms; generous because the 2 CPU cores are shared


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.result is not None and win.live.idle, timeout=TIMEOUT)
    yield win
    delete_now(win)


def _deep_model(tmp_path):
    """8 → 16 channels: both sides of the studied layer are montages."""
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Conv2d(8, 16, 3, stride=2))
    path = tmp_path / "wide.onnx"
    torch.onnx.export(
        net.eval(),
        torch.randn(1, 3, 16, 16),
        str(path),
        dynamo=False,
        dynamic_axes={"input": {2: "h", 3: "w"}},
        input_names=["input"],
    )
    return path


def _hover(panel, row: int, col: int) -> None:
    """Move the mouse over pixel ``(row, col)`` of the panel's picture."""
    panel._on_mouse_moved(panel.view.mapViewToScene(QtCore.QPointF(col + 0.5, row + 0.5)))


def test_tiles_carry_their_channels_in_the_panel_the_export_and_the_read_out(
    qtbot, window, tmp_path
):
    window.set_work_size(64)
    qtbot.waitUntil(lambda: window.loaded.pixels.shape[0] == 64, timeout=TIMEOUT)
    assert window.models.load_layer(_deep_model(tmp_path), "/1/Conv")
    qtbot.waitUntil(
        lambda: "wide.onnx" in window.loaded.source and window.live.idle, timeout=TIMEOUT
    )
    window.filter_editor.picker.pick("2, 5, 7", "9, 0, 4, 15")  # picked, in this order
    qtbot.waitUntil(lambda: window.panels.panel("input").spec.tiles == (2, 5, 7))
    for name, tiles in (("input", (2, 5, 7)), ("forward", (9, 0, 4, 15))):
        panel = window.panels.panel(name)
        shape = panel.data.shape[:2]
        assert panel.spec.tiles == tiles
        want = [(t.text, t.col, t.row) for t in tile_labels(tiles, shape)]
        drawn = [
            (i.textItem.toPlainText(), i.pos().x(), i.pos().y()) for i in panel.tile_labels.items
        ]
        assert drawn == want and [text for text, _, _ in drawn] == [str(t) for t in tiles]
        panel.item.render()  # the picture as the item draws it, without the labels
        plain = np.ascontiguousarray(qimage_to_array(panel.item.qimage)[:, :, :3])
        exported = displayed_pixels(panel)
        assert np.array_equal(exported, draw_tile_labels(plain, tiles, shape))
        assert not np.array_equal(exported, plain)  # 60-pixel tiles hold their labels
    # a stale montage (its method computing again) dims its labels with its image
    panel = window.panels.panel("input")
    panel.set_pending("computing…")
    assert {round(item.opacity(), 2) for item in panel.tile_labels.items} == {0.3}
    panel.set_pending(None)
    assert {item.opacity() for item in panel.tile_labels.items} == {1.0}
    # the mouse over the second input tile (channel 5), then the third forward one (4)
    data = window.panels.panel("input").data
    w = data.shape[1]
    _hover(window.panels.panel("input"), 10, (w + 1) + 12)
    text = window.readout.text()
    assert text.startswith("x=12 y=10 channel 5") and f"input {fmt(data[10, 12, 5])}" in text
    forward = window.panels.panel("forward").data
    fh = forward.shape[0]
    _hover(window.panels.panel("forward"), (fh + 1) + 3, 4)  # 2 × 2 tiles: the third
    assert f"y[3,4,4] = {fmt(forward[3, 4, 4])}" in window.readout.text()
    assert " channel 2  ·  input " in window.readout.text()  # the first input picked
    _hover(window.panels.panel("forward"), fh, 4)  # a gap between tiles: nothing changes
    assert f"y[3,4,4] = {fmt(forward[3, 4, 4])}" in window.readout.text()
