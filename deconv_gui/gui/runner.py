"""Runs jobs off the GUI thread; the newest request wins.

Each :meth:`JobRunner.submit` gets a request id and a fresh ``threading.Event``;
submitting again sets the previous event, so a running job stops at its next check
(the core's solvers check between iterations and raise
:class:`~deconv_gui.core.SolveCancelled`). Results, progress and errors travel back to
the GUI thread as queued signals that carry the request id; anything from an older
request is dropped here, so the listeners only ever see the newest one. After
:meth:`JobRunner.shutdown` nothing is started and nothing more is reported.

The window's live computation has its own kind of runner
(:class:`~deconv_gui.gui.pipeline_runner.PipelineRunner`).

Every runner starts its jobs on the application's one pool
(:func:`~deconv_gui.gui.jobpool.app_pool`), by :class:`~deconv_gui.gui.jobpool.Priority`:
the live pipeline and image loads first, then the Insight jobs, then exports and the
second metrics pass; background jobs never take the pool's last thread.

Why not superqt's ``thread_worker``: it starts every worker on Qt's global thread pool
(after a timer tick when an event loop runs), so jobs could neither be kept to one
thread on a shared machine nor be waited for alone at shutdown, and its cancellation
is a generator's ``quit()`` where the core checks a ``threading.Event``.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qtpy import QtCore

from ..core import SolveCancelled
from .jobpool import POOL_THREADS, JobPool, PoolRunnable, Priority, app_pool

__all__ = [
    "POOL_THREADS",
    "Job",
    "JobPool",
    "JobRunner",
    "Partial",
    "Priority",
    "app_pool",
]

#: ``job(cancel, progress)``: check ``cancel`` (a ``threading.Event``) between steps and
#: pass anything to ``progress``; the return value is reported by ``resultReady``.
Job = Callable[[threading.Event, Callable[[object], None]], Any]


@dataclass(frozen=True)
class Partial:
    """What a job passes to ``progress`` to report a partial result: never throttled,
    reported by :attr:`JobRunner.partialReady` (the pipeline's cheap panels first)."""

    value: Any


class _Signals(QtCore.QObject):
    """Lives in the GUI thread; the pool thread emits, Qt queues the calls."""

    finished = QtCore.Signal(int, object)
    failed = QtCore.Signal(int, str)
    progress = QtCore.Signal(int, object)
    cancelled = QtCore.Signal(int)


class _Runnable(PoolRunnable):
    def __init__(
        self,
        rid: int,
        job: Job,
        cancel: threading.Event,
        signals: _Signals,
        progress_interval: float,
    ) -> None:
        super().__init__()
        self.rid, self.job, self.cancel, self.signals = rid, job, cancel, signals
        self.progress_interval = progress_interval
        self._last_progress = 0.0
        self._phase: object = None
        #: called at the very end of :meth:`run`, in its thread (the runner counts its jobs)
        self.on_finished: Callable[[], None] | None = None

    def _progress(self, value: object) -> None:
        # A tuple names its phase in its last item (the pipeline: which method iterates).
        # A new phase always gets through the throttle, so that a fast second solver is
        # still named, however soon after the first one's last report it starts.
        phase = value[-1] if isinstance(value, tuple) and value else None
        now = time.perf_counter()
        if isinstance(value, Partial):  # a result, not a figure: never dropped
            self.signals.progress.emit(self.rid, value)
        elif now - self._last_progress >= self.progress_interval or phase != self._phase:
            self._last_progress, self._phase = now, phase
            self.signals.progress.emit(self.rid, value)

    def run(self) -> None:  # runs in a pool thread
        try:
            self._run()
        finally:
            for done in (self.on_finished, self.on_done):
                if done is not None:
                    done()

    def _run(self) -> None:
        rid, signals = self.rid, self.signals
        try:
            if self.cancel.is_set():
                signals.cancelled.emit(rid)
                return
            value = self.job(self.cancel, self._progress)
        except SolveCancelled:
            signals.cancelled.emit(rid)
        except ValueError as exc:
            signals.failed.emit(rid, str(exc))
        except MemoryError:
            signals.failed.emit(rid, "out of memory: try a smaller work size")
        except Exception as exc:  # never let a worker exception vanish or kill the app
            detail = traceback.format_exc(limit=4)
            signals.failed.emit(rid, f"{type(exc).__name__}: {exc}\n{detail}")
        else:
            if self.cancel.is_set():  # asked to stop while it finished: nothing to show
                signals.cancelled.emit(rid)
            else:
                signals.finished.emit(rid, value)


class _Jobs:
    """One runner's jobs in the shared pool: counted, so that it waits for its own only."""

    def __init__(self, pool: JobPool) -> None:
        self.pool = pool
        self.running = 0
        self.idle = threading.Condition()
        self.queued: _Runnable | None = None  # the newest job, until it is taken back

    def started(self, runnable: _Runnable) -> None:
        runnable.on_finished = self.returned
        self.queued = runnable
        with self.idle:
            self.running += 1

    def returned(self) -> None:  # in the pool thread, as the job ends
        with self.idle:
            self.running -= 1
            self.idle.notify_all()

    def take_queued(self) -> _Runnable | None:
        """The newest job if it still waited for a thread (it will not run now), else None."""
        queued, self.queued = self.queued, None
        if queued is None or not self.pool.take(queued):
            return None
        self.returned()
        return queued

    def wait(self, seconds: float) -> bool:
        with self.idle:
            return self.idle.wait_for(lambda: self.running == 0, seconds)

    def close(self) -> None:
        """Drop the job still waiting for a thread, and wait for the running ones."""
        self.take_queued()
        self.wait(10.0)


class JobRunner(QtCore.QObject):
    """Runs one kind of job off the GUI thread; only the newest request reports back.

    Parameters
    ----------
    parent : QObject, optional
        The Qt parent.
    hold_busy : bool
        Stay busy after :attr:`resultReady` until :meth:`release` is called with the
        request id (the window draws a result over several event-loop passes, and
        "not busy" then means "the newest result is on screen").
    progress_interval : float
        Seconds between two :attr:`progress` signals (a solver may iterate faster than
        the screen needs); 0 reports every call. A tuple value whose last item (its
        phase) differs from the last report's is always reported.
    pool : JobPool, optional
        Where the jobs run (default: the application's one pool, :func:`app_pool`).
    priority : int
        The jobs' :class:`Priority` in the pool: among queued jobs, higher runs first.

    Signals
    -------
    resultReady(int, object)
        Request id and the job's return value.
    failed(int, str)
        Request id and a message (a ``ValueError``'s text, or a short traceback).
    progress(int, object)
        Request id and whatever the job passed to its ``progress`` callback.
    partialReady(int, object)
        Request id and the value of a :class:`Partial` the job passed to ``progress``.
    cancelled(int)
        The newest request was cancelled (an older one is dropped silently).
    busyChanged(bool)
        True while the newest request is running (or, with ``hold_busy``, not released).
    """

    resultReady = QtCore.Signal(int, object)
    failed = QtCore.Signal(int, str)
    progress = QtCore.Signal(int, object)
    partialReady = QtCore.Signal(int, object)
    cancelled = QtCore.Signal(int)
    busyChanged = QtCore.Signal(bool)

    def __init__(
        self,
        parent: QtCore.QObject | None = None,
        *,
        hold_busy: bool = False,
        progress_interval: float = 0.0,
        pool: JobPool | None = None,
        priority: int = Priority.BACKGROUND,
    ) -> None:
        super().__init__(parent)
        self._hold_busy = bool(hold_busy)
        self._progress_interval = float(progress_interval)
        self._priority = int(priority)
        self.pool = app_pool() if pool is None else pool
        #: this runner's jobs in the shared pool (wait() waits for these only)
        self._jobs = _Jobs(self.pool)
        # owned by the runner (GUI thread); shutdown() waits for the jobs that emit on it
        self._signals = _Signals(self)
        # a runner deleted without shutdown() (its window or dialog went away) still waits
        # for its jobs before its signals object goes: they emit on it from the pool
        jobs = self._jobs
        self.destroyed.connect(lambda *_args: jobs.close())
        self._signals.finished.connect(self._on_finished)
        self._signals.failed.connect(self._on_failed)
        self._signals.progress.connect(self._on_progress)
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
        """True while the newest request has not reported back (or is not released)."""
        return self._busy

    def submit(self, job: Job) -> int:
        """Run ``job(cancel_event, progress)`` in the pool; cancels the previous request.

        After :meth:`shutdown` nothing is started and the id of the last request is returned.
        """
        cancel = self._next_request()
        if cancel is None:
            return self._latest
        runnable = _Runnable(self._latest, job, cancel, self._signals, self._progress_interval)
        self._jobs.started(runnable)
        self.pool.start(runnable, self._priority)
        self._set_busy(True)
        return self._latest

    def run_now(self, job: Job) -> int:
        """Run ``job`` in the calling thread as the newest request, for work too small to
        send to a thread; it reports (in this thread) before this returns.

        Like :meth:`submit`, it cancels the previous request, whose result is dropped.
        """
        cancel = self._next_request()
        if cancel is None:
            return self._latest
        self._set_busy(True)
        _Runnable(self._latest, job, cancel, self._signals, 0.0).run()
        return self._latest

    def _next_request(self) -> threading.Event | None:
        """Cancel the previous request and number a new one; its cancel event, or None
        after :meth:`shutdown`."""
        self.cancel()
        if self._closed:
            return None
        self._latest += 1
        self._cancel = threading.Event()
        return self._cancel

    def cancel(self) -> None:
        """Ask the running request to stop (it reports :attr:`cancelled`).

        A job still waiting for a thread is dropped before it starts.
        """
        if self._cancel is not None:
            self._cancel.set()
        queued = self._jobs.take_queued()
        if queued is not None:
            self._signals.cancelled.emit(queued.rid)

    def drop(self) -> None:
        """Cancel the newest request and forget it: what it reports later (a result, a
        failure, its cancel) is dropped like a stale request's, and :attr:`busy` clears
        now. For a request that something else has replaced (settings found invalid)."""
        self.cancel()
        self._latest += 1  # no job has this id: the dropped one's reports are stale
        self._cancel = None
        self._set_busy(False)

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until this runner's jobs have returned (for shutdown and tests).

        Other runners' jobs in the shared pool are not waited for.
        """
        return self._jobs.wait(msecs / 1000)

    def shutdown(self) -> None:
        """Cancel, refuse new requests, and wait: call before the listeners go away.

        Signals the finished job queued before it stopped are dropped, so nothing is
        reported to widgets that are being closed or deleted.
        """
        self._closed = True
        self.cancel()
        self.wait(10_000)

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

    def _current(self, rid: int) -> bool:
        return rid == self._latest and not self._closed

    def _on_progress(self, rid: int, value: object) -> None:
        if not self._current(rid):
            return
        if isinstance(value, Partial):
            self.partialReady.emit(rid, value.value)
        else:
            self.progress.emit(rid, value)

    def _on_finished(self, rid: int, value: object) -> None:
        if not self._current(rid):  # stale, or the listeners are going away
            self.dropped += 1
            return
        if not self._hold_busy:
            self._set_busy(False)
        self.resultReady.emit(rid, value)

    def _on_failed(self, rid: int, message: str) -> None:
        if self._current(rid):
            self._set_busy(False)
            self.failed.emit(rid, message)

    def _on_cancelled(self, rid: int) -> None:
        if self._current(rid):
            self._set_busy(False)
            self.cancelled.emit(rid)
