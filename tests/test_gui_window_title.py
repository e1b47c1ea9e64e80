"""The main window's title names what is open: ``name — Deconvolution Explorer``, the
session file last opened or saved while its image is the input, else the input image.

Every wait is on a condition, never a sleep; nothing is timed.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore

from deconv_gui.gui.actions.window_title import elide_name, shown_title, window_title
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.elided import ElidedLabel
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 120_000  # ms; generous because the CPU cores are shared
APP = "Deconvolution Explorer"


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    win.show()
    qtbot.waitUntil(lambda: win.result is not None, timeout=TIMEOUT)
    yield win
    delete_now(win)


def _load(qtbot, win, path):
    assert win.load_path(path)
    qtbot.waitUntil(lambda: not win.images.busy and win.state.origin.path == str(path))


def test_the_title_names_the_image_then_the_session(qtbot, window, tmp_path):
    assert shown_title(window) == f"astronaut — {APP}"
    photo = tmp_path / "photo.npy"
    np.save(photo, np.linspace(0, 1, 30 * 20).reshape(30, 20))
    _load(qtbot, window, photo)
    assert shown_title(window) == f"photo.npy — {APP}"
    saved = window.save_session_to(tmp_path / "run.deconv.json")
    assert saved is not None and shown_title(window) == f"run.deconv.json — {APP}"
    window.set_work_size(16)  # the same image again, smaller: still the session's, changed
    qtbot.waitUntil(lambda: window.loaded.pixels.shape[0] == 16 and not window.images.busy)
    assert shown_title(window) == f"run.deconv.json* — {APP}"
    window.load_sample("camera")  # another image: the window no longer shows the session
    assert shown_title(window) == f"camera — {APP}"
    assert window.open_session(saved)  # its image loads off the GUI thread
    qtbot.waitUntil(lambda: shown_title(window) == f"run.deconv.json — {APP}", timeout=TIMEOUT)
    assert window.state.origin.path == str(photo)


def _edit_stride(qtbot, win, stride):
    """Change the stride as one step of its own (no burst merges it with the next)."""
    win.geometry_editor.set_values(stride=(stride, stride))
    win.history.end_burst()
    assert win.geometry_editor.stride() == (stride, stride)


def test_the_marker_shows_changes_since_the_session_was_saved(qtbot, window, tmp_path):
    assert not window.isWindowModified()  # the window as it opened
    _edit_stride(qtbot, window, 3)
    assert window.isWindowModified() and shown_title(window) == f"astronaut* — {APP}"
    _edit_stride(qtbot, window, 2)  # back to the start by hand: the states are compared
    assert not window.isWindowModified()
    _edit_stride(qtbot, window, 3)
    assert window.save_session_to(tmp_path / "run.deconv.json") is not None
    assert shown_title(window) == f"run.deconv.json — {APP}"
    _edit_stride(qtbot, window, 1)
    assert shown_title(window) == f"run.deconv.json* — {APP}"
    window.history.undo()  # back to the saved state
    assert window.geometry_editor.stride() == (3, 3)
    assert shown_title(window) == f"run.deconv.json — {APP}"
    window.history.undo()  # before the save: it differs from the file
    assert window.geometry_editor.stride() == (2, 2) and window.isWindowModified()
    window.history.redo()
    assert not window.isWindowModified()
    _edit_stride(qtbot, window, 1)
    assert window.open_session(tmp_path / "run.deconv.json")  # opening clears it
    qtbot.waitUntil(lambda: window.geometry_editor.stride() == (3, 3), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not window.images.busy, timeout=TIMEOUT)
    window.history.flush()
    assert shown_title(window) == f"run.deconv.json — {APP}"


def test_a_long_file_name_keeps_its_extension(qtbot, window, tmp_path):
    stem = "holiday_photo_taken_in_the_mountains_during_the_long_summer_of_2024_final"
    photo = tmp_path / f"{stem}.npy"
    np.save(photo, np.linspace(0, 1, 30 * 20).reshape(30, 20))
    _load(qtbot, window, photo)
    name = shown_title(window).removesuffix(f" — {APP}")
    assert len(name) <= 40 and "…" in name
    assert name.startswith("holiday_photo") and name.endswith("_final.npy")
    label = window.findChild(ElidedLabel, "image_name")
    assert label is not None and label.text().startswith(photo.name)
    shown = label.shown_text()  # in the dock as the window opens
    assert "…" in shown and shown.startswith("holiday") and shown.endswith(".npy  30×20×1")


def test_both_names_of_a_model_layer_keep_their_extension(qtbot, window):
    """A model layer's input names the image and the model file: each keeps its end."""
    label = window.findChild(ElidedLabel, "image_name")
    image = "holiday_photo_taken_in_the_mountains_during_the_summer.png"
    model = "segmentation_network_trained_on_mountain_photographs_v2.onnx"
    label.set_names(f"{image} through {model}", "  128×128×64")
    label.resize(3 * label.fontMetrics().horizontalAdvance(f"{image[:20]}…"), label.height())
    shown = label.shown_text()
    first, joined, second = shown.partition(" through ")
    assert joined and first.endswith(".png") and "…" in first and first.startswith("holi")
    assert second.endswith(".onnx  128×128×64") and second.startswith("segm") and "…" in second
    title = window_title(f"{image} through {model}")
    first, joined, second = title.removesuffix(f"[*] — {APP}").partition(" through ")
    assert first == elide_name(image) and second == elide_name(model)
    assert first.endswith("summer.png") and second.endswith("_v2.onnx") and len(second) == 40
