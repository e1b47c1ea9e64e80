"""Sessions restore exactly, or change nothing and say why, offscreen.

Each corrupted session (truncated, wrong types, huge numbers, deeply nested, a path too
long for the system, methods the options cannot show) must leave the image, the work
size and every widget as they were, with a message. Nothing is timed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore

from deconv_gui.core import Params, make_filter
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now
from deconv_gui.io.session import save_session

pytestmark = pytest.mark.gui
TIMEOUT = 30_000  # ms; generous because the 2 CPU cores are shared


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    win.show()
    _idle(qtbot, win)
    yield win
    delete_now(win)


def _idle(qtbot, win):
    qtbot.waitUntil(lambda: win.result is not None and win.live.idle, timeout=TIMEOUT)


def _snapshot(win: MainWindow) -> tuple:
    return (
        json.dumps(win.current_params().to_dict(), sort_keys=True),
        win.loaded,
        win.image_controls.work_size(),
        win.filter_editor.same_in_all_channels(),
        win.filter_editor.preset(),
        win.insight.panels_action.isChecked(),
    )


def _good_document(tmp_path) -> dict:
    params = Params(make_filter("sharpen", in_channels=1), stride=(3, 2), reg=0.01)
    path = save_session(tmp_path / "good.deconv.json", params, image_source="camera", work_size=32)
    return json.loads(path.read_text())


def _corruptions(tmp_path):
    good = _good_document(tmp_path)
    text = json.dumps(good)
    weights = good["layers"][0]["params"]["weights"]  # an .npy file in base64

    def changed(section: str, key: str, value: object) -> str:
        document = json.loads(text)
        part = {"params": lambda d: d["layers"][0]["params"], "image": lambda d: d["image"]}
        part[section](document)[key] = value
        return json.dumps(document)

    return {
        "truncated": text[: len(text) // 2],
        "not json": "{ this is not json",
        "nested": "[" * 100_000 + "]" * 100_000,
        "stride as text": changed("params", "stride", "two"),
        "weights as text": changed("params", "weights", "heavy"),
        "weights as booleans": changed("params", "weights", [[[True]]]),
        "huge noise seed": changed("params", "noise_seed", 2**40),
        "negative noise seed": changed("params", "noise_seed", -5),
        "huge reg": changed("params", "reg", 1e308 * 10),
        "unknown method": changed("params", "methods", ["transposed", "magic"]),
        "huge work size": changed("image", "work_size", 10**6),
        "long image path": changed("image", "source", "/" + "x" * 5000 + ".png"),
        "filter too large": changed("params", "weights", np.ones((9, 9, 1)).tolist()),
        "weights not base64": changed("params", "weights", {**weights, "npy": "@@ not @@"}),
        "weights truncated": changed("params", "weights", {**weights, "npy": weights["npy"][:40]}),
        "weights of another layer": changed("params", "weights", {**weights, "shape": [1, 1]}),
    }


def test_a_corrupted_session_changes_nothing_and_says_why(qtbot, window, tmp_path):
    window.filter_editor.set_same_in_all_channels(False)
    window.insight.panels_action.trigger()
    _idle(qtbot, window)
    for label, content in _corruptions(tmp_path).items():
        before = _snapshot(window)
        path = tmp_path / f"{label.replace(' ', '_')}.deconv.json"
        path.write_text(content)
        opened = window.open_session(path)
        if opened:  # accepted: it must then be what the file says (checked elsewhere)
            assert label == "huge work size", label  # the work size only shrinks images
            window.open_session(tmp_path / "good.deconv.json")  # back to a known state
            _idle(qtbot, window)
            continue
        assert window.last_message, label
        assert "nothing changed" in window.last_message or "missing" in window.last_message, (
            label,
            window.last_message,
        )
        if "missing" not in window.last_message:
            assert _snapshot(window) == before, label


def test_a_session_with_the_insight_panels_reopens_exactly(qtbot, window, tmp_path):
    editor = window.filter_editor
    editor.set_same_in_all_channels(False)
    editor.set_preset("random", seed=5)  # R, G and B differ
    window.insight.panels_action.trigger()
    window.recon_options.set_values(noise_seed=2**31 - 1, noise_sigma=0.01)
    _idle(qtbot, window)
    saved = window.current_params()
    assert "coverage" in saved.methods
    path = window.save_session_to(tmp_path / "insight.deconv.json")
    # change everything, then open the session again
    editor.set_same_in_all_channels(True)
    window.insight.panels_action.trigger()
    window.geometry_editor.set_values(stride=(1, 1))
    _idle(qtbot, window)
    assert window.open_session(path), window.last_message
    _idle(qtbot, window)
    assert window.current_params().to_dict() == saved.to_dict()
    assert window.insight.panels_action.isChecked()
    assert not editor.same_in_all_channels()
    red = editor.weights()[0, 0, 1, 0]
    editor.set_weight(0, 0, 0, 0.75)  # R[0, 0] only: G and B keep theirs
    assert editor.weights()[0, 0, 1, 0] == red and editor.weights()[0, 0, 0, 0] == 0.75


def test_a_field_without_a_widget_survives_a_session(qtbot, window, tmp_path):
    params = Params(make_filter("box", in_channels=3), photons=1000.0, noise_seed=7)
    path = save_session(tmp_path / "photons.deconv.json", params, image_source="astronaut")
    assert window.open_session(path), window.last_message
    _idle(qtbot, window)
    assert window.current_params().photons == 1000.0
    assert window.result.params.photons == 1000.0


def test_a_decoder_session_without_its_image_takes_the_colour_image_on_its_c_out(
    qtbot, window, tmp_path
):
    # a grey 1 -> 1 decoder whose image file is gone: restored on the astronaut (3 channels)
    params = Params(make_filter("gaussian", in_channels=1), stride=2, padding=1)
    params = params.replace(layer_kind="conv_transpose")
    gone = tmp_path / "gone.png"
    path = save_session(tmp_path / "decoder.deconv.json", params, image_source=str(gone))
    assert window.loaded.pixels.shape[2] == 3
    assert not window.open_session(path)  # the image is missing: said, the rest restored
    assert "adapted from 1 to 3 input channels" in window.last_message
    assert window.filter_editor.weights().shape == (3, 3, 1, 3)  # depthwise 3 -> 3
    _idle(qtbot, window)
    h, w, _ = window.result.image.shape
    assert window.result.params.layer_kind == "conv_transpose"
    assert window.result.forward_output.shape == (2 * h - 1, 2 * w - 1, 3)
