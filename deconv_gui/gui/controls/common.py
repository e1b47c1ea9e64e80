"""Small pieces shared by the left-dock control widgets: sections, colours, the link toggle.

Plain Qt only (no pyqtgraph), no math beyond choosing a colour.
"""

from __future__ import annotations

from qtpy.QtCore import QPointF, QRectF, QSize, Qt
from qtpy.QtGui import QColor, QFont, QIcon, QPainter, QPen, QPixmap, QResizeEvent
from qtpy.QtWidgets import QLabel, QToolButton, QVBoxLayout, QWidget

from ..support.theme import follow_theme, set_style_sheet, theme_colour, theme_style

__all__ = [
    "DOCK_WIDTH",
    "NOTE_STYLE",
    "DockSection",
    "FittedLabel",
    "LinkButton",
    "diverging_colour",
    "format_number",
    "link_icon",
    "section_header",
]

#: The width (px) the control widgets are designed for; the left dock is about 330–380 px.
DOCK_WIDTH = 350

#: A note box in the dock (the geometry's arithmetic, what a filter is in the study shown):
#: a style sheet template in the theme's roles (:func:`~..support.theme.theme_style`).
NOTE_STYLE = (
    "QLabel {{ background: {note_back}; border: 1px solid {note_border}; border-radius: 3px; "
    "padding: 4px; color: {note_text}; }}"
)

# Ends of the diverging colour map (blue for negative, red for positive), kept light enough
# that black text on them stays readable.
_NEGATIVE = QColor(92, 130, 220)
_POSITIVE = QColor(220, 92, 80)
_MAX_BLEND = 0.7


def section_header(text: str, parent: QWidget | None = None) -> QLabel:
    """A bold, slightly larger label that starts a section of the dock ("Image", "Filter", ...)."""
    label = QLabel(text, parent)
    font = QFont(label.font())
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.15)
    label.setFont(font)
    follow_theme(label, lambda theme: set_style_sheet(label, f"color: {theme['heading']};"))
    return label


class FittedLabel(QLabel):
    """A word-wrapped label as tall as its text at its width, never taller.

    A layout with room to spare hands it to every item that may grow, a word-wrapped
    label too: a note box then stood under its text with empty lines. The label's
    maximum height follows its text's height at its width (when resized or given text).
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)

    def setText(self, text: str | None) -> None:
        super().setText(text)
        self._fit()

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        height = self.heightForWidth(self.width())
        if height > 0 and height != self.maximumHeight():
            self.setMaximumHeight(height)


class DockSection(QWidget):
    """A section of the left dock: a column under a bold header, :data:`DOCK_WIDTH` wide.

    Attributes
    ----------
    column : QVBoxLayout
        The section's rows, the header first.
    header : QLabel
        The section's title.
    section_note : QLabel
        A note under the title (:meth:`show_note`; hidden while empty).
    """

    def __init__(
        self, title: str, parent: QWidget | None = None, *, spacing: int = 5, tip: str = ""
    ) -> None:
        super().__init__(parent)
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(4, 4, 4, 4)
        self.column.setSpacing(spacing)
        self.header = section_header(title)
        self.header.setToolTip(tip)
        self.column.addWidget(self.header)
        self.section_note = FittedLabel()
        self.section_note.hide()
        theme_style(self.section_note, NOTE_STYLE)
        self.column.addWidget(self.section_note)

    def show_note(self, text: str, tip: str = "") -> None:
        """Show ``text`` in the note box under the title, ``tip`` its tooltip ("": hide it)."""
        self.section_note.setText(text)
        self.section_note.setToolTip(tip)
        self.section_note.setVisible(bool(text))

    def sizeHint(self) -> QSize:
        return QSize(DOCK_WIDTH, super().sizeHint().height())


def diverging_colour(value: float, scale: float, zero: QColor | None = None) -> QColor:
    """Blue–``zero``–red colour for ``value``: ``zero`` (white by default; a dark palette's
    cell colour) at 0, saturated at ``±scale``.

    A non-positive or non-finite ``scale`` (an all-zero filter) gives ``zero``.
    """
    zero = QColor(Qt.GlobalColor.white) if zero is None else zero
    if not scale > 0 or value != value:  # value != value: NaN
        return QColor(zero)
    t = max(-1.0, min(1.0, value / scale))
    end = _POSITIVE if t > 0 else _NEGATIVE
    blend = abs(t) * _MAX_BLEND
    return QColor(
        round(zero.red() + (end.red() - zero.red()) * blend),
        round(zero.green() + (end.green() - zero.green()) * blend),
        round(zero.blue() + (end.blue() - zero.blue()) * blend),
    )


def format_number(value: float, decimals: int = 3) -> str:
    """Fixed-point text with ``decimals`` decimals, ``-0.000`` shown as ``0.000``."""
    text = f"{value:.{decimals}f}"
    if text.startswith("-") and float(text) == 0.0:
        text = text[1:]
    return text


def link_icon(linked: bool, size: int = 18) -> QIcon:
    """A chain-link icon drawn with QPainter: two interlocked links, or two apart when broken."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = theme_colour("heading" if linked else "link_off")
    painter.setPen(QPen(colour, 1.8))
    painter.translate(size / 2, size / 2)
    painter.rotate(-45)
    link_w, link_h = size * 0.5, size * 0.3
    offset = size * 0.18 if linked else size * 0.3
    for sign in (-1, 1):
        centre = QPointF(sign * offset, 0)
        painter.drawRoundedRect(
            QRectF(centre.x() - link_w / 2, -link_h / 2, link_w, link_h), link_h / 2, link_h / 2
        )
    painter.end()
    return QIcon(pixmap)


class LinkButton(QToolButton):
    """A checkable chain-link tool button: checked = height and width linked."""

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._what = what
        self.setCheckable(True)
        self.setChecked(True)
        self.setAutoRaise(True)
        self.setIconSize(QSize(18, 18))
        self.toggled.connect(self._update_look)
        follow_theme(self, lambda _theme: self._update_look(self.isChecked()))

    def _update_look(self, linked: bool) -> None:
        self.setIcon(link_icon(linked))
        state = "linked: one value sets height and width" if linked else "separate height and width"
        self.setToolTip(f"{self._what} {state}. Click to {'unlink' if linked else 'link'}.")
