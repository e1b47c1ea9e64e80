"""File → Load decoder… offscreen: the panel D(y) beside Aᵀ and A⁺, refusals change nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore

from deconv_gui.core import run_pipeline
from deconv_gui.core.decoder import fit_decoder
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now
from deconv_gui.io.decoder_file import write_decoder

pytestmark = pytest.mark.gui
TIMEOUT = 30_000  # ms; generous because the 2 CPU cores are shared


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    win.show()
    _idle(qtbot, win)
    win.load_sample("camera")
    win.set_work_size(32)
    qtbot.waitUntil(lambda: win.result is not None and win.result.image.shape == (32, 32, 1))
    _idle(qtbot, win)
    yield win
    delete_now(win)


def _idle(qtbot, win):
    qtbot.waitUntil(lambda: win.result is not None and win.live.idle, timeout=TIMEOUT)


def _decoder_file(win, path, stride=2):
    """A decoder fitted on the window's own image and layer (its y, as the pipeline has it)."""
    params = win.current_params()
    x = np.asarray(win.result.image, dtype=np.float64)
    y = params.operator(x.shape).apply(x) + np.asarray(params.bias)
    write_decoder(path, fit_decoder([(x, y)], stride=stride, kernel_size=4).decoder)
    return path


def _snapshot(win) -> str:
    return json.dumps(win.current_params().to_dict(), sort_keys=True)


def test_loading_a_decoder_shows_and_scores_its_panel(window, qtbot, tmp_path):
    path = _decoder_file(window, tmp_path / "dec.npz")
    assert window.decoders.load_path(path)
    qtbot.waitUntil(lambda: window.result.decoder is not None, timeout=TIMEOUT)
    params = window.current_params()
    assert "decoder" in params.methods and params.decoder_path == str(path.resolve())
    assert window.panels.panel("decoder").isVisible()
    scores = window.result.metrics.reconstructions
    assert scores["decoder"].psnr > scores["transposed"].psnr
    # one undo step takes it away again
    window.history.undo()
    assert "decoder" not in window.current_params().methods


def test_a_bad_or_mismatched_decoder_changes_nothing(window, qtbot, tmp_path):
    before = _snapshot(window)
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"not a decoder")
    window.decoders.load_path(corrupt)
    qtbot.waitUntil(lambda: "Could not load the decoder" in window.last_message, timeout=TIMEOUT)
    assert "\n" not in window.last_message and _snapshot(window) == before
    other = _decoder_file(window, tmp_path / "s3.npz")
    window.geometry_editor.set_values(stride=(3, 3))
    _idle(qtbot, window)
    before = _snapshot(window)
    window.decoders.load_path(other)
    qtbot.waitUntil(lambda: "Could not use the decoder" in window.last_message, timeout=TIMEOUT)
    assert "stride" in window.last_message and _snapshot(window) == before


def test_a_session_whose_decoder_is_gone_changes_nothing(window, qtbot, tmp_path):
    path = _decoder_file(window, tmp_path / "dec.npz")
    window.decoders.load_path(path)
    qtbot.waitUntil(lambda: window.result.decoder is not None, timeout=TIMEOUT)
    session = window.save_session_to(tmp_path / "s.deconv.json")
    assert session is not None
    window.recon_options.set_values(methods=("transposed", "pinv"))
    _idle(qtbot, window)
    assert window.open_session(session)  # restores the decoder panel
    qtbot.waitUntil(lambda: window.result.decoder is not None, timeout=TIMEOUT)
    window.recon_options.set_values(methods=("transposed", "pinv"))
    _idle(qtbot, window)
    before = _snapshot(window)
    path.unlink()
    assert not window.open_session(session)
    assert "nothing changed" in window.last_message and "decoder" in window.last_message
    assert _snapshot(window) == before


def _shown(qtbot, win, **expected):
    """Wait for the live result of the current params (each ``expected`` field equal)."""
    qtbot.waitUntil(
        lambda: (
            win.live.idle
            and win.result is not None
            and all(getattr(win.result.params, k) == v for k, v in expected.items())
        ),
        timeout=TIMEOUT,
    )
    return win.result


def test_a_decoder_that_no_longer_fits_drops_only_its_panel(window, qtbot, tmp_path):
    path = _decoder_file(window, tmp_path / "dec.npz")
    assert window.decoders.load_path(path)
    qtbot.waitUntil(lambda: window.result.decoder is not None, timeout=TIMEOUT)
    # an edit the decoder cannot follow: stride 3 (it was fitted for stride 2)
    window.geometry_editor.set_values(stride=(3, 3))
    result = _shown(qtbot, window, stride=(3, 3))
    params = window.current_params()
    assert "decoder" in params.methods and params.decoder_path  # the user's choice is kept
    assert result.decoder is None and result.pinv is not None and result.transposed is not None
    assert "stride" in result.left_out["decoder"] and set(result.left_out) == {"decoder"}
    assert not window.panels.panel("decoder").isVisible()
    assert window.panels.panel("pinv").isVisible()
    assert "decoder" not in result.metrics.reconstructions
    status = window.state_label.text()
    assert status.startswith("ready; decoder D(y) left out: ") and "stride" in status
    assert "\n" not in status and "failed" not in window.last_message.lower()
    # the pinv shown is the pipeline's for the same layer without the decoder
    fresh = run_pipeline(window.loaded.pixels, params.replace(methods=("transposed", "pinv")))
    np.testing.assert_array_equal(window.panels.panel("pinv").data, fresh.pinv)
    # back to stride 2: the decoder fits again and its panel comes back
    window.geometry_editor.set_values(stride=(2, 2))
    result = _shown(qtbot, window, stride=(2, 2))
    assert result.decoder is not None and not result.left_out
    assert window.panels.panel("decoder").isVisible()
    assert "left out" not in window.state_label.text()


def test_the_decoder_ticked_without_a_file_is_left_out_with_the_reason(window, qtbot):
    assert not window.current_params().decoder_path
    window.recon_options.set_values(methods=("transposed", "pinv", "decoder"))
    result = _shown(qtbot, window, methods=("transposed", "pinv", "decoder"))
    assert result.decoder is None and result.pinv is not None
    assert "File → Load decoder…" in result.left_out["decoder"]
    assert "decoder D(y) left out" in window.state_label.text()
    assert not window.panels.panel("decoder").isVisible()
