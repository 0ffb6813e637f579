"""What a DOA search returns: :class:`DOAResult` (one search), :class:`BlocksResult`
(block by block), and :func:`follow`, which keeps sources in their columns over blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from arraykit.doa import grids as _grids

__all__ = ["BlocksResult", "DOAResult", "follow"]


@dataclass(frozen=True, eq=False)
class DOAResult:
    """What :func:`locate` found.

    Attributes
    ----------
    azimuth, elevation : np.ndarray [shape=(K,)]
        Degrees, strongest source first.
    power : np.ndarray [shape=(K,)]
        The spatial spectrum at each estimate (SRP-PHAT: mean pairwise GCC-PHAT;
        MUSIC: mean pseudo-spectrum; tdoa-ls: SRP-PHAT at the solved direction).
    spectrum : np.ndarray [shape=(G,)]
        The method's map over the search grid (the coarse grid when refined).
    grid : np.ndarray [shape=(G, 2)]
        Directions of the grid, degrees (of each point seen from the centroid for a
        near-field search).
    method : str
    num_sources : int
    count_reason : str
        How the number of sources was decided.
    mirror : np.ndarray [shape=(K, 2)]
        The direction the layout confuses with each estimate (``geometry.mirror``),
        NaN where there is none (volumetric arrays).
    positions : np.ndarray [shape=(K, 3)] or None
        Estimated source positions, metres (near-field searches only).
    points : np.ndarray [shape=(G, 3)] or None
        The candidate points of a near-field search.
    freq_range : tuple of float
    on_peak : np.ndarray [shape=(K,)]
        bool: whether each estimate lies on a peak (a local maximum) of `spectrum`.
        False marks a source taken from the highest point left when fewer peaks than
        sources stand out (a talker on a stronger one's shoulder), reported at its
        coarse grid point without refinement (:func:`arraykit.doa.extract.choose`).
    confidence : np.ndarray [shape=(K,)]
        Probability in [0, 1] that each estimate lies within the array's resolution of
        a source, calibrated on simulated rooms (:func:`arraykit.doa.confidence.confidence`;
        the reliability table is in the README). From a covariance alone
        (:func:`locate_cov`) it reads that covariance's own map with weights fitted there
        (:data:`arraykit.doa.confidence.COV_CONFIDENCE_WEIGHTS`).
    no_source : str or None
        Why nothing directional was heard (silence, an empty band, a map whose peak
        hardly stands out: :func:`arraykit.doa.confidence.weak_reason`, or channels that
        are copies of one another, heard at zero delay where the grid holds no such
        direction: :func:`arraykit.doa.confidence.in_phase_reason`), else None.
        ``num_sources="auto"`` then returns no source; a given count still returns its
        estimates, with a confidence of 0 where ``"auto"`` would hear no source (the
        reason then ends "no estimate is a measurement (confidence 0)", and names a
        small line's diffuse field too: :func:`arraykit.doa.count.unheard`), else with
        their (low) confidence. None where ``counting="tf"``'s zones overruled a weak
        map for ``"auto"`` (they gather clearly: talkers).
    dead_channels, clipped_channels : tuple of int
        Channels all zero while others are not, and channels that clip (flat tops at
        their rails), as `count_reason` names them (a clipped one is left out of the
        search while three or more others remain).
    copied_channels : tuple of (int, int)
        ``(copy, original)``: channels bit-identical to an earlier one, left out.
    """

    azimuth: np.ndarray
    elevation: np.ndarray
    power: np.ndarray
    spectrum: np.ndarray
    grid: np.ndarray
    method: str
    num_sources: int
    count_reason: str
    mirror: np.ndarray
    positions: np.ndarray | None = None
    points: np.ndarray | None = None
    freq_range: tuple[float, float] = (300.0, 3500.0)
    on_peak: np.ndarray = field(default_factory=lambda: np.ones(0, dtype=bool))
    confidence: np.ndarray = field(default_factory=lambda: np.ones(0))
    no_source: str | None = None
    dead_channels: tuple[int, ...] = ()
    clipped_channels: tuple[int, ...] = ()
    copied_channels: tuple[tuple[int, int], ...] = ()

    @property
    def directions(self) -> np.ndarray:
        """``(K, 2)`` (azimuth, elevation) degrees."""
        return np.stack([self.azimuth, self.elevation], axis=1)

    @property
    def ambiguous(self) -> np.ndarray:
        """``(K,)`` bool: whether the layout confuses the estimate with another direction."""
        ok = ~np.isnan(self.mirror[:, 0])
        return ok & (_grids.angular_distance(self.mirror, self.directions) > 1e-6)


@dataclass(frozen=True, eq=False)
class BlocksResult:
    """Directions per block of frames (:func:`locate_blocks`).

    Attributes
    ----------
    times : np.ndarray [shape=(B,)]
        Centre of each block, seconds.
    azimuth, elevation, power : np.ndarray [shape=(B, K)]
        Per block; sources keep their column from block to block (nearest match).
    spectra : np.ndarray [shape=(B, G)]
    grid : np.ndarray [shape=(G, 2)]
    method : str
    talkers : list of np.ndarray [shape=(K_b, 2)]
        Per block, the directions heard within about `memory` seconds: the peaks of
        the decayed evidence of the blocks' estimates weighted by their confidence
        (:class:`arraykit.doa.TalkerMemory`) that reach
        :data:`~arraykit.doa.extract.TALKER_FLOOR`, strongest first. Two people
        talking in turns are both listed though each block hears one. Empty for
        near-field point searches.
    evidence : np.ndarray [shape=(B, G)]
        That evidence over the grid.
    """

    times: np.ndarray
    azimuth: np.ndarray
    elevation: np.ndarray
    power: np.ndarray
    spectra: np.ndarray
    grid: np.ndarray
    method: str
    blocks: list[DOAResult] = field(default_factory=list, repr=False)
    talkers: list[np.ndarray] = field(default_factory=list)
    evidence: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)


def follow(res: DOAResult, prev: np.ndarray) -> DOAResult:
    """Reorder `res`'s sources to follow `prev` (greedy nearest match)."""
    d = res.directions
    dist = _grids.angular_distance(d[:, None, :], prev[None, :, :])  # (K, K)
    order = [-1] * len(prev)
    used: set[int] = set()
    for flat in np.argsort(dist, axis=None):
        i, j = divmod(int(flat), len(prev))
        if i in used or order[j] != -1:
            continue
        order[j] = i
        used.add(i)
    o = np.array(order)
    return DOAResult(
        azimuth=res.azimuth[o], elevation=res.elevation[o], power=res.power[o],
        spectrum=res.spectrum, grid=res.grid, method=res.method, num_sources=res.num_sources,
        count_reason=res.count_reason, mirror=res.mirror[o],
        positions=None if res.positions is None else res.positions[o],
        points=res.points, freq_range=res.freq_range, on_peak=res.on_peak[o],
        confidence=res.confidence[o], no_source=res.no_source,
    )  # fmt: skip
