"""The window's solve time limit: its form row, and a stop's reason in the status bar."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore, QtWidgets

from deconv_gui.core import params as schema
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 60_000


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.result is not None and not win.runner.busy, timeout=TIMEOUT)
    yield win
    delete_now(win)


def test_a_stopped_solve_says_why_in_the_status_bar_and_the_metrics(qtbot, window):
    spin = window.findChild(QtWidgets.QDoubleSpinBox, "time_limit")
    assert spin is not None and spin.specialValueText() == "none"
    assert "κ(A)" in spin.toolTip() and "Tikhonov" in spin.toolTip()
    params = window.current_params().replace(stride=1, padding=1, time_limit=1e-9)
    window.apply_params(params)
    qtbot.waitUntil(
        lambda: (
            window.result is not None
            and window.result.params.time_limit == 1e-9
            and not window.runner.busy
        ),
        timeout=TIMEOUT,
    )
    report = window.result.solver
    assert report is not None and not report.converged and report.iterations == 1
    status = window.state_label.text()
    assert "pseudo-inverse stopped at the time limit (1e-09 s): estimated κ(A)" in status
    assert "try Tikhonov reg ≈" in status
    assert "(not converged)" in window.metrics.text()
    # a generous limit typed in: the same layer solves on, and the status is plain again
    spin.setValue(600.0)
    qtbot.waitUntil(
        lambda: (
            window.result is not None
            and window.result.params.time_limit == 600.0
            and not window.runner.busy
        ),
        timeout=TIMEOUT,
    )
    assert window.current_params().time_limit == 600.0 != schema.WINDOW_TIME_LIMIT
    assert window.result.solver is not None and window.result.solver.converged
    assert "time limit" not in window.state_label.text()
