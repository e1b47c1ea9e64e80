"""One model's deep layer after another's: the second layer's maps and filter replace the
first's without an error, whatever their channel counts.

Every wait is on a condition, never a sleep; nothing is timed.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
pytest.importorskip("torch")
import torch
from model_reference import ours_to_torch
from qtpy import QtCore

from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 60_000  # ms; generous because the CPU cores are shared


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.result is not None and not win.runner.busy, timeout=TIMEOUT)
    yield win
    delete_now(win)


def _export(tmp_path, name, hidden):
    """Conv 3 → ``hidden`` → 5: its second conv reads ``hidden`` feature maps."""
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, hidden, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(hidden, 5, 3, stride=2, padding=1),
    ).eval()
    path = tmp_path / name
    torch.onnx.export(
        net,
        torch.randn(1, 3, 16, 16),
        str(path),
        dynamo=False,
        dynamic_axes={"input": {2: "h", 3: "w"}},
        input_names=["input"],
    )
    return net, path


def _settled(window, name):
    return (
        name in window.loaded.source
        and window.result is not None
        and not window.runner.busy
        and not window.images.busy
    )


def test_a_deep_layer_of_another_model_with_other_channels_takes_its_place(qtbot, window, tmp_path):
    torch.manual_seed(5)
    _, first = _export(tmp_path, "first.onnx", 8)
    second_net, second = _export(tmp_path, "second.onnx", 6)
    assert window.models.load_layer(first, "/2/Conv")
    qtbot.waitUntil(lambda: _settled(window, "first.onnx"), timeout=TIMEOUT)
    assert window.current_params().weights.shape == (3, 3, 8, 5)
    # the second model's maps (6 channels) arrive while the filter is still the first's
    assert window.models.load_layer(second, "/2/Conv")
    qtbot.waitUntil(lambda: _settled(window, "second.onnx"), timeout=TIMEOUT)
    assert window.loaded.pixels.shape[2] == 6
    weights = window.current_params().weights
    np.testing.assert_allclose(
        ours_to_torch(np.asarray(weights)), second_net[2].weight.detach().numpy(), rtol=1e-6
    )
    assert window.filter_editor.deep
