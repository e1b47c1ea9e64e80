"""How many threads the numerical kernels use: one setting, one shared pool.

The convolution kernels, the FFTs and the TV prox split their work into blocks fixed by
the data (never by the number of threads, so results do not depend on it) and hand
contiguous runs of blocks to one shared :class:`~concurrent.futures.ThreadPoolExecutor`
(numpy, scipy.fft and BLAS release the GIL), or hand the blocks out one at a time to the
threads as they come free (:func:`share_items`). :func:`set_num_threads` sets its size, and
the BLAS libraries' (OpenBLAS under numpy and scipy) with it; :func:`limit_blas_threads`
sets the BLAS alone (the window keeps BLAS at one thread, since it runs several jobs at
once, and lets the kernels use the pool).

A kernel called from inside one of the pool's threads runs its blocks in that thread:
the pool never waits on itself.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = [
    "blas_threads",
    "get_num_threads",
    "in_background",
    "limit_blas_threads",
    "map_chunks",
    "one_blas_thread",
    "set_num_threads",
    "share_items",
]

_lock = threading.Lock()
_state: dict[str, int | None] = {"threads": max(1, os.cpu_count() or 1), "blas": None}
_pool: list[ThreadPoolExecutor] = []  # the current pool, created on first use
_local = threading.local()
_controller: list[Any] = []  # threadpoolctl's view of the BLAS libraries, found once
T = TypeVar("T")


def _check(n: object, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name} must be an int of at least 1, got {n!r}")
    return n


def get_num_threads() -> int:
    """The number of threads the kernels use (default: ``os.cpu_count()``).

    Examples
    --------
    >>> from deconv_gui.core.threads import get_num_threads
    >>> get_num_threads() >= 1
    True
    """
    threads = _state["threads"]
    assert threads is not None
    return threads


def set_num_threads(n: int, *, blas: bool = True) -> int:
    """Use ``n`` threads for the kernels (and for BLAS unless ``blas=False``).

    Parameters
    ----------
    n : int
        Threads, at least 1 (1: every kernel runs in the calling thread).
    blas : bool
        Also limit the loaded BLAS libraries to ``n`` threads (:func:`limit_blas_threads`).

    Returns
    -------
    int
        The previous number of kernel threads.

    Raises
    ------
    ValueError
        Naming ``n`` when it is not a positive int.

    Examples
    --------
    >>> from deconv_gui.core.threads import get_num_threads, set_num_threads
    >>> old = set_num_threads(1, blas=False)
    >>> get_num_threads()
    1
    >>> _ = set_num_threads(old, blas=False)
    """
    _check(n, "n")
    with _lock:
        old = get_num_threads()
        _state["threads"] = n
        if _pool and n != old:
            _pool.pop().shutdown(wait=False)  # running blocks finish; new calls get a new pool
    if blas:
        limit_blas_threads(n)
    return old


def limit_blas_threads(threads: int = 1) -> int:
    """Set every loaded BLAS library (numpy's, scipy's) to ``threads`` threads.

    Uses threadpoolctl, which knows the symbol names of every BLAS build numpy and scipy
    ship. The setting is process-wide. OpenBLAS is re-threaded only when that changes
    anything, and never while a dense factorisation of the package runs (it must not be
    re-threaded while another thread is inside one of its calls).

    Returns
    -------
    int
        The number of BLAS libraries found (0 where none is loaded).
    """
    _check(threads, "threads")
    from threadpoolctl import threadpool_info, threadpool_limits

    from .lapack import LAPACK_LOCK

    blas = [info for info in threadpool_info() if info["user_api"] == "blas"]
    if any(info["num_threads"] != threads for info in blas):
        with LAPACK_LOCK:
            threadpool_limits(limits=int(threads), user_api="blas")
    _state["blas"] = threads
    return len(blas)


def blas_threads() -> int:
    """The BLAS libraries' thread count (as last set here, else asked once of threadpoolctl)."""
    known = _state["blas"]
    if known is None:
        from threadpoolctl import threadpool_info

        counts = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
        known = _state["blas"] = min(counts, default=1)
    return known


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run BLAS (numpy's and scipy's) on one thread inside the ``with`` block.

    For many small matrix operations (a stack of 128×128 factorisations, products of a
    few rows): threads that synchronise per call starve on a busy machine (one 128×128
    eigendecomposition took 400× longer on two threads than on one, the machine loaded
    four-fold). Nothing changes where BLAS already runs on one thread (the window);
    elsewhere the libraries are re-threaded under
    :data:`~deconv_gui.core.lapack.LAPACK_LOCK`, held throughout, and found only once
    (entering costs microseconds).

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core.threads import one_blas_thread
    >>> with one_blas_thread():
    ...     float(np.linalg.eigvalsh(np.eye(2))[0])
    1.0
    """
    if blas_threads() == 1:
        yield
        return
    from .lapack import LAPACK_LOCK

    with _lock:
        if not _controller:
            import scipy.linalg  # noqa: F401  (scipy's own BLAS, loaded before the lookup)
            from threadpoolctl import ThreadpoolController

            _controller.append(ThreadpoolController())
    with LAPACK_LOCK, _controller[0].limit(limits=1, user_api="blas"):
        yield


def _executor() -> ThreadPoolExecutor:
    with _lock:
        if not _pool:
            _pool.append(
                ThreadPoolExecutor(max_workers=get_num_threads(), thread_name_prefix="deconv")
            )
        return _pool[0]


def _in_worker(func: Callable[[int, int], T], start: int, stop: int) -> T:
    _local.inside = True
    return func(start, stop)


def map_chunks(func: Callable[[int, int], T], n_items: int, parallel: bool = True) -> list[T]:
    """Call ``func(start, stop)`` on contiguous chunks of ``range(n_items)``, one per thread.

    The chunks run in the shared pool (the first one in the calling thread); with
    ``parallel`` false, one thread, fewer than two items or when called from a pool thread,
    ``func(0, n_items)`` runs alone in the calling thread. Returns the chunks' results in
    order; the first exception raised by a chunk is raised here after all have finished.

    Examples
    --------
    >>> from deconv_gui.core.threads import map_chunks
    >>> sum(map_chunks(lambda a, b: sum(range(a, b)), 100))
    4950
    """
    threads = get_num_threads()
    if not parallel or n_items < 2 or threads < 2 or getattr(_local, "inside", False):
        return [func(0, n_items)]
    n_chunks = min(threads, n_items)
    cuts = [round(k * n_items / n_chunks) for k in range(n_chunks + 1)]
    pairs = [(a, b) for a, b in itertools.pairwise(cuts) if b > a]
    pool = _executor()
    futures: list[Future[T]] = []
    inline = []  # chunks a pool shut down meanwhile (set_num_threads) would not take
    for a, b in pairs[1:]:
        try:
            futures.append(pool.submit(_in_worker, func, a, b))
        except RuntimeError:
            inline.append((a, b))
    try:
        first = func(*pairs[0])
        rest = [func(a, b) for a, b in inline]
    finally:
        results = [f.exception() for f in futures]  # wait for every chunk
    errors = [e for e in results if e is not None]
    if errors:
        raise errors[0]
    return [first, *(f.result() for f in futures), *rest]


def share_items(func: Callable[[int, int], object], n_items: int, parallel: bool = True) -> None:
    """Call ``func(start, stop)`` over ``range(n_items)``: one item at a time (``func(i, i + 1)``),
    handed to the calling thread and the pool's threads as each comes free; all items in
    one call ``func(0, n_items)`` when the call does not run in parallel.

    Unlike :func:`map_chunks`, a pool thread that another process keeps off its core
    delays the call by one item at most: the calling thread takes the items it has not
    started (on a busy machine the call then runs at one thread's speed, instead of
    waiting for half of the work). Which thread runs an item never changes its result.
    ``parallel`` as for :func:`map_chunks`; the first exception raised is raised here.

    Examples
    --------
    >>> from deconv_gui.core.threads import share_items
    >>> done = []
    >>> share_items(lambda a, b: done.extend(range(a, b)), 5)
    >>> sorted(done)
    [0, 1, 2, 3, 4]
    """
    threads = get_num_threads()
    if not parallel or n_items < 2 or threads < 2 or getattr(_local, "inside", False):
        func(0, n_items)
        return
    items = iter(range(n_items))  # next() on it is atomic under the GIL
    errors: list[BaseException] = []

    def take() -> None:
        for i in items:
            try:
                func(i, i + 1)
            except BaseException as exc:  # stop every taker, raise in the caller
                errors.append(exc)
                for _ in items:
                    pass
                raise

    futures = []
    pool = _executor()
    for _ in range(min(threads, n_items) - 1):
        try:
            futures.append(pool.submit(_in_worker, lambda a, b: take(), 0, 0))
        except RuntimeError:  # a pool shut down meanwhile (set_num_threads)
            break
    try:
        take()
    finally:
        for future in futures:
            if not future.cancel():  # started: wait for the item it is running
                future.exception()
    if errors:
        raise errors[0]


def in_background(func: Callable[[], T]) -> Callable[[], T]:
    """Start ``func()`` in the shared pool; the function returned waits for its result.

    For work that releases the GIL (a transform, a convolution) beside work that holds it
    in turns (many short numpy calls): the cores the second leaves idle run the first. With
    one thread, or when called from a pool thread, ``func()`` runs when its result is
    asked for. An exception raised by ``func`` is raised by the function returned.

    Examples
    --------
    >>> from deconv_gui.core.threads import in_background
    >>> result = in_background(lambda: sum(range(10)))
    >>> result()
    45
    """
    if get_num_threads() < 2 or getattr(_local, "inside", False):
        return func
    try:
        future = _executor().submit(_in_worker, lambda a, b: func(), 0, 0)
    except RuntimeError:  # a pool shut down meanwhile (set_num_threads)
        return func
    return future.result
