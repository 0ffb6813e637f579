"""Peak picking on a DOA map: the K strongest distinct peaks, at least
``min_separation`` apart.

Shapes: ``G`` grid points, ``K`` sources.
"""

from __future__ import annotations

import numpy as np

from arraykit.doa import grids as _grids
from arraykit.doa.plan import Plan
from arraykit.geometry import unit_vectors

__all__ = ["peaks", "separation"]


def peaks(spectrum: np.ndarray, plan: Plan, K: int, *, fill: bool = True) -> np.ndarray:
    """Indices of the K strongest peaks, at least `min_separation` apart.

    On rings and arcs a peak is a local maximum with a topographic prominence of at
    least 5 % of the map's range (ripples on a flank do not count); on spheres,
    user grids and point grids it is the maximum within 2.5 grid spacings.
    """
    G = spectrum.shape[0]
    if K == 1 and fill and plan.grid_kind in ("ring", "arc", "arc-el"):
        return np.array([int(np.argmax(spectrum))])  # the highest point is the top peak
    local = np.zeros(G, dtype=bool)
    if plan.grid_kind in ("ring", "arc", "arc-el"):
        from scipy.signal import find_peaks

        span = float(spectrum.max() - spectrum.min())
        if plan.grid_kind == "ring":
            ext = np.concatenate([spectrum, spectrum, spectrum])
            idx, _ = find_peaks(ext, prominence=0.05 * span + 1e-300)
            idx = idx[(idx >= G) & (idx < 2 * G)] - G
        else:
            low = spectrum.min() - 1.0
            idx, _ = find_peaks(np.r_[low, spectrum, low], prominence=0.05 * span + 1e-300)
            idx = idx - 1
        local[idx] = True
    elif G > 1:
        from scipy.spatial import cKDTree

        coords = plan.points if plan.points is not None else unit_vectors(plan.grid_directions)
        tree = cKDTree(coords)
        nn, _ = tree.query(coords, k=2)
        spacing = float(np.median(nn[:, 1]))
        radius = 2.5 * spacing  # separation between sources is enforced below
        kmax = int(min(G, 24))  # a 2-D grid has ~20 points within 2.5 spacings
        dist, nb = tree.query(coords, k=kmax, distance_upper_bound=radius)
        vals = np.where(np.isinf(dist), -np.inf, spectrum[np.minimum(nb, G - 1)])
        local = spectrum >= vals.max(axis=1)
    else:
        local[:] = True
    order = np.argsort(-spectrum, kind="stable")
    on_peak = local[order]
    cand = order[on_peak]
    if fill:
        cand = np.concatenate([cand, order[~on_peak]])
    chosen: list[int] = []
    for i in cand:
        if len(chosen) == K:
            break
        if all(separation(plan, i, j) >= plan.min_separation for j in chosen):
            chosen.append(int(i))
    for i in order:  # too close together everywhere: take the strongest left
        if len(chosen) == K or not fill:
            break
        if i not in chosen:
            chosen.append(int(i))
    return np.array(chosen, dtype=int)


def separation(plan: Plan, i: int, j: int) -> float:
    if plan.points is not None:
        return float(np.linalg.norm(plan.points[i] - plan.points[j]))
    assert plan.directions is not None
    return float(_grids.angular_distance(plan.directions[i], plan.directions[j]))
