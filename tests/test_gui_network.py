"""The window's "network up to here" mode: the switch, its panels, the receptive field of a
clicked unit, cancel, stale results, sessions and undo.

Every wait is on a condition, never a sleep; nothing is timed.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("pytestqt")
pytest.importorskip("torch")
import torch
from qtpy import QtCore, QtGui, QtWidgets

from deconv_gui.core.network import PREFIX_METHODS, run_prefix
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.network.jobs import field_rect
from deconv_gui.gui.support.teardown import delete_now
from deconv_gui.io.models import read_model
from deconv_gui.io.models.activations import model_input
from deconv_gui.io.models.network import model_network

pytestmark = pytest.mark.gui
TIMEOUT = 120_000  # ms; generous because the CPU cores are shared
LAYER = "/conv3/Conv"


def _torch_net():
    torch.manual_seed(1)

    class Three(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.conv2 = torch.nn.Conv2d(4, 3, 3, stride=2, padding=1)
            self.conv3 = torch.nn.Conv2d(3, 2, 3, padding=1)

        def forward(self, x):
            return self.conv3(torch.relu(self.conv2(torch.relu(self.conv1(x)))))

    return Three().eval().double()


@pytest.fixture
def net_file(tmp_path):
    net = _torch_net()
    path = tmp_path / "three.onnx"
    torch.onnx.export(
        net.float(),
        torch.zeros(1, 3, 16, 16),
        str(path),
        dynamo=False,
        input_names=["image"],
        dynamic_axes={"image": {2: "h", 3: "w"}},
    )
    return net.double(), path


@pytest.fixture
def window(qtbot, tmp_path, net_file):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.result is not None and not win.runner.busy, timeout=TIMEOUT)
    win.set_work_size(24)
    qtbot.waitUntil(lambda: win.loaded.pixels.shape[0] == 24, timeout=TIMEOUT)
    assert win.models.load_layer(net_file[1], LAYER)
    qtbot.waitUntil(
        lambda: win.document.layer.model is not None and not win.images.busy, timeout=TIMEOUT
    )
    win.history.flush()
    yield win
    delete_now(win)


def _through(qtbot, win, on=True):
    win.network.set_through(on)
    qtbot.waitUntil(lambda: win.network._showing == on, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: win.network.settled, timeout=TIMEOUT)


def _reference(win, path):
    image = win.models._source_image()[0].pixels
    model = read_model(path)
    x0 = model_input(image, model, "unit")
    params = win.document.params
    network = model_network(model, LAYER, x0.shape)
    return run_prefix(
        network,
        x0,
        PREFIX_METHODS,
        reg=params.reg,
        rtol=params.rtol,
    )


def test_switching_shows_the_prefix_panels(qtbot, window, net_file):
    assert window.network.bar.isVisible() and not window.network.panels.isVisible()
    _through(qtbot, window)
    assert window.network.panels.isVisible() and not window.panels.isVisible()
    ref = _reference(window, net_file[1])
    panels = window.network.panels
    np.testing.assert_allclose(panels.panel("forward").data, ref.forward_output, atol=1e-12)
    for key in ("input", "transposed", "deconvnet", "guided_backprop", "pinv", "nullspace"):
        np.testing.assert_allclose(panels.panel(key).data, ref.images[key], atol=1e-9)
    assert "J" in panels.panel("pinv").title_text and "A" not in panels.panel("pinv").title_text
    assert "conv → ReLU → conv → ReLU → conv" in window.network.bar.chain.text()
    _through(qtbot, window, False)
    assert window.panels.isVisible() and not window.network.panels.isVisible()


def test_the_switch_round_trips_through_undo_and_a_session(qtbot, window, tmp_path):
    _through(qtbot, window)
    assert window.document.through
    window.history.undo()
    qtbot.waitUntil(lambda: not window.network._showing, timeout=TIMEOUT)
    assert not window.document.through
    assert window.network.bar.alone.isChecked()
    window.history.redo()
    qtbot.waitUntil(lambda: window.network._showing, timeout=TIMEOUT)
    assert window.network.bar.through.isChecked()
    qtbot.waitUntil(lambda: window.network.settled, timeout=TIMEOUT)
    saved = window.save_session_to(tmp_path / "net")
    assert saved is not None
    _through(qtbot, window, False)
    assert window.open_session(saved)
    qtbot.waitUntil(lambda: window.network._showing, timeout=TIMEOUT)
    assert window.document.through
    qtbot.waitUntil(lambda: window.network.settled, timeout=TIMEOUT)
    assert window.network.result is not None


def test_a_click_shows_the_units_effective_receptive_field(qtbot, window, net_file):
    _through(qtbot, window)
    net = net_file[0]
    view = window.network
    unit = (5, 3, 1)
    panel = view.panels.panel("forward")
    panel.channel_box.setValue(unit[2])
    with qtbot.waitSignal(view.field_runner.resultReady, timeout=TIMEOUT):
        panel.clicked.emit("forward", unit[0], unit[1])
    qtbot.waitUntil(lambda: view.panels.unit == unit, timeout=TIMEOUT)
    x = torch.from_numpy(view.result.image.transpose(2, 0, 1)[None].copy()).requires_grad_()
    net(x)[0, unit[2], unit[0], unit[1]].backward()
    expected = x.grad[0].numpy().transpose(1, 2, 0)
    np.testing.assert_allclose(view.field, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(view.panels.panel("erf").data, expected, rtol=1e-4, atol=1e-6)
    # the gradient lives inside the theoretical receptive field, drawn on two panels
    rect = field_rect(view.result.network, unit[0], unit[1])
    assert rect[2:] == (9.0, 9.0)  # 3, + 2 by the stride-2 conv, + 2·2 after its stride
    rows, cols = np.nonzero(np.abs(expected).sum(axis=2))
    assert rows.min() >= rect[1] and rows.max() + 1 <= rect[1] + rect[3]
    assert cols.min() >= rect[0] and cols.max() + 1 <= rect[0] + rect[2]
    assert view.panels.field_rects == [rect, rect]


def test_cancel_stops_the_solve_and_keeps_the_other_panels(qtbot, window):
    _through(qtbot, window)
    view = window.network
    with qtbot.waitSignal(view.runner.progress, timeout=TIMEOUT):
        view.compute(rtol=1e-300, max_iter=10**7, time_limit=None)  # only a cancel stops it
    assert view.progress.isVisibleTo(window) and not view.solved
    with qtbot.waitSignal(view.runner.cancelled, timeout=TIMEOUT):
        view.cancel_button.click()
    assert view.solved and not view.progress.isVisibleTo(window)
    assert view.panels.panel("pinv").data is None
    assert view.panels.panel("transposed").data is not None


def test_stale_results_are_dropped(qtbot, window):
    _through(qtbot, window)
    view = window.network
    shown = view.result
    old = view.runner.latest_id
    view.compute()
    view.compute()  # the newest request wins
    qtbot.waitUntil(lambda: view.settled, timeout=TIMEOUT)
    assert view.runner.latest_id > old
    newest = view.result
    dropped = view.runner.dropped
    fake = replace(shown, images={**shown.images, "transposed": np.zeros_like(shown.image)})
    view.runner._signals.finished.emit(old, fake)  # an answer to an older request
    qtbot.waitUntil(lambda: view.runner.dropped == dropped + 1, timeout=TIMEOUT)
    assert view.result is newest
    assert np.any(view.panels.panel("transposed").data != 0)


def test_through_without_a_model_layer_is_a_usage_error(capsys):
    from deconv_gui.app import main

    assert main(["--through", "--screenshot", "out.png"]) == 2
    assert "--through needs --model and --layer" in capsys.readouterr().err


def test_jplus_runs_by_the_network_limits_and_says_how_it_ended(qtbot, window):
    from deconv_gui.gui.network.jobs import WINDOW_PREFIX_TIME_LIMIT

    _through(qtbot, window)
    view = window.network
    # not the layer's live-update limits (200 iterations, 2 s): the prefix's own
    assert view._request.max_iter is None
    assert view._request.time_limit == WINDOW_PREFIX_TIME_LIMIT
    report = view.result.solver
    assert report.converged  # a small net: well within them
    status = window.last_message
    assert f"J⁺ converged: {report.iterations} iterations" in status
    assert "The solve: " in view.panels.panel("pinv").toolTip()
    # a limit that stops it is named in the status line and the panel's tooltip
    view.compute(rtol=1e-300, max_iter=3)
    qtbot.waitUntil(lambda: view.settled, timeout=TIMEOUT)
    assert not view.result.solver.converged
    stopped = "J⁺ stopped by its iteration limit before rtol 1e-300: 3 iterations"
    assert stopped in window.last_message
    assert "raise the limit" in view.panels.panel("pinv").toolTip()


def test_the_channel_projects_one_map_and_keeps_jplus(qtbot, window, net_file):
    _through(qtbot, window)
    view = window.network
    solved, pinv = view.result.solver, view.result.images["pinv"]
    params = window.document.params
    window.apply_params(params.replace(channel=1))
    qtbot.waitUntil(lambda: view.settled and view.result.channel == 1, timeout=TIMEOUT)
    ref = run_prefix(view.result.network, view.result.image, PREFIX_METHODS, channel=1)
    for key in ("deconvnet", "guided_backprop"):
        np.testing.assert_allclose(view.panels.panel(key).data, ref.images[key], atol=1e-9)
        assert "of channel 1" in view.panels.panel(key).title_text
    assert view.result.solver is solved  # the channel does not change J: no new solve
    assert view.result.images["pinv"] is pinv
    np.testing.assert_allclose(view.panels.panel("pinv").data, pinv)


def test_the_channel_box_offers_only_the_layers_channels(qtbot, window):
    box = window.recon_options.findChild(QtWidgets.QSpinBox, "channel")
    c_out = window.document.params.weights.shape[3]
    assert box.maximum() == c_out - 1 and box.minimum() == -1
    box.setValue(c_out + 5)
    assert box.value() == c_out - 1
    qtbot.waitUntil(lambda: window.document.params.channel == c_out - 1, timeout=TIMEOUT)
    # fewer outputs: the chosen channel is gone, the box and the document go back to all
    spin = window.filter_editor.findChild(QtWidgets.QSpinBox, "c_out")
    spin.setValue(1)
    qtbot.waitUntil(lambda: window.document.params.weights.shape[3] == 1, timeout=TIMEOUT)
    assert window.document.params.channel is None
    assert box.value() == -1 and box.maximum() == 0


def test_panel_titles_are_never_cut(qtbot, window):
    _through(qtbot, window)
    window.menu_actions.layout_row.trigger()  # f(x₀) in a cell of its own, not a wide span
    forward = window.network.panels.panel("forward")
    window.resize(1600, 1000)  # room for the title and the channel box side by side
    beside = QtWidgets.QBoxLayout.Direction.LeftToRight
    qtbot.waitUntil(lambda: forward.header.direction() == beside, timeout=TIMEOUT)
    window.resize(1150, 450)  # low: one row wraps into four columns of the narrowest panels
    panels = window.network.panels.panels.values()
    qtbot.waitUntil(lambda: window.network.panels.panel("forward").width() < 200, timeout=TIMEOUT)
    # the channel box left the narrow f(x₀) title no room: it moved under it
    qtbot.waitUntil(lambda: all(p.title_label.width() > 50 for p in panels), timeout=TIMEOUT)
    below = QtWidgets.QBoxLayout.Direction.TopToBottom
    assert window.network.panels.panel("forward").header.direction() == below
    for panel in panels:
        label = panel.title_label
        qtbot.waitUntil(lambda label=label: label._fitted_width == label.contentsRect().width())
        width = label.contentsRect().width()
        for line in label.text().split("<br>"):
            document = QtGui.QTextDocument()
            document.setDefaultFont(label.font())
            document.setDocumentMargin(0)
            document.setHtml(line)
            assert document.idealWidth() <= width + 1, (panel.title_text, line, width)
        assert label.toolTip() == ("" if not label.elided else panel.title_text)
    assert any(p.title_label.elided for p in panels)  # "Pseudoinverse" is wider than its panel


def test_a_layer_without_the_chosen_channel_loads_with_all(qtbot, window, net_file):
    assert window.models.load_layer(net_file[1], "/conv1/Conv")  # 4 output channels
    qtbot.waitUntil(lambda: window.document.layer.model.layer == "/conv1/Conv", timeout=TIMEOUT)
    window.apply_params(window.document.params.replace(channel=3))
    qtbot.waitUntil(lambda: window.document.params.channel == 3, timeout=TIMEOUT)
    assert window.models.load_layer(net_file[1], "/conv2/Conv")  # 3: channel 3 is gone
    qtbot.waitUntil(lambda: window.document.layer.model.layer == "/conv2/Conv", timeout=TIMEOUT)
    assert window.document.params.channel is None


def test_one_switch_another_model_layer_keeps_it_another_image_ends_it(qtbot, window, net_file):
    _through(qtbot, window)
    assert window.document.through and "through" not in window.document.layer.model.to_dict()
    assert window.models.load_layer(net_file[1], "/conv2/Conv")  # the same model's network
    qtbot.waitUntil(lambda: window.document.layer.model.layer == "/conv2/Conv", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.network.settled, timeout=TIMEOUT)
    assert window.document.through and window.network._showing
    assert window.menu_actions.through.isChecked()
    window.load_sample("coffee")  # the image itself: no network before the layer
    qtbot.waitUntil(lambda: window.document.layer.model is None, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not window.network._showing, timeout=TIMEOUT)
    assert not window.document.through and not window.network.bar.isVisible()
    window.history.undo()  # the model's layer, studied through its network, again
    qtbot.waitUntil(lambda: window.network._showing, timeout=TIMEOUT)
    assert window.document.through and window.document.layer.model.layer == "/conv2/Conv"


def _as_version_5(path, through):
    """The session at ``path`` as version 5 wrote it: the switch in the model's record."""
    data = json.loads(path.read_text())
    data["version"], data["through"] = 5, False
    data["layers"][0]["model"]["through"] = through
    path.write_text(json.dumps(data))


def test_a_version_5_session_studied_through_opens_through(qtbot, window, tmp_path):
    _through(qtbot, window)
    saved = window.save_session_to(tmp_path / "net")
    _as_version_5(saved, True)
    _through(qtbot, window, False)
    assert window.open_session(saved), window.last_message
    qtbot.waitUntil(lambda: window.network._showing, timeout=TIMEOUT)
    assert window.document.through and window.network.bar.through.isChecked()
    qtbot.waitUntil(lambda: window.network.settled, timeout=TIMEOUT)


def test_the_command_line_opens_a_model_session_through(qtbot, window, tmp_path):
    from deconv_gui import app

    saved = window.save_session_to(tmp_path / "alone")  # studied alone
    shot = tmp_path / "shot.png"
    args = ["--session", str(saved), "--through"]
    assert app.main([*args, "--size", "900x600", "--screenshot", str(shot)]) == 0
    assert shot.stat().st_size > 0
    from deconv_gui.gui.launch import apply_arguments

    # in the window: --through set the document's switch of the session's model layer
    assert apply_arguments(window, app.build_parser().parse_args(args), wait=True) is None
    qtbot.waitUntil(lambda: window.network._showing, timeout=TIMEOUT)
    assert window.document.through and window.document.layer.model is not None


def test_version_5_settings_studied_through_open_through(qtbot, window, tmp_path):
    data = window.document.to_dict()
    data["version"], data["through"] = 5, False
    data["layers"][0]["model"]["through"] = True
    settings = QtCore.QSettings(str(tmp_path / "old.ini"), QtCore.QSettings.Format.IniFormat)
    settings.setValue("last/document", json.dumps(data))
    settings.sync()
    again = MainWindow(settings, restore=True)
    try:
        qtbot.waitUntil(lambda: again.loaded is not None and not again.images.busy, timeout=TIMEOUT)
        qtbot.waitUntil(lambda: again.network._showing, timeout=TIMEOUT)
        qtbot.waitUntil(lambda: again.network.settled, timeout=TIMEOUT)
        assert again.document.through and again.document.layer.model is not None
        assert again.menu_actions.through.isChecked() and again.network.bar.through.isChecked()
        assert "Could not restore" not in (again.last_message or "")
    finally:
        again.remember = False
        delete_now(again)


def test_the_layer_alone_waits_while_the_network_shows_and_is_exact_when_back(qtbot, window):
    """While the network's panels show, an edit of the layer alone's settings is recorded
    but not computed (its panels are hidden: no CPU for them, J⁺ runs alone); switching
    back draws exactly what the pipeline computes for the settings of then."""
    from deconv_gui.core import run_pipeline

    _through(qtbot, window)
    # what the layer alone started before it was hidden (a solve, its SSIM) may land later
    qtbot.waitUntil(lambda: window.live.idle, timeout=TIMEOUT)
    started = []
    window.live.started.connect(started.append)
    before = window.result
    methods = ("transposed", "normalized_transposed", "pinv")
    assert set(before.params.methods) != set(methods)
    window.recon_options.set_values(methods=methods)
    qtbot.waitUntil(lambda: set(window.document.params.methods) == set(methods), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.live.idle and window.network.settled, timeout=TIMEOUT)
    assert started == [] and window.result is before  # nothing computed for hidden panels
    assert window.live.hidden and not window.runner.busy
    _through(qtbot, window, False)
    qtbot.waitUntil(lambda: window.result is not before and window.live.idle, timeout=TIMEOUT)
    assert len(started) == 1 and not window.live.hidden
    shown = window.result
    params = window.document.params
    assert shown.params == params and set(shown.images) >= {"normalized_transposed"}
    reference = run_pipeline(window.state.image.pixels, params)
    np.testing.assert_allclose(shown.forward_output, reference.forward_output, rtol=0, atol=1e-12)
    assert set(shown.images) == set(reference.images)
    for key, array in reference.images.items():
        np.testing.assert_allclose(shown.images[key], array, rtol=0, atol=1e-10, err_msg=key)
        np.testing.assert_allclose(window.panels.panel(key).data, array, atol=1e-10, err_msg=key)
    # back and forth without an edit computes nothing more
    _through(qtbot, window)
    _through(qtbot, window, False)
    qtbot.waitUntil(lambda: window.live.idle, timeout=TIMEOUT)
    assert len(started) == 1 and window.result is shown


def test_the_filter_is_read_only_while_the_files_network_is_studied(qtbot, window):
    """The network up to a model file's layer runs the file's own weights, so an edit of
    the dock's Filter changed nothing shown: there the Filter shows the layer's filter
    read-only under a note saying why and how to edit it; the layer alone edits again."""
    editor = window.filter_editor
    editing = (
        editor.ui.preset_combo,
        editor.ui.size_h,
        editor.ui.c_out_spin,
        editor.ui.normalise_button,
        editor.ui.bias_spin,
        editor.ui.flip_check,
    )
    assert not editor.read_only and editor.section_note.isHidden()
    assert all(widget.isEnabled() for widget in editing)
    _through(qtbot, window)
    assert editor.read_only and editor.section_note.isVisible()
    note = editor.section_note.text()
    assert "Read-only" in note and "three.onnx" in note and LAYER in note
    assert "this layer alone" in note
    assert not any(widget.isEnabled() for widget in editing)
    assert not editor.grid(0).is_editable() and not editor.grid(0).set_cell_text(0, 0, "5")
    assert "Read-only" in editor.grid(0).item(0, 0).toolTip()
    # the filter shown is the layer's, and the outputs can still be looked through
    np.testing.assert_array_equal(editor.weights(), window.document.params.weights)
    assert editor.ui.out_combo.isEnabled()
    editor.ui.out_combo.setCurrentIndex(1)
    np.testing.assert_array_equal(
        editor.grid(0).value(0, 0), window.document.params.weights[0, 0, 0, 1]
    )
    weights = window.document.params.weights.copy()
    _through(qtbot, window, False)
    assert not editor.read_only and editor.section_note.isHidden()
    assert all(widget.isEnabled() for widget in editing)
    assert editor.grid(0).set_cell_text(0, 0, "0.5")
    qtbot.waitUntil(lambda: window.document.params.weights[0, 0, 0, 1] == 0.5, timeout=TIMEOUT)
    assert np.count_nonzero(window.document.params.weights != weights) == 1


def test_the_geometry_is_read_only_while_the_files_network_is_studied(qtbot, window):
    """The file's network runs its own strides and paddings too: the Geometry is shown
    read-only under a note there, each control back as it was with the layer alone."""
    geometry = window.geometry_editor
    stride = geometry.pair_control("stride")
    assert not geometry.read_only and stride.isEnabled() and geometry.section_note.isHidden()
    _through(qtbot, window)
    assert geometry.read_only and not stride.isEnabled() and not geometry.mode_control().isEnabled()
    assert geometry.section_note.isVisible() and "Read-only" in geometry.section_note.text()
    _through(qtbot, window, False)
    assert not geometry.read_only and stride.isEnabled() and geometry.mode_control().isEnabled()
    assert geometry.section_note.isHidden()
