"""The bar above the panels that shows an error or a notice for a while."""

from __future__ import annotations

from qtpy import QtGui, QtWidgets

from ..support.qthelp import make_timer, nonnull

__all__ = ["MESSAGE_MS", "MessageBar"]

#: How long a message stays in the bar (milliseconds).
MESSAGE_MS = 12_000


class MessageBar(QtWidgets.QLabel):
    """One line of text, coloured by level (style sheet ``level`` property); click to dismiss."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setWordWrap(True)
        # a long path (no space to wrap at) is clipped, never widens the window
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        self.setVisible(False)
        self.setToolTip("Click to dismiss")
        # a child timer dies with the bar: never fires on a deleted widget
        self._timer = make_timer(self, MESSAGE_MS, single_shot=True)
        self._timer.timeout.connect(self.dismiss)

    def show_text(self, text: str, error: bool = True) -> None:
        """Show the first line of ``text`` (all of it in the tooltip) for a while; no
        text hides the bar (a message taken back)."""
        if not text:
            self.dismiss()
            return
        self.setProperty("level", "error" if error else "info")
        style = nonnull(self.style())
        style.unpolish(self)
        style.polish(self)
        self.setText(text.splitlines()[0] if text else "")
        self.setToolTip(text + "\n\n(click to dismiss)")
        self.setVisible(True)
        self._timer.start()

    def dismiss(self) -> None:
        """Hide the bar."""
        self.setVisible(False)

    def stop(self) -> None:
        """Stop the timer (the window is closing)."""
        self._timer.stop()

    def mousePressEvent(self, event: QtGui.QMouseEvent | None) -> None:
        self.dismiss()
