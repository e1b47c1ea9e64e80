"""The main window, offscreen: panels, live edits, stale results, cancel, bad input.

Every wait is ``qtbot.waitUntil``/``waitSignal`` on a condition, never a sleep; nothing
is timed. Reference results come from calling ``run_pipeline`` directly.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_info

pytest.importorskip("pytestqt")
from qtpy import QtCore, QtGui, QtWidgets

from deconv_gui.core import ConvGeometry, run_pipeline
from deconv_gui.core.threads import limit_blas_threads
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.excepthook import install_excepthook
from deconv_gui.gui.support.qimage import qimage_to_array
from deconv_gui.gui.support.teardown import delete_now, is_deleted
from deconv_gui.view.display import display_spec

pytestmark = pytest.mark.gui
TIMEOUT = 30_000  # ms; generous because the 2 CPU cores are shared


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.result is not None and not win.runner.busy, timeout=TIMEOUT)
    yield win
    delete_now(win)  # closed (timers stopped, worker waited for), then deleted by Qt now


def wait_idle(qtbot, win):
    # the SSIM pass after a live result replaces window.result too: wait for it as well
    qtbot.waitUntil(lambda: win.live.idle, timeout=TIMEOUT)


def test_default_window_shows_four_panels_with_the_right_shapes(window):
    panels = window.panels
    assert panels.visible_names() == ["input", "forward", "transposed", "pinv"]
    assert panels.panel("input").shape == (256, 256, 3)
    assert panels.panel("forward").shape == (128, 128, 1)
    assert panels.panel("transposed").shape == (256, 256, 3)
    assert panels.panel("pinv").shape == (256, 256, 3)
    assert "128×128×1" in panels.panel("forward").title_text
    assert window.result.params.stride == (2, 2) and window.result.params.padding == (1, 1)
    assert window.filter_editor.preset() == "gaussian"
    # what is drawn is what run_pipeline computes (same code path, no GUI-side math)
    reference = run_pipeline(window.loaded.pixels, window.result.params)
    np.testing.assert_array_equal(panels.panel("forward").data, reference.forward_output)
    np.testing.assert_allclose(panels.panel("pinv").data, reference.pinv, atol=1e-6)
    for name in ("input", "forward", "transposed", "pinv"):
        assert panels.panel(name).spec.note  # every panel states its scaling


def test_editing_stride_updates_forward_shape_and_arithmetic(qtbot, window):
    window.geometry_editor.set_values(stride=(3, 3))
    qtbot.waitUntil(lambda: window.result.params.stride == (3, 3), timeout=TIMEOUT)
    expected = ConvGeometry((256, 256, 3), (3, 3, 3, 1), stride=3, padding=1)
    assert window.panels.panel("forward").shape == expected.output_shape == (86, 86, 1)
    text = window.geometry_editor.arithmetic_text()  # may be rich text: compare the parts
    for part in ("256×256×3", "86×86×1", "7,396 equations", "196,608 unknowns"):
        assert part in text


def test_after_rapid_edits_the_last_result_matches_run_pipeline(qtbot, window):
    ids = []
    for stride, padding in ((1, 0), (3, 2), (2, 0), (4, 1), (3, 0)):
        window.geometry_editor.set_values(stride=(stride, stride), padding=(padding, padding))
        ids.append(window.compute_now())  # bypass the debounce: several requests in flight
    wait_idle(qtbot, window)
    final = window.current_params()
    assert window.result.params == final
    assert window.runner.latest_id == ids[-1]
    reference = run_pipeline(window.loaded.pixels, final)
    for name in ("transposed", "pinv"):
        # float32 image; the solver stops at rtol = 1e-8, so 1e-5 absolute is ample
        np.testing.assert_allclose(
            window.panels.panel(name).data, getattr(reference, name), atol=1e-5
        )
    np.testing.assert_array_equal(window.panels.panel("forward").data, reference.forward_output)


def test_cancel_stops_a_long_solve_and_keeps_the_previous_result(qtbot, window):
    window.set_work_size(512)
    qtbot.waitUntil(lambda: window.loaded.pixels.shape[0] == 512, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    previous = window.result
    window.recon_options.set_values(max_iter=5000)
    window.geometry_editor.set_values(stride=(1, 1))
    with qtbot.waitSignal(window.runner.progress, timeout=TIMEOUT):
        pass  # the stride-1 512×512×3 solve is running
    with qtbot.waitSignal(window.runner.cancelled, timeout=TIMEOUT):
        window.recon_options.cancelRequested.emit()
    assert window.result is previous
    assert not window.runner.busy
    assert "cancelled" in window.state_label.text()


def test_a_held_runner_is_busy_until_the_newest_request_is_released(qtbot):
    from deconv_gui.core import Params
    from deconv_gui.gui.pipeline_runner import PipelineRunner

    runner = PipelineRunner(hold_busy=True)
    image = np.linspace(0, 1, 8 * 8 * 3).reshape(8, 8, 3)
    with qtbot.waitSignal(runner.resultReady, timeout=TIMEOUT) as ready:
        rid = runner.compute(image, Params(weights=np.ones((2, 2, 3)), stride=2))
    assert ready.args[0] == rid and runner.busy
    runner.release(rid - 1)  # an older request: ignored
    assert runner.busy
    with qtbot.waitSignal(runner.busyChanged, timeout=TIMEOUT) as changed:
        runner.release(rid)
    assert changed.args == [False] and not runner.busy
    runner.shutdown()


@pytest.mark.parametrize(
    ("name", "content"),
    [("corrupt.png", b"this is not a png"), ("empty.tif", b""), ("notes.txt", b"hello")],
)
def test_bad_file_shows_a_message_and_keeps_the_previous_image(
    qtbot, window, tmp_path, name, content
):
    path = tmp_path / name
    path.write_bytes(content)
    wait_idle(qtbot, window)  # the SSIM pass must not land while the file is read
    before_image, before_result = window.loaded, window.result
    with qtbot.waitSignal(window.messageShown, timeout=TIMEOUT):
        window.load_path(path)  # the file is read off the GUI thread: the message follows
    assert not window.images.busy and window.images.loader.outcome is False
    assert name in window.last_message
    assert window.message_bar.isVisible()
    assert window.loaded is before_image and window.result is before_result


def test_impossible_geometry_shows_a_message_and_keeps_the_panels(qtbot, window):
    window.load_sample("seed_toy")  # 7×7×3: a dilated 3×3 filter can outgrow it
    qtbot.waitUntil(lambda: window.result.image.shape == (7, 7, 3), timeout=TIMEOUT)
    wait_idle(qtbot, window)
    # the second pass (SSIM) replaces the result once: let it land before comparing
    qtbot.waitUntil(lambda: not window.live.metrics_runner.busy, timeout=TIMEOUT)
    before = window.result
    window.geometry_editor.set_values(padding=(0, 0), dilation=(4, 4))  # spans 9 > 7
    qtbot.waitUntil(lambda: "empty output" in window.geometry_editor.arithmetic_text())
    wait_idle(qtbot, window)
    assert window.result is before
    assert window.panels.panel("forward").shape == before.forward_output.shape


def test_a_good_file_and_the_work_size(qtbot, window, tmp_path):
    path = tmp_path / "ramp.npy"
    np.save(path, np.linspace(0, 1, 40 * 30).reshape(40, 30))  # grey, float64
    assert window.load_path(path)
    # a work size only ever shrinks: the small file keeps its own pixels
    qtbot.waitUntil(lambda: window.result.image.shape == (40, 30, 1), timeout=TIMEOUT)
    assert window.filter_editor.weights().shape[2] == 1  # filter followed the channels
    assert "grey" in window.loaded.note and "work size" not in window.loaded.note
    assert "used at its own size" in window.image_controls.info_text()  # the dock says so
    window.set_work_size(16)
    qtbot.waitUntil(lambda: window.result.image.shape == (16, 12, 1), timeout=TIMEOUT)
    # the note and the shape beside it say height first: 40×30 → 16×12 beside 16×12×1
    assert "resized 40×30 → 16×12 (work size)" in window.loaded.note
    info = window.image_controls.info_text()
    assert "16×12×1" in info and "→ 16×12 (work size)" in info
    window.set_work_size(None)
    qtbot.waitUntil(lambda: window.result.image.shape == (40, 30, 1), timeout=TIMEOUT)


def test_paste_an_image_from_the_clipboard(qtbot, window):
    image = QtGui.QImage(30, 20, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor(255, 0, 0))
    QtWidgets.QApplication.clipboard().setImage(image)
    window.set_work_size(None)
    assert window.paste_image()
    qtbot.waitUntil(lambda: window.result.image.shape == (20, 30, 3), timeout=TIMEOUT)
    np.testing.assert_array_equal(window.result.image[0, 0], [1.0, 0.0, 0.0])


def test_the_window_keeps_blas_at_one_thread_per_caller(window):
    """Spinning OpenBLAS threads starved the GUI thread (see gui/worker.py)."""
    with pytest.raises(ValueError, match="threads"):
        limit_blas_threads(0)
    blas = [info for info in threadpool_info() if info["user_api"] == "blas"]
    if not blas:
        pytest.skip("no BLAS library loaded in this process")
    # threadpoolctl asks each library itself (its get_num_threads symbol)
    assert all(info["num_threads"] == 1 for info in blas), blas


def test_qimage_to_array_keeps_pixel_values():
    image = QtGui.QImage(3, 2, QtGui.QImage.Format.Format_ARGB32)
    image.fill(QtGui.QColor(10, 20, 30, 40))
    image.setPixelColor(2, 1, QtGui.QColor(200, 100, 50, 255))
    pixels = qimage_to_array(image)
    assert pixels.shape == (2, 3, 4) and pixels.dtype == np.uint8
    np.testing.assert_array_equal(pixels[1, 2], [200, 100, 50, 255])


def test_view_toggles_and_the_normalised_panel(qtbot, window):
    window.menu_actions.layout_row.trigger()
    assert window.panels.layout_mode == "row"
    window.menu_actions.shared_levels.trigger()
    levels = window.panels.panel("input").spec.levels
    assert window.panels.panel("transposed").spec.levels == levels
    window.menu_actions.scaling_auto.trigger()
    assert "auto" in window.panels.panel("pinv").spec.note or window.panels.shared_levels
    window.recon_options.set_values(
        methods=("transposed", "normalized_transposed", "pinv"), reg=0.1
    )
    qtbot.waitUntil(lambda: window.result.normalized_transposed is not None, timeout=TIMEOUT)
    assert "normalized_transposed" in window.panels.visible_names()
    assert "Tikhonov" in window.panels.panel("pinv").title_text


def test_the_controls_dock_can_be_hidden_and_shown_again(qtbot, window):
    toggle = window.controls_dock.toggleViewAction()
    assert toggle.isEnabled() and toggle.isChecked()  # Qt disables it for an unclosable dock
    toggle.trigger()
    assert not window.controls_dock.isVisible()
    toggle.trigger()
    assert window.controls_dock.isVisible()


def test_status_bar_reads_every_panel_at_the_corresponding_pixel(window):
    window.panels.hovered.emit("input", 87, 131, -1)  # what moving the mouse there does
    text = window.readout.text()
    assert text.startswith("x=131 y=87")
    for part in ("input (", "y[", "Aᵀ (", "A⁺ ("):
        assert part in text


def test_a_long_status_message_ends_in_an_ellipsis_and_is_whole_in_the_tooltip(qtbot, window):
    message = "Loaded a photo through " + "a_model_with_a_very_long_layer_path/" * 12 + "Conv"
    window.show_message(message, error=False)
    readout = window.readout
    qtbot.waitUntil(lambda: readout.text() == message, timeout=TIMEOUT)
    assert readout.is_elided() and readout.shown_text().endswith("…")
    assert readout.current_tooltip().startswith(message)
    window.panels.hovered.emit("input", 3, 4, -1)  # a short read-out: whole, own tooltip
    assert not readout.is_elided()
    assert readout.current_tooltip() == readout.toolTip()


def test_display_rules():
    # what a panel means chooses the colormap: a filter with both signs gives signed outputs
    signed = np.array([[-2.0, 1.0], [0.5, 0.0]])[:, :, None]
    for kind in ("forward", "adjoint"):
        spec = display_spec(signed, kind, signed_filter=True)
        assert spec.colormap == "diverging" and spec.levels == (-2.0, 2.0), kind
    # ... a blur's output is an intensity, grey whatever its values (noise below 0)
    spec = display_spec(signed, "forward")
    assert spec.colormap == "grey" and spec.levels == (-2.0, 1.0)
    photo = np.array([[-0.061, 1.05], [0.5, 0.2]])[:, :, None]
    spec = display_spec(photo, "forward")
    assert spec.colormap == "grey" and spec.levels == (-0.061, 1.05)
    # a reconstruction estimates the image, even with a signed filter; the lost part is signed
    spec = display_spec(signed, "reconstruction", scaling="auto", signed_filter=True)
    assert spec.colormap == "grey"
    tiny = np.array([[-1e-9, 1.0], [0.5, 0.2]])[:, :, None]
    assert display_spec(tiny, "signed").colormap == "diverging"
    rgb = np.random.default_rng(0).uniform(-0.2, 1.5, (4, 4, 3))
    clip = display_spec(rgb, "reconstruction", scaling="clip", reference_range=(0.0, 1.0))
    assert clip.levels == (0.0, 1.0) and "clipped to the input range" in clip.note
    auto = display_spec(rgb, "reconstruction", scaling="auto", reference_range=(0.0, 1.0))
    assert auto.levels[1] > 1.0 and "auto" in auto.note
    dim = display_spec(rgb * 0.01, "adjoint", scaling="clip", reference_range=(0.0, 1.0))
    assert dim.levels[1] == pytest.approx(rgb.max() * 0.01)  # never black by accident
    many = display_spec(np.zeros((3, 3, 5)), "forward", channel=4)
    assert many.image.shape == (3, 3) and "channel 4 of 5" in many.note
    with pytest.raises(ValueError, match="kind"):
        display_spec(signed, "nonsense")


def test_excepthook_shows_a_message_box_and_keeps_running(qtbot, window):
    previous = install_excepthook(lambda: window)
    try:
        sys.excepthook(RuntimeError, RuntimeError("boom"), None)
        boxes = [
            w
            for w in QtWidgets.QApplication.topLevelWidgets()
            if isinstance(w, QtWidgets.QMessageBox) and "boom" in w.text()
        ]
        assert boxes and boxes[0].isVisible()
        boxes[0].close()
        QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
        assert is_deleted(boxes[0])  # not one more of the window's windows
    finally:
        sys.excepthook = previous


def test_settings_are_remembered(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "remember.ini"), QtCore.QSettings.Format.IniFormat)
    first = MainWindow(settings, restore=True)
    try:
        first.geometry_editor.set_values(stride=(3, 3))
        first.filter_editor.set_preset("box")
        first.menu_actions.layout_row.trigger()
        first.close()  # saves the settings
    finally:
        delete_now(first)
    second = MainWindow(settings, restore=True)
    try:
        assert second.geometry_editor.stride() == (3, 3)
        assert second.filter_editor.preset() == "box"
        assert second.panels.layout_mode == "row"
    finally:
        delete_now(second)


def test_signed_output_note_is_shown_as_text_not_markup(qtbot, window):
    # "blue < 0 < red" in a rich-text label once opened an HTML tag and showed only "blue"
    window.filter_editor.set_preset("sobel_x")
    wait_idle(qtbot, window)
    label = window.panels.panel("forward").subtitle_label
    document = QtGui.QTextDocument()
    document.setHtml(label.text())
    assert "blue < 0 < red" in document.toPlainText()


def test_narrow_panels_keep_a_slim_levels_bar_and_say_when_there_is_none(qtbot, window):
    panel = window.panels.panel("input")  # a wide picture: it fills a narrow panel's width
    histogram, note = panel.histogram, panel.levels.note
    panel.resize(500, 300)
    assert panel.levels.mode == "full" and histogram.isVisible() and histogram.axis.isVisible()
    panel.resize(220, 400)  # the full bar would cost the picture: slim, without numbers
    assert panel.levels.mode == "compact" and histogram.isVisible()
    assert not histogram.axis.isVisible() and not note.isVisible()
    qtbot.waitUntil(lambda: panel.levels_view.width() <= 30, timeout=5_000)
    panel.resize(110, 400)  # no room: none, and the panel says so
    assert panel.levels.mode == "hidden" and not histogram.isVisible()
    assert note.isVisible() and "too narrow" in note.toolTip()
    panel.resize(500, 300)
    assert panel.levels.mode == "full" and histogram.isVisible() and not note.isVisible()


@pytest.mark.parametrize("shape", [(40, 40), (40, 120), (120, 40), (60, 50), (30, 90)])
def test_the_no_levels_note_never_covers_the_image(qtbot, shape):
    """In a panel too narrow for its levels bar the note "no levels" sits in a right
    corner the letterboxed image leaves free, top or bottom; where the image fills both
    corners (its aspect close to the picture's) there is none, rather than one over it."""
    from deconv_gui.gui.panels.image_panel import ImagePanel
    from deconv_gui.view.display import display_spec

    panel = ImagePanel("forward")
    qtbot.addWidget(panel)
    data = np.random.default_rng(0).random((*shape, 1))
    panel.show_array(data, display_spec(data, "forward"))
    panel.show()
    qtbot.waitExposed(panel)
    for size in ((110, 400), (110, 160), (118, 130), (100, 110)):
        panel.resize(*size)
        panel.fit()
        qtbot.waitUntil(lambda: panel.levels.mode == "hidden", timeout=5_000)
        QtWidgets.QApplication.processEvents()
        note, drawn = panel.levels.note, panel.levels.image_rect()
        assert drawn is not None and drawn.width() > 0
        if note.isVisible():
            assert not note.geometry().intersects(drawn), (shape, size)
        else:  # none only when the image reaches into both right corners
            width, height = panel.graphics.width(), panel.graphics.height()
            assert drawn.right() >= width - 4 - note.width(), (shape, size)
            assert drawn.top() <= 4 + note.height(), (shape, size)
            assert drawn.bottom() >= height - 4 - note.height(), (shape, size)
    # a wide image in a tall, narrow panel: room above it, the note is there
    if shape == (40, 120):
        panel.resize(110, 400)
        panel.fit()
        qtbot.waitUntil(lambda: panel.levels.note.isVisible(), timeout=5_000)
