"""SRP-PHAT: the steered response power with the phase transform.

The map is the mean pairwise GCC-PHAT at each grid point's model delays, from the
band's PHAT cross-spectra; the kernels (batched ``a^H R a`` products, or an ODAS-style
GCC lookup for large grids) and their slow reference live in :mod:`arraykit.doa.srp`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from arraykit.doa.registry import DOAMethod, SpatialMap
from arraykit.doa.srp import srp_phat_map, srp_phat_reference

if TYPE_CHECKING:
    from arraykit.doa._steer import Steering
    from arraykit.doa.plan import Plan
    from arraykit.doa.statistics import BandStatistics

__all__ = ["METHOD", "srp_map", "srp_phat_map", "srp_phat_reference"]


def srp_map(plan: Plan, R: np.ndarray, steer: Steering) -> np.ndarray:
    """The SRP-PHAT map ``(G,)`` of a plan's search (small grids, such as refinement
    patches, take the steered kernel)."""
    kernel = plan.options.srp_kernel if steer.n_grid > 64 else "steered"
    return srp_phat_map(R, steer, fs=plan.fs, nfft=plan.nfft, kernel=kernel)


def make_map(stats: BandStatistics, K: int, plan: Plan) -> SpatialMap:
    R = stats.phat()
    return lambda steer: srp_map(plan, R, steer)


METHOD = DOAMethod(
    make_map=make_map,
    needs="phat",
    description="steered response power with the phase transform (mean pairwise GCC-PHAT)",
)
