"""What every Insight window does alike: it follows the result on screen and stops its
jobs when the main window closes.

A subclass builds its widgets in ``_build`` and draws a result in ``_on_result``; it
sets up its own fields and job runners, then calls :meth:`InsightDialog._follow_result`.
"""

from __future__ import annotations

from qtpy import QtWidgets

from ...core import Result
from ..runner import JobRunner
from ..state import AppState
from ..support.screen import resize_within_screen

__all__ = ["InsightDialog"]


class InsightDialog(QtWidgets.QDialog):
    """An Insight window over ``state``'s result, named ``name`` (for tests and settings).

    Parameters
    ----------
    state : AppState
        The result on screen.
    name, title : str
        The object name and the window title.
    parent : QWidget, optional
        The main window.
    """

    def __init__(
        self, state: AppState, name: str, title: str, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.setObjectName(name)
        self.setWindowTitle(title)

    def _follow_result(self, width: int, height: int) -> None:
        """Build the widgets, show the result on screen and every new one; ``width × height``
        (or less, on a screen too small for it)."""
        self._build()
        self.state.resultChanged.connect(self._on_result)
        self._on_result(self.state.result)
        resize_within_screen(self, width, height)

    def _close_button(self, tip: str) -> QtWidgets.QPushButton:
        """A "Close" button that closes this window; ``tip`` is its tooltip."""
        close = QtWidgets.QPushButton("Close")
        close.setToolTip(tip)
        close.clicked.connect(self.close)  # type: ignore[arg-type]  # close()'s bool is unused
        return close

    def _build(self) -> None:
        raise NotImplementedError

    def _on_result(self, result: Result | None) -> None:
        raise NotImplementedError

    def shutdown(self) -> None:
        """Stop every job of this window (the main window is closing)."""
        for runner in self.findChildren(JobRunner):
            runner.shutdown()
