"""The window shows the cheap panels of new settings at once, the slow ones as pending.

The pseudo-inverse is replaced by one that waits for an Event (and stops when
cancelled), so the tests control when it finishes; nothing is timed. References come
from calling ``run_pipeline`` directly.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore

from deconv_gui.core import SolveCancelled, registry, run_pipeline
from deconv_gui.core.solvers import is_cancelled
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now
from deconv_gui.view.display import fmt

pytestmark = pytest.mark.gui
TIMEOUT = 30_000  # ms; generous because the 2 CPU cores are shared


class Gate:
    """A pseudo-inverse that reports one iteration, then waits for :attr:`release`."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.real = registry.method("pinv").compute

    def compute(self, stage) -> None:
        self.entered.set()
        if stage.progress is not None:
            stage.progress(7, 0.125)
        while not self.release.wait(0.005):
            if is_cancelled(stage.cancel):
                raise SolveCancelled("cancelled")
        self.real(stage)


@pytest.fixture
def gate(monkeypatch):
    gate = Gate()
    slow = replace(registry.method("pinv"), compute=gate.compute)
    monkeypatch.setattr(registry, "_METHODS", {**registry._METHODS, "pinv": slow})
    yield gate
    gate.release.set()  # nothing left waiting when the window closes


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.result is not None and win.live.idle, timeout=TIMEOUT)
    yield win
    delete_now(win)


def _partial_on_screen(win, stride) -> bool:
    shown = win.panels.result
    return shown is not None and shown.params.stride == stride and bool(shown.pending)


def test_cheap_panels_show_the_new_arrays_while_the_pinv_computes(qtbot, window, gate):
    previous = window.result
    window.geometry_editor.set_values(stride=(1, 1))
    qtbot.waitUntil(lambda: _partial_on_screen(window, (1, 1)), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.live._drawing is None, timeout=TIMEOUT)
    assert not gate.release.is_set() and window.runner.busy
    assert window.result is previous  # the state keeps the last complete result
    params = window.current_params()
    # the gate is closed: the reference without the pinv (the same pipeline otherwise)
    reference = run_pipeline(window.loaded.pixels, params.replace(methods=("transposed",)))
    panels = window.panels
    np.testing.assert_array_equal(panels.panel("forward").data, reference.forward_output)
    np.testing.assert_array_equal(panels.panel("transposed").data, reference.transposed)
    assert panels.panel("forward").pending is None
    assert panels.panel("transposed").pending is None
    pinv = panels.panel("pinv")
    assert pinv.pending is not None and pinv.pending.startswith("computing")
    assert pinv.isVisible() and pinv.item.opacity() < 1  # the old image, dimmed
    qtbot.waitUntil(lambda: "iteration 7" in (pinv.pending or ""), timeout=TIMEOUT)
    assert "residual 1.25e-01" in pinv.pending
    gate.release.set()
    qtbot.waitUntil(lambda: window.live.idle, timeout=TIMEOUT)
    assert window.result.params == params and not window.result.pending
    assert pinv.pending is None and pinv.item.opacity() == 1
    reference = run_pipeline(window.loaded.pixels, params)
    np.testing.assert_allclose(pinv.data, reference.pinv, atol=1e-5)


def test_a_newer_request_drops_the_older_partial_and_full_results(qtbot, window, gate):
    partials = []
    window.runner.partialReady.connect(lambda rid, result: partials.append(rid))
    window.geometry_editor.set_values(stride=(1, 1))
    first = window.compute_now()
    # the GUI thread does not run its event loop here: the first partial stays queued
    assert gate.entered.wait(TIMEOUT / 1000)
    window.geometry_editor.set_values(stride=(3, 3))
    second = window.compute_now()  # cancels the first, whose partial is now stale
    qtbot.waitUntil(lambda: _partial_on_screen(window, (3, 3)), timeout=TIMEOUT)
    assert partials == [second] and first not in partials
    gate.release.set()
    qtbot.waitUntil(lambda: window.live.idle, timeout=TIMEOUT)
    assert window.result.params.stride == (3, 3) and window.runner.latest_id == second
    reference = run_pipeline(window.loaded.pixels, window.current_params())
    np.testing.assert_allclose(window.panels.panel("pinv").data, reference.pinv, atol=1e-5)
    assert not window.panels.result.pending and window.panels.panel("pinv").pending is None


def test_cancel_during_the_solve_puts_the_last_complete_result_back(qtbot, window, gate):
    previous = window.result
    window.geometry_editor.set_values(stride=(1, 1))
    qtbot.waitUntil(lambda: _partial_on_screen(window, (1, 1)), timeout=TIMEOUT)
    with qtbot.waitSignal(window.runner.cancelled, timeout=TIMEOUT):
        window.recon_options.cancelRequested.emit()
    assert window.result is previous and window.panels.result is previous
    assert not window.runner.busy
    for name in ("forward", "transposed", "pinv"):
        panel = window.panels.panel(name)
        assert panel.pending is None
        np.testing.assert_array_equal(panel.data, previous.panel(name))


def _rows(window) -> dict[str, list]:
    """The metrics table by method: its cells' texts, and whether the row is dimmed."""
    table, rows = window.metrics.table, {}
    for r, row in enumerate(window.metrics.rows):
        items = [table.item(r, c) for c in range(table.columnCount())]
        rows[row["name"]] = [item.text() for item in items]
    return rows


def test_the_table_and_summary_follow_the_partial_and_cancel_puts_them_back(qtbot, window, gate):
    before = (window.metrics.text(), window.metrics.info.text(), _rows(window))
    window.geometry_editor.set_values(stride=(1, 1))
    qtbot.waitUntil(lambda: _partial_on_screen(window, (1, 1)), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.live._drawing is None, timeout=TIMEOUT)
    params = window.current_params()
    # the gate is closed: the reference without the pinv (the same pipeline otherwise)
    reference = run_pipeline(window.loaded.pixels, params.replace(methods=("transposed",)))
    rows = _rows(window)
    assert list(rows) == ["forward", "transposed", "pinv"]
    psnr = reference.metrics.reconstructions["transposed"].psnr
    assert rows["transposed"][1] == f"{psnr:.1f} dB"  # the new settings' figures
    assert rows["pinv"][1] == "computing…" and rows["pinv"][2:] == ["", "", "", ""]
    item = window.metrics.table.item(2, 0)  # the pinv's row
    assert item.foreground().color().name() == "#888888" and "Still computing" in item.toolTip()
    info = window.metrics.info.text()
    assert info.startswith(reference.geometry.describe()) and info.endswith("computing…")
    assert f"{reference.metrics.adjoint_dot_test:.0e}" in window.metrics.badge.text()
    # the read-out reads what the panels show: the new forward output, A⁺ still computing
    window.panels.hovered.emit("input", 5, 6, -1)
    assert "A⁺ computing…" in window.readout.text()
    assert f"y[5,6] = {fmt(reference.forward_output[5, 6, 0])}" in window.readout.text()
    with qtbot.waitSignal(window.runner.cancelled, timeout=TIMEOUT):
        window.recon_options.cancelRequested.emit()
    assert (window.metrics.text(), window.metrics.info.text(), _rows(window)) == before
    assert "computing" not in window.readout.text()
    # computed again to the end: every row has its figures
    gate.release.set()
    window.compute_now()
    qtbot.waitUntil(lambda: window.live.idle and window.result.params == params, timeout=TIMEOUT)
    rows = _rows(window)
    assert rows["pinv"][1].endswith("dB") and "computing" not in window.metrics.info.text()
    assert window.metrics.info.text().startswith(window.result.geometry.describe())
