"""The window's own colours follow the application palette, light or dark, at runtime too.

Offscreen: the window is made under a dark palette (a desktop's dark theme) and every
text it colours itself is checked against its background with WCAG's contrast ratio,
written out independently in ``reference.wcag_contrast``; the light palette gives
today's colours; switching the palette while the window is open recolours it.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore, QtGui, QtWidgets
from reference import wcag_contrast

from deconv_gui.app import build_parser
from deconv_gui.cli import UsageError
from deconv_gui.gui.controls.kernel_grid import KernelGrid
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.style import STYLE_SHEET, apply_style
from deconv_gui.gui.support.teardown import delete_now
from deconv_gui.gui.support.theme import apply_palette, dark_palette
from deconv_gui.view.theme import DARK_PALETTE, THEMES

pytestmark = pytest.mark.gui
TIMEOUT = 30_000  # ms; the 2 CPU cores are shared
AA = 4.5  # WCAG's contrast for normal text

#: The colours the window drew before it followed the palette (its light look, kept).
TODAY = {
    "heading": "#1c2a5a",
    "muted": "#606070",
    "info": "#333333",
    "dim": "#888888",
    "error": "#b3261e",
    "ok": "#1d5e20",
    "warn": "#b35900",
    "note_back": "#fff8d8",
    "note_text": "#222222",
    "badge_good": "#2e7d32",
    "cell_zero": "#ffffff",
    "cell_text": "#000000",
    "grid_line": "#b8b8c8",
}


def _rgb(colour: QtGui.QColor) -> tuple[int, int, int]:
    return colour.red(), colour.green(), colour.blue()


@pytest.fixture
def palette(qapp):
    """Restores the application palette and style sheet whatever a test sets."""
    old_palette, old_sheet = QtGui.QPalette(qapp.palette()), qapp.styleSheet()
    yield qapp
    qapp.setPalette(old_palette)
    qapp.setStyleSheet(old_sheet)


def _window(qtbot, tmp_path) -> MainWindow:
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)  # deleted by the test (delete_now)
    win.set_work_size(128)  # small and quick
    win.show()
    qtbot.waitUntil(lambda: win.result is not None and win.live.idle, timeout=TIMEOUT)
    return win


def _sheet_colours(sheet: str) -> tuple[str | None, str | None]:
    """The ``color`` and ``background`` a widget's own style sheet gives (or None)."""
    ink = re.search(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6})", sheet)
    back = re.search(r"background:\s*(#[0-9a-fA-F]{6})", sheet)
    return (ink and ink.group(1)), (back and back.group(1))


def _coloured_labels(win: MainWindow) -> list[tuple[str, str, str]]:
    """``(name, ink, background)`` of each label whose own style sheet colours its text."""
    window = win.palette().color(QtGui.QPalette.ColorRole.Window).name()
    found = []
    for label in win.findChildren(QtWidgets.QLabel):
        ink, back = _sheet_colours(label.styleSheet())
        if ink:
            found.append((label.objectName() or label.text()[:30], ink, back or window))
    return found


def _grid_cells(win: MainWindow) -> list[tuple[tuple[int, int, int], tuple[int, int, int]]]:
    cells = []
    for grid in win.findChildren(KernelGrid):
        for r in range(grid.rowCount()):
            for c in range(grid.columnCount()):
                item = grid.item(r, c)
                cells.append((_rgb(item.foreground().color()), _rgb(item.background().color())))
    return cells


def _assert_todays_cells(win: MainWindow) -> None:
    """Each cell of the filter grid has today's colour: white at 0, blended to the ends."""
    for grid in win.findChildren(KernelGrid):
        scale = max(abs(grid.item(r, c).data(QtCore.Qt.ItemDataRole.UserRole))
                    for r in range(grid.rowCount()) for c in range(grid.columnCount()))  # fmt: skip
        for r in range(grid.rowCount()):
            for c in range(grid.columnCount()):
                item = grid.item(r, c)
                t = item.data(QtCore.Qt.ItemDataRole.UserRole) / scale
                end = (220, 92, 80) if t > 0 else (92, 130, 220)  # the map's ends, 70 % at most
                want = tuple(round(255 + (e - 255) * abs(t) * 0.7) for e in end)
                assert _rgb(item.background().color()) == want


def _assert_readable(win: MainWindow) -> None:
    labels = _coloured_labels(win)
    assert len(labels) >= 6  # headings, the image's line, notes, the badge, the summary
    for name, ink, back in labels:
        assert wcag_contrast(ink, back) >= AA, (name, ink, back)
    cells = _grid_cells(win)
    assert cells
    for ink, back in cells:
        assert wcag_contrast(ink, back) >= AA, (ink, back)


def test_a_window_made_under_a_dark_palette_reads_everywhere(qtbot, tmp_path, palette):
    palette.setPalette(dark_palette())
    win = _window(qtbot, tmp_path)
    try:
        _assert_readable(win)
        # the filter grid's zero is dark, not a glaring white
        assert _grid_cells(win)[0][1] != (255, 255, 255)
        badge = win.metrics.badge.styleSheet()
        assert "adjoint" in win.metrics.badge.text()
        ink, back = _sheet_colours(badge)
        assert wcag_contrast(ink, back) >= AA
    finally:
        delete_now(win)


def test_the_light_palette_keeps_todays_colours_and_a_switch_recolours(qtbot, tmp_path, palette):
    palette.setPalette(palette.style().standardPalette())
    apply_style(palette)
    assert palette.styleSheet() == STYLE_SHEET
    win = _window(qtbot, tmp_path)
    try:
        headings = [ink for _name, ink, _back in _coloured_labels(win)]
        assert TODAY["heading"] in headings and TODAY["info"] in headings
        for ink, back in _grid_cells(win):  # black on today's pale blue-white-red
            assert ink == (0, 0, 0) and wcag_contrast(ink, back) >= AA
        _assert_todays_cells(win)
        apply_palette(palette, "dark")  # the desktop switches to a dark theme
        assert THEMES["dark"]["message_back"] in palette.styleSheet()
        _assert_readable(win)
        assert TODAY["heading"] not in [ink for _n, ink, _b in _coloured_labels(win)]
        apply_palette(palette, "light")  # and back
        assert palette.styleSheet() == STYLE_SHEET
        assert TODAY["heading"] in [ink for _n, ink, _b in _coloured_labels(win)]
        assert all(ink == (0, 0, 0) for ink, _back in _grid_cells(win))
    finally:
        delete_now(win)


def test_the_light_theme_is_todays_colours_and_the_dark_one_reads():
    for role, colour in TODAY.items():
        assert THEMES["light"][role] == colour, role
    assert THEMES["light"].keys() == THEMES["dark"].keys()
    texts = ("heading", "muted", "info", "dim", "secondary", "error", "error_item",
             "error_message", "ok", "warn")  # fmt: skip
    for back in (DARK_PALETTE["Window"], DARK_PALETTE["Base"], "#353535"):
        for role in texts:
            assert wcag_contrast(THEMES["dark"][role], back) >= AA, (role, back)
    dark = THEMES["dark"]
    for ink, back in (("note_text", "note_back"), ("note_error_text", "note_error_back"),
                      ("message_text", "message_back"), ("badge_text", "badge_good"),
                      ("badge_text", "badge_bad"), ("cell_text", "cell_zero")):  # fmt: skip
        assert wcag_contrast(dark[ink], dark[back]) >= AA, (ink, back)
    assert wcag_contrast(DARK_PALETTE["Text"], DARK_PALETTE["Base"]) >= 7


def test_the_palette_option():
    parser = build_parser()
    assert parser.parse_args([]).palette == "system"
    assert parser.parse_args(["--palette", "dark"]).palette == "dark"
    with pytest.raises((SystemExit, UsageError)):
        parser.parse_args(["--palette", "purple"])


def test_the_styles_dark_media_icons_are_redrawn_light_on_a_dark_palette(qapp, palette):
    from deconv_gui.gui.support.theme import readable_icon

    play = qapp.style().standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MediaPlay)
    assert readable_icon(play) is play  # light: the style's own icon
    palette.setPalette(dark_palette())
    image = readable_icon(play).pixmap(32, 32).toImage()
    inks = {
        _rgb(QtGui.QColor(image.pixelColor(x, y)))
        for x in range(image.width())
        for y in range(image.height())
        if image.pixelColor(x, y).alpha() > 0
    }
    assert inks and all(wcag_contrast(ink, DARK_PALETTE["Button"]) >= AA for ink in inks)


def test_a_verdict_takes_the_shade_of_the_palette_it_is_switched_to(qtbot, palette):
    from deconv_gui.gui.insight.check import VERDICT_COLORS
    from deconv_gui.gui.insight.check_views import ToneLabel

    palette.setPalette(palette.style().standardPalette())
    label = ToneLabel(extra="font-size: 12pt;")
    qtbot.addWidget(label)
    label.show()
    label.say("✔ Matches to rounding", "match", bold=True)
    assert (
        label.styleSheet()
        == f"color: {VERDICT_COLORS['match']}; font-weight: bold; font-size: 12pt;"
    )
    palette.setPalette(dark_palette())
    ink, _back = _sheet_colours(label.styleSheet())
    assert ink != VERDICT_COLORS["match"] and "bold" in label.styleSheet()
    assert wcag_contrast(ink, DARK_PALETTE["Window"]) >= AA
    label.say("Comparing…")  # no tone: the palette's own text colour
    assert label.styleSheet() == "font-size: 12pt;"


def test_the_check_dialogs_verdict_follows_a_palette_switch(qtbot, tmp_path, palette):
    from deconv_gui.gui.insight.check import VERDICT_COLORS

    palette.setPalette(palette.style().standardPalette())
    win = _window(qtbot, tmp_path)
    try:
        check = win.insight.open_check_dialog()
        check.verdict.say("✔ Matches to rounding", "match", bold=True)
        assert VERDICT_COLORS["match"] in check.verdict.styleSheet()
        palette.setPalette(dark_palette())

        def readable() -> bool:
            inks = [
                _sheet_colours(label.styleSheet())[0] for label in (check.verdict, check.problem)
            ]
            return all(wcag_contrast(ink, DARK_PALETTE["Window"]) >= AA for ink in inks)

        qtbot.waitUntil(readable, timeout=2000)  # redrawn once the palette has reached them
        check.shutdown()
    finally:
        delete_now(win)


def test_the_layer_list_and_metrics_table_follow_a_palette_switch(qtbot, palette):
    """The red of a layer that does not fit the image and the orange of a solve that did
    not converge follow a palette switch, as the labels do (they were set once)."""
    import numpy as np

    from deconv_gui.core import Params, make_filter, run_pipeline
    from deconv_gui.gui.controls.layers import LayerRow, LayersPanel
    from deconv_gui.gui.panels.metrics import MetricsStrip

    palette.setPalette(palette.style().standardPalette())
    layers, metrics = LayersPanel(), MetricsStrip()
    for widget in (layers, metrics):
        qtbot.addWidget(widget)
    rows = [LayerRow("conv 3×3, 3→4", "8×8×4", True), LayerRow("max-pool 9", "", fits=False)]
    layers.show_chain(rows, 0, 0)
    image = np.random.default_rng(0).random((48, 48, 3))  # iterative: it can be stopped
    params = Params(make_filter("box", in_channels=3), padding=(1, 1), time_limit=1e-9)
    metrics.show_result(run_pipeline(image, params))

    def inks() -> tuple[set, set]:
        bad = layers.list.topLevelItem(1)
        listed = {_rgb(bad.foreground(c).color()) for c in range(layers.list.columnCount())}
        table = metrics.table
        unconverged = {
            _rgb(table.item(r, 3).foreground().color())
            for r in range(table.rowCount())
            if "not converged" in table.item(r, 3).text()
        }
        return listed, unconverged

    def rgb(name: str, role: str) -> tuple[int, int, int]:
        return _rgb(QtGui.QColor(THEMES[name][role]))

    assert inks() == ({rgb("light", "error_item")}, {rgb("light", "unconverged")})
    apply_palette(palette, "dark")
    assert inks() == ({rgb("dark", "error_item")}, {rgb("dark", "unconverged")})
    apply_palette(palette, "light")
    assert inks() == ({rgb("light", "error_item")}, {rgb("light", "unconverged")})


@pytest.mark.parametrize("choice", ["light", "dark"])
def test_indicators_and_disabled_texts_stand_out_from_the_window(qtbot, palette, choice):
    """An unticked indicator is only its outline: WCAG asks 3:1 of it against the window
    (Fusion's own outline is about 2:1 on the light grey, 1.2:1 on the dark)."""
    apply_style(palette)
    apply_palette(palette, choice)
    box = QtWidgets.QWidget()
    qtbot.addWidget(box)
    column = QtWidgets.QVBoxLayout(box)
    radio, check = QtWidgets.QRadioButton("this layer alone"), QtWidgets.QCheckBox("flip")
    column.addWidget(radio)
    column.addWidget(check)
    box.show()
    qtbot.waitExposed(box)
    back = _rgb(box.palette().color(QtGui.QPalette.ColorRole.Window))
    for button, element in (
        (radio, QtWidgets.QStyle.SubElement.SE_RadioButtonIndicator),
        (check, QtWidgets.QStyle.SubElement.SE_CheckBoxIndicator),
    ):
        option = QtWidgets.QStyleOptionButton()
        button.initStyleOption(option)
        rect = button.style().subElementRect(element, option, button)
        picture = button.grab().toImage()
        inks = [
            _rgb(QtGui.QColor(picture.pixel(x, y)))
            for x in range(rect.left(), rect.right() + 1)
            for y in range(rect.top(), rect.bottom() + 1)
        ]
        assert max(wcag_contrast(ink, back) for ink in inks) >= 3.0, (choice, button.text())
    disabled = box.palette().color(
        QtGui.QPalette.ColorGroup.Disabled, QtGui.QPalette.ColorRole.Text
    )
    assert wcag_contrast(_rgb(disabled), back) >= 3.0  # a turned-off field is still read


def test_styling_again_keeps_the_style_until_another_replaces_it(qapp, monkeypatch):
    """Each window styles the application: the style is set once (setStyle deletes the
    one it replaces and re-polishes every widget), and again once another replaced it."""
    apply_style(qapp)
    calls: list[object] = []
    real = qapp.setStyle
    monkeypatch.setattr(qapp, "setStyle", lambda style: (calls.append(style), real(style)))
    apply_style(qapp)
    assert calls == []
    sheet = qapp.styleSheet()
    try:
        real("fusion")  # what a desktop's or a test's own style does
        apply_style(qapp)
        assert len(calls) == 1 and type(calls[0]).__name__ == "ContrastStyle"
    finally:
        qapp.setStyleSheet(sheet)
