"""A one-line label that ends in "…" where its text does not fit, the whole text then in
its tooltip: the status bar's read-out and messages are never cut off mid-word unseen."""

from __future__ import annotations

from qtpy import QtCore, QtGui, QtWidgets

__all__ = ["ElidedLabel"]


class ElidedLabel(QtWidgets.QLabel):
    """A plain-text, one-line ``QLabel`` drawn elided at its right end when too narrow.

    ``text()`` stays the whole text; :meth:`shown_text` is what is drawn. While the text
    is elided the tooltip starts with the whole text, followed by the label's own tooltip.
    ``mode`` elides elsewhere: ``ElideMiddle`` keeps both ends of a long file name.
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

    def shown_text(self) -> str:
        """The text as drawn at the label's present width."""
        width = self.contentsRect().width()
        return self.fontMetrics().elidedText(self.text(), self._mode, width)

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
