"""Talkers over time: every direction heard within a memory, block by block.

Two people talking in turns: each block hears one, and both should be listed for a few
seconds. Each block's estimates add a bump of their confidence (a Gaussian of standard
deviation half the plan's ``min_separation`` around each); the evidence over the grid
``(G,)`` is the larger of the last block's times ``exp(-elapsed / memory)`` and this
block's bumps, so a talker heard once at confidence c keeps c for the block and fades
after it. The talkers are the evidence's peaks that reach
:data:`~arraykit.doa.extract.TALKER_FLOOR`. :func:`arraykit.doa.locate_blocks` (its
``talkers``) and :func:`arraykit.live.track` (each estimate's ``talkers``) both read
:class:`TalkerMemory`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arraykit.doa import grids as _grids
from arraykit.doa.extract import TALKER_FLOOR
from arraykit.doa.peaks import peaks
from arraykit.doa.plan import Plan
from arraykit.geometry import ArrayGeometry

__all__ = ["TalkerMemory"]


class TalkerMemory:
    """The talkers heard within about `memory` (blocks, or seconds: the unit of
    :meth:`update`'s `elapsed`) on `plan`'s grid (see the module)."""

    def __init__(self, plan: Plan, memory: float) -> None:
        self.plan = plan
        self.width = max(plan.min_separation, 1.0) / 2
        self.memory = float(memory)
        self.evidence = np.zeros(len(plan.grid_directions))  # (G,)

    @classmethod
    def for_covariance(
        cls, geometry: ArrayGeometry, freqs: np.ndarray, memory: float, **options: Any
    ) -> TalkerMemory:
        """On the grid :func:`~arraykit.doa.locate_cov` searches with these `options`
        (``method``, ``num_sources``, ``resolution``, ...) for bins at `freqs` Hz."""
        from arraykit.doa.plan import plan_covariance

        f = np.asarray(freqs, dtype=float)
        return cls(plan_covariance(geometry, f, options), memory)

    def update(
        self, directions: np.ndarray, confidence: np.ndarray, elapsed: float = 1.0
    ) -> np.ndarray:
        """Fold in a block's estimates ``(K_b, 2)`` and confidences ``(K_b,)``, `elapsed`
        after the last; return the talkers ``(K_t, 2)``, strongest first (none on a
        near-field point grid)."""
        grid = self.plan.grid_directions
        now = np.zeros(len(grid))
        for d, c in zip(directions, confidence, strict=True):  # the block's few sources
            dist = _grids.angular_distance(grid, d)
            now = np.maximum(now, c * np.exp(-0.5 * (dist / self.width) ** 2))
        self.evidence = np.maximum(self.evidence * np.exp(-elapsed / self.memory), now)
        if self.plan.points is not None:
            return np.zeros((0, 2))
        h = self.evidence
        idx, on = peaks(h, self.plan, min(self.plan.geometry.n_mics - 1, 6), fill=False)
        return grid[idx[on & (h[idx] >= TALKER_FLOOR)]]
