"""TOPS (Yoon, Kaplan, McClellan 2006): the strongest bin's signal subspace carried to
every other bin and tested against that bin's noise subspace. Reads the frames (it
picks the strongest bin from them) and needs at least two bins.

Kernel and slow reference: :func:`arraykit.doa.subspace.tops_map`,
:func:`arraykit.doa.subspace.tops_reference`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from arraykit.doa.registry import DOAMethod, SpatialMap
from arraykit.doa.subspace import tops_map, tops_reference

if TYPE_CHECKING:
    from arraykit.doa.plan import Plan
    from arraykit.doa.statistics import BandStatistics

__all__ = ["METHOD", "tops_map", "tops_reference"]


def make_map(stats: BandStatistics, K: int, plan: Plan) -> SpatialMap:
    X = stats.frames()
    return lambda steer: tops_map(X, steer, K)


METHOD = DOAMethod(
    make_map=make_map,
    needs="frames",
    description="test of orthogonal projected subspaces (needs frames, >= 2 bins)",
    min_bins=2,
)
