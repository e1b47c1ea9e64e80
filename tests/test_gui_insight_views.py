"""Insight dialogs, offscreen: "Check my code" (with the question's deConv) and the
spectrum and regularisation window.

References are the core functions called directly on the window's result; every wait
is ``qtbot.waitUntil`` on a condition, nothing is timed.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore, QtGui
from reference import wcag_contrast

from deconv_gui.core import (
    InverseCandidate,
    exact_rank_feasible,
    question_deconv,
    singular_values,
    tikhonov_curve,
    transposed_reconstruction,
)
from deconv_gui.gui.insight.check import VERDICT_COLORS
from deconv_gui.gui.insight.spectrum import curve_regs
from deconv_gui.gui.insight.spectrum_plots import EMPTY_CURVE_NOTE, floored
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now
from deconv_gui.view.inverse_table import inverse_check_html

pytestmark = pytest.mark.gui
TIMEOUT = 30_000  # ms; the 2 CPU cores are shared


def _settled(qtbot, win) -> None:
    """Wait until the window shows a result for its current settings."""

    def done() -> bool:
        if not win.live.idle or win.result is None:
            return False
        return win.result.params == win.current_params()

    qtbot.waitUntil(done, timeout=TIMEOUT)


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.set_work_size(128)  # small and quick
    win.show()
    _settled(qtbot, win)
    yield win
    for dialog in win.insight.dialogs.values():
        stop = getattr(dialog, "shutdown", None)
        if stop is not None:
            stop()
    delete_now(win)  # closes (insight jobs, dialogs, worker stop) and deletes it in this thread


@pytest.fixture
def check(qtbot, window):
    dialog = window.insight.open_check_dialog()
    yield dialog
    dialog.shutdown()


def _compared(qtbot, dialog) -> None:
    qtbot.waitUntil(lambda: not dialog.jobs.busy, timeout=TIMEOUT)


# -- check my code -----------------------------------------------------------------------
def test_our_own_forward_output_matches_with_zero_difference(qtbot, window, check, tmp_path):
    # before a file: the empty pictures say what goes there, no channel box "channel 0"
    assert "press Load .npy" in check.views.titles[0].text
    assert not check.views.channel.isVisibleTo(check)
    # no empty pictures and no empty words' area: what to save and what is checked
    assert check.stack.currentWidget() is check.placeholder
    shape = window.result.forward_output.shape
    for words in ("np.save('mine.npy', array)", f"shape {shape}", "relative error"):
        assert words in check.placeholder.text()
    assert not check.words.isVisibleTo(check)
    path = tmp_path / "mine.npy"
    np.save(path, window.result.forward_output)
    assert check.load_file(path)
    _compared(qtbot, check)
    comp = check.outcome.comparison
    assert comp.matches and comp.max_abs_error == 0 and comp.relative_error == 0
    assert not comp.difference.any()
    assert "Matches to rounding" in check.verdict.text()
    assert VERDICT_COLORS["match"] in check.verdict.styleSheet()
    np.testing.assert_array_equal(check.views.arrays[1], window.result.forward_output)
    assert check.views.channel.isVisibleTo(check) and check.views.channel.value() == 0
    # the pictures take the height the question's words (none here) would share
    assert check.stack.currentWidget() is check.views and not check.words.isVisibleTo(check)


@pytest.mark.parametrize("background", [(239, 239, 239), (37, 37, 38)])
def test_verdicts_read_on_a_light_and_a_dark_window(qtbot, window, check, tmp_path, background):
    palette = check.palette()
    palette.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(*background))
    check.setPalette(palette)
    mine, wrong = tmp_path / "mine.npy", tmp_path / "wrong.npy"
    np.save(mine, window.result.forward_output)
    np.save(wrong, window.result.forward_output + 1.0)
    for path, word in ((mine, "Matches"), (wrong, "Differs"), (tmp_path / "none.npy", "Nothing")):
        check.load_file(path)
        _compared(qtbot, check)
        assert word in check.verdict.text()
        colour = re.search(r"color: (#[0-9a-fA-F]{6})", check.verdict.styleSheet()).group(1)
        assert wcag_contrast(colour, background) >= 4.5, (word, colour)
    # the inverse table's green and red, on the window it is shown on
    rows = [InverseCandidate(key, key, key, np.zeros(1), residual, 0.1, 0.2) for key, residual in
            (("pinv", 1e-9), ("pinv_slices", 3.0))]  # fmt: skip
    for colour in re.findall(r"color:(#[0-9a-fA-F]{6})", inverse_check_html(rows, 9, background)):
        assert wcag_contrast(colour, background) >= 4.5, colour


def test_a_perturbed_array_gives_its_max_error(qtbot, window, check, tmp_path):
    check.set_kind("transposed")
    mine = transposed_reconstruction(
        window.result.forward_output,
        window.result.params.weights,
        window.result.params.bias,
        input_shape=window.result.geometry.input_shape,
        stride=window.result.params.stride,
        padding=window.result.params.padding,
    ).astype(np.float64)
    mine[5, 7, 0] += 0.5
    path = tmp_path / "mine.npy"
    np.save(path, mine)
    assert check.load_file(path)
    _compared(qtbot, check)
    comp = check.outcome.comparison
    # float32 reference vs float64 candidate: the other pixels differ by rounding only
    assert comp.max_abs_error == pytest.approx(0.5, abs=1e-6)
    assert np.unravel_index(np.argmax(np.abs(comp.difference)), mine.shape) == (5, 7, 0)
    assert not comp.matches and "Differs" in check.verdict.text()
    assert "max abs error 0.5" in check.errors.text()


def test_a_wrong_shape_names_the_expected_shape(qtbot, window, check, tmp_path):
    path = tmp_path / "small.npy"
    np.save(path, np.zeros((3, 3)))
    check.load_file(path)
    _compared(qtbot, check)
    shape = window.result.forward_output.shape
    assert f"expected {shape} = the forward output" in check.message
    assert "got (3, 3)" in check.message
    assert check.outcome is None and check.views.arrays is None


def test_pickled_and_corrupt_files_give_a_message(qtbot, check, tmp_path):
    pickled = tmp_path / "objects.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert not check.load_file(pickled)
    assert "pickle" in check.message
    corrupt = tmp_path / "corrupt.npy"
    corrupt.write_bytes(b"this is not an array")
    assert not check.load_file(corrupt)
    assert "not a .npy file" in check.message
    truncated = tmp_path / "truncated.npy"
    np.save(truncated, np.zeros((64, 64)))
    truncated.write_bytes(truncated.read_bytes()[:200])
    assert not check.load_file(truncated)
    assert "truncated.npy" in check.message and "Traceback" not in check.message
    assert not check.load_file(tmp_path / "missing.npy")
    assert "no such file" in check.message


def test_question_deconv_refuses_padding_with_its_reason(qtbot, window, check):
    assert window.result.params.padding != (0, 0)  # the window's default
    check.run_question_deconv()
    _compared(qtbot, check)
    assert "refuses" in check.message and "padding" in check.message
    assert not check.padding_button.isHidden()
    assert check.inverses.isHidden()


def test_question_deconv_on_a_conv_transpose_layer_names_the_layer_kind(qtbot, window, check):
    window.load_sample("camera")  # one channel: the Gaussian fits both layer kinds
    window.geometry_editor.set_values(stride=(2, 2), padding=(1, 1), layer_kind="conv_transpose")
    _settled(qtbot, window)
    check.run_question_deconv()
    _compared(qtbot, check)
    # not "windows up to height 1023" with a padding cure that would not help
    assert "ConvTranspose2d" in check.message and "layer kind to conv" in check.message
    assert check.padding_button.isHidden()


def test_question_deconv_departs_for_a_non_symmetric_kernel(qtbot, window, check):
    window.geometry_editor.set_values(stride=(2, 2), padding=(0, 0))
    window.filter_editor.set_preset("sobel_x")  # sobel_x transposed is sobel_y
    _settled(qtbot, window)
    check.run_question_deconv()
    _compared(qtbot, check)
    result = window.result
    p = result.params
    theirs = question_deconv(
        result.forward_output, p.weights, p.bias, input_shape=result.image.shape, stride=2
    )
    adjoint = transposed_reconstruction(
        result.forward_output, p.weights, p.bias, input_shape=result.image.shape, stride=2
    )
    comp = check.outcome.comparison
    np.testing.assert_allclose(check.outcome.candidate, theirs, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(comp.difference, theirs - adjoint, rtol=1e-6, atol=1e-6)
    assert not comp.matches and comp.max_abs_error > 0.1
    # channels numbered from 0, as the panels': the last one is 2 of 3
    views = check.views
    assert views.channel.text() == "showing channel 0 of 3"
    views.channel.setValue(2)
    np.testing.assert_array_equal(views.items[0].image, views.arrays[0][:, :, 2])
    assert "not symmetric" in check.explanation.text()
    assert check.explanation.isVisible() and check.words.isVisible()  # the words have room
    # the second guess: only A⁺ (the window's own panel) gives y back
    rows = {row.key: row for row in check.outcome.inverses}
    assert rows["pinv"].residual < 1e-4 < 0.1 < rows["pinv_slices"].residual
    np.testing.assert_array_equal(rows["pinv"].image, result.pinv.astype(np.float64))
    assert not check.inverses.isHidden() and "second guess" in check.inverses.text()
    check.set_candidate(theirs)  # file mode: the table goes
    _compared(qtbot, check)
    assert check.inverses.isHidden()


# -- spectrum and regularisation ---------------------------------------------------------
@pytest.fixture
def spectrum(qtbot, window):
    window.load_sample("seed_toy")  # 7×7×3: exact SVD, quick solves
    _settled(qtbot, window)
    dialog = window.insight.open_spectrum()
    qtbot.waitUntil(lambda: dialog.spectrum is not None and not dialog.busy, timeout=TIMEOUT)
    yield dialog
    dialog.shutdown()


def test_spectrum_plot_shows_the_singular_values(window, spectrum):
    result = window.result
    p = result.params
    expected = singular_values(
        p.weights,
        input_shape=result.geometry.input_shape,
        stride=p.stride,
        padding=p.padding,
        dilation=p.dilation,
    )
    assert expected.exact and spectrum.spectrum.exact
    np.testing.assert_array_equal(spectrum.spectrum.values, expected.values)
    _x, y = spectrum.spectrum_plot.curve.getOriginalDataset()
    np.testing.assert_array_equal(y, floored(expected.values))
    assert "exact (dense SVD)" in spectrum.spectrum_plot.plotItem.titleLabel.text
    assert "reg = 0" in spectrum.spectrum_status.text()


def test_a_large_layer_is_said_to_be_estimated_while_it_computes(qtbot, window):
    """128×128×3 at stride 2 is too large for a dense SVD: the window says it estimates
    (it once announced an exact SVD, then drew the symbol's approximation)."""
    assert not exact_rank_feasible(window.result.geometry)
    dialog = window.insight.open_spectrum()
    try:
        computing = dialog.spectrum_status.text()  # before any job's result is delivered
        assert "approximate" in computing and "exact SVD" in computing  # (too large for…)
        assert computing.startswith("Estimating the singular values of the 4,096 × 49,152")
        qtbot.waitUntil(lambda: dialog.spectrum is not None, timeout=TIMEOUT)
        assert not dialog.spectrum.exact
    finally:
        dialog.shutdown()


def test_reg_line_and_count_below_it(qtbot, window, spectrum):
    window.recon_options.set_values(reg=0.5)
    _settled(qtbot, window)
    qtbot.waitUntil(lambda: "√reg" in spectrum.spectrum_status.text(), timeout=TIMEOUT)
    below = int(np.count_nonzero(spectrum.spectrum.values < np.sqrt(0.5)))
    assert f"{below:,} of them lie below √reg" in spectrum.spectrum_status.text()
    assert spectrum.spectrum_plot.reg_line.isVisible()
    assert spectrum.spectrum_plot.reg_line.value() == pytest.approx(np.log10(np.sqrt(0.5)))


def test_l_curve_equals_tikhonov_curve(qtbot, window, spectrum):
    spectrum.compute_curve()
    qtbot.waitUntil(lambda: spectrum.curve is not None, timeout=TIMEOUT)
    result = window.result
    p = result.params
    expected = tikhonov_curve(
        result.forward_output,
        p.weights,
        p.bias,
        curve_regs(p.reg),
        input_shape=result.geometry.input_shape,
        stride=p.stride,
        padding=p.padding,
        dilation=p.dilation,
        reference=result.image,
        rtol=p.rtol,
        max_iter=p.max_iter,
    )
    got = spectrum.curve
    np.testing.assert_array_equal(got.regs, expected.regs)
    for name in ("residual_norms", "solution_norms", "psnr"):  # same solves, same order
        np.testing.assert_allclose(getattr(got, name), getattr(expected, name), rtol=1e-12)
    x, y = spectrum.curve_plots.lcurve_line.getOriginalDataset()
    np.testing.assert_array_equal(x, floored(expected.residual_norms))
    np.testing.assert_array_equal(y, floored(expected.solution_norms))
    assert spectrum.progress.value() == 100 and "Done" in spectrum.curve_status.text()


def _notes(spectrum) -> list[str]:
    """What the L-curve plots say over their empty axes (nothing when they draw a curve)."""
    return [note.textItem.toPlainText() for note in spectrum.curve_plots.notes if note.isVisible()]


def test_l_curve_cancel_draws_nothing_and_settings_change_clears(qtbot, window, spectrum):
    # before anything runs: the empty plots say why, and no empty progress bar
    assert _notes(spectrum) == [EMPTY_CURVE_NOTE] * 2
    assert not spectrum.progress.isVisibleTo(spectrum)
    spectrum.compute_curve()
    assert spectrum.progress.isVisibleTo(spectrum) and "Solving" in _notes(spectrum)[0]
    spectrum.cancel_curve()
    spectrum.curve_jobs.wait()
    qtbot.wait(50)  # let any queued signal of the cancelled job arrive (and be dropped)
    assert spectrum.curve is None and "Cancelled" in spectrum.curve_status.text()
    assert _notes(spectrum) == [EMPTY_CURVE_NOTE] * 2
    assert not spectrum.progress.isVisibleTo(spectrum)
    assert spectrum.compute_button.isEnabled() and not spectrum.cancel_button.isEnabled()
    spectrum.compute_curve()
    qtbot.waitUntil(lambda: spectrum.curve is not None, timeout=TIMEOUT)
    assert _notes(spectrum) == []
    window.recon_options.set_values(reg=0.01)
    _settled(qtbot, window)
    assert spectrum.curve is None and "settings changed" in spectrum.curve_status.text()
    assert _notes(spectrum) == [EMPTY_CURVE_NOTE] * 2
