"""Refinement: each coarse peak searched again on a finer local grid.

- Named grids (rings, arcs, spheres): a patch of ``resolution`` spacing reaching one
  coarse step around each peak (:func:`refine`), so 0.1 degree costs about what 1
  degree costs.
- Near-field points: a lattice of ``point_resolution`` around each peak, re-centred
  while the best point lies on its edge, zoomed in stages (:func:`refine_points`).

User grids are searched as given. A refined estimate replaces the coarse one only
where the map is at least as high.
"""

from __future__ import annotations

import math

import numpy as np

from arraykit.doa import grids as _grids
from arraykit.doa._steer import Steering
from arraykit.doa.plan import Plan
from arraykit.doa.registry import SpatialMap

__all__ = ["refine", "refine_points"]


def refine(
    plan: Plan,
    evaluate: SpatialMap,
    coarse_dirs: np.ndarray,
    coarse_power: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    if plan.grid_kind in ("user", "points") or plan.resolution >= plan.coarse - 1e-12:
        return coarse_dirs.copy(), coarse_power.copy()
    est = np.empty_like(coarse_dirs)
    power = np.empty(len(coarse_dirs))
    for k, d in enumerate(coarse_dirs):  # a loop over the K sources
        ring = plan.grid_kind in ("ring", "arc")
        flat = ring or plan.grid_kind == "arc-el"  # one angle: a line of points
        centre, half = d, plan.coarse
        while True:  # a patch of more than _MAX_LATTICE directions: in stages (a sphere's)
            step = plan.resolution
            if not flat and (2 * half / step + 1) ** 2 > _MAX_LATTICE:
                step = 2 * half / (math.isqrt(_MAX_LATTICE) - 1)  # this stage's lattice
            loc = _patch(plan, centre, half, step, ring)
            vals = evaluate(plan.steering(loc))
            j = int(np.argmax(vals))
            if step <= plan.resolution:
                break
            centre, half = loc[j], step  # the next stage around this one's best
        if vals[j] >= coarse_power[k]:
            est[k], power[k] = loc[j], vals[j]
        else:
            est[k], power[k] = d, coarse_power[k]
    return est, power


def _patch(plan: Plan, centre: np.ndarray, half: float, step: float, ring: bool) -> np.ndarray:
    """The directions within `half` degrees of `centre` at `step` that the plan's grid
    allows (an arc's own side; a planar array's upper hemisphere)."""
    if plan.grid_kind == "arc-el":  # a vertical line: elevation only
        n = math.ceil(half / step)
        el = np.clip(centre[1] + np.arange(-n, n + 1) * step, -90, 90)
        return np.stack([np.zeros(2 * n + 1), el], axis=1)
    loc = _grids.local_grid(centre, half, step, ring=ring)
    if plan.grid_kind == "arc":
        loc = _inside_arc(loc, plan.directions)
    if plan.grid_kind == "sphere" and plan.geometry.layout == "planar":
        loc = loc[loc[:, 1] >= -1e-9]
    return loc


_MAX_LATTICE = 20_000  # points per refinement pass; finer lattices zoom in stages


def refine_points(
    plan: Plan,
    evaluate: SpatialMap,
    peaks: np.ndarray,
    peak_power: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Near-field coarse-to-fine: a lattice of `point_resolution` around each peak.

    The lattice spans the dimensions the candidate points span (a plane of points
    is refined in that plane) and reaches twice the distance to the nearest other
    candidate on each side; it is re-centred while the best point lies on its edge.
    A lattice of more than ``_MAX_LATTICE`` points is reached in stages, each 4
    times finer. Sources are refined strongest first, and a weaker one may not come
    nearer than ``min_separation`` to a stronger one.
    """
    positions, power = peaks.copy(), peak_power.copy()
    step = plan.options.point_resolution
    pts = plan.points
    assert pts is not None
    if step is None or len(pts) < 2:
        return positions, power
    _, sv, Vt = np.linalg.svd(pts - pts.mean(axis=0), full_matrices=False)
    axes = Vt[sv > 1e-9 * sv[0]]  # (D, 3): the directions the candidates span
    taken: list[np.ndarray] = []
    for k in np.argsort(-peak_power, kind="stable"):  # a loop over the K sources
        gap = np.linalg.norm(pts - peaks[k], axis=1)
        span = 2.0 * float(gap[gap > 1e-12].min())
        size = step
        while (2 * math.floor(span / size + 1e-9) + 1) ** len(axes) > _MAX_LATTICE:
            size *= 4.0
        while True:
            _climb(plan, evaluate, axes, positions, power, k, span, size, taken)
            if size <= step * (1 + 1e-9):
                break
            span, size = 2.0 * size, max(step, size / 4.0)
        taken.append(positions[k])
    return positions, power


def _climb(
    plan: Plan,
    evaluate: SpatialMap,
    axes: np.ndarray,
    positions: np.ndarray,
    power: np.ndarray,
    k: int,
    span: float,
    size: float,
    taken: list[np.ndarray],
) -> None:
    """One refinement pass for source `k`: a lattice of spacing `size` reaching `span`."""
    n = math.floor(span / size + 1e-9)
    if n < 1:
        return
    offs = np.arange(-n, n + 1) * size
    lattice = np.stack([m.ravel() for m in np.meshgrid(*[offs] * len(axes))], axis=1)
    edge = np.abs(lattice).max(axis=1) > (n - 0.5) * size
    for _ in range(4):  # follow a ridge that leaves the lattice (near-field maps are
        # long in range): re-centre while the best point is on its edge
        loc = positions[k] + lattice @ axes
        keep = np.linalg.norm(loc - plan.geometry.centroid, axis=1) > 1e-6
        for t in taken:
            keep &= np.linalg.norm(loc - t, axis=1) >= plan.min_separation
        if not keep.any():
            return
        vals = evaluate(Steering(plan.geometry, plan.freqs, None, loc[keep], plan.c))
        j = int(np.argmax(vals))
        if vals[j] < power[k]:
            return
        positions[k], power[k] = loc[keep][j], vals[j]
        if not edge[keep][j]:
            return


def _inside_arc(loc: np.ndarray, arc: np.ndarray | None) -> np.ndarray:
    assert arc is not None
    start = arc[0, 0]
    span = (arc[-1, 0] - start) % 360.0 or 360.0
    rel = (loc[:, 0] - start) % 360.0
    keep = rel <= span + 1e-9
    return loc[keep] if keep.any() else loc[:1]
