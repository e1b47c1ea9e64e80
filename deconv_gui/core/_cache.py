"""A small thread-safe least-recently-used cache for results that are slow to recompute (internal).

The window computes on two worker threads (the live pipeline and the insight jobs),
so a cache that both may fill must be locked: an ``OrderedDict`` mutated from two
threads at once can lose entries or raise. ``functools.lru_cache`` does not fit,
because the keys (filter bytes and a geometry) are built by the caller, and a caller
may need to bypass or clear the cache in tests.

The value is computed *outside* the lock: two threads asking for the same missing
key may both compute it (the results are equal; the second one is kept), but a slow
computation never blocks readers of other keys.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["LRUCache"]

V = TypeVar("V")


class LRUCache(Generic[V]):
    """At most ``maxsize`` entries (and, with ``maxbytes``, values of at most that many
    ``nbytes`` together: numpy arrays); the least recently used one is dropped first.

    Examples
    --------
    >>> cache = LRUCache(maxsize=2)
    >>> cache.get_or_compute("a", lambda: 1)
    1
    >>> cache.get_or_compute("a", lambda: 2)  # cached: the function is not called
    1
    >>> _ = cache.get_or_compute("b", lambda: 2), cache.get_or_compute("c", lambda: 3)
    >>> "a" in cache, len(cache)
    (False, 2)
    >>> import numpy as np
    >>> arrays = LRUCache(maxsize=8, maxbytes=100)
    >>> _ = [arrays.get_or_compute(n, lambda: np.zeros(5)) for n in range(4)]  # 40 bytes each
    >>> len(arrays), 0 in arrays
    (2, False)
    """

    def __init__(self, maxsize: int = 8, maxbytes: int | None = None) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize!r}")
        if maxbytes is not None and maxbytes < 1:
            raise ValueError(f"maxbytes must be >= 1 or None, got {maxbytes!r}")
        self.maxsize, self.maxbytes = maxsize, maxbytes
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The cached value of ``key``, or ``compute()`` stored under it."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = compute()
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize or self._too_large():
                self._data.popitem(last=False)
        return value

    def _too_large(self) -> bool:  # under the lock
        if self.maxbytes is None or len(self._data) < 2:  # the newest entry always stays
            return False
        return sum(int(getattr(v, "nbytes", 0)) for v in self._data.values()) > self.maxbytes

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._data.clear()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)
