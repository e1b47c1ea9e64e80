"""The command line over remembered settings: ``--model/--layer/--through``, ``--image``
and ``--session`` win over the image file the settings remember from the previous run,
whatever order the background loads finish in.

The remembered settings are written as the app writes them: a window (with the user's
settings, which conftest puts in this test's home folder) opens an image file and is
closed. Every wait is on a condition, never a sleep; nothing is timed.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

pytest.importorskip("pytestqt")
pytest.importorskip("torch")
import torch
from PIL import Image

from deconv_gui import app
from deconv_gui.core import Params, make_filter
from deconv_gui.gui.actions import image as image_actions
from deconv_gui.gui.actions.window_title import shown_title
from deconv_gui.gui.launch import apply_arguments
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support import settings as stored
from deconv_gui.gui.support.teardown import delete_now
from deconv_gui.io.session import save_session

pytestmark = pytest.mark.gui
TIMEOUT = 120_000  # ms; generous because the CPU cores are shared
LAYER = "/2/Conv"


@pytest.fixture
def crc(tmp_path):
    """A small conv → ReLU → conv model; its last conv is ``/2/Conv``."""
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


def _image(path, seed, shape):
    pixels = np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def remembered(qtbot, tmp_path):
    """The settings remember an image file (as a previous run left them); its path."""
    path = _image(tmp_path / "remembered.png", 1, (18, 22))
    win = MainWindow()  # the user's settings (in this test's home folder)
    assert win.load_path(path) and win.images.loader.wait()
    win.set_work_size(24)
    qtbot.waitUntil(lambda: win.loaded.pixels.shape[1] == 22 and not win.images.busy)
    win.close()  # saves the settings
    delete_now(win)
    document = stored.stored_document(stored.make_settings())
    assert document is not None and document.image.kind == "file"
    assert document.image.source.endswith("remembered.png")
    return path


def _launch(qtbot, argv):
    """What ``deconv-gui ARGS`` does before the event loop: the window, its settings
    restored, the arguments applied (not waiting, as a window started by hand)."""
    args = app.build_parser().parse_args([str(a) for a in argv])
    win = MainWindow(restore=True)
    error = apply_arguments(win, args, wait=False)
    win.show()
    return win, error


def _settled(qtbot, win):
    qtbot.waitUntil(
        lambda: not win.images.busy and win.result is not None and win.live.idle,
        timeout=TIMEOUT,
    )


def test_model_layer_through_opens_the_model_on_the_remembered_image(qtbot, remembered, crc):
    win, error = _launch(qtbot, ["--model", crc, "--layer", LAYER, "--through"])
    try:
        assert error is None, error
        _settled(qtbot, win)
        model = win.document.layer.model
        assert model is not None and model.layer == LAYER
        assert win.document.through and win.network.through
        # the model ran on the remembered image: its activation is the input
        assert win.loaded.source == "remembered.png through crc.onnx"
        assert win.models._source_image()[0].source.endswith("remembered.png")
        assert shown_title(win) == "remembered.png through crc.onnx — Deconvolution Explorer"
    finally:
        delete_now(win)


@pytest.fixture
def late(monkeypatch):
    """The remembered image's load held back until the gate opens (set): it finishes
    after whatever the command line started, as a large file on a busy disk would."""
    gate = threading.Event()
    load_image = image_actions.load_image

    def held(path, *args, **kwargs):
        if str(path).endswith("remembered.png"):
            assert gate.wait(60), "the gate was never opened"
        return load_image(path, *args, **kwargs)

    monkeypatch.setattr(image_actions, "load_image", held)
    yield gate
    gate.set()  # a failed test never leaves a pool thread waiting


def test_the_remembered_image_arriving_late_still_gets_the_model(qtbot, remembered, crc, late):
    from qtpy import QtCore

    # opened while the command line waits for the remembered image: it arrives last
    QtCore.QTimer.singleShot(200, late.set)
    win, error = _launch(qtbot, ["--model", crc, "--layer", LAYER])
    try:
        assert error is None, error
        _settled(qtbot, win)
        assert win.document.layer.model is not None and win.document.layer.model.layer == LAYER
        assert win.loaded.source == "remembered.png through crc.onnx"
    finally:
        delete_now(win)


@pytest.mark.parametrize("through", [False, True])
def test_image_and_model_win_over_the_remembered_image(
    qtbot, tmp_path, remembered, crc, late, through
):
    """``--image X --model M --layer L``: the model runs on X; the remembered image, still
    loading, arrives after everything and is dropped."""
    other = _image(tmp_path / "other.png", 2, (20, 16))
    argv = ["--image", other, "--model", crc, "--layer", LAYER] + ["--through"] * through
    win, error = _launch(qtbot, argv)
    try:
        assert error is None, error
        _settled(qtbot, win)
        late.set()  # the remembered image's load ends now, long superseded
        qtbot.waitUntil(lambda: win.images.loader.runner._jobs.running == 0, timeout=TIMEOUT)
        _settled(qtbot, win)
        assert win.document.layer.model is not None and win.document.layer.model.layer == LAYER
        assert win.loaded.source == "other.png through crc.onnx"
        assert win.models._source_image()[0].source.endswith("other.png")
        assert win.document.through == through
    finally:
        delete_now(win)


@pytest.fixture
def session(tmp_path):
    """A session of a 3-channel box filter, stride 3, on its own image file."""
    image = _image(tmp_path / "session_image.png", 3, (21, 15))
    params = Params(make_filter("box", in_channels=3, size=(2, 3)), stride=(3, 3))
    return save_session(tmp_path / "s.deconv.json", params, image_source=str(image), work_size=24)


@pytest.mark.parametrize("more", [[], ["--stride", "2"], ["--image", "other"]])
def test_a_session_wins_over_the_remembered_image(qtbot, tmp_path, remembered, session, late, more):
    """``--session S`` (with options on top of it): S's image and settings, whatever
    order its load and the remembered image's end in."""
    other = _image(tmp_path / "other.png", 2, (20, 16))
    argv = ["--session", session, *[str(other) if m == "other" else m for m in more]]
    win, error = _launch(qtbot, argv)
    try:
        assert error is None, error
        _settled(qtbot, win)
        late.set()
        qtbot.waitUntil(lambda: win.images.loader.runner._jobs.running == 0, timeout=TIMEOUT)
        _settled(qtbot, win)
        params = win.current_params()
        assert params.weights.shape[:2] == (2, 3)  # the session's filter
        assert params.stride == ((2, 2) if "--stride" in more else (3, 3))
        name = "other.png" if "--image" in more else "session_image.png"
        assert win.loaded.source.endswith(name)
    finally:
        delete_now(win)
