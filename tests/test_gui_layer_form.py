"""The geometry form holds every padding form and the ConvTranspose2d layer; the window
studies a decoder layer."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore

from deconv_gui.gui.controls.filter_editor import FilterEditor
from deconv_gui.gui.controls.geometry import GeometryEditor
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 60_000


def test_geometry_form_holds_four_sides_names_and_the_layer_kind(qtbot):
    form = GeometryEditor()
    qtbot.addWidget(form)
    for padding in (((0, 2), (1, 3)), "same", "same_lower", "valid", (2, 1)):
        with qtbot.waitSignal(form.geometryChanged, timeout=1000):
            form.set_values(padding=padding)
        assert form.values()["padding"] == padding
    form.set_values(padding=((1, 1), (2, 2)))  # symmetric sides are the (h, w) pair
    assert form.padding() == (1, 2)
    form.set_values(padding=((0, 1), (0, 1)))
    form._sides.choice.setCurrentIndex(0)  # back to "each side": top and left on both sides
    assert form.padding() == (0, 0)
    with pytest.raises(ValueError, match="padding"):
        form.set_values(padding="middle")
    assert form.values()["layer_kind"] == "conv" and form.values()["output_padding"] is None
    form.set_values(layer_kind="conv_transpose", output_padding=(1, 0))
    assert form.values()["layer_kind"] == "conv_transpose"
    assert form.values()["output_padding"] == (1, 0)
    form.set_values(output_padding=None)
    assert form.values()["output_padding"] is None
    with pytest.raises(ValueError, match="layer_kind"):
        form.set_values(layer_kind="deconv")


def _words(editor: FilterEditor) -> tuple:
    """What the filter section says: note shown, captions, the output combo, map rows."""
    ui = editor.ui
    return (
        not ui.kind_note.isHidden(),
        [c.text() for c in editor._grids.captions],
        [ui.out_combo.itemText(k) for k in range(ui.out_combo.count())],
        ui.channel_map.row_labels(),
    )


def test_the_filter_section_words_a_transposed_conv_as_the_decoder_reads_it(qtbot):
    editor = FilterEditor()
    qtbot.addWidget(editor)
    editor.set_values(weights=np.ones((3, 3, 1, 3)), groups=3)  # depthwise 3 -> 3
    with qtbot.assertNotEmitted(editor.filterChanged):
        editor.set_layer_kind("conv")
    conv = (False, ["channel R"], ["output 0", "output 1", "output 2"], ("inputs", "outputs"))
    assert _words(editor) == conv
    assert "ConvTranspose2d" not in editor.ui.header.toolTip()
    with qtbot.assertNotEmitted(editor.filterChanged):  # words only: the filter stays
        editor.set_layer_kind("conv_transpose")
    assert editor.weights().shape == (3, 3, 1, 3)
    # the image enters on C_out (R, G, B on top, the inputs); the grids go to its outputs
    assert _words(editor) == (
        True,
        ["to out 0"],
        ["input R", "input G", "input B"],
        ("in: C_out", "out: C_in"),
    )
    assert editor.ui.kind_note.text() == "ConvTranspose2d: in C_out → out C_in"
    assert editor.ui.header.text() == "Filter  3×3×1×3"  # the schema's layout, unchanged
    assert "PyTorch's weight is (C_out, C_in/groups, f_h, f_w) = (3, 1, 3, 3)" in (
        editor.ui.header.toolTip()
    )
    assert "decoder's INPUT channels" in editor.ui.c_out_spin.toolTip()
    assert "R → out 0, G → out 1, B → out 2" in editor.ui.channel_map.toolTip()
    # the decoder's inputs are the dots to click, on top
    cmap = editor.ui.channel_map
    cmap.resize(240, cmap.sizeHint().height())
    top, bottom = cmap._rows()
    x = cmap._xs(3)[2]
    assert cmap.output_at(x, bottom) is None
    qtbot.mouseClick(cmap, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(int(x), int(top)))
    assert editor.current_output() == 2 and _words(editor)[1] == ["to out 2"]
    editor.set_layer_kind("conv")
    assert _words(editor) == (False, ["channel B"], *conv[2:])


def _bias_row(editor: FilterEditor) -> tuple:
    """The bias row's words: its label, and the output choice when shown."""
    ui = editor.ui
    choices = [ui.bias_combo.itemText(k) for k in range(ui.bias_combo.count())]
    return ui.bias_label.text(), choices if not ui.bias_combo.isHidden() else None


def test_a_decoders_bias_box_belongs_to_its_outputs_not_to_the_input_shown(qtbot):
    editor = FilterEditor()
    qtbot.addWidget(editor)
    editor.set_values(weights=np.ones((3, 3, 1, 3)), groups=3)  # depthwise 3 -> 3
    ui = editor.ui
    # its own row, under the weights' row (not beside the input choice)
    assert ui.layout.indexOf(ui.bias_spin) == -1
    row = next(
        ui.layout.itemAt(k).layout()
        for k in range(ui.layout.count())
        if ui.layout.itemAt(k).layout() is not None
        and ui.layout.itemAt(k).layout().indexOf(ui.bias_spin) >= 0
    )
    assert row.indexOf(ui.out_combo) == -1
    ui.out_combo.setCurrentIndex(1)
    assert _bias_row(editor) == ("bias of output 1", None)  # a conv: the output shown
    editor.set_layer_kind("conv_transpose")
    assert _bias_row(editor) == ("bias of", ["output 0", "output 1", "output 2"])
    # the decoder's output 2 gets the bias, whichever input's weights are shown
    ui.out_combo.setCurrentIndex(0)
    ui.bias_combo.setCurrentIndex(2)
    with qtbot.waitSignal(editor.filterChanged, timeout=1000):
        ui.bias_spin.setValue(0.5)
    assert editor.bias() == (0.0, 0.0, 0.5)
    ui.bias_combo.setCurrentIndex(1)
    assert ui.bias_spin.value() == 0.0
    # 3 inputs -> 2 outputs: one bias for both outputs, a valid decoder bias
    editor.set_values(weights=np.ones((3, 3, 2, 3)), bias=0.0, groups=1)
    assert _bias_row(editor) == ("bias of", ["all 2 outputs"])
    ui.bias_spin.setValue(0.25)
    assert editor.bias() == (0.25, 0.25, 0.25)


def test_a_decoders_own_bias_is_shown_per_output_and_read_back(qtbot):
    from deconv_gui.core import Params
    from deconv_gui.gui.controls.forms import ParamsForms
    from deconv_gui.gui.controls.recon_options import ReconOptions

    editor, geometry, options = FilterEditor(), GeometryEditor(), ReconOptions()
    for widget in (editor, geometry, options):
        qtbot.addWidget(widget)
    forms = ParamsForms(editor, geometry, options)
    given = Params(
        np.ones((3, 3, 1, 3)), bias=(0.1, 0.2, 0.3), groups=3, layer_kind="conv_transpose"
    )
    forms.show(given, ("transposed",))
    assert forms.decoder_bias is None  # shown, not carried unseen
    editor.ui.bias_combo.setCurrentIndex(2)
    assert editor.ui.bias_spin.value() == pytest.approx(0.3)
    assert forms.read().bias == (0.1, 0.2, 0.3)
    # 3 inputs -> 2 outputs: the editor cannot hold two biases, they are carried
    two = Params(np.ones((3, 3, 2, 3)), bias=(0.5, -0.5), layer_kind="conv_transpose")
    forms.show(two, ("transposed",))
    assert forms.decoder_bias == (0.5, -0.5) and forms.read().bias == (0.5, -0.5)


def test_a_decoders_carried_biases_are_shown_as_their_range_not_a_zero(qtbot):
    """A decoder with more outputs than inputs (1 -> 3) and a bias of its own per output
    (a session's): the editor holds one bias per input, so the biases are carried past
    it; the row says "each its own" and shows their range where the box showed 0.000."""
    from deconv_gui.core import Params
    from deconv_gui.gui.controls.forms import ParamsForms
    from deconv_gui.gui.controls.recon_options import ReconOptions

    editor, geometry, options = FilterEditor(), GeometryEditor(), ReconOptions()
    for widget in (editor, geometry, options):
        qtbot.addWidget(widget)
    forms = ParamsForms(editor, geometry, options)
    given = Params(np.ones((3, 3, 3, 1)), bias=(0.1, -0.2, 0.3), layer_kind="conv_transpose")
    forms.show(given, ("transposed",))  # before the editor is on screen, as a session opens
    assert _bias_row(editor) == ("bias of", ["each its own"])
    editor.show()
    assert forms.decoder_bias == (0.1, -0.2, 0.3) and forms.read().bias == (0.1, -0.2, 0.3)
    ui, carried = editor.ui, editor.ui.bias_row.carried_label
    assert _bias_row(editor) == ("bias of", ["each its own"])
    assert not ui.bias_spin.isVisible() and carried.isVisible()  # no 0.000 in sight
    assert carried.text() == "-0.2 … 0.3"
    assert all(f"{b:.4g}" in carried.toolTip() for b in (0.1, -0.2, 0.3))
    # one shared bias: the box again, with that bias
    forms.show(replace(given, bias=0.25), ("transposed",))
    assert forms.decoder_bias is None and not carried.isVisible()
    assert ui.bias_spin.isVisible() and ui.bias_spin.value() == pytest.approx(0.25)
    assert _bias_row(editor) == ("bias of", ["all 3 outputs"])
    # a conv: the box of its output
    forms.show(replace(given, layer_kind="conv", bias=0.0), ("transposed",))
    assert not carried.isVisible() and ui.bias_spin.isVisible()


def test_a_deep_layers_combos_name_the_channels_of_the_layer(qtbot):
    editor = FilterEditor()
    qtbot.addWidget(editor)
    editor.set_layer_kind("conv_transpose")  # a ConvTranspose2d(3, 64): the image in
    weights = np.random.default_rng(0).standard_normal((4, 4, 64, 3))
    editor.set_values(weights=weights, bias=0.0)
    assert editor.deep
    editor.picker.pick("0-2", "0-15")
    editor.picker.pick("2", "0-15")
    items = [editor.ui.out_combo.itemText(k) for k in range(editor.ui.out_combo.count())]
    assert items == ["input B"]  # the image's channel B, not the slice's "in 0" or "grey"
    assert editor.ui.c_out_spin.value() == 3  # the layer's C_out, not the slice's 1
    assert _bias_row(editor) == ("bias of", ["each its own"])
    assert not editor.ui.bias_spin.isEnabled()
    editor.set_layer_kind("conv")  # a Conv2d(64, 3) on 64 maps: its output 2
    editor.set_feature_maps(True)
    items = [editor.ui.out_combo.itemText(k) for k in range(editor.ui.out_combo.count())]
    assert items == ["output 2"] and _bias_row(editor) == ("bias of output 2", None)


def test_the_window_studies_a_decoder_layer(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    try:
        _study_a_decoder(qtbot, win)
    finally:
        delete_now(win)


def _study_a_decoder(qtbot, win) -> None:
    win.show()
    qtbot.waitUntil(lambda: win.result is not None and not win.runner.busy, timeout=TIMEOUT)
    weights = np.abs(np.random.default_rng(0).standard_normal((4, 4, 2, 3))) / 4
    win.filter_editor.set_values(weights=weights, bias=0.0)
    win.geometry_editor.set_values(layer_kind="conv_transpose", stride=2, padding=1)

    def decoded() -> bool:
        r = win.result
        return not win.runner.busy and r is not None and r.params.layer_kind == "conv_transpose"

    qtbot.waitUntil(decoded, timeout=TIMEOUT)
    h, w, _ = win.result.image.shape
    assert win.result.forward_output.shape == (2 * h, 2 * w, 2)
    assert "transposed conv" in win.geometry_editor.arithmetic_text()
    assert "ConvTranspose2d(padding=(1, 1)" in win.geometry_editor.arithmetic_text()


def test_a_colour_image_fits_a_decoder_and_a_conv_again_in_one_undo_step(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    try:
        _switch_kinds(qtbot, win)
    finally:
        delete_now(win)


def _switch_kinds(qtbot, win) -> None:
    win.show()
    qtbot.waitUntil(lambda: win.result is not None and not win.runner.busy, timeout=TIMEOUT)
    image = win.result.image
    assert image.shape[2] == 3 and win.filter_editor.weights().shape == (3, 3, 3, 1)
    win.history.flush()
    steps = win.history.stack.count()

    def studied(kind: str) -> bool:
        r = win.result
        return not win.runner.busy and r is not None and r.params.layer_kind == kind

    win.geometry_editor.set_values(layer_kind="conv_transpose", stride=2, padding=1)
    qtbot.waitUntil(lambda: studied("conv_transpose"), timeout=TIMEOUT)
    h, w, _ = image.shape
    # depthwise: each colour channel upsampled by the Gaussian, the picture itself larger
    assert win.filter_editor.weights().shape == (3, 3, 1, 3) and win.filter_editor.groups() == 3
    assert _words(win.filter_editor)[:2] == (True, ["to out 0"])  # the switch rewords it
    out = win.result.forward_output
    assert out.shape == (2 * h - 1, 2 * w - 1, 3)
    kernel = win.filter_editor.weights()[:, :, 0, 0]
    full = np.zeros((2 * h + 1, 2 * w + 1, 3))  # a scatter: pixel (i, j) paints the
    for u in range(3):  # kernel at (2i, 2j), each channel alone; padding 1 crops one row
        for v in range(3):
            full[u : u + 2 * h : 2, v : v + 2 * w : 2] += image * kernel[u, v]
    np.testing.assert_allclose(out, full[1:-1, 1:-1], rtol=1e-5, atol=1e-6)  # float32
    win.history.flush()
    assert win.history.stack.count() == steps + 1  # the switch and the refit: one step

    win.geometry_editor.set_values(layer_kind="conv")
    qtbot.waitUntil(lambda: studied("conv"), timeout=TIMEOUT)
    assert win.result.forward_output.shape == (h // 2 + h % 2, w // 2 + w % 2, 3)
    assert _words(win.filter_editor)[0] is False
    win.history.flush()
    win.history.undo()
    qtbot.waitUntil(lambda: studied("conv_transpose"), timeout=TIMEOUT)
    win.history.undo()
    qtbot.waitUntil(lambda: studied("conv"), timeout=TIMEOUT)
    assert win.filter_editor.weights().shape == (3, 3, 3, 1) and win.filter_editor.groups() == 1
    assert win.result.forward_output.shape[2] == 1
    # Params shown as given (a model's layer, a decoder fitted elsewhere) keep their filter
    given = win.current_params().replace(
        weights=np.full((2, 2, 3, 1), 0.25), bias=0.0, groups=1, layer_kind="conv_transpose"
    )
    win.apply_params(given)
    assert win.filter_editor.weights().shape == (2, 2, 3, 1)
