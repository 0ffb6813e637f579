"""``locate``: where the sound comes from, by any method, on any grid.

Shapes: ``M`` microphones, ``N`` samples, ``F`` band frequencies, ``T`` frames,
``G`` grid points, ``K`` sources, ``B`` blocks.

One path for every method: the STFT (:func:`arraykit.stft.stft`), the bins inside
`freq_range`, their second-order statistics (``_Stats``: the spatial covariance, the
PHAT-whitened cross-spectra), a spatial spectrum over a coarse grid (steering computed once per
grid and chunked, see ``_steer``), the K strongest distinct peaks, and for named
grids a finer local search around each peak (coarse-to-fine), so that 0.1 degree
costs about what 1 degree costs.

:func:`locate_cov` enters the same path with a spatial covariance instead of frames
(a recursively averaged one in :mod:`arraykit.live`): the statistics then come from
the covariance alone, so the methods that need frames (TOPS, tdoa-ls) are not offered.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property, wraps
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v
from arraykit._lru import LRU
from arraykit.doa import confidence as _confidence
from arraykit.doa import extract as _extract
from arraykit.doa import grids as _grids
from arraykit.doa._cross import cross_spectra_chunks
from arraykit.doa._steer import Steering
from arraykit.doa.srp import (
    SrpKernel,
    phat_covariance,
    phat_cross_spectra,
    srp_phat_map,
)
from arraykit.doa.subspace import covariance, music_bins, subspaces, tops_map
from arraykit.doa.tdoa import _solve
from arraykit.errors import NoSourceError
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry, directions_from_vectors

_T = TypeVar("_T")

__all__ = [
    "COV_METHODS",
    "METHODS",
    "BlocksResult",
    "DOAResult",
    "locate",
    "locate_blocks",
    "locate_cov",
    "locate_stft",
]

Method = Literal["srp-phat", "music", "normmusic", "tops", "tdoa-ls"]
METHODS = ("srp-phat", "music", "normmusic", "tops", "tdoa-ls")
CovMethod = Literal["srp-phat", "music", "normmusic"]
COV_METHODS = ("srp-phat", "music", "normmusic")
"""The methods :func:`locate_cov` runs from a covariance alone (TOPS and tdoa-ls need frames)."""
Counting = Literal["clean", "peaks", "mdl"]

DEFAULT_POINT_SEPARATION = 0.1
"""Metres between two reported sources of a near-field point search. Direction searches
default to half the array's beamwidth over the band (:func:`arraykit.doa.extract.default_separation`)."""

PEAK_RATIO = 0.5
"""``num_sources="auto"`` by peaks: a peak counts when it rises at least this
fraction of the strongest peak's height above the map's median."""

MAX_AUTO_SOURCES = 6


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
        coarse grid point without refinement.
    confidence : np.ndarray [shape=(K,)]
        Probability in [0, 1] that each estimate lies within the array's resolution of
        a source, calibrated on simulated rooms (:func:`arraykit.doa.confidence.confidence`;
        the reliability table is in the README). From a covariance alone
        (:func:`locate_cov`) it is computed the same way but was not calibrated there.
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
    """

    times: np.ndarray
    azimuth: np.ndarray
    elevation: np.ndarray
    power: np.ndarray
    spectra: np.ndarray
    grid: np.ndarray
    method: str
    blocks: list[DOAResult] = field(default_factory=list, repr=False)


def locate(
    signals: npt.ArrayLike,
    fs: float,
    geometry: ArrayGeometry,
    *,
    method: Method = "srp-phat",
    num_sources: int | Literal["auto"] = 1,
    freq_range: tuple[float, float] = (300.0, 3500.0),
    nfft: int = 512,
    grid: Literal["azimuth", "sphere"] | npt.ArrayLike | None = None,
    points: npt.ArrayLike | None = None,
    resolution: float = 1.0,
    point_resolution: float | None = None,
    coarse: float | None = None,
    min_separation: float | None = None,
    counting: Counting = "clean",
    srp_kernel: SrpKernel = "auto",
    c: float = SPEED_OF_SOUND,
) -> DOAResult:
    """Directions of arrival of `num_sources` sources.

    Parameters
    ----------
    signals : array_like [shape=(M, N)]
        One row per microphone of `geometry`.
    fs : float
        Sampling rate, Hz.
    geometry : ArrayGeometry
    method : {"srp-phat", "music", "normmusic", "tops", "tdoa-ls"}
    num_sources : int or "auto"
        K distinct peaks, strongest first; ``"auto"`` estimates K (see `counting`).
        At most ``M - 1``; ``"tdoa-ls"`` finds one source.
    freq_range : (float, float)
        Band used, Hz, inside (0, fs/2].
    nfft : int
        STFT size (hop ``nfft // 2``, Hann window).
    grid : {"azimuth", "sphere"} or array_like [shape=(G, 2)], optional
        ``"azimuth"`` (default): a horizontal ring the layout can resolve (a half
        ring for linear arrays). ``"sphere"``: a Fibonacci sphere (the upper
        hemisphere for horizontal planar arrays). Or your own directions, degrees.
    points : array_like [shape=(G, 3)], optional
        Near field: candidate source positions in metres in the array frame,
        searched with spherical-wave steering (instead of `grid`).
    resolution : float
        Final resolution of named grids, degrees. Below the coarse spacing a local
        search around each peak refines to it.
    point_resolution : float, optional
        Near field: refine each peak of the `points` search on a local lattice of
        this spacing (metres) reaching two candidate spacings on each side, in the
        plane or volume the candidates span, re-centred while the best point lies on
        its edge (near-field maps are long ridges in range). ``positions`` are then
        the refined ones; ``spectrum`` stays on `points`.
    coarse : float, optional
        Spacing of the first, exhaustive pass over a named grid (default 1 degree
        for rings, 3 for spheres, never finer than `resolution`).
    min_separation : float, optional
        Smallest angle (degrees; metres for `points`) between two reported sources;
        default half the half-power width of the array's own SRP-PHAT main lobe over
        the band (:func:`arraykit.doa.extract.default_separation`: 21.5 degrees for
        the ReSpeaker USB square, 16 for the 6-mic ReSpeaker circle, 12.5 for a 4×4
        42 mm grid), or 0.1 m for `points`.
    counting : {"clean", "peaks", "mdl"}
        For ``num_sources="auto"``: ``"clean"`` (default) removes the sources one by
        one from the PHAT cross-spectra and counts while the residual map's peak rises
        at least half as high above its median as the first and at least
        :data:`~arraykit.doa.confidence.NO_SOURCE_FLOOR` (0 sources below that:
        :func:`arraykit.doa.extract.clean_count`); ``"peaks"``: peaks of the SRP-PHAT
        map that rise at least half as high above its median as the strongest;
        ``"mdl"``: the minimum description length of the covariance eigenvalues
        (median over bins).

    Raises
    ------
    NoSourceError
        With a fixed `num_sources`, when no directional source is heard (silence,
        no energy in the band, or a map whose top peak barely rises above its median:
        see :mod:`arraykit.doa.confidence`); ``num_sources="auto"`` returns 0 sources
        and the reason in ``count_reason`` instead.
    srp_kernel : {"auto", "steered", "lookup"}
        How SRP-PHAT is computed (equal results; see :mod:`arraykit.doa.srp`).
    c : float
        Speed of sound, m/s.

    Returns
    -------
    DOAResult

    Examples
    --------
    >>> import arraykit as ak
    >>> from arraykit.sim import Source, simulate, speech_like
    >>> g = ak.load_geometry("respeaker-usb-4mic")
    >>> scene = simulate(g, [Source(speech_like(0.5, 16000, seed=0), azimuth=123.4)], seed=0)
    >>> res = ak.doa.locate(scene.signals, 16000, g, resolution=0.1)
    >>> abs(float(res.azimuth[0]) - 123.4) < 1.0
    True
    """
    plan, stats = _plan_signals(
        signals, fs, geometry, nfft, method, freq_range, num_sources=num_sources, grid=grid,
        points=points, resolution=resolution, point_resolution=point_resolution, coarse=coarse,
        min_separation=min_separation,
        counting=counting, srp_kernel=srp_kernel, c=c,
    )  # fmt: skip
    return _search(plan, stats)


def locate_stft(
    X: npt.ArrayLike,
    fs: float,
    geometry: ArrayGeometry,
    *,
    nfft: int = 512,
    method: Method = "srp-phat",
    num_sources: int | Literal["auto"] = 1,
    freq_range: tuple[float, float] = (300.0, 3500.0),
    grid: Literal["azimuth", "sphere"] | npt.ArrayLike | None = None,
    points: npt.ArrayLike | None = None,
    resolution: float = 1.0,
    point_resolution: float | None = None,
    coarse: float | None = None,
    min_separation: float | None = None,
    counting: Counting = "clean",
    srp_kernel: SrpKernel = "auto",
    c: float = SPEED_OF_SOUND,
) -> DOAResult:
    """:func:`locate` on an STFT ``(M, F, T)`` already computed with ``nfft`` (same options)."""
    plan, Xb = _plan_stft(
        X, fs, geometry, nfft, method, freq_range, num_sources=num_sources, grid=grid,
        points=points, resolution=resolution, point_resolution=point_resolution, coarse=coarse,
        min_separation=min_separation,
        counting=counting, srp_kernel=srp_kernel, c=c,
    )  # fmt: skip
    power = np.abs(np.asarray(X)[0]) ** 2  # (F_all, T) first channel
    why = _confidence.band_reason(power.sum(0), np.sum(np.abs(Xb[0]) ** 2, 0), plan.freq_range)
    return _search(plan, _Stats(X=Xb, no_source=why))


def locate_cov(
    cov: npt.ArrayLike,
    freqs: npt.ArrayLike,
    geometry: ArrayGeometry,
    *,
    method: CovMethod = "srp-phat",
    num_sources: int | Literal["auto"] = 1,
    grid: Literal["azimuth", "sphere"] | npt.ArrayLike | None = None,
    points: npt.ArrayLike | None = None,
    resolution: float = 1.0,
    point_resolution: float | None = None,
    coarse: float | None = None,
    min_separation: float | None = None,
    counting: Counting = "clean",
    n_frames: int | None = None,
    c: float = SPEED_OF_SOUND,
) -> DOAResult:
    """Directions of arrival from a spatial covariance (e.g. a recursively averaged one).

    The same search as :func:`locate` (grids, coarse-to-fine, peaks, several
    sources) on second-order statistics alone, for streaming
    (:class:`arraykit.beamform.RecursiveCovariance`, :func:`arraykit.live.track`).

    - ``"music"``, ``"normmusic"``: the subspaces of `cov`, exactly as
      :func:`locate_stft` computes them from ``X X^H / T``: on
      ``covariance(X)`` of the same band frames the results are equal.
    - ``"srp-phat"``: the covariance is PHAT-normalised element by element,
      ``R_ij / |R_ij|`` (diagonal 1), and steered: the mean over pairs and bins of
      the GCC-PHAT of the *averaged* cross-spectra at each direction's model delays.
      :func:`locate_stft` whitens every frame *before* averaging; the two are equal
      for a single frame (``x_i x_j* / |x_i x_j*| = x~_i x~_j*``) and for any number
      of frames whose cross-spectra share one phase per bin (one noise-free plane
      wave), and otherwise differ: averaging first weights loud frames more.

    Parameters
    ----------
    cov : array_like [shape=(F, M, M)]
        Hermitian spatial covariance of the band's bins, ``M = geometry.n_mics``.
    freqs : array_like [shape=(F,)]
        The bins' frequencies, Hz (> 0): only the band you want searched.
    geometry : ArrayGeometry
    method : {"srp-phat", "music", "normmusic"}
        TOPS and tdoa-ls need the frames: use :func:`locate_stft`.
    num_sources, grid, points, resolution, coarse, min_separation, counting, c
        As for :func:`locate`.
    n_frames : int, optional
        Frames (or effective frames, about ``1 / (1 - alpha)`` for a recursive
        estimate) behind `cov`: needed only by ``counting="mdl"``.

    Returns
    -------
    DOAResult
        ``freq_range`` is ``(min(freqs), max(freqs))``.

    Examples
    --------
    >>> import numpy as np, arraykit as ak
    >>> g = ak.load_geometry("respeaker-usb-4mic")
    >>> freqs = np.linspace(300.0, 3500.0, 60)
    >>> a = np.exp(-2j * np.pi * freqs[:, None] * g.delays((75.0, 0.0)))  # (F, M)
    >>> cov = a[:, :, None] * a[:, None, :].conj() + 0.1 * np.eye(4)  # one plane wave + noise
    >>> res = ak.doa.locate_cov(cov, freqs, g, method="music", resolution=0.1)
    >>> round(float(res.azimuth[0]), 1)
    75.0
    """
    geometry = _geometry(geometry)
    if method in METHODS and method not in COV_METHODS:
        raise v.fail(
            "method",
            method,
            f"needs the STFT frames; locate_cov runs {', '.join(map(repr, COV_METHODS))} "
            "(use locate or locate_stft)",
        )
    method = v.choice("method", method, COV_METHODS)
    M = geometry.n_mics
    C = v.finite_array("cov", cov, ndim=3, dtype=complex)
    if C.shape[1:] != (M, M) or C.shape[0] < 1:
        raise v.fail("cov", cov, f"must be covariances of shape (F, M={M}, M={M})")
    scale = float(np.max(np.abs(C))) if C.size else 0.0
    if np.max(np.abs(C - np.conj(C.transpose(0, 2, 1)))) > 1e-8 * max(scale, 1e-300):
        raise v.fail("cov", cov, "is not Hermitian in every bin (R[f] != R[f]^H)")
    if not np.any(C):
        raise v.fail("cov", cov, "is zero in every bin: nothing was heard")
    f = v.frequencies("freqs", freqs)
    if f.shape != (C.shape[0],) or np.any(f <= 0):
        raise v.fail("freqs", freqs, f"must be {C.shape[0]} frequencies > 0 Hz, one per bin of cov")
    T = None
    if n_frames is not None:
        T = v.integer("n_frames", n_frames, 1)
    if num_sources == "auto" and counting == "mdl" and T is None:
        raise v.fail("n_frames", n_frames, "counting='mdl' needs the number of frames behind cov")
    plan = _plan(
        geometry, method, f, (float(f.min()), float(f.max())), fs=math.nan, nfft=0,
        num_sources=num_sources, grid=grid, points=points, resolution=resolution,
        point_resolution=point_resolution, coarse=coarse,
        min_separation=min_separation, counting=counting, srp_kernel="steered", c=c,
    )  # fmt: skip
    cov_h = 0.5 * (C + np.conj(C.transpose(0, 2, 1)))
    return _search(plan, _Stats(cov=cov_h, n_frames=T, whitened=False))


def locate_blocks(
    signals: npt.ArrayLike,
    fs: float,
    geometry: ArrayGeometry,
    *,
    block: float = 0.5,
    hop: float | None = None,
    method: Method = "srp-phat",
    num_sources: int | Literal["auto"] = 1,
    freq_range: tuple[float, float] = (300.0, 3500.0),
    nfft: int = 512,
    grid: Literal["azimuth", "sphere"] | npt.ArrayLike | None = None,
    points: npt.ArrayLike | None = None,
    resolution: float = 1.0,
    point_resolution: float | None = None,
    coarse: float | None = None,
    min_separation: float | None = None,
    counting: Counting = "clean",
    srp_kernel: SrpKernel = "auto",
    c: float = SPEED_OF_SOUND,
) -> BlocksResult:
    """Directions per block of `block` seconds, advancing by `hop` (default `block`).

    For moving talkers: the STFT is computed once, the steering once, and each block
    of frames is searched as :func:`locate` would. With several sources, each block's
    estimates are ordered to follow the previous block's (nearest direction).
    """
    from arraykit.stft import frame_times, stft_band, stft_transform

    plan, stats = _plan_signals(
        signals, fs, geometry, nfft, method, freq_range, frames=True, num_sources=num_sources,
        grid=grid, points=points, resolution=resolution, point_resolution=point_resolution,
        coarse=coarse, min_separation=min_separation,
        counting=counting, srp_kernel=srp_kernel, c=c,
    )  # fmt: skip
    Xb = stats.frames()
    hop_s = block if hop is None else hop
    block = v.positive("block", block)
    hop_s = v.positive("hop", hop_s)
    fs, nfft = plan.fs, plan.nfft
    frames_per_block = max(2, round(block * fs / (nfft // 2)))
    frames_hop = max(1, round(hop_s * fs / (nfft // 2)))
    T = Xb.shape[2]
    if frames_per_block > T:
        raise v.fail(
            "block", block, f"is longer than the signal ({T} frames of {nfft // 2} samples)"
        )
    starts = np.arange(0, T - frames_per_block + 1, frames_hop)
    times_all = frame_times(fs, T, nfft=nfft)
    results = []
    prev: np.ndarray | None = None
    # multi-talker: each block's share of the first channel's power inside the band
    x0 = np.asarray(signals, dtype=float)[:1]
    all_bins = slice(0, nfft // 2 + 1)
    full = np.sum(np.abs(stft_band(x0, stft_transform(fs, nfft=nfft), all_bins)) ** 2, axis=(0, 1))
    inband = np.sum(np.abs(Xb[0]) ** 2, axis=0)  # (T,)
    for t0 in starts:  # a loop over blocks (few); every block is vectorized
        sl = slice(t0, t0 + frames_per_block)
        why = _confidence.band_reason(full[sl], inband[sl], plan.freq_range)
        try:
            res = _search(plan, _Stats(X=Xb[:, :, sl], no_source=why))
        except NoSourceError as e:  # a fixed count in a block with no source: NaN there
            res = _no_source(plan, _grid_directions(plan), None, e.reason)
        if prev is not None and res.num_sources > 1 and len(prev) == res.num_sources:
            res = _follow(res, prev)
        prev = res.directions
        results.append(res)
    K = max(1, max(r.num_sources for r in results))

    def stack(attr: str) -> np.ndarray:
        out = np.full((len(results), K), np.nan)
        for b, r in enumerate(results):
            vals = getattr(r, attr)
            out[b, : len(vals)] = vals
        return out

    return BlocksResult(
        times=np.array([times_all[t0 : t0 + frames_per_block].mean() for t0 in starts]),
        azimuth=stack("azimuth"),
        elevation=stack("elevation"),
        power=stack("power"),
        spectra=np.stack([r.spectrum for r in results]),
        grid=results[0].grid,
        method=plan.method,
        blocks=results,
    )


# ------------------------------------------------------------------- planning
@dataclass(frozen=True, eq=False)
class _Plan:
    fs: float  # the STFT's (NaN for a covariance plan: it uses the steered SRP kernel)
    nfft: int  # the STFT's (0 for a covariance plan)
    geometry: ArrayGeometry
    method: str
    num_sources: int | str
    freqs: np.ndarray
    freq_range: tuple[float, float]
    directions: np.ndarray | None  # (G, 2) coarse grid, or None for points
    points: np.ndarray | None
    grid_kind: str  # "ring", "arc", "sphere", "user", "points"
    resolution: float
    point_resolution: float | None  # metres, near-field refinement
    coarse: float
    min_separation: float
    counting: str
    srp_kernel: str
    c: float

    def steering(self, directions: np.ndarray | None = None) -> Steering:
        if directions is None:
            return self._grid_steering
        return Steering(self.geometry, self.freqs, directions, None, self.c)

    @cached_property
    def _grid_steering(self) -> Steering:  # the plan's own grid or points (plans are reused)
        if self.points is not None:
            return Steering(self.geometry, self.freqs, None, self.points, self.c)
        return Steering(self.geometry, self.freqs, self.directions, None, self.c)


@dataclass(eq=False)
class _Stats:
    """The band's statistics a search reads: frames, or a covariance alone.

    From frames ``X`` ``(M, F, T)`` the covariance ``X X^H / T`` and the
    frame-whitened cross-spectra (:func:`phat_cross_spectra`) are computed on first
    use; from a covariance, the PHAT cross-spectra are its element-wise
    normalisation (:func:`phat_covariance`).
    """

    X: np.ndarray | None = None  # (M, F, T) band STFT
    cov: np.ndarray | None = None  # (F, M, M)
    n_frames: int | None = None
    phat_spectra: np.ndarray | None = None
    no_source: str | None = None  # why nothing can be located (silence, empty band)
    whitened: bool = True  # PHAT of frames (False: of a covariance alone)

    def __post_init__(self) -> None:
        if self.X is not None and self.n_frames is None:
            self.n_frames = self.X.shape[2]

    def covariance(self) -> np.ndarray:
        if self.cov is None:
            assert self.X is not None
            self.cov = covariance(self.X)
        return self.cov

    def phat(self) -> np.ndarray:
        if self.phat_spectra is None:
            self.phat_spectra = (
                phat_cross_spectra(self.X) if self.X is not None else phat_covariance(self.cov)
            )
        return self.phat_spectra

    def frames(self) -> np.ndarray:
        assert self.X is not None, "TOPS and tdoa-ls need frames (locate_cov rejects them)"
        return self.X


def _plan_stft(
    X: Any,
    fs: Any,
    geometry: ArrayGeometry,
    nfft: int,
    method: Any,
    freq_range: Any,
    **options: Any,
) -> tuple[_Plan, np.ndarray]:
    """Validate an STFT search; the plan and the band's frames ``(M, F_band, T)``.

    `options` are :func:`_plan`'s search options (``num_sources`` ... ``c``).
    """
    plan, band = _plan_band(fs, geometry, nfft, method, freq_range, **options)
    M, nfft = plan.geometry.n_mics, plan.nfft
    X = np.asarray(X)
    if X.ndim != 3 or X.shape[0] != M or X.shape[1] != nfft // 2 + 1:
        raise v.fail("X", X, f"must be an STFT of shape (M={M}, F={nfft // 2 + 1}, T)")
    if X.shape[2] < 1:
        raise v.fail("X", X, "has no frames")
    # laid out (F_band, M, T) in memory, the order in which the searches multiply it
    Xb = np.ascontiguousarray(X[:, band, :].transpose(1, 0, 2)).transpose(1, 0, 2)
    return plan, Xb


def _plan_signals(
    signals: Any,
    fs: Any,
    geometry: ArrayGeometry,
    nfft: int,
    method: Any,
    freq_range: Any,
    *,
    frames: bool = False,
    **options: Any,
) -> tuple[_Plan, _Stats]:
    """Validate a search on time signals; the plan and the band's statistics.

    Only the band's bins are transformed (:func:`arraykit.stft.stft_band_chunks`,
    equal to :func:`arraykit.stft.stft`'s to rounding), and a search that reads one
    statistic accumulates it chunk by chunk without keeping the frames: the PHAT
    cross-spectra (SRP-PHAT, tdoa-ls) in single precision -- sums of unit-magnitude
    phase terms, for which float32 (phase error ~1e-7 rad) is ample; the maps agree
    with the double-precision ones to ~1e-6 -- or the covariance (MUSIC, NormMUSIC)
    in double. TOPS, searches needing both, and `frames=True` keep the band's frames.
    """
    from arraykit.stft import frame_count, stft_band, stft_transform

    n_mics = _geometry(geometry).n_mics
    x = v.signals("signals", signals, n_mics, check_finite=False)  # checked below
    plan, band = _plan_band(fs, geometry, nfft, method, freq_range, **options)
    if x.shape[1] < plan.nfft:
        raise v.fail("signals", signals, f"has {x.shape[1]} samples, fewer than nfft={plan.nfft}")
    sft = stft_transform(plan.fs, nfft=plan.nfft)
    auto = plan.num_sources == "auto"
    phat = True  # the no-source check and the confidence read the SRP-PHAT map
    cov = plan.method in ("music", "normmusic") or (auto and plan.counting == "mdl")
    T = frame_count(sft, x.shape[1])
    if not np.any(x):  # multi-talker: silence is an outcome, not a direction
        F = band.stop - band.start
        silent = (
            _Stats(X=np.zeros((n_mics, F, T), complex))
            if frames
            else _Stats(n_frames=T, phat_spectra=np.zeros((F, n_mics, n_mics), np.complex64))
        )
        silent.no_source = _confidence.band_reason(np.zeros(1), np.zeros(1), plan.freq_range)
        return plan, silent
    if frames or plan.method == "tops" or (phat and cov):
        x = _checked_signals(signals, n_mics)
        return plan, _Stats(X=stft_band(x, sft, band), no_source=_band_share(x, sft, band, plan))
    if phat:  # float32 spans 1e-38..3e38: bring a signal far from 1 near it (PHAT sees no scale)
        level = float(np.abs(x[:, :: max(1, x.shape[1] // 2048)]).max())
        if not 2.0**-60 < level < 2.0**60:
            x = _unit_peak(x)
    stat = _band_statistic(x, sft, band, T, phat=phat)
    if not (stat.any() and np.isfinite(stat).all()):
        # NaN or inf samples (every one reaches the statistic), silence, or samples
        # beyond the range of the precision (overflow): look closer
        x = _checked_signals(signals, n_mics)
        stat = _band_statistic(_unit_peak(x), sft, band, T, phat=phat)
    why = _band_share(x, sft, band, plan)
    if phat:
        return plan, _Stats(n_frames=T, phat_spectra=stat, no_source=why)
    return plan, _Stats(n_frames=T, cov=stat, no_source=why)


def _band_share(x: np.ndarray, sft: Any, band: slice, plan: _Plan) -> str | None:
    """Why the band holds nothing to locate, from the first channel's STFT (None: it
    holds enough; see :func:`arraykit.doa.confidence.band_reason`)."""
    from arraykit.stft import stft_band

    X0 = stft_band(_unit_peak(x[:1]), sft, slice(0, plan.nfft // 2 + 1))
    power = np.abs(X0[0]) ** 2  # (F_all, T)
    return _confidence.band_reason(power.sum(0), power[band].sum(0), plan.freq_range)


def _unit_peak(x: np.ndarray) -> np.ndarray:
    """`x` scaled to a peak of 1 (neither PHAT nor the subspace methods see an overall
    scale); as it is if its peak is 0 or not finite (the checks will say why)."""
    peak = float(np.abs(x).max())
    return x / peak if 0 < peak < np.inf else x


def _checked_signals(signals: Any, n_mics: int) -> np.ndarray:
    """The signals, finite, not all zero (the checks of :func:`_plan_signals`)."""
    x = v.signals("signals", signals, n_mics)
    if not np.any(x):
        raise v.fail("signals", signals, "are all zero (silence): nothing to locate")
    return x


def _band_statistic(
    x: np.ndarray, sft: Any, band: slice, n_frames: int, *, phat: bool
) -> np.ndarray:
    """The band's PHAT cross-spectra (single precision) or covariance (double),
    accumulated chunk by chunk."""
    from arraykit.stft import stft_band_chunks

    dtype = np.float32 if phat else np.float64
    # PHAT does not see a factor common to the channels of a bin; a covariance keeps it
    chunks = stft_band_chunks(x, sft, band, dtype=dtype, scaled=not phat)
    with np.errstate(over="ignore", invalid="ignore"):  # the caller checks the result
        return cross_spectra_chunks((X for _, X in chunks), n_frames, phat=phat)


def _kept(make: Callable[..., _T]) -> Callable[..., _T]:
    """Keep what `make` returns for hashable arguments (the last 64 sets).

    Arguments are compared with their types (``True`` is not ``1`` here, so a value
    that validation refuses is never served from memory); unhashable ones (arrays:
    a user grid, points) make afresh. What `make` returns must be immutable.
    """
    kept: LRU[_T] = LRU(64)

    @wraps(make)
    def cached(*args: Any, **options: Any) -> _T:
        items = [*enumerate(args), *sorted(options.items())]
        try:
            key = tuple((k, _typed(a)) for k, a in items)
            hash(key)
        except TypeError:
            return make(*args, **options)
        made = kept.get(key)
        if made is None:
            made = make(*args, **options)
            kept.put(key, made)
        return made

    return cached


def _typed(value: Any) -> Any:
    """`value` with the type of every element beside it (lists become tuples)."""
    if isinstance(value, list | tuple):
        return ("seq", tuple(_typed(a) for a in value))
    return (type(value).__name__, value)


@_kept
def _plan_band(
    fs: Any,
    geometry: ArrayGeometry,
    nfft: int,
    method: Any,
    freq_range: Any,
    **options: Any,
) -> tuple[_Plan, slice]:
    """The plan of a search and the STFT bins of its band, as a slice (plans are
    immutable and kept for repeated calls: :func:`_kept`)."""
    geometry = _geometry(geometry)
    fs = v.positive("fs", fs)
    method = v.choice("method", method, METHODS)
    nfft = v.integer("nfft", nfft, 8)
    mask, fr = v.band_bins("freq_range", freq_range, fs, nfft, need=2 if method == "tops" else 1)
    idx = np.flatnonzero(mask)  # the band is contiguous
    band = slice(int(idx[0]), int(idx[-1]) + 1)
    freqs = np.arange(band.start, band.stop) * fs / nfft
    freqs.setflags(write=False)
    return _plan(geometry, method, freqs, fr, fs=fs, nfft=nfft, **options), band


def _check_count(num_sources: Any, method: str, M: int) -> None:
    if num_sources != "auto":
        if isinstance(num_sources, bool) or not isinstance(num_sources, int | np.integer):
            raise v.fail("num_sources", num_sources, "must be a positive integer or 'auto'")
        if not 1 <= num_sources <= M - 1:
            raise v.fail(
                "num_sources",
                num_sources,
                f"must lie in 1..{M - 1}: an array of {M} microphones resolves at most {M - 1} sources",
            )
        if method == "tdoa-ls" and num_sources != 1:
            raise v.fail("num_sources", num_sources, "method 'tdoa-ls' finds one source")


def _plan(
    geometry: ArrayGeometry,
    method: str,
    freqs: np.ndarray,
    freq_range: tuple[float, float],
    *,
    fs: float,
    nfft: int,
    num_sources: Any,
    grid: Any,
    points: Any,
    resolution: Any,
    point_resolution: Any,
    coarse: Any,
    min_separation: Any,
    counting: Any,
    srp_kernel: Any,
    c: Any,
) -> _Plan:
    """The search plan shared by every entry point: grid, options, the band's bins."""
    c = v.positive("c", c)
    counting = v.choice("counting", counting, ("clean", "peaks", "mdl"))
    srp_kernel = v.choice("srp_kernel", srp_kernel, ("auto", "steered", "lookup"))
    _check_count(num_sources, method, geometry.n_mics)
    res = v.positive("resolution", resolution)
    point_res = None
    if point_resolution is not None:
        point_res = v.positive("point_resolution", point_resolution)
        if points is None:
            raise v.fail(
                "point_resolution", point_resolution, "refines near-field points: give points too"
            )
    # grid
    pts = None
    if points is not None:
        if grid is not None:
            raise v.fail(
                "grid", grid, "give either grid (directions) or points (near field), not both"
            )
        if method == "tdoa-ls":
            raise v.fail(
                "points", points, "method 'tdoa-ls' is a far-field solver; use srp-phat or music"
            )
        pts = v.finite_array("points", points, ndim=2).copy()
        if pts.shape[1] != 3 or pts.shape[0] < 1:
            raise v.fail("points", points, "must be candidate positions (G, 3) in metres")
        pts.setflags(write=False)  # the plan's, and the result's: plans are kept
        rel = pts - geometry.centroid
        if np.any(np.linalg.norm(rel, axis=1) < 1e-6):
            raise v.fail("points", points, "a candidate point sits on the array centroid")
        directions, kind, coarse_step = directions_from_vectors(rel), "points", res
        sep_default = DEFAULT_POINT_SEPARATION
    else:
        if grid is None or isinstance(grid, str):
            name = "azimuth" if grid is None else v.choice("grid", grid, ("azimuth", "sphere"))
            default_coarse = 1.0 if name == "azimuth" or geometry.layout == "linear" else 3.0
            coarse_step = max(
                res, default_coarse if coarse is None else v.positive("coarse", coarse)
            )
            directions = _grids.layout_grid(geometry, name, coarse_step)
            if geometry.layout == "linear" or name == "azimuth":
                full = geometry.layout != "linear"
                kind = "ring" if full else "arc"
                if geometry.layout == "linear" and geometry.azimuth_coverage == 0:
                    kind = "arc-el"
            else:
                kind = "sphere"
        else:
            directions = v.directions("grid", grid)
            directions = np.stack([np.mod(directions[:, 0], 360.0), directions[:, 1]], axis=1)
            kind, coarse_step = "user", res
        sep_default = _extract.default_separation(geometry, freqs, c)  # multi-talker
    sep = (
        sep_default
        if min_separation is None
        else float(v.finite_array("min_separation", min_separation, ndim=0))
    )
    if sep < 0:
        raise v.fail("min_separation", min_separation, "must be >= 0")
    return _Plan(
        fs=fs, nfft=nfft, geometry=geometry, method=method, num_sources=num_sources,
        freqs=freqs, freq_range=freq_range,
        directions=None if pts is not None else directions, points=pts, grid_kind=kind,
        resolution=res, point_resolution=point_res, coarse=coarse_step, min_separation=sep,
        counting=counting,
        srp_kernel=srp_kernel, c=c,
    )  # fmt: skip


# --------------------------------------------------------------------- search
def _search(plan: _Plan, stats: _Stats) -> DOAResult:
    geometry = plan.geometry
    M = geometry.n_mics
    reason = ""
    K = plan.num_sources
    steer = plan.steering()
    grid_dirs = _grid_directions(plan)
    # multi-talker: is there a directional source at all? (arraykit.doa.confidence)
    srp = _srp_map(plan, stats.phat(), steer) if stats.no_source is None else None
    floor = float(np.median(srp)) if srp is not None else 0.0
    top = float(srp.max()) - floor if srp is not None else 0.0
    nothing = stats.no_source
    if nothing is None and stats.whitened:
        nothing = _confidence.weak_reason(top)
    if nothing is not None:
        if K != "auto":
            raise NoSourceError(nothing)
        return _no_source(plan, grid_dirs, srp, f"auto: 0 sources ({nothing})")
    assert srp is not None
    if K == "auto":
        if plan.method == "tdoa-ls":
            K, reason = 1, "auto: tdoa-ls finds one source"
        elif plan.counting == "mdl":
            assert stats.n_frames is not None
            K, reason = _count_mdl(stats.covariance(), stats.n_frames, M)
        elif plan.counting == "peaks":
            K, reason = _count_peaks(srp, plan, M)
        else:
            K, reason = _count_clean(plan, stats, steer)
            if K == 0:
                return _no_source(plan, grid_dirs, srp, reason)
    else:
        reason = f"given: num_sources={K}"
    K = int(K)
    evaluate = _evaluator(plan, stats, K)
    spectrum = srp if plan.method == "srp-phat" else evaluate(steer)
    idx, on_peak = _peaks(spectrum, plan, K)
    positions = None
    if plan.points is not None:
        positions, power = _refine_points(plan, evaluate, plan.points[idx], spectrum[idx])
        est = directions_from_vectors(positions - geometry.centroid)
    elif plan.method == "tdoa-ls":
        est, power = _tdoa_ls(plan, stats.phat())
    else:
        est, power = _refine(plan, evaluate, grid_dirs[idx], spectrum[idx])
        # multi-talker: a point that is no peak is reported where it was found
        est[~on_peak], power[~on_peak] = grid_dirs[idx[~on_peak]], spectrum[idx[~on_peak]]
    # multi-talker: the SRP-PHAT height of each estimate gives its confidence
    if plan.method in ("srp-phat", "tdoa-ls"):
        at = power  # tdoa-ls: SRP-PHAT at the solved direction
    elif positions is not None:
        at = _srp_map(plan, stats.phat(), Steering(geometry, plan.freqs, None, positions, plan.c))
    else:
        at = _srp_map(plan, stats.phat(), plan.steering(est))
    confidence = _confidence.confidence(at - floor, top, on_peak)
    mirror = geometry._mirrors(est)  # est is ours: no need to validate it
    for arr in (est, power, spectrum, grid_dirs, mirror, on_peak, confidence):
        arr.setflags(write=False)
    return DOAResult(
        azimuth=est[:, 0],
        elevation=est[:, 1],
        power=power,
        spectrum=spectrum,
        grid=grid_dirs,
        method=plan.method,
        num_sources=K,
        count_reason=reason,
        mirror=mirror,
        positions=positions,
        points=plan.points,
        freq_range=plan.freq_range,
        on_peak=on_peak,
        confidence=confidence,
    )


def _grid_directions(plan: _Plan) -> np.ndarray:
    """The grid's directions (of each point seen from the centroid for a near-field plan)."""
    if plan.points is None:
        assert plan.directions is not None
        return plan.directions
    return directions_from_vectors(plan.points - plan.geometry.centroid)


def _no_source(
    plan: _Plan, grid_dirs: np.ndarray, srp: np.ndarray | None, reason: str
) -> DOAResult:
    """A result with no source (``num_sources="auto"`` when nothing directional is heard)."""
    spectrum = srp if srp is not None else np.zeros(len(grid_dirs))
    empty = np.zeros(0)
    for arr in (spectrum, grid_dirs, empty):
        arr.setflags(write=False)
    return DOAResult(
        azimuth=empty, elevation=empty, power=empty, spectrum=spectrum, grid=grid_dirs,
        method=plan.method, num_sources=0, count_reason=reason, mirror=np.zeros((0, 2)),
        positions=None if plan.points is None else np.zeros((0, 3)), points=plan.points,
        freq_range=plan.freq_range, on_peak=np.zeros(0, dtype=bool), confidence=empty,
    )  # fmt: skip


def _count_clean(plan: _Plan, stats: _Stats, steer: Steering) -> tuple[int, str]:
    """``counting="clean"``: :func:`arraykit.doa.extract.clean_count` on the plan's grid."""
    M = plan.geometry.n_mics
    kmax = min(M - 1, MAX_AUTO_SOURCES)

    def srp_map(R: np.ndarray) -> np.ndarray:
        return _srp_map(plan, R, steer)

    def steer_at(i: int) -> np.ndarray:
        if plan.points is not None:
            A = Steering(plan.geometry, plan.freqs, None, plan.points[i : i + 1], plan.c)
        else:
            assert plan.directions is not None
            A = plan.steering(plan.directions[i : i + 1])
        a = next(A.chunks())[1][:, 0, :]  # (F, M)
        return a / np.abs(a)

    def peaks_of(m: np.ndarray) -> np.ndarray:
        return _peak_mask(m, plan)

    def apart(i: int, chosen: Iterable[int]) -> bool:
        return all(_separation(plan, i, j) >= plan.min_separation for j in chosen)

    K, heights = _extract.clean_count(
        stats.phat(), srp_map, steer_at, peaks_of, apart, kmax, _confidence.NO_SOURCE_FLOOR
    )
    shown = ", ".join(f"{h:.3f}" for h in heights)
    if K == 0:
        return 0, f"auto (clean): 0 sources ({_confidence.weak_reason(float(heights[0]))})"
    return K, (
        f"auto (clean): {K} source(s) removed one by one from the PHAT cross-spectra while the "
        f"residual map's peak rose at least {_extract.CLEAN_RATIO:.0%} as high above its median "
        f"as the first and at least {_confidence.NO_SOURCE_FLOOR} (heights {shown})"
    )


def _srp_map(plan: _Plan, R: np.ndarray, steer: Steering) -> np.ndarray:
    """The SRP-PHAT map of a plan's search (small grids, such as refinement patches,
    take the steered kernel)."""
    kernel = plan.srp_kernel if steer.n_grid > 64 else "steered"
    return srp_phat_map(R, steer, fs=plan.fs, nfft=plan.nfft, kernel=kernel)


def _evaluator(plan: _Plan, stats: _Stats, K: int) -> Callable[[Steering], np.ndarray]:
    """A function grid -> spectrum for the plan's method, with its statistics fixed."""
    if plan.method in ("srp-phat", "tdoa-ls"):
        R = stats.phat()

        def srp(steer: Steering) -> np.ndarray:
            if plan.method == "tdoa-ls":
                return _tdoa_map(plan, R, steer)
            return _srp_map(plan, R, steer)

        return srp
    if plan.method in ("music", "normmusic"):
        _, Es, En = subspaces(stats.covariance(), K)
        norm: list[np.ndarray] = []

        def music(steer: Steering) -> np.ndarray:
            pf = music_bins(Es, En, steer)  # (F, G)
            if plan.method == "normmusic":
                if not norm:  # per-bin maxima of the first (full, coarse) grid
                    norm.append(pf.max(axis=1, keepdims=True))
                pf = pf / norm[0]
            return pf.mean(axis=0)

        return music

    X = stats.frames()

    def tops(steer: Steering) -> np.ndarray:
        return tops_map(X, steer, K)

    return tops


def _refine(
    plan: _Plan,
    evaluate: Callable[[Steering], np.ndarray],
    coarse_dirs: np.ndarray,
    coarse_power: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    if plan.grid_kind in ("user", "points") or plan.resolution >= plan.coarse - 1e-12:
        return coarse_dirs.copy(), coarse_power.copy()
    est = np.empty_like(coarse_dirs)
    power = np.empty(len(coarse_dirs))
    for k, d in enumerate(coarse_dirs):  # a loop over the K sources
        ring = plan.grid_kind in ("ring", "arc")
        if plan.grid_kind == "arc-el":
            loc = np.stack(
                [np.zeros(2 * math.ceil(plan.coarse / plan.resolution) + 1),
                 np.clip(d[1] + np.arange(-math.ceil(plan.coarse / plan.resolution),
                                          math.ceil(plan.coarse / plan.resolution) + 1) * plan.resolution, -90, 90)],
                axis=1,
            )  # fmt: skip
        else:
            loc = _grids.local_grid(d, plan.coarse, plan.resolution, ring=ring)
        if plan.grid_kind == "arc":
            loc = _inside_arc(loc, plan.directions)
        if plan.grid_kind == "sphere" and plan.geometry.layout == "planar":
            loc = loc[loc[:, 1] >= -1e-9]
        vals = evaluate(plan.steering(loc))
        j = int(np.argmax(vals))
        if vals[j] >= coarse_power[k]:
            est[k], power[k] = loc[j], vals[j]
        else:
            est[k], power[k] = d, coarse_power[k]
    return est, power


_MAX_LATTICE = 20_000  # points per refinement pass; finer lattices zoom in stages


def _refine_points(
    plan: _Plan,
    evaluate: Callable[[Steering], np.ndarray],
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
    step = plan.point_resolution
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
    plan: _Plan,
    evaluate: Callable[[Steering], np.ndarray],
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


# ---------------------------------------------------------------------- peaks
def _peaks(
    spectrum: np.ndarray, plan: _Plan, K: int, *, fill: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the K strongest peaks, at least `min_separation` apart, and whether
    each is a peak (``on_peak``; see :func:`arraykit.doa.extract.choose`).

    On rings and arcs a peak is a local maximum with a topographic prominence of at
    least :data:`~arraykit.doa.extract.PROMINENCE` of the map's range; on spheres,
    user grids and point grids it is the maximum within 2.5 grid spacings.
    """
    if K == 1 and fill and plan.grid_kind in ("ring", "arc", "arc-el"):
        return np.array([int(np.argmax(spectrum))]), np.ones(1, dtype=bool)  # the top peak
    local = _peak_mask(spectrum, plan)

    def apart(i: int, chosen: Iterable[int]) -> bool:
        return all(_separation(plan, i, j) >= plan.min_separation for j in chosen)

    return _extract.choose(spectrum, local, K, apart, fill=fill)


def _peak_mask(spectrum: np.ndarray, plan: _Plan) -> np.ndarray:
    """``(G,)`` bool: the peaks of a map (see :func:`_peaks`)."""
    G = spectrum.shape[0]
    local = np.zeros(G, dtype=bool)
    if plan.grid_kind in ("ring", "arc", "arc-el"):
        local = _extract.ring_maxima(spectrum, closed=plan.grid_kind == "ring")
    elif G > 1:
        from scipy.spatial import cKDTree

        coords = plan.points if plan.points is not None else _unit(plan.directions)
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
    return local


def _separation(plan: _Plan, i: int, j: int) -> float:
    if plan.points is not None:
        return float(np.linalg.norm(plan.points[i] - plan.points[j]))
    assert plan.directions is not None
    return float(_grids.angular_distance(plan.directions[i], plan.directions[j]))


def _unit(d: np.ndarray | None) -> np.ndarray:
    from arraykit.geometry import unit_vectors

    return unit_vectors(d)


# ------------------------------------------------------------------- counting
def _count_peaks(srp: np.ndarray, plan: _Plan, M: int) -> tuple[int, str]:
    kmax = min(M - 1, MAX_AUTO_SOURCES)
    idx, _ = _peaks(srp, plan, kmax, fill=False)
    floor = float(np.median(srp))
    top = float(srp[idx[0]]) - floor
    heights = (srp[idx] - floor) / max(top, 1e-12)
    K = max(1, int(np.sum(heights >= PEAK_RATIO)))
    shown = ", ".join(f"{h:.2f}" for h in heights[: K + 1])
    return K, (
        f"auto (peaks): {K} peak(s) of the SRP-PHAT map rise at least {PEAK_RATIO:.0%} "
        f"as high above its median as the strongest (relative heights {shown})"
    )


def _count_mdl(C: np.ndarray, T: int, M: int) -> tuple[int, str]:
    """Wax-Kailath MDL per bin on the eigenvalues of `C` from `T` frames; the median over bins."""
    lam = np.linalg.eigvalsh(C)[:, ::-1]  # (F, M) descending
    lam = np.maximum(lam.real, 1e-30)
    ks = np.arange(M)  # candidate counts 0..M-1
    mdl = np.empty((lam.shape[0], M))
    for k in ks:  # a loop over the M candidate counts
        tail = lam[:, k:]
        geo = np.exp(np.mean(np.log(tail), axis=1))
        ari = np.mean(tail, axis=1)
        mdl[:, k] = -T * (M - k) * np.log(geo / ari) + 0.5 * k * (2 * M - k) * np.log(T)
    per_bin = np.argmin(mdl, axis=1)
    K = int(np.clip(round(float(np.median(per_bin))), 1, M - 1))
    return K, f"auto (mdl): median over {lam.shape[0]} bins of the MDL source count is {K}"


# ---------------------------------------------------------------------- tdoa-ls
def _tdoa_delays(plan: _Plan, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from arraykit.gcc import all_pairs, peak_delays

    pairs = all_pairs(plan.geometry.n_mics)
    bins = np.rint(plan.freqs * plan.nfft / plan.fs).astype(int)
    W = np.zeros((len(pairs), plan.nfft // 2 + 1), dtype=complex)
    W[:, bins] = R[:, pairs[:, 0], pairs[:, 1]].T
    p = plan.geometry.positions
    d = np.linalg.norm(p[pairs[:, 0]] - p[pairs[:, 1]], axis=1)
    shift = np.ceil(d / plan.c * plan.fs).astype(int) + 1
    return peak_delays(W, plan.fs, max_shift=shift), pairs


def _tdoa_map(plan: _Plan, R: np.ndarray, steer: Steering) -> np.ndarray:
    """Minus the RMS misfit (in samples) of the measured pair delays to each grid point."""
    taus, pairs = _tdoa_delays(plan, R)
    tau = steer.delays()
    model = tau[:, pairs[:, 0]] - tau[:, pairs[:, 1]]  # (G, P)
    return -np.sqrt(np.mean((model - taus[None, :]) ** 2, axis=1)) * plan.fs


def _tdoa_ls(plan: _Plan, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    taus, pairs = _tdoa_delays(plan, R)
    u = _solve(taus[:, None], pairs, plan.geometry, plan.c)
    d = directions_from_vectors(u)
    if plan.grid_kind == "ring" and plan.directions is not None:
        d[:, 1] = plan.directions[0, 1]  # a ring search reports its own elevation
    steer = plan.steering(d)
    power = srp_phat_map(R, steer, fs=plan.fs, nfft=plan.nfft, kernel="steered")
    return d, power


def _follow(res: DOAResult, prev: np.ndarray) -> DOAResult:
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
        confidence=res.confidence[o],
    )  # fmt: skip


def _geometry(geometry: Any) -> ArrayGeometry:
    if not isinstance(geometry, ArrayGeometry):
        raise v.fail("geometry", geometry, "must be an ArrayGeometry (see arraykit.load_geometry)")
    return geometry
