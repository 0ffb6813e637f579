"""MUSIC (Schmidt 1986): the noise subspace of each bin's covariance, tested against
every steering vector; bins combined by their mean.

Kernel and slow reference: :func:`arraykit.doa.subspace.music_bins`,
:func:`arraykit.doa.subspace.music_reference`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from arraykit.doa.registry import DOAMethod, SpatialMap
from arraykit.doa.subspace import music_bins, music_reference, music_subspaces

if TYPE_CHECKING:
    from arraykit.doa.plan import Plan
    from arraykit.doa.statistics import BandStatistics

__all__ = ["METHOD", "music_bins", "music_reference"]


def make_map(stats: BandStatistics, K: int, plan: Plan) -> SpatialMap:
    Es, En = music_subspaces(stats.covariance(), K)  # only the one music_bins reads
    return lambda steer: music_bins(Es, En, steer).mean(axis=0)


METHOD = DOAMethod(
    make_map=make_map,
    needs="covariance",
    description="MUSIC pseudo-spectrum, mean over bins",
)
