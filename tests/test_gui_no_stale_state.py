"""No stale or confusing state, offscreen: the Inspect dock, Ctrl+I, pasted images, axes, shortcuts.

Every wait is on a condition, never a sleep; nothing is timed.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
import pyqtgraph as pg
from qtpy import QtCore, QtGui, QtWidgets

from deconv_gui.gui.dialogs.shortcuts import OTHER_KEYS, ShortcutsDialog, shortcut_rows
from deconv_gui.gui.insight.spectrum_plots import LABEL_GAP, LogAxis
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now

pytestmark = pytest.mark.gui
TIMEOUT = 30_000  # ms; generous because the 2 CPU cores are shared
README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.show()
    wait_idle(qtbot, win)
    yield win
    delete_now(win)


def wait_idle(qtbot, win):
    qtbot.waitUntil(
        lambda: win.result is not None and not win.live.pending and not win.runner.busy,
        timeout=TIMEOUT,
    )


def test_esc_and_a_new_image_reset_the_inspect_dock(qtbot, window):
    insight = window.insight
    dock, inspector = insight.dock, insight.inspector
    dock.setVisible(True)
    hint = dock.text.text()
    assert not dock.graphics.isVisible()  # no kernel yet: no empty black area
    inspector.inspect("forward", 5, 7)
    assert "y[5, 7]" in dock.text.text() and not dock.graphics.isVisible()
    assert window.panels.panel("input").overlay_items
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Escape)
    assert dock.text.text() == hint and dock.kernel is None
    assert not window.panels.panel("input").overlay_items and inspector.selection is None
    # a row of A⁺ is drawn in the dock; a new image then clears it
    window.load_sample("seed_toy")
    wait_idle(qtbot, window)
    inspector.inspect("pinv", 3, 3)
    qtbot.waitUntil(lambda: dock.kernel is not None, timeout=TIMEOUT)
    assert dock.graphics.isVisible()
    inspector.inspect("input", 1, 1)  # a click outside the pinv panel: no stale A⁺ row
    assert dock.kernel is None and not dock.graphics.isVisible()
    assert "Input pixel (1, 1)" in dock.text.text()
    window.load_sample("camera")
    qtbot.waitUntil(lambda: window.result.image.shape[2] == 1, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    assert inspector.selection is None and dock.text.text() == hint
    assert not window.panels.panel("forward").overlay_items


def test_ctrl_i_ticks_the_normalised_checkbox_it_shows(qtbot, window):
    options = window.recon_options
    assert "normalized_transposed" not in options.methods()
    window.insight.panels_action.trigger()  # Ctrl+I
    qtbot.waitUntil(lambda: window.result.nullspace is not None, timeout=TIMEOUT)
    assert "normalized_transposed" in options.methods()
    assert "normalized_transposed" in window.panels.visible_names()
    window.insight.panels_action.trigger()
    wait_idle(qtbot, window)
    assert "normalized_transposed" not in options.methods()
    assert "normalized_transposed" not in window.panels.visible_names()
    # ticked by the user first: hiding the insight panels leaves it ticked
    options.set_values(methods=("transposed", "normalized_transposed", "pinv"))
    window.insight.panels_action.trigger()
    window.insight.panels_action.trigger()
    wait_idle(qtbot, window)
    assert "normalized_transposed" in options.methods()


def test_a_pasted_image_is_not_called_an_opened_file(qtbot, window, tmp_path):
    image = QtGui.QImage(30, 20, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor(0, 128, 255))
    QtWidgets.QApplication.clipboard().setImage(image)
    assert window.paste_image()
    wait_idle(qtbot, window)
    assert window.image_controls._sample.currentText() == "(pasted image)"
    path = tmp_path / "photo.npy"
    np.save(path, np.zeros((12, 10, 3)))
    assert window.load_path(path)
    qtbot.waitUntil(lambda: window.loaded.source == str(path), timeout=TIMEOUT)
    assert window.image_controls._sample.currentText() == "(opened file)"


def test_a_log_axis_labels_a_range_narrower_than_one_step(qtbot):
    plot = pg.PlotWidget(axisItems={"left": LogAxis("left")})
    qtbot.addWidget(plot)
    axis = plot.getAxis("left")
    axis.setLogMode(True)
    low, high = np.log10(60.2), np.log10(61.5)  # no 1-2-…-9 × 10ᵏ value in between
    levels = axis.tickValues(low, high, 300)
    values = [v for _, vs in levels for v in vs]
    assert len(values) >= 2 and all(low <= v <= high for v in values)
    labels = axis.tickStrings(levels[0][1], 1.0, levels[0][0])
    assert all(60.2 <= float(text) <= 61.5 for text in labels)
    # a range over several decades keeps pyqtgraph's powers of ten
    axis.tickValues(-3.0, 2.0, 300)
    assert not axis._linear_ticks


def test_a_short_log_axis_never_draws_its_labels_over_each_other(qtbot):
    plot = pg.PlotWidget(axisItems={"left": LogAxis("left")})
    qtbot.addWidget(plot)
    axis = plot.getAxis("left")
    axis.setLogMode(True)
    low, high = np.log10(0.17), np.log10(1.05)  # singular values 0.17 … 1: a decade

    def labelled(size: float) -> list[float]:
        return [v for spacing, vs in axis.tickValues(low, high, size) for v in vs]

    tall = labelled(1000)  # room: every 1-2-…-9 value
    assert len(tall) == 9 and np.allclose(10 ** np.array(tall[-1]), 1.0)
    short = labelled(150)  # 0.9 and 1 were 10 px apart
    assert 2 <= len(short) < len(tall)
    assert np.diff(short).min() * 150 / (high - low) >= LABEL_GAP


def test_help_lists_every_shortcut_of_the_readme(qtbot, window):
    rows = {
        key: what for _section, keys, what in shortcut_rows(window) for key in keys.split(" / ")
    }
    for keys in ("F", "F1", "Esc", "Ctrl+I", "Ctrl+E", "Ctrl+Q"):
        assert keys in rows, keys
    table = README.read_text(encoding="utf-8").split("| shortcut | action |")[1].split("\n\n")[0]
    for cell in re.findall(r"^\| ([^|]+) \|", table, flags=re.MULTILINE):
        for keys in cell.split(" / "):
            if set(keys.strip()) - {"-", " "}:
                assert keys.strip() in rows, keys
    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)
    assert dialog.rows == shortcut_rows(window)


def test_help_lists_the_shortcuts_by_menu_in_the_menus_order(qtbot, window):
    rows = shortcut_rows(window)
    sections = list(dict.fromkeys(section for section, _keys, _what in rows))
    # the menu bar's order, then the main window's keys of no menu, then another window's
    assert sections == ["File", "Edit", "View", "Network", "Insight", "Help", OTHER_KEYS,
                        "How it is computed window"]  # fmt: skip
    file_menu = [what for section, _keys, what in rows if section == "File"]
    assert file_menu == ["Open image", "Open model", "Paste image", "Open session",
                         "Save session", "Export", "Quit"]  # fmt: skip
    edit = {what: keys for section, keys, what in rows if section == "Edit"}
    assert "Paste image" not in edit  # listed once, in the first menu that has it
    assert edit["Redo the undone edit"].startswith("Ctrl+Shift+Z")  # with its alternatives
    assert ("Help", "F1", "Keyboard shortcuts") in rows
    assert (OTHER_KEYS, "Esc", "Clear the inspected pixel") in rows
    # F fits the panels in the window and the frame in the steps window: both listed
    assert ("View", "F", "Fit view") in rows
    assert ("How it is computed window", "F", "Fit the frame") in rows
    for in_steps in (False, True):  # each key listed once in the window it works in
        keys = [k for section, k, _ in rows if (section == "How it is computed window") == in_steps]
        assert len(keys) == len(set(keys))
    # two columns, cut between sections: the list fits a laptop screen
    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)
    columns = [label.text() for label in dialog.findChildren(QtWidgets.QLabel)]
    assert len(columns) == 2 and "<b>File</b>" in columns[0] and "<b>Help</b>" in columns[1]
    assert dialog.sizeHint().height() < 700


def test_export_dialog_stays_open_with_the_error_and_makes_a_missing_folder(
    qtbot, window, tmp_path
):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    dialog = window.make_export_dialog(run=True)
    qtbot.addWidget(dialog)
    dialog.show()
    ok = dialog.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok)
    dialog.folder_edit.setText(str(blocker / "sub"))
    ok.click()
    assert dialog.isVisible() and dialog.result() != QtWidgets.QDialog.DialogCode.Accepted
    assert "nothing was written" in dialog.error_text()
    assert [p.name for p in tmp_path.iterdir() if p.suffix != ".ini"] == ["a_file"]
    out = tmp_path / "new" / "exports"
    dialog.folder_edit.setText(str(out))
    ok.click()
    assert not dialog.isVisible() and dialog.result() == QtWidgets.QDialog.DialogCode.Accepted
    assert (out / "params.json").is_file() and (out / "pinv.npy").is_file()


def test_save_session_to_a_folder_writes_inside_it(window, tmp_path):
    folder = tmp_path / "sessions"
    folder.mkdir()
    written = window.save_session_to(folder)
    assert written is not None and written.parent == folder
    assert not (tmp_path / "sessions.deconv.json").exists()
