"""``locate``: where the sound comes from, by any method, on any grid.

Shapes: ``M`` microphones, ``N`` samples, ``F`` band frequencies, ``T`` frames,
``G`` grid points, ``K`` sources, ``B`` blocks.

The four public entry points. Each turns its keyword arguments into the frozen
:class:`arraykit.doa.options.SearchOptions` (via the kept plan,
:mod:`arraykit.doa.plan`), computes the band's statistics
(:mod:`arraykit.doa.statistics`) and hands both to :func:`arraykit.doa.run.run`.

:func:`locate_cov` enters the same path with a spatial covariance instead of frames
(a recursively averaged one in :mod:`arraykit.live`): the statistics then come from
the covariance alone, so the methods that need frames or the STFT's bins (TOPS,
tdoa-ls) are not offered.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v
from arraykit.doa import registry
from arraykit.doa import statistics as _stats
from arraykit.doa.confidence import band_reason
from arraykit.doa.count import tf_applies
from arraykit.doa.options import Counting, GridName, SearchOptions, SrpKernel
from arraykit.doa.plan import Plan, check_geometry, plan_covariance, plan_stft
from arraykit.doa.result import BlocksResult, DOAResult, follow
from arraykit.doa.run import no_source, run
from arraykit.errors import NoSourceError
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry

__all__ = ["locate", "locate_blocks", "locate_cov", "locate_stft"]


def locate(
    signals: npt.ArrayLike,
    fs: float,
    geometry: ArrayGeometry,
    *,
    method: str = "srp-phat",
    num_sources: int | Literal["auto"] = 1,
    freq_range: tuple[float, float] = (300.0, 3500.0),
    nfft: int = 512,
    grid: GridName | npt.ArrayLike | None = None,
    points: npt.ArrayLike | None = None,
    resolution: float = 1.0,
    point_resolution: float | None = None,
    coarse: float | None = None,
    min_separation: float | None = None,
    counting: Counting = "tf",
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
    method : str
        A name in ``arraykit.doa.METHODS``: "srp-phat", "music", "normmusic", "tops",
        "tdoa-ls", or one added with :func:`arraykit.doa.register_method`.
    num_sources : int or "auto"
        K distinct peaks, strongest first; ``"auto"`` estimates K (see `counting`).
        At most ``M - 1`` (and the method's ``max_sources``: ``"tdoa-ls"`` finds one).
        A given K answers noise too: its estimates then carry the reason in
        ``no_source``, and a confidence of 0 where ``"auto"`` would hear no source
        (:func:`arraykit.doa.count.unheard`).
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
        Smallest angle (degrees; metres for `points`) between two reported sources,
        default half the half width of the array's own SRP-PHAT point-spread over the
        band (:func:`arraykit.doa.extract.default_separation`), 0.1 m for `points`.
    counting : {"tf", "clean", "peaks", "mdl"}
        For ``num_sources="auto"`` (:mod:`arraykit.doa.count`): ``"tf"`` counts the
        directions of the time-frequency zones one talker dominates
        (:mod:`arraykit.doa.sparsity`; on rings and arcs from frames, else as
        ``"clean"``), ``"clean"`` the talkers removed one by one from the PHAT
        cross-spectra whose residual peak stands out, ``"peaks"`` the peaks of the
        SRP-PHAT map that rise at least half as high above its median as the
        strongest, ``"mdl"`` the minimum description length of the covariance
        eigenvalues (median over bins). With a given ``num_sources`` of 2 or more,
        ``"tf"`` (on rings and arcs from frames) also places the estimates: at the
        map's peaks near the zones' first K atoms
        (:func:`arraykit.doa.sparsity.seed_zones`); the other rules read the map's K
        highest peaks.
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
    >>> scene = simulate(g, [Source(speech_like(0.5, 16000, seed=0), azimuth=123.4)], 16000, seed=0)
    >>> res = ak.doa.locate(scene.signals, 16000, g, resolution=0.1)
    >>> abs(float(res.azimuth[0]) - 123.4) < 1.0
    True
    """
    options = _options(locals())
    return run(*_from_signals(signals, fs, geometry, options))


def locate_stft(
    X: npt.ArrayLike,
    fs: float,
    geometry: ArrayGeometry,
    *,
    nfft: int = 512,
    method: str = "srp-phat",
    num_sources: int | Literal["auto"] = 1,
    freq_range: tuple[float, float] = (300.0, 3500.0),
    grid: GridName | npt.ArrayLike | None = None,
    points: npt.ArrayLike | None = None,
    resolution: float = 1.0,
    point_resolution: float | None = None,
    coarse: float | None = None,
    min_separation: float | None = None,
    counting: Counting = "tf",
    srp_kernel: SrpKernel = "auto",
    c: float = SPEED_OF_SOUND,
) -> DOAResult:
    """:func:`locate` on an STFT ``(M, F, T)`` already computed with ``nfft`` (same options)."""
    options = _options(locals())
    plan, band = plan_stft(fs, geometry, options)
    M, nfft = plan.geometry.n_mics, plan.nfft
    Xa = np.asarray(X)
    if Xa.ndim != 3 or Xa.shape[0] != M or Xa.shape[1] != nfft // 2 + 1:
        raise v.fail("X", X, f"must be an STFT of shape (M={M}, F={nfft // 2 + 1}, T)")
    if Xa.shape[2] < 1:
        raise v.fail("X", X, "has no frames")
    phat, cov, frames = _reads(plan)
    return run(
        plan,
        _stats.from_stft(
            X, Xa, band, phat=phat, cov=cov, frames=frames, freq_range=plan.freq_range
        ),
    )


def locate_cov(
    cov: npt.ArrayLike,
    freqs: npt.ArrayLike,
    geometry: ArrayGeometry,
    *,
    method: str = "srp-phat",
    num_sources: int | Literal["auto"] = 1,
    grid: GridName | npt.ArrayLike | None = None,
    points: npt.ArrayLike | None = None,
    resolution: float = 1.0,
    point_resolution: float | None = None,
    coarse: float | None = None,
    min_separation: float | None = None,
    counting: Counting = "tf",
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
    method : str
        A name in ``arraykit.doa.COV_METHODS`` (built in: "srp-phat", "music",
        "normmusic"); TOPS and tdoa-ls need the frames: use :func:`locate_stft`.
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
    geometry = check_geometry(geometry)
    if not registry.get(method).from_covariance:
        runs = ", ".join(map(repr, registry.names(from_covariance=True)))
        raise v.fail(
            "method",
            method,
            f"needs the STFT frames; locate_cov runs {runs} (use locate or locate_stft)",
        )
    M = geometry.n_mics
    C = v.finite_array("cov", cov, ndim=3, dtype=complex)
    if C.shape[1:] != (M, M) or C.shape[0] < 1:
        raise v.fail("cov", cov, f"must be covariances of shape (F, M={M}, M={M})")
    scale = float(np.max(np.abs(C))) if C.size else 0.0
    if np.max(np.abs(C - np.conj(C.transpose(0, 2, 1)))) > 1e-8 * max(scale, 1e-300):
        raise v.fail("cov", cov, "is not Hermitian in every bin (R[f] != R[f]^H)")
    f = v.frequencies("freqs", freqs)
    if f.shape != (C.shape[0],) or np.any(f <= 0):
        raise v.fail("freqs", freqs, f"must be {C.shape[0]} frequencies > 0 Hz, one per bin of cov")
    T = None
    if n_frames is not None:
        T = v.integer("n_frames", n_frames, 1)
    if num_sources == "auto" and counting == "mdl" and T is None:
        raise v.fail("n_frames", n_frames, "counting='mdl' needs the number of frames behind cov")
    plan = plan_covariance(geometry, f, _options(locals()))
    C = 0.5 * (C + np.conj(C.transpose(0, 2, 1)))
    # silence is an outcome, as in locate: 0 sources, or NoSourceError for a given count
    silence = None if np.any(C) else "silence: the covariance is zero in every bin"
    power = np.einsum("fmm->m", C).real  # (M,) each channel's power over the band
    copies = _stats.copied_channels(C, cov=True)
    if copies:  # the searches read the other channels' pairs alone
        gone = _stats.left_out(copies)
        C = _stats.without(C.transpose(1, 0, 2), gone).transpose(1, 0, 2)
        C[:, :, list(gone)] = 0
    stats = _stats.BandStatistics(
        cov=C,
        n_frames=T,
        whitened=False,
        no_source=silence,
        dead=_stats.dead_channels(power),
        copies=copies,
    )
    return run(plan, stats)


def locate_blocks(
    signals: npt.ArrayLike,
    fs: float,
    geometry: ArrayGeometry,
    *,
    block: float = 0.5,
    hop: float | None = None,
    memory: float = 3.0,
    method: str = "srp-phat",
    num_sources: int | Literal["auto"] = 1,
    freq_range: tuple[float, float] = (300.0, 3500.0),
    nfft: int = 512,
    grid: GridName | npt.ArrayLike | None = None,
    points: npt.ArrayLike | None = None,
    resolution: float = 1.0,
    point_resolution: float | None = None,
    coarse: float | None = None,
    min_separation: float | None = None,
    counting: Counting = "tf",
    srp_kernel: SrpKernel = "auto",
    c: float = SPEED_OF_SOUND,
) -> BlocksResult:
    """Directions per block of `block` seconds, advancing by `hop` (default `block`).

    For moving talkers: the STFT is computed once, the steering once, and each block
    of frames is searched as :func:`locate` would. With several sources, each block's
    estimates are ordered to follow the previous block's (nearest direction).

    A block with no source (silence, no energy in the band; with ``"auto"`` also one
    whose map holds no directional source) is NaN in ``azimuth`` and has its reason
    in ``blocks[b].count_reason``. ``talkers`` lists, per block, every direction heard
    within about `memory` seconds (each block's estimates weighted by their confidence,
    fading with time constant `memory`): two people talking in turns are both listed
    though each block hears one. A block whose estimates carry a `no_source` warning (a
    given count in noise) adds nothing to ``talkers``: they fade there.
    """
    from arraykit.stft import frame_times, stft_band, stft_transform

    options = _options(locals())
    plan, stats = _from_signals(signals, fs, geometry, options, frames=True)
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
    # each block's share of the power inside the band, of the first channel that holds
    # any (a dead channel 0 read as silence in every block) (no source: NaN)
    dead = stats.dead
    m0 = _stats.first_heard(Xb, dead)
    x0 = np.asarray(signals, dtype=float)[m0 : m0 + 1]
    full = np.sum(np.abs(stft_band(x0, stft_transform(fs, nfft=nfft), slice(0, nfft // 2 + 1)))
                  ** 2, axis=(0, 1))  # fmt: skip
    inband = np.sum(np.abs(Xb[m0]) ** 2, axis=0)  # (T,)
    for t0 in starts:  # a loop over blocks (few); every block is vectorized
        sl = slice(t0, t0 + frames_per_block)
        why = band_reason(full[sl], inband[sl], plan.freq_range)
        try:
            part = _stats.BandStatistics(
                X=Xb[:, :, sl],
                no_source=why,
                dead=dead,
                copies=stats.copies,
                clipped=stats.clipped,
                clipped_out=stats.clipped_out,
            )
            res = run(plan, part)
        except NoSourceError as e:  # a fixed count in a block with no source
            res = no_source(plan, None, e.reason)
        if prev is not None and res.num_sources > 1 and len(prev) == res.num_sources:
            res = follow(res, prev)
        prev = res.directions
        results.append(res)
    K = max(1, max(r.num_sources for r in results))

    def stack(attr: str) -> np.ndarray:
        out = np.full((len(results), K), np.nan)
        for b, r in enumerate(results):
            vals = getattr(r, attr)
            out[b, : len(vals)] = vals
        return out

    talkers, evidence = _talkers(
        plan, results, v.positive("memory", memory) / (frames_hop * nfft // 2 / fs)
    )
    return BlocksResult(
        talkers=talkers,
        evidence=evidence,
        times=np.array([times_all[t0 : t0 + frames_per_block].mean() for t0 in starts]),
        azimuth=stack("azimuth"),
        elevation=stack("elevation"),
        power=stack("power"),
        spectra=np.stack([r.spectrum for r in results]),
        grid=results[0].grid,
        method=plan.method,
        blocks=results,
    )


def _from_signals(
    signals: Any, fs: Any, geometry: Any, options: dict[str, Any], *, frames: bool = False
) -> tuple[Plan, _stats.BandStatistics]:
    """The plan and the band's statistics of a search on time signals: only the
    statistic the method reads (and counting needs), unless `frames`."""
    n_mics = check_geometry(geometry).n_mics
    x = v.signals("signals", signals, n_mics, check_finite=False)  # checked on the statistic
    plan, band = plan_stft(fs, geometry, options)
    if x.shape[1] < plan.nfft:
        raise v.fail("signals", signals, f"has {x.shape[1]} samples, fewer than nfft={plan.nfft}")
    phat, cov, need_frames = _reads(plan)
    stats = _stats.from_signals(
        signals, x, plan.fs, plan.nfft, band, phat=phat, cov=cov, frames=frames or need_frames,
        zones=_reads_zones(plan), freq_range=plan.freq_range,
    )  # fmt: skip
    return plan, stats


def _reads(plan: Plan) -> tuple[bool, bool, bool]:
    """Whether the search reads the PHAT cross-spectra, the covariance, the frames
    (the method's statistic, and the one counting needs)."""
    needs = plan.options.part.needs
    auto = plan.options.num_sources == "auto"
    counting = plan.options.counting
    # the no-source check and the confidence read the SRP-PHAT map of frame-whitened
    # cross-spectra: a covariance method computes it when counting (a fixed count takes
    # the covariance's own PHAT normalisation: a confidence, but no weak-map check)
    phat = needs == "phat" or auto
    cov = needs == "covariance" or (auto and counting == "mdl")
    return phat, cov, needs == "frames"


def _reads_zones(plan: Plan) -> bool:
    """Whether the search reads time-frequency zones (it keeps the band's frames): it
    counts by them, or places two or more given sources at their atoms."""
    opts = plan.options
    K = opts.num_sources
    zoned = opts.counting == "tf" and (K == "auto" or K >= 2)
    return zoned and opts.part.max_sources(plan.geometry.n_mics) > 1 and tf_applies(plan)


_OPTION_NAMES = tuple(f.name for f in fields(SearchOptions))


def _options(arguments: dict[str, Any]) -> dict[str, Any]:
    """The search options among a public function's arguments (its ``locals()`` on
    entry): the options are spelled once, in :class:`SearchOptions`."""
    return {name: arguments[name] for name in _OPTION_NAMES if name in arguments}


def _talkers(
    plan: Plan, results: list[DOAResult], memory_blocks: float
) -> tuple[list[np.ndarray], np.ndarray]:
    """The talkers heard within the memory, per block (see :class:`BlocksResult`), and the
    evidence ``(B, G)`` (:class:`arraykit.doa.talkers.TalkerMemory`)."""
    if plan.points is not None:
        return [np.zeros((0, 2)) for _ in results], np.zeros((len(results), 0))
    from arraykit.doa.talkers import TalkerMemory

    memory = TalkerMemory(plan, memory_blocks)
    out, H = [], []
    nothing = (np.zeros((0, 2)), np.zeros(0))
    for r in results:  # a loop over blocks
        # a block the search says holds no directional source (a given count still
        # answers there, with a warning) adds nothing: the talkers only fade, as
        # arraykit.live's do (noise's directions were listed as talkers)
        heard = nothing if r.no_source is not None else (r.directions, r.confidence)
        out.append(memory.update(*heard))
        H.append(memory.evidence)
    return out, np.array(H)
