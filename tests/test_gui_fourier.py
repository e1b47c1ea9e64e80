"""Insight → Fourier view, offscreen: its maps are the core's, and it follows the settings."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from qtpy import QtCore

from deconv_gui.core import ConvOperator
from deconv_gui.core.analysis.fourier import fourier_summary
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 30_000  # ms; the 2 CPU cores are shared


def _settled(qtbot, win) -> None:
    def done() -> bool:
        return (
            win.live.idle and win.result is not None and win.result.params == win.current_params()
        )

    qtbot.waitUntil(done, timeout=TIMEOUT)


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.set_work_size(128)
    win.show()
    _settled(qtbot, win)
    yield win
    for dialog in win.insight.dialogs.values():
        stop = getattr(dialog, "shutdown", None)
        if stop is not None:
            stop()
    delete_now(win)


def test_maps_are_the_cores_and_follow_the_stride(qtbot, window):
    dialog = window.insight.open_fourier()
    qtbot.waitUntil(lambda: dialog.summary is not None and not dialog.busy, timeout=TIMEOUT)
    result = window.result
    expected = fourier_summary(ConvOperator(result.geometry, result.params.weights))
    np.testing.assert_array_equal(dialog.summary.recoverable, expected.recoverable)
    np.testing.assert_array_equal(dialog.images["recoverable"].image, expected.recoverable)
    assert f"Stride {result.params.stride[0]}×" in dialog.status.text()
    assert "checkerboard" in dialog.status.text()
    # the flat map beside Aᵀ1's says what it shows (it was a white square titled "Resize, …")
    assert dialog.titles["resize_coverage"].endswith(": flat")
    before = dialog.summary
    window.geometry_editor.set_values(stride=(3, 3))
    _settled(qtbot, window)
    qtbot.waitUntil(lambda: dialog.summary is not before and not dialog.busy, timeout=TIMEOUT)
    assert "Stride 3×3: 9 input frequencies" in dialog.status.text()
    assert dialog.summary.overlaps.shape == (3, 3)


def test_a_conv_transpose_layer_shows_its_own_subkernels(qtbot, window):
    window.load_sample("camera")  # one channel: the Gaussian fits both layer kinds
    _settled(qtbot, window)
    window.geometry_editor.set_values(stride=(2, 2), padding=(1, 1), layer_kind="conv_transpose")
    _settled(qtbot, window)
    dialog = window.insight.open_fourier()
    qtbot.waitUntil(
        lambda: dialog.summary is not None and dialog.summary.transposed and not dialog.busy,
        timeout=TIMEOUT,
    )
    result = window.result
    expected = fourier_summary(result.params.operator(result.image.shape))
    np.testing.assert_array_equal(dialog.summary.subkernels, expected.subkernels)
    assert dialog.titles["subkernels"] == "Sub-kernels of B (PixelShuffle form)"
    assert dialog.titles["coverage"].startswith("B1")
    assert "ConvTranspose2d B, stride 2×2" in dialog.status.text()
    # back to a conv: the titles of Aᵀ again
    window.geometry_editor.set_values(layer_kind="conv")
    _settled(qtbot, window)
    qtbot.waitUntil(lambda: not dialog.summary.transposed and not dialog.busy, timeout=TIMEOUT)
    assert dialog.titles["subkernels"] == "Sub-kernels of Aᵀ (PixelShuffle form)"


def test_titles_fit_the_window_on_a_small_screen(qtbot, window):
    dialog = window.insight.open_fourier()
    qtbot.waitUntil(lambda: dialog.summary is not None and not dialog.busy, timeout=TIMEOUT)
    for width in (1264, 900, 700):  # a laptop, a 1024 px screen's dialog, narrower
        dialog.resize(width, 600)

        def inside() -> bool:  # no map pushed past the right edge by the titles
            views = dialog.views.values()
            return max(v.geometry().right() for v in views) <= dialog.plots.width()

        qtbot.waitUntil(inside, timeout=TIMEOUT)
        for name, view in dialog.views.items():
            label, whole = view.titleLabel, dialog.titles[name]
            assert label.text == whole or label.toolTip() == whole  # elided: whole as tooltip
    dialog.shutdown()


def test_a_closed_window_computes_nothing_and_catches_up_when_reopened(qtbot, window):
    dialog = window.insight.open_fourier()
    qtbot.waitUntil(lambda: dialog.summary is not None and not dialog.busy, timeout=TIMEOUT)
    shown = dialog.summary
    dialog.close()
    submitted = []
    dialog.jobs.submit = lambda job: submitted.append(job)  # type: ignore[method-assign]
    window.geometry_editor.set_values(stride=(3, 3))
    _settled(qtbot, window)
    assert submitted == [] and dialog.summary is shown  # hidden: no Fourier maps per edit
    del dialog.jobs.submit  # the runner's own method again
    assert window.insight.open_fourier() is dialog  # reopened: the new stride's maps
    qtbot.waitUntil(lambda: dialog.summary is not shown and not dialog.busy, timeout=TIMEOUT)
    assert dialog.summary.overlaps.shape == (3, 3)


def test_closing_while_computing_starts_again_when_reopened(qtbot, window):
    window.geometry_editor.set_values(stride=(3, 3))
    _settled(qtbot, window)
    dialog = window.insight.open_fourier()
    assert dialog.busy
    dialog.close()  # before the maps came: the job is dropped with its report
    assert not dialog.busy
    window.insight.open_fourier()
    qtbot.waitUntil(lambda: dialog.summary is not None and not dialog.busy, timeout=TIMEOUT)
    assert dialog.summary.overlaps.shape == (3, 3)
    assert "Stride 3×3" in dialog.status.text()


def test_the_tap_counts_read_on_their_cells(qtbot, window):
    from reference import wcag_contrast

    dialog = window.insight.open_fourier()
    qtbot.waitUntil(lambda: dialog.summary is not None and not dialog.busy, timeout=TIMEOUT)
    image = dialog.images["overlaps"]
    counts = image.image  # drawn in grey: a cell's grey is its count over the largest
    top = max(float(counts.max()), 1.0)
    assert len(dialog.labels) == counts.size and len(set(counts.ravel())) > 1
    for label in dialog.labels:
        pos = label.pos()
        grey = round(255 * counts[int(pos.y()), int(pos.x())] / top)
        ink = label.color
        assert wcag_contrast((ink.red(), ink.green(), ink.blue()), (grey,) * 3) >= 4.5, label


@pytest.fixture
def palette(qapp):
    """Restores the application palette and style sheet whatever a test sets."""
    from qtpy import QtGui

    old_palette, old_sheet = QtGui.QPalette(qapp.palette()), qapp.styleSheet()
    yield qapp
    qapp.setPalette(old_palette)
    qapp.setStyleSheet(old_sheet)


@pytest.mark.parametrize("choice", ["light", "dark"])
def test_the_maps_sit_on_the_panels_backdrop_in_either_palette(qtbot, window, palette, choice):
    """The maps were drawn on pyqtgraph's pure black in both palettes (their black, a lost
    frequency, merged with it): now on the backdrop of the image panels, whatever the
    palette, each map outlined apart from its black and the backdrop, titles readable."""
    from reference import wcag_contrast

    from deconv_gui.gui.support.theme import apply_palette

    apply_palette(palette, choice)
    dialog = window.insight.open_fourier()
    qtbot.waitUntil(lambda: dialog.summary is not None and not dialog.busy, timeout=TIMEOUT)

    def corner(widget) -> tuple[int, int, int]:
        colour = widget.grab().toImage().pixelColor(2, 2)
        return colour.red(), colour.green(), colour.blue()

    backdrop = corner(dialog.plots)
    assert backdrop == corner(window.panels.panel("input").graphics)
    assert wcag_contrast(backdrop, (0, 0, 0)) < 1.5  # a dark backdrop, as the panels'
    for name, view in dialog.views.items():
        ink = view.titleLabel.opts["color"]
        assert wcag_contrast(ink, backdrop) >= 4.5, name
        pen = dialog.images[name].border.color()
        outline = (pen.red(), pen.green(), pen.blue())
        assert wcag_contrast(outline, backdrop) >= 3 and wcag_contrast(outline, (0, 0, 0)) >= 3


def _summary(stride: int, padding: int):
    rng = np.random.default_rng(1)
    weights = rng.standard_normal((3, 3, 16, 16))  # many channels, like a VGG layer
    op = ConvOperator.from_weights(
        weights, input_shape=(32, 32, 16), stride=stride, padding=padding
    )
    return fourier_summary(op)


def test_the_caption_is_singular_for_one_fold_and_plural_for_more():
    from deconv_gui.gui.insight.fourier import describe

    one = describe(_summary(1, 1), (1, 1))
    assert "1 input frequency folds onto each output frequency" in one
    assert "frequencies fold" not in one
    four = describe(_summary(2, 1), (2, 2))
    assert "4 input frequencies fold onto each output frequency" in four


def test_the_border_line_of_the_coverage_maps_is_real_and_captioned():
    # Aᵀ1 of a padded layer, by its definition: the adjoint applied to ones, against a
    # literal loop over the taps that reach each input pixel
    summary = _summary(1, 1)
    rng = np.random.default_rng(1)
    weights = rng.standard_normal((3, 3, 16, 16))
    taps = weights.sum(axis=(2, 3))
    literal = np.zeros((32, 32))
    for i in range(32):
        for j in range(32):
            for o in range(32):
                for p in range(32):
                    r, c = i - o + 1, j - p + 1
                    if 0 <= r < 3 and 0 <= c < 3:
                        literal[i, j] += taps[r, c]
    np.testing.assert_allclose(summary.coverage, literal, atol=1e-9)
    assert not np.isclose(literal[0, 5], literal[5, 5])  # the border row is really different
    from deconv_gui.gui.insight.fourier import describe

    assert "zero padding leaves the border pixels fewer taps" in describe(summary, (1, 1))


def test_a_flat_coverage_is_mid_grey_whatever_the_sign_of_its_taps():
    """From 0 to the maximum, a layer whose taps sum below 0 drew Aᵀ1 all black (an
    artefact of the levels); centred on the interior, the flat part is mid-grey and only
    the padded border (real) is lighter or darker."""
    from deconv_gui.gui.insight.fourier import _corner, coverage_levels

    for sign in (1.0, -1.0):
        weights = sign * np.abs(np.random.default_rng(2).standard_normal((3, 3, 16, 16)))
        op = ConvOperator.from_weights(weights, input_shape=(32, 32, 16), padding=1)
        summary = fourier_summary(op)
        crops = [_corner(summary.coverage), _corner(summary.resize_coverage)]
        low, high = coverage_levels(crops, summary.subkernels.shape[2:])
        interior = crops[0][5, 5]
        assert np.isclose((interior - low) / (high - low), 0.5)
        assert np.isclose(crops[1][5, 5], interior)  # both flat at the same value
        for crop in crops:
            assert low <= crop.min() and crop.max() <= high  # nothing clipped
