"""Peak picking on a DOA map: the K strongest distinct peaks, at least
``min_separation`` apart.

Shapes: ``G`` grid points, ``K`` sources.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

import numpy as np

from arraykit import _cache
from arraykit.doa import extract as _extract
from arraykit.doa import grids as _grids
from arraykit.doa.plan import Plan
from arraykit.geometry import unit_vectors

__all__ = ["SNAP", "apart_rule", "peak_mask", "peaks", "peaks_near", "separation"]

_NEIGHBOURS: _cache.Cache[tuple[np.ndarray, np.ndarray]] = _cache.named("doa.peak_neighbours", 16)

SNAP = 0.25
""":func:`peaks_near` takes a map's peak for a seed within this fraction of
``min_separation`` of it. Chosen on rooms 0-31 of ``benchmarks/bench_multisource.py``
(``counting="tf"``'s atoms as seeds, RT60 0.3 s): 0, 0.25, 0.5, 0.75 and 1 gave pooled
p90 errors rising with it (4-mic square 9.2 / 9.2 / 12.7 / 14.1 / 16.9 degrees); a
neighbour's lobe pulls a peak toward it, the zones' histogram less so. 0.25 takes the
map's (refined) peak for about half the estimates that 0 would flag."""


def peaks(
    spectrum: np.ndarray, plan: Plan, K: int, *, fill: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the K strongest peaks, at least `min_separation` apart, and whether
    each is a peak (``on_peak``; see :func:`arraykit.doa.extract.choose`).

    On rings and arcs a peak is a local maximum with a topographic prominence of at
    least :data:`~arraykit.doa.extract.PROMINENCE` of the map's range; on spheres,
    user grids and point grids it is the maximum within 2.5 grid spacings.
    """
    if K == 1 and fill and plan.grid_kind in ("ring", "arc", "arc-el"):
        return np.array([int(np.argmax(spectrum))]), np.ones(1, dtype=bool)  # the top peak
    local = peak_mask(spectrum, plan)
    return _extract.choose(spectrum, local, K, apart_rule(plan), fill=fill)


def peaks_near(
    spectrum: np.ndarray, plan: Plan, seeds: np.ndarray, K: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One estimate per seed (grid indices ``(K,)``, strongest source first: where
    counting found the sources) and ``on_peak`` ``(K,)``: the highest peak of the map
    within :data:`SNAP` ``min_separation`` of the seed and apart from those taken, else
    the seed itself, flagged ``on_peak=False`` (two talkers closer than the map's
    beamwidth make one peak between them, while each one's time-frequency zones point
    at it). With `K` larger than the seeds, the rest as :func:`peaks` picks them, apart
    from those taken.
    Ordered as :func:`peaks`: the peaks by height, then the flagged points."""
    local = peak_mask(spectrum, plan)
    cand = np.flatnonzero(local)
    cand = cand[np.argsort(-spectrum[cand], kind="stable")]
    C = len(cand)
    every = np.concatenate([cand, np.asarray(seeds, dtype=int)])  # peaks, then seeds
    D = _separations(plan, every)  # one call: :func:`separation` of each pair
    taken: list[int] = []  # rows of D
    for k in range(len(every) - C):  # a loop over the few sources
        near = [
            i
            for i in range(C)
            if D[i, C + k] <= SNAP * plan.min_separation
            and all(D[i, j] >= plan.min_separation for j in taken)
        ]
        taken.append(near[0] if near else C + k)
    chosen = [int(every[t]) for t in taken]
    on = [t < C for t in taken]
    if K is not None and K > len(chosen):
        rest, rest_on = _extract.choose(
            spectrum, local, K - len(chosen), apart_rule(plan, taken=chosen), taken=chosen
        )
        chosen.extend(int(i) for i in rest)
        on.extend(bool(o) for o in rest_on)
    idx, on_peak = np.array(chosen, dtype=int), np.array(on, dtype=bool)
    order = np.lexsort((-spectrum[idx], ~on_peak))
    return idx[order], on_peak[order]


def apart_rule(plan: Plan, taken: Iterable[int] = ()) -> Callable[[int, Iterable[int]], bool]:
    """``apart(i, chosen)``: whether grid point ``i`` is at least ``min_separation``
    (:func:`separation`) from every chosen point and every point `taken` already."""
    fixed = list(taken)

    def apart(i: int, chosen: Iterable[int]) -> bool:
        return all(separation(plan, i, j) >= plan.min_separation for j in [*fixed, *chosen])

    return apart


def peak_mask(spectrum: np.ndarray, plan: Plan) -> np.ndarray:
    """``(G,)`` bool: the peaks of a map (see :func:`peaks`)."""
    G = spectrum.shape[0]
    local = np.zeros(G, dtype=bool)
    if plan.grid_kind in ("ring", "arc", "arc-el"):
        local = _extract.ring_maxima(spectrum, closed=plan.grid_kind == "ring")
    elif G > 1:
        nb, far = _neighbours(plan)
        vals = np.where(far, -np.inf, spectrum[nb])
        local = spectrum >= vals.max(axis=1)
    else:
        local[:] = True
    return local


def _neighbours(plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Each grid point's neighbours within 2.5 median spacings (up to 24): indices
    ``(G, k)`` and which of them are beyond that radius ``(G, k)`` (a k-d tree's
    query, kept per grid: a search on the same sphere, user grid or points reuses it)."""
    coords = plan.points if plan.points is not None else unit_vectors(plan.grid_directions)
    coords = np.ascontiguousarray(coords, dtype=float)
    key = hashlib.blake2b(coords.tobytes(), digest_size=20).digest()
    kept = _NEIGHBOURS.get(key)
    if kept is None:
        from scipy.spatial import cKDTree

        G = len(coords)
        tree = cKDTree(coords)
        nn, _ = tree.query(coords, k=2)
        spacing = float(np.median(nn[:, 1]))
        radius = 2.5 * spacing  # separation between sources is enforced by the callers
        kmax = int(min(G, 24))  # a 2-D grid has ~20 points within 2.5 spacings
        dist, nb = tree.query(coords, k=kmax, distance_upper_bound=radius)
        kept = (np.minimum(nb, G - 1), np.isinf(dist))
        for arr in kept:
            arr.setflags(write=False)
        _NEIGHBOURS.put(key, kept)
    return kept


def _separations(plan: Plan, i: np.ndarray) -> np.ndarray:
    """:func:`separation` of every pair of grid indices `i` ``(A,)``, ``(A, A)``."""
    if plan.points is not None:
        return np.linalg.norm(plan.points[i][:, None] - plan.points[i][None], axis=-1)
    assert plan.directions is not None
    if plan.grid_kind in ("ring", "arc", "arc-el"):  # a few hundred points: kept
        return _grids.pairwise_distances(plan.directions)[np.ix_(i, i)]
    d = plan.directions[i]
    return _grids.angular_distance(d[:, None], d[None])


def separation(plan: Plan, i: int, j: int) -> float:
    if plan.points is not None:
        return float(np.linalg.norm(plan.points[i] - plan.points[j]))
    assert plan.directions is not None
    return float(_grids.angular_distance(plan.directions[i], plan.directions[j]))
