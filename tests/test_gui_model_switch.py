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


def test_the_lost_information_panels_of_a_deep_layer_label_their_tiles(qtbot, window, tmp_path):
    """Shown after the layer is studied, each montage panel names its channels as the
    first four do (labels drawn while the panel was hidden were left hidden)."""
    torch.manual_seed(6)
    window.resize(1600, 1000)  # room for a label on each tile
    _, path = _export(tmp_path, "deep.onnx", 8)
    assert window.models.load_layer(path, "/2/Conv")
    qtbot.waitUntil(lambda: _settled(window, "deep.onnx"), timeout=TIMEOUT)
    for through in (True, False):  # the network's panels were shown before
        window.network.set_through(through)
        qtbot.waitUntil(lambda: window.network._showing == through, timeout=TIMEOUT)  # noqa: B023
        qtbot.waitUntil(lambda: window.network.settled, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: _settled(window, "deep.onnx"), timeout=TIMEOUT)
    window.insight.set_panels_visible(True)
    names = ("input", "coverage", "recoverable", "nullspace")

    def labelled():
        panels = [window.panels.panel(name) for name in names]
        return all(p.spec is not None and p.spec.tiles for p in panels) and not window.runner.busy

    def shown(name):
        labels = window.panels.panel(name).tile_labels.items
        return bool(labels) and all(label.isVisible() for label in labels)

    qtbot.waitUntil(labelled, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: shown("input"), timeout=TIMEOUT)  # laid out
    assert [name for name in names if not shown(name)] == []


def test_an_image_given_at_launch_ends_the_remembered_model_study(qtbot, tmp_path):
    """The previous run studied a model's layer; ``--image`` replaces its image: the dock
    no longer names the model's layer nor lists its network (the layer is the window's own
    conv on that image, as after File → Open image)."""
    from PIL import Image

    from deconv_gui import app
    from deconv_gui.gui.launch import apply_arguments

    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    torch.manual_seed(7)
    _, path = _export(tmp_path, "remembered.onnx", 4)
    first = MainWindow(settings, restore=True)
    first.show()
    qtbot.waitUntil(lambda: first.result is not None, timeout=TIMEOUT)
    assert first.models.load_layer(path, "/2/Conv")
    qtbot.waitUntil(lambda: _settled(first, "remembered.onnx"), timeout=TIMEOUT)
    first.close()  # the settings remember the study
    delete_now(first)

    picture = tmp_path / "wide.png"
    pixels = np.random.default_rng(0).integers(0, 255, (24, 40, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(picture)
    args = app.build_parser().parse_args(["--image", str(picture)])
    again = MainWindow(settings, restore=True)
    try:
        assert apply_arguments(again, args, wait=True) is None
        again.show()
        qtbot.waitUntil(lambda: _settled(again, "wide.png"), timeout=TIMEOUT)
        assert again.loaded.pixels.shape == (24, 40, 3)
        assert again.document.layer.model is None
        assert len(again.document.layers) == 1
        note = again.controls_dock.layers_panel.note.text()
        assert "remembered.onnx" not in note
    finally:
        delete_now(again)


def test_a_weights_only_layer_says_which_geometry_the_window_supplies(qtbot, window, tmp_path):
    """A state_dict stores no stride or padding: the window keeps its own, and says so
    (the layer was stride 2 in its network; nothing else in the window told)."""
    torch.manual_seed(8)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=2, padding=1))
    path = tmp_path / "stem.pt"
    torch.save(net.state_dict(), path)
    assert window.models.load_layer(path, "0")
    qtbot.waitUntil(lambda: _settled(window, "stem.pt"), timeout=TIMEOUT)
    note = window.loaded.note
    assert "stride, padding, dilation, groups not stored in stem.pt" in note, note
    assert "the window's stride 2×2" in note and "(set them under Geometry)" in note
    _, onnx_path = _export(tmp_path, "graph.onnx", 4)
    assert window.models.load_layer(onnx_path, "/2/Conv")
    qtbot.waitUntil(lambda: _settled(window, "graph.onnx"), timeout=TIMEOUT)
    assert "not stored" not in window.loaded.note  # a graph stores its geometry


def test_the_networks_report_is_taken_back_when_the_layer_is_studied_alone(qtbot, window, tmp_path):
    """'J⁺ stopped … ReLUs pass 48% of units' described the network up to the layer: it
    stayed in the status bar over the layer studied alone."""
    torch.manual_seed(9)
    window.set_work_size(64)  # J⁺ of a small image: quick
    qtbot.waitUntil(lambda: window.result is not None and not window.images.busy, timeout=TIMEOUT)
    _, path = _export(tmp_path, "report.onnx", 4)
    assert window.models.load_layer(path, "/2/Conv")
    qtbot.waitUntil(lambda: _settled(window, "report.onnx"), timeout=TIMEOUT)
    window.network.set_through(True)
    qtbot.waitUntil(lambda: window.network._showing and window.network.settled, timeout=TIMEOUT)
    assert "J⁺" in window.last_message and window.message_bar.isVisibleTo(window)
    window.network.set_through(False)
    qtbot.waitUntil(lambda: not window.network._showing, timeout=TIMEOUT)
    assert window.last_message == ""
    assert not window.message_bar.isVisibleTo(window)
    window.show_message("Could not open the model: x.onnx is not a file")
    window.network.set_through(True)  # another's message is not the network's to take back
    qtbot.waitUntil(lambda: window.network._showing and window.network.settled, timeout=TIMEOUT)
    window.show_message("Could not open the model: x.onnx is not a file")
    window.network.set_through(False)
    qtbot.waitUntil(lambda: not window.network._showing, timeout=TIMEOUT)
    assert window.last_message.startswith("Could not open the model")


def test_ctrl_i_after_a_relaunch_on_a_model_layer_hides_the_normalised_panel_too(qtbot, tmp_path):
    """The lost-information panels remembered from the last run, then ``--model --layer``:
    the layer's methods carry the normalised panel the panels had ticked, which is not
    the user's choice: hiding the panels (Ctrl+I) unticks it with them."""
    from deconv_gui import app
    from deconv_gui.gui.launch import apply_arguments

    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    first = MainWindow(settings, restore=True)
    first.set_work_size(64)
    first.show()
    qtbot.waitUntil(lambda: first.result is not None, timeout=TIMEOUT)
    first.insight.panels_action.trigger()  # Ctrl+I: shown, with the normalised panel
    assert "normalized_transposed" in first.recon_options.methods()
    first.close()  # the settings remember the panels
    delete_now(first)
    torch.manual_seed(3)
    _, path = _export(tmp_path, "insight.onnx", 4)
    args = app.build_parser().parse_args(["--model", str(path), "--layer", "/2/Conv"])
    again = MainWindow(settings, restore=True)
    try:
        assert apply_arguments(again, args, wait=True) is None
        again.show()
        qtbot.waitUntil(lambda: _settled(again, "insight.onnx"), timeout=TIMEOUT)
        assert again.insight.panels_action.isChecked()
        assert not again.document.insight.normalised_by_user
        again.insight.panels_action.trigger()  # Ctrl+I: hidden, the normalised panel too
        assert "normalized_transposed" not in again.recon_options.methods()
        qtbot.waitUntil(
            lambda: "coverage" not in again.result.params.methods and not again.runner.busy,
            timeout=TIMEOUT,
        )
        assert "normalized_transposed" not in again.result.params.methods
    finally:
        again.remember = False
        delete_now(again)
