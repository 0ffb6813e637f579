"""NormMUSIC (Salvati et al. 2014, as pyroomacoustics): MUSIC with each bin's
pseudo-spectrum divided by its maximum over the first (full, coarse) grid, so that a
few high-SNR bins do not dominate; refinement patches reuse those maxima.

Kernel and slow reference: :func:`arraykit.doa.subspace.music_bins`,
:func:`arraykit.doa.subspace.music_reference` (normalised per bin).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from arraykit.doa.registry import DOAMethod, SpatialMap
from arraykit.doa.subspace import music_bins, music_reference, music_subspaces

if TYPE_CHECKING:
    from arraykit.doa._steer import Steering
    from arraykit.doa.plan import Plan
    from arraykit.doa.statistics import BandStatistics

__all__ = ["METHOD", "music_bins", "music_reference"]


def make_map(stats: BandStatistics, K: int, plan: Plan) -> SpatialMap:
    Es, En = music_subspaces(stats.covariance(), K)  # only the one music_bins reads
    norm: list[np.ndarray] = []

    def normmusic(steer: Steering) -> np.ndarray:
        pf = music_bins(Es, En, steer)  # (F, G)
        if not norm:  # per-bin maxima of the first (full, coarse) grid
            norm.append(pf.max(axis=1, keepdims=True))
        return (pf / norm[0]).mean(axis=0)

    return normmusic


METHOD = DOAMethod(
    make_map=make_map,
    needs="covariance",
    description="MUSIC with each bin normalised to its maximum (as pyroomacoustics)",
)
