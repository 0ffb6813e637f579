"""Real measurements: the office-ula32 impulse responses, their calibration and mixtures.

The office-ula32 data set (RS-MNMF, Politecnico di Milano; GPL-3.0, not shipped
with arraykit) holds measured room impulse responses from loudspeakers to a
32-microphone line array (microphone ``k`` at ``(0, 0.03 k, 0)`` metres, 48 kHz),
the loudspeaker positions as the authors estimated them (``sources.csv``) and
anechoic clips (``dry/``, 16 kHz) to convolve with them. Its folder layout::

    root/
      sources.csv                 source,x_m,y_m
      rir_source_{id}.wav         32 channels, one impulse response per microphone
      dry/{name}.wav              mono clips

The measurement has flaws that a careful evaluation handles, the first two
(named by the data set's README) calibrated from the impulse responses themselves;
this module does so openly:

* the odd channels arrive about one sample earlier than the even ones (a
  per-channel latency of the recording rig);
* the true loudspeaker positions lie some centimetres nearer the array than
  ``sources.csv`` says;
* the responses carry a constant offset of -1/2 LSB on every channel (16-bit
  quantization by truncation: the silent tail reads 0 or -1 LSB), a step at 0 Hz
  identical on all channels. :func:`load_office_ula32` subtracts each channel's
  offset, measured over the last quarter of its file (the noise floor), before any
  truncation. (It changes none of the validation numbers, since speech has no
  content at 0 Hz, but a clip with a DC offset would otherwise carry it into
  every channel at zero lag.)

:func:`direct_path_onsets` times the direct-path arrival of every impulse
response to a fraction of a sample (peak of the Hilbert envelope of the
band-limited, FFT-upsampled response); :func:`calibrate` fits, by least squares,
one point source per loudspeaker (position in the array's plane plus an
emission time) together with the channel latencies (one odd/even offset by
default, or one per channel), and reports the residual. :class:`Calibration` removes the fitted offsets from signals.
:func:`render_mixture` convolves dry clips with the measured responses (resampled
with :func:`scipy.signal.resample_poly`) into per-source microphone images.

Shapes: ``S`` sources, ``M`` microphones (32), ``L`` impulse-response samples,
``N`` signal samples.

A line array cannot tell a source at ``(x, y, 0)`` from one rotated about its axis,
so fitted positions are given in the plane ``z = 0`` with ``x >= 0``: ``x`` is the
distance from the array axis.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal, cast

import numpy as np
import numpy.typing as npt
from scipy.optimize import least_squares
from scipy.signal import fftconvolve, hilbert, resample, resample_poly

from arraykit import _validate as v
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry, load_geometry
from arraykit.io import read_audio

__all__ = [
    "Calibration",
    "Mixture",
    "OfficeULA32",
    "calibrate",
    "direct_path_onsets",
    "load_office_ula32",
    "render_mixture",
    "render_source",
]

OffsetModel = Literal["odd-even", "per-channel", "none"]
LatencyModel = Literal["per-source", "common"]
_OFFSET_MODELS = ("odd-even", "per-channel", "none")
_LATENCY_MODELS = ("per-source", "common")
N_MICS = 32


# ------------------------------------------------------------------------ loading
@dataclass(frozen=True)
class OfficeULA32:
    """The office-ula32 measurements as loaded by :func:`load_office_ula32`.

    Attributes
    ----------
    root : Path
        The data folder.
    rirs : np.ndarray [shape=(S, 32, L)]
        Impulse responses, ``rirs[s, m]`` from loudspeaker ``source_ids[s]`` to
        microphone ``m``, with the constant quantization offset removed (read-only).
    fs : int
        Sampling rate of the impulse responses (48000).
    source_ids : tuple of int
        Loudspeaker numbers as in the file names and ``sources.csv``.
    listed_positions : np.ndarray [shape=(S, 3)]
        Loudspeaker positions from ``sources.csv`` in metres (``z = 0``), read-only.
    geometry : ArrayGeometry
        The array (``load_geometry("polimi-ula32")``).
    dry : Mapping[str, np.ndarray [shape=(N,)]]
        Anechoic clips by name (file stem), at `dry_fs`.
    dry_fs : int
        Sampling rate of the dry clips (16000).
    """

    root: Path
    rirs: np.ndarray = field(repr=False)
    fs: int
    source_ids: tuple[int, ...]
    listed_positions: np.ndarray = field(repr=False)
    geometry: ArrayGeometry = field(repr=False)
    dry: Mapping[str, np.ndarray] = field(repr=False)
    dry_fs: int

    @property
    def n_sources(self) -> int:
        """Number of loudspeakers loaded, ``S``."""
        return len(self.source_ids)

    def index(self, source: int) -> int:
        """Row of loudspeaker number `source` in :attr:`rirs` and the position arrays."""
        if source not in self.source_ids:
            raise v.fail("source", source, f"is not a loaded loudspeaker; known: {self.source_ids}")
        return self.source_ids.index(source)


def load_office_ula32(
    root: str | Path,
    *,
    sources: Sequence[int] | None = None,
    rir_seconds: float | None = None,
) -> OfficeULA32:
    """Load the office-ula32 impulse responses, loudspeaker positions and dry clips.

    Parameters
    ----------
    root : str or Path
        The data folder (holding ``sources.csv``, ``rir_source_*.wav``, ``dry/``).
    sources : sequence of int, optional
        Loudspeaker numbers to load (default: every row of ``sources.csv``).
    rir_seconds : float, optional
        Keep only the first `rir_seconds` of each impulse response (the room's T60
        is about 40 ms, so 0.1 s keeps nearly all of the energy).

    Returns
    -------
    OfficeULA32

    Raises
    ------
    InvalidArgumentError
        `root` is not such a folder, a loudspeaker is unknown, or a file has the
        wrong channel count or sampling rate.
    """
    folder = Path(root)
    table = folder / "sources.csv"
    if not table.is_file():
        raise v.fail("root", str(root), "is not an office-ula32 folder (no sources.csv in it)")
    with table.open(newline="") as fh:
        rows = [(int(r["source"]), float(r["x_m"]), float(r["y_m"])) for r in csv.DictReader(fh)]
    listed = {sid: (x, y, 0.0) for sid, x, y in rows}
    ids = tuple(listed) if sources is None else tuple(int(s) for s in sources)
    unknown = [s for s in ids if s not in listed]
    if not ids or unknown:
        raise v.fail("sources", sources, f"must be loudspeakers listed in {table}: {tuple(listed)}")
    keep = None
    if rir_seconds is not None:
        keep = v.positive("rir_seconds", rir_seconds)

    rirs: list[np.ndarray] = []
    fs: int | None = None
    for sid in ids:
        x, rate = read_audio(folder / f"rir_source_{sid}.wav", n_mics=N_MICS)
        if fs is not None and rate != fs:
            raise v.fail("root", str(root), f"rir_source_{sid}.wav is at {rate} Hz, not {fs} Hz")
        fs = rate
        # The -1/2 LSB truncation offset, from the noise floor of the last quarter.
        x = x - x[:, -max(1, x.shape[1] // 4) :].mean(axis=1, keepdims=True)
        rirs.append(x if keep is None else x[:, : max(1, round(keep * rate))])
    assert fs is not None  # ids is never empty (checked above)
    length = min(r.shape[1] for r in rirs)
    rir_array = np.stack([r[:, :length] for r in rirs])
    rir_array.setflags(write=False)
    positions = np.array([listed[s] for s in ids])
    positions.setflags(write=False)

    dry, dry_fs = {}, 0
    for path in sorted((folder / "dry").glob("*.wav")):
        clip, dry_fs = read_audio(path)
        mono = clip.mean(axis=0)
        mono.setflags(write=False)
        dry[path.stem] = mono
    return OfficeULA32(
        root=folder,
        rirs=rir_array,
        fs=int(fs),
        source_ids=ids,
        listed_positions=positions,
        geometry=load_geometry("polimi-ula32"),
        dry=MappingProxyType(dry),
        dry_fs=int(dry_fs),
    )


# -------------------------------------------------------------------- calibration
def direct_path_onsets(
    rirs: npt.ArrayLike,
    fs: float,
    *,
    upsample: int = 16,
    threshold: float = 0.5,
    search_seconds: float = 0.02,
) -> np.ndarray:
    """Arrival time of the direct path in each impulse response, to a fraction of a sample.

    Each response's first `search_seconds` are upsampled by `upsample` in the
    frequency domain; the direct path is the first peak of the Hilbert envelope
    that reaches `threshold` times the envelope's maximum, refined by a parabola
    through the three samples at that peak. The envelope, not the waveform, is
    searched because a loudspeaker's pulse has lobes of both signs of nearly equal
    height, between which a waveform peak picker jumps.

    Parameters
    ----------
    rirs : array_like [shape=(..., L)]
        Impulse responses, time on the last axis.
    fs : float
        Sampling rate in Hz.
    upsample : int
        Upsampling factor (>= 1).
    threshold : float
        Fraction of the maximum, in (0, 1], that the direct-path peak must reach.
    search_seconds : float
        Length of the beginning of each response that is searched.

    Returns
    -------
    np.ndarray [shape=(...)]
        Arrival times in seconds from the first sample.

    A band-limited pulse at 100.25 samples and an inverted one at 57.6 samples:

    >>> import numpy as np
    >>> n = np.arange(400)
    >>> h = np.stack([np.sinc(0.8 * (n - 100.25)), -np.sinc(0.8 * (n - 57.6))])
    >>> t = direct_path_onsets(h, 1000.0, search_seconds=0.4)
    >>> np.round(t * 1000.0, 3).tolist()
    [100.25, 57.6]
    """
    h = v.finite_array("rirs", rirs)
    if h.ndim < 1 or h.shape[-1] < 4:
        raise v.fail("rirs", rirs, "must have at least 4 samples on the last axis")
    rate = v.positive("fs", fs)
    v.integer("upsample", upsample, 1)
    if not 0.0 < float(threshold) <= 1.0:
        raise v.fail("threshold", threshold, "must lie in (0, 1]")
    n = min(h.shape[-1], max(4, round(v.positive("search_seconds", search_seconds) * rate)))
    seg = h[..., :n]
    if np.any(np.max(np.abs(seg), axis=-1) == 0):
        raise v.fail("rirs", rirs, f"a response is all zeros in its first {n} samples")
    up = int(upsample)
    env = np.abs(hilbert(resample(seg, n * up, axis=-1), axis=-1))  # (..., n * up)
    above = env >= threshold * env.max(axis=-1, keepdims=True)
    first = np.argmax(above, axis=-1)
    # The peak is the first local maximum at or after the threshold crossing.
    rising = np.diff(env, axis=-1) > 0  # rising[..., i]: env[i + 1] > env[i]
    idx = np.arange(env.shape[-1] - 1)
    falls = (~rising) & (idx >= first[..., None])
    peak = np.argmax(falls, axis=-1)
    peak = np.clip(peak, 1, env.shape[-1] - 2)
    y0, y1, y2 = (np.take_along_axis(env, (peak + k)[..., None], -1)[..., 0] for k in (-1, 0, 1))
    denom = y0 - 2.0 * y1 + y2
    frac = np.where(np.abs(denom) > 1e-300, 0.5 * (y0 - y2) / np.where(denom == 0, 1, denom), 0.0)
    return (peak + np.clip(frac, -0.5, 0.5)) / (up * rate)


@dataclass(frozen=True)
class Calibration:
    """Channel latencies and loudspeaker positions fitted to the direct-path arrivals.

    Model, for loudspeaker ``s`` and microphone ``m``:
    ``onset[s, m] = emission[s] + |position[s] - p_m| / c + channel_offset[m]``.

    Attributes
    ----------
    offsets : {"odd-even", "per-channel", "none"}
        The channel-offset model that was fitted.
    latency : {"per-source", "common"}
        Whether each loudspeaker had its own emission time or all shared one.
    channel_offsets_s : np.ndarray [shape=(M,)]
        Latency of each channel in seconds relative to channel 0 (positive: the
        channel is recorded late). With ``"odd-even"`` the odd channels share one value.
    positions : np.ndarray [shape=(S, 3)]
        Fitted loudspeaker positions in metres (``z = 0``).
    emission_s : np.ndarray [shape=(S,)]
        Fitted emission time of each loudspeaker (the rig's latency from the start
        of the response to the sound leaving the loudspeaker, plus the onset
        detector's constant lag), seconds.
    onsets_s : np.ndarray [shape=(S, M)]
        Measured direct-path arrival times (:func:`direct_path_onsets`).
    residuals_samples : np.ndarray [shape=(S, M)]
        Measured minus modelled arrival, in samples at `fs`.
    rms_samples : np.ndarray [shape=(S,)]
        RMS of the residuals per loudspeaker, in samples.
    shift_m : np.ndarray [shape=(S,)]
        Distance between the fitted and the listed position, metres.
    range_change_m : np.ndarray [shape=(S,)]
        Fitted minus listed distance from the array centroid (negative: nearer).
    fs : int
    c : float
    """

    offsets: OffsetModel
    latency: LatencyModel
    channel_offsets_s: np.ndarray
    positions: np.ndarray
    emission_s: np.ndarray
    onsets_s: np.ndarray
    residuals_samples: np.ndarray
    rms_samples: np.ndarray
    shift_m: np.ndarray
    range_change_m: np.ndarray
    fs: int
    c: float

    def align(self, signals: npt.ArrayLike, fs: float) -> np.ndarray:
        """Remove the fitted channel latencies from microphone signals ``(M, N)``.

        Channel ``m`` is advanced by ``channel_offsets_s[m]`` (a fractional delay
        applied in the frequency domain on a zero-padded copy, then cut back to
        ``N`` samples), so the aligned signals follow the geometry's propagation
        model.
        """
        x = v.signals("signals", signals, self.channel_offsets_s.size)
        rate = v.positive("fs", fs)
        n = x.shape[1]
        pad = n + 2 * int(np.ceil(np.max(np.abs(self.channel_offsets_s)) * rate)) + 2
        nfft = 1 << (pad - 1).bit_length()
        f = np.fft.rfftfreq(nfft, 1.0 / rate)
        shift = np.exp(2j * np.pi * f[None, :] * self.channel_offsets_s[:, None])
        return np.fft.irfft(np.fft.rfft(x, nfft, axis=1) * shift, nfft, axis=1)[:, :n]


def calibrate(
    data: OfficeULA32,
    *,
    offsets: OffsetModel = "odd-even",
    latency: LatencyModel = "per-source",
    c: float = SPEED_OF_SOUND,
    upsample: int = 16,
) -> Calibration:
    """Fit loudspeaker positions and channel latencies to the direct-path arrivals.

    The arrival of every impulse response is timed with :func:`direct_path_onsets`;
    then one nonlinear least-squares problem over all loudspeakers fits, for each
    loudspeaker, a position ``(x, y)`` in the array's plane and an emission time,
    and, shared by all loudspeakers, the channel latencies of the chosen model:

    * ``"odd-even"``: one latency for the odd channels relative to the even ones
      (the rig's known quirk; 1 parameter);
    * ``"per-channel"``: one latency per channel relative to channel 0 (31
      parameters; needs at least 2 loudspeakers and partly trades with the
      positions);
    * ``"none"``: no channel latency.

    The emission time is fitted per loudspeaker (``latency="per-source"``, the
    default: each measurement may have its own playback latency) or once for all
    (``"common"``). The two models fit about equally well (residuals 0.09 to
    0.14 against 0.12 to 0.18 sample RMS) and their positions differ by up to 3 cm,
    mostly in range for the far loudspeakers, whose wavefront curvature over the
    array is smallest: that is the uncertainty of the fitted positions.
    The fit starts from the listed positions.

    Parameters
    ----------
    data : OfficeULA32
    offsets : {"odd-even", "per-channel", "none"}
        Channel-latency model.
    latency : {"per-source", "common"}
        Emission-time model.
    c : float
        Speed of sound in m/s.
    upsample : int
        Upsampling factor for the onset times.

    Returns
    -------
    Calibration
    """
    if not isinstance(data, OfficeULA32):
        raise v.fail("data", data, "must be an OfficeULA32 from load_office_ula32()")
    model = cast(OffsetModel, v.choice("offsets", offsets, _OFFSET_MODELS))
    lat = cast(LatencyModel, v.choice("latency", latency, _LATENCY_MODELS))
    n_emit = data.n_sources if lat == "per-source" else 1
    speed = v.positive("c", c)
    n_src = data.n_sources
    if model == "per-channel" and n_src < 2:
        raise v.fail("offsets", offsets, f"'per-channel' needs >= 2 loudspeakers, got {n_src}")
    fs = data.fs
    onsets = direct_path_onsets(data.rirs, fs, upsample=upsample)  # (S, M)
    t = onsets * fs  # samples
    mics = data.geometry.positions[:, :2]  # (M, 2)
    n_mics = mics.shape[0]
    odd = (np.arange(n_mics) % 2).astype(float)
    n_off = {"odd-even": 1, "per-channel": n_mics - 1, "none": 0}[model]

    def unpack(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = p[: 2 * n_src].reshape(n_src, 2)
        emit = np.broadcast_to(p[2 * n_src : 2 * n_src + n_emit], (n_src,))
        q = p[2 * n_src + n_emit :]
        if model == "odd-even":
            off = q[0] * odd
        elif model == "per-channel":
            off = np.concatenate([[0.0], q])
        else:
            off = np.zeros(n_mics)
        return pos, emit, off

    def residual(p: np.ndarray) -> np.ndarray:
        pos, emit, off = unpack(p)
        dist = np.linalg.norm(pos[:, None, :] - mics[None, :, :], axis=-1)  # (S, M)
        return (emit[:, None] + dist * (fs / speed) + off[None, :] - t).ravel()

    start = data.listed_positions[:, :2]
    emit0 = np.median(t - np.linalg.norm(start[:, None] - mics[None], axis=-1) * fs / speed, axis=1)
    if n_emit == 1:
        emit0 = np.median(emit0, keepdims=True)
    p0 = np.concatenate([start.ravel(), emit0, np.zeros(n_off)])
    fit = least_squares(residual, p0, x_scale="jac")
    pos, emit, off = unpack(fit.x)
    res = fit.fun.reshape(n_src, n_mics)
    positions = np.concatenate([np.abs(pos[:, :1]), pos[:, 1:], np.zeros((n_src, 1))], axis=1)
    centre = data.geometry.centroid
    listed = data.listed_positions
    out = {
        "channel_offsets_s": off / fs,
        "positions": positions,
        "emission_s": np.array(emit) / fs,
        "onsets_s": onsets,
        "residuals_samples": res,
        "rms_samples": np.sqrt(np.mean(res**2, axis=1)),
        "shift_m": np.linalg.norm(positions - listed, axis=1),
        "range_change_m": np.linalg.norm(positions - centre, axis=1)
        - np.linalg.norm(listed - centre, axis=1),
    }
    for arr in out.values():
        arr.setflags(write=False)
    return Calibration(offsets=model, latency=lat, fs=fs, c=speed, **out)


# ----------------------------------------------------------------------- mixtures
@dataclass(frozen=True)
class Mixture:
    """Microphone signals of two loudspeakers playing at once, and each one alone.

    Attributes
    ----------
    signals : np.ndarray [shape=(M, N)]
        ``target + interferer``.
    target, interferer : np.ndarray [shape=(M, N)]
        Each loudspeaker's image at the microphones (its clip convolved with its
        measured responses); the interferer is scaled to the requested SIR. The
        target is silent for the first `lead_seconds` (an interferer-only segment).
    fs : int
        Sampling rate of all three.
    target_source, interferer_source : int
        Loudspeaker numbers.
    reference : int
        Microphone at which the input SIR was set.
    sir_db : float
        Target-to-interferer power ratio at the reference microphone, dB, while both
        play.
    lead_seconds : float
        How long the interferer plays alone at the start.
    """

    signals: np.ndarray
    target: np.ndarray
    interferer: np.ndarray
    fs: int
    target_source: int
    interferer_source: int
    reference: int
    sir_db: float
    lead_seconds: float = 0.0


def render_source(
    data: OfficeULA32,
    source: int,
    clip: str | npt.ArrayLike,
    *,
    fs: Literal[16000, 48000] = 16000,
    seconds: float | None = None,
    start_seconds: float = 0.0,
) -> np.ndarray:
    """Play a dry clip from one loudspeaker: its image at the 32 microphones ``(M, N)``.

    The clip (at ``data.dry_fs``) and the impulse responses (at ``data.fs``) are
    brought to `fs` with :func:`scipy.signal.resample_poly` (zero-phase, so no
    delay is added; the responses are scaled by ``data.fs / fs`` so that a filter
    keeps its gain), then convolved; the result keeps the first ``N`` samples, the
    clip's length.

    Parameters
    ----------
    data : OfficeULA32
    source : int
        Loudspeaker number.
    clip : str or array_like [shape=(N,)]
        A name in ``data.dry`` or samples at ``data.dry_fs``.
    fs : {16000, 48000}
        Output sampling rate.
    seconds, start_seconds : float
        The part of the clip to play (default: all of it from `start_seconds`).

    Returns
    -------
    np.ndarray [shape=(M, N)]
        The loudspeaker's image at each microphone, at `fs`.
    """
    if not isinstance(data, OfficeULA32):
        raise v.fail("data", data, "must be an OfficeULA32 from load_office_ula32()")
    row = data.index(source)
    if isinstance(clip, str):
        if clip not in data.dry:
            raise v.fail("clip", clip, f"is not a dry clip; known: {', '.join(sorted(data.dry))}")
        dry = data.dry[clip]
    else:
        dry = v.finite_array("clip", clip, ndim=1)
    if fs not in (16000, 48000):
        raise v.fail("fs", fs, "must be 16000 or 48000")
    start = round(float(start_seconds) * data.dry_fs)
    stop = None if seconds is None else start + round(v.positive("seconds", seconds) * data.dry_fs)
    dry = dry[start:stop]
    if dry.size == 0:
        raise v.fail("start_seconds", start_seconds, "leaves nothing of the clip")
    dry = _resample(dry, data.dry_fs, fs)
    # An impulse response is a filter: resampling keeps its gain (sum of taps), not
    # its sample values, hence the factor data.fs / fs.
    rir = _resample(data.rirs[row], data.fs, fs) * (data.fs / fs)
    return fftconvolve(rir, dry[None, :], axes=1)[:, : dry.size]


def render_mixture(
    data: OfficeULA32,
    target: int,
    interferer: int,
    *,
    target_clip: str | npt.ArrayLike = "female_1",
    interferer_clip: str | npt.ArrayLike = "male_1",
    fs: Literal[16000, 48000] = 16000,
    seconds: float | None = 2.0,
    start_seconds: float = 0.0,
    sir_db: float = 0.0,
    reference: int = 16,
    lead_seconds: float = 0.0,
) -> Mixture:
    """Two loudspeakers playing at once, rendered through their measured responses.

    Parameters
    ----------
    data : OfficeULA32
    target, interferer : int
        Loudspeaker numbers (different).
    target_clip, interferer_clip : str or array_like
        Dry clips (names in ``data.dry`` or samples at ``data.dry_fs``).
    fs : {16000, 48000}
        Output sampling rate.
    seconds, start_seconds : float
        The part of each clip to play (the interferer plays `lead_seconds` more).
    sir_db : float
        Target-to-interferer power ratio at microphone `reference` while both play
        (the interferer is scaled to it).
    reference : int
        The reference microphone.
    lead_seconds : float
        The interferer starts alone for this long before the target joins: a
        noise-only segment for estimating an MVDR noise covariance.

    Returns
    -------
    Mixture
    """
    if target == interferer:
        raise v.fail("interferer", interferer, "must differ from the target loudspeaker")
    if isinstance(reference, bool) or not isinstance(reference, int | np.integer):
        raise v.fail("reference", reference, "must be a microphone index")
    if not 0 <= reference < data.geometry.n_mics:
        raise v.fail("reference", reference, f"must lie in 0..{data.geometry.n_mics - 1}")
    sir = float(v.finite_array("sir_db", sir_db, ndim=0))
    lead = float(v.finite_array("lead_seconds", lead_seconds, ndim=0))
    if lead < 0:
        raise v.fail("lead_seconds", lead_seconds, "must be >= 0")
    n_lead = round(lead * fs)
    s = render_source(
        data, target, target_clip, fs=fs, seconds=seconds, start_seconds=start_seconds
    )
    i = render_source(
        data,
        interferer,
        interferer_clip,
        fs=fs,
        seconds=None if seconds is None else seconds + lead,
        start_seconds=start_seconds,
    )
    n = min(s.shape[1] + n_lead, i.shape[1])
    s = np.concatenate([np.zeros((s.shape[0], n_lead)), s], axis=1)[:, :n]
    i = i[:, :n]
    both = slice(n_lead, n)
    power_i = np.mean(i[reference, both] ** 2)
    scale = np.sqrt(np.mean(s[reference, both] ** 2) / power_i / 10 ** (sir / 10))
    i = i * scale
    return Mixture(
        signals=s + i,
        target=s,
        interferer=i,
        fs=int(fs),
        target_source=int(target),
        interferer_source=int(interferer),
        reference=int(reference),
        sir_db=sir,
        lead_seconds=n_lead / fs,
    )


def _resample(x: np.ndarray, fs_in: int, fs_out: int) -> np.ndarray:
    if fs_in == fs_out:
        return np.asarray(x, dtype=float)
    g = np.gcd(int(fs_in), int(fs_out))
    return resample_poly(x, fs_out // g, fs_in // g, axis=-1)
