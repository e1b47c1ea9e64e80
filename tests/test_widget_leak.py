"""A closed window leaves no top-level widget behind, and dialogs reopened add none.

pyqtgraph makes its context menus and colour dialogs without a parent; a window used to
leave ~190 of them (and Qt sends every palette change to each). The counts are taken
here, inside each test, before conftest's clean-up deletes whatever a test left. No
tolerance: every kind of top-level widget must come back to its count before.

Every wait is on a condition, never a sleep; nothing is timed.
"""

from __future__ import annotations

from collections import Counter

import pytest

pytest.importorskip("pytestqt")
import pyqtgraph as pg
from qtpy import QtCore, QtWidgets

from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.popups import adopt_popups
from deconv_gui.gui.support.teardown import delete_now, is_deleted

pytestmark = pytest.mark.gui
TIMEOUT = 120_000  # ms; generous because the CPU cores are shared
REOPENED = 3


def _settle() -> None:
    """Posted events delivered and deferred deletions done (twice: a deletion may post)."""
    for _ in range(2):
        QtCore.QCoreApplication.processEvents()
        QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)


def _top_levels() -> Counter[str]:
    """The application's top-level widgets (popups and dialogs too) by class."""
    _settle()
    return Counter(type(w).__name__ for w in QtWidgets.QApplication.topLevelWidgets())


def _window(qtbot, tmp_path) -> MainWindow:
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)  # deleted by the test (delete_now)
    win.show()
    qtbot.waitUntil(lambda: win.result is not None and win.live.idle, timeout=TIMEOUT)
    return win


def _answer_modal(qtbot, run) -> None:
    """``run()`` opens a modal dialog: it is cancelled as soon as it shows."""

    def cancel() -> None:
        dialog = QtWidgets.QApplication.activeModalWidget()
        if isinstance(dialog, QtWidgets.QDialog):
            dialog.reject()
        else:  # not shown yet
            QtCore.QTimer.singleShot(10, cancel)

    QtCore.QTimer.singleShot(0, cancel)
    run()


def _dialogs(qtbot, win: MainWindow) -> dict[str, object]:
    """How each dialog the user can open again and again is opened and closed."""

    def modal(action):
        return lambda: _answer_modal(qtbot, action)

    def shown(open_dialog):
        def run() -> None:
            dialog = open_dialog()
            qtbot.waitUntil(lambda: not getattr(dialog, "busy", False), timeout=TIMEOUT)
            dialog.close()

        return run

    return {
        "export": modal(win.export),
        "code": modal(win.copy_as_code),
        "shortcuts": modal(win.menu_actions.shortcuts.trigger),
        "history": shown(win.history_actions.open_dialog),
        "check": shown(win.insight.open_check_dialog),
        "spectrum": shown(win.insight.open_spectrum),
        "fourier": shown(win.insight.open_fourier),
        "steps": shown(win.steps.open),
    }


def test_a_closed_window_leaves_no_top_level_widget(qtbot, tmp_path):
    before = _top_levels()
    win = _window(qtbot, tmp_path)
    for run in _dialogs(qtbot, win).values():  # their plots and menus made too
        run()
    assert sum(_top_levels().values()) > sum(before.values())  # the menus are windows
    delete_now(win)
    assert _top_levels() == before


def test_dialogs_opened_again_add_no_top_level_widget(qtbot, tmp_path):
    win = _window(qtbot, tmp_path)
    try:
        for name, run in _dialogs(qtbot, win).items():
            run()  # a dialog kept for the window is made on the first opening
            first = _top_levels()
            for _ in range(REOPENED):
                run()
            assert _top_levels() == first, name
    finally:
        delete_now(win)


def test_a_views_pyqtgraph_menus_and_dialogs_go_with_it(qtbot):
    before = _top_levels()
    view = pg.GraphicsLayoutWidget()
    histogram = pg.HistogramLUTItem()
    view.addItem(histogram)
    plot = view.addPlot(row=1, col=0)
    popups = [histogram.vb.menu, histogram.gradient.menu, histogram.gradient.colorDialog]
    popups += [plot.ctrlMenu, plot.vb.menu]
    assert adopt_popups(view) == len(popups)
    assert all(p.parent() is view and p.isWindow() for p in popups)  # still popups
    histogram.vb.menu.popup(QtCore.QPoint(5, 5))  # and still work
    qtbot.waitUntil(histogram.vb.menu.isVisible)
    histogram.vb.menu.hide()
    scene = view.scene()
    scene.exportDialog = QtWidgets.QWidget()  # as made when the user asks to export
    dialog = scene.exportDialog
    view.deleteLater()
    _settle()
    assert all(is_deleted(p) for p in [*popups, dialog])
    assert _top_levels() == before
