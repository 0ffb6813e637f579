"""Every cache arraykit keeps between calls, in one place: named, bounded, thread-safe.

What depends only on settings is kept so repeated calls pay once: DOA plans
(``"doa.plans"``), steering chunks (``"doa.steering"``, bounded in bytes), GCC lookup
tables (``"doa.lookup"``), layout grids (``"doa.grids"``), STFT transforms and their
helpers (``"stft.*"``). Each is a :class:`Cache` made by :func:`named` (a least-recently
used store whose look-ups and insertions hold a lock: live tracking and a user's thread
may search at once); :func:`clear` empties all of them (public as
``arraykit.clear_caches()``).

Keys are explicit. :func:`typed_key` turns arguments into a key that compares each
value with its type, inside lists and tuples too (``True`` is not ``1``, ``512.0`` is
not ``512``, lists become tuples), so that a value validation would refuse is never
served from a good one's entry; :func:`memoize` keeps a small function's results under
its flat arguments compared with their types. What is kept must be
immutable (read-only arrays, frozen objects).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import lru_cache
from typing import Any, Generic, ParamSpec, TypeVar, cast

V = TypeVar("V")
R = TypeVar("R")
P = ParamSpec("P")

__all__ = ["Cache", "clear", "memoize", "named", "sizes", "typed_key"]


class Cache(Generic[V]):
    """Values by key, least recently used dropped first once `budget` is exceeded.

    `size` measures a value (default 1: the budget counts entries; give ``nbytes``-like
    functions for a byte budget). The newest entry is kept even if it alone is over.
    """

    def __init__(self, name: str, budget: int, size: Callable[[V], int] | None = None) -> None:
        self.name = name
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


_ALL: dict[str, Cache[Any] | _Memo] = {}
_ALL_LOCK = threading.Lock()


def named(name: str, budget: int, size: Callable[[V], int] | None = None) -> Cache[V]:
    """The cache called `name` (made on first call; one per name)."""
    with _ALL_LOCK:
        cache = _ALL.get(name)
        if cache is None:
            cache = Cache(name, budget, size)
            _ALL[name] = cache
        assert isinstance(cache, Cache), f"{name!r} is a memoized function's cache"
        return cache


def clear() -> None:
    """Empty every cache (memory back; the next calls recompute)."""
    with _ALL_LOCK:
        caches = list(_ALL.values())
    for cache in caches:
        cache.clear()


def sizes() -> dict[str, int]:
    """Entries held per cache name."""
    with _ALL_LOCK:
        return {name: len(cache) for name, cache in _ALL.items()}


def typed_key(value: Any) -> Hashable | None:
    """`value` as a key whose every element carries its type (lists and tuples become
    tuples, dicts sorted items); ``None`` if something in it is unhashable (arrays)."""
    key = _typed(value)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _typed(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return ("seq", tuple(_typed(a) for a in value))
    if isinstance(value, dict):
        return ("map", tuple((k, _typed(a)) for k, a in sorted(value.items())))
    return (type(value).__name__, value)


def memoize(name: str, budget: int) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Keep `fn`'s results (at most `budget`) under its arguments compared with their
    types (:func:`functools.lru_cache` with ``typed=True``: ``f(1)``, ``f(1.0)`` and
    ``f(True)`` are kept apart), registered as the cache `name` so that :func:`clear`
    empties it. For small hot helpers with flat arguments (a few microseconds a call
    matter there); `fn` must return something immutable."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        kept = lru_cache(maxsize=budget, typed=True)(fn)
        with _ALL_LOCK:
            if name in _ALL:
                raise ValueError(f"cache {name!r} exists already")
            _ALL[name] = _Memo(kept)
        return cast("Callable[P, R]", kept)

    return wrap


class _Memo:
    """A memoized function seen as a cache (``clear``, ``len``)."""

    def __init__(self, fn: Any) -> None:
        self._fn = fn

    def clear(self) -> None:
        self._fn.cache_clear()

    def __len__(self) -> int:
        return int(self._fn.cache_info().currsize)
