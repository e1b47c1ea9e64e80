"""The left-dock control widgets: filter editor, geometry, reconstruction options, image controls.

References are independent of the widgets: presets are compared with ``make_filter`` called
directly, resized / re-channelled / normalised filters with literal numpy expressions. All
comparisons of weights are exact (the widgets copy numbers, they do no arithmetic beyond the
stated divisions), except normalisation, compared at 1e-12 (one float division per tap).
"""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import QEvent, QObject, Qt
from qtpy.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
)

from deconv_gui.core import PRESETS, make_filter
from deconv_gui.gui.controls.filter_editor import FilterEditor
from deconv_gui.gui.controls.geometry import GeometryEditor
from deconv_gui.gui.controls.image import ImageControls
from deconv_gui.gui.controls.recon_options import ReconOptions
from deconv_gui.io import SAMPLES, load_image

pytestmark = pytest.mark.gui


class Counter:
    """Counts emissions of a signal."""

    def __init__(self, signal) -> None:
        self.calls: list[tuple] = []
        signal.connect(lambda *args: self.calls.append(args))

    @property
    def count(self) -> int:
        return len(self.calls)


class EventCounter(QObject):
    """Counts the events of some types a widget receives."""

    def __init__(self, widget, *types: QEvent.Type) -> None:
        super().__init__(widget)
        self.types = set(types)
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() in self.types:
            self.count += 1
        return False


@pytest.fixture
def editor(qtbot):
    widget = FilterEditor()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def type_into_cell(qtbot, editor: FilterEditor, channel: int, row: int, column: int, text: str):
    """Edit a cell the way a user does: open its editor, type, press Enter."""
    grid = editor.grid(channel)
    grid.setFocus()
    grid.setCurrentCell(row, column)
    grid.editItem(grid.item(row, column))
    line_edit = grid.findChild(QLineEdit)
    assert line_edit is not None
    line_edit.selectAll()
    qtbot.keyClicks(line_edit, text)
    qtbot.keyClick(line_edit, Qt.Key.Key_Return)
    QApplication.processEvents()  # the delegate commits through a queued call


# --------------------------------------------------------------------------- filter editor
def test_default_is_gaussian_3x3x3x1(editor):
    np.testing.assert_array_equal(editor.weights(), make_filter("gaussian", size=3))
    assert editor.bias() == (0.0,)
    assert editor.preset() == "gaussian"


@pytest.mark.parametrize("name", PRESETS)
def test_presets_give_make_filter_weights(editor, name):
    changes = Counter(editor.filterChanged)
    combo = editor.findChild(QComboBox, "preset")
    combo.setCurrentIndex(combo.findData(name))
    combo.activated.emit(combo.findData(name))  # what a user's pick emits
    expected = make_filter(name, size=(3, 3), in_channels=3, out_channels=1, seed=0)
    np.testing.assert_array_equal(editor.weights(), expected)
    assert editor.preset() == name
    assert changes.count == (0 if name == "gaussian" else 1)  # one signal for all 27 cells


def test_random_seed_regenerates(editor):
    editor.set_preset("random")
    changes = Counter(editor.filterChanged)
    editor.findChild(QSpinBox, "seed").setValue(5)
    np.testing.assert_array_equal(editor.weights(), make_filter("random", size=3, seed=5))
    assert editor.seed() == 5 and changes.count == 1


def test_typing_in_a_cell_changes_weights_once_and_mirrors(qtbot, editor):
    assert editor.same_in_all_channels()
    changes = Counter(editor.filterChanged)
    type_into_cell(qtbot, editor, channel=1, row=0, column=2, text="0.5")
    weights = editor.weights()
    np.testing.assert_array_equal(weights[0, 2, :, 0], [0.5, 0.5, 0.5])  # mirrored to R, G, B
    assert changes.count == 1
    assert editor.preset() == "custom"
    assert editor.findChild(QComboBox, "preset").currentData() == "custom"
    assert editor.grid(0).item(0, 2).text() == "0.500"


def test_unchecked_same_edits_one_channel(qtbot, editor):
    editor.findChild(QCheckBox, "same").setChecked(False)
    before = editor.weights()
    type_into_cell(qtbot, editor, channel=2, row=1, column=1, text="-1.25")
    expected = before.copy()
    expected[1, 1, 2, 0] = -1.25
    np.testing.assert_array_equal(editor.weights(), expected)


def test_checking_same_copies_the_first_channel(editor):
    editor.set_preset("seed_question")
    assert not editor.same_in_all_channels()  # the preset's channels differ
    weights = editor.weights()
    editor.findChild(QCheckBox, "same").setChecked(True)
    np.testing.assert_array_equal(editor.weights(), np.repeat(weights[:, :, :1], 3, axis=2))


@pytest.mark.parametrize("text", ["abc", "", "1e999", "nan", "2,5", "--1", "1e7"])
def test_invalid_text_is_rejected(editor, text):
    changes = Counter(editor.filterChanged)
    before = editor.weights()
    assert editor.grid(0).set_cell_text(0, 0, text) is False
    np.testing.assert_array_equal(editor.weights(), before)
    assert changes.count == 0 and editor.preset() == "gaussian"


def test_validator_blocks_letters_while_typing(qtbot, editor):
    before = editor.weights()
    type_into_cell(qtbot, editor, channel=0, row=0, column=0, text="x")
    np.testing.assert_array_equal(editor.weights(), before)  # empty text is never committed


def test_kernel_size_change_reshapes(editor):
    editor.findChild(QSpinBox, "size_h").setValue(5)
    np.testing.assert_array_equal(editor.weights(), make_filter("gaussian", size=(5, 3)))
    assert editor.grid(0).rowCount() == 5 and editor.grid(0).columnCount() == 3


def test_custom_kernel_resize_keeps_the_centre(editor):
    custom = np.arange(27, dtype=float).reshape(3, 3, 3, 1)
    editor.set_filter(custom)
    editor.findChild(QSpinBox, "size_w").setValue(5)
    expected = np.zeros((3, 5, 3, 1))
    expected[:, 1:4] = custom
    np.testing.assert_array_equal(editor.weights(), expected)
    editor.findChild(QSpinBox, "size_h").setValue(1)
    np.testing.assert_array_equal(editor.weights(), expected[1:2])


def test_set_in_channels_rebuilds_grids(editor):
    editor.set_in_channels(1)
    np.testing.assert_array_equal(editor.weights(), make_filter("gaussian", size=3, in_channels=1))
    grids = editor.findChildren(type(editor.grid(0)))
    assert sum(grid.is_editable() for grid in grids) == 1  # and its flipped view
    editor.set_in_channels(3)
    np.testing.assert_array_equal(editor.weights(), make_filter("gaussian", size=3))
    assert [editor.grid(c).isVisible() for c in range(3)] == [True, True, True]
    with pytest.raises(ValueError, match="n must be"):
        editor.set_in_channels(5)


def test_custom_filter_keeps_grey_response_when_rechannelled(editor):
    custom = np.random.default_rng(1).normal(size=(3, 3, 3, 2))
    editor.set_filter(custom, bias=(0.1, 0.2))
    editor.set_in_channels(1)
    np.testing.assert_array_equal(editor.weights()[:, :, 0, :], custom.sum(axis=2))
    assert editor.bias() == (0.1, 0.2) and editor.preset() == "custom"


def test_c_out_two_and_bias_per_output(editor):
    editor.findChild(QSpinBox, "c_out").setValue(2)
    expected = make_filter("gaussian", size=3, out_channels=2)
    np.testing.assert_array_equal(editor.weights(), expected)
    assert len(editor.bias()) == 2
    editor.findChild(QComboBox, "output").setCurrentIndex(1)
    changes = Counter(editor.filterChanged)
    editor.findChild(QDoubleSpinBox, "bias").setValue(0.25)
    assert editor.bias() == (0.0, 0.25) and changes.count == 1
    # the grids show output 2 (the rotated Gaussian equals itself; check a cell's value)
    assert editor.grid(0).value(1, 1) == expected[1, 1, 0, 1]


def test_normalise_divides_by_sum_or_abs_sum(editor):
    custom = np.ones((3, 3, 1, 2))
    custom[..., 1] = np.outer([1.0, 2.0, 1.0], [-1.0, 0.0, 1.0])[:, :, None]  # Sobel: sum 0
    editor.set_filter(custom)
    editor.findChild(QPushButton, "normalise").click()
    np.testing.assert_allclose(editor.weights()[..., 0], custom[..., 0] / 9.0, rtol=1e-12)
    np.testing.assert_allclose(editor.weights()[..., 1], custom[..., 1] / 8.0, rtol=1e-12)


def test_set_filter_validates(editor):
    with pytest.raises(ValueError, match="weights"):
        editor.set_filter(np.ones((9, 3, 3, 1)))
    with pytest.raises(ValueError, match="weights"):
        editor.set_filter(np.ones((3, 3, 3, 5000)))
    # more outputs than the grids show: a deep layer, shown as a slice of the whole filter
    editor.set_filter(np.ones((3, 3, 3, 9)))
    assert editor.deep and editor.weights().shape == (3, 3, 3, 9)
    with pytest.raises(ValueError, match="bias"):
        editor.set_filter(np.ones((3, 3, 3, 2)), bias=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="name"):
        editor.set_preset("nope")


# --------------------------------------------------------------------------- geometry
def test_geometry_linked_and_unlinked(qtbot):
    geometry = GeometryEditor()
    qtbot.addWidget(geometry)
    assert (geometry.stride(), geometry.padding(), geometry.dilation()) == ((2, 2), (1, 1), (1, 1))
    changes = Counter(geometry.geometryChanged)
    stride = geometry.pair_control("stride")
    stride.h_spin.setValue(3)
    assert geometry.stride() == (3, 3) and changes.count == 1
    stride.link.setChecked(False)
    stride.w_spin.setValue(1)
    assert geometry.stride() == (3, 1)
    stride.link.setChecked(True)  # relinking makes the width follow the height
    assert geometry.stride() == (3, 3)


def test_geometry_set_values(qtbot):
    geometry = GeometryEditor()
    qtbot.addWidget(geometry)
    changes = Counter(geometry.geometryChanged)
    geometry.set_values((2, 3), 0, (1, 2))
    assert geometry.stride() == (2, 3) and geometry.padding() == (0, 0)
    assert geometry.dilation() == (1, 2) and changes.count == 1
    assert not geometry.pair_control("stride").is_linked()
    assert geometry.pair_control("padding").is_linked()
    geometry.set_values((2, 3), 0, (1, 2))
    assert changes.count == 1  # nothing changed, no signal
    for bad in ({"stride": 0}, {"padding": (1, 1025)}, {"dilation": 1.5}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            geometry.set_values(**bad)


def test_geometry_arithmetic_box(qtbot):
    geometry = GeometryEditor()
    qtbot.addWidget(geometry)
    geometry.show_arithmetic("7×7×3 → 3×3×1 · 9 equations, 147 unknowns · at least 138 lost")
    assert "7×7×3 → 3×3×1" in geometry.arithmetic_text() and "138" in geometry.arithmetic_text()
    geometry.show_arithmetic("output would be empty <stride 8>", error=True)
    assert "&lt;stride 8&gt;" in geometry.arithmetic_text()  # escaped, shown as text


def test_geometry_arithmetic_restyles_only_on_change(qtbot):
    geometry = GeometryEditor()
    qtbot.addWidget(geometry)
    geometry.show()  # a hidden widget is re-polished lazily, without StyleChange events
    qtbot.waitExposed(geometry)
    box = geometry._arithmetic
    restyles = EventCounter(box, QEvent.Type.StyleChange)
    geometry.show_arithmetic("7×7×3 → 3×3×1 · 9 equations", error=True)
    assert restyles.count == 1
    shown = geometry.arithmetic_text()
    for _ in range(3):
        geometry.show_arithmetic("7×7×3 → 3×3×1 · 9 equations", error=True)
    assert restyles.count == 1 and geometry.arithmetic_text() == shown
    geometry.show_arithmetic("7×7×3 → 3×3×1 · 9 equations")
    assert restyles.count == 2 and geometry.arithmetic_text() != shown


# --------------------------------------------------------------------------- reconstruction
def test_recon_defaults_and_values(qtbot):
    options = ReconOptions()
    qtbot.addWidget(options)
    assert options.reg() == 0.0 and options.rtol() == 1e-8 and options.max_iter() == 200
    assert options.noise_sigma() == 0.0 and options.methods() == ("transposed", "pinv")
    changes = Counter(options.optionsChanged)
    options.set_values(reg=3e-4, rtol=1e-6, max_iter=None, noise_sigma=0.05, noise_seed=7)
    assert changes.count == 1
    assert options.reg() == 3e-4 and options.rtol() == 1e-6 and options.max_iter() is None
    assert options.noise_sigma() == 0.05 and options.noise_seed() == 7
    options.set_values(methods=("pinv", "normalized_transposed"))
    assert options.methods() == ("transposed", "normalized_transposed", "pinv")
    with pytest.raises(ValueError, match="methods"):
        options.set_values(methods=("magic",))
    with pytest.raises(ValueError, match="reg"):
        options.set_values(reg=-1.0)


def test_reg_slider_has_zero_and_log_scale(qtbot):
    options = ReconOptions()
    qtbot.addWidget(options)
    slider = options.findChild(type(options._reg.slider), "reg")
    changes = Counter(options.optionsChanged)
    slider.setValue(1)
    assert options.reg() == pytest.approx(1e-12, rel=1e-12) and changes.count == 1
    slider.setValue(slider.maximum())
    assert options.reg() == pytest.approx(1e4, rel=1e-12)
    slider.setValue(0)
    assert options.reg() == 0.0


def test_recon_checkbox_and_spin_emit(qtbot):
    options = ReconOptions()
    qtbot.addWidget(options)
    changes = Counter(options.optionsChanged)
    options.findChild(QCheckBox, "method_normalized_transposed").setChecked(True)
    options.findChild(QSpinBox, "max_iter").setValue(50)
    options.findChild(QDoubleSpinBox, "noise_sigma").setValue(0.01)
    assert changes.count == 3 and options.max_iter() == 50


def test_progress_cancel_and_report(qtbot):
    options = ReconOptions()
    qtbot.addWidget(options)
    cancel = options.findChild(QPushButton, "cancel")
    cancels = Counter(options.cancelRequested)
    assert not cancel.isEnabled()
    options.set_busy(True)
    options.set_progress(12, 200, 3e-7)
    assert options.progress_text() == "pinv: iteration 12, residual 3e-7"
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert cancels.count == 1
    options.set_busy(False)
    assert not cancel.isEnabled()
    options.set_report("pinv NOT converged after 200 iterations")
    assert "b35900" in options.findChild(type(options._report), "report").styleSheet()
    options.set_report("converged in 9 iterations, residual 4.6e-07")
    assert "NOT" not in options.report_text()


def test_progress_defers_paints_and_restyles_only_on_change(qtbot):
    options = ReconOptions()
    qtbot.addWidget(options)
    options.show()
    qtbot.waitExposed(options)
    bar = options.findChild(QProgressBar, "progress")
    report = options.findChild(type(options._report), "report")
    paints = EventCounter(bar, QEvent.Type.Paint)
    restyles = EventCounter(report, QEvent.Type.StyleChange)
    options.set_busy(True)
    for iteration in (1, 50, 120):
        options.set_progress(iteration, 200, 0.5)  # residual far from rtol: iterations lead
        assert paints.count == 0  # no synchronous repaint inside the call
    assert bar.value() == round(1000 * 120 / 200)
    qtbot.waitUntil(lambda: paints.count > 0)  # painted later by the event loop
    options.set_report("converged in 9 iterations, residual 4.6e-07")
    assert bar.value() == 1000 and paints.count >= 1
    styled = restyles.count
    options.set_report("converged in 9 iterations, residual 4.6e-07")
    options.set_report("converged in 12 iterations, residual 2.0e-07")
    assert restyles.count == styled  # same colour: style sheet not set again
    options.set_report("pinv NOT converged after 200 iterations")
    assert restyles.count == styled + 1


# --------------------------------------------------------------------------- image controls
def test_image_controls_signals(qtbot):
    controls = ImageControls()
    qtbot.addWidget(controls)
    assert controls.work_size() == 256 and controls.current_sample() == "astronaut"
    samples = Counter(controls.sampleRequested)
    combo = controls.findChild(QComboBox, "sample")
    combo.activated.emit(combo.findData("seed_toy"))
    assert samples.calls == [("seed_toy",)]
    opens = Counter(controls.openRequested)
    qtbot.mouseClick(controls.findChild(QPushButton, "open"), Qt.MouseButton.LeftButton)
    assert opens.count == 1
    sizes = Counter(controls.workSizeChanged)
    work = controls.findChild(QComboBox, "work_size")
    work.activated.emit(work.findData(None))
    assert sizes.calls == [(None,)]
    work.activated.emit(work.findData(None))  # same again: no signal
    assert sizes.count == 1
    controls.set_work_size(512)
    assert controls.work_size() == 512 and sizes.count == 1  # set_* never emits
    controls.set_current_sample(None)
    assert controls.current_sample() is None
    controls.set_info("astronaut · 256×256×3 · float32 (from uint8 ÷ 255)")
    assert controls.info_text().startswith("astronaut")
    assert [combo.itemData(i) for i in range(len(SAMPLES))] == list(SAMPLES)


def test_a_long_file_name_is_shown_once_elided_in_its_middle(qtbot, tmp_path):
    """The dock names an opened file once: on the first line with its shape, a long name
    elided in its middle (its start and extension stay, the shape too), the whole path
    in its tooltip; the note below does not repeat it, nor does the status summary."""

    name = "a_rather_long_file_name_for_a_photograph_taken_in_2026.npy"
    path = tmp_path / name
    np.save(path, np.linspace(0, 1, 40 * 30).reshape(40, 30))
    controls = ImageControls()
    qtbot.addWidget(controls)
    narrowest = controls.minimumSizeHint().width()
    controls.resize(narrowest, controls.sizeHint().height())
    controls.show()
    summary = controls.show_image(load_image(path, None), "file")
    assert controls.info_text().count(name) == 1 and summary.count(name) == 1
    label = controls.findChild(QLabel, "image_name")
    assert label.text() == f"{name}  40×30×1"
    shown = label.shown_text()
    assert shown.startswith("a_rather") and shown.endswith(".npy  40×30×1") and "…" in shown
    assert str(path) in label.current_tooltip()
    assert controls.minimumSizeHint().width() == narrowest  # the name never widens the dock
    controls.show_image(load_image(path, None), "array")  # no file: no path to give
    assert str(path) not in label.toolTip()


def test_an_image_smaller_than_the_work_size_says_it_is_used_at_its_own_size(qtbot, tmp_path):
    """A 24×40 image with the work size at 256 px is not enlarged: the dock's note and the
    status bar's summary say so, and say nothing of the kind once the size is original."""
    path = tmp_path / "small.npy"
    np.save(path, np.zeros((24, 40, 3)))
    controls = ImageControls()
    qtbot.addWidget(controls)
    controls.set_work_size(256)
    loaded = load_image(path, 256)
    assert loaded.pixels.shape == (24, 40, 3)  # what actually happens: its own size
    summary = controls.show_image(loaded, "file")
    words = "used at its own size (smaller than the 256 px work size, never enlarged)"
    assert words in controls.info_text() and words in summary
    controls.set_work_size(None)
    assert "own size" not in controls.show_image(load_image(path, None), "file")
    controls.set_work_size(16)  # shrunk: the loader's note says so, not this one
    assert "own size" not in controls.show_image(load_image(path, 16), "file")


# --------------------------------------------------------------------------- looks
def test_widgets_render_in_a_dock_width_with_tooltips(qtbot, tmp_path):
    """Each widget renders non-blank, fits a ~350 px dock, and every control has a tooltip."""
    editor = FilterEditor()
    widgets = {
        "image": ImageControls(),
        "filter": editor,
        "geometry": GeometryEditor(),
        "recon": ReconOptions(),
    }
    for name, widget in widgets.items():
        qtbot.addWidget(widget)
        widget.resize(widget.sizeHint())
        widget.show()
        assert widget.minimumSizeHint().width() <= 380, name
        image = widget.grab().toImage()
        path = tmp_path / f"{name}.png"
        assert image.save(str(path)) and path.stat().st_size > 0
        colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in (10, 40, 70)}
        assert len(colours) > 3, name
        controls = (QComboBox, QSpinBox, QDoubleSpinBox, QCheckBox, QPushButton)
        for control in widget.findChildren(controls):
            assert control.toolTip(), f"{name}: {type(control).__name__} {control.objectName()}"


def test_grid_cells_stay_visible_under_a_style_sheet(qtbot):
    """An application style sheet re-polishes the table and resets its header sizes (the main
    window sets one); every row and column must still fit."""
    app = QApplication.instance()
    old_sheet = app.styleSheet()
    app.setStyleSheet("QLabel#nothing { color: #222; }")
    try:
        editor = FilterEditor()
        qtbot.addWidget(editor)
        editor.show()
        QApplication.processEvents()
        grid = editor.grid(0)
        rows_height = sum(grid.rowHeight(r) for r in range(grid.rowCount()))
        columns_width = sum(grid.columnWidth(c) for c in range(grid.columnCount()))
        assert rows_height <= grid.viewport().height()
        assert columns_width <= grid.viewport().width()
    finally:
        app.setStyleSheet(old_sheet)


def test_the_application_gets_an_icon(qapp):
    from deconv_gui.gui.support.style import app_icon, apply_style

    assert not app_icon().isNull()
    style, sheet, icon = qapp.style().objectName(), qapp.styleSheet(), qapp.windowIcon()
    try:
        apply_style(qapp)
        assert not qapp.windowIcon().isNull()
    finally:  # the next tests of this process get the application as it was
        qapp.setStyleSheet(sheet)
        qapp.setStyle(style)
        qapp.setWindowIcon(icon)
