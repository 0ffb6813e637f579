"""One DOA search, top-down: plan and statistics in, :class:`DOAResult` out.

``run(plan, stats)``:

1. count: the number of sources, given or counted (:mod:`arraykit.doa.count`);
2. map: the method's map (:mod:`arraykit.doa.registry`, one module per method in
   :mod:`arraykit.doa.methods`) over the plan's coarse grid or points;
3. peaks: the K strongest distinct peaks (:mod:`arraykit.doa.peaks`);
4. refine: coarse-to-fine around each peak, or the method's direct solver
   (:mod:`arraykit.doa.refine`);
5. result: directions, power, the map and the layout's mirrors
   (:mod:`arraykit.doa.result`).
"""

from __future__ import annotations

from arraykit.doa.count import count
from arraykit.doa.peaks import peaks
from arraykit.doa.plan import Plan
from arraykit.doa.refine import refine, refine_points
from arraykit.doa.result import DOAResult
from arraykit.doa.statistics import BandStatistics
from arraykit.geometry import directions_from_vectors

__all__ = ["run"]


def run(plan: Plan, stats: BandStatistics) -> DOAResult:
    """Search `plan`'s grid with `stats` (see the module's docstring)."""
    geometry = plan.geometry
    method = plan.options.part
    steer = plan.steering()
    counted = count(plan, stats, steer)
    K = int(counted.K)
    evaluate = method.make_map(stats, K, plan)
    reuse = counted.srp is not None and plan.method == "srp-phat"  # counting made this map
    spectrum = counted.srp if reuse and counted.srp is not None else evaluate(steer)
    grid_dirs = plan.grid_directions
    idx = peaks(spectrum, plan, K)
    positions = None
    if plan.points is not None:
        positions, power = refine_points(plan, evaluate, plan.points[idx], spectrum[idx])
        est = directions_from_vectors(positions - geometry.centroid)
    elif method.solve is not None:
        est, power = method.solve(stats, plan)
    else:
        est, power = refine(plan, evaluate, grid_dirs[idx], spectrum[idx])
    mirror = geometry._mirrors(est)  # est is ours: no need to validate it
    for arr in (est, power, spectrum, mirror):
        arr.setflags(write=False)
    return DOAResult(
        azimuth=est[:, 0],
        elevation=est[:, 1],
        power=power,
        spectrum=spectrum,
        grid=grid_dirs,
        method=plan.method,
        num_sources=K,
        count_reason=counted.reason,
        mirror=mirror,
        positions=positions,
        points=plan.points,
        freq_range=plan.freq_range,
    )
