"""The solve's progress bar, its final report and the Cancel button (under the options)."""

from __future__ import annotations

import math

from qtpy.QtCore import QObject, Qt, Signal
from qtpy.QtWidgets import QBoxLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton

from ..support.theme import theme_style

__all__ = ["SolveProgress", "short_number"]

_REPORT_OK = "color: {ok};"
_REPORT_WARN = "color: {warn}; font-weight: bold;"


def short_number(value: float) -> str:
    """One significant digit, exponent without padding: ``3e-7``, ``0.5``."""
    text = f"{value:.1g}"
    mantissa, sep, exponent = text.partition("e")
    return f"{mantissa}e{int(exponent)}" if sep else text


class SolveProgress(QObject):
    """Progress bar ("pinv: iteration 12, residual 3e-7"), report line and Cancel.

    The widgets go straight into the owner's layout (:meth:`add_to`): a word-wrapped
    label inside a nested widget was given the height of one line and cut.

    Signals
    -------
    cancelRequested()
        The user pressed Cancel.
    """

    cancelRequested = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setObjectName("progress")
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(True)
        bar_font = self.bar.font()
        bar_font.setPointSizeF(bar_font.pointSizeF() * 0.9)
        self.bar.setFont(bar_font)
        self.bar.setToolTip(
            "Pseudo-inverse solve: iteration and relative residual. The bar shows how far the "
            "residual has fallen towards rtol (log scale) or the iterations used, whichever is "
            "further."
        )
        self.bar_row = QHBoxLayout()
        self.bar_row.setSpacing(4)
        self.report = QLabel()
        self.report.setObjectName("report")
        self.report.setWordWrap(True)
        self.report.setToolTip("What the last pseudo-inverse solve reported.")
        self.cancel = QPushButton("Cancel")
        self.cancel.setObjectName("cancel")
        self.cancel.setToolTip("Stop the running pseudo-inverse solve (a newer edit also does).")
        self.cancel.clicked.connect(self.cancelRequested)
        self.bar_row.addWidget(self.bar, 1)
        self.bar_row.addWidget(self.cancel)
        # the report gets the full width and two lines' height whatever it says: the
        # dock's scrolling column does not follow a wrapped label's growing height, and
        # a longer report squeezed the rows above it
        self.report.setMinimumHeight(2 * self.report.fontMetrics().lineSpacing() + 4)
        top_left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
        self.report.setAlignment(top_left)  # type: ignore[arg-type]  # PyQt5 stubs: flag | flag is int
        self.set_busy(False)
        self._set_bar(0)
        self.bar.setFormat("pinv: idle")

    def add_to(self, layout: QBoxLayout) -> None:
        """Put the bar (with Cancel) and the report below it into ``layout``."""
        layout.addLayout(self.bar_row)
        layout.addWidget(self.report)

    def set_progress(
        self, iteration: int, max_iter: int | None, relative_residual: float, rtol: float
    ) -> None:
        """Show the solve's progress: "pinv: iteration 12, residual 3e-07"."""
        fraction = 0.0
        if max_iter:
            fraction = iteration / max_iter
        if relative_residual > 0 and math.isfinite(relative_residual):
            towards_rtol = math.log10(relative_residual) / math.log10(rtol)
            fraction = max(fraction, towards_rtol)
        self._set_bar(round(1000 * min(max(fraction, 0.0), 1.0)))
        self.bar.setFormat(
            f"pinv: iteration {iteration}, residual {short_number(relative_residual)}"
        )

    def set_prior_progress(self, label: str, iteration: int, limit: int, change: float) -> None:
        """A prior's iterations (the bar: how many of its limit)."""
        self._set_bar(round(1000 * min(max(iteration / max(limit, 1), 0.0), 1.0)))
        self.bar.setFormat(
            f"{label}: iteration {iteration} / {limit}, change {short_number(change)}"
        )

    def show_text(self, text: str) -> None:
        """Show ``text`` in the bar (another job's progress, e.g. choosing reg)."""
        self.bar.setFormat(text)

    def _set_bar(self, value: int) -> None:
        """Move the progress bar without a synchronous repaint.

        ``QProgressBar.setValue`` repaints at once (flushing every pending paint of the
        window, 7-45 ms) whenever the bar visibly moves; with updates disabled around it,
        the bar is only marked dirty and painted with the next event-loop pass.
        """
        if self.bar.value() == value:
            return
        self.bar.setUpdatesEnabled(False)
        self.bar.setValue(value)
        self.bar.setUpdatesEnabled(True)  # schedules an ordinary update()

    def set_busy(self, busy: bool) -> None:
        """A solve is running (Cancel enabled) or not."""
        self.cancel.setEnabled(bool(busy))
        if busy:
            self._set_bar(0)
            self.bar.setFormat("pinv: starting…")
            self.report.clear()

    def set_report(self, text: str, warning: bool | None = None) -> None:
        """Show the solver's final message; orange when it did not converge.

        ``warning=None`` decides from the text ("not converged", "cancelled", "stopped").
        """
        if warning is None:
            lowered = text.lower()
            warning = any(word in lowered for word in ("not converge", "cancel", "stopped"))
        style = _REPORT_WARN if warning else _REPORT_OK
        theme_style(self.report, style)
        if self.report.text() != text:
            self.report.setText(text)
        if not warning and text:
            self._set_bar(1000)
