"""Runs :func:`~deconv_gui.core.run_pipeline` off the GUI thread, newest request wins.

Each :meth:`PipelineRunner.submit` gets a request id and a fresh ``threading.Event``;
submitting again sets the previous event, so a running solve stops at its next
iteration (the core raises :class:`~deconv_gui.core.SolveCancelled`). Results,
progress and errors travel back to the GUI thread as queued signals that carry the
request id; anything from an older request is dropped here, so the window only ever
sees the newest one.

The window's process keeps the BLAS library (OpenBLAS) at one thread per calling
thread (:func:`limit_blas_threads`): the convolution already splits its work over its
own threads, and OpenBLAS's extra threads spin between calls, so on a 2-core machine
they took the GUI thread's core and froze the event loop for 60–130 ms at a time.
"""

from __future__ import annotations

import threading
import time
import traceback

import numpy as np
from PyQt5 import QtCore

from ..core import Params, SolveCancelled, run_pipeline

__all__ = ["PipelineRunner", "limit_blas_threads"]

_PROGRESS_INTERVAL = 0.05  # seconds between progress signals (the solver may iterate faster)


def limit_blas_threads(threads: int = 1) -> int:
    """Set every loaded BLAS library (numpy's, scipy's) to ``threads`` threads.

    Parameters
    ----------
    threads : int
        Threads each BLAS call may use (1: the calling thread only).

    Returns
    -------
    int
        The number of BLAS libraries changed (0 where none is loaded).

    Notes
    -----
    Uses threadpoolctl, which knows the symbol names of every BLAS build numpy and
    scipy ship. The setting is process-wide and kept for the process's life, so only
    the window calls it (headless commands and benchmarks keep their BLAS threads).
    """
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads!r}")
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(limits=int(threads), user_api="blas")
    return sum(1 for info in threadpool_info() if info["user_api"] == "blas")


class _Signals(QtCore.QObject):
    """Lives in the GUI thread; the worker thread emits, Qt queues the calls."""

    progress = QtCore.pyqtSignal(int, int, float)
    finished = QtCore.pyqtSignal(int, object)
    failed = QtCore.pyqtSignal(int, str)
    cancelled = QtCore.pyqtSignal(int)


class _Job(QtCore.QRunnable):
    def __init__(
        self,
        request_id: int,
        image: np.ndarray,
        params: Params,
        cancel: threading.Event,
        signals: _Signals,
    ) -> None:
        super().__init__()
        self.request_id = request_id
        self.image = image
        self.params = params
        self.cancel = cancel
        self.signals = signals
        self._last_progress = 0.0

    def _progress(self, iteration: int, residual: float) -> None:
        now = time.perf_counter()
        if now - self._last_progress >= _PROGRESS_INTERVAL:
            self._last_progress = now
            self.signals.progress.emit(self.request_id, int(iteration), float(residual))

    def run(self) -> None:  # runs in a pool thread
        rid = self.request_id
        try:
            if self.cancel.is_set():
                self.signals.cancelled.emit(rid)
                return
            result = run_pipeline(
                self.image, self.params, progress=self._progress, cancel=self.cancel
            )
        except SolveCancelled:
            self.signals.cancelled.emit(rid)
        except ValueError as exc:
            self.signals.failed.emit(rid, str(exc))
        except MemoryError:
            self.signals.failed.emit(rid, "out of memory: try a smaller work size")
        except Exception as exc:  # never let a worker exception vanish or kill the app
            detail = traceback.format_exc(limit=4)
            self.signals.failed.emit(rid, f"{type(exc).__name__}: {exc}\n{detail}")
        else:
            self.signals.finished.emit(rid, result)


class PipelineRunner(QtCore.QObject):
    """Submits pipeline runs to a one-thread pool; only the newest request reports back.

    Parameters
    ----------
    parent : QObject, optional
        The Qt parent.
    hold_busy : bool
        Stay busy after :attr:`resultReady` until :meth:`release` is called with the
        request id (the window draws a result over several event-loop passes, and
        "not busy" then means "the newest result is on screen").

    Signals
    -------
    resultReady(int, object)
        Request id and its :class:`~deconv_gui.core.Result`.
    failed(int, str)
        Request id and a one-line (or traceback) message.
    progress(int, int, float)
        Request id, solver iteration and relative residual.
    cancelled(int)
        The newest request was cancelled (an older one is dropped silently).
    busyChanged(bool)
        True while the newest request is running (or, with ``hold_busy``, not released).
    """

    resultReady = QtCore.pyqtSignal(int, object)
    failed = QtCore.pyqtSignal(int, str)
    progress = QtCore.pyqtSignal(int, int, float)
    cancelled = QtCore.pyqtSignal(int)
    busyChanged = QtCore.pyqtSignal(bool)

    def __init__(self, parent: QtCore.QObject | None = None, *, hold_busy: bool = False) -> None:
        super().__init__(parent)
        self._hold_busy = bool(hold_busy)
        self._pool = QtCore.QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # one solve at a time: the machine is shared
        limit_blas_threads(1)  # spinning BLAS threads starved the GUI thread (module doc)
        # owned by the runner (GUI thread); shutdown() waits for the jobs that emit on it
        self._signals = _Signals(self)
        self._signals.progress.connect(self._on_progress)
        self._signals.finished.connect(self._on_finished)
        self._signals.failed.connect(self._on_failed)
        self._signals.cancelled.connect(self._on_cancelled)
        self._latest = 0
        self._cancel: threading.Event | None = None
        self._busy = False
        self._closed = False
        self.dropped = 0  # stale results thrown away (for tests and benchmarks)

    @property
    def latest_id(self) -> int:
        """The id of the newest request (0 before the first)."""
        return self._latest

    @property
    def busy(self) -> bool:
        """True while the newest request has not reported back."""
        return self._busy

    def submit(self, image: np.ndarray, params: Params) -> int:
        """Start computing ``params`` on ``image``; cancels the previous request.

        After :meth:`shutdown` nothing is started and the id of the last request is returned.
        """
        self.cancel()
        if self._closed:
            return self._latest
        self._latest += 1
        self._cancel = threading.Event()
        job = _Job(self._latest, image, params, self._cancel, self._signals)
        self._pool.start(job)
        self._set_busy(True)
        return self._latest

    def cancel(self) -> None:
        """Ask the running request to stop (it reports :attr:`cancelled`)."""
        if self._cancel is not None:
            self._cancel.set()

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until the pool is idle (for shutdown and tests)."""
        return self._pool.waitForDone(msecs)

    def shutdown(self) -> None:
        """Cancel, refuse new requests, and wait: call before the window goes away.

        Signals the finished job queued before it stopped are dropped, so nothing is
        drawn into a window that is being closed or deleted.
        """
        self._closed = True
        self.cancel()
        self.wait(5_000)

    def release(self, request_id: int) -> None:
        """The result of ``request_id`` has been dealt with (only with ``hold_busy``).

        Clears :attr:`busy` if it is the newest request; older ids are ignored.
        """
        if request_id == self._latest:
            self._set_busy(False)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)

    def _on_progress(self, rid: int, iteration: int, residual: float) -> None:
        if rid == self._latest and not self._closed:
            self.progress.emit(rid, iteration, residual)

    def _on_finished(self, rid: int, result: object) -> None:
        if rid != self._latest or self._closed:  # stale, or the window is closing
            self.dropped += 1
            return
        if not self._hold_busy:
            self._set_busy(False)
        self.resultReady.emit(rid, result)

    def _on_failed(self, rid: int, message: str) -> None:
        if rid != self._latest or self._closed:
            return
        self._set_busy(False)
        self.failed.emit(rid, message)

    def _on_cancelled(self, rid: int) -> None:
        if rid != self._latest or self._closed:
            return
        self._set_busy(False)
        self.cancelled.emit(rid)
