"""The dock's note box under a section's title is as tall as its text, in any room.

A layout with room to spare gave it to the word-wrapped note too, which then stood under
its text with empty lines; the expected height is the text's wrapped lines (from the
font's metrics, at the note's width) times the line height, plus the box's padding.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
from qtpy.QtCore import QRect, Qt
from qtpy.QtWidgets import QLabel

from deconv_gui.gui.controls.common import DockSection

pytestmark = pytest.mark.gui

LONG = (
    "Read-only: the network up to here runs the model file's own weights, so an edit "
    "here would change nothing shown; choose 'this layer alone' to edit them."
)
BOX = 2 * 4 + 2 * 1  # NOTE_STYLE: 4 px padding and a 1 px border, above and below


def _lines(note: QLabel) -> int:
    metrics = note.fontMetrics()
    width = note.contentsRect().width() - 2 * 4  # the padding is inside the contents
    text = metrics.boundingRect(QRect(0, 0, width, 10_000), Qt.TextFlag.TextWordWrap, note.text())
    return round(text.height() / metrics.lineSpacing())


@pytest.mark.parametrize("size", [(350, 400), (350, 700), (240, 700)])
def test_the_note_is_as_tall_as_its_text(qtbot, size):
    section = DockSection("Filter")
    qtbot.addWidget(section)
    section.column.addWidget(QLabel("a control below"))
    section.resize(*size)
    section.show()
    qtbot.waitExposed(section)
    note = section.section_note
    for text in (LONG, "Layer 4 of the network.", LONG + " " + LONG):
        section.show_note(text)
        qtbot.waitUntil(lambda: note.height() == note.heightForWidth(note.width()))
        lines = _lines(note)
        assert lines >= 1
        expected = lines * note.fontMetrics().lineSpacing() + BOX
        assert abs(note.height() - expected) <= 4, (size, text[:20], lines, note.height())
