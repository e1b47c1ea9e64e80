"""A session whose numbers cannot be computed is refused before anything changes, offscreen.

Weights or a bias of 1e300 (refused on reading), and weights too large for the session's
image (refused once the image is read, by the pipeline's own magnitude check): the window
keeps its state, no undo step is added, and the message is one line. Nothing is timed.
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
    qtbot.waitUntil(lambda: win.result is not None and win.live.idle, timeout=TIMEOUT)
    yield win
    delete_now(win)


def _session(tmp_path, name, weights, bias=0.0):
    params = Params(make_filter("box", in_channels=3), bias=0.0)
    path = save_session(tmp_path / "good.deconv.json", params, image_source="astronaut")
    document = json.loads(path.read_text())
    layer = document["layers"][0]["params"]
    layer["weights"] = np.asarray(weights).tolist()
    layer["bias"] = [bias]
    target = tmp_path / f"{name}.deconv.json"
    target.write_text(json.dumps(document))
    return target


@pytest.mark.parametrize(
    ("weights", "bias", "word"),
    [
        (np.full((3, 3, 3, 1), 1e300), 0.0, "weights"),
        (np.full((3, 3, 3, 1), 0.1), 1e300, "bias"),
        (np.full((3, 3, 3, 1), 1e7), 0.0, "weights"),  # too large for this image only
    ],
)
def test_a_session_that_cannot_be_computed_changes_nothing(
    qtbot, window, tmp_path, weights, bias, word
):
    before = json.dumps(window.current_params().to_dict(), sort_keys=True)
    steps = window.history.stack.count()
    assert not window.open_session(_session(tmp_path, word, weights, bias))
    message = window.last_message
    assert "nothing changed" in message and word in message, message
    assert "\n" not in message.strip() and "Traceback" not in message
    assert json.dumps(window.current_params().to_dict(), sort_keys=True) == before
    assert window.history.stack.count() == steps
