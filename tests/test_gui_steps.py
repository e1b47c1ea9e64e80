"""The "How it is computed" window, offscreen: open, step, scrub, play, modes, crop, export.

Every wait is ``qtbot.waitUntil`` on a condition; nothing is timed. The frames shown are
compared with the io renderer on the same model, and the crop with ``crop_window``.
"""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore, QtGui

from deconv_gui.core import StepAnimation, crop_window
from deconv_gui.gui.animation import CROP_COLOUR
from deconv_gui.gui.animation.jobs import TRANSPOSED_LAYER
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now
from deconv_gui.io.video import FrameRenderer

pytestmark = pytest.mark.gui
TIMEOUT = 30_000  # ms; the 2 CPU cores are shared


def _settled(qtbot, win) -> None:
    def done() -> bool:
        if not win.live.idle or win.result is None:
            return False
        return win.result.params == win.current_params()

    qtbot.waitUntil(done, timeout=TIMEOUT)


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.set_work_size(64)  # small and quick
    win.show()
    _settled(qtbot, win)
    yield win
    delete_now(win)


def _ready(qtbot, steps, mode=None) -> None:
    def done() -> bool:
        if steps.renderer is None or steps.jobs.busy:
            return False
        return mode is None or steps.request.mode == mode

    qtbot.waitUntil(done, timeout=TIMEOUT)


def _seed(qtbot, win) -> None:
    win.insight.hooks.load_seed_example()
    qtbot.waitUntil(lambda: win.result is not None and win.result.image.shape == (7, 7, 3),
                    timeout=TIMEOUT)  # fmt: skip
    _settled(qtbot, win)


def test_open_from_the_view_menu_and_the_geometry_button(qtbot, window):
    texts = [a.text() for m in window.menuBar().actions() if m.menu() for a in m.menu().actions()]
    assert "How it is &computed…" in texts
    window.geometry_editor.steps_button.click()
    steps = window.steps.window
    assert steps.isVisible()
    _ready(qtbot, steps)
    assert steps.frame_count > 2 and steps.slider.maximum() == steps.frame_count - 1
    for widget in (steps.mode_box, steps.slider, steps.speed_box, steps.export_button,
                   steps.play_button, steps.crop_box):  # fmt: skip
        assert widget.toolTip()


def test_seed_toy_step_scrub_and_keys(qtbot, window):
    _seed(qtbot, window)
    steps = window.steps.open()
    _ready(qtbot, steps, "forward")
    assert steps.request.crop is None  # 7×7: the whole image
    assert steps.frame_count == 9 + 1  # nine outputs, then the result
    expected = FrameRenderer(StepAnimation(window.result.geometry, window.result.params.weights,
                                           window.result.image), scale=1.25)  # fmt: skip
    np.testing.assert_array_equal(steps.frame, expected.render(0))
    steps.step_forward()
    assert steps.index == 1
    np.testing.assert_array_equal(steps.frame, expected.render(1))
    steps.slider.setValue(6)  # the scrubber
    assert steps.index == 6 and steps.position.text() == "step 7 of 9"
    np.testing.assert_array_equal(steps.frame, expected.render(6))
    steps.activateWindow()
    qtbot.keyClick(steps, QtCore.Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: steps.index == 5, timeout=TIMEOUT)
    qtbot.keyClick(steps, QtCore.Qt.Key.Key_End)
    qtbot.waitUntil(lambda: steps.index == 9, timeout=TIMEOUT)
    assert steps.position.text() == "result"
    steps.step_forward()  # clamped at the end
    assert steps.index == 9


def test_play_runs_to_the_end_and_pauses(qtbot, window):
    _seed(qtbot, window)
    steps = window.steps.open()
    _ready(qtbot, steps)
    steps.speed_box.setCurrentIndex(steps.speed_box.count() - 1)  # the fastest
    shown = []
    steps.frameShown.connect(shown.append)
    steps.toggle_play()
    assert steps.playing
    qtbot.waitUntil(lambda: not steps.playing, timeout=TIMEOUT)
    assert steps.index == steps.frame_count - 1
    assert shown == list(range(1, steps.frame_count))
    steps.toggle_play()  # at the end: play again from the start
    qtbot.waitUntil(lambda: len(shown) > steps.frame_count + 1, timeout=TIMEOUT)
    steps.toggle_play()
    assert not steps.playing


@pytest.mark.parametrize("mode", ["scatter", "zero-insertion", "pinv"])
def test_every_mode(qtbot, window, mode):
    _seed(qtbot, window)
    steps = window.steps.open()
    steps.set_mode(mode)
    _ready(qtbot, steps, mode)
    anim = steps.renderer.anim
    expected = {"scatter": 9, "zero-insertion": 49}.get(mode, len(anim))
    assert len(anim) == expected and steps.frame_count == expected + 1
    frames = [steps.frame.copy()]
    steps.step_forward()
    frames.append(steps.frame.copy())
    assert not np.array_equal(*frames)
    if mode != "pinv":
        assert "same Aᵀy" in steps.header.text()
    else:
        assert "converged" in steps.header.text()
        assert steps.position.text() == "iteration 1 of " + str(len(anim) - 1)


def test_large_image_animates_a_crop_around_the_inspected_pixel(qtbot, window):
    steps = window.steps.open()
    _ready(qtbot, steps)
    geometry = window.result.geometry
    assert steps.request.crop == crop_window(geometry, None, steps.crop_box.value())
    marks = window.steps.marks
    assert {view for view, _ in marks} >= {window.panels.panel("input").view,
                                           window.panels.panel("forward").view}  # fmt: skip
    assert all(item.pen().color() == QtGui.QColor(CROP_COLOUR) for _, item in marks)
    # a click on the input moves the crop there
    window.panels.clicked.emit("input", 50, 9)
    qtbot.waitUntil(
        lambda: (
            steps.request.crop == crop_window(geometry, (50, 9), steps.crop_box.value())
            and not steps.jobs.busy
        ),
        timeout=TIMEOUT,
    )
    r0, c0, h, w = steps.request.crop
    np.testing.assert_array_equal(
        steps.request.pixels, window.result.image[r0 : r0 + h, c0 : c0 + w]
    )
    box = next(item for view, item in window.steps.marks
           if view is window.panels.panel("input").view).rect()  # fmt: skip
    assert (box.x(), box.y(), box.width(), box.height()) == (c0, r0, w, h)
    steps.crop_box.setValue(10)
    qtbot.waitUntil(lambda: steps.request.crop[2:] == (10, 10), timeout=TIMEOUT)
    # smaller than four outputs a side needs (stride 2, 3×3, padding 1: 7 px): enlarged, shown
    steps.crop_box.setValue(5)
    qtbot.waitUntil(lambda: steps.request.crop[2:] == (7, 7), timeout=TIMEOUT)
    assert steps.crop_box.value() == 7 and steps.request.geometry.output_shape[:2] == (4, 4)
    steps.close()  # the outlines go with the window
    assert window.steps.marks == []


def test_follows_the_settings_and_shows_copied_padding(qtbot, window):
    _seed(qtbot, window)
    steps = window.steps.open()
    _ready(qtbot, steps)
    window.geometry_editor.set_values(padding=(1, 1), padding_mode="reflect")
    _settled(qtbot, window)
    qtbot.waitUntil(lambda: steps.request.geometry.padding_mode == "reflect"
                    and not steps.jobs.busy, timeout=TIMEOUT)  # fmt: skip
    anim = steps.renderer.anim
    assert anim.grid.shape == (9, 9, 3)
    np.testing.assert_array_equal(anim.grid[0, 1:-1], window.result.image[1])  # copied row


def test_a_conv_transpose_layer_says_why_it_has_no_steps(qtbot, window):
    steps = window.steps.open()
    _ready(qtbot, steps)
    window.load_sample("camera")  # one channel: the Gaussian fits both layer kinds
    window.geometry_editor.set_values(stride=(2, 2), padding=(1, 1), layer_kind="conv_transpose")
    _settled(qtbot, window)
    qtbot.waitUntil(lambda: steps.renderer is None and not steps.jobs.busy, timeout=TIMEOUT)
    # plain words instead of "geometry must be a ConvGeometry", no frames of the conv left
    assert steps.header.text() == TRANSPOSED_LAYER
    assert steps.request is None and steps.item.image is None
    assert "ConvGeometry" not in steps.message_text
    assert not steps.play_button.isEnabled() and not steps.export_button.isEnabled()
    window.geometry_editor.set_values(layer_kind="conv")  # a conv again: its steps
    _settled(qtbot, window)
    _ready(qtbot, steps)
    assert steps.header.text().startswith("On ")
    assert steps.play_button.isEnabled() and steps.export_button.isEnabled()


def test_export_gif_and_mp4_and_errors(qtbot, window, tmp_path):
    _seed(qtbot, window)
    steps = window.steps.open()
    _ready(qtbot, steps)
    written = []
    steps.exported.connect(written.append)
    steps.export_to(tmp_path / "steps.gif")
    qtbot.waitUntil(lambda: len(written) == 1, timeout=TIMEOUT)
    read = iio.imread(tmp_path / "steps.gif", index=None)
    assert read.shape[0] == 9 + 2
    assert "Wrote" in steps.message_text
    steps.export_to(tmp_path / "no" / "such" / "folder" / "a.gif")
    qtbot.waitUntil(lambda: "Export failed" in steps.message_text, timeout=TIMEOUT)
    assert "Traceback" not in steps.message_text
    steps.export_to(tmp_path / "a.png")
    assert ".gif or .mp4" in steps.message_text
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return
    steps.export_to(tmp_path / "steps.mp4")
    qtbot.waitUntil(lambda: len(written) == 2, timeout=TIMEOUT)
    assert iio.imread(tmp_path / "steps.mp4", plugin="FFMPEG", index=None).shape[0] > 9


def test_pinv_without_the_preconditioner_takes_other_steps(qtbot, window):
    _seed(qtbot, window)
    steps = window.steps.open()
    steps.set_mode("pinv")
    _ready(qtbot, steps, "pinv")
    assert steps.precondition_box.isVisible() and not steps.crop_box.isEnabled()
    with_fft = steps.renderer.anim.iterates[1].copy()
    steps.precondition_box.setChecked(False)
    qtbot.waitUntil(lambda: not steps.request.preconditioned and not steps.jobs.busy,
                    timeout=TIMEOUT)  # fmt: skip
    anim = steps.renderer.anim
    assert anim.report.converged and not np.allclose(anim.iterates[1], with_fft)
    # what the solver guarantees, on the frames shown: the error never grows in a phase
    assert np.all(np.diff(anim.error_norms) <= 1e-9 * anim.error_norms[0])


def test_hovering_a_cell_names_it(qtbot, window):
    _seed(qtbot, window)
    steps = window.steps.open()
    _ready(qtbot, steps, "forward")
    layout = steps.renderer.layout
    x, y = 12 + 1.5 * layout.cell, layout.tops[0] + 2.5 * layout.cell
    steps._on_hover(steps.view.mapViewToScene(QtCore.QPointF(x, y)))
    value = window.result.image[2, 1, 0]
    assert steps.hover.text() == f"input x[2, 1, channel 0] = {value:.4g}"
    steps._on_hover(steps.view.mapViewToScene(QtCore.QPointF(-50, -50)))
    assert steps.hover.text().strip() == ""


def test_choices_are_remembered(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)
    first = MainWindow(settings, restore=False)
    steps = first.steps.window
    steps.set_mode("zero-insertion")
    steps.speed_box.setCurrentIndex(0)
    steps.crop_box.setValue(14)
    steps.precondition_box.setChecked(False)
    settings.sync()
    delete_now(first)
    settings = QtCore.QSettings(
        str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat
    )  # as read anew
    second = MainWindow(settings, restore=False)
    again = second.steps.window
    assert again.mode == "zero-insertion" and again.speed_box.currentIndex() == 0
    assert again.crop_box.value() == 14 and not again.precondition_box.isChecked()
    delete_now(second)


def test_the_numbers_read_at_ten_pixels_on_a_laptop(qtbot, window):
    """The default animation (the forward pass on an 8×8 crop) in the window a 1280×800
    screen gives it (1240×740): its cells' numbers are drawn at least 10 px tall (they
    were about 7: the sections stacked made the frame too tall to fit larger)."""
    window.set_work_size(256)
    _settled(qtbot, window)
    steps = window.steps.open()
    steps.resize(1240, 740)
    _ready(qtbot, steps, "forward")
    assert steps.request.crop is not None and max(steps.request.crop[2:]) == 8
    qtbot.waitUntil(lambda: steps.graphics.height() > 500, timeout=TIMEOUT)
    frame_h, frame_w = steps.frame.shape[:2]
    view = steps.graphics
    scale = min(view.width() / frame_w, view.height() / frame_h)
    assert steps.renderer.layout.font.size * scale >= 10, scale
