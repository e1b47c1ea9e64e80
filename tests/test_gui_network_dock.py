"""The dock's Network section for a model file's layer: the file's network up to it, read
from the same core network as the "network up to here" panels, read-only, and previous /
next conv (and a click on a conv row) study the file's other convs.

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
from deconv_gui.gui.actions.model_chain import READ_ONLY
from deconv_gui.gui.launch import apply_arguments
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.network.jobs import model_prefix
from deconv_gui.gui.support.teardown import delete_now
from deconv_gui.io.models import read_model
from deconv_gui.io.models.activations import model_input
from deconv_gui.io.models.network import model_network

pytestmark = pytest.mark.gui
TIMEOUT = 120_000  # ms; generous because the CPU cores are shared
EDITING = ("add_conv", "add_relu", "add_maxpool", "remove_layer", "move_layer_up")


def _features():
    """conv → BN → ReLU → max-pool → conv → leaky ReLU → conv, named as torchvision's
    (the reader folds the batch norm into the conv before it)."""
    torch.manual_seed(3)
    features = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 5, 3, padding=1),
        torch.nn.LeakyReLU(0.2),
        torch.nn.Conv2d(5, 2, 3, stride=2, padding=1),
    )
    net = torch.nn.Sequential()
    net.add_module("features", features)
    return net.eval()


@pytest.fixture
def path(tmp_path):
    onnx = tmp_path / "features.onnx"
    torch.onnx.export(
        _features(),
        torch.zeros(1, 3, 16, 16),
        str(onnx),
        dynamo=False,
        input_names=["image"],
        dynamic_axes={"image": {2: "h", 3: "w"}},
    )
    return onnx


def _listed(qtbot, win, name):
    models = win.chain.models
    qtbot.waitUntil(
        lambda: (
            win.document.layer.model is not None
            and win.document.layer.model.layer == name
            and not win.images.busy
            and models.listing is not None
            and not models.runner.busy
        ),
        timeout=TIMEOUT,
    )
    return models.listing


@pytest.fixture
def window(qtbot, tmp_path, path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.result is not None and not win.runner.busy, timeout=TIMEOUT)
    win.set_work_size(24)
    qtbot.waitUntil(lambda: win.loaded.pixels.shape[0] == 24, timeout=TIMEOUT)
    yield win
    delete_now(win)


def test_a_model_layer_lists_the_files_network_up_to_it(qtbot, window, path):
    convs = [layer.name for layer in read_model(path).layers]
    last = convs[-1]
    assert window.models.load_layer(path, last)
    listing = _listed(qtbot, window, last)
    image = window.models._source_image()[0].pixels
    x0 = model_input(image, read_model(path), "unit")
    reference = model_network(read_model(path), last, x0.shape)
    names = [layer.name for layer in reference.layers]
    assert [row.name for row in listing.rows] == names
    assert [row.shape for row in listing.rows] == [
        "×".join(map(str, s)) for s in reference.shapes[1:]
    ]
    assert listing.studied == len(names) - 1 and listing.convs == tuple(convs)
    panel = window.controls_dock.layers_panel
    rows = panel.row_texts()
    assert len(rows) == len(names) == 6  # the batch norm is folded into the first conv
    assert rows[-1] == "▶ 6  conv 3×3, 5→2, stride 2  features.6  6×6×2"  # what tells them apart
    assert last in panel.list.topLevelItem(5).toolTip(2)  # the whole name
    assert rows[2].startswith("3  max-pool 2×2, stride 2") and rows[2].endswith("12×12×4")
    assert "leaky ReLU (slope 0.2)" in rows[4] and not panel.list.isColumnHidden(2)
    assert "read-only" in panel.note.text() and "input 24×24×3" in panel.note.text()
    # read-only: the editing actions are off and say why; previous conv is the file's
    for name in EDITING:
        action = getattr(window.menu_actions, name)
        assert not action.isEnabled() and action.toolTip().startswith(READ_ONLY)
    assert window.menu_actions.study_previous.isEnabled()
    assert not window.menu_actions.study_next.isEnabled()
    # the panels of "the network up to here" run the very network the list shows
    window.network.set_through(True)
    qtbot.waitUntil(lambda: window.network.result is not None, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.network.settled, timeout=TIMEOUT)
    assert window.network.result.network is model_prefix(window.document.layer.model, image)[1]


def test_previous_next_and_a_click_study_the_files_other_convs(qtbot, window, path):
    convs = [layer.name for layer in read_model(path).layers]
    assert window.models.load_layer(path, convs[1])
    listing = _listed(qtbot, window, convs[1])
    assert listing.rows[listing.studied].name == convs[1]
    assert window.menu_actions.study_next.isEnabled()
    window.network.set_through(True)  # the switch stays as the layer changes
    window.menu_actions.study_next.trigger()
    assert len(_listed(qtbot, window, convs[2]).rows) == 6
    assert window.document.through
    window.menu_actions.study_previous.trigger()
    _listed(qtbot, window, convs[1])
    window.controls_dock.layers_panel.studyRequested.emit(0)  # a click on the first conv
    listing = _listed(qtbot, window, convs[0])
    assert listing.rows[0].name == convs[0] and listing.studied == 0
    assert not window.menu_actions.study_previous.isEnabled()
    window.history.undo()  # the layer before the click, its list again
    assert len(_listed(qtbot, window, convs[1]).rows) == 4
    # ... and its network, run on the image the model takes (not on the activation shown)
    qtbot.waitUntil(lambda: window.network.settled, timeout=TIMEOUT)
    result = window.network.result
    assert result.network.layers[-1].name == convs[1] and result.image.shape == (24, 24, 3)


def test_another_image_gives_back_the_chain_its_actions_and_their_tips(qtbot, window, path):
    tips = {name: getattr(window.menu_actions, name).toolTip() for name in EDITING}
    assert window.models.load_layer(path, read_model(path).layers[-1].name)
    _listed(qtbot, window, read_model(path).layers[-1].name)
    window.load_sample("coffee")
    qtbot.waitUntil(lambda: window.document.layer.model is None, timeout=TIMEOUT)
    panel = window.controls_dock.layers_panel
    qtbot.waitUntil(lambda: len(panel.row_texts()) == 1, timeout=TIMEOUT)
    assert panel.list.isColumnHidden(2) and not panel.note.isVisible()
    assert window.menu_actions.add_relu.isEnabled()
    assert {name: getattr(window.menu_actions, name).toolTip() for name in EDITING} == tips


def test_a_weights_only_file_lists_the_layer_alone_and_says_why(qtbot, window, tmp_path):
    state = tmp_path / "features.pt"
    torch.save(_features().state_dict(), state)
    name = read_model(state).layers[0].name
    assert window.models.load_layer(state, name)
    listing = _listed(qtbot, window, name)
    assert len(listing.rows) == 1 and "stores weights only, no graph" in listing.problem
    note = window.controls_dock.layers_panel.note.text()
    assert "features.pt" in note and "listed alone" in note
    assert window.controls_dock.layers_panel.row_texts()[0].startswith("▶ 1  conv 3×3, 3→4")


def test_a_weights_only_file_does_not_offer_the_network_up_to_here(qtbot, window, tmp_path, path):
    state = tmp_path / "features.pt"
    torch.save(_features().state_dict(), state)
    name = read_model(state).layers[0].name
    assert window.models.load_layer(state, name)
    _listed(qtbot, window, name)
    view, action = window.network, window.menu_actions.through
    qtbot.waitUntil(lambda: view.bar.isVisible(), timeout=TIMEOUT)
    why = "features.pt has no graph (a PyTorch state_dict holds weights only)"
    assert not view.bar.through.isEnabled() and view.bar.through.toolTip().startswith(why)
    assert view.bar.alone.isChecked() and "(no graph" in view.bar.chain.text()
    assert not action.isEnabled() and action.toolTip().startswith(why)
    assert "only its layer can be studied" in action.statusTip()
    action.trigger()  # Ctrl+T: a disabled action does nothing
    view.set_through(True)  # nor does the switch
    assert not window.document.through and not view.through and not view.panels.isVisible()
    # a document that says "through" (an older session) studies the layer alone all the same
    window.document.through = True
    qtbot.waitUntil(lambda: not view._refresh.isActive(), timeout=TIMEOUT)
    assert not view.through and not view.panels.isVisible() and view.result is None
    # deconv-gui --model features.pt --layer … --through says why instead
    args = ["--model", str(state), "--layer", name, "--through"]
    error = apply_arguments(window, app.build_parser().parse_args(args), wait=True)
    assert error is not None and error.startswith(f"--through: {why}")
    # a file with a graph offers it again, with its own tooltip
    assert window.models.load_layer(path, read_model(path).layers[0].name)
    qtbot.waitUntil(lambda: view.bar.through.isEnabled(), timeout=TIMEOUT)
    assert action.isEnabled() and not action.toolTip().startswith("features")
    assert view.bar.through.toolTip().startswith("The network from the image up to this layer")


class _Residual(torch.nn.Module):
    """conv → ReLU → conv joined to its input → conv: ``join`` ``"add"`` (a ResNet block),
    ``"cat"`` (stacked: a U-Net's skip), ``"mul"`` (a gate) or ``"sub"`` (neither a chain
    nor a block)."""

    def __init__(self, join="add"):
        super().__init__()
        torch.manual_seed(6)
        self.join = join
        self.stem = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.body = torch.nn.Conv2d(4, 4, 3, padding=1)
        self.head = torch.nn.Conv2d(8 if join == "cat" else 4, 2, 3, stride=2, padding=1)

    def forward(self, x):
        y = torch.relu(self.stem(x))
        joined = {"add": torch.add, "mul": torch.mul, "sub": torch.sub}
        joined["cat"] = lambda a, b: torch.cat([a, b], 1)
        return self.head(torch.relu(joined[self.join](y, self.body(y))))


@pytest.mark.parametrize(
    ("join", "block", "symbol"),
    [
        ("add", ["│ conv 3×3, 4→4", "⊕ add: body + identity shortcut"], "[conv + id]"),
        ("cat", ["┆ branch 2: conv 3×3, 4→4", "⧺ concat: 2 branches, channels 4+4"], "[id ‖ conv]"),
        (
            "mul",
            ["┆ branch 2: conv 3×3, 4→4", "⊗ multiply: 2 branches, element-wise"],
            "[id × conv]",
        ),
    ],
)
def test_a_layer_after_a_residual_block_offers_the_network_up_to_here(
    qtbot, window, tmp_path, path, join, block, symbol
):
    """Past a ResNet block (an Add of two branches) or a U-Net's skip (a Concat) the
    network up to here runs: the dock lists the block's branches before its join, and
    the panels show the prefix's J⁺."""
    onnx = tmp_path / "res.onnx"
    torch.onnx.export(_Residual(join).eval(), torch.zeros(1, 3, 16, 16), str(onnx), dynamo=False)
    head = read_model(onnx).layers[-1].name
    assert window.models.load_layer(onnx, head)
    listing = _listed(qtbot, window, head)
    assert not listing.problem
    texts = [row.text for row in listing.rows]
    channels = 8 if join == "cat" else 4
    assert texts == ["conv 3×3, 3→4", "ReLU", *block, "ReLU", f"conv 3×3, {channels}→2, stride 2"]
    assert listing.studied == 5 and listing.rows[2].is_conv
    view = window.network
    qtbot.waitUntil(lambda: view.bar.through.isEnabled(), timeout=TIMEOUT)
    view.set_through(True)
    qtbot.waitUntil(lambda: view.result is not None and view.settled, timeout=TIMEOUT)
    result = view.result
    assert result is not None and view.panels.isVisible()
    assert symbol in view.bar.chain.text()
    assert ("first order" in view.bar.chain.text()) == (join == "mul")
    lin = result.network.linearize(result.image)
    features = lin.apply(result.image)
    assert np.allclose(lin.apply(result.images["pinv"]), features, atol=1e-4 * abs(features).max())


def test_a_layer_after_a_difference_does_not_offer_the_network_up_to_here(
    qtbot, window, tmp_path, path
):
    """The network up to a layer past a Sub of two branches cannot be followed: once the
    dock's listing says so, the switch to it is off and its tooltip says why in words of
    the window (not the CLI's --through); a window showing the network goes back to the
    layer alone instead of eight empty panels under an error."""
    onnx = tmp_path / "gate.onnx"
    torch.onnx.export(_Residual("sub").eval(), torch.zeros(1, 3, 16, 16), str(onnx), dynamo=False)
    head = read_model(onnx).layers[-1].name
    window.document.through = True  # the switch was on (a layer studied through before)
    assert window.models.load_layer(onnx, head)
    listing = _listed(qtbot, window, head)
    assert "contains a Sub node" in listing.problem
    view, action = window.network, window.menu_actions.through
    qtbot.waitUntil(lambda: not view.bar.through.isEnabled(), timeout=TIMEOUT)
    tip = view.bar.through.toolTip()
    assert tip.startswith("gate.onnx: the prefix up to") and "Sub node" in tip
    assert "--through" not in tip and "channel Concats and Muls of branches only" in tip
    assert not action.isEnabled() and action.toolTip().split("\n")[0] == tip.split("\n")[0]
    qtbot.waitUntil(lambda: not view._refresh.isActive(), timeout=TIMEOUT)
    assert view.bar.alone.isChecked() and not view.through and not view.panels.isVisible()
    assert "(the layer alone)" in view.bar.chain.text()
    view.set_through(True)  # the switch does nothing either
    assert not view.through and not view.panels.isVisible()
    # its first conv has a chain before it: offered again
    assert window.models.load_layer(onnx, read_model(onnx).layers[0].name)
    qtbot.waitUntil(lambda: view.bar.through.isEnabled(), timeout=TIMEOUT)
    assert action.isEnabled()


def test_the_command_line_runs_the_model_on_its_image_file(qtbot, window, tmp_path, path):
    """deconv-gui --model M --layer L --image FILE (the window not waiting, as started by
    hand): the model runs on FILE, not on the image shown before it had loaded."""
    from PIL import Image

    pixels = np.random.default_rng(7).integers(0, 256, (20, 44, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "wide.png")
    name = read_model(path).layers[0].name
    args = ["--model", str(path), "--layer", name, "--image", str(tmp_path / "wide.png")]
    assert apply_arguments(window, app.build_parser().parse_args(args), wait=False) is None
    _listed(qtbot, window, name)
    assert window.loaded.source.startswith("wide.png through features.onnx")
    source = window.models._source_image()[0]  # at the window's work size, 24 px
    assert source.source.endswith("wide.png") and source.pixels.shape[:2] == (11, 24)
    assert window.loaded.pixels.shape[:2] == (11, 24)  # the first conv keeps the size


def test_a_depthwise_dilated_conv_says_so_in_the_list(tmp_path):
    """The dock's rows of a MobileNet-like prefix: the depthwise conv (groups = its input
    channels) and the grouped one are not written as plain convs; a dilation is said."""
    from deconv_gui.gui.network.listing import network_rows

    torch.manual_seed(8)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2, padding=1),
        torch.nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8),
        torch.nn.Conv2d(8, 4, 1, groups=2),
    ).eval()
    onnx = tmp_path / "dw.onnx"
    torch.onnx.export(net, torch.zeros(1, 3, 16, 16), str(onnx), dynamo=False)
    model = read_model(onnx)
    texts = [
        row.text for row in network_rows(model_network(model, model.layers[-1].name, (16, 16, 3)))
    ]
    assert texts == [
        "conv 3×3, 3→8, stride 2",
        "depthwise conv 3×3, 8→8, dilation 2",
        "conv 1×1, 8→4, groups 2",
    ]


def test_the_network_panels_hide_the_layer_alones_status(qtbot, window, path):
    """With the network up to here on screen, the status bar does not report the layer
    alone's solve ('ready; pseudo-inverse stopped at the time limit…') beside J⁺'s."""
    name = read_model(path).layers[-1].name
    assert window.models.load_layer(path, name)
    _listed(qtbot, window, name)
    assert window.state_label.isVisible()
    window.network.set_through(True)
    qtbot.waitUntil(lambda: window.network.panels.isVisible(), timeout=TIMEOUT)
    assert not window.state_label.isVisible()
    window.network.set_through(False)
    qtbot.waitUntil(lambda: window.state_label.isVisible(), timeout=TIMEOUT)


def test_long_layer_names_fit_the_docks_width_elided_in_their_middle(qtbot):
    """A ResNet-like ONNX export's names (``/encoder/layer2/layer2.1/conv2/Conv``) in the
    dock's narrow list: the folders every name shares, the op type and a folder the next
    repeats go. The list never scrolls sideways (it cut off the name and output columns,
    '256×25…'): the output column is as wide as its texts, the layer's words and its name
    share the rest, elided in their middle, and each cell's tooltip gives them whole."""
    from deconv_gui.gui.controls.layers import LayerRow, LayersPanel
    from deconv_gui.gui.network.listing import short_names

    names = [
        "/encoder/layer1/layer1.0/conv1/Conv",
        "/encoder/layer2/layer2.0/relu/Relu",
        "/encoder/layer2/layer2.1/downsample/downsample.0/Conv",
    ]
    labels = short_names(names)
    assert labels == ["layer1.0/conv1", "layer2.0/relu", "layer2.1/downsample.0"]
    names, labels = names * 3, labels * 3  # more rows than the list shows: it scrolls down too
    panel = LayersPanel()
    qtbot.addWidget(panel)
    panel.resize(480, 400)  # a dock's width in the offscreen platform's wider font
    words = "conv 3×3, 64→128, stride 2, dilation 2, groups 4"
    rows = [
        LayerRow(words, "170×256×128", True, name=n, label=label, passed=(40, 100))
        for n, label in zip(names, labels, strict=True)
    ]
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_chain(rows, 8, 8)  # as a listing arrives: in a list on screen
    qtbot.wait(50)  # the view lays out what it was given (no timing: a pass of the event loop)
    view, header = panel.list, panel.list.header()
    metrics = view.fontMetrics()
    assert not view.horizontalScrollBar().isVisible()
    assert sum(header.sectionSize(c) for c in range(5)) <= view.viewport().width()
    assert header.sectionSize(3) >= metrics.horizontalAdvance("170×256×128")  # output whole
    assert header.sectionSize(4) >= metrics.horizontalAdvance("40%")  # passed whole
    # the name is at most a third of what the others leave, the layer's words the rest
    assert header.sectionSize(1) >= header.sectionSize(2) > 30  # never a sliver
    assert view.textElideMode() == QtCore.Qt.TextElideMode.ElideMiddle
    item = view.topLevelItem(8)
    assert item.text(2) == labels[8] and names[8] in item.toolTip(2)
    assert words in item.toolTip(1)
    assert view.visualItemRect(item).bottom() < view.viewport().height()  # in view


def test_the_command_line_pictures_a_models_network_up_to_a_layer(qtbot, tmp_path):
    """--model M --layer L --through --screenshot: the picture is taken once the network's
    panels are drawn (the layer alone's, hidden, are never computed)."""
    onnx, shot = tmp_path / "fixed.onnx", tmp_path / "shot.png"
    torch.manual_seed(0)
    chain = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 4, 3, padding=1)
    )
    torch.onnx.export(chain.eval(), torch.zeros(1, 3, 32, 32), str(onnx), dynamo=False)
    args = ["--model", str(onnx), "--layer", read_model(onnx).layers[-1].name, "--through"]
    assert app.main([*args, "--image", "chelsea", "--screenshot", str(shot)]) == 0
    assert shot.stat().st_size > 0


def test_a_deep_layers_filter_keeps_its_groups_locked(qtbot, window, path):
    """A deep layer's filter is the model's: its groups, C_out and "same in all channels"
    stay off whatever the form's own rules would allow (it turned groups on again for
    the 5 input maps), and everything that edits stays off while its network up to here
    is shown read-only, an output picked or not."""
    editor = window.filter_editor
    ui = editor.ui
    name = read_model(path).layers[-1].name  # conv 5→2: deeper than a picture
    assert window.models.load_layer(path, name)
    _listed(qtbot, window, name)
    assert editor.deep and ui.groups_combo.count() > 1
    locked = (ui.groups_combo, ui.c_out_spin, ui.same_check, ui.size_h, ui.preset_combo)
    assert not any(widget.isEnabled() for widget in locked)
    window.network.set_through(True)
    qtbot.waitUntil(lambda: window.network.panels.isVisible(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.network.settled, timeout=TIMEOUT)
    assert editor.read_only
    for output in (1, 0):
        ui.out_combo.setCurrentIndex(output)
        assert not any(widget.isEnabled() for widget in (*locked, ui.bias_spin, ui.flip_check))
    window.network.set_through(False)
    qtbot.waitUntil(lambda: not editor.read_only, timeout=TIMEOUT)
    assert ui.bias_spin.isEnabled() and not ui.groups_combo.isEnabled()
