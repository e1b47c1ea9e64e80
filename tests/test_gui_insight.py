"""The Insight menu (issue 6), offscreen: lost-information panels, metrics table,
click to inspect, check my code, the seed example and the spectrum window.

Every wait is ``qtbot.waitUntil`` on a condition; nothing is timed. References come
from the core functions called directly.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore

from deconv_gui.core import (
    ConvOperator,
    effective_kernel,
    question_inverse_check,
    rank_info,
    receptive_field,
    reconstruction_metrics,
    touching_outputs,
)
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now
from deconv_gui.view.inverse_table import format_fraction

pytestmark = pytest.mark.gui
TIMEOUT = 30_000  # ms; the 2 CPU cores are shared


def _idle(qtbot, win):
    ins = win.insight
    qtbot.waitUntil(
        lambda: win.live.idle and not ins.rank_jobs.busy and not ins.inspector.jobs.busy,
        timeout=TIMEOUT,
    )


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)  # MainWindow installs the Insight menu itself
    win.set_work_size(128)  # small and quick
    win.show()
    qtbot.waitUntil(lambda: win.result is not None, timeout=TIMEOUT)
    _idle(qtbot, win)
    yield win
    delete_now(win)  # closeEvent shuts the insight jobs down and closes its dialogs


def test_metrics_table_shows_the_pipeline_metrics(qtbot, window):
    # SSIM arrives in a second pass, after the live result is on screen
    qtbot.waitUntil(lambda: window.metrics.rows[-1]["ssim"] is not None, timeout=TIMEOUT)
    result = window.result
    rows = {row["name"]: row for row in window.metrics.rows}
    for name in ("transposed", "pinv"):
        expected = reconstruction_metrics(result.image, getattr(result, name))
        assert rows[name]["psnr"] == expected["psnr"]
        assert rows[name]["ssim"] == expected["ssim"]
    assert rows["pinv"]["iterations"] == result.solver.iterations
    assert "adjoint exact" in window.metrics.badge.text()
    assert f"{expected['psnr']:.1f} dB" in window.metrics.text()


def test_ssim_is_filled_in_after_the_live_result_and_stale_passes_are_dropped(qtbot, window):
    shown = []
    window.resultShown.connect(shown.append)
    stride_3 = lambda result: result.params.stride == (3, 3)  # noqa: E731
    with qtbot.waitSignal(
        window.state.metricsCompleted, timeout=TIMEOUT, check_params_cb=stride_3
    ) as completed:
        window.geometry_editor.set_values(stride=(3, 3))
    live, full = shown[-1], completed.args[0]
    assert live.params.stride == (3, 3) and live.params == window.current_params()
    for name in ("transposed", "pinv"):
        entry = live.metrics.reconstructions[name]
        assert entry.ssim is None and entry.ssim_skipped  # the live pass skipped it
        expected = reconstruction_metrics(live.image, getattr(live, name))
        assert full.metrics.reconstructions[name].ssim == expected["ssim"]
        assert full.metrics.reconstructions[name].psnr == entry.psnr
    assert window.result is full and full.pinv is live.pinv  # same arrays, SSIM added
    rows = {row["name"]: row for row in window.metrics.rows}
    assert rows["pinv"]["ssim"] == full.metrics.reconstructions["pinv"].ssim
    assert window.state.is_shown(live) and window.state.is_shown(full)
    # a second pass for a result that is no longer on screen changes nothing
    window.geometry_editor.set_values(stride=(2, 2))
    qtbot.waitUntil(lambda: window.result.params.stride == (2, 2), timeout=TIMEOUT)
    newest = window.result
    assert not window.state.complete_result(full, full)  # stale: dropped
    assert window.result is newest and not window.state.is_shown(full)


def test_after_quick_edits_the_newest_result_gets_its_ssim(qtbot, window):
    metrics_runner = window.live.metrics_runner
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT):
        window.geometry_editor.set_values(stride=(3, 3))
    first = metrics_runner.latest_id  # the second pass of that result was submitted
    window.geometry_editor.set_values(stride=(2, 2))  # cancels it; it reports nothing
    stride_2 = lambda result: result.params.stride == (2, 2)  # noqa: E731
    with qtbot.waitSignal(
        window.state.metricsCompleted, timeout=TIMEOUT, check_params_cb=stride_2
    ) as completed:
        pass
    assert metrics_runner.latest_id > first
    assert completed.args[0].params.stride == (2, 2) and window.result is completed.args[0]


def test_lost_information_panels_and_nullspace_equals_x_minus_pinv(qtbot, window):
    assert "nullspace" not in window.panels.visible_names()  # default stays uncluttered
    window.insight.set_panels_visible(True)
    qtbot.waitUntil(lambda: window.result.nullspace is not None, timeout=TIMEOUT)
    _idle(qtbot, window)
    result = window.result
    assert result.params.noise_sigma == 0
    for name in ("coverage", "nullspace", "recoverable", "normalized_transposed"):
        assert name in window.panels.visible_names()
    shown = window.panels.panel("nullspace").data
    np.testing.assert_array_equal(shown, result.image - result.pinv)
    split = result.metrics.split
    lost, kept = 100 * split.lost_fraction**2, 100 * split.recoverable_fraction**2
    assert f"{lost:.1f} % of ‖x‖²" in window.panels.panel("nullspace").title_text
    assert f"{kept:.1f} % of ‖x‖²" in window.panels.panel("recoverable").title_text
    assert lost + kept == pytest.approx(100, abs=1e-6)  # energy: the shares add up
    window.insight.set_panels_visible(False)
    qtbot.waitUntil(lambda: window.result.nullspace is None, timeout=TIMEOUT)
    assert "nullspace" not in window.panels.visible_names()


def test_clicking_an_output_pixel_marks_its_receptive_field(qtbot, window):
    geom = window.result.geometry
    # through the real view: a left click at the centre of output pixel (5, 7)
    panel = window.panels.panel("forward")
    scene = panel.view.mapViewToScene(QtCore.QPointF(7.5, 5.5))
    assert panel.pixel_at(scene) == (5, 7)
    window.insight.inspector.inspect("forward", 5, 7)
    links = receptive_field(
        (5, 7),
        input_shape=geom.input_shape,
        filter_shape=geom.filter_shape,
        stride=geom.stride,
        padding=geom.padding,
    )
    rows, cols = window.panels.panel("input").overlay_pixels
    np.testing.assert_array_equal(rows, links.rows)
    np.testing.assert_array_equal(cols, links.cols)
    assert window.panels.panel("input").overlay_items
    text = window.insight.dock.text.text()  # counted in words, not "pixel(s)"
    assert f"reads {links.rows.size} input pixels" in text and "all 3 channels" in text
    assert "(s)" not in text
    window.insight._escape.activated.emit()  # Esc
    assert window.panels.panel("input").overlay_pixels is None


def test_tap_labels_have_a_line_per_channel_and_never_overlap(qtbot, window):
    window.insight.hooks.load_seed_example()  # 7×7×3, taps that differ per channel
    qtbot.waitUntil(lambda: window.result.image.shape == (7, 7, 3), timeout=TIMEOUT)
    _idle(qtbot, window)
    window.resize(900, 600)
    window.insight.inspector.inspect("forward", 1, 2)
    marks = window.panels.panel("input").marks
    weights = window.result.params.weights
    texts = [label.textItem.toPlainText() for label in marks.labels]
    assert len(texts) == 9 and texts[0].count("\n") == 2  # R, G, B under each other
    assert texts[0].split("\n")[0] == f"{weights[0, 0, 0, 0]:g}"
    view = window.panels.panel("input").view
    view.setRange(xRange=(0, 7), yRange=(0, 7), padding=0)
    view.resize(70, 70)  # 10 screen pixels a pixel: no room for three lines
    qtbot.waitUntil(lambda: not marks.labels_shown(), timeout=TIMEOUT)
    view.setRange(xRange=(4, 7), yRange=(2, 5), padding=0)  # zoomed in: room
    view.resize(300, 300)
    qtbot.waitUntil(marks.labels_shown, timeout=TIMEOUT)
    assert "zoom in" in window.insight.dock.text.text()


def test_clicking_the_pinv_shows_touching_outputs_and_the_effective_kernel(qtbot, window):
    window.geometry_editor.set_values(stride=(2, 2), padding=(0, 0))
    window.load_sample("seed_toy")
    qtbot.waitUntil(lambda: window.result.image.shape == (7, 7, 3), timeout=TIMEOUT)
    _idle(qtbot, window)
    result = window.result
    window.insight.inspector.inspect("pinv", 3, 2)
    qtbot.waitUntil(lambda: window.insight.dock.kernel is not None, timeout=TIMEOUT)
    geom = result.geometry
    links = touching_outputs(
        (3, 2), input_shape=geom.input_shape, filter_shape=geom.filter_shape, stride=2
    )
    rows, cols = window.panels.panel("forward").overlay_pixels
    np.testing.assert_array_equal(rows, links.rows)
    np.testing.assert_array_equal(cols, links.cols)
    expected = effective_kernel(
        result.params.weights, (3, 2), input_shape=geom.input_shape, stride=2, padding=0
    ).image
    np.testing.assert_allclose(window.insight.dock.kernel, expected, atol=1e-10)


def test_seed_example_loads_the_question_and_shows_the_matrices(qtbot, window):
    # studied as a ConvTranspose2d before: the example is the question's Conv2d all the same
    window.load_sample("camera")
    window.geometry_editor.set_values(layer_kind="conv_transpose")
    _idle(qtbot, window)
    view = window.insight.seed_action.trigger() or window.insight.dialogs["seed"]
    _idle(qtbot, window)
    assert window.loaded.pixels.shape == (7, 7, 3)
    assert window.result.params.layer_kind == "conv"
    assert window.result.params.stride == (2, 2) and window.result.params.padding == (0, 0)
    assert view.matrices["A"].shape == (9, 147)
    np.testing.assert_array_equal(view.matrices["At"], view.matrices["A"].T)
    # A A⁺ = I on the 9 outputs: the pinv reproduces y exactly (rounding: 1e-10)
    np.testing.assert_allclose(view.matrices["A"] @ view.matrices["Apinv"], np.eye(9), atol=1e-10)
    assert "138 dimensions are lost" in view.text.text()
    assert "rank 9, nullity 138 (exact)" in window.geometry_editor.arithmetic_text()
    # the asker's second guess, with the numbers of question_inverse_check
    rows = question_inverse_check(
        window.loaded.pixels, window.result.params.weights, window.result.params.bias, stride=2
    )
    text = view.inverses.text()
    assert view.inverses.isVisibleTo(view) and "second guess" in text
    for row in rows:
        assert row.label in text and format_fraction(row.residual) in text
    assert "misses y by 503" in text  # the guide's figure


@pytest.mark.parametrize("ticked", [True, False])
def test_restored_insight_panels_keep_the_normalised_choice_when_hidden(qtbot, window, ticked):
    from deconv_gui.core import INSIGHT_METHODS

    chosen = ("transposed", "normalized_transposed", "pinv") if ticked else ("transposed", "pinv")
    window.apply_params(window.current_params().replace(methods=(*chosen, *INSIGHT_METHODS)))
    assert window.insight.panels_action.isChecked()
    assert window.recon_options.methods() == chosen  # exactly what was saved
    window.insight.set_panels_visible(False)
    # a normalised panel the user had ticked stays; one the Insight panels ticked goes
    assert ("normalized_transposed" in window.recon_options.methods()) is ticked
    _idle(qtbot, window)


def test_the_rank_job_runs_only_a_quick_svd_and_the_newest_wins(qtbot, window):
    from deconv_gui.core.solvers.dense import DENSE_SOLVE_COST

    window.load_sample("camera")
    window.set_work_size(48)  # 48×48×1: A is 2,304 columns
    window.geometry_editor.set_values(stride=(1, 1), padding=(1, 1), dilation=(1, 1))
    _idle(qtbot, window)
    geometry = window.result.geometry
    m, n = geometry.n_equations, geometry.n_unknowns
    assert m * n * min(m, n) > DENSE_SOLVE_COST  # a slow SVD: only the bound is shown
    assert "(bound: too large for an exact SVD)" in window.insight.rank_text
    window.geometry_editor.set_values(stride=(4, 4))  # 12×12 outputs: quick again
    _idle(qtbot, window)
    assert "(exact)" in window.insight.rank_text
    for stride in (5, 4, 5, 4):  # rapid edits: older rank jobs are superseded
        window.geometry_editor.set_values(stride=(stride, stride))
        window.compute_now()
    _idle(qtbot, window)
    expected = rank_info(ConvOperator(window.result.geometry, window.result.params.weights))
    assert window.result.params.stride == (4, 4)
    assert window.insight.rank_text == expected.describe()
