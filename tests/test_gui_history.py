"""Undo and redo of every edit (Edit → Undo / Redo / History), offscreen.

Random edits through the widgets (filter cells, presets, kernel size, C_out, the
same-in-all box, seed, stride / padding / dilation / padding mode, options, methods,
the Insight panels, samples, work size); undoing everything must give back exactly the
first ``Params`` and image, redoing everything exactly the last, and nothing may be
recorded while undoing. A slider drag and a burst of typing are one step each. Seeded:
a failure replays. Nothing is timed.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore, QtGui, QtWidgets

from deconv_gui.core import PRESETS
from deconv_gui.gui.actions import history as history_module
from deconv_gui.gui.dialogs.shortcuts import shortcut_rows
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 60_000  # ms; generous because the 2 CPU cores are shared


@pytest.fixture
def win(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "history.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(settings, restore=False)
    window.show()
    _idle(qtbot, window)
    window.set_work_size(24)  # the history is about state, not speed
    _idle(qtbot, window)
    window.history.reset()
    yield window
    delete_now(window)


def _idle(qtbot, window):
    qtbot.waitUntil(lambda: window.result is not None and window.live.idle, timeout=TIMEOUT)


def _state(window):
    """Everything undo must give back."""
    editor = window.filter_editor
    return (
        window.current_params(),
        window.loaded,
        window.image_controls.work_size(),
        editor.preset(),
        editor.seed(),
        editor.same_in_all_channels(),
        window.insight.panels_action.isChecked(),
    )


def _assert_same_state(got, expected):
    params, image, *rest = got
    assert params.to_dict() == expected[0].to_dict()
    assert params == expected[0]
    np.testing.assert_array_equal(image.pixels, expected[1].pixels)
    assert image.source == expected[1].source
    assert rest == list(expected[2:])


def _pick(combo: QtWidgets.QComboBox, index: int) -> None:
    """What a user's pick in a combo box does (its current index, then ``activated``)."""
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def _edit(rng: np.random.Generator, win: MainWindow) -> None:
    """One random edit through a widget, as a user would make it."""
    editor, geometry, options = win.filter_editor, win.geometry_editor, win.recon_options
    kind = int(rng.integers(18))
    if kind == 0:  # a preset from the combo
        combo = editor.findChild(QtWidgets.QComboBox, "preset")
        _pick(combo, combo.findData(str(rng.choice(PRESETS))))
    elif kind == 1:  # a typed filter cell
        fh, fw, c_in, _ = editor.weights().shape
        grid = editor.grid(int(rng.integers(c_in)))
        grid.set_cell_text(int(rng.integers(fh)), int(rng.integers(fw)), f"{rng.normal():.3f}")
    elif kind == 2:
        editor.findChild(QtWidgets.QSpinBox, "size_h").setValue(int(rng.integers(1, 6)))
    elif kind == 3:
        editor.findChild(QtWidgets.QCheckBox, "same").click()
    elif kind == 4:
        editor.findChild(QtWidgets.QSpinBox, "c_out").setValue(int(rng.integers(1, 4)))
    elif kind == 5:
        editor.findChild(QtWidgets.QSpinBox, "seed").setValue(int(rng.integers(50)))
    elif kind == 6:
        name = str(rng.choice(["stride", "padding", "dilation"]))
        pair = geometry.pair_control(name)
        if rng.integers(4) == 0:
            pair.link.click()  # separate (or link again) height and width
        spin = pair.w_spin if pair.w_spin.isVisible() and rng.integers(2) else pair.h_spin
        spin.setValue(int(rng.integers(1, 4)) - (name == "padding"))
    elif kind == 7:
        _pick(geometry.mode_control(), int(rng.integers(geometry.mode_control().count())))
    elif kind == 8:
        checks = [c for c in options.findChildren(QtWidgets.QCheckBox) if c.isEnabled()]
        checks[int(rng.integers(len(checks)))].click()
    elif kind == 9:
        options.findChild(QtWidgets.QSlider, "reg").setValue(int(rng.integers(0, 12)))
    elif kind == 10:
        spin = options.findChild(QtWidgets.QSpinBox, str(rng.choice(["max_iter", "noise_seed"])))
        spin.setValue(int(rng.integers(0, 300)))
    elif kind == 11:
        noise = options.findChild(QtWidgets.QDoubleSpinBox, "noise_sigma")
        noise.setValue(float(rng.choice([0.0, 0.01, 0.02])))
    elif kind == 12:
        _pick(options.findChild(QtWidgets.QComboBox, "rtol"), int(rng.integers(3)))
    elif kind == 13:
        win.insight.panels_action.trigger()
    elif kind == 15:  # true convolution, or the channels (groups) choice
        if rng.integers(2):
            editor.findChild(QtWidgets.QCheckBox, "flip").click()
        else:
            combo = editor.findChild(QtWidgets.QComboBox, "groups")
            _pick(combo, int(rng.integers(combo.count())))
    elif kind == 16:  # the prior's λ slider, iterations, x ≥ 0
        which = int(rng.integers(3))
        if which == 0:
            slider = win.controls_dock.findChild(QtWidgets.QSlider, "prior_lam")
            slider.setValue(int(rng.integers(slider.minimum(), slider.maximum() + 1)))
        elif which == 1:
            win.controls_dock.findChild(QtWidgets.QSpinBox, "prior_iter").setValue(
                int(rng.integers(1, 50))
            )
        else:
            win.controls_dock.findChild(QtWidgets.QCheckBox, "prior_nonneg").click()
    elif kind == 17:
        options.findChild(QtWidgets.QAbstractSpinBox, "photons").setValue(
            float(rng.choice([0, 1e3]))
        )
    else:
        combo = win.image_controls.findChild(QtWidgets.QComboBox, "sample")
        _pick(combo, combo.findData(str(rng.choice(["seed_toy", "camera", "coffee", "astronaut"]))))
    if rng.integers(3) == 0:
        win.history.end_burst()  # otherwise a quick edit of the same number merges


@pytest.mark.parametrize("seed", [1, 2])
def test_undo_everything_then_redo_everything_after_random_edits(qtbot, win, seed):
    rng = np.random.default_rng(20261127 + seed)
    stack = win.history.stack
    first = _state(win)
    for _ in range(60):
        _edit(rng, win)
        qtbot.wait(int(rng.integers(0, 3)))  # events flow (and commit the edit)
    # a valid geometry at the end, so that the last state computes
    win.geometry_editor.set_values(stride=(2, 2), padding=(1, 1), dilation=(1, 1))
    _idle(qtbot, win)
    last = _state(win)
    steps = stack.count()
    assert 10 < steps <= history_module.UNDO_LIMIT

    pushed = []

    def on_index(index):
        pushed.append((index, stack.count()))

    stack.indexChanged.connect(on_index)
    while win.history_actions.undo.isEnabled():
        win.history_actions.undo.trigger()
        qtbot.wait(int(rng.integers(0, 2)))
    stack.indexChanged.disconnect(on_index)
    assert stack.index() == 0 and stack.count() == steps
    _idle(qtbot, win)  # the computations that undo started record nothing either
    assert stack.index() == 0 and stack.count() == steps
    assert [count for _index, count in pushed] == [steps] * steps
    _assert_same_state(_state(win), first)
    assert win.result.params.to_dict() == first[0].to_dict()  # the panels show it too

    while win.history_actions.redo.isEnabled():
        win.history_actions.redo.trigger()
    _idle(qtbot, win)
    assert stack.index() == stack.count() == steps
    _assert_same_state(_state(win), last)
    assert win.result.params.to_dict() == last[0].to_dict()


def test_each_step_goes_back_exactly_one_edit(qtbot, win):
    rng = np.random.default_rng(7)
    states = [_state(win)]
    for _ in range(25):
        count = win.history.stack.count()
        _edit(rng, win)
        win.history.end_burst()
        qtbot.wait(1)
        if win.history.stack.count() > count:
            states.append(_state(win))
        else:  # nothing changed (a value picked again) or merged: the same step
            states[-1] = _state(win)
    assert win.history.stack.count() == len(states) - 1
    for expected in reversed(states[:-1]):
        win.history.undo()
        _assert_same_state(_state(win), expected)
    for expected in states[1:]:
        win.history.redo()
        _assert_same_state(_state(win), expected)


def _document(win: MainWindow):
    """The window's document as the widgets show it now (a snapshot)."""
    return win.sync.read().copy()


def _same_document(got, expected) -> None:
    assert got.to_dict()["layers"] == expected.to_dict()["layers"]
    assert got.layers == expected.layers and got.selected == expected.selected
    assert got.image == expected.image


def test_undo_and_redo_give_back_the_document_of_every_step(qtbot, win):
    rng = np.random.default_rng(19)
    documents = [_document(win)]
    for _ in range(30):
        count = win.history.stack.count()
        _edit(rng, win)
        win.history.end_burst()
        qtbot.wait(1)
        if win.history.stack.count() > count:
            documents.append(_document(win))
        else:  # nothing changed, or merged into the step on top
            documents[-1] = _document(win)
    assert win.history.stack.count() == len(documents) - 1 > 5
    command = win.history.stack.command(len(documents) - 2)
    _same_document(command.after.document, documents[-1])  # the steps hold documents
    for expected in reversed(documents[:-1]):
        win.history.undo()
        _same_document(_document(win), expected)
        assert win.document.params == expected.params  # the document follows the widgets
    for expected in documents[1:]:
        win.history.redo()
        _same_document(_document(win), expected)


def test_a_step_that_cannot_be_shown_leaves_the_document_and_the_history_where_they_were(
    qtbot, win, monkeypatch
):
    win.geometry_editor.pair_control("stride").h_spin.setValue(3)
    win.history.end_burst()
    qtbot.wait(1)
    shown = _document(win)

    def refuse(_snapshot):
        raise ValueError("a widget refused the value")

    monkeypatch.setattr(win.history, "_show", refuse)
    win.history.undo()
    assert "Could not go back to that step: a widget refused the value" in win.last_message
    _same_document(_document(win), shown)
    assert win.history.stack.index() == 1  # still at the step the window shows
    monkeypatch.undo()
    win.history.undo()  # and it works again once the step can be shown
    assert win.geometry_editor.stride() == (2, 2) and win.history.stack.index() == 0


def test_menu_texts_name_the_edit(qtbot, win):
    actions = win.history_actions
    assert not actions.undo.isEnabled() and actions.undo.text() == "&Undo"
    assert actions.undo.shortcut() == QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Undo)
    assert QtGui.QKeySequence("Ctrl+Shift+Z") in actions.redo.shortcuts()
    edit_menu = win.menu_actions.edit_menu
    assert edit_menu.actions()[:3] == [actions.undo, actions.redo, actions.history]
    win.geometry_editor.pair_control("stride").h_spin.setValue(3)
    qtbot.wait(1)
    assert actions.undo.text() == "&Undo stride 2 → 3"
    win.history.undo()
    assert win.geometry_editor.stride() == (2, 2)
    assert actions.redo.text() == "&Redo stride 2 → 3"
    assert actions.undo.text() == "&Undo" and not actions.undo.isEnabled()
    win.history.redo()
    assert win.geometry_editor.stride() == (3, 3)
    combo = win.filter_editor.findChild(QtWidgets.QComboBox, "preset")
    _pick(combo, combo.findData("sobel_x"))
    qtbot.wait(1)
    assert actions.undo.text() == "&Undo preset Gaussian → Sobel x"
    # Help → Keyboard shortcuts says what the keys do, not the step of the moment
    rows = {key: what for _section, keys, what in shortcut_rows(win) for key in keys.split(" / ")}
    assert rows["Ctrl+Z"] == "Undo the last edit" and rows["Ctrl+H"] == "History"
    assert rows["Ctrl+Shift+Z"] == "Redo the undone edit"


def test_a_slider_drag_is_one_step(qtbot, win):
    slider = win.recon_options.findChild(QtWidgets.QSlider, "reg")
    stack = win.history.stack
    slider.setSliderDown(True)  # emits sliderPressed, as a mouse press on the handle
    for position in (1, 2, 3, 5, 8, 9, 12, 10):
        slider.setValue(position)
        qtbot.wait(5)  # the drag goes on across event-loop passes and computations
    assert stack.count() == 1  # one step, growing while held
    slider.setSliderDown(False)  # sliderReleased
    assert stack.count() == 1
    assert stack.undoText() == f"reg 0 → {win.recon_options.reg():.4g}"
    # a second drag is a second step, even straight after the first
    slider.setSliderDown(True)
    for position in (7, 4):
        slider.setValue(position)
        qtbot.wait(5)
    slider.setSliderDown(False)
    assert stack.count() == 2
    win.history.undo()
    win.history.undo()
    assert win.recon_options.reg() == 0.0 and stack.index() == 0


def test_a_drag_back_to_its_start_is_no_step(qtbot, win):
    slider = win.recon_options.findChild(QtWidgets.QSlider, "reg")
    slider.setSliderDown(True)
    for position in (3, 6, 2, 0):
        slider.setValue(position)
        qtbot.wait(2)
    slider.setSliderDown(False)
    assert win.history.stack.count() == 0


def test_a_burst_of_typing_is_one_step(qtbot, win):
    win.history.burst_ms = 600_000  # however slowly the test machine types
    spin = win.recon_options.findChild(QtWidgets.QSpinBox, "max_iter")
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "350")
    qtbot.wait(1)
    stack = win.history.stack
    assert spin.value() == 350
    assert stack.count() == 1 and stack.undoText() == "max iter 200 → 350"
    # another number is another step; the same number after the burst too
    win.geometry_editor.pair_control("padding").h_spin.setValue(0)
    qtbot.wait(1)
    assert stack.count() == 2
    win.history.end_burst()
    win.geometry_editor.pair_control("padding").h_spin.setValue(2)
    qtbot.wait(1)
    assert stack.count() == 3
    win.history.undo()
    win.history.undo()
    win.history.undo()
    assert win.recon_options.max_iter() == 200 and win.geometry_editor.padding() == (1, 1)


def test_ctrl_z_in_a_spin_box_undoes_the_window_step(qtbot, win):
    spin = win.geometry_editor.pair_control("dilation").h_spin
    spin.setValue(2)
    qtbot.wait(1)
    win.activateWindow()
    spin.setFocus()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.focusWidget() is spin, timeout=5000)
    qtbot.keyClick(spin, QtCore.Qt.Key.Key_Z, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert spin.value() == 1 and win.history.stack.index() == 0
    qtbot.keyClick(
        spin,
        QtCore.Qt.Key.Key_Z,
        QtCore.Qt.KeyboardModifier.ControlModifier | QtCore.Qt.KeyboardModifier.ShiftModifier,
    )
    assert spin.value() == 2 and win.history.stack.index() == 1


def test_undo_after_image_loads_restores_the_previous_image(qtbot, win, tmp_path):
    from skimage import io as skio

    start = win.loaded
    history = win.history
    combo = win.image_controls.findChild(QtWidgets.QComboBox, "sample")
    _pick(combo, combo.findData("camera"))  # grey: the filter becomes one channel
    qtbot.wait(1)
    assert win.filter_editor.weights().shape[2] == 1
    assert history.stack.undoText() == "load sample camera"
    path = tmp_path / "stripes.png"
    skio.imsave(path, np.tile(np.arange(0, 250, 10, dtype=np.uint8), (20, 1)))
    assert win.load_path(path)  # read off the GUI thread
    qtbot.waitUntil(lambda: win.loaded.source == str(path), timeout=TIMEOUT)
    assert history.stack.undoText() == "open image stripes.png"
    image = QtGui.QImage(12, 9, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor(200, 30, 60))
    QtWidgets.QApplication.clipboard().setImage(image)
    assert win.paste_image()
    qtbot.wait(1)
    assert history.stack.undoText() == "paste image"
    pasted = win.loaded
    assert pasted.pixels.shape == (9, 12, 3)
    history.undo()
    assert win.loaded.source.endswith("stripes.png")
    assert win.image_controls.current_sample() is None
    history.undo()
    assert win.loaded.source == "camera" and win.image_controls.current_sample() == "camera"
    history.undo()
    assert win.loaded is start and win.filter_editor.weights().shape[2] == 3
    assert win.image_controls.current_sample() == "astronaut"
    for _ in range(3):
        history.redo()
    assert win.loaded is pasted
    _idle(qtbot, win)
    np.testing.assert_array_equal(win.panels.panel("input").data, pasted.pixels)


def test_work_size_is_a_step(qtbot, win):
    start = win.loaded
    work = win.image_controls.findChild(QtWidgets.QComboBox, "work_size")
    _pick(work, work.findData(128))
    qtbot.wait(1)
    assert max(win.loaded.pixels.shape) == 128
    assert win.history.stack.undoText() == "work size 24 px → 128 px"
    win.history.undo()
    assert win.loaded is start and win.image_controls.work_size() == 24


def test_opening_a_session_is_one_step(qtbot, win, tmp_path):
    before = _state(win)
    win.geometry_editor.set_values(stride=3, padding_mode="reflect")
    qtbot.wait(1)
    win.filter_editor.set_preset("laplacian")
    qtbot.wait(1)
    win.load_sample("coffee")
    qtbot.wait(1)
    path = win.save_session_to(tmp_path / "a.deconv.json")
    saved = _state(win)
    for _ in range(win.history.stack.count()):
        win.history.undo()
    _assert_same_state(_state(win), before)
    win.history.end_burst()
    count = win.history.stack.count()
    assert win.open_session(path)
    assert win.history.stack.count() == 1 < count  # the undone steps are gone, one new
    assert win.history.stack.undoText() == "open session a.deconv.json"
    assert _state(win)[0] == saved[0]
    win.history.undo()
    _assert_same_state(_state(win), before)


def test_a_refused_session_is_no_step(qtbot, win, tmp_path):
    bad = tmp_path / "bad.deconv.json"
    bad.write_text("{ not json")
    assert not win.open_session(bad)
    qtbot.wait(1)
    assert win.history.stack.count() == 0


def test_nothing_is_recorded_while_undoing(qtbot, win, monkeypatch):
    history = win.history
    win.filter_editor.set_preset("box")
    win.load_sample("seed_toy")
    qtbot.wait(1)
    pushes = []
    real_push = history.stack.push
    monkeypatch.setattr(history.stack, "push", lambda cmd: (pushes.append(cmd), real_push(cmd)))
    history.undo()
    history.undo()
    assert history.showing is False and pushes == []
    _idle(qtbot, win)
    assert pushes == [] and history.stack.index() == 0


def test_old_images_are_dropped_past_the_budget_and_loaded_again(qtbot, win, monkeypatch):
    # room for about two 24 px RGB images: older steps keep only where theirs came from
    monkeypatch.setattr(history_module, "IMAGE_BUDGET", 2 * 24 * 24 * 3 * 4 + 1)
    first = win.loaded
    for name in ("coffee", "chelsea", "seed_toy"):
        win.load_sample(name)
        qtbot.wait(1)
    oldest = win.history.stack.command(0)
    assert oldest.before.image is None  # dropped: astronaut comes back from its origin
    for _ in range(3):
        win.history.undo()
    assert win.loaded is not first
    np.testing.assert_array_equal(win.loaded.pixels, first.pixels)
    assert win.loaded.source == "astronaut"


def test_history_dialog_lists_the_steps(qtbot, win):
    win.geometry_editor.pair_control("stride").h_spin.setValue(3)
    win.history.end_burst()
    win.filter_editor.set_preset("sobel_y")
    qtbot.wait(1)
    win.history_actions.history.trigger()
    dialog = win.history_actions.dialog
    assert dialog is not None and dialog.isVisible()
    model = dialog.view.model()
    rows = [model.index(r, 0).data() for r in range(model.rowCount())]
    assert rows == ["start (as the window opened)", "stride 2 → 3", "preset Gaussian → Sobel y"]
    dialog.view.setCurrentIndex(model.index(0, 0))  # a click on the start
    assert win.geometry_editor.stride() == (2, 2) and win.filter_editor.preset() == "gaussian"
    dialog.close()


def test_typing_in_the_reg_box_is_a_step_and_ctrl_z_there_undoes_it(qtbot, win):
    box = win.recon_options.findChild(QtWidgets.QLineEdit, "reg_box")
    win.activateWindow()
    box.setFocus()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.focusWidget() is box, timeout=5000)
    box.selectAll()
    qtbot.keyClicks(box, "0.02")
    qtbot.keyClick(box, QtCore.Qt.Key.Key_Return)
    qtbot.wait(1)
    assert win.recon_options.reg() == 0.02
    assert win.history.stack.undoText() == "reg 0 → 0.02"
    qtbot.keyClick(box, QtCore.Qt.Key.Key_Z, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert win.recon_options.reg() == 0.0 and win.history.stack.index() == 0


def test_a_work_size_whose_image_comes_later_is_one_step(qtbot, win, monkeypatch):
    """The combo may change before the image at that size arrives (loading off the GUI
    thread): the step is the image's arrival, with the size it was loaded at."""
    start = win.loaded
    reloads = []
    monkeypatch.setattr(win.images, "reload", lambda: reloads.append(1))
    work = win.image_controls.findChild(QtWidgets.QComboBox, "work_size")
    _pick(work, work.findData(128))
    qtbot.wait(5)
    assert reloads and win.history.stack.count() == 0  # nothing arrived yet: no step
    monkeypatch.undo()
    win.images.reload()  # the image at 128 px arrives
    qtbot.wait(1)
    assert win.history.stack.count() == 1
    assert win.history.stack.undoText() == "work size 24 px → 128 px"
    win.history.undo()
    assert win.loaded is start and win.image_controls.work_size() == 24


def test_the_questions_example_is_one_named_step(qtbot, win):
    before = _state(win)
    win.insight.seed_action.trigger()
    qtbot.wait(1)
    assert win.loaded.source == "seed_toy" and win.filter_editor.preset() == "seed_question"
    assert win.history.stack.count() == 1
    assert win.history.stack.undoText() == "the question's 7×7×3 example"
    win.history.undo()
    _assert_same_state(_state(win), before)


def test_a_step_whose_image_file_is_gone_says_so_and_keeps_the_window_whole(
    qtbot, win, tmp_path, monkeypatch
):
    from skimage import io as skio

    path = tmp_path / "gone.png"
    skio.imsave(path, np.full((30, 20), 128, dtype=np.uint8), check_contrast=False)
    assert win.load_path(path)  # read off the GUI thread
    qtbot.waitUntil(lambda: win.loaded.source == str(path), timeout=TIMEOUT)
    win.load_sample("coffee")
    qtbot.wait(1)
    # room for the image shown only: the file's step keeps only its path
    monkeypatch.setattr(history_module, "IMAGE_BUDGET", win.loaded.pixels.nbytes + 1)
    win.geometry_editor.pair_control("stride").h_spin.setValue(3)
    qtbot.wait(1)
    assert win.history.stack.command(1).before.image is None
    path.unlink()
    win.history.undo()  # stride: fine
    shown = _state(win)
    win.history.undo()  # back to the file's image: it cannot be loaded again
    assert "Could not go back to that step" in win.last_message
    assert "gone.png" in win.last_message
    _assert_same_state(_state(win), shown)
    _idle(qtbot, win)
    assert win.history.stack.count() == 3


def test_a_session_whose_image_loads_later_is_one_step(qtbot, win, tmp_path):
    from skimage import io as skio

    before = _state(win)
    path = tmp_path / "ramp.png"
    skio.imsave(path, np.tile(np.arange(0, 240, 8, dtype=np.uint8), (18, 1)))
    assert win.load_path(path)
    qtbot.waitUntil(lambda: win.loaded.source == str(path), timeout=TIMEOUT)
    win.geometry_editor.set_values(stride=3, dilation=2)
    qtbot.wait(1)
    saved = _state(win)
    session = win.save_session_to(tmp_path / "ramp.deconv.json")
    while win.history.stack.canUndo():
        win.history.undo()
    _assert_same_state(_state(win), before)
    assert win.open_session(session)  # the image is read off the GUI thread
    qtbot.waitUntil(lambda: win.loaded.source == str(path), timeout=TIMEOUT)
    qtbot.wait(1)
    assert win.history.stack.count() == 1
    assert win.history.stack.undoText() == "open session ramp.deconv.json"
    assert _state(win)[0] == saved[0]
    win.history.undo()
    _assert_same_state(_state(win), before)
