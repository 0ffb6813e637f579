"""Seeded rooms with three speech-like talkers, for the multi-talker tests.

Each room's K = 1, 2, 3 scenes are its first K talkers with white noise 20 dB under them.
"""

from __future__ import annotations

import numpy as np

import arraykit as ak
from arraykit.sim import Source, simulate, speech_like

FS = 16000


def talker_rooms(
    rooms: dict[str, tuple[ak.ArrayGeometry, tuple[float, ...]]], *, seed: int, distance: float
) -> dict[tuple[str, int], tuple[ak.ArrayGeometry, np.ndarray, np.ndarray]]:
    """``{(name, K): (geometry, signals (M, N), directions (K, 2))}`` for each named
    array and its talkers' azimuths (RT60 0.3 s; talker ``i`` is ``speech_like`` with
    seed ``seed + i``)."""
    out = {}
    for name, (g, az) in rooms.items():
        srcs = [
            Source(speech_like(1.0, FS, seed=seed + i), azimuth=a, distance=distance)
            for i, a in enumerate(az)
        ]
        sc = simulate(g, srcs, FS, rt60=0.3, seed=3)
        rng = np.random.default_rng(5)
        for k in (1, 2, 3):
            clean = sc.images[:k].sum(0)
            n = rng.standard_normal(clean.shape) * np.sqrt(np.mean(clean**2) / 100)
            out[(name, k)] = (g, clean + n, sc.directions[:k])
    return out
