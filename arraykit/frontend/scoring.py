"""Judging a run against the truth of a simulated scene: tracking and separation scores.

:func:`replay` applies each block's per-track weights (:attr:`BlockReport.weights`,
and the post-filter's gains, :attr:`BlockReport.gains`)
to any signals, such as one source's image alone, through the same streaming
STFT/ISTFT as the pipeline: the track's output is the sum of its parts, so a track's
output SIR is the power of its target's part over the others'. :func:`track_errors`
matches tracks to true directions block by block (Hungarian on the angle, within a
radius) and counts identity swaps, confirmation delays and false tracks;
:func:`ospa` is the OSPA distance (Schuhmacher et al., 2008) of one block.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from arraykit import _validate as v
from arraykit.frontend.pipeline import BlockReport, Pipeline
from arraykit.frontend.tracking import angle_between
from arraykit.stft import StreamingISTFT, StreamingSTFT

if TYPE_CHECKING:
    from arraykit.sim import MovingScene

__all__ = [
    "TrackScore",
    "first_sound",
    "meeting_voices",
    "ospa",
    "replay",
    "sir_gain",
    "track_errors",
]


def replay(
    pipe: Pipeline,
    reports: Sequence[BlockReport],
    signals: np.ndarray,
    *,
    ref_mic: int | None = None,
) -> dict[int, np.ndarray]:
    """Each track's weights applied to `signals` ``(M, N)``: ``{id: (N,)}``, input-aligned.

    The tracks' outputs are referred to the geometry's origin (the steering's phase
    reference). With `ref_mic` each block's output is moved to microphone `ref_mic`
    instead, as :func:`arraykit.beamform.beamform`'s ``ref`` does: times that
    microphone's plane-wave steering toward the track's direction in the block, so the
    track's talker comes out as that microphone hears its direct path (sample by sample
    comparable with the microphone's signal). Where the weights steer a spherical wave
    (``separation="near"``, the UMA-16's and office-ula32's default) the move is that
    wave's, at the range of :attr:`BlockReport.ranges` (the plane wave's left a talker
    0.5 m from the UMA-16 about 12 us off, 0.6 samples at 48 kHz).
    """
    M, N = signals.shape
    nfft, hop, bn = pipe.nfft, pipe.hop, pipe.block_n
    sts = StreamingSTFT(pipe.fs, M, nfft=nfft)
    sts.push(np.zeros((M, nfft - hop)))
    synth: dict[int, StreamingISTFT] = {}
    out: dict[int, np.ndarray] = {}
    pad = np.zeros((M, len(reports) * bn))
    pad[:, : min(N, pad.shape[1])] = signals[:, : pad.shape[1]]
    for b, r in enumerate(reports):
        X = sts.push(pad[:, b * bn : (b + 1) * bn])
        start = b * (bn // hop) * hop - (nfft - hop)
        heading = (
            {tr.id: (tr.azimuth, tr.elevation) for tr in r.tracks} if ref_mic is not None else {}
        )
        for tid, w in r.weights.items():
            if tid not in synth:
                synth[tid] = StreamingISTFT(pipe.fs, nfft=nfft)
                out[tid] = np.zeros(N)
            Y = np.einsum("fm,mft->ft", w.conj(), X)
            if tid in r.gains:  # the post-filter's
                Y = Y * r.gains[tid]
            if ref_mic is not None:  # the wave the weights steered: plane, or "near"'s
                a = pipe.separator.steering(*heading[tid], r.ranges.get(tid, np.inf))
                Y = Y * a[:, ref_mic, None]
            y = synth[tid].push(Y)
            s0 = max(start, 0)
            y = y[s0 - start :]
            n = max(0, min(N - s0, y.size))
            out[tid][s0 : s0 + n] = y[:n]
    return out


def sir_gain(
    pipe: Pipeline,
    reports: Sequence[BlockReport],
    images: np.ndarray,
    tid: int,
    target: int,
    *,
    ref_mic: int = 0,
) -> tuple[float, float, float]:
    """``(SIR in, SIR out, SI-SDR out)`` in dB of track `tid` for source `target`.

    Over the samples where the track existed; `images` ``(K, M, N)``. SIR in is at
    microphone `ref_mic`; SI-SDR is of the track's output from the mixture of the
    images, moved to microphone `ref_mic` (:func:`replay`'s `ref_mic`), against the
    target's image at `ref_mic`.
    """
    from arraykit.metrics import si_sdr

    parts = [replay(pipe, reports, img)[tid] for img in images]
    alive = np.flatnonzero(np.any(np.stack(parts) != 0, axis=0))
    sl = slice(alive[0], alive[-1] + 1) if alive.size else slice(0, 0)
    others = [k for k in range(images.shape[0]) if k != target]
    p_in_t = float(np.mean(images[target, ref_mic, sl] ** 2))
    p_in_i = float(np.mean(images[others, ref_mic, sl].sum(axis=0) ** 2))
    p_out_t = float(np.mean(parts[target][sl] ** 2))
    p_out_i = float(np.mean(np.sum([parts[k][sl] for k in others], axis=0) ** 2))
    est = replay(pipe, reports, images.sum(axis=0), ref_mic=ref_mic)[tid][sl]
    sdr = float(si_sdr(images[target, ref_mic, sl], est))
    return 10 * np.log10(p_in_t / p_in_i), 10 * np.log10(p_out_t / p_out_i), sdr


@dataclass(frozen=True)
class TrackScore:
    """Tracking against the truth over a run.

    errors : matched azimuth errors, degrees (every block, every matched track)
    swaps : times a true source's matched track ID changed while the sources were
        at least `apart` degrees apart
    confirm_delays : per source onset, seconds from onset to a matched confirmed track
        (NaN when never)
    false_tracks : IDs never matched to a source
    ospa : mean OSPA per block (cutoff `radius`, order 1)
    lost_in_pause : sources whose track ID changed across a pause
    """

    errors: np.ndarray
    swaps: int
    confirm_delays: np.ndarray
    false_tracks: list[int]
    ospa: float


def ospa(est: np.ndarray, true: np.ndarray, cutoff: float = 30.0) -> float:
    """OSPA (order 1) between direction sets ``(n, 2)`` and ``(m, 2)``, degrees."""
    from scipy.optimize import linear_sum_assignment

    n, m = len(est), len(true)
    if n == 0 and m == 0:
        return 0.0
    if n == 0 or m == 0:
        return cutoff
    d = np.minimum(
        angle_between(est[:, None, 0], est[:, None, 1], true[None, :, 0], true[None, :, 1]), cutoff
    )
    r, c = linear_sum_assignment(d)
    return float((d[r, c].sum() + cutoff * abs(n - m)) / max(n, m))


def track_errors(
    reports: Sequence[BlockReport],
    truth: Callable[[float], np.ndarray],
    active: Callable[[float], np.ndarray],
    *,
    radius: float = 20.0,
    apart: float = 30.0,
    onsets: Sequence[tuple[int, float]] = (),
    lag: float = 0.0,
) -> TrackScore:
    """Score tracks against `truth(t)` ``(K, 2)`` and `active(t)` ``(K,)`` (speaking or in a pause
    that a track should bridge). `onsets` lists ``(source, t)`` whose confirmation delay
    is measured. `lag` is subtracted from the block time when reading the truth.
    """
    from scipy.optimize import linear_sum_assignment

    errors: list[float] = []
    owner: dict[int, int] = {}
    swaps = 0
    matched_ids: set[int] = set()
    all_ids: set[int] = set()
    first_match: dict[int, list[float]] = {}
    ospas = []
    for r in reports:
        tt = r.t - lag
        T = truth(tt)
        act = active(tt)
        est = np.array([[tr.azimuth, tr.elevation] for tr in r.tracks]).reshape(-1, 2)
        ids = [tr.id for tr in r.tracks]
        all_ids.update(ids)
        live = np.flatnonzero(act)
        ospas.append(ospa(est, T[live]))
        if not ids or live.size == 0:
            continue
        d = angle_between(est[:, None, 0], est[:, None, 1], T[None, live, 0], T[None, live, 1])
        rows, cols = linear_sum_assignment(d)
        sep = (
            float(
                np.min(
                    angle_between(
                        T[live, 0][:, None], T[live, 1][:, None], T[live, 0][None], T[live, 1][None]
                    )
                    + 1e3 * np.eye(live.size)
                )
            )
            if live.size > 1
            else 360.0
        )
        for i, j in zip(rows, cols, strict=True):
            if d[i, j] > radius:
                continue
            k = int(live[j])
            errors.append(float(d[i, j]))
            matched_ids.add(ids[i])
            first_match.setdefault(k, []).append(r.t)
            if k in owner and owner[k] != ids[i] and sep >= apart:
                swaps += 1
            owner[k] = ids[i]
    delays = []
    for k, t_on in onsets:
        times = [t for t in first_match.get(k, []) if t >= t_on]
        delays.append(times[0] - t_on if times else np.nan)
    return TrackScore(
        np.array(errors),
        swaps,
        np.array(delays),
        sorted(all_ids - matched_ids),
        float(np.mean(ospas)) if ospas else 0.0,
    )


@dataclass(frozen=True)
class Meeting:
    """A simulated two-talker scene with its truth (see :func:`meeting`)."""

    scene: MovingScene
    turns: tuple[tuple[tuple[float, float], ...], ...]
    onsets: tuple[tuple[int, float], ...]
    """``(talker, t)``: when each talker's first turn first sounds (:func:`first_sound`)."""

    def truth(self, t: float) -> np.ndarray:
        """True ``(azimuth, elevation)`` of each talker at time `t`: ``(K, 2)``."""
        return np.asarray(self.scene.direction_at(t))

    def active(self, t: float) -> np.ndarray:
        """Which talkers a tracker should hold at `t`: from first sound to last offset."""
        first = dict(self.onsets)
        return np.array([first[k] <= t <= turns[-1][1] for k, turns in enumerate(self.turns)])


SOUND_FRAME = 0.01
"""Seconds per frame of :func:`first_sound`."""

SOUND_DB = -20.0
"""A frame sounds when its RMS is within this many dB of the talker's RMS over its turns."""


def first_sound(x: np.ndarray, fs: int, turn: tuple[float, float]) -> float:
    """When a talker's dry signal `x` ``(N,)`` first sounds within `turn` (seconds): the
    start of the first :data:`SOUND_FRAME` frame whose RMS reaches :data:`SOUND_DB` of
    the signal's RMS where it is not zero; the turn's start if none does.

    A turn of :func:`arraykit.sim.talk` is speech with its own pauses: it can begin in
    one (a quarter of a second of silence in one benchmark meeting), and a tracker
    cannot confirm a talker it has not heard yet, so a confirmation delay is measured
    from here.

    >>> fs = 1000
    >>> x = np.zeros(2000); x[700:900] = 1.0
    >>> first_sound(x, fs, (0.5, 1.5))
    0.7
    """
    ref = float(np.sqrt(np.mean(x[x != 0] ** 2))) if np.any(x) else 0.0
    n = max(1, round(SOUND_FRAME * fs))
    a, b = round(turn[0] * fs), min(x.size, round(turn[1] * fs))
    seg = x[a : a + (b - a) // n * n].reshape(-1, n)
    loud = np.flatnonzero(np.sqrt(np.mean(seg**2, axis=1)) >= ref * 10 ** (SOUND_DB / 20))
    return round((a + n * int(loud[0])) / fs, 6) if loud.size and ref > 0 else turn[0]


def meeting_voices(
    dry: Mapping[str, np.ndarray], seed: int, fs: int = 16000
) -> tuple[np.ndarray, np.ndarray]:
    """Real voices for :func:`meeting`'s `speech`: 8 s of a female talker for A and of a
    male one for B, from recordings `dry` at `fs` holding ``female_1``, ``female_2``,
    ``male_1`` and ``male_2`` of at least 10 s (office-ula32's anechoic clips,
    :func:`arraykit.datasets.load_office_ula32`'s ``dry``): the clip and where in it the
    8 s start follow the seed; each is scaled to unit RMS, as
    :func:`~arraykit.sim.speech_like` is."""
    a = np.asarray(dry[("female_1", "female_2")[seed % 2]], dtype=float)
    b = np.asarray(dry[("male_1", "male_2")[(seed // 2) % 2]], dtype=float)
    n = 8 * fs
    out = []
    for clip, step in ((a, 0.37), (b, 0.61)):
        start = int(((seed * step) % 2.0) * fs)
        x = clip[start : start + n]
        if x.size < n:
            raise v.fail(
                "dry", f"a clip of {clip.size / fs:.1f} s", f"each must hold 10 s at {fs} Hz"
            )
        out.append(x / np.sqrt(np.mean(x**2)))
    return out[0], out[1]


def modulated_diffuse(geometry: object, seconds: float, seed: int, fs: int = 16000) -> np.ndarray:
    """A diffuse field ``(M, N)`` whose level swings 20 dB (a sine of 0.3-1 Hz), plus faint
    sensor noise: the no-talker scene of the front end's false-track checks on a line (the
    line part of ``benchmarks/bench_frontend.py`` and its test), where a steady field would
    leave the energy detector's floor at its level."""
    from arraykit import sim

    rng = np.random.default_rng(1000 + seed)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    swing = 10 * np.sin(2 * np.pi * rng.uniform(0.3, 1.0) * t + rng.uniform(0, 6))
    env = 10 ** ((swing - 10 * rng.uniform()) / 20)
    d = sim.diffuse_noise(geometry, n, fs, seed=seed)  # type: ignore[arg-type]
    return 0.05 * d * env + 1e-4 * rng.standard_normal(d.shape)


def meeting(
    geometry: object,
    seed: int,
    *,
    fs: int = 16000,
    rt60: float = 0.3,
    snr_db: float = 20.0,
    max_order: int | None = None,
    layouts: int = 4,
    speech: tuple[np.ndarray, np.ndarray] | None = None,
    rir_cache: dict[object, np.ndarray] | None = None,
) -> Meeting:
    """Two talkers, 8 s: A still, B walking a 90 degree arc at 30 degrees/s.

    A speaks 0.3-2.3 s, pauses 2 s, speaks 4.3-6.0 s and 6.8-8.0 s; B starts at
    2.0 s (while A is silent) 60 degrees from A, walks away from A for 3 s while
    speaking 2.0-3.2 s and 3.6-5.6 s (overlapping A from 4.3 s), and speaks again
    6.5-7.8 s (overlapping A). The layout (A's azimuth and B's walking sense) is one
    of `layouts` fixed by the seed, so that room responses repeat across seeds; the
    speech differs with every seed. `speech`: A's and B's voices (recordings of at least
    8 s at `fs`, :func:`arraykit.sim.talk`'s `speech`) instead of
    :func:`~arraykit.sim.speech_like`.
    """
    from arraykit import sim

    lay = seed % layouts
    az_a = 360.0 * lay / layouts + 20.0
    sense = 1.0 if lay % 2 == 0 else -1.0
    turns_a = ((0.3, 2.3), (4.3, 6.0), (6.8, 8.0))
    turns_b = ((2.0, 3.2), (3.6, 5.6), (6.5, 7.8))
    voice_a, voice_b = speech if speech is not None else (None, None)
    x_a = sim.talk(8.0, fs, turns_a, seed=1000 + seed, speech=voice_a)
    x_b = sim.talk(8.0, fs, turns_b, seed=2000 + seed, speech=voice_b)
    b0 = az_a + sense * 60.0
    tr_a = sim.Trajectory(np.array([0.0]), np.array([az_a]))
    tr_b = sim.Trajectory.arc(b0, b0 + sense * 90.0, start=2.0, speed=30.0)
    scene = sim.simulate_moving(
        geometry,  # type: ignore[arg-type]
        [sim.MovingSource(x_a, tr_a), sim.MovingSource(x_b, tr_b)],
        fs,
        step=0.1,
        rt60=rt60,
        snr_db=snr_db,
        seed=seed,
        max_order=max_order,
        rir_cache=rir_cache,
    )
    onsets = ((0, first_sound(x_a, fs, turns_a[0])), (1, first_sound(x_b, fs, turns_b[0])))
    return Meeting(scene, (turns_a, turns_b), onsets)
