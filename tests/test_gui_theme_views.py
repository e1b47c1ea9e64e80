"""The animation's frame and the insight tables follow the palette, at runtime too.

Offscreen: the "How it is computed" frame is drawn on the theme's paper (the print's
white in light mode, as its files are), the inverse tables of "Check my code" and of
the question's 7×7×3 example take the green and red that read on their window, and a
switch of the application palette while they are open redraws them; switching back
gives exactly the light look again. Contrast is WCAG's, written out independently in
``reference.wcag_contrast``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore, QtGui
from reference import wcag_contrast

from deconv_gui.core import ConvGeometry, PinvAnimation, StepAnimation
from deconv_gui.gui.insight.check_views import InverseTable
from deconv_gui.gui.insight.seed import SeedExampleView
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now
from deconv_gui.gui.support.theme import apply_palette, dark_palette
from deconv_gui.io.cells import PRINT_PAPER, paper
from deconv_gui.io.video import FrameRenderer
from deconv_gui.view.theme import THEMES, hex_rgb

pytestmark = pytest.mark.gui
TIMEOUT = 30_000  # ms; the 2 CPU cores are shared
AA = 4.5  # WCAG's contrast for normal text

#: The colours the frames were drawn in before they followed the palette (kept in light
#: mode and in files): paper, text, labels, plot frame, ticks, pending cells, curves,
#: a zero's cell, inserted zeros, the padding's cells and their hatching.
PRINT = ((255, 255, 255), (0, 0, 0), (60, 60, 60), (120, 120, 120), (90, 90, 90),
         (244, 244, 244), (200, 60, 40), (40, 90, 200),
         (255, 255, 255), (232, 232, 232), (190, 190, 190), (150, 150, 150))  # fmt: skip


@pytest.fixture
def palette(qapp):
    """Restores the application palette and style sheet whatever a test sets."""
    old_palette, old_sheet = QtGui.QPalette(qapp.palette()), qapp.styleSheet()
    qapp.setPalette(qapp.style().standardPalette())
    yield qapp
    qapp.setPalette(old_palette)
    qapp.setStyleSheet(old_sheet)


def _anim() -> StepAnimation:
    rng = np.random.default_rng(0)
    geometry = ConvGeometry((5, 5, 1), (3, 3, 1), stride=2, padding=1)
    return StepAnimation(geometry, rng.normal(size=(3, 3, 1)), rng.normal(size=(5, 5, 1)))


def test_files_keep_the_print_paper_and_the_dark_paper_reads():
    assert tuple(PRINT_PAPER) == PRINT
    assert paper(THEMES["light"]) == PRINT_PAPER
    light, default = FrameRenderer(_anim()), FrameRenderer(_anim(), paper=paper(THEMES["light"]))
    for k in (0, len(light) - 1):
        assert np.array_equal(light.render(k), default.render(k))
    dark = paper(THEMES["dark"])
    for role in ("ink", "label", "tick", "residual", "error"):
        assert wcag_contrast(getattr(dark, role), dark.back) >= AA, role
    frame = FrameRenderer(_anim(), paper=dark).render(0)
    assert tuple(frame[0, 0]) == dark.back
    assert not np.any(np.all(frame == 255, axis=2)[:, :8])  # no white margin left
    # the pseudo-inverse's first iterate is all zeros: dark cells, not white boxes
    rng = np.random.default_rng(2)
    pinv = PinvAnimation(ConvGeometry((6, 6, 1), (3, 3, 1), stride=2, padding=1),
                         rng.normal(size=(3, 3, 1)), rng.normal(size=(6, 6, 1)))  # fmt: skip
    shown = FrameRenderer(pinv, paper=dark).render(0)
    white = np.all(shown >= 250, axis=2)
    assert white.mean() < 0.002, white.mean()  # a few pixels of text at most
    for role in ("zero", "inserted", "pending", "padding"):  # cells, with numbers
        assert wcag_contrast(dark.ink, getattr(dark, role)) >= AA, role
    # the padded input's hatched border: dark cells, not the print's light grey boxes
    padded = FrameRenderer(_anim(), paper=dark).render(0)
    light = FrameRenderer(_anim()).render(0)

    def count(frame, rgb):
        return int(np.all(frame == np.array(rgb), axis=2).sum())

    assert count(padded, PRINT[10]) < count(light, PRINT[10]) / 100  # anti-aliased text only
    assert count(padded, dark.padding) > 0


def _steps(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)  # deleted by the test (delete_now)
    win.set_work_size(64)
    win.show()
    qtbot.waitUntil(lambda: win.result is not None and win.live.idle, timeout=TIMEOUT)
    steps = win.steps.open()
    qtbot.waitUntil(lambda: steps.frame is not None and not steps.jobs.busy, timeout=TIMEOUT)
    return win, steps


def _frame_colours(steps) -> tuple[tuple[int, ...], str]:
    """The frame's corner (its paper) and the view's background behind it."""
    back = steps.graphics.backgroundBrush().color().name()
    return tuple(int(v) for v in steps.frame[0, 0]), back


def test_the_animation_frame_follows_a_palette_switch(qtbot, tmp_path, palette):
    win, steps = _steps(qtbot, tmp_path)
    try:
        light_frame = steps.frame.copy()
        assert _frame_colours(steps) == ((255, 255, 255), THEMES["light"]["plot_back"])
        apply_palette(palette, "dark")
        dark = THEMES["dark"]
        assert _frame_colours(steps) == (hex_rgb(dark["frame_back"]), dark["plot_back"])
        assert not np.any(np.all(steps.frame == 255, axis=2)[:, :8])
        steps.set_index(steps.frame_count - 1)  # every later frame too
        assert tuple(steps.frame[0, 0]) == hex_rgb(dark["frame_back"])
        steps.set_index(0)
        apply_palette(palette, "light")  # and back: today's frame, pixel for pixel
        assert np.array_equal(steps.frame, light_frame)
    finally:
        steps.shutdown()
        delete_now(win)


def _table_colours(label) -> set[str]:
    return set(re.findall(r"color:(#[0-9a-fA-F]{6})", label.text()))


def test_the_inverse_tables_follow_a_palette_switch(qtbot, palette):
    view = SeedExampleView()
    qtbot.addWidget(view)
    rng = np.random.default_rng(1)
    geometry = ConvGeometry((7, 7, 3), (3, 3, 3, 1), stride=2)
    view.show_problem(geometry, rng.normal(size=(3, 3, 3, 1)), rng.random((7, 7, 3)))
    view.show()
    table = view.inverses
    assert isinstance(table, InverseTable) and table.isVisible()
    light, dark = THEMES["light"], THEMES["dark"]
    shown = _table_colours(table)
    assert shown == {light["table_good"], light["table_bad"]}  # today's green and red
    palette.setPalette(dark_palette())  # the desktop switches while the view is open
    wanted = {dark["table_good"], dark["table_bad"]}
    qtbot.waitUntil(lambda: _table_colours(table) == wanted, timeout=2000)
    back = view.palette().color(QtGui.QPalette.ColorRole.Window).name()
    for colour in _table_colours(table):
        assert wcag_contrast(colour, back) >= AA, colour
    apply_palette(palette, "light")
    qtbot.waitUntil(lambda: _table_colours(table) == shown, timeout=2000)


def test_check_my_code_shows_its_inverses_in_the_following_table(qtbot, tmp_path, palette):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    try:
        check = win.insight.open_check_dialog()
        assert isinstance(check.inverses, InverseTable)
        check.shutdown()
    finally:
        delete_now(win)


def test_every_verdict_reads_on_the_dark_palettes_window():
    from deconv_gui.gui.insight.check_jobs import VERDICT_COLORS, verdict_colour
    from deconv_gui.view.theme import DARK_PALETTE

    window = hex_rgb(DARK_PALETTE["Window"])
    for level in VERDICT_COLORS:  # "differs" was 4.1 there
        assert wcag_contrast(verdict_colour(level, window), window) >= AA, level


@pytest.mark.parametrize("choice", ["light", "dark"])
def test_the_networks_panels_get_the_panels_dark_frame(qtbot, palette, choice):
    """The network's panels (named network_panel_*) write their shape in the light blue
    of the panels' dark frame: on the window's light grey it read at about 2:1."""
    from qtpy import QtWidgets

    from deconv_gui.gui.panels.image_panel import ImagePanel
    from deconv_gui.gui.panels.title import SHAPE_COLOUR
    from deconv_gui.gui.support.style import apply_style

    apply_palette(palette, choice)
    apply_style(palette)
    colours = []
    for name in ("panel_input", "network_panel_input"):
        frame = QtWidgets.QFrame()
        frame.setObjectName(name)
        frame.resize(120, 80)
        qtbot.addWidget(frame)
        frame.show()
        image = frame.grab().toImage()
        colours.append(image.pixelColor(60, 40).name())
    assert colours[0] == colours[1] == "#1d2024", colours
    assert wcag_contrast(SHAPE_COLOUR, colours[1]) >= AA
    assert ImagePanel.__mro__[1] is QtWidgets.QFrame  # what the selectors match
