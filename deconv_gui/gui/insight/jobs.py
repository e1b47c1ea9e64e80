"""Background jobs for the insight views: one QThreadPool thread, newest request wins.

Each :meth:`JobRunner.submit` runs ``function(cancel, progress)`` in a pool thread
with a fresh ``threading.Event``; submitting again cancels the previous job, and any
result, progress or error of an older request is dropped, so the GUI only ever sees
the newest one. :meth:`JobRunner.shutdown` cancels and waits: call it before the
widgets that listen go away.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PyQt5 import QtCore

from ...core import SolveCancelled

__all__ = ["JobRunner"]

Job = Callable[[threading.Event, Callable[[float], None]], Any]


class _Signals(QtCore.QObject):
    finished = QtCore.pyqtSignal(int, object)
    failed = QtCore.pyqtSignal(int, str)
    progress = QtCore.pyqtSignal(int, float)


class _Runnable(QtCore.QRunnable):
    def __init__(self, rid: int, job: Job, cancel: threading.Event, signals: _Signals) -> None:
        super().__init__()
        self.rid, self.job, self.cancel, self.signals = rid, job, cancel, signals

    def run(self) -> None:  # pool thread
        try:
            if self.cancel.is_set():
                return
            value = self.job(self.cancel, lambda f: self.signals.progress.emit(self.rid, float(f)))
        except SolveCancelled:
            return
        except ValueError as exc:
            self.signals.failed.emit(self.rid, str(exc))
        except Exception as exc:  # never lose a worker exception
            detail = traceback.format_exc(limit=3)
            self.signals.failed.emit(self.rid, f"{type(exc).__name__}: {exc}\n{detail}")
        else:
            if not self.cancel.is_set():
                self.signals.finished.emit(self.rid, value)


class JobRunner(QtCore.QObject):
    """Runs one kind of job off the GUI thread; only the newest request reports back.

    Signals
    -------
    finished(int, object)
        Request id and the job's return value.
    failed(int, str)
        Request id and a message (a ``ValueError``'s text, or a short traceback).
    progress(int, float)
        Request id and whatever the job passed to its ``progress`` callback.
    """

    finished = QtCore.pyqtSignal(int, object)
    failed = QtCore.pyqtSignal(int, str)
    progress = QtCore.pyqtSignal(int, float)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QtCore.QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.finished.connect(self._on_finished)
        self._signals.failed.connect(self._on_failed)
        self._signals.progress.connect(self._on_progress)
        self._latest = 0
        self._cancel: threading.Event | None = None
        self._running = False
        self._closed = False

    @property
    def busy(self) -> bool:
        """True while the newest job has not reported back."""
        return self._running

    @property
    def latest_id(self) -> int:
        """The id of the newest request (0 before the first)."""
        return self._latest

    def submit(self, job: Job) -> int:
        """Run ``job(cancel_event, progress)`` in the pool; cancels the previous job."""
        self.cancel()
        if self._closed:
            return self._latest
        self._latest += 1
        self._cancel = threading.Event()
        self._running = True
        self._pool.start(_Runnable(self._latest, job, self._cancel, self._signals))
        return self._latest

    def cancel(self) -> None:
        """Ask the running job to stop; nothing more is reported for it."""
        if self._cancel is not None:
            self._cancel.set()
        self._running = False

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until the pool is idle (tests and shutdown)."""
        return self._pool.waitForDone(msecs)

    def shutdown(self) -> None:
        """Cancel, refuse new jobs and wait for the running one."""
        self._closed = True
        self.cancel()
        self.wait(10_000)

    def _on_finished(self, rid: int, value: object) -> None:
        if rid == self._latest and not self._closed:
            self._running = False
            self.finished.emit(rid, value)

    def _on_failed(self, rid: int, message: str) -> None:
        if rid == self._latest and not self._closed:
            self._running = False
            self.failed.emit(rid, message)

    def _on_progress(self, rid: int, value: float) -> None:
        if rid == self._latest and not self._closed:
            self.progress.emit(rid, value)
