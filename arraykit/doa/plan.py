"""The plan of a search: the options met with an array, a sampling rate and a band.

:func:`plan_stft` (time signals and STFTs) and :func:`plan_covariance` (a covariance
and its frequencies) check what depends on them (the band's bins, the number of
microphones, the grid a layout can resolve) and fix the coarse grid or the candidate
points. Plans are immutable and kept (:mod:`arraykit._cache`, ``"doa.plans"``) for
repeated calls with equal arguments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np

from arraykit import _cache
from arraykit import _validate as v
from arraykit.doa import extract as _extract
from arraykit.doa import grids as _grids
from arraykit.doa._steer import Steering
from arraykit.doa.options import SearchOptions
from arraykit.geometry import ArrayGeometry, directions_from_vectors
from arraykit.steering import check_frame_holds

__all__ = ["GridKind", "Plan", "check_geometry", "plan_covariance", "plan_stft"]

GridKind = Literal["ring", "arc", "arc-el", "sphere", "user", "points"]

_PLANS: _cache.Cache[tuple[Plan, slice]] = _cache.named("doa.plans", 64)


@dataclass(frozen=True, eq=False)
class Plan:
    """A search's options, array, band and coarse grid."""

    options: SearchOptions
    geometry: ArrayGeometry
    fs: float  # the STFT's (NaN for a covariance plan: it uses the steered SRP kernel)
    nfft: int  # the STFT's (0 for a covariance plan)
    freqs: np.ndarray  # (F,) the band's bin frequencies, Hz
    freq_range: tuple[float, float]
    directions: np.ndarray | None  # (G, 2) coarse grid, or None for points
    points: np.ndarray | None  # (G, 3) candidate points, metres
    grid_kind: GridKind
    coarse: float  # spacing of the coarse grid, degrees (the resolution for user grids)
    min_separation: float

    @property
    def method(self) -> str:
        return self.options.method

    @property
    def c(self) -> float:
        return self.options.c

    @property
    def resolution(self) -> float:
        return self.options.resolution

    def steering(self, directions: np.ndarray | None = None) -> Steering:
        """Steering for the plan's grid (kept: plans are reused) or for `directions`."""
        if directions is None:
            return self._grid_steering
        return Steering(self.geometry, self.freqs, directions, None, self.c)

    @cached_property
    def _grid_steering(self) -> Steering:
        if self.points is not None:
            return Steering(self.geometry, self.freqs, None, self.points, self.c)
        return Steering(self.geometry, self.freqs, self.directions, None, self.c)

    @cached_property
    def grid_directions(self) -> np.ndarray:
        """``(G, 2)`` the coarse grid, or the points' directions seen from the centroid."""
        if self.points is None:
            assert self.directions is not None
            return self.directions
        d = directions_from_vectors(self.points - self.geometry.centroid)
        d.setflags(write=False)
        return d


def check_geometry(geometry: Any) -> ArrayGeometry:
    if not isinstance(geometry, ArrayGeometry):
        raise v.fail("geometry", geometry, "must be an ArrayGeometry (see arraykit.load_geometry)")
    return geometry


def plan_stft(fs: Any, geometry: Any, options: dict[str, Any]) -> tuple[Plan, slice]:
    """The plan of a search on an STFT (or time signals) and its band's bins, as a slice.

    `options` are the public function's keyword arguments (``nfft`` and the 12 search
    options). Kept for equal arguments, compared with their types (``True`` is not
    ``1`` here, so a value that validation refuses is never served from memory);
    arrays (a user grid, points) make afresh.
    """
    key = _cache.typed_key((fs, geometry, options))
    if key is not None:
        kept = _PLANS.get(key)
        if kept is not None:
            return kept
    made = _plan_stft(fs, geometry, options)
    if key is not None:
        _PLANS.put(key, made)
    return made


def _plan_stft(fs: Any, geometry: Any, kwargs: dict[str, Any]) -> tuple[Plan, slice]:
    geometry = check_geometry(geometry)
    fs = v.positive("fs", fs)
    options = SearchOptions.create(**kwargs)
    nfft = options.nfft
    check_frame_holds(geometry, fs, nfft, options.c)
    need = options.part.min_bins
    mask, fr = v.band_bins("freq_range", options.freq_range, fs, nfft, need=need)
    idx = np.flatnonzero(mask)  # the band is contiguous
    band = slice(int(idx[0]), int(idx[-1]) + 1)
    freqs = np.arange(band.start, band.stop) * fs / nfft
    freqs.setflags(write=False)
    return _plan(options, geometry, freqs, fr, fs=fs, nfft=nfft), band


def plan_covariance(geometry: ArrayGeometry, freqs: np.ndarray, options: dict[str, Any]) -> Plan:
    """The plan of a search on a covariance of the bins at `freqs` (checked). Its SRP-PHAT
    steers the covariance (``srp_kernel="steered"``): the lag-table kernel needs the STFT's
    rate and size, which a covariance does not carry."""
    opts = SearchOptions.create(**{**options, "srp_kernel": "steered"})
    fr = (float(freqs.min()), float(freqs.max()))
    return _plan(opts, geometry, freqs, fr, fs=math.nan, nfft=0)


def _plan(
    options: SearchOptions,
    geometry: ArrayGeometry,
    freqs: np.ndarray,
    freq_range: tuple[float, float],
    *,
    fs: float,
    nfft: int,
) -> Plan:
    """Check the options against the array; fix the coarse grid or the points."""
    _check_count(options, geometry.n_mics)
    res = options.resolution
    pts = options.points
    kind: GridKind
    if pts is not None:
        rel = pts - geometry.centroid
        if np.any(np.linalg.norm(rel, axis=1) < 1e-6):
            raise v.fail("points", pts, "a candidate point sits on the array centroid")
        directions, kind, coarse_step = None, "points", res
        sep_default = 0.1
    elif options.grid is None or isinstance(options.grid, str):
        name = "azimuth" if options.grid is None else options.grid
        default_coarse = 1.0 if name == "azimuth" or geometry.layout == "linear" else 3.0
        coarse_step = max(res, default_coarse if options.coarse is None else options.coarse)
        directions = _grids.layout_grid(geometry, name, coarse_step)
        if geometry.layout == "linear":
            kind = "arc-el" if geometry.azimuth_coverage == 0 else "arc"
        else:
            kind = "ring" if name == "azimuth" else "sphere"
        sep_default = _extract.default_separation(geometry, freqs, options.c)  # multi-talker
    else:
        directions, kind, coarse_step = options.grid, "user", res
        sep_default = _extract.default_separation(geometry, freqs, options.c)
    sep = sep_default if options.min_separation is None else options.min_separation
    _check_separation(options, kind, sep)
    return Plan(
        options=options,
        geometry=geometry,
        fs=fs,
        nfft=nfft,
        freqs=freqs,
        freq_range=freq_range,
        directions=directions,
        points=pts,
        grid_kind=kind,
        coarse=coarse_step,
        min_separation=sep,
    )


def _check_separation(options: SearchOptions, kind: GridKind, sep: float) -> None:
    """A given `min_separation` that K sources cannot keep on this grid is refused (the
    peaks would otherwise be filled in closer than asked)."""
    k = options.num_sources
    if k == "auto" or k < 2 or options.min_separation is None or kind == "points":
        return
    # K directions pairwise >= sep apart: a ring holds 360/sep, a half ring (a line
    # array's arc) 180/sep + 1, and no two directions anywhere are more than 180 apart
    if kind == "ring":
        fits = k * sep <= 360.0
    elif kind in ("arc", "arc-el"):
        fits = (k - 1) * sep <= 180.0
    else:
        fits = sep <= 180.0
    if not fits:
        raise v.fail(
            "min_separation",
            options.min_separation,
            f"{k} sources cannot be that far apart from each other on this {kind} grid: "
            "lower min_separation or num_sources",
        )


def _check_count(options: SearchOptions, M: int) -> None:
    k = options.num_sources
    if k == "auto":
        return
    if not 1 <= k <= M - 1:
        raise v.fail(
            "num_sources",
            k,
            f"must lie in 1..{M - 1}: an array of {M} microphones resolves at most {M - 1} sources",
        )
    most = options.part.max_sources(M)
    if k > most:
        found = "one source" if most == 1 else f"at most {most} sources"
        raise v.fail("num_sources", k, f"method {options.method!r} finds {found}")
