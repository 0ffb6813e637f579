"""Live direction finding: a device's blocks through a recursive covariance and :func:`arraykit.doa.locate_cov`.

The top of the pipeline: it composes a device (:func:`arraykit.hardware.open`, or the
simulated and file devices) with the DOA search. Each block of audio is cut into new
STFT frames (continuing the previous block's, no padding), the band's bins update an
exponentially forgetting spatial covariance
(:class:`arraykit.beamform.RecursiveCovariance`, time constant `memory` seconds), the
covariance is searched (:func:`arraykit.doa.locate_cov`), and a
:class:`LiveEstimate` is yielded. :class:`LiveStats` keeps the real-time factor and
the frames the device lost.

>>> import arraykit as ak
>>> from arraykit.live import track
>>> with ak.hardware.open("sim:respeaker-usb-4mic", azimuth=120.0, duration=1.0) as dev:
...     est = [e for _, e in zip(range(5), track(dev, block=0.1))]
>>> bool(abs(est[-1].azimuth[0] - 120.0) < 5)
True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from arraykit import _validate as v
from arraykit import doa
from arraykit.beamform import RecursiveCovariance
from arraykit.doa.statistics import dead_channels
from arraykit.doa.talkers import TalkerMemory
from arraykit.errors import NoSourceError
from arraykit.stft import StreamingSTFT

__all__ = ["FREQ_RANGE", "NFFT", "SILENCE", "LiveEstimate", "LiveStats", "track"]

FREQ_RANGE = (300.0, 3500.0)
"""The band :func:`track` searches by default, Hz (``arraykit live`` has no flag for it)."""

NFFT = 512
"""The STFT size :func:`track` uses by default (``arraykit live`` has no flag for it)."""

SILENCE = "digital silence so far"
""":attr:`LiveEstimate.no_source` of a stream's first blocks while every sample is zero."""


@dataclass(frozen=True)
class LiveEstimate:
    """One block's estimate.

    time : seconds of audio since the start (end of the block)
    azimuth, elevation, power : ``(K,)`` degrees / spectrum value, strongest first (NaN
        directions and zero power while no directional source is heard: see `no_source`)
    onchip : the device's own DOA in arraykit's frame (degrees), when asked for
    lost_frames : frames the device lost so far
    confidence : ``(K,)`` probability that each direction is within the array's
        resolution of a source (:attr:`arraykit.doa.DOAResult.confidence`, calibrated on
        such covariances); 0 while nothing directional is heard
    no_source : why no direction is given (digital silence so far, a map whose peak
        does not stand out of the noise, or channels that are copies of one another:
        :attr:`arraykit.doa.DOAResult.no_source`), or None
    talkers : ``(K_t, 2)`` every direction heard within about `talker_memory` seconds,
        strongest first (:class:`arraykit.doa.TalkerMemory`, as
        :attr:`arraykit.doa.BlocksResult.talkers`): two people talking in turns are both
        listed though each block hears one
    dead : the channels all zero in the covariance while others are not (a dead
        microphone or a channel map that points at nothing: the others locate;
        :func:`arraykit.doa.run.dead_warning` says so)
    """

    time: float
    azimuth: np.ndarray
    elevation: np.ndarray
    power: np.ndarray
    onchip: float | None = None
    lost_frames: int = 0
    confidence: np.ndarray = field(default_factory=lambda: np.zeros(0))
    no_source: str | None = None
    talkers: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    dead: tuple[int, ...] = ()


@dataclass
class LiveStats:
    """Running totals: blocks, audio seconds, compute seconds, frame-loss events, and the
    samples read (also those of a stream too short for one STFT frame)."""

    blocks: int = 0
    samples: int = 0
    audio_seconds: float = 0.0
    compute_seconds: float = 0.0
    overflows: list[Any] = field(default_factory=list)

    @property
    def real_time_factor(self) -> float:
        """Compute time over audio time (below 1 keeps up with the device)."""
        return self.compute_seconds / self.audio_seconds if self.audio_seconds else 0.0


def track(
    device: Any,
    *,
    method: str = "srp-phat",
    num_sources: int = 1,
    block: float = 0.1,
    memory: float = 0.5,
    freq_range: tuple[float, float] = FREQ_RANGE,
    nfft: int = NFFT,
    resolution: float = 2.0,
    onchip: Callable[[], float] | None = None,
    stats: LiveStats | None = None,
    talker_memory: float = 3.0,
) -> Iterator[LiveEstimate]:
    """Estimate directions block by block from an open device (runs until stopped, or
    until a finite stream such as a file ends: its last, shorter block is searched too
    when it completes an STFT frame).

    Every STFT frame (Hann, `nfft`, hop ``nfft // 2``) updates the band's covariance
    ``R <- alpha R + (1 - alpha) x x^H`` with ``alpha = exp(-hop / (memory * fs))``:
    audio `t` seconds old weighs ``exp(-t / memory)``. After a steady source jumps to
    a new direction at the same level, the new direction outweighs the old after
    about ``memory * ln 2`` seconds (plus up to a block); pauses in speech lengthen
    it. A short memory follows faster, a long one gives steadier estimates.

    Parameters
    ----------
    device
        What :func:`arraykit.hardware.open` returns (real, simulated or file).
    method : str
        One of ``arraykit.doa.COV_METHODS`` (the registered methods that run from a
        covariance: "srp-phat", "music", "normmusic", ...), as for
        :func:`arraykit.doa.locate_cov` (SRP-PHAT on the PHAT-normalised covariance).
    num_sources, freq_range, nfft, resolution
        As for :func:`arraykit.doa.locate`.
    block : float
        Seconds of audio per estimate (at least `nfft` samples).
    memory : float
        Time constant of the covariance's exponential forgetting, seconds (> 0).
    onchip : callable, optional
        Returns the device's own DOA in arraykit's frame (``XVF3000.onchip_azimuth``).
    stats : LiveStats, optional
        Updated in place (real-time factor, lost frames).
    talker_memory : float
        Seconds a direction stays among the estimates' ``talkers`` after it was last
        heard, about (> 0; as :func:`arraykit.doa.locate_blocks`' `memory`).
    """
    fs = device.fs
    geometry = device.geometry
    method = v.choice("method", method, doa.COV_METHODS)
    memory = v.positive("memory", memory)
    talker_memory = v.positive("talker_memory", talker_memory)
    nfft = v.integer("nfft", nfft, 8)
    band, _ = v.band_bins("freq_range", freq_range, fs, nfft)
    sts = StreamingSTFT(fs, geometry.n_mics, nfft=nfft)
    freqs = sts.freqs
    alpha = v.forgetting("memory", memory, sts.transform.hop / fs)
    cov = RecursiveCovariance(int(band.sum()), geometry.n_mics, alpha=alpha)
    heard = TalkerMemory.for_covariance(
        geometry, freqs[band], talker_memory, method=method, num_sources=num_sources,
        resolution=resolution,
    )  # fmt: skip
    block_n = max(round(v.positive("block", block) * fs), nfft)
    stats = stats if stats is not None else LiveStats()
    pending: list[np.ndarray] = []
    have = 0
    total = 0

    def search(new: np.ndarray) -> LiveEstimate | None:
        """The estimate after the frames `new` ``(M, n)`` completes (None: it completes none)."""
        nonlocal total
        t0 = time.perf_counter()
        total += new.shape[1]
        X = sts.push(new)[:, band, :]  # the frames this block completed
        if X.shape[2] == 0:  # a stream's last few samples, short of a frame
            return None
        # (F, M, M); a microphone that went silent in this block is dead from now on, not
        # a decaying past: named, left out
        R = cov.update(X, forget_silent=True)
        why: str | None = SILENCE
        dead: tuple[int, ...] = ()
        if np.any(R):
            dead = dead_channels(np.einsum("fmm->m", R).real)
            try:
                res = doa.locate_cov(
                    R,
                    freqs[band],
                    geometry,
                    method=method,
                    num_sources=num_sources,
                    resolution=resolution,
                )
                why = res.no_source  # noise alone gives a direction of noise: none is given
            except NoSourceError as exc:  # one channel alone: no pair to locate from
                why = exc.reason
        if why is None:
            az, el, pw = np.asarray(res.azimuth), np.asarray(res.elevation), np.asarray(res.power)
            conf = np.asarray(res.confidence)
            seen, sure = res.directions, conf
        else:
            az = el = np.full(num_sources, np.nan)
            pw = conf = np.zeros(num_sources)
            seen, sure = np.zeros((0, 2)), np.zeros(0)  # nothing heard: the talkers only fade
        talkers = heard.update(seen, sure, new.shape[1] / fs)
        chip = onchip() if onchip is not None else None
        stats.compute_seconds += time.perf_counter() - t0
        stats.audio_seconds += new.shape[1] / fs
        stats.blocks += 1
        stats.overflows = list(device.overflows)
        return LiveEstimate(
            time=total / fs,
            azimuth=az,
            elevation=el,
            power=pw,
            onchip=chip,
            lost_frames=device.lost_frames,
            confidence=conf,
            no_source=why,
            talkers=talkers,
            dead=dead,
        )

    for chunk in device.blocks():
        pending.append(chunk)
        have += chunk.shape[1]
        stats.samples += chunk.shape[1]
        if have < block_n:
            continue
        new = np.concatenate(pending, axis=1)
        pending, have = [], 0
        est = search(new)  # block_n >= nfft: at least one new frame
        assert est is not None
        yield est
    if pending:  # a stream that ended (a file): its last, shorter block
        est = search(np.concatenate(pending, axis=1))
        if est is not None:
            yield est
