"""A model's layer is named the same in the title however it was opened: File → Open
model, ``--model``/``--layer``, or the remembered settings of the previous run (which
run the image through the model again). Settings live in this test's temporary files.

Every wait is on a condition, never a sleep; nothing is timed.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
pytest.importorskip("torch")
import torch
from qtpy import QtCore

from deconv_gui import app
from deconv_gui.gui.actions.window_title import shown_title
from deconv_gui.gui.launch import apply_arguments
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.elided import ElidedLabel
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 120_000  # ms; generous because the CPU cores are shared
LAYER = "/2/Conv"
TITLE = "astronaut through crc.onnx — Deconvolution Explorer"


@pytest.fixture
def crc(tmp_path):
    """A small conv → ReLU → conv model; its last conv is ``/2/Conv`` (4 channels in)."""
    torch.manual_seed(5)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(4, 2, 3, stride=2, padding=1),
    ).eval()
    path = tmp_path / "crc.onnx"
    torch.onnx.export(
        net,
        torch.zeros(1, 3, 16, 16),
        str(path),
        dynamo=False,
        input_names=["image"],
        dynamic_axes={"image": {2: "h", 3: "w"}},
    )
    return path


@pytest.fixture
def settings(tmp_path):
    return QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)


def _studied(qtbot, win):
    """Wait until the window studies the model's layer on what the model feeds it."""
    qtbot.waitUntil(
        lambda: (
            not win.images.busy
            and win.loaded is not None
            and win.loaded.source == "astronaut through crc.onnx"
            and win.result is not None
        ),
        timeout=TIMEOUT,
    )
    assert win.loaded.pixels.shape[2] == 4  # the activation, not the image itself
    model = win.document.layer.model
    assert model is not None and model.layer == LAYER


def test_the_title_names_the_model_of_a_remembered_study(qtbot, settings, crc):
    win = MainWindow(settings, restore=True)
    win.show()
    qtbot.waitUntil(lambda: win.result is not None, timeout=TIMEOUT)
    assert shown_title(win) == "astronaut — Deconvolution Explorer"
    dialog = win.models.open_path(crc)  # File → Open model…
    assert dialog is not None
    dialog.layerChosen.emit(LAYER, "unit")
    _studied(qtbot, win)
    opened = shown_title(win)
    assert opened == TITLE  # a load: no unsaved changes
    win.close()  # the settings remember the study
    delete_now(win)

    again = MainWindow(settings, restore=True)
    try:
        again.show()
        _studied(qtbot, again)  # the image ran through the model again
        assert shown_title(again) == opened
    finally:
        delete_now(again)


def test_the_title_names_the_model_given_on_the_command_line(qtbot, settings, crc):
    args = app.build_parser().parse_args(["--model", str(crc), "--layer", LAYER])
    win = MainWindow(settings, restore=False)
    try:
        error = apply_arguments(win, args)
        win.show()
        assert error is None, error
        _studied(qtbot, win)
        assert shown_title(win) == TITLE
    finally:
        delete_now(win)


def test_a_long_model_file_name_keeps_its_extension_in_the_dock(qtbot, settings, crc):
    long = crc.with_name("segmentation_network_trained_on_mountain_photographs_v2.onnx")
    long.write_bytes(crc.read_bytes())
    win = MainWindow(settings, restore=False)
    try:
        win.show()
        qtbot.waitUntil(lambda: win.result is not None, timeout=TIMEOUT)
        assert win.models.load_layer(long, LAYER)
        panel = win.controls_dock.layers_panel
        qtbot.waitUntil(lambda: "read-only" in panel.note.text(), timeout=TIMEOUT)
        # the network's note wraps the name (whole, its end kept) instead of widening the dock
        assert panel.note.text().replace("\u200b", "").startswith(long.name)
        assert panel.note.minimumSizeHint().width() < panel.fontMetrics().horizontalAdvance(
            long.name
        )
        name = win.findChild(ElidedLabel, "image_name")
        first, joined, second = name.shown_text().partition(" through ")
        assert joined and first == "astronaut" and second.endswith(".onnx  256×256×4")
        assert "…" in second and second.startswith("s")  # the wide offscreen font
        title = shown_title(win).removesuffix(" — Deconvolution Explorer")
        assert title.startswith("astronaut through segmentation") and title.endswith("v2.onnx")
    finally:
        delete_now(win)


def test_a_remembered_study_whose_model_is_gone_opens_its_image(qtbot, settings, crc, tmp_path):
    photo = tmp_path / "photo.npy"
    np.save(photo, np.linspace(0, 1, 24 * 20 * 3).reshape(24, 20, 3))
    win = MainWindow(settings, restore=True)
    win.show()
    assert win.load_path(photo)
    qtbot.waitUntil(lambda: not win.images.busy and win.state.origin.path == str(photo))
    assert win.models.load_layer(crc, LAYER)
    qtbot.waitUntil(lambda: shown_title(win).startswith("photo.npy through crc.onnx"))
    win.close()
    delete_now(win)
    crc.unlink()
    again = MainWindow(settings, restore=True)
    try:
        again.show()
        qtbot.waitUntil(lambda: not again.images.busy and again.loaded is not None)
        assert again.state.origin.path == str(photo)  # the image the model ran on
        assert shown_title(again) == "photo.npy — Deconvolution Explorer"
        # the status bar says why, before the image's "Loaded …" line (not replaced by it)
        status = again.readout.text()
        assert status.startswith("Could not study the remembered layer of crc.onnx again")
        assert "model file is missing" in status and "Loaded photo.npy" in status
        again.load_path(photo)  # the note was for that image only
        qtbot.waitUntil(lambda: again.readout.text().startswith("Loaded photo.npy"))
    finally:
        delete_now(again)
