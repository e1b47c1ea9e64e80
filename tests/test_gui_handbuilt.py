"""A network built by hand in the window: the Network menu writes the document's chain, the
layer under study takes what the layers before it make of the image, the network panels are
run_prefix of the chain, and undo, sessions, the stored settings and refusals hold.

Every wait is on a condition, never a sleep; nothing is timed.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore

from deconv_gui.core.network import PREFIX_METHODS, run_prefix
from deconv_gui.document.network import adapt_channels, chain_network, layer_input
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.network.jobs import effective_field
from deconv_gui.gui.support import settings as stored
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 120_000  # ms; generous because the CPU cores are shared
KINDS = ["conv", "relu", "maxpool", "conv"]


def _settled(qtbot, win) -> None:
    qtbot.waitUntil(
        lambda: not win.runner.busy and not win.live.pending and win.network.settled,
        timeout=TIMEOUT,
    )


@pytest.fixture
def settings(tmp_path):
    return QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.result is not None and not win.runner.busy, timeout=TIMEOUT)
    win.set_work_size(32)
    win.load_sample("chelsea")  # not square: 21×32
    qtbot.waitUntil(lambda: win.loaded.pixels.shape == (21, 32, 3), timeout=TIMEOUT)
    win.filter_editor.set_preset("random", seed=2)
    win.filter_editor.ui.c_out_spin.setValue(3)
    win.geometry_editor.set_values(stride=(1, 1))
    _settled(qtbot, win)
    win.history.flush()
    yield win
    delete_now(win)


def _build(qtbot, win) -> None:
    """conv → ReLU → max-pool → conv, from the Network menu; the new conv is studied."""
    for name in ("add_relu", "add_maxpool", "add_conv"):
        getattr(win.menu_actions, name).trigger()
    _settled(qtbot, win)


def test_the_menu_builds_the_chain_and_the_layer_takes_what_the_others_make(qtbot, window):
    _build(qtbot, window)
    doc = window.document
    assert [layer.kind for layer in doc.layers] == KINDS and doc.selected == 3
    rows = window.controls_dock.layers_panel.row_texts()
    assert rows[2] == "3  max-pool 2×2, stride 2  10×16×3" and rows[3].startswith("▶ 4  conv 3×3")
    source = window.state.source
    assert source is not None and source.pixels.shape == (21, 32, 3)
    expected = layer_input(doc.layers, 3, source.pixels)
    assert window.loaded.pixels.shape == (10, 16, 3)
    np.testing.assert_allclose(window.loaded.pixels, expected, rtol=1e-6, atol=1e-7)
    # the single-layer panels study the conv alone on that input
    qtbot.waitUntil(lambda: window.result.image.shape == (10, 16, 3), timeout=TIMEOUT)
    alone = chain_network(doc.layers[3:], expected.shape).forward(window.result.image)
    np.testing.assert_allclose(window.result.forward_output, alone, rtol=1e-5, atol=1e-6)
    assert "layer 4 alone, on what layers 1–3 make" in window.network.bar.chain.text()
    # the dock still shows the image as loaded, and the document records it
    assert window.image_controls.info_text().startswith("chelsea")
    assert doc.image.shape == (21, 32, 3)
    window.chain.study(0)
    _settled(qtbot, window)
    assert window.loaded is source and window.document.selected == 0
    np.testing.assert_array_equal(window.filter_editor.weights(), doc.layers[0].params.weights)


def test_the_network_panels_are_run_prefix_of_the_chain(qtbot, window):
    _build(qtbot, window)
    window.menu_actions.through.trigger()
    qtbot.waitUntil(lambda: window.network._showing, timeout=TIMEOUT)
    _settled(qtbot, window)
    assert window.document.through and window.menu_actions.through.isChecked()
    doc, view = window.document, window.network
    image = window.state.source.pixels.astype(np.float64)
    net = chain_network(doc.layers, image.shape, upto=doc.selected)
    params = doc.params
    ref = run_prefix(
        net, image, PREFIX_METHODS, reg=params.reg, rtol=params.rtol, max_iter=params.max_iter
    )
    panels = view.panels
    np.testing.assert_allclose(panels.panel("forward").data, ref.forward_output, atol=1e-12)
    for key in ("input", "transposed", "deconvnet", "guided_backprop", "pinv", "nullspace"):
        np.testing.assert_allclose(panels.panel(key).data, ref.images[key], atol=1e-9)
    assert "conv → ReLU → maxpool → conv" in view.bar.chain.text()
    # a unit's effective receptive field is its row of the dense J
    unit = (4, 9, 1)
    with qtbot.waitSignal(view.field_runner.resultReady, timeout=TIMEOUT):
        panels.panel("forward").channel_box.setValue(unit[2])
        panels.panel("forward").clicked.emit("forward", unit[0], unit[1])
    qtbot.waitUntil(lambda: view.panels.unit == unit, timeout=TIMEOUT)
    dense = net.linearize(image).to_dense()
    row = np.ravel_multi_index(unit, net.shapes[-1])
    np.testing.assert_allclose(view.field.ravel(), dense[row], atol=1e-12)
    np.testing.assert_allclose(effective_field(net, image, unit), view.field)
    window.menu_actions.through.trigger()  # the menu's check switches back
    qtbot.waitUntil(lambda: not window.network._showing, timeout=TIMEOUT)
    assert window.panels.isVisible() and not window.document.through


def test_undo_and_redo_of_adding_and_removing_layers(qtbot, window):
    start = window.history.stack.count()
    _build(qtbot, window)
    texts = [window.history.stack.text(i) for i in range(start, window.history.stack.count())]
    assert texts == ["add ReLU", "add max-pool", "add conv layer"]
    window.chain.current = 1
    window.menu_actions.remove_layer.trigger()
    _settled(qtbot, window)
    assert [layer.kind for layer in window.document.layers] == ["conv", "maxpool", "conv"]
    assert window.history.stack.text(window.history.stack.count() - 1) == ("remove layer 2 (ReLU)")
    window.history.undo()
    _settled(qtbot, window)
    assert [layer.kind for layer in window.document.layers] == KINDS
    assert window.document.selected == 3 and window.loaded.pixels.shape == (10, 16, 3)
    window.history.redo()
    _settled(qtbot, window)
    assert [layer.kind for layer in window.document.layers] == ["conv", "maxpool", "conv"]
    for _ in range(4):
        window.history.undo()
    _settled(qtbot, window)
    assert len(window.document.layers) == 1 and window.loaded is window.state.source
    assert window.controls_dock.layers_panel.row_texts()[0].startswith("▶ 1  conv")


def test_impossible_geometry_is_refused_and_nothing_changes(qtbot, window):
    _build(qtbot, window)
    before, steps = window.document.copy(), window.history.stack.count()
    assert not window.chain.set_pool(2, 24, 1)
    message = window.last_message
    assert message.startswith("Could not") and "(nothing changed)" in message
    assert "layer 3 (max-pool 24×24, stride 1) does not fit: its input is 21×32" in message
    assert "\n" not in message
    assert window.document == before and window.history.stack.count() == steps
    panel = window.controls_dock.layers_panel
    window.chain.current = 2
    window.chain.show()
    assert panel.kernel_spin.value() == 2 and panel.kernel_spin.isVisibleTo(window)
    panel.stride_spin.setValue(1)  # the user's edit: one undo step, named
    _settled(qtbot, window)
    assert window.document.layers[2].stride == 1 and window.loaded.pixels.shape == (20, 31, 3)
    assert window.history.stack.text(steps) == "max-pool of layer 3: window 2×2, stride 1"
    window.history.undo()
    _settled(qtbot, window)
    # the conv under study goes: the one before it is studied; the last one stays
    assert window.chain.remove(3)
    _settled(qtbot, window)
    assert window.document.selected == 0 and window.loaded is window.state.source
    assert not window.chain.remove(0)
    assert "needs a convolution to study" in window.last_message
    assert [layer.kind for layer in window.document.layers] == KINDS[:3]


def test_sessions_and_the_stored_settings_keep_the_chain(qtbot, window, tmp_path, settings):
    _build(qtbot, window)
    window.menu_actions.through.trigger()
    qtbot.waitUntil(lambda: window.network._showing, timeout=TIMEOUT)
    _settled(qtbot, window)
    saved = window.save_session_to(tmp_path / "chain")
    assert saved is not None
    built = window.document.copy()
    for _ in range(4):
        window.history.undo()
    _settled(qtbot, window)
    assert len(window.document.layers) == 1
    assert window.open_session(saved)
    qtbot.waitUntil(lambda: window.network._showing, timeout=TIMEOUT)
    _settled(qtbot, window)
    assert window.document.layers == built.layers and window.document.through
    assert window.network.result is not None and window.loaded.pixels.shape == (10, 16, 3)
    stored.save_window(window)
    again = MainWindow(settings, restore=True)
    try:
        qtbot.waitUntil(lambda: again.loaded is not None, timeout=TIMEOUT)
        _settled(qtbot, again)
        assert again.document.layers == built.layers and again.document.selected == 3
        assert again.loaded.pixels.shape == (10, 16, 3)
    finally:
        again.remember = False
        delete_now(again)


def test_a_model_layer_takes_the_place_of_the_chain(qtbot, window, tmp_path):
    torch = pytest.importorskip("torch")
    from deconv_gui.io.models import read_model

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3, padding=1)).eval()
    path = tmp_path / "one.onnx"
    torch.onnx.export(
        net,
        torch.zeros(1, 3, 8, 8),
        str(path),
        dynamo=False,
        input_names=["image"],
        dynamic_axes={"image": {2: "h", 3: "w"}},
    )
    _build(qtbot, window)
    assert window.models.load_layer(path, read_model(path).layers[0].name)
    qtbot.waitUntil(
        lambda: window.document.layer.model is not None and not window.images.busy,
        timeout=TIMEOUT,
    )
    _settled(qtbot, window)
    # the model runs on the image as loaded, not on what the chain made of it
    assert len(window.document.layers) == 1 and window.loaded.pixels.shape == (21, 32, 3)
    assert not window.menu_actions.add_relu.isEnabled()
    assert window.controls_dock.layers_panel.row_texts()[0].startswith("▶ 1  conv 3×3, 3→2")


def test_another_image_runs_through_the_chain_the_first_conv_takes_its_channels(qtbot, window):
    _build(qtbot, window)
    window.load_sample("camera")  # grey: one channel, square
    qtbot.waitUntil(lambda: window.state.source.source == "camera", timeout=TIMEOUT)
    _settled(qtbot, window)
    doc = window.document
    assert doc.layers[0].params.weights.shape[2] == 1 and doc.selected == 3
    assert window.loaded.pixels.shape == (16, 16, 3)
    assert doc.image.source == "camera" and doc.image.shape == (32, 32, 1)
    assert window.result.image.shape == (16, 16, 3)
    window.history.undo()  # the image and the first conv's channels are one step
    _settled(qtbot, window)
    assert window.state.source.source == "chelsea"
    assert window.document.layers[0].params.weights.shape[2] == 3


def test_the_window_opens_a_sessions_network_through_from_the_command_line(qtbot, tmp_path):
    from deconv_gui import app
    from deconv_gui.core import Params, make_filter
    from deconv_gui.document import Document, ImageSource, Layer
    from deconv_gui.io.session import save_document

    conv = Layer(Params(make_filter("sobel_x", out_channels=2), stride=1))
    layers = adapt_channels((conv, Layer(kind="relu"), conv), 3)
    image = ImageSource("sample", "chelsea", 40)
    chain = Document(image=image, layers=layers, selected=2)
    session = save_document(tmp_path / "chain", chain)
    shot = tmp_path / "shot.png"
    assert app.main(["--session", str(session), "--through", "--screenshot", str(shot)]) == 0
    assert shot.stat().st_size > 0
    one = save_document(tmp_path / "one", Document(image=image))
    assert app.main(["--session", str(one), "--through", "--screenshot", str(shot)]) != 0


def test_the_menu_and_the_relu_buttons_arrow_add_every_activation(qtbot, window):
    """Sigmoid, tanh, SiLU, GELU… are offered as the ReLU is (Network → Add activation, the
    ReLU button's arrow); a SiLU added makes torch's map of the image, and the network
    up to here runs through it (linearised at the image)."""
    from qtpy import QtWidgets

    from deconv_gui.document import ACTIVATION_KINDS

    torch = pytest.importorskip("torch")
    ids = [f"add_{kind}" for kind in ACTIVATION_KINDS]
    bar = window.menuBar()
    network = next(a.menu() for a in bar.actions() if a.text() == "&Network")
    (sub,) = [a.menu() for a in network.actions() if a.menu() is not None]
    assert sub.title() == "Add &activation"
    assert sub.actions() == [getattr(window.menu_actions, name) for name in ids]
    panel = window.controls_dock.layers_panel
    relu = panel.findChild(QtWidgets.QToolButton, "layers_button_add_relu")
    assert relu.actions()[-len(ids) :] == sub.actions()
    for name in ("add_silu", "add_maxpool", "add_conv"):
        getattr(window.menu_actions, name).trigger()
    _settled(qtbot, window)
    doc = window.document
    assert [layer.kind for layer in doc.layers] == ["conv", "silu", "maxpool", "conv"]
    assert panel.row_texts()[1] == "2  SiLU  21×32×3"
    first = chain_network(doc.layers[:1], window.state.source.pixels.shape)
    conv = torch.from_numpy(first.forward(window.state.source.pixels).transpose(2, 0, 1)[None])
    want = torch.nn.functional.max_pool2d(torch.nn.functional.silu(conv), 2)
    np.testing.assert_allclose(window.loaded.pixels, want[0].numpy().transpose(1, 2, 0), atol=1e-6)
    window.menu_actions.through.trigger()
    qtbot.waitUntil(lambda: window.network._showing, timeout=TIMEOUT)
    _settled(qtbot, window)
    assert "conv → SiLU → maxpool → conv" in window.network.bar.chain.text()
    window.history.undo()  # the switch, the conv, the max-pool
    window.history.undo()
    window.history.undo()
    _settled(qtbot, window)
    assert [layer.kind for layer in window.document.layers] == ["conv", "silu"]


def test_the_filter_says_which_layer_of_the_network_it_is(qtbot, window):
    """In the network up to here, the dock's Filter is the studied layer's, and says so;
    a network built by hand runs the document's layers, so the filter stays editable."""
    editor = window.filter_editor
    _build(qtbot, window)
    assert editor.section_note.isHidden()  # the layer alone: the Filter is the layer's
    window.menu_actions.through.trigger()
    qtbot.waitUntil(lambda: window.network._showing, timeout=TIMEOUT)
    assert editor.section_note.isVisible() and not editor.read_only
    assert editor.section_note.text().startswith("Layer 4 of the network")
    assert editor.grid(0).is_editable() and editor.ui.preset_combo.isEnabled()
    assert not window.geometry_editor.read_only
    window.chain.study(0)
    qtbot.waitUntil(lambda: editor.section_note.text().startswith("Layer 1 "), timeout=TIMEOUT)
    _settled(qtbot, window)
    window.menu_actions.through.trigger()
    qtbot.waitUntil(lambda: not window.network._showing, timeout=TIMEOUT)
    assert editor.section_note.isHidden()
