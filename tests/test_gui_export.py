"""The window side of export, sessions and "Copy as code", offscreen.

Dialogs are never executed: the tests call the methods that do the work
(``export_to``, ``save_session_to``, ``open_session``, ``make_code_dialog``) and
monkeypatch ``QMessageBox.question``/``QDialog.exec``. Every wait is on a condition.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore, QtGui, QtWidgets

from deconv_gui.core import registry, run_pipeline
from deconv_gui.gui.actions.export import window_panel
from deconv_gui.gui.dialogs import export as export_dialog
from deconv_gui.gui.dialogs.code import PLACEHOLDER_IMAGE, code_summary
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.panels.capture import displayed_pixels
from deconv_gui.gui.support.qimage import qimage_to_array
from deconv_gui.gui.support.teardown import delete_now
from deconv_gui.io.export import panel_arrays
from deconv_gui.io.render import render_panel

pytestmark = pytest.mark.gui
TIMEOUT = 30_000  # ms; generous because the 2 CPU cores are shared
ALL_FILES = 4 * 3 + 3  # four panels × (npy, tif, png) + figure.png + figure.svg + params.json


def _idle(qtbot, win):
    qtbot.waitUntil(
        lambda: win.result is not None and win.live.idle,
        timeout=TIMEOUT,
    )


@pytest.fixture
def make_window(qtbot, tmp_path):
    made = []

    def make(name="settings"):
        settings = QtCore.QSettings(
            str(tmp_path / f"{name}.ini"), QtCore.QSettings.Format.IniFormat
        )
        win = MainWindow(settings, restore=False)
        qtbot.addWidget(win)
        win.show()
        made.append(win)
        _idle(qtbot, win)
        return win

    yield make
    for win in made:
        delete_now(win)  # closed (debounce stopped, worker waited for), then deleted now


@pytest.fixture
def window(make_window):
    return make_window()


def _read_png(path) -> np.ndarray:
    image = QtGui.QImage(str(path))
    assert not image.isNull(), path
    return qimage_to_array(image)


def _snapshot(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# ----------------------------------------------------------------------------------- export
def test_export_round_trip_from_the_window(window, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = window.result
    written = window.export_to(out)
    assert written is not None and len(written) == ALL_FILES
    assert "Exported 15 files" in window.last_message
    assert window.open_folder_button.isVisibleTo(window)
    arrays = panel_arrays(result)
    assert list(arrays) == ["input", "forward_output", "transposed", "pinv"]
    for name, array in arrays.items():
        np.testing.assert_array_equal(np.load(out / f"{name}.npy"), array)  # exact
        import tifffile

        np.testing.assert_array_equal(tifffile.imread(out / f"{name}.tif"), array)
        png = _read_png(out / f"{name}.png")
        assert png.shape[:2] == array.shape[:2]
        panel = window_panel(window.panels, name)
        np.testing.assert_array_equal(png[:, :, :3], displayed_pixels(panel))
    # independent reference for "as displayed": the RGB input with its levels is
    # clip((x − low) / (high − low)) · 255; pyqtgraph rounds its own way (±1 level)
    low, high = window.panels.panel("input").histogram.getLevels()
    expected = np.clip((result.image - low) / (high - low), 0, 1) * 255
    assert np.abs(_read_png(out / "input.png")[:, :, :3] - expected).max() <= 1.0
    document = json.loads((out / "params.json").read_text())
    assert document["params"]["stride"] == [2, 2]
    assert np.array_equal(document["params"]["weights"], result.params.weights)
    assert document["image"]["source"] == "astronaut" and len(document["image"]["sha256"]) == 64
    assert document["metrics"]["shapes"]["forward_output"] == [128, 128, 1]
    display = document["extra"]["display"]
    assert display["scaling"] == "clip"
    assert display["panels"]["input"]["levels"] == pytest.approx([low, high])
    assert sorted(document["files"]) == sorted(p.name for p in written)
    figure = _read_png(out / "figure.png")
    assert figure.shape[1] > 4 * 200 and figure.std() > 10  # four panels, not blank
    svg = (out / "figure.svg").read_text()
    assert "<svg" in svg and svg.count("<image") >= 4
    assert window.settings.value("folders/export") == str(out.resolve())


def test_a_png_from_the_command_line_looks_like_the_window(qtbot, window):
    # every panel, the lost-information ones too (the signed "lost" panel among them)
    window.insight.set_panels_visible(True)
    qtbot.waitUntil(lambda: window.result.nullspace is not None, timeout=TIMEOUT)
    _idle(qtbot, window)
    result = window.result
    for name, array in panel_arrays(result).items():
        spec = registry.panel_for_export_name(name)
        headless = render_panel(array, spec.display, result.image)  # what the CLI writes
        shown = displayed_pixels(window_panel(window.panels, name)).astype(int)
        # pyqtgraph rounds levels and colormap lookups its own way: one step at most
        assert np.abs(shown - headless).max() <= 1, name


def test_existing_files_are_not_overwritten_without_asking(window, tmp_path, monkeypatch):
    assert window.export_to(tmp_path, formats=("npy",), figure=False)
    before = _snapshot(tmp_path)
    questions = []

    def answer(reply):
        def question(parent, title, text, *args):
            questions.append(text)
            return reply

        return question

    monkeypatch.setattr(
        QtWidgets.QMessageBox, "question", answer(QtWidgets.QMessageBox.StandardButton.No)
    )
    assert window.export_to(tmp_path, formats=("npy",), figure=False) is None
    assert len(questions) == 1 and "Overwrite 5 files" in questions[0]
    assert _snapshot(tmp_path) == before  # params.json (with its timestamp) untouched
    assert "no file was written" in window.last_message
    monkeypatch.setattr(
        QtWidgets.QMessageBox, "question", answer(QtWidgets.QMessageBox.StandardButton.Yes)
    )
    assert len(window.export_to(tmp_path, formats=("npy",), figure=False)) == 5
    assert len(questions) == 2


def test_unwritable_folder_shows_a_message_and_writes_nothing(window, tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("not a folder")
    assert window.export_to(plain / "sub") is None
    assert "nothing was written" in window.last_message and "sub" in window.last_message
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".ini") == ["plain.txt"]


def test_export_before_any_result_shows_a_message(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)  # the first result is still being computed
    try:
        assert win.result is None
        assert win.export_to(tmp_path) is None
        assert "Nothing to export" in win.last_message
        win.export()  # no dialog either
        assert "Nothing to export" in win.last_message
        assert [p.name for p in tmp_path.iterdir() if p.suffix != ".ini"] == []
    finally:
        _idle(qtbot, win)
        delete_now(win)


def test_export_dialog_collects_and_remembers_choices(window, tmp_path, monkeypatch):
    out = tmp_path / "chosen"
    out.mkdir()
    dialog = window.make_export_dialog()
    assert list(dialog.panel_checks) == ["input", "forward_output", "transposed", "pinv"]
    ok = dialog.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok)
    for check in dialog.panel_checks.values():
        check.setChecked(False)
    assert not ok.isEnabled()  # nothing to export
    dialog.panel_checks["pinv"].setChecked(True)
    dialog.format_checks["tif"].setChecked(False)
    dialog.figure_check.setChecked(False)
    dialog.folder_edit.setText(str(out))
    assert ok.isEnabled()
    choices = dialog.choices()
    assert choices.panels == ("pinv",) and choices.formats == ("png", "npy")
    dialog.close()

    # the menu action: the dialog's exec is bypassed, its choices are used and remembered
    def fake_exec(self):
        self.folder_edit.setText(str(out))
        for name, check in self.panel_checks.items():
            check.setChecked(name == "pinv")
        self.format_checks["tif"].setChecked(False)
        self.figure_check.setChecked(False)
        self.accept()  # Export: writes the files, closes on success
        return self.result()

    monkeypatch.setattr(export_dialog.ExportDialog, "exec", fake_exec)
    window.menu_actions.export.trigger()
    assert sorted(p.name for p in out.iterdir()) == ["params.json", "pinv.npy", "pinv.png"]
    again = window.make_export_dialog()
    assert again.folder_edit.text() == str(out.resolve())
    assert again.choices().panels == ("pinv",) and not again.figure_check.isChecked()
    again.close()


# ---------------------------------------------------------------------------------- sessions
def _customise(qtbot, win):
    win.filter_editor.set_preset("sharpen")
    win.filter_editor.set_weight(0, 0, 0, 0.25)  # a custom value, not a preset
    win.geometry_editor.set_values(stride=(3, 2), padding=(0, 1))
    win.recon_options.set_values(reg=3.7e-4, noise_sigma=0.01, noise_seed=5, max_iter=77)
    win.menu_actions.layout_row.setChecked(True)
    _idle(qtbot, win)


def test_session_round_trip_into_a_fresh_window(qtbot, make_window, tmp_path):
    first = make_window("first")
    first.load_sample("coffee")
    _idle(qtbot, first)
    _customise(qtbot, first)
    saved = first.save_session_to(tmp_path / "mine")  # the suffix is added
    assert saved == tmp_path / "mine.deconv.json" and saved.is_file()
    second = make_window("second")
    assert second.open_session(saved) is True
    _idle(qtbot, second)
    assert second.current_params() == first.current_params()
    assert second.result.params == first.result.params
    np.testing.assert_array_equal(second.loaded.pixels, first.loaded.pixels)
    assert second.panels.layout_mode == "row"
    assert "Opened session mine.deconv.json" in second.last_message


def test_session_with_an_image_file_and_drag_and_drop(qtbot, make_window, tmp_path):
    image = tmp_path / "ramp.npy"
    np.save(image, np.linspace(0, 1, 30 * 20).reshape(30, 20))
    first = make_window("first")
    first.set_work_size(None)
    assert first.load_path(image)
    _idle(qtbot, first)
    first.geometry_editor.set_values(stride=(1, 1))
    _idle(qtbot, first)
    saved = first.save_session_to(tmp_path / "file.deconv.json")
    second = make_window("second")
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(saved))])
    assert second.images.load_mime(mime, "dropped file") is True  # what a drop does
    _idle(qtbot, second)
    assert second.current_params() == first.current_params()
    assert second.result.image.shape == (30, 20, 1)
    np.testing.assert_array_equal(second.loaded.pixels, first.loaded.pixels)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "corrupt JSON"),
        ('{"schema": "deconv_gui.session", "version": 99}', "newer"),
        ('{"schema": "something else"}', "not a deconv_gui session"),
    ],
)
def test_bad_session_shows_a_message_and_keeps_the_state(qtbot, window, tmp_path, content, reason):
    _customise(qtbot, window)
    before_params, before_image, before_result = (
        window.current_params(),
        window.loaded,
        window.result,
    )
    path = tmp_path / "bad.deconv.json"
    path.write_text(content)
    assert window.open_session(path) is False
    assert reason in window.last_message and "nothing changed" in window.last_message
    assert window.current_params() == before_params
    assert window.loaded is before_image and window.result is before_result


def test_missing_image_file_is_reported_and_the_rest_restored(qtbot, make_window, tmp_path):
    image = tmp_path / "gone.npy"
    np.save(image, np.random.default_rng(0).random((24, 24, 3)))
    first = make_window("first")
    assert first.load_path(image)
    _idle(qtbot, first)
    _customise(qtbot, first)
    saved = first.save_session_to(tmp_path / "s.deconv.json")
    expected = first.current_params()
    image.unlink()
    second = make_window("second")  # shows the astronaut (3 channels, like the lost image)
    astronaut = second.loaded
    assert second.open_session(saved) is False
    assert "missing" in second.last_message and "gone.npy" in second.last_message
    assert "restored on the current image" in second.last_message
    _idle(qtbot, second)
    assert second.loaded is astronaut
    restored = second.current_params()
    np.testing.assert_array_equal(restored.weights, expected.weights)
    for field in ("stride", "padding", "dilation", "reg", "noise_sigma", "max_iter", "bias"):
        assert getattr(restored, field) == getattr(expected, field), field
    assert second.result.params == restored


def test_pasted_image_session_says_the_image_is_not_stored(qtbot, window, tmp_path):
    image = QtGui.QImage(12, 10, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor(0, 128, 255))
    QtWidgets.QApplication.clipboard().setImage(image)
    assert window.paste_image()
    _idle(qtbot, window)
    saved = window.save_session_to(tmp_path / "pasted.deconv.json")
    assert "cannot be stored in a session" in window.last_message
    stored = json.loads(saved.read_text())
    assert stored["image"]["kind"] == "array"
    assert stored["image"]["shape"] == list(window.loaded.pixels.shape)
    window.load_sample("astronaut")
    _idle(qtbot, window)
    assert window.open_session(saved) is False
    assert "pasted or dropped" in window.last_message


# ------------------------------------------------------------------------------------- code
def test_copy_as_code_puts_compilable_code_on_the_clipboard(qtbot, window, tmp_path):
    window.geometry_editor.set_values(stride=(3, 3))
    _idle(qtbot, window)
    dialog = window.make_code_dialog()
    try:
        assert dialog.image_path == PLACEHOLDER_IMAGE  # a sample is not in a .npy file
        assert "pseudo-inverse A⁺(y − b)" in dialog.summary.text()
        for lang in ("numpy", "api", "torch"):
            dialog.select(lang)
            text = dialog.copy_current()
            assert QtWidgets.QApplication.clipboard().text() == text
            compile(text, f"<{lang}>", "exec")
            assert "stride, padding, dilation = (3, 3), (1, 1), (1, 1)" in text
        saved = dialog.save_input_to(tmp_path / "input")
        assert saved == tmp_path / "input.npy"
        np.testing.assert_array_equal(np.load(saved), window.loaded.pixels)
        dialog.select("numpy")
        text = dialog.text()
        assert repr(str(saved.resolve())) in text
        # run the NumPy-only script: it reproduces the window's forward output
        namespace: dict = {"__name__": "snippet"}
        exec(compile(text, "<numpy>", "exec"), namespace)
        reference = run_pipeline(window.loaded.pixels, window.current_params())
        # float32 sums in another order: agree to float32 rounding
        np.testing.assert_allclose(namespace["y"], reference.forward_output, rtol=1e-5, atol=1e-6)
        assert namespace["x_pinv"].shape == reference.pinv.shape  # and the pseudo-inverse
        script = dialog.save_code_to(tmp_path / "script")
        assert script.read_text() == text and script.suffix == ".py"
        assert window.settings.value("folders/code") == str(tmp_path.resolve())
    finally:
        dialog.close()


def test_copy_as_code_writes_a_layer_with_its_activation(qtbot, window, tmp_path):
    methods = ("transposed", "pinv", "deconvnet", "guided_backprop")
    params = window.current_params().replace(activation="leaky_relu", methods=methods)
    window.apply_params(params)
    _idle(qtbot, window)
    dialog = window.make_code_dialog()
    assert dialog is not None  # it used to refuse a layer with an activation
    try:
        assert "leaky_relu(A x + b)" in dialog.summary.text()
        saved = dialog.save_input_to(tmp_path / "input")
        dialog.select("numpy")
        text = dialog.text()
        assert repr(str(saved.resolve())) in text
        namespace: dict = {"__name__": "snippet"}
        exec(compile(text, "<numpy>", "exec"), namespace)
        reference = run_pipeline(window.loaded.pixels, window.current_params())
        for name, variable in (("forward_output", "y"), ("deconvnet", "x_deconvnet")):
            expected = getattr(reference, name)
            np.testing.assert_allclose(namespace[variable], expected, rtol=1e-5, atol=1e-5)
    finally:
        dialog.close()


def test_copy_as_code_summary_names_every_method():
    from deconv_gui.core import Params, make_filter

    params = Params(make_filter("gaussian"), methods=registry.ALL_METHODS)
    text = code_summary(params)
    for words in ("y = A x + b", "A⁺(y − b)", "Richardson–Lucy", "coverage", "x − A⁺Ax"):
        assert words in text
    assert "A⁺" not in code_summary(params.replace(methods=("transposed",)))


def test_copy_as_code_uses_a_matching_npy_file(qtbot, window, tmp_path):
    path = tmp_path / "image.npy"
    np.save(path, np.random.default_rng(1).random((20, 16, 3)))
    window.set_work_size(None)
    assert window.load_path(path)
    _idle(qtbot, window)
    dialog = window.make_code_dialog()
    try:
        assert dialog.image_path == str(path.resolve())
        assert not dialog.text("torch").count(PLACEHOLDER_IMAGE)
    finally:
        dialog.close()


def test_new_actions_have_shortcuts_and_tooltips(window):
    actions = window.menu_actions
    expected = {
        actions.export: "Ctrl+E",
        actions.save_session: "Ctrl+S",
        actions.open_session: "Ctrl+Shift+O",
        actions.copy_code: "Ctrl+Shift+C",
    }
    for action, keys in expected.items():
        assert action.shortcut().toString() == keys
        assert len(action.toolTip()) > 20 and keys in action.toolTip()
    dialog = window.make_export_dialog()
    widgets = [*dialog.panel_checks.values(), *dialog.format_checks.values()]
    widgets += [dialog.figure_check, dialog.folder_edit]
    assert all(w.toolTip() for w in widgets)
    dialog.close()
