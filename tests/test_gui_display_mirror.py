"""The display choices live in the document: the View menu writes it, the panels follow it.

Offscreen; every settings file is a temporary one. Nothing is timed.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore

from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    made = MainWindow(settings, restore=False)
    qtbot.waitUntil(lambda: made.result is not None and made.live.idle, timeout=60_000)
    yield made
    delete_now(made)


def test_the_view_menu_writes_the_document(window):
    actions, display = window.menu_actions, window.document.display
    assert (display.layout, display.shared_levels, display.scaling) == ("grid", False, "clip")
    actions.layout_row.setChecked(True)
    actions.shared_levels.setChecked(True)
    actions.scaling_auto.setChecked(True)
    display = window.document.display  # without reading the widgets
    assert (display.layout, display.shared_levels, display.scaling) == ("row", True, "auto")
    assert window.panels.layout_mode == "row" and window.panels.scaling == "auto"


def test_the_panels_and_the_menu_follow_the_document(window):
    seen = []
    window.document.events.display.connect(lambda new, *_: seen.append(new))
    window.document.display = replace(
        window.document.display, layout="row", shared_levels=True, scaling="auto"
    )
    panels, actions = window.panels, window.menu_actions
    assert (panels.layout_mode, bool(panels.shared_levels), panels.scaling) == (
        "row",
        True,
        "auto",
    )
    assert actions.layout_row.isChecked() and not actions.layout_grid.isChecked()
    assert actions.shared_levels.isChecked() and actions.scaling_auto.isChecked()
    assert len(seen) == 1  # the menu's ticks did not write the document again
    # reading the widgets keeps the document's choices (the widgets are not their copy)
    assert window.sync.read().display.layout == "row"
    with pytest.raises(ValueError, match=r"display\.layout"):
        window.display.set_layout_mode("diagonal")
    assert window.document.display.layout == "row" and panels.layout_mode == "row"
