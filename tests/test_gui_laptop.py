"""The window on a laptop screen, offscreen: first size, restored geometry, minimum width, fitting.

The real-X counterpart (a real window manager on a 1280×800 Xvfb screen) is
``test_gui_xvfb.py``. Every wait is on a condition, never a sleep; nothing is timed.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore, QtGui, QtWidgets

from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.screen import PREFERRED_SIZE, clamp_rect, initial_size
from deconv_gui.gui.support.style import STYLE_SHEET
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 30_000  # ms; generous because the 2 CPU cores are shared
LAPTOP = QtCore.QRect(0, 0, 1280, 800)
#: Widest client area a 1280 px screen leaves once the window manager adds its borders.
LAPTOP_CLIENT_WIDTH = 1264


@pytest.fixture
def window(qtbot, tmp_path):
    app = QtWidgets.QApplication.instance()
    previous = app.styleSheet()
    app.setStyleSheet(STYLE_SHEET)  # the fonts and sizes of the real app
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.show()
    wait_idle(qtbot, win)
    yield win
    delete_now(win)
    app.setStyleSheet(previous)


def wait_idle(qtbot, win):
    qtbot.waitUntil(
        lambda: win.result is not None and not win.live.pending and not win.runner.busy,
        timeout=TIMEOUT,
    )


def _inside(rect: QtCore.QRect, outer: QtCore.QRect) -> bool:
    return outer.contains(rect.topLeft()) and outer.contains(rect.bottomRight())


@pytest.mark.parametrize("screen", [(1280, 800), (1366, 768), (1024, 600), (800, 600)])
def test_a_fresh_window_is_sized_from_the_screen(screen):
    available = QtCore.QRect(0, 0, *screen)
    size = initial_size(available)
    assert size.width() < screen[0] and size.height() < screen[1]
    assert size.width() >= min(PREFERRED_SIZE.width(), screen[0] - 16)


def test_a_large_screen_gets_the_preferred_size():
    assert initial_size(QtCore.QRect(0, 0, 2560, 1440)) == PREFERRED_SIZE


@pytest.mark.parametrize(
    "stored",
    [
        QtCore.QRect(40, 30, 1900, 1150),  # saved on a larger monitor
        QtCore.QRect(3000, 1800, 900, 600),  # on a second monitor that is gone
        QtCore.QRect(-700, -500, 900, 600),  # dragged off the top left
        QtCore.QRect(900, 500, 900, 600),  # hanging off the bottom right
    ],
)
def test_a_restored_geometry_is_clamped_into_the_screen(stored):
    fitted = clamp_rect(stored, LAPTOP)
    assert _inside(fitted, LAPTOP)
    assert fitted.width() <= stored.width() and fitted.height() <= stored.height()


def test_a_geometry_that_fits_is_kept():
    rect = QtCore.QRect(100, 80, 1000, 600)
    assert clamp_rect(rect, LAPTOP) == rect
    side = QtCore.QRect(1280, 0, 1920, 1080)  # a second screen to the right
    assert clamp_rect(QtCore.QRect(1400, 100, 1200, 800), side) == QtCore.QRect(
        1400, 100, 1200, 800
    )


def test_the_window_fits_a_laptop_with_every_dock_and_panel(qtbot, window):
    # a long message in the status bar must not widen the window either
    window.show_message("x" * 400)
    assert window.minimumSizeHint().width() <= LAPTOP_CLIENT_WIDTH
    window.insight.dock.setVisible(True)
    window.insight.set_panels_visible(True)
    qtbot.waitUntil(lambda: window.result.nullspace is not None, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    for mode in ("grid", "row"):
        window.panels.set_layout_mode(mode)
        QtWidgets.QApplication.processEvents()
        assert window.minimumSizeHint().width() <= LAPTOP_CLIENT_WIDTH, mode
    # the metrics table, the adjoint badge and the summary never overlap: side by side, or
    # (the Inspect dock taking its room) the badge and the summary under the table
    strip = window.metrics
    window.resize(LAPTOP_CLIENT_WIDTH, 740)
    qtbot.waitUntil(lambda: strip.width() < 800, timeout=TIMEOUT)

    def apart() -> bool:
        table, badge, info = (w.geometry() for w in (strip.table, strip.badge, strip.info))
        if strip.stacked:
            return table.bottom() < badge.top() and badge.bottom() < info.top()
        return table.right() < badge.left() and table.right() < info.left()

    qtbot.waitUntil(apart, timeout=TIMEOUT)
    assert strip.width() >= strip.minimumSizeHint().width()


def test_the_window_shrinks_to_a_1024_px_screen(qtbot, window):
    # the metrics strip set the window's minimum width (1075 px): its badge and summary
    # now go under the table when they do not fit beside it
    small_client_width = 1024 - 16
    assert window.minimumSizeHint().width() <= small_client_width
    strip = window.metrics
    window.resize(small_client_width, 680)

    def under() -> bool:
        return strip.badge.geometry().top() > strip.table.geometry().bottom()

    qtbot.waitUntil(lambda: strip.stacked and under(), timeout=TIMEOUT)
    table, badge = strip.table.geometry(), strip.badge.geometry()
    assert strip.info.geometry().top() > badge.bottom()
    assert strip.width() < table.width() + badge.width() + strip.info.minimumSizeHint().width()
    window.resize(LAPTOP_CLIENT_WIDTH, 740)  # room again: side by side
    qtbot.waitUntil(
        lambda: (
            not strip.stacked and strip.table.geometry().right() < strip.badge.geometry().left()
        ),
        timeout=TIMEOUT,
    )


def _fitted(panel) -> bool:
    """The image spans its view along one axis (aspect locked) and is wholly inside it."""
    (x0, x1), (y0, y1) = panel.view.viewRange()
    h, w = panel.data.shape[:2]
    inside = x0 <= 0 and y0 <= 0 and x1 >= w and y1 >= h
    tight = min((x1 - x0) / w, (y1 - y0) / h) <= 1.1
    # ... at the view's present size (not one a pending layout pass is about to change)
    size = panel.view.size()
    laid_out = size.width() > 1 and size.height() > 1
    square = laid_out and abs((x1 - x0) / size.width() - (y1 - y0) / size.height()) < 1e-3 * (
        (x1 - x0) / size.width()
    )
    return inside and tight and square


def _wheel(panel) -> None:
    """Scroll the mouse wheel over the middle of ``panel``'s image (the user zooms)."""
    viewport = panel.graphics.viewport()
    centre = QtCore.QPointF(viewport.rect().center())
    event = QtGui.QWheelEvent(
        centre,
        QtCore.QPointF(viewport.mapToGlobal(centre.toPoint())),
        QtCore.QPoint(0, 0),
        QtCore.QPoint(0, 240),
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
        QtCore.Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QtWidgets.QApplication.sendEvent(viewport, event)


def test_panels_stay_fitted_until_the_user_zooms(qtbot, window):
    names = window.panels.visible_names()
    qtbot.waitUntil(lambda: all(_fitted(window.panels.panel(n)) for n in names), timeout=TIMEOUT)
    for size in ((1100, 650), (1400, 900)):  # resized, then maximised-like
        window.resize(*size)
        qtbot.waitUntil(
            lambda: all(_fitted(window.panels.panel(n)) for n in names), timeout=TIMEOUT
        )
    window.panels.set_layout_mode("row")
    qtbot.waitUntil(lambda: all(_fitted(window.panels.panel(n)) for n in names), timeout=TIMEOUT)
    panel = window.panels.panel("input")
    _wheel(panel)
    assert not window.panels.auto_fit
    assert not _fitted(panel)
    window.resize(1150, 700)
    QtWidgets.QApplication.processEvents()
    qtbot.waitUntil(lambda: not window.panels._fit_timer.isActive(), timeout=TIMEOUT)
    assert not _fitted(panel) and window.panels.auto_fit is False
    window.menu_actions.fit.trigger()  # F: fitted again, and kept so
    assert window.panels.auto_fit
    qtbot.waitUntil(lambda: all(_fitted(window.panels.panel(n)) for n in names), timeout=TIMEOUT)


def test_insight_windows_fit_the_screen(qtbot, window):
    # the Fourier view asks for 1320 px: on a smaller screen it is shrunk, Close in reach
    room = QtWidgets.QApplication.primaryScreen().availableGeometry()
    fourier = window.insight.open_fourier()
    for dialog in (fourier, window.insight.open_spectrum()):
        assert dialog.width() <= room.width() and dialog.height() <= room.height(), dialog
    assert fourier.width() < 1320  # the offscreen screen is 800×600
    for dialog in window.insight.dialogs.values():
        dialog.shutdown()


def test_a_hand_built_networks_study_keeps_the_window_within_a_laptop(qtbot, window):
    """conv → ReLU → conv, the network up to here studied: the dock grows with the rows
    and notes, yet it scrolls; nothing makes the window taller than a 1280×800 screen's
    client area (752 px under openbox's title bar), so the status bar stays on screen."""
    client_height = 752
    assert window.minimumSizeHint().height() <= client_height
    for name in ("add_conv", "add_relu", "add_conv"):
        getattr(window.menu_actions, name).trigger()
        wait_idle(qtbot, window)
    window.network.set_through(True)
    qtbot.waitUntil(lambda: window.network._showing, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.network.settled, timeout=TIMEOUT)
    assert window.filter_editor.section_note.isVisible()  # "Layer 3 of the network: …"
    assert window.minimumSizeHint().height() <= client_height
