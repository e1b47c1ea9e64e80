"""File → Open model…: the layer table, and a chosen layer studied on what the model feeds it.

Every wait is on a condition, never a sleep; nothing is timed.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
pytest.importorskip("torch")
import torch
from model_reference import ours_to_torch
from qtpy import QtCore, QtWidgets

from deconv_gui.document import DOCUMENT_VERSION
from deconv_gui.gui.dialogs.model_layers import NAME_WIDTH
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


def _net(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(4, 2, 3, stride=2, padding=1),
    ).eval()
    path = tmp_path / "net.onnx"
    torch.onnx.export(
        net,
        torch.randn(1, 3, 16, 16),
        str(path),
        dynamo=False,
        dynamic_axes={"input": {2: "h", 3: "w"}},
        input_names=["input"],
    )
    return net, path


def test_open_model_lists_layers_and_loads_the_chosen_one(qtbot, window, tmp_path):
    net, path = _net(tmp_path)
    image = window.loaded.pixels.copy()
    dialog = window.models.open_path(path)
    assert dialog is not None and dialog.table.rowCount() == 2
    # each way of feeding the model says what the numbers are, in one pattern
    texts = [dialog.scaling.itemText(i) for i in range(dialog.scaling.count())]
    assert all(": " in text for text in texts) and "× 255" in texts[1]
    assert dialog.table.item(1, 4).text() == "2×2"  # the stride column
    name = dialog.model.layers[1].name
    dialog.select(name)
    dialog.accept()
    qtbot.waitUntil(lambda: not window.images.busy, timeout=TIMEOUT)
    assert "net.onnx" in window.loaded.source, window.last_message
    qtbot.waitUntil(
        lambda: (
            "net.onnx" in window.loaded.source
            and window.result is not None
            and not window.runner.busy
            and not window.images.busy
        ),
        timeout=TIMEOUT,
    )
    with torch.no_grad():
        fed = torch.relu(net[0](torch.from_numpy(image.transpose(2, 0, 1)[None].copy())))
    np.testing.assert_allclose(
        window.loaded.pixels, fed[0].numpy().transpose(1, 2, 0), rtol=1e-4, atol=1e-5
    )
    params = window.current_params()
    assert params.stride == (2, 2)
    np.testing.assert_allclose(
        ours_to_torch(np.asarray(params.weights)), net[2].weight.detach().numpy(), rtol=1e-6
    )


def test_a_deeper_layers_inputs_are_numbered_maps_a_first_layers_are_colours(
    qtbot, window, tmp_path
):
    _, path = _net(tmp_path)
    image = window.loaded

    def study(index):
        window.state.set_image(image, window.state.origin)  # back to the photo
        model = window.models.open_path(path).model
        assert window.models.load_layer(path, model.layers[index].name)
        qtbot.waitUntil(
            lambda: "net.onnx" in window.loaded.source and not window.images.busy,
            timeout=TIMEOUT,
        )
        return [c.text() for c in window.filter_editor._grids.captions]

    # what the first conv and its ReLU make: 4 feature maps, numbered
    assert study(1) == ["map 0", "map 1", "map 2", "map 3"]  # from 0, as the panels
    # the photo itself, as the model scales it: its colours
    assert study(0) == ["channel R", "channel G", "channel B"]


def test_long_layer_names_leave_every_column_in_view(window, tmp_path):
    long = "a_very_long_descriptive_block_name_that_graph_exporters_like_to_write_" * 2
    net = torch.nn.Sequential()
    net.add_module(long + "first", torch.nn.Conv2d(3, 4, 3, padding=1))
    net.add_module(long + "second", torch.nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1))
    path = tmp_path / "long.onnx"
    torch.onnx.export(net.eval(), torch.randn(1, 3, 16, 16), str(path), dynamo=False)
    dialog = window.models.open_path(path)
    table = dialog.table
    name = dialog.model.layers[1].name
    assert long in name and table.item(1, 0).toolTip().startswith(name)
    # the name is elided at its start, so kind, shape, stride... stay in view
    assert table.columnWidth(0) == NAME_WIDTH
    assert table.textElideMode() == QtCore.Qt.TextElideMode.ElideLeft
    room = QtWidgets.QApplication.primaryScreen().availableGeometry().width() - 16
    assert dialog.width() >= min(dialog._table_width(), room)
    assert table.item(1, 1).text() == "conv_transpose"
    dialog.reject()


def test_a_bad_model_file_is_a_message(window, tmp_path):
    (tmp_path / "bad.onnx").write_bytes(b"\xff" * 100)
    assert window.models.open_path(tmp_path / "bad.onnx") is None
    assert "not an ONNX model" in window.last_message


def test_a_layer_the_forms_cannot_show_changes_nothing_or_everything(qtbot, window, tmp_path):
    """Asymmetric padding (a fused ZeroPad2d): used whole, or refused leaving all as it was."""
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.ZeroPad2d((0, 1, 0, 1)), torch.nn.Conv2d(3, 3, 3, stride=2))
    path = tmp_path / "asym.onnx"
    torch.onnx.export(
        net.eval(),
        torch.randn(1, 3, 16, 16),
        str(path),
        dynamo=False,
        dynamic_axes={"input": {2: "h", 3: "w"}},
        input_names=["input"],
    )
    before_image, before_params = window.loaded, window.current_params()
    assert window.models.load_layer(path, "/1/Conv")
    qtbot.waitUntil(lambda: not window.images.busy, timeout=TIMEOUT)
    if "nothing changed" in window.last_message:
        assert window.loaded.pixels is before_image.pixels
        assert window.current_params() == before_params
    else:
        assert window.current_params().padding == ((0, 1), (0, 1))


def test_a_deep_layer_is_studied_as_montages_and_a_filter_slice(qtbot, window, tmp_path):
    """8 → 16 channels: the picked channels as montages, the filter editor's slice edits
    the layer's filter, the forward output is torch's."""
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Conv2d(8, 16, 3, stride=2)).eval()
    path = tmp_path / "wide.onnx"
    torch.onnx.export(
        net,
        torch.randn(1, 3, 16, 16),
        str(path),
        dynamo=False,
        dynamic_axes={"input": {2: "h", 3: "w"}},
        input_names=["input"],
    )
    image = window.loaded.pixels.copy()
    assert window.models.load_layer(path, "/1/Conv")
    qtbot.waitUntil(
        lambda: "wide.onnx" in window.loaded.source and _settled(window), timeout=TIMEOUT
    )
    weights = net[1].weight.detach().numpy()
    params = window.current_params()
    np.testing.assert_allclose(ours_to_torch(np.asarray(params.weights)), weights, rtol=1e-6)
    with torch.no_grad():
        want = net(torch.from_numpy(image.transpose(2, 0, 1)[None].copy()))[0]
    np.testing.assert_allclose(
        window.result.forward_output, want.numpy().transpose(1, 2, 0), rtol=1e-4, atol=1e-4
    )
    editor = window.filter_editor
    assert editor.deep and editor.picker.isVisibleTo(window)
    editor.picker.pick("4-7, 2", "5")
    assert window.panels.panel("input").spec.tiles == (4, 5, 6, 7, 2)
    assert window.panels.panel("forward").spec.tiles == (5,)
    # the grids show output 5 from inputs 4-7 (the first four picked)
    shown = [[editor.grid(1).value(r, c) for c in range(3)] for r in range(3)]
    np.testing.assert_allclose(shown, weights[5, 5], rtol=1e-6)
    editor.set_weight(0, 0, 1, 0.5)
    assert window.current_params().weights[0, 0, 5, 5] == 0.5
    assert window.current_params().weights.shape == (3, 3, 8, 16)


def _settled(window):
    return window.result is not None and not window.runner.busy and not window.images.busy


def test_a_dropped_model_file_lists_its_layers(window, tmp_path):
    from qtpy import QtGui, QtWidgets

    _, path = _net(tmp_path)
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(path))])
    point = QtCore.QPoint(10, 10)
    buttons = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier
    action = QtCore.Qt.DropAction.CopyAction
    enter = QtGui.QDragEnterEvent(point, action, mime, *buttons)
    QtWidgets.QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QtWidgets.QApplication.sendEvent(
        window, QtGui.QDropEvent(QtCore.QPointF(point), action, mime, *buttons)
    )
    dialog = window.models.dialog
    assert dialog is not None and dialog.table.rowCount() == 2
    assert dialog.model.path == str(path)


def test_a_conv_transpose_layer_is_studied_as_one(qtbot, window, tmp_path):
    """Choosing a ConvTranspose node: layer_kind conv_transpose with the file's
    output_padding, the map the model feeds it as the input, torch's output as forward."""
    torch.manual_seed(2)
    up = torch.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=2, padding=1), up).eval()
    path = tmp_path / "dec.onnx"
    torch.onnx.export(
        net,
        torch.randn(1, 3, 16, 16),
        str(path),
        dynamo=False,
        dynamic_axes={"input": {2: "h", 3: "w"}},
        input_names=["input"],
    )
    image = window.loaded.pixels.copy()
    assert window.models.load_layer(path, "/1/ConvTranspose")
    qtbot.waitUntil(
        lambda: (
            "dec.onnx" in window.loaded.source
            and window.result is not None
            and not window.runner.busy
            and not window.images.busy
        ),
        timeout=TIMEOUT,
    )
    params = window.current_params()
    assert params.layer_kind == "conv_transpose" and params.output_padding == (1, 1)
    with torch.no_grad():
        x = torch.from_numpy(image.transpose(2, 0, 1)[None].copy())
        fed = net[0](x)
        want = up(fed)[0].numpy().transpose(1, 2, 0)
    np.testing.assert_allclose(
        window.loaded.pixels, fed[0].numpy().transpose(1, 2, 0), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(window.result.forward_output, want, rtol=1e-4, atol=1e-4)


def test_a_session_stores_the_model_and_reopening_reads_the_layer_again(qtbot, window, tmp_path):
    import json

    net, path = _net(tmp_path)
    image = window.loaded.pixels.copy()
    name = "/2/Conv"
    assert window.models.load_layer(path, name)
    qtbot.waitUntil(
        lambda: "net.onnx" in window.loaded.source and _settled(window), timeout=TIMEOUT
    )
    session = window.save_session_to(tmp_path / "s.deconv.json")
    data = json.loads(session.read_text())
    model = data["layers"][0]["model"]
    import hashlib

    assert data["version"] == DOCUMENT_VERSION and model["layer"] == name
    # the weights are the model file's: the session names them there, not inline
    assert data["layers"][0]["params"]["weights"] == {"from_model": True, "shape": [3, 3, 4, 2]}
    saved_weights = window.current_params().weights
    assert model["path"] == str(path.resolve())
    assert model["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert model["image"]["kind"] == "sample"
    # another image, then the session: the model's activation of the sample comes back
    window.images.load_sample("coffee")
    qtbot.waitUntil(lambda: window.loaded.source == "coffee" and _settled(window), timeout=TIMEOUT)
    assert window.state.document.layer.model is None  # the layer no longer reads the model
    assert window.open_session(session)
    qtbot.waitUntil(
        lambda: "net.onnx" in window.loaded.source and _settled(window), timeout=TIMEOUT
    )
    with torch.no_grad():
        fed = torch.relu(net[0](torch.from_numpy(image.transpose(2, 0, 1)[None].copy())))
    np.testing.assert_allclose(
        window.loaded.pixels, fed[0].numpy().transpose(1, 2, 0), rtol=1e-4, atol=1e-5
    )
    assert window.state.document.layer.model.layer == name
    assert window.current_params().stride == (2, 2)
    assert np.array_equal(window.current_params().weights, saved_weights)
    # edited away from the model's: the session holds them whole, to the bit
    edited = saved_weights.copy()
    edited[0, 0, 0, 0] = 1 / 3
    window.apply_params(window.current_params().replace(weights=edited))
    weights = json.loads(window.save_session_to(tmp_path / "e.deconv.json").read_text())
    assert weights["layers"][0]["params"]["weights"]["dtype"] == "float64"
    # the model file changed, then gone: one line, nothing changed
    before = (window.loaded, window.current_params())
    path.write_bytes(path.read_bytes() + b"\0")
    assert not window.open_session(session)
    assert "model file changed" in window.last_message and "nothing changed" in window.last_message
    path.unlink()
    assert not window.open_session(session)
    assert "model file is missing" in window.last_message
    assert window.loaded is before[0] and window.current_params() == before[1]


def test_a_deep_decoder_layer_picks_its_own_channels(qtbot, window, tmp_path):
    """ConvTranspose 16 → 8: the picker's inputs are the map it is fed, its outputs what it
    paints; the slice is W_t[input, outputs]; forward is torch's."""
    torch.manual_seed(4)
    up = torch.nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, stride=2, padding=1), up).eval()
    path = tmp_path / "deepdec.onnx"
    torch.onnx.export(
        net,
        torch.randn(1, 3, 16, 16),
        str(path),
        dynamo=False,
        dynamic_axes={"input": {2: "h", 3: "w"}},
        input_names=["input"],
    )
    image = window.loaded.pixels.copy()
    assert window.models.load_layer(path, "/1/ConvTranspose")
    qtbot.waitUntil(
        lambda: "deepdec.onnx" in window.loaded.source and _settled(window), timeout=TIMEOUT
    )
    with torch.no_grad():
        want = net(torch.from_numpy(image.transpose(2, 0, 1)[None].copy()))[0]
    np.testing.assert_allclose(
        window.result.forward_output, want.numpy().transpose(1, 2, 0), rtol=1e-4, atol=1e-4
    )
    editor = window.filter_editor
    assert editor.deep and editor.picker.title().endswith("(of 16 → 8)")
    editor.picker.pick("3", "2-5")
    assert window.panels.panel("input").spec.tiles == (3,)
    w_t = up.weight.detach().numpy()  # (C_in 16, C_out 8, 3, 3)
    shown = [[editor.grid(0).value(r, c) for c in range(3)] for r in range(3)]
    np.testing.assert_allclose(shown, w_t[3, 2], rtol=1e-6)
    assert window.current_params().bias == tuple(float(b) for b in up.bias.detach().numpy())


def test_copy_as_code_of_a_huge_filter_points_to_the_command_line(window):
    """Millions of literals would hang the window: the message names the CLI instead."""
    from deconv_gui.gui.dialogs.code import code_dialog_for

    window.filter_editor.set_filter(np.zeros((3, 3, 3, 3000)))
    assert window.filter_editor.deep
    assert code_dialog_for(window.state, window.current_params) is None
    assert "deconv-gui code --model" in window.last_message


def test_a_weights_only_layer_whose_channels_do_not_fit_is_one_line_and_changes_nothing(
    qtbot, window, tmp_path
):
    """A state_dict cannot be run up to its second conv (4 channels in): its layer would
    get the 3-channel image itself, so the window says so in one line and keeps the layer
    it studied, its input, its settings and its result (the status does not say
    "cancelled")."""
    torch.manual_seed(4)
    features = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Identity(),
        torch.nn.Conv2d(4, 8, 3, padding=1),
    )
    net = torch.nn.Sequential()
    net.add_module("features", features)
    state = tmp_path / "W.pt"
    torch.save(net.state_dict(), state)
    assert window.models.load_layer(state, "features.0")  # 3 channels in: the image fits
    qtbot.waitUntil(lambda: "W.pt" in window.loaded.source and _settled(window), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.live.idle, timeout=TIMEOUT)
    before = window.loaded, window.current_params(), window.result, window.document.layer.model
    assert before[1].weights.shape[2:] == (3, 4) and before[3].layer == "features.0"
    assert window.models.load_layer(state, "features.4")
    qtbot.waitUntil(lambda: not window.images.busy, timeout=TIMEOUT)
    message = window.last_message
    assert message.startswith(
        "Could not use the layer: layer 'features.4' takes 4 channels; the image has 3: "
    )
    assert "pytorch file stores weights only" in message and "\n" not in message
    qtbot.waitUntil(lambda: window.live.idle, timeout=TIMEOUT)
    assert window.loaded is before[0] and window.current_params() == before[1]
    assert window.result is before[2] and window.document.layer.model == before[3]
    assert "cancelled" not in window.state_label.text()


def test_a_weights_only_conv_after_a_transposed_layer_is_read_as_a_conv(qtbot, window, tmp_path):
    """The form holds a ConvTranspose layer (a decoder's, say) when a state_dict's conv is
    chosen: the layer is the file's Conv2d (its output channels, its bias), not the weights
    read as a ConvTranspose with the kind kept from before."""
    torch.manual_seed(5)
    conv = torch.nn.Conv2d(3, 16, 3, stride=2, padding=1)
    state = tmp_path / "sd.pt"
    torch.save({"stem.weight": conv.weight.data, "stem.bias": conv.bias.data}, state)
    window.geometry_editor.set_values(
        stride=(2, 2),
        padding=(1, 1),
        layer_kind="conv_transpose",
        output_padding=(1, 1),
    )
    combo = window.filter_editor.ui.groups_combo  # the channels summed, as a Conv2d's
    combo.setCurrentIndex(combo.findData(1))
    combo.activated.emit(combo.findData(1))
    qtbot.waitUntil(lambda: window.current_params().layer_kind == "conv_transpose")
    qtbot.waitUntil(lambda: window.current_params().groups == 1)
    assert window.models.load_layer(state, "stem")
    refused = lambda: window.last_message.startswith("Could not")  # noqa: E731
    qtbot.waitUntil(
        lambda: refused() or ("sd.pt" in window.loaded.source and _settled(window)), timeout=TIMEOUT
    )
    assert not refused(), window.last_message
    params = window.current_params()
    assert params.layer_kind == "conv" and len(params.bias) == 16
    # nothing ran the image through a file of weights: the source does not say it did
    assert window.loaded.source.endswith(" into a layer of sd.pt"), window.loaded.source
    x = torch.from_numpy(window.loaded.pixels.transpose(2, 0, 1)[None].astype(np.float32))
    with torch.no_grad():
        want = conv(x)[0].numpy().transpose(1, 2, 0)
    np.testing.assert_allclose(window.result.forward_output, want, rtol=1e-4, atol=1e-4)
