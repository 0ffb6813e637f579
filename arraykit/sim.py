"""Simulated rooms around a microphone array (pyroomacoustics), and test signals.

Shapes: ``M`` microphones, ``N`` samples, ``K`` sources.

:func:`simulate` places any :class:`~arraykit.geometry.ArrayGeometry` in a shoebox
room (optionally turned by a yaw angle), puts sources at given directions and
distances *in the array frame* (or at given room positions), renders every source's
reverberant image at the microphones with the image-source method, adds sensor
noise at a given SNR and returns a :class:`Scene` with the ground truth: the true
directions in the array frame, each source's clean image (a reference for SI-SDR)
and the noise, so that ``signals == images.sum(0) + noise`` exactly.

:func:`speech_like` is a deterministic non-stationary, coloured test signal and
:func:`diffuse_noise` a spatially diffuse noise field with the textbook coherence.

Moving talkers: :func:`simulate_moving` renders :class:`MovingSource` s that follow a
:class:`Trajectory` (directions over time, in the array frame) block-wise with
cross-faded room responses, and :func:`talk` makes a talker's turns (speech in given
intervals, silence between).

pyroomacoustics (the ``sim`` extra) is imported only when a room is built.

Examples
--------
>>> import numpy as np
>>> import arraykit as ak
>>> g = ak.ArrayGeometry.circular(4, 0.032)
>>> s = Source(speech_like(0.25, 16000, seed=1), azimuth=60.0)
>>> scene = simulate(g, [s], 16000, seed=0)
>>> scene.signals.shape[0], scene.directions.round(6).tolist()
(4, [[60.0, 0.0]])
>>> bool(np.array_equal(scene.signals, scene.images.sum(0) + scene.noise))
True
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.signal import fftconvolve, lfilter

from arraykit import _validate as v
from arraykit.geometry import (
    SPEED_OF_SOUND,
    ArrayGeometry,
    directions_from_vectors,
    unit_vectors,
)

__all__ = [
    "MovingScene",
    "MovingSource",
    "Scene",
    "Source",
    "Trajectory",
    "diffuse_noise",
    "shoebox",
    "simulate",
    "simulate_moving",
    "speech_like",
    "talk",
]

NoiseKind = Literal["white", "diffuse"]
Field = Literal["3d", "2d"]

ARRAY_HEIGHT = 1.2
"""Default height (m) of the array centre above the floor."""


@dataclass(frozen=True, eq=False)
class Source:
    """A sound source for :func:`simulate`.

    Parameters
    ----------
    signal : np.ndarray [shape=(N,)]
        The dry source signal at the simulation's sampling rate.
    azimuth, elevation : float
        Direction in degrees in the **array** frame, seen from the array centroid.
    distance : float
        Metres from the array centroid.
    position : tuple of 3 floats, optional
        Room coordinates in metres; when given, it overrides direction and distance.
    """

    signal: np.ndarray
    azimuth: float
    elevation: float = 0.0
    distance: float = 1.5
    position: tuple[float, float, float] | None = None


@dataclass(frozen=True, eq=False)
class Scene:
    """A rendered room: microphone signals and the ground truth.

    Attributes
    ----------
    signals : np.ndarray [shape=(M, N)]
        What the microphones record: ``images.sum(0) + noise``.
    fs : int
        Sampling rate, Hz.
    geometry : ArrayGeometry
        The array, in its own frame (as given to :func:`simulate`).
    directions : np.ndarray [shape=(K, 2)]
        True ``(azimuth, elevation)`` degrees of each source in the array frame, seen
        from the array centroid.
    distances : np.ndarray [shape=(K,)]
        Source distances from the array centroid, m.
    source_positions : np.ndarray [shape=(K, 3)]
        Sources in room coordinates, m.
    array_positions : np.ndarray [shape=(M, 3)]
        Microphones in room coordinates, m.
    images : np.ndarray [shape=(K, M, N)]
        Each source's reverberant image at each microphone, without noise.
    noise : np.ndarray [shape=(M, N)]
        The sensor (or diffuse) noise that was added.
    rt60 : float
        The requested reverberation time, s (0 for anechoic).
    """

    signals: np.ndarray
    fs: int
    geometry: ArrayGeometry
    directions: np.ndarray
    distances: np.ndarray
    source_positions: np.ndarray
    array_positions: np.ndarray
    images: np.ndarray
    noise: np.ndarray
    rt60: float = 0.0

    @property
    def n_sources(self) -> int:
        """Number of sources ``K``."""
        return int(self.directions.shape[0])


def simulate(
    geometry: ArrayGeometry,
    sources: Sequence[Source],
    fs: int,
    *,
    room_dim: Sequence[float] = (6.0, 5.0, 3.0),
    rt60: float = 0.0,
    array_center: Sequence[float] | None = None,
    array_yaw_deg: float = 0.0,
    snr_db: float | None = None,
    noise: NoiseKind = "white",
    seed: int | None = None,
    max_order: int | None = None,
    c: float = SPEED_OF_SOUND,
) -> Scene:
    """Render sources around an array in a shoebox room.

    Parameters
    ----------
    geometry : ArrayGeometry
        The array; its centroid is placed at `array_center` and it is turned by
        `array_yaw_deg` counter-clockwise about +z.
    sources : sequence of Source
        Directions and distances are in the array frame, from the array centroid.
    fs : int
        Sampling rate of the sources' signals (and so of the render), Hz. Required: a
        signal carries no rate, and the former default, 16000, rendered a signal made
        at 48 kHz as a 16 kHz one, three times longer and lower, without a word.
    room_dim : sequence of 3 floats
        Room length, width, height in metres.
    rt60 : float
        Reverberation time in seconds; 0 means anechoic (direct path only).
        Otherwise the wall absorption and the image order come from Sabine's formula
        (``pyroomacoustics.inverse_sabine``).
    array_center : sequence of 3 floats, optional
        Room position of the array centroid (default: the room's centre at 1.2 m).
    array_yaw_deg : float
        Rotation of the array in the room, degrees.
    snr_db : float, optional
        Ratio of the mean power of the summed source images at the microphones to the
        mean noise power, dB (exact for the drawn noise). None: no noise.
    noise : {"white", "diffuse"}
        Independent white noise per microphone, or a 3-D diffuse field
        (:func:`diffuse_noise`).
    seed : int, optional
        Seed of the noise generator.
    max_order : int, optional
        Override the image-source order.
    c : float
        Speed of sound, m/s (pyroomacoustics itself uses 343 m/s).

    Returns
    -------
    Scene
        ``N`` is the longest source plus the room impulse response length minus one.
    """
    fs_i, room, rt60, noise_kind, c, center, snr_db = _room_options(
        geometry, fs, room_dim, rt60, noise, c, array_center, snr_db
    )
    yaw = float(v.finite_array("array_yaw_deg", array_yaw_deg, ndim=0))
    if isinstance(sources, Source):
        sources = [sources]
    if len(sources) == 0 or not all(isinstance(s, Source) for s in sources):
        raise v.fail("sources", sources, "must be a non-empty sequence of Source")

    rot = _yaw_matrix(yaw)
    mics = (geometry.positions - geometry.centroid) @ rot.T + center  # (M, 3)
    _inside("array_center", array_center, mics, room, what="the array")

    dry, pos = [], []
    for k, s in enumerate(sources):
        sig = v.finite_array(f"sources[{k}].signal", s.signal, ndim=1)
        if sig.shape[0] < 1:
            raise v.fail(f"sources[{k}].signal", s.signal, "is empty")
        if s.position is not None:
            p = v.finite_array(f"sources[{k}].position", s.position, ndim=1)
            if p.shape != (3,):
                raise v.fail(f"sources[{k}].position", s.position, "must be (x, y, z) metres")
        else:
            dist = v.positive(f"sources[{k}].distance", s.distance)
            u = unit_vectors(v.directions(f"sources[{k}] direction", (s.azimuth, s.elevation)))[0]
            p = center + dist * (rot @ u)
        _inside(f"sources[{k}]", s, p[None, :], room, what=f"source {k}")
        dry.append(sig)
        pos.append(p)
    src_pos = np.array(pos)  # (K, 3)
    rel = (src_pos - center) @ rot  # back into the array frame
    directions = directions_from_vectors(rel)
    distances = np.linalg.norm(rel, axis=1)
    if np.any(np.linalg.norm(src_pos[:, None, :] - mics[None], axis=-1) < 0.01):
        raise v.fail("sources", sources, "a source is within 1 cm of a microphone")

    rirs = _rirs(room, fs_i, rt60, max_order, mics, src_pos, c)  # (K, M, L)
    n_out = max(len(x) for x in dry) + rirs.shape[-1] - 1
    images = np.zeros((len(dry), geometry.n_mics, n_out))
    for k, x in enumerate(dry):
        y = fftconvolve(x[None, :], rirs[k], axes=-1)
        images[k, :, : y.shape[-1]] = y

    mix = images.sum(axis=0)
    noise_sig = _noise(mix, snr_db, noise_kind, geometry, fs_i, seed, c)
    signals = mix + noise_sig
    for arr in (signals, images, noise_sig, directions, distances, src_pos, mics):
        arr.setflags(write=False)
    return Scene(
        signals=signals,
        fs=fs_i,
        geometry=geometry,
        directions=directions,
        distances=distances,
        source_positions=src_pos,
        array_positions=mics,
        images=images,
        noise=noise_sig,
        rt60=rt60,
    )


def shoebox(
    room_dim: Sequence[float],
    fs: int,
    *,
    rt60: float = 0.0,
    max_order: int | None = None,
) -> Any:
    """A ``pyroomacoustics.ShoeBox`` with Sabine absorption for `rt60` (0: anechoic).

    Add sources and microphones to it with pyroomacoustics' own methods.
    """
    room = _room_dim(room_dim)
    fs_i = _sample_rate(fs)
    rt60 = float(v.finite_array("rt60", rt60, ndim=0))
    if rt60 < 0:
        raise v.fail("rt60", rt60, "must be >= 0 seconds (0 means anechoic)")
    return _shoebox(room, fs_i, rt60, max_order)


def speech_like(duration: float, fs: int, *, seed: int | None = None) -> np.ndarray:
    """A deterministic speech-like test signal of unit RMS, ``(N,)``.

    Voiced harmonic excitation with a gliding pitch (about 90 to 220 Hz) through
    formant resonances that change from syllable to syllable, a little aspiration
    noise, syllable-rate (about 4 Hz) amplitude modulation and pauses. It is
    non-stationary and coloured like speech, which is what DOA and beamforming
    tests need that white noise lacks. The same `seed` gives the same signal.

    >>> x = speech_like(0.5, 16000, seed=3)
    >>> x.shape, round(float(np.sqrt(np.mean(x**2))), 6)
    ((8000,), 1.0)
    """
    duration = v.positive("duration", duration)
    fs_i = _sample_rate(fs)
    n = round(duration * fs_i)
    if n < 2:
        raise v.fail("duration", duration, f"gives {n} samples at fs={fs_i}; need at least 2")
    rng = np.random.default_rng(0 if seed is None else seed)
    t = np.arange(n) / fs_i

    # Pitch: a slow random glide, f0 in [90, 220] Hz.
    knots = np.arange(0.0, duration + 0.5, 0.25)
    f0 = np.interp(t, knots, rng.uniform(90.0, 220.0, knots.size))
    phase = 2 * np.pi * np.cumsum(f0) / fs_i
    # Band-limited glottal pulse train: harmonics with 1/h roll-off below 0.9 * fs/2.
    n_harm = int(0.45 * fs_i / 90.0)
    excitation = np.zeros(n)
    for h in range(1, n_harm + 1):  # loop over harmonics (tens), not samples
        alive = h * f0 < 0.45 * fs_i
        excitation += np.where(alive, np.sin(h * phase) / h, 0.0)
    excitation += 0.05 * rng.standard_normal(n)

    # Syllables: segments of 120-300 ms, each with its own vowel formants; pauses between.
    voiced = np.zeros(n)
    envelope = np.zeros(n)
    start = 0
    vowels = ((700, 1200, 2600), (300, 2300, 3000), (500, 900, 2400), (400, 1800, 2600))
    while start < n:
        length = int(rng.uniform(0.12, 0.30) * fs_i)
        stop = min(n, start + length)
        seg = excitation[start:stop]
        for fc in vowels[rng.integers(len(vowels))]:
            seg = _resonator(seg, fc, 80.0 + 0.05 * fc, fs_i)
        voiced[start:stop] = seg
        m = stop - start
        envelope[start:stop] = np.sin(np.pi * (np.arange(m) + 0.5) / m) ** 0.7
        start = stop
        if rng.random() < 0.35:  # a pause
            start += int(rng.uniform(0.05, 0.25) * fs_i)
    voiced /= np.sqrt(np.mean(voiced**2)) + 1e-12
    aspiration = lfilter([1.0, -0.9], [1.0], rng.standard_normal(n))
    aspiration /= np.sqrt(np.mean(aspiration**2))
    x = envelope * (voiced + 0.15 * aspiration)
    return x / np.sqrt(np.mean(x**2))


def diffuse_noise(
    geometry: ArrayGeometry,
    n_samples: int,
    fs: int,
    *,
    field: Field = "3d",
    seed: int | None = None,
    c: float = SPEED_OF_SOUND,
    nfft: int = 512,
) -> np.ndarray:
    """Spatially diffuse noise ``(M, N)`` with the ideal coherence between microphones.

    For microphones ``d`` metres apart the coherence at frequency ``f`` is
    ``sinc(2 f d / c)`` (``sin(kd)/(kd)``, a spherically isotropic field, `field`
    ``"3d"``) or ``J0(kd)`` (a cylindrically isotropic field in the xy-plane,
    ``"2d"``). White noise is mixed in each STFT bin by the square root of that
    coherence matrix (its symmetric square root) and transformed back; each channel has unit variance on average.

    Parameters
    ----------
    geometry : ArrayGeometry
    n_samples : int
    fs : int
    field : {"3d", "2d"}
    seed : int, optional
    c : float
    nfft : int
        STFT size of the mixing (its frequency resolution).

    Returns
    -------
    np.ndarray [shape=(M, N)]
    """
    from scipy.special import j0

    from arraykit.stft import istft, stft, stft_frequencies

    field_kind = v.choice("field", field, ("3d", "2d"))
    fs_i = _sample_rate(fs)
    n = v.integer("n_samples", n_samples, 1)
    c = v.positive("c", c)
    n_pad = max(n, nfft)
    rng = np.random.default_rng(seed)
    white = rng.standard_normal((geometry.n_mics, n_pad))
    W = stft(white, fs_i, nfft=nfft)  # (M, F, T)
    f = stft_frequencies(fs_i, nfft)
    p = geometry.positions
    if field_kind == "3d":
        d = np.linalg.norm(p[:, None, :] - p[None, :, :], axis=-1)
        gamma = np.sinc(2.0 * f[:, None, None] * d[None] / c)  # (F, M, M)
    else:
        d = np.linalg.norm(p[:, None, :2] - p[None, :, :2], axis=-1)
        gamma = j0(2 * np.pi * f[:, None, None] * d[None] / c)
    lam, vec = np.linalg.eigh(gamma)
    # The symmetric square root varies smoothly with frequency (a Cholesky factor or
    # eigenvectors alone may flip between bins), so the mixing filters stay short.
    root = np.sqrt(np.clip(lam, 0.0, None))
    mix = np.einsum("fmk,fk,fnk->fmn", vec, root, vec)  # (F, M, M): mix @ mix = gamma
    X = np.einsum("fmn,nft->mft", mix, W)
    out = istft(X, fs_i, nfft=nfft, length=n_pad)[:, :n]
    return out


# ------------------------------------------------------------------ moving talkers


@dataclass(frozen=True, eq=False)
class Trajectory:
    """Where a source is over time: directions in the array frame at given times.

    Between the given times the direction moves linearly in azimuth (the short way
    round), elevation and distance; before the first and after the last it stays.

    Parameters
    ----------
    times : array_like [shape=(P,)]
        Seconds, increasing.
    azimuth, elevation, distance : array_like [shape=(P,)] or float
        Degrees, degrees and metres from the array centroid.
    """

    times: np.ndarray
    azimuth: np.ndarray
    elevation: np.ndarray | float = 0.0
    distance: np.ndarray | float = 1.5

    def __post_init__(self) -> None:
        """Check once, when made (times that go back, a negative distance or an elevation
        past the pole rendered a scene whose truth was not where the source was): store
        read-only float arrays (`elevation` and `distance` as given, a number or one per
        time)."""
        set_ = object.__setattr__
        times = np.atleast_1d(v.finite_array("times", self.times)).copy()
        if times.ndim != 1 or times.size == 0:
            raise v.fail("times", self.times, "must be one or more seconds, shape (P,)")
        back = np.flatnonzero(np.diff(times) <= 0)
        if back.size:
            i = int(back[0])
            why = f"must increase: {times[i]:g} s is followed by {times[i + 1]:g} s"
            raise v.fail("times", self.times, why)
        times.setflags(write=False)
        set_(self, "times", times)
        P = times.size
        for name, low, high in (
            ("azimuth", -math.inf, math.inf),
            ("elevation", -90.0, 90.0),
            ("distance", 0.0, math.inf),
        ):
            value = getattr(self, name)
            arr = v.finite_array(name, value)
            if arr.ndim > 1 or (arr.ndim == 1 and arr.shape != (P,)):
                why = f"must be a number or one per time, shape ({P},); got shape {arr.shape}"
                raise v.fail(name, value, why)
            if name == "distance" and np.any(arr <= 0):
                raise v.fail(name, value, "must be metres > 0 from the array centroid")
            if np.any(arr < low) or np.any(arr > high):
                raise v.fail(name, value, f"must lie in [{low:g}, {high:g}] degrees")
            if name == "azimuth" or arr.ndim == 1:
                arr = np.atleast_1d(arr).copy() if name == "azimuth" else arr.copy()
                arr.setflags(write=False)
                set_(self, name, arr)
            else:
                set_(self, name, float(arr))

    @classmethod
    def arc(
        cls,
        start_az: float,
        end_az: float,
        *,
        start: float,
        speed: float,
        elevation: float = 0.0,
        distance: float = 1.5,
    ) -> Trajectory:
        """From `start_az` to `end_az` at `speed` degrees/s, leaving at `start` seconds:
        counter-clockwise when `end_az` is the larger, clockwise when the smaller, through
        every degree between (``arc(350, 370, ...)`` passes 0 counter-clockwise,
        ``arc(0, 270, ...)`` turns three quarters). Points at most 90 degrees apart carry
        the path: two points 270 degrees apart were joined the short way (90 degrees
        clockwise), so it went a third as fast as `speed` said, the wrong way."""
        a0 = float(v.finite_array("start_az", start_az, ndim=0))
        a1 = float(v.finite_array("end_az", end_az, ndim=0))
        t0 = float(v.finite_array("start", start, ndim=0))
        span = a1 - a0
        dur = abs(span) / v.positive("speed", speed)
        steps = max(1, math.ceil(abs(span) / 90.0))
        part = np.linspace(0.0, 1.0, steps + 1)
        if span == 0:  # standing at start_az
            return cls(np.array([t0]), np.array([a0]), elevation, distance)
        return cls(t0 + dur * part, a0 + span * part, elevation, distance)

    def at(self, t: npt.ArrayLike) -> np.ndarray:
        """``(azimuth, elevation, distance)`` at times `t`: ``(..., 3)``."""
        tt = np.asarray(t, dtype=float)
        times = np.atleast_1d(np.asarray(self.times, dtype=float))
        az = np.unwrap(np.radians(np.broadcast_to(self.azimuth, times.shape)))
        cols = [
            np.degrees(np.interp(tt, times, az)) % 360.0,
            np.interp(tt, times, np.broadcast_to(np.asarray(self.elevation, float), times.shape)),
            np.interp(tt, times, np.broadcast_to(np.asarray(self.distance, float), times.shape)),
        ]
        return np.stack(cols, axis=-1)


@dataclass(frozen=True, eq=False)
class MovingSource:
    """A dry signal ``(N,)`` that follows a :class:`Trajectory` (or stays at one direction)."""

    signal: np.ndarray
    trajectory: Trajectory


@dataclass(frozen=True, eq=False)
class MovingScene(Scene):
    """A rendered scene with moving sources: :class:`Scene` plus each source's path.

    ``directions`` and ``distances`` are those at time 0; :meth:`direction_at` gives
    them at any time. ``step`` is the spacing of the rendered room responses, s.
    """

    trajectories: tuple[Trajectory, ...] = field(default=())
    step: float = 0.05

    def direction_at(self, t: npt.ArrayLike) -> np.ndarray:
        """True ``(azimuth, elevation)`` of every source at times `t`: ``(K, ..., 2)``."""
        return np.stack([tr.at(t)[..., :2] for tr in self.trajectories])


def talk(
    duration: float,
    fs: int,
    intervals: Sequence[tuple[float, float]],
    *,
    seed: int | None = None,
    fade: float = 0.01,
    speech: np.ndarray | None = None,
) -> np.ndarray:
    """A talker's turns: :func:`speech_like` inside `intervals` (seconds), silence outside.

    Each turn fades in and out over `fade` seconds; the result is ``(N,)``. `speech`
    ``(N',)``, at least `duration` long at `fs`: the talker's voice instead (a recording
    of real speech; `seed` is then unused).

    >>> x = talk(2.0, 16000, [(0.5, 1.0)], seed=1)
    >>> bool(np.all(x[:7000] == 0) and np.all(x[17000:] == 0) and np.any(x[9000:15000]))
    True
    """
    fs_i = _sample_rate(fs)
    n = round(v.positive("duration", duration) * fs_i)
    turns = v.finite_array("intervals", intervals)  # NaN: "cannot convert float NaN to integer"
    if turns.size and (turns.ndim != 2 or turns.shape[1] != 2):  # (0.5, 1.0): TypeError
        raise v.fail("intervals", intervals, "must be (start, end) pairs in seconds: [(0.5, 1.0)]")
    fade = v.nonnegative("fade", fade)
    if speech is None:
        speech = speech_like(n / fs_i, fs_i, seed=seed)
    else:
        speech = v.finite_array("speech", speech)
        if speech.ndim != 1 or speech.size < n:
            raise v.fail(
                "speech", speech.shape, f"must be (N,) with N >= {n} ({duration} s at {fs_i} Hz)"
            )
        speech = speech[:n]
    gate = np.zeros(n)
    nf = max(1, round(fade * fs_i))
    for t0, t1 in turns.reshape(-1, 2):
        a, b = max(0, round(t0 * fs_i)), min(n, round(t1 * fs_i))
        if b <= a:
            raise v.fail("intervals", intervals, f"({t0}, {t1}) is empty or outside 0..{duration}")
        g = np.ones(b - a)
        ramp = np.sin(0.5 * np.pi * (np.arange(min(nf, (b - a) // 2)) + 0.5) / nf) ** 2
        g[: ramp.size] = ramp
        g[g.size - ramp.size :] = ramp[::-1]
        gate[a:b] = np.maximum(gate[a:b], g)
    return speech * gate


def simulate_moving(
    geometry: ArrayGeometry,
    sources: Sequence[MovingSource],
    fs: int,
    *,
    step: float = 0.05,
    room_dim: Sequence[float] = (6.0, 5.0, 3.0),
    rt60: float = 0.0,
    array_center: Sequence[float] | None = None,
    snr_db: float | None = None,
    noise: NoiseKind = "white",
    seed: int | None = None,
    max_order: int | None = None,
    c: float = SPEED_OF_SOUND,
    rir_cache: dict[Any, np.ndarray] | None = None,
) -> MovingScene:
    """Render moving sources block-wise with cross-faded room responses.

    The room response is computed at every multiple of `step` seconds along each
    source's trajectory (image-source method, one pyroomacoustics room for all
    positions, each distinct position once); the dry signal is cut by triangular
    windows centred on those times (they sum to one) and each piece is convolved with its position's response:
    ``image = sum_j h_j * (w_j x)``. A source that stays put gives exactly the
    static render (every ``h_j`` is the same, and the windows sum to one); a moving
    one changes its response smoothly over ``2 step`` around each point (fine for
    talkers walking at a few tens of degrees per second at ``step = 0.05``).

    Parameters
    ----------
    geometry, fs, room_dim, rt60, array_center, snr_db, noise, seed, max_order, c
        As for :func:`simulate` (no array yaw: directions are in the room's frame
        turned by nothing).
    sources : sequence of MovingSource
    step : float
        Seconds between room responses along a path.
    rir_cache : dict, optional
        Room responses already computed, keyed by room, rate, positions and order;
        filled as it goes (scenes that reuse positions, such as a benchmark's seeds,
        render faster).

    Returns
    -------
    MovingScene
    """
    fs_i, room, rt60, noise_kind, c, center, snr_db = _room_options(
        geometry, fs, room_dim, rt60, noise, c, array_center, snr_db
    )
    step = v.positive("step", step)
    if len(sources) == 0 or not all(isinstance(s, MovingSource) for s in sources):
        raise v.fail("sources", sources, "must be a non-empty sequence of MovingSource")
    mics = geometry.positions - geometry.centroid + center
    _inside("array_center", array_center, mics, room, what="the array")
    dry = []
    for k, s in enumerate(sources):
        if not isinstance(s.trajectory, Trajectory):  # a bare azimuth: AttributeError 'at'
            why = "must be a Trajectory (Trajectory([0.0], [az]) for a source that stays)"
            raise v.fail(f"sources[{k}].trajectory", s.trajectory, why)
        sig = v.finite_array(f"sources[{k}].signal", s.signal, ndim=1)
        if sig.size < 1:  # it rendered a scene of zeros
            raise v.fail(f"sources[{k}].signal", s.signal, "is empty")
        dry.append(sig)
    n_in = max(x.size for x in dry)
    hop = max(1, round(step * fs_i))
    n_pts = -(-n_in // hop) + 1  # points 0, hop, ..., covering the longest signal
    t_pts = np.arange(n_pts) * hop / fs_i
    pos = []
    for k, s in enumerate(sources):
        adr = s.trajectory.at(t_pts)  # (P, 3)
        u = unit_vectors(adr[:, :2])
        p = center + adr[:, 2:3] * u
        _inside(f"sources[{k}]", s.trajectory, p, room, what=f"source {k}")
        near = np.linalg.norm(p[:, None, :] - mics[None], axis=-1).min(axis=1)  # (P,)
        if np.any(near < 0.01):  # as simulate refuses
            when = float(t_pts[np.argmax(near < 0.01)])
            why = f"puts source {k} within 1 cm of a microphone at {when:g} s"
            raise v.fail(f"sources[{k}]", s.trajectory, why)
        pos.append(p)
    all_pos = np.concatenate(pos)  # (K * P, 3)
    # one response per distinct position (a source standing still needs one)
    uniq, which = np.unique(all_pos.round(9), axis=0, return_inverse=True)
    key = (room.tobytes(), fs_i, rt60, max_order, mics.tobytes(), uniq.tobytes(), c)
    if rir_cache is not None and key in rir_cache:
        rirs_u = rir_cache[key]
    else:
        rirs_u = _rirs(room, fs_i, rt60, max_order, mics, uniq, c)
        if rir_cache is not None:
            rir_cache[key] = rirs_u
    rirs = rirs_u[which.ravel()]  # (K * P, M, L)
    L = rirs.shape[-1]
    n_out = n_in + L - 1 + hop
    images = np.zeros((len(dry), geometry.n_mics, n_out))
    ramp = np.arange(hop) / hop
    for k, x in enumerate(dry):
        for j in range(n_pts):
            a = (j - 1) * hop
            # the triangular window around point j: rises over (a, a + hop], falls after
            w = np.concatenate([ramp, 1.0 - ramp])  # samples a .. a + 2 hop
            lo, hi = max(a, 0), min(a + 2 * hop, x.size)
            if hi <= lo:
                continue
            seg = x[lo:hi] * w[lo - a : hi - a]
            if not np.any(seg):
                continue
            y = fftconvolve(seg[None, :], rirs[k * n_pts + j], axes=-1)
            images[k, :, lo : lo + y.shape[-1]] += y
    n_keep = n_in + L - 1
    images = images[:, :, :n_keep]
    mix = images.sum(axis=0)
    noise_sig = _noise(mix, snr_db, noise_kind, geometry, fs_i, seed, c)
    signals = mix + noise_sig
    d0 = np.stack([s.trajectory.at(0.0) for s in sources])  # (K, 3)
    for arr in (signals, images, noise_sig, mics):
        arr.setflags(write=False)
    return MovingScene(
        signals=signals,
        fs=fs_i,
        geometry=geometry,
        directions=d0[:, :2],
        distances=d0[:, 2],
        source_positions=np.stack([p[0] for p in pos]),
        array_positions=mics,
        images=images,
        noise=noise_sig,
        rt60=rt60,
        trajectories=tuple(s.trajectory for s in sources),
        step=step,
    )


# --------------------------------------------------------------------- helpers


def _room_options(
    geometry: Any,
    fs: Any,
    room_dim: Any,
    rt60: Any,
    noise: Any,
    c: Any,
    array_center: Any,
    snr_db: Any,
) -> tuple[int, np.ndarray, float, str, float, np.ndarray, float | None]:
    """The room options :func:`simulate` and :func:`simulate_moving` share, checked:
    ``(fs, room, rt60, noise, c, array centre, snr_db)``."""
    if not isinstance(geometry, ArrayGeometry):
        raise v.fail("geometry", geometry, "must be an ArrayGeometry (see arraykit.load_geometry)")
    fs_i = _sample_rate(fs)
    room = _room_dim(room_dim)
    rt = float(v.finite_array("rt60", rt60, ndim=0))
    if rt < 0:
        raise v.fail("rt60", rt60, "must be >= 0 seconds (0 means anechoic)")
    noise_kind = v.choice("noise", noise, ("white", "diffuse"))
    speed = v.positive("c", c)
    if array_center is None:
        center = np.array([room[0] / 2, room[1] / 2, min(ARRAY_HEIGHT, room[2] / 2)])
    else:
        center = v.finite_array("array_center", array_center, ndim=1)
        if center.shape != (3,):
            raise v.fail("array_center", array_center, "must be (x, y, z) metres in the room")
    snr = None if snr_db is None else float(v.finite_array("snr_db", snr_db, ndim=0))
    return fs_i, room, rt, noise_kind, speed, center, snr


def _sample_rate(fs: Any) -> int:
    x = v.positive("fs", fs)
    if x != int(x):
        raise v.fail("fs", fs, "must be a whole number of hertz")
    return int(x)


def _room_dim(room_dim: Any) -> np.ndarray:
    r = v.finite_array("room_dim", room_dim, ndim=1)
    if r.shape != (3,) or np.any(r <= 0):
        raise v.fail("room_dim", room_dim, "must be three positive lengths (x, y, z) in metres")
    return r


def _yaw_matrix(yaw_deg: float) -> np.ndarray:
    a = math.radians(yaw_deg)
    return np.array(
        [[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0], [0.0, 0.0, 1.0]]
    )


def _inside(name: str, value: Any, pts: np.ndarray, room: np.ndarray, *, what: str) -> None:
    margin = 1e-3
    bad = np.any((pts < margin) | (pts > room - margin), axis=1)
    if np.any(bad):
        q = pts[np.argmax(bad)].round(3).tolist()
        raise v.fail(name, value, f"puts {what} at {q}, outside the room {room.tolist()}")


def _shoebox(room: np.ndarray, fs: int, rt60: float, max_order: int | None) -> Any:
    try:
        import pyroomacoustics as pra
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "room simulation needs pyroomacoustics: pip install pyroomacoustics (part of arraykit's default install)"
        ) from exc
    if rt60 == 0.0:
        absorption, order = 1.0, 0
    else:
        try:
            absorption, order = pra.inverse_sabine(rt60, room)
        except ValueError:
            raise v.fail(
                "rt60", rt60, f"is too short for a room of {room.tolist()} m (absorption > 1)"
            ) from None
    if max_order is not None:
        order = v.integer("max_order", max_order, 0)
    return pra.ShoeBox(
        room.tolist(), fs=fs, materials=pra.Material(float(absorption)), max_order=order
    )


def _rirs(
    room: np.ndarray,
    fs: int,
    rt60: float,
    max_order: int | None,
    mics: np.ndarray,
    src_pos: np.ndarray,
    c: float,
) -> np.ndarray:
    """Room impulse responses ``(K, M, L)`` from each source to each microphone."""
    box = _shoebox(room, fs, rt60, max_order)
    if abs(c - 343.0) > 1e-9:
        box.c = c
    for p in src_pos:
        box.add_source(p.tolist())
    box.add_microphone_array(mics.T.copy())
    _compute_rir_one_thread(box)
    K, M = src_pos.shape[0], mics.shape[0]
    length = max(len(box.rir[m][k]) for m in range(M) for k in range(K))
    out = np.zeros((K, M, length))
    for m in range(M):
        for k in range(K):
            h = box.rir[m][k]
            out[k, m, : len(h)] = h
    return out


_PRA_THREADS = threading.Lock()


def _compute_rir_one_thread(box: Any) -> None:
    """``box.compute_rir()`` with pyroomacoustics' image sum on one thread, for reproducibility.

    pyroomacoustics spreads the image sources over ``os.cpu_count()`` threads (its check of
    ``OMP_NUM_THREADS`` never reads the environment; only ``PRA_NUM_THREADS`` or
    ``constants.set`` change it), and the order of that sum shows in the last bits: the
    same seed rendered 4.6e-6 apart on 1 and 2 threads. One thread makes a seeded scene
    the same on a laptop and on a 16-core cluster node (campaign rows bit for bit).
    """
    import pyroomacoustics as pra

    with _PRA_THREADS:
        before = pra.constants.get("num_threads")
        pra.constants.set("num_threads", 1)
        try:
            box.compute_rir()
        finally:
            pra.constants.set("num_threads", before)


def _noise(
    mix: np.ndarray,
    snr_db: float | None,
    kind: str,
    geometry: ArrayGeometry,
    fs: int,
    seed: int | None,
    c: float,
) -> np.ndarray:
    """Noise ``(M, N)`` at `snr_db` below the mean power of `mix` (zeros for None)."""
    if snr_db is None:
        return np.zeros_like(mix)
    if kind == "white":
        raw = np.random.default_rng(seed).standard_normal(mix.shape)
    else:
        raw = diffuse_noise(geometry, mix.shape[1], fs, seed=seed, c=c)
    p_sig = float(np.mean(mix**2))
    p_raw = float(np.mean(raw**2))
    return raw * math.sqrt(p_sig / (p_raw * 10.0 ** (snr_db / 10.0)))


def _resonator(x: np.ndarray, fc: float, bw: float, fs: int) -> np.ndarray:
    """Second-order resonance at `fc` Hz with bandwidth `bw` Hz, unit gain at `fc`."""
    r = math.exp(-math.pi * bw / fs)
    theta = 2 * math.pi * fc / fs
    a = [1.0, -2 * r * math.cos(theta), r * r]
    gain = abs(np.polyval(a[::-1], np.exp(-1j * theta)))  # |A(e^{j theta})|
    return lfilter([gain], a, x)
