"""What every Insight window does alike: it follows the result on screen while it is
shown, and stops its jobs when it or the main window closes.

A subclass builds its widgets in ``_build`` and draws a result in ``_on_result``; it
sets up its own fields and job runners, then calls :meth:`InsightDialog._follow_result`.
A subclass that skips work for a result it has already started on forgets that in
``_forget``: a job stopped by closing the window never reports.
"""

from __future__ import annotations

from qtpy import QtGui, QtWidgets

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
        #: a result came (or a job was cancelled) while hidden: catch up when shown again
        self._behind = False

    def _follow_result(self, width: int, height: int) -> None:
        """Build the widgets, show the result on screen and every new one; ``width × height``
        (or less, on a screen too small for it)."""
        self._build()
        self.state.resultChanged.connect(self._on_result_if_shown)
        self._on_result(self.state.result)
        resize_within_screen(self, width, height)

    def _on_result_if_shown(self, result: Result | None) -> None:
        # a closed window (kept for reopening) would otherwise recompute its SVDs and maps
        # on every edit, taking cores from the live panels
        if self.isVisible():
            self._on_result(result)
        else:
            self._behind = True

    def showEvent(self, event: QtGui.QShowEvent | None) -> None:
        super().showEvent(event)
        if self._behind:
            self._behind = False
            self._on_result(self.state.result)

    def closeEvent(self, event: QtGui.QCloseEvent | None) -> None:
        busy = [runner for runner in self.findChildren(JobRunner) if runner.busy]
        if busy:
            self._forget()  # before the drop: a subclass may ask which of its runners is busy
            for runner in busy:
                runner.drop()  # what it would report is dropped like a stale request's
            self._behind = True  # start it again when shown
        super().closeEvent(event)

    def _forget(self) -> None:
        """Forget the results whose jobs closing the window stops (a subclass's keys that
        mark them as started); called while those runners still say they are busy."""

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
