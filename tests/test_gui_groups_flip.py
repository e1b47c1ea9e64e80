"""The window's groups and flip: the filter editor's channels choice, channel map, flipped
kernel, the arithmetic box, the rank readout and the export of A, offscreen.

Every wait is a condition (``qtbot.waitUntil``), never a sleep; nothing is timed. What the
panels show is compared with ``run_pipeline`` called directly on the window's Params.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore
from scipy import sparse

from deconv_gui.core import ConvOperator, Params, make_filter, run_pipeline
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now
from deconv_gui.io import load_sample
from deconv_gui.io.matrix import MATRIX_NONZERO_LIMIT, matrix_npz_bytes

pytestmark = pytest.mark.gui
TIMEOUT = 30_000


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.result is not None and not win.runner.busy, timeout=TIMEOUT)
    assert win.load_sample("seed_toy")
    win.geometry_editor.set_values(padding=(0, 0))
    settle(qtbot, win)
    yield win
    delete_now(win)


def settle(qtbot, win, **expected):
    """Wait until the result on screen has the ``expected`` params and nothing runs."""
    win.compute_now()

    def ready() -> bool:
        result = win.result
        return (
            result is not None
            and win.live.idle
            and all(getattr(result.params, k) == v for k, v in expected.items())
        )

    qtbot.waitUntil(ready, timeout=TIMEOUT)


def choose_groups(window, groups: int) -> None:
    """Pick ``groups`` in the channels combo as the user would."""
    combo = window.filter_editor.ui.groups_combo
    index = combo.findData(groups)
    assert index >= 0, [combo.itemText(k) for k in range(combo.count())]
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def assert_panels_are_the_pipelines(window):
    params = window.current_params()
    assert window.result.params == params
    reference = run_pipeline(window.loaded.pixels, params)
    panels = window.panels
    np.testing.assert_array_equal(panels.panel("forward").data, reference.forward_output)
    np.testing.assert_allclose(panels.panel("transposed").data, reference.transposed, atol=1e-12)
    np.testing.assert_allclose(panels.panel("pinv").data, reference.pinv, atol=1e-6)
    return params


def test_depthwise_from_the_channels_combo(qtbot, window):
    editor = window.filter_editor
    assert editor.ui.groups_combo.count() == 2  # 3 channels: summed or depthwise
    choose_groups(window, 3)
    settle(qtbot, window, groups=3)
    params = assert_panels_are_the_pipelines(window)
    assert params.weights.shape == (3, 3, 1, 3) and params.groups == 3
    assert window.panels.panel("forward").shape == (3, 3, 3)
    # each channel keeps the Gaussian, on its own
    np.testing.assert_allclose(params.weights[:, :, 0, 1], make_filter("gaussian")[:, :, 0, 0] * 3)
    assert editor.ui.channel_map.links() == [(0, 0), (1, 1), (2, 2)]
    assert "depthwise" in editor.ui.groups_combo.currentText()
    # the grids are the shown output's inputs: output 2 reads the green channel
    editor.ui.channel_map.outputClicked.emit(1)
    assert editor.current_output() == 1
    assert editor.ui.grid_layout.itemAt(0).widget().text() == "channel G"
    # C_out moves in steps of groups
    assert editor.ui.c_out_spin.singleStep() == 3 and editor.ui.c_out_spin.minimum() == 3
    editor.ui.c_out_spin.setValue(4)  # typed: the next multiple
    assert editor.weights().shape == (3, 3, 1, 6)
    # a preset is rebuilt for the new grouping; hand-edited weights become the same
    # layer, as a block-diagonal filter
    editor.grid(0).set_cell_text(1, 1, "0.5")
    assert editor.preset() == "custom"
    before = window.current_params()
    choose_groups(window, 1)
    after = window.current_params()
    assert after.groups == 1 and after.weights.shape == (3, 3, 3, 6)
    x = window.loaded.pixels
    np.testing.assert_allclose(
        ConvOperator(before.geometry(x.shape), before.weights).apply(x),
        ConvOperator(after.geometry(x.shape), after.weights).apply(x),
        atol=1e-12,
    )


def test_flip_check_box_shows_the_kernel_as_applied(qtbot, window):
    editor = window.filter_editor
    editor.set_preset("sobel_x")
    assert editor.ui.correlation_note.isVisible() and not editor.ui.applied_box.isVisible()
    editor.ui.flip_check.click()
    settle(qtbot, window, flip=True)
    assert editor.ui.applied_box.isVisible() and not editor.ui.correlation_note.isVisible()
    weights = editor.weights()
    for channel in range(3):
        grid = editor.applied_grid(channel)
        assert not grid.is_editable() and not grid.set_cell_text(0, 0, "5")
        shown = np.array([[grid.value(r, c) for c in range(3)] for r in range(3)])
        np.testing.assert_array_equal(shown, weights[::-1, ::-1, channel, 0])
    params = assert_panels_are_the_pipelines(window)
    assert params.flip
    # Sobel x flipped is −Sobel x: the output changes sign, exactly
    editor.ui.flip_check.click()
    settle(qtbot, window, flip=False)
    unflipped = window.result.forward_output
    flipped = run_pipeline(window.loaded.pixels, params).forward_output
    np.testing.assert_allclose(flipped, -unflipped, atol=1e-12)


def test_a_grey_image_offers_only_summed_and_falls_back(qtbot, window):
    choose_groups(window, 3)
    settle(qtbot, window, groups=3)
    grey = load_sample("camera", 32)
    window.images.use(grey, window.state.origin)  # a one-channel image
    qtbot.waitUntil(lambda: window.filter_editor.in_channels() == 1, timeout=TIMEOUT)
    settle(qtbot, window, groups=1)
    assert not window.filter_editor.ui.groups_combo.isEnabled()
    assert window.current_params().weights.shape[2:] == (1, 3)


def test_a_bad_combination_is_one_line_in_the_window(qtbot, window):
    # a depthwise filter for 3 channels on a grey image: the message names groups
    params = Params(make_filter("box", in_channels=1, out_channels=3), groups=3, padding=0)
    window.apply_params(params)
    window.images.use(load_sample("camera", 32), window.state.origin)
    window.filter_editor.set_values(groups=3, weights=params.weights)  # forced back
    window.compute_now()
    text = window.geometry_editor.arithmetic_text()
    assert "groups" in text and "impossible" in text
    assert "Traceback" not in window.last_message


def test_the_arithmetic_box_names_the_output_padding_and_the_channels(qtbot, window):
    text = window.geometry_editor.arithmetic_text()
    assert "inputs of 7 or 8 rows/columns give 3" in text
    assert "output_padding 0 or 1 (here 0)" in text
    assert "one filter sums all 3" in text
    window.geometry_editor.set_values(stride=(1, 1))
    settle(qtbot, window, stride=(1, 1))
    assert "needs no output_padding" in window.geometry_editor.arithmetic_text()
    choose_groups(window, 3)
    settle(qtbot, window, groups=3)
    assert "depthwise, 1 input per output" in window.geometry_editor.arithmetic_text()


@pytest.mark.parametrize(
    ("groups", "c_out", "rank"),
    [(1, 1, 9), (3, 3, 27), (1, 2, 18), (1, 4, 36)],  # summed, depthwise, K filters
)
def test_the_rank_readout_is_numpys(qtbot, window, groups, c_out, rank):
    editor = window.filter_editor
    editor.set_preset("random", seed=3)
    choose_groups(window, groups)
    editor.ui.c_out_spin.setValue(c_out)
    settle(qtbot, window, groups=groups)
    params = window.result.params
    assert params.weights.shape[3] == c_out
    qtbot.waitUntil(lambda: "(exact)" in window.insight.rank_text, timeout=TIMEOUT)
    op = ConvOperator(window.result.geometry, params.weights)
    assert np.linalg.matrix_rank(op.to_dense()) == rank
    assert window.insight.rank_text.startswith(f"rank {rank}, nullity {147 - rank}")
    assert f"rank {rank}, nullity" in window.geometry_editor.arithmetic_text()


def test_groups_and_flip_survive_a_session_and_the_stored_settings(qtbot, window, tmp_path):
    choose_groups(window, 3)
    window.filter_editor.set_flip(True)
    settle(qtbot, window, groups=3, flip=True)
    saved = window.current_params()
    path = window.save_session_to(tmp_path / "grouped")
    window.filter_editor.set_flip(False)
    choose_groups(window, 1)
    assert window.open_session(path)
    assert window.current_params().replace(image_source="") == saved.replace(image_source="")
    assert window.filter_editor.ui.flip_check.isChecked()
    settings = QtCore.QSettings(str(tmp_path / "remember.ini"), QtCore.QSettings.Format.IniFormat)
    first = MainWindow(settings, restore=True)
    try:
        first.apply_params(saved)
        first.close()  # saves the settings
    finally:
        delete_now(first)
    second = MainWindow(settings, restore=True)
    try:
        restored = second.current_params()
        assert (restored.groups, restored.flip) == (3, True)
        assert restored.replace(image_source="") == saved.replace(image_source="")
    finally:
        delete_now(second)


def test_the_export_dialog_writes_a_as_a_sparse_npz(qtbot, window, tmp_path):
    choose_groups(window, 3)
    settle(qtbot, window, groups=3)
    dialog = window.make_export_dialog(run=True)
    qtbot.addWidget(dialog)
    dialog.folder_edit.setText(str(tmp_path / "out"))
    dialog.matrix_check.setChecked(True)
    dialog.accept()
    assert dialog.error_text() == ""
    matrix = sparse.load_npz(tmp_path / "out" / "A.npz")
    result = window.result
    dense = ConvOperator(result.geometry, result.params.weights).to_dense()
    np.testing.assert_array_equal(matrix.toarray(), dense)
    y = result.forward_output.ravel() - np.tile(result.params.bias, 9)
    np.testing.assert_allclose(matrix @ result.image.ravel(), y, atol=1e-12)
    assert "A.npz" in (tmp_path / "out" / "params.json").read_text()


def test_a_too_large_a_is_refused_in_the_dialog_and_nothing_is_written(qtbot, window, tmp_path):
    window.load_sample("astronaut")  # 256×256×3 at stride 1: ~1.8M rows of 27 taps
    window.geometry_editor.set_values(stride=(1, 1), padding=(1, 1))
    window.filter_editor.ui.c_out_spin.setValue(2)
    settle(qtbot, window, stride=(1, 1))
    dialog = window.make_export_dialog(run=True)
    qtbot.addWidget(dialog)
    dialog.folder_edit.setText(str(tmp_path / "big"))
    dialog.matrix_check.setChecked(True)
    dialog.accept()
    assert "non-zeros" in dialog.error_text() and f"{MATRIX_NONZERO_LIMIT:,}" in dialog.error_text()
    assert not (tmp_path / "big").exists() or not any((tmp_path / "big").iterdir())


def test_matrix_bytes_equal_to_sparse():
    params = Params(make_filter("random", in_channels=1, out_channels=3, seed=2), groups=3)
    geometry = params.geometry((9, 8, 3))
    data = matrix_npz_bytes(geometry, params.weights)
    matrix = sparse.load_npz(io.BytesIO(data))
    np.testing.assert_array_equal(
        matrix.toarray(), ConvOperator(geometry, params.weights).to_dense()
    )
    with pytest.raises(ValueError, match="non-zeros"):
        matrix_npz_bytes(geometry, params.weights, limit=10)


def test_groups_and_flip_are_undo_steps(qtbot, window):
    before = window.current_params()
    choose_groups(window, 3)
    window.history.flush()
    window.filter_editor.ui.flip_check.click()
    window.history.flush()
    assert "true convolution off → on" in window.history.stack.undoText()
    window.history.undo()
    assert not window.current_params().flip and window.current_params().groups == 3
    window.history.undo()
    assert window.current_params() == before
    assert window.filter_editor.ui.groups_combo.currentData() == 1
    window.history.redo()
    assert window.current_params().weights.shape == (3, 3, 1, 3)


def test_click_to_inspect_follows_groups_and_flip(qtbot, window):
    editor = window.filter_editor
    editor.set_preset("random", seed=6)
    choose_groups(window, 3)
    editor.set_flip(True)
    settle(qtbot, window, groups=3, flip=True)
    result = window.result
    inspector = window.insight.inspector
    inspector.inspect("forward", 1, 1)  # the taps as applied: flipped, R/G/B per group
    rows, cols = window.panels.panel("input").overlay_pixels
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == [
        (r, c) for r in (2, 3, 4) for c in (2, 3, 4)
    ]
    inspector.inspect("pinv", 3, 2)
    qtbot.waitUntil(lambda: window.insight.dock.kernel is not None, timeout=TIMEOUT)
    a = ConvOperator(result.geometry, result.params.weights).to_dense()
    row = np.linalg.pinv(a)[(3 * 7 + 2) * 3 + 0]  # channel 0 of input pixel (3, 2)
    np.testing.assert_allclose(window.insight.dock.kernel.ravel(), row, atol=1e-8)
