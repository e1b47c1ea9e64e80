"""The bar above the panels that shows an error or a notice for a while."""

from __future__ import annotations

from qtpy import QtCore, QtGui, QtWidgets

from ..support.elided import ElidedLabel
from ..support.qthelp import make_timer, nonnull

__all__ = ["MESSAGE_MS", "MessageBar"]

#: How long a message stays in the bar (milliseconds).
MESSAGE_MS = 12_000


class MessageBar(ElidedLabel):
    """One line of text, coloured by level (style sheet ``level`` property); click to dismiss.

    The line is elided where too long (the whole message in the tooltip), so the bar is
    always one line tall. While :meth:`reserve` is on, a hidden bar keeps its place: the
    panels below do not move each time a computation says "Computing…" and is done (a
    click aimed at a control would land elsewhere).
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName("messageBar")
        # a long path is elided, never widens the window; the height is one line's
        policy = QtWidgets.QSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed
        )
        self.setSizePolicy(policy)
        self.setVisible(False)
        self.setToolTip("Click to dismiss")
        # a child timer dies with the bar: never fires on a deleted widget
        self._timer = make_timer(self, MESSAGE_MS, single_shot=True)
        self._timer.timeout.connect(self.dismiss)

    def sizeHint(self) -> QtCore.QSize:
        # one line's height whatever the text (none while hidden), as the style sheet pads it
        shown = self.text()
        hint = super().sizeHint() if shown else self._hint_of("X")
        return QtCore.QSize(hint.width(), self._hint_of("X").height())

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(0, self.sizeHint().height())

    def _hint_of(self, text: str) -> QtCore.QSize:
        probe = QtWidgets.QLabel(text)
        probe.setObjectName("messageBar")
        probe.setStyleSheet(self.styleSheet())
        probe.setFont(self.font())
        probe.ensurePolished()
        return probe.sizeHint()

    def reserve(self, on: bool) -> None:
        """Keep the bar's height (``True``) even while no message shows, or not."""
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(on)
        self.setSizePolicy(policy)

    def reserved(self) -> bool:
        """Whether a hidden bar keeps its height (:meth:`reserve`)."""
        return self.sizePolicy().retainSizeWhenHidden()

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
        self.setText(text.splitlines()[0])
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

    def current_tooltip(self) -> str:
        return self.toolTip()  # the whole message already
