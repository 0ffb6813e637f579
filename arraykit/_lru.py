"""A small thread-safe least-recently-used store, for the DOA searches' caches.

Searches keep what depends only on their settings (plans, steering, GCC lookup tables)
between calls; live tracking and a user's thread may search at once, so every look-up
and insertion holds a lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

__all__ = ["LRU"]


class LRU(Generic[V]):
    """Values by key, least recently used dropped first once `budget` is exceeded.

    `size` measures a value (default 1: the budget counts entries; give ``nbytes``-like
    functions for a byte budget). The newest entry is kept even if it alone is over.
    """

    def __init__(self, budget: int, size: Callable[[V], int] | None = None) -> None:
        self.budget = budget
        self._size = size or (lambda _: 1)
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value: V) -> None:
        n = self._size(value)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._total -= old[1]
            self._items[key] = (value, n)
            self._total += n
            while self._total > self.budget and len(self._items) > 1:
                _, (_, m) = self._items.popitem(last=False)
                self._total -= m

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._total = 0

    def __len__(self) -> int:
        return len(self._items)
