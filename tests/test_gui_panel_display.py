"""What the panels draw: the forward output's channels, the colormap by meaning (offscreen)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore

from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now
from deconv_gui.view.display import data_range

pytestmark = pytest.mark.gui
TIMEOUT = 60_000  # ms; generous because the 2 CPU cores are shared


@pytest.fixture
def win(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(settings, restore=False)
    window.show()
    _idle(qtbot, window)
    window.set_work_size(48)
    _idle(qtbot, window)
    yield window
    delete_now(window)


def _idle(qtbot, window):
    qtbot.waitUntil(lambda: window.result is not None and window.live.idle, timeout=TIMEOUT)


def test_the_channel_box_picks_one_of_three_output_channels(qtbot, win):
    win.filter_editor.set_groups(3)  # depthwise on RGB: three output channels
    qtbot.waitUntil(lambda: win.result.forward_output.shape[2] == 3, timeout=TIMEOUT)
    _idle(qtbot, win)
    panel = win.panels.panel("forward")
    box = panel.channel_box
    assert box.isVisible() and box.text() == "all three (RGB)"
    assert panel.spec.image.shape[2] == 3 and panel.spec.colormap == "rgb"
    y = win.result.forward_output
    for channel in (0, 1, 2):
        box.setValue(channel)
        np.testing.assert_array_equal(panel.spec.image, y[:, :, channel])
        assert panel.spec.note.startswith(f"channel {channel} of 3")
        assert win.panels.forward_channel == channel
    box.setValue(-1)
    np.testing.assert_array_equal(panel.spec.image, y)


def test_a_noisy_blur_stays_grey_and_an_edge_filter_is_drawn_signed(qtbot, win):
    win.recon_options.set_values(noise_sigma=0.02)
    qtbot.waitUntil(lambda: win.result.params.noise_sigma == 0.02, timeout=TIMEOUT)
    _idle(qtbot, win)
    forward = win.panels.panel("forward")
    assert win.result.forward_output.min() < 0  # noise dips below 0 ...
    assert forward.spec.colormap in ("grey", "rgb")  # ... and the photo stays a photo
    win.filter_editor.set_preset("sobel_x")
    qtbot.waitUntil(lambda: win.filter_editor.preset() == "sobel_x", timeout=TIMEOUT)
    _idle(qtbot, win)
    assert forward.spec.colormap == "diverging"
    # Aᵀy of an RGB image: signed in colour, 0 at mid-grey
    transposed = win.panels.panel("transposed").spec
    assert transposed.colormap == "rgb" and transposed.levels[0] == -transposed.levels[1]
    assert "0 = mid-grey" in transposed.note
    pinv = win.panels.panel("pinv").spec  # an estimate of the image: its range
    assert pinv.colormap == "rgb" and pinv.levels == data_range(win.result.image)
    assert win.panels.panel("input").spec.image.shape[2] == 3


def _wheel(panel, steps: int = 3) -> None:
    from qtpy import QtGui, QtWidgets

    viewport = panel.graphics.viewport()
    pos = QtCore.QPointF(viewport.width() * 0.7, viewport.height() * 0.35)
    for _ in range(steps):
        event = QtGui.QWheelEvent(
            pos,
            QtCore.QPointF(viewport.mapToGlobal(pos.toPoint())),
            QtCore.QPoint(0, 0),
            QtCore.QPoint(0, 120),
            QtCore.Qt.MouseButton.NoButton,
            QtCore.Qt.KeyboardModifier.NoModifier,
            QtCore.Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QtWidgets.QApplication.sendEvent(viewport, event)


def _centre(panel):
    (x0, x1), (y0, y1) = panel.view.viewRange()
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2]), (y1 - y0) / panel.shape[0]


@pytest.mark.parametrize("source", ["input", "forward"])
def test_zoom_and_pan_are_shared_the_forward_output_through_the_stride(qtbot, win, source):
    panels = win.panels
    _wheel(panels.panel(source))
    assert not panels.auto_fit and panels.zoom is not None and panels.zoom.factor > 1.5
    centre, share = _centre(panels.panel("input"))
    for name in ("transposed", "pinv"):
        other, other_share = _centre(panels.panel(name))
        np.testing.assert_allclose(other, centre, atol=1e-6)
        assert other_share == pytest.approx(share, rel=0.1)
    # the forward output's pixel j sits on its window's centre: 2j + 0.5 - 1 on the input
    forward, _ = _centre(panels.panel("forward"))
    np.testing.assert_allclose(2 * forward - 0.5, centre, atol=1e-6)
    win.menu_actions.fit.trigger()  # F: every panel shows its whole image again
    for name in panels.visible_names():
        panel = panels.panel(name)
        (x0, x1), (y0, y1) = panel.view.viewRange()
        h, w = panel.shape[:2]
        assert x0 <= 0 and y0 <= 0 and x1 >= w and y1 >= h, name
