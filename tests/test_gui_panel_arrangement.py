"""The panels on a laptop screen, offscreen: one row wraps when unreadable, and says so.

The rule itself (which columns) is tested Qt-free in ``test_view_arrangement.py``; here
the window follows it as it is resized and as panels come and go. Every wait is on a
condition, never a sleep; nothing is timed.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
import test_gui_laptop as laptop
from test_gui_laptop import LAPTOP_CLIENT_WIDTH, TIMEOUT, wait_idle

from deconv_gui.view.arrangement import MIN_PANEL_WIDTH

window = laptop.window  # the window of a laptop screen (the real app's style sheet)

pytestmark = pytest.mark.gui
#: every method without a prior (quick to compute), and the Insight panels: 8 panels
_METHODS = ("transposed", "normalized_transposed", "pinv")


def _show_many(qtbot, window) -> None:
    window.recon_options.set_values(methods=_METHODS)
    window.insight.set_panels_visible(True)
    qtbot.waitUntil(lambda: window.result.nullspace is not None, timeout=TIMEOUT)
    wait_idle(qtbot, window)


def test_one_row_of_many_panels_wraps_on_a_laptop_and_says_so(qtbot, window):
    panels, action = window.panels, window.menu_actions.layout_row
    window.resize(LAPTOP_CLIENT_WIDTH, 740)
    _show_many(qtbot, window)
    action.trigger()
    assert window.state.document.display.layout == "row"  # the choice stays the user's
    qtbot.waitUntil(lambda: panels.arrangement.wrapped, timeout=TIMEOUT)
    names = panels.visible_names()
    assert len(names) >= 8 and panels.arrangement.rows > 1
    assert [n for n, *_ in panels.arrangement.cells] == names  # reading order
    qtbot.waitUntil(
        lambda: all(panels.panel(n).width() >= MIN_PANEL_WIDTH - 2 for n in names),
        timeout=TIMEOUT,
    )
    assert action.isChecked() and "wrapped" in action.iconText()
    assert f"{len(names)} panels" in action.toolTip() and "wrapped into" in action.toolTip()
    # fewer panels fit in one row again: the button says plain "One row" (three: four
    # square pictures are drawn 1.2 times as large in two rows of two, and wrap)
    window.insight.set_panels_visible(False)
    window.recon_options.set_values(methods=("transposed",))
    qtbot.waitUntil(lambda: len(panels.visible_names()) == 3, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: not panels.arrangement.wrapped, timeout=TIMEOUT)
    assert panels.arrangement.rows == 1 and action.iconText() == "One row"
    assert "px wide" not in action.toolTip()


def test_the_grid_is_kept_as_asked(qtbot, window):
    window.resize(LAPTOP_CLIENT_WIDTH, 740)
    _show_many(qtbot, window)
    window.menu_actions.layout_grid.trigger()
    qtbot.waitUntil(lambda: window.panels.arrangement.rows == 3, timeout=TIMEOUT)
    assert not window.panels.arrangement.wrapped
    assert window.menu_actions.layout_row.iconText() == "One row"
