"""A progress bar and a Cancel button for an Insight window's long computation.

One pattern for the spectrum's singular values and the Fourier view's maps: the job
passes the fraction done (0–1) of the core's slices (see
:func:`~deconv_gui.core.solvers.in_steps`) to its ``progress`` and checks the runner's
cancel event between slices; Cancel stops it there, and the window says that nothing
was computed.
"""

from __future__ import annotations

from collections.abc import Callable

from qtpy import QtWidgets

from ..runner import JobRunner

__all__ = ["JobBar"]


class JobBar(QtWidgets.QWidget):
    """Progress and Cancel for ``runner``'s jobs; ``on_cancelled()`` runs when one stops.

    Parameters
    ----------
    runner : JobRunner
        The window's runner; its ``progress`` values are fractions done (0–1).
    what : str
        What is computed, for the tooltips ("the singular values").
    on_cancelled : callable
        Shows the window's cancelled state (no partial result).
    """

    def __init__(self, runner: JobRunner, what: str, on_cancelled: Callable[[], None]) -> None:
        super().__init__()
        self.runner = runner
        self.fraction = 0.0
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(180)
        self.progress.setToolTip(f"Computing {what} in the background")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip(f"Stop computing {what} (Esc closes the window)")
        self.cancel_button.clicked.connect(runner.cancel)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.progress)
        layout.addWidget(self.cancel_button)
        runner.progress.connect(self._on_progress)
        runner.busyChanged.connect(self._on_busy)
        runner.cancelled.connect(lambda _rid: on_cancelled())
        self.setVisible(False)

    def started(self) -> None:
        """Show an empty bar: call as the job is submitted."""
        self.fraction = 0.0
        self.progress.setValue(0)
        self.setVisible(True)

    def _on_progress(self, _rid: int, value: object) -> None:
        if isinstance(value, float):
            # never backwards: a new job restarts from started()
            self.fraction = max(self.fraction, value)
            self.progress.setValue(round(100 * self.fraction))

    def _on_busy(self, busy: bool) -> None:
        if not busy:
            self.setVisible(False)
