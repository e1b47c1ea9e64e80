"""Loading images off the GUI thread, with progress, cancel, and the newest load winning.

Decoding and shrinking an 8000×8000 photo takes seconds; done in the GUI thread it froze
the window (no repaint, no timer) for all of it. :class:`ImageLoader` runs every load
through one :class:`~deconv_gui.gui.runner.JobRunner` of its own (so a load never waits
behind a long solve): the status bar says what it does, a progress dialog with a Cancel
button appears when a load takes longer than :data:`DIALOG_DELAY_MS`, and a load the
user replaced by another (a sample picked meanwhile, another file dropped) is dropped
when it finishes. Small loads (samples, pasted pixels) run the same job in the GUI
thread (:meth:`ImageLoader.run_now`), which supersedes a running load the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from qtpy import QtCore, QtWidgets

from ..runner import Job, JobRunner, Priority
from ..state import AppState
from ..support.qthelp import make_timer

__all__ = ["DIALOG_DELAY_MS", "ImageLoader"]

#: A load still running after this many milliseconds shows the progress dialog.
DIALOG_DELAY_MS = 500


class ImageLoader(QtCore.QObject):
    """Runs image-loading jobs; only the newest one reports.

    Parameters
    ----------
    state : AppState
        Its ``loading`` flag is set while a load runs; failures are told through it.
    parent : QWidget
        The parent of the progress dialog.

    Signals
    -------
    statusChanged(str)
        One line about the running load (for the status bar); "" when it ended.
    finished(bool)
        The newest load ended: True when its image (or session) was taken.
    """

    statusChanged = QtCore.Signal(str)
    finished = QtCore.Signal(bool)

    def __init__(self, state: AppState, parent: QtWidgets.QWidget) -> None:
        super().__init__(parent)
        self._state = state
        self._parent = parent
        self.runner = JobRunner(self, progress_interval=0.1, priority=Priority.LOAD)
        self.runner.resultReady.connect(self._on_result)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_cancelled)
        self.runner.progress.connect(self._on_progress)
        self._label = ""
        self._failure = ""
        self._done: Callable[[Any], bool | None] = lambda _value: True
        #: True/False: how the newest load ended; None while it runs (or before any)
        self.outcome: bool | None = None
        self._dialog: QtWidgets.QProgressDialog | None = None
        self._delay = make_timer(self, DIALOG_DELAY_MS, single_shot=True)
        self._delay.timeout.connect(self._show_dialog)
        self._delivering = False
        self._stage = "reading"
        # an image set elsewhere (undo, redo) makes the running load stale
        state.imageChanged.connect(self._on_image_changed)

    @property
    def busy(self) -> bool:
        """True while a load runs in the background."""
        return self.runner.busy

    def start(self, label: str, job: Job, done: Callable[[Any], bool | None], failure: str) -> int:
        """Run ``job(cancel, progress)`` off the GUI thread; returns the request id.

        ``label`` names what loads ("big.png"); ``done(value)`` takes the job's value in
        the GUI thread and may return False when it refuses it; a failure is shown as
        ``"<failure>: <reason>"``. The job's ``progress`` takes ``(fraction, stage)``.
        """
        self._prepare(label, done, failure)
        self._state.set_loading(True)
        self.statusChanged.emit(f"loading {label}…")
        rid = self.runner.submit(job)
        self._delay.start()
        return rid

    def run_now(
        self, label: str, job: Job, done: Callable[[Any], bool | None], failure: str
    ) -> bool:
        """Run ``job`` in the GUI thread (small loads), like :meth:`start` otherwise.

        Returns :attr:`outcome`: True when ``done`` took the value.
        """
        self._prepare(label, done, failure)
        self.runner.run_now(job)
        return bool(self.outcome)

    def cancel(self) -> None:
        """Stop the running load (the current image stays).

        Decoding is one step: the load stops after it, but the dialog closes at once.
        """
        self.runner.cancel()
        if self.busy:
            self._delay.stop()
            self._close_dialog()
            self.statusChanged.emit(f"cancelling the load of {self._label}…")

    def wait(self, msecs: int = 120_000) -> bool:
        """Keep the event loop running until the newest load ended; returns :attr:`outcome`.

        For the command line (``--screenshot`` needs the image before it can picture
        it) and tests; the window itself never waits.
        """
        if self.busy:
            loop = QtCore.QEventLoop()
            self.finished.connect(loop.quit)
            QtCore.QTimer.singleShot(msecs, loop.quit)
            loop.exec()
            self.finished.disconnect(loop.quit)
        return bool(self.outcome)

    def shutdown(self) -> None:
        """Cancel and wait for the running load; nothing is reported afterwards."""
        self._delay.stop()
        self._close_dialog()
        self.runner.shutdown()

    # -- reports ------------------------------------------------------------------------------
    def _prepare(self, label: str, done: Callable[[Any], bool | None], failure: str) -> None:
        self._label, self._done, self._failure = label, done, failure
        self._stage = "reading"
        self.outcome = None

    def _end(self, outcome: bool) -> None:
        self._delay.stop()
        self._close_dialog()
        self._state.set_loading(False)
        self.outcome = outcome
        self.statusChanged.emit("")
        self.finished.emit(outcome)

    def _on_result(self, _rid: int, value: object) -> None:
        self._close_dialog()
        self._state.set_loading(False)  # before done(): the image it sets starts a computation
        self._delivering = True
        try:
            taken = self._done(value)
        finally:
            self._delivering = False
        self._end(taken is not False)

    def _on_image_changed(self, _image: object) -> None:
        if self.busy and not self._delivering:  # drop the running load, silently
            self._prepare(self._label, lambda _value: None, self._failure)
            self.runner.run_now(lambda _cancel, _progress: None)

    def _on_failed(self, _rid: int, message: str) -> None:
        self._end(False)
        self._state.notify(f"{self._failure}: {message}")

    def _on_cancelled(self, _rid: int) -> None:
        self._end(False)
        self._state.notify(
            f"Loading {self._label} was cancelled; the image is unchanged.", error=False
        )

    def _on_progress(self, _rid: int, value: object) -> None:
        fraction, stage = cast("tuple[float, str]", value)
        percent = round(100 * float(fraction))
        done = "" if stage == "reading" else f" ({percent} %)"  # decoding is one step
        self.statusChanged.emit(f"loading {self._label}: {stage}…{done}")
        self._stage = str(stage)
        if self._dialog is not None:
            self._show_stage(self._dialog, percent)

    # -- the dialog ---------------------------------------------------------------------------
    def _show_dialog(self) -> None:
        if not self.busy or self._dialog is not None:
            return
        dialog = QtWidgets.QProgressDialog(
            f"Loading {self._label}…", "Cancel", 0, 100, self._parent
        )
        dialog.setObjectName("loadProgress")
        dialog.setWindowTitle("Loading image")
        dialog.setWindowModality(
            QtCore.Qt.WindowModality.NonModal
        )  # the window stays usable meanwhile
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setMinimumDuration(0)
        dialog.setMinimumWidth(380)  # the title and a long file name fit
        dialog.canceled.connect(self.cancel)
        self._show_stage(dialog, 0)
        dialog.show()
        self._dialog = dialog

    def _show_stage(self, dialog: QtWidgets.QProgressDialog, percent: int) -> None:
        dialog.setLabelText(f"Loading {self._label}: {self._stage}…")
        if self._stage == "reading":  # one step of unknown length: a busy bar
            dialog.setRange(0, 0)
        else:
            dialog.setRange(0, 100)
            dialog.setValue(percent)

    def _close_dialog(self) -> None:
        dialog, self._dialog = self._dialog, None
        if dialog is not None:
            dialog.canceled.disconnect(self.cancel)
            dialog.close()
            dialog.deleteLater()

    @property
    def dialog(self) -> QtWidgets.QProgressDialog | None:
        """The progress dialog while it is shown (for tests)."""
        return self._dialog
