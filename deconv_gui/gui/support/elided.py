"""A one-line label that ends in "…" where its text does not fit, the whole text then in
its tooltip: the status bar's read-out and messages are never cut off mid-word unseen.

File names lose their middle instead (:func:`elide_names`): their start and their
extension stay, each name's when words join two (a model layer's input, ``photo.png
through net.onnx``), and what follows them (a shape) is not cut.
"""

from __future__ import annotations

import re
from pathlib import Path

from qtpy import QtCore, QtGui, QtWidgets

__all__ = ["NAME_JOINS", "ElidedLabel", "breakable", "elide_file_name", "elide_names"]

#: The words between two file names in one name: a model layer's input is named
#: ``photo.png through net.onnx`` (``into a layer of`` for a weights-only file).
NAME_JOINS = re.compile(r"( through | into a layer of )")


def breakable(text: str) -> str:
    """``text`` with zero-width spaces after "/", "\\" and "_": a word-wrapped label
    breaks a long path or file name there instead of growing wider than its dock.

    Examples
    --------
    >>> breakable("a_b/c").split("\\u200b")
    ['a_', 'b/', 'c']
    """
    for mark in ("/", "\\", "_"):
        text = text.replace(mark, mark + "\u200b")
    return text


def elide_names(text: str, width: int, metrics: QtGui.QFontMetrics) -> str:
    """``text``, file names joined by :data:`NAME_JOINS`, in ``width`` pixels: each name
    too long loses its middle (:func:`elide_file_name`), the narrow ones stay whole, the
    joining words are kept."""
    if metrics.horizontalAdvance(text) <= width:
        return text
    parts = NAME_JOINS.split(text)  # the names at the even places
    names = parts[::2]
    room = width - sum(metrics.horizontalAdvance(join) for join in parts[1::2])
    if room < 4 * metrics.horizontalAdvance("…") * len(names):  # no room to share
        return metrics.elidedText(text, QtCore.Qt.TextElideMode.ElideMiddle, width)
    fits: dict[int, int] = {}
    for i in sorted(range(len(names)), key=lambda i: metrics.horizontalAdvance(names[i])):
        share = room // (len(names) - len(fits))
        fits[i] = min(metrics.horizontalAdvance(names[i]), share)
        room -= fits[i]
    parts[::2] = [elide_file_name(name, fits[i], metrics) for i, name in enumerate(names)]
    return "".join(parts)


def elide_file_name(name: str, width: int, metrics: QtGui.QFontMetrics) -> str:
    """``name`` in ``width`` pixels: its middle replaced by "…", as much of its start as
    of its end kept, and its extension whole (when even that fits)."""
    if metrics.horizontalAdvance(name) <= width:
        return name
    suffix = Path(name).suffix
    end = len(suffix) if 1 < len(suffix) <= 10 else 0

    def fits(head: int, tail: int) -> bool:
        return metrics.horizontalAdvance(f"{name[:head]}…{name[len(name) - tail :]}") <= width

    if not fits(1, end):
        return metrics.elidedText(name, QtCore.Qt.TextElideMode.ElideMiddle, width)
    head, tail = 1, end
    while head + tail < len(name) - 1:
        if head <= tail - end and fits(head + 1, tail):
            head += 1
        elif fits(head, tail + 1):
            tail += 1
        elif fits(head + 1, tail):
            head += 1
        else:
            break
    return f"{name[:head]}…{name[len(name) - tail :]}"


class ElidedLabel(QtWidgets.QLabel):
    """A plain-text, one-line ``QLabel`` drawn elided at its right end when too narrow.

    ``text()`` stays the whole text; :meth:`shown_text` is what is drawn. While the text
    is elided the tooltip starts with the whole text, followed by the label's own tooltip.
    ``mode`` elides elsewhere: ``ElideMiddle`` keeps both ends of a long file name.
    :meth:`set_names` shows file names elided by :func:`elide_names`, then a tail never cut.
    """

    def __init__(
        self,
        text: str = "",
        parent: QtWidgets.QWidget | None = None,
        mode: QtCore.Qt.TextElideMode = QtCore.Qt.TextElideMode.ElideRight,
    ) -> None:
        super().__init__(text, parent)
        self.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self._mode = mode
        self._names: tuple[str, str] | None = None

    def set_names(self, names: str, tail: str = "") -> None:
        """Show file ``names`` (see :func:`elide_names`), then ``tail`` whole."""
        self.setText(names + tail)
        self._names = (names, tail)

    def setText(self, text: str | None) -> None:
        self._names = None  # plain text again, elided by the label's mode
        super().setText(text)

    def shown_text(self) -> str:
        """The text as drawn at the label's present width."""
        width, metrics = self.contentsRect().width(), self.fontMetrics()
        if self._names is not None:
            names, tail = self._names
            room = width - metrics.horizontalAdvance(tail)
            return elide_names(names, room, metrics) + tail
        return metrics.elidedText(self.text(), self._mode, width)

    def is_elided(self) -> bool:
        """Whether the text is cut short (drawn with "…")."""
        return self.shown_text() != self.text()

    def current_tooltip(self) -> str:
        """The tooltip shown now: the whole text first while it is elided."""
        own = self.toolTip()
        if not self.is_elided():
            return own
        return f"{self.text()}\n\n{own}" if own else self.text()

    def event(self, event: QtCore.QEvent | None) -> bool:
        if event is not None and event.type() == QtCore.QEvent.Type.ToolTip:
            tip = self.current_tooltip()
            if tip:
                QtWidgets.QToolTip.showText(QtGui.QHelpEvent.globalPos(event), tip, self)  # type: ignore[arg-type]
            else:
                QtWidgets.QToolTip.hideText()
            return True
        return super().event(event)

    def paintEvent(self, event: QtGui.QPaintEvent | None) -> None:
        painter = QtGui.QPainter(self)
        style = self.style()
        if style is None:
            return
        style.drawItemText(
            painter,
            self.contentsRect(),
            int(self.alignment()),
            self.palette(),
            self.isEnabled(),
            self.shown_text(),
            self.foregroundRole(),
        )
