"""Steering for a search grid, computed once per (geometry, grid, band) and chunked.

The DOA kernels never hold a frequencies × grid × microphones tensor larger than
:data:`CHUNK_BYTES`: they walk the grid in chunks. Chunks of small searches are kept
in a small cache (``arraykit._cache``, ``"doa.steering"``), so repeated searches (blocks over time, refinement) pay once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from arraykit import _cache
from arraykit.geometry import ArrayGeometry
from arraykit.steering import near_field_delays

CHUNK_BYTES = 16 * 2**20
"""Largest steering chunk ``(F, G_chunk, M)`` complex128 held at once, bytes."""

CACHE_BYTES = 96 * 2**20
"""Steering kept across calls, bytes (least recently used goes first)."""

_CACHE: _cache.Cache[list[np.ndarray]] = _cache.named(
    "doa.steering", CACHE_BYTES, lambda arrays: sum(a.nbytes for a in arrays)
)


@dataclass(frozen=True, eq=False)
class Steering:
    """What a kernel needs to steer: the geometry, band, grid or points, and c.

    Exactly one of `directions` ``(G, 2)`` degrees or `points` ``(G, 3)`` metres.
    """

    geometry: ArrayGeometry
    freqs: np.ndarray
    directions: np.ndarray | None
    points: np.ndarray | None
    c: float

    @property
    def n_grid(self) -> int:
        grid = self.directions if self.directions is not None else self.points
        assert grid is not None
        return int(grid.shape[0])

    @property
    def near(self) -> bool:
        return self.points is not None

    def delays(self) -> np.ndarray:
        """Propagation delays ``(G, M)`` seconds (relative to the centroid for points)."""
        if self.points is not None:
            return near_field_delays(self.geometry, self.points, c=self.c)[0]
        assert self.directions is not None
        return self.geometry.delays(self.directions, c=self.c)

    def chunk_size(self, per_point_bytes: int | None = None) -> int:
        F, M = len(self.freqs), self.geometry.n_mics
        per = per_point_bytes if per_point_bytes is not None else F * M * 16
        return max(1, int(CHUNK_BYTES // max(per, 1)))

    def chunks(self) -> Iterator[tuple[slice, np.ndarray]]:
        """Yield ``(slice of the grid, steering (F, G_chunk, M))``."""
        step = self.chunk_size()
        n = self.n_grid
        key = self.cache_key(step)
        cached = _CACHE.get(key)
        if cached is not None:
            for k, A in enumerate(cached):
                yield slice(k * step, min(n, (k + 1) * step)), A
            return
        total = len(self.freqs) * n * self.geometry.n_mics * 16
        keep: list[np.ndarray] | None = [] if total <= CACHE_BYTES // 4 else None
        for lo in range(0, n, step):
            sl = slice(lo, min(n, lo + step))
            A = self._compute(sl)
            if keep is not None:
                keep.append(A)
            yield sl, A
        if keep is not None:
            _store(key, keep)

    def _compute(self, sl: slice) -> np.ndarray:
        """:func:`steering_vector` (or ``_near``) of the grid slice `sl`, ``(F, Gc, M)``."""
        if self.points is not None:
            tau, gain = near_field_delays(self.geometry, self.points[sl], c=self.c)
            A = phasors(self.freqs, tau)
            A *= gain[None]
            return A
        assert self.directions is not None
        return phasors(self.freqs, self.geometry.delays(self.directions[sl], c=self.c))

    def cache_key(self, *extra: float) -> bytes:
        """A digest of the geometry, band, grid, c and `extra` numbers, for caches."""
        memo = self.__dict__.setdefault("_keys", {})  # (frozen: not through __setattr__)
        if extra not in memo:
            memo[extra] = self._digest(extra)
        return memo[extra]

    def _digest(self, extra: tuple[float, ...]) -> bytes:
        h = hashlib.blake2b(digest_size=20)
        h.update(self.geometry.positions.tobytes())
        h.update(np.asarray(self.freqs, dtype=float).tobytes())
        grid = self.points if self.points is not None else self.directions
        assert grid is not None
        h.update(b"near" if self.points is not None else b"far")
        h.update(np.ascontiguousarray(grid, dtype=float).tobytes())
        h.update(np.array([self.c, *extra], dtype=float).tobytes())
        return h.digest()


ANCHOR = 16
"""Bins between exact exponentials in :func:`phasors`' recurrence."""


def phasors(freqs: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """``exp(-2j pi f tau)`` ``(F, G, M)`` for delays `tau` ``(G, M)`` seconds.

    For equally spaced bins (an STFT band) by recurrence: ``a(f + df) = a(f) a(df)``,
    one complex multiply per element instead of an exponential, with an exact
    exponential every :data:`ANCHOR` bins (the error stays below ~1e-15).
    """
    f = np.asarray(freqs, dtype=float)
    step = np.diff(f)
    if len(f) < 3 or not np.allclose(step, step[0], rtol=1e-12, atol=0.0):
        return np.exp(-2j * np.pi * f[:, None, None] * tau[None])
    out = np.empty((len(f), *tau.shape), dtype=complex)
    shift = np.exp(-2j * np.pi * step[0] * tau)
    for k in range(len(f)):  # a loop over bins: (G, M) products
        if k % ANCHOR == 0:
            out[k] = np.exp(-2j * np.pi * f[k] * tau)
        else:
            np.multiply(out[k - 1], shift, out=out[k])
    return out


def _store(key: bytes, arrays: list[np.ndarray]) -> None:
    for A in arrays:
        A.setflags(write=False)
    _CACHE.put(key, arrays)
