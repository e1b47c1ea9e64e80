"""One thread pool for the whole application, by priority.

Every :class:`~deconv_gui.gui.runner.JobRunner` starts its jobs on the application's
:class:`JobPool` (:func:`app_pool`): one ``QThreadPool`` of :data:`POOL_THREADS` threads.
Jobs of at least :attr:`Priority.LOAD` (the live pipeline, image loads) start at once,
ordered by the pool; background jobs run at most ``threads - 1`` at a time and wait
their turn here, highest priority first, so that a live update never waits for an
animation export or a spectrum to finish.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from enum import IntEnum

from qtpy import QtCore

__all__ = ["POOL_THREADS", "JobPool", "PoolRunnable", "Priority", "app_pool"]


class PoolRunnable(QtCore.QRunnable):
    """A job for the pool; :attr:`on_done` is called in its thread as it ends (the pool's
    bookkeeping of background jobs): subclasses call it last in ``run``."""

    def __init__(self) -> None:
        super().__init__()
        self.on_done: Callable[[], None] | None = None


#: Threads of the application's pool: the live pipeline, an image load and background jobs.
POOL_THREADS = 3


class Priority(IntEnum):
    """Which queued job starts first (higher first); background jobs leave a thread free."""

    #: the window's live computation
    LIVE = 30
    #: loading an image (the user waits for it)
    LOAD = 20
    #: the Insight jobs that follow a result (rank, inspection, check, spectrum)
    INSIGHT = 10
    #: exports, animations, automatic weights
    BACKGROUND = 0
    #: the second, slower metrics pass of the live result
    METRICS = -10


class JobPool:
    """One ``QThreadPool`` for every runner, ordered by :class:`Priority`.

    Jobs of at least :attr:`Priority.LOAD` start at once (the pool orders them by
    priority); background jobs run at most ``threads - 1`` at a time and wait their
    turn here, highest priority first, so a thread is always left for the live pipeline.

    Parameters
    ----------
    threads : int
        The pool's threads (at least 1; with 1, background jobs share it).
    parent : QObject, optional
        The Qt parent of the ``QThreadPool``.
    """

    def __init__(self, threads: int = POOL_THREADS, parent: QtCore.QObject | None = None) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads!r}")
        self.pool = QtCore.QThreadPool(parent)
        self.pool.setMaxThreadCount(int(threads))
        self._background_limit = max(1, int(threads) - 1)
        self._lock = threading.Lock()
        self._waiting: list[tuple[int, int, PoolRunnable, int]] = []
        self._count = itertools.count()
        self._background = 0

    def start(self, runnable: PoolRunnable, priority: int) -> None:
        """Run ``runnable`` when a thread is free for its ``priority``."""
        if priority >= Priority.LOAD:
            self.pool.start(runnable, priority)
            return
        runnable.on_done = self._background_done
        with self._lock:
            if self._background >= self._background_limit:
                heapq.heappush(self._waiting, (-priority, next(self._count), runnable, priority))
                return
            self._background += 1
        self.pool.start(runnable, priority)

    def take(self, runnable: PoolRunnable) -> bool:
        """Remove ``runnable`` if it still waits its turn here; True when it was removed."""
        with self._lock:
            for i, entry in enumerate(self._waiting):
                if entry[2] is runnable:
                    self._waiting.pop(i)
                    heapq.heapify(self._waiting)
                    return True
        return False

    def _background_done(self) -> None:  # in the pool thread, at the end of a background job
        with self._lock:
            if not self._waiting:
                self._background -= 1
                return
            _, _, runnable, priority = heapq.heappop(self._waiting)
        self.pool.start(runnable, priority)  # it takes over the finished job's place

    def activeThreadCount(self) -> int:  # as QThreadPool's
        """Threads running a job now, plus background jobs waiting their turn."""
        with self._lock:
            waiting = len(self._waiting)
        return self.pool.activeThreadCount() + waiting

    def maxThreadCount(self) -> int:  # as QThreadPool's
        """The pool's threads."""
        return self.pool.maxThreadCount()


_APP_POOL: JobPool | None = None


def app_pool() -> JobPool:
    """The application's one :class:`JobPool` (made on first use, owned by the application)."""
    global _APP_POOL
    if _APP_POOL is None:
        _APP_POOL = JobPool(POOL_THREADS, QtCore.QCoreApplication.instance())
        _APP_POOL.pool.destroyed.connect(_forget_app_pool)
    return _APP_POOL


def _forget_app_pool(*_args: object) -> None:
    global _APP_POOL
    _APP_POOL = None
