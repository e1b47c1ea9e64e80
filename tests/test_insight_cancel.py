"""Cancel and progress of the Insight windows' long computations: the spectrum's
singular values and the Fourier view's maps, in the core and in the windows."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from deconv_gui.core import ConvOperator, SolveCancelled, lapack, singular_values
from deconv_gui.core.analysis import fourier as fourier_core
from deconv_gui.core.analysis.fourier import fourier_summary, recoverable_fraction
from deconv_gui.core.solvers import periodic_symbol


def _layer(channels: int = 24, side: int = 32, stride: int = 1) -> ConvOperator:
    rng = np.random.default_rng(3)
    weights = rng.standard_normal((3, 3, channels, channels)) * 0.1  # a VGG-like layer
    return ConvOperator.from_weights(
        weights, input_shape=(side, side, channels), stride=stride, padding=1
    )


def test_the_sliced_symbol_gives_the_full_symbols_singular_values():
    for op in (_layer(), _layer(stride=2)):
        g = op.geometry
        c = g.output_shape[2]
        full = periodic_symbol(op, onesided=False).reshape(-1, c, c)
        reference = np.sqrt(np.clip(lapack.eigvalsh(full).ravel(), 0.0, None))
        reference = np.sort(reference)[::-1][: min(g.n_equations, g.n_unknowns)]
        got = singular_values(op, method="symbol")
        np.testing.assert_allclose(got.values, reference, atol=1e-9 * reference[0])


def test_a_set_cancel_token_stops_the_singular_values_and_the_fourier_maps():
    stop = threading.Event()
    stop.set()
    with pytest.raises(SolveCancelled):
        singular_values(_layer(), method="symbol", cancel=stop)
    with pytest.raises(SolveCancelled):
        singular_values(_layer(4, 6), method="exact", cancel=stop)
    with pytest.raises(SolveCancelled):
        fourier_summary(_layer(), cancel=stop)


def test_cancelling_midway_stops_between_slices_with_monotonic_progress():
    for compute in (
        lambda **kw: singular_values(_layer(), method="symbol", **kw),
        lambda **kw: fourier_summary(_layer(), **kw),
    ):
        seen: list[float] = []
        stop = threading.Event()

        def report(_done: int, fraction: float, seen=seen, stop=stop) -> None:
            seen.append(fraction)
            if len(seen) == 2:
                stop.set()  # as a Cancel button would, from the second report on

        with pytest.raises(SolveCancelled):
            compute(cancel=stop, progress=report)
        assert len(seen) == 2  # stopped at the next slice, not at the end
        whole: list[float] = []
        compute(progress=lambda _k, f, whole=whole: whole.append(f))
        assert np.all(np.diff(whole) > 0) and whole[-1] == 1.0 and len(whole) > 2


def test_the_sliced_recoverable_fraction_equals_one_svd_of_all_blocks(monkeypatch):
    op = fourier_core.periodic_twin(_layer(8, 16, stride=2))
    sliced = recoverable_fraction(op)
    # the same with one slice holding every frequency row (one SVD call, as before)
    monkeypatch.setattr(fourier_core, "in_steps", lambda n, _step, **_kw: iter([slice(0, n)]))
    np.testing.assert_allclose(sliced, recoverable_fraction(op), atol=1e-12)


# -- the windows ---------------------------------------------------------------------------
TIMEOUT = 30_000  # ms; the 2 CPU cores are shared


@pytest.fixture
def window(qtbot, tmp_path):
    pytest.importorskip("pytestqt")
    from qtpy import QtCore

    from deconv_gui.gui.main_window import MainWindow
    from deconv_gui.gui.support.teardown import delete_now

    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.set_work_size(64)
    win.show()
    qtbot.waitUntil(lambda: win.live.idle and win.result is not None, timeout=TIMEOUT)
    yield win
    for dialog in win.insight.dialogs.values():
        dialog.shutdown()
    delete_now(win)


def _held_until_cancelled(monkeypatch, module, name: str) -> None:
    """Replace ``module.name`` by the real core function that first reports a quarter
    done and waits for Cancel: the job is surely running when Cancel is pressed, and the
    core's own check then stops it (no timing)."""
    real = getattr(module, name)

    def held(*args, cancel=None, progress=None, **kw):
        progress(1, 0.25)
        assert cancel.wait(TIMEOUT / 1000)
        return real(*args, cancel=cancel, progress=progress, **kw)

    monkeypatch.setattr(module, name, held)


@pytest.mark.gui
@pytest.mark.parametrize("which", ["spectrum", "fourier"])
def test_cancel_stops_the_window_computation_and_shows_nothing_partial(
    qtbot, window, monkeypatch, which
):
    from deconv_gui.gui.insight import fourier as fourier_gui
    from deconv_gui.gui.insight import spectrum as spectrum_gui

    module, name = {
        "spectrum": (spectrum_gui, "singular_values"),
        "fourier": (fourier_gui, "fourier_summary"),
    }[which]
    _held_until_cancelled(monkeypatch, module, name)
    dialog = getattr(window.insight, f"open_{which}")()
    bar = dialog.spectrum_bar if which == "spectrum" else dialog.bar
    qtbot.waitUntil(lambda: bar.progress.value() == 25, timeout=TIMEOUT)
    assert bar.isVisible() and bar.cancel_button.isEnabled()
    with qtbot.waitSignal(bar.runner.cancelled, timeout=TIMEOUT):
        bar.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=TIMEOUT)
    assert not bar.isVisible()
    if which == "spectrum":
        assert dialog.spectrum is None
        assert dialog.spectrum_plot.curve.getOriginalDataset()[0] is None or (
            len(dialog.spectrum_plot.curve.getOriginalDataset()[0]) == 0
        )
        assert "Cancelled" in dialog.spectrum_status.text()
        assert "Cancelled" in dialog.spectrum_plot.note.toPlainText()
        assert not dialog.spectrum_plot.getPlotItem().getAxis("bottom").isVisible()
    else:
        assert dialog.summary is None
        assert all(item.image is None for item in dialog.images.values())
        assert dialog.status.text().startswith("Cancelled")


@pytest.mark.gui
def test_the_spectrum_plot_has_no_axes_until_it_has_values(qtbot, window):
    dialog = window.insight.open_spectrum()
    qtbot.waitUntil(lambda: dialog.spectrum is not None and not dialog.busy, timeout=TIMEOUT)
    axis = dialog.spectrum_plot.getPlotItem().getAxis("bottom")
    assert axis.isVisible() and dialog.spectrum_plot.note.toPlainText() == ""
    dialog.spectrum_plot.clear_values()
    assert not axis.isVisible() and "Computing" in dialog.spectrum_plot.note.toPlainText()


@pytest.mark.parametrize("groups, flip", [(1, False), (2, True)])
def test_the_summarys_spectrum_is_output_channel_0_of_the_whole_filter_spectrum(groups, flip):
    rng = np.random.default_rng(5)
    weights = rng.standard_normal((3, 3, 8 // groups, 6))
    op = ConvOperator.from_weights(
        weights, input_shape=(16, 16, 8), padding=1, groups=groups, flip=flip
    )
    whole = fourier_core.filter_spectrum(weights, (16, 16), groups=groups, flip=flip)
    np.testing.assert_allclose(fourier_summary(op).spectrum, whole[..., 0].sum(axis=-1))
