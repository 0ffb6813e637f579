"""The distortion a beamformer actually applied to the talker in a recording.

Without the clean talker, the gain the weights apply to it is read where the talker
dominates: in time-frequency bins at least ``dominance_db`` above the noise floor of
their frequency, the output power is compared with the power at the microphones
(their mean: the steered reference signal, whose magnitude steering does not
change). A beamformer that is steered right passes those bins at about 0 dB; one
that misses the talker, or cancels it, shows a loss that grows with frequency.

Reverberation muddies the reference: every beamformer also removes part of the
room's reverberant tail, so even a well-steered delay-and-sum reads a little below
0 dB in a reverberant room. The report therefore also gives the loss in excess of
delay-and-sum steered the same way (DAS cannot cancel the talker): a large excess
is the signature of self-cancellation.

Shapes: ``M`` microphones, ``N`` samples, ``F`` frequencies, ``T`` frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v
from arraykit.beamform import (
    apply_weights,
    covariance,
    delay_and_sum,
    design_names,
    get_design,
    noise_covariance_auto,
    weights_for,
)
from arraykit.beamform.apply import live_weights
from arraykit.diagnostics.mismatch import loading_for, steering_loss
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry, unit_vectors
from arraykit.stft import near_unit, stft, stft_frequencies

__all__ = ["Report", "diagnose_recording", "measure_gain", "recording_methods"]

RecordingMethod = str
"""A design name of :mod:`arraykit.beamform.registry` that needs no nulls."""
SELF_CANCELLATION_DB = 3.0
"""Band-mean loss in excess of delay-and-sum above which self-cancellation is flagged."""
DIRECTION_SLACK_DEG = 3.0
"""A DOA estimate farther than this from the look direction is offered as a fix."""


def recording_methods() -> tuple[str, ...]:
    """The designs a recording can be diagnosed for: every registered one without nulls."""
    return tuple(m for m in design_names() if "nulls" not in get_design(m).needs)


@dataclass(frozen=True)
class Report:
    """What :func:`diagnose_recording` found.

    Attributes
    ----------
    freqs : np.ndarray [shape=(F,)]
    gain_db : np.ndarray [shape=(F,)]
        Gain applied to the talker, measured in talker-dominated bins (NaN where a
        frequency has fewer than ``min_bins`` such bins).
    das_gain_db : np.ndarray [shape=(F,)]
        The same measurement for delay-and-sum steered the same way.
    excess_db : np.ndarray [shape=(F,)]
        ``das_gain_db - gain_db``: loss beyond what mis-aiming alone explains.
    n_bins : np.ndarray [shape=(F,)]
        Talker-dominated bins used per frequency.
    band : (float, float)
        Frequency range the band means use, Hz.
    band_gain_db, band_excess_db : float
        Means over the band.
    self_cancellation : bool
        ``band_excess_db > SELF_CANCELLATION_DB`` for an adaptive design (one that
        needs a covariance from the recording).
    direction : (float, float)
        The look direction that was used.
    doa_direction : (float, float) or None
        Where :mod:`arraykit.doa` hears the talker (None if not run or unavailable).
    direction_error : float or None
        Angle between ``direction`` and ``doa_direction``, degrees.
    doa_spread : float or None
        How sure that estimate is: the median absolute deviation (degrees) of the
        estimates nearest the look direction over blocks of the recording.
    doa_others : tuple of (float, float)
        The other sources the DOA search found (it looks for several, so a second
        talker is named rather than averaged into the estimate).
    predicted_gain_db : np.ndarray [shape=(F,)] or None
        The loss predicted for that error at the measured SNR.
    suggestions : list of str
    """

    freqs: np.ndarray
    gain_db: np.ndarray
    das_gain_db: np.ndarray
    excess_db: np.ndarray
    n_bins: np.ndarray
    band: tuple[float, float]
    band_gain_db: float
    band_excess_db: float
    self_cancellation: bool
    method: str
    direction: tuple[float, float]
    doa_direction: tuple[float, float] | None
    direction_error: float | None
    predicted_gain_db: np.ndarray | None
    snr_db: np.ndarray
    suggestions: list[str] = field(default_factory=list)
    doa_spread: float | None = None
    doa_others: tuple[tuple[float, float], ...] = ()

    def summary(self) -> str:
        """A few lines for people."""
        lines = [
            f"{self.method} steered at azimuth {self.direction[0]:.1f}°, elevation "
            f"{self.direction[1]:.1f}°",
            f"talker gain over {self.band[0]:.0f}-{self.band[1]:.0f} Hz: "
            f"{_db(self.band_gain_db)} (delay-and-sum the same way: "
            f"{_db(_nanmean(self._in_band(self.das_gain_db)))})",
        ]
        lo, hi = self._halves(self.gain_db)
        lines.append(f"low half of the band {_db(lo)}, high half {_db(hi)}")
        if self.self_cancellation:
            lines.append(
                f"SELF-CANCELLATION: {self.band_excess_db:.1f} dB more loss than delay-and-sum"
            )
        if self.doa_direction is not None:
            lines.append(
                f"DOA hears the talker at azimuth {self.doa_direction[0]:.1f}°, elevation "
                f"{self.doa_direction[1]:.1f}° ({self.direction_error:.1f}° from the look direction)"
            )
        lines += [f"fix: {s}" for s in self.suggestions]
        return "\n".join(lines)

    def _in_band(self, x: np.ndarray) -> np.ndarray:
        sel = (self.freqs >= self.band[0]) & (self.freqs <= self.band[1])
        return x[sel]

    def _halves(self, x: np.ndarray) -> tuple[float, float]:
        xb = self._in_band(x)
        h = max(xb.size // 2, 1)
        return _nanmean(xb[:h]), _nanmean(xb[h:] if xb.size > 1 else xb)


def measure_gain(
    weights: npt.ArrayLike,
    target: npt.ArrayLike,
    fs: float,
    *,
    nfft: int = 512,
    hop: int | None = None,
) -> np.ndarray:
    """Gain in dB per frequency that ``weights`` apply to a known target signal.

    ``10 log10( sum_t |w^H X_t|^2 / sum_t mean_m |X_m,t|^2 )`` with ``X`` the STFT
    of ``target`` (e.g. a simulation's clean talker image): exact, since the
    beamformer is linear.

    Parameters
    ----------
    weights : array_like [shape=(F, M)]
    target : array_like [shape=(M, N)]
    fs : float

    Returns
    -------
    np.ndarray [shape=(F,)]

    >>> import numpy as np, arraykit as ak
    >>> g = ak.ArrayGeometry.linear(4, 0.05)
    >>> x = np.tile(np.random.default_rng(0).standard_normal(4096), (4, 1))  # broadside
    >>> w = ak.beamform.delay_and_sum(g, (90, 0), ak.stft.stft_frequencies(16000, 512))
    >>> bool(np.allclose(measure_gain(w, x, 16000)[1:], 0.0, atol=1e-9))
    True
    """
    x = v.signals("target", target)
    X = stft(x, v.positive("fs", fs), nfft=nfft, hop=hop)
    w = np.asarray(weights, dtype=complex)
    if w.shape != X.shape[:2][::-1]:
        raise v.fail("weights", weights, f"must have shape {X.shape[:2][::-1]} (F, M)")
    out = np.sum(np.abs(apply_weights(w, X)) ** 2, axis=-1)
    ref = np.sum(np.mean(np.abs(X) ** 2, axis=0), axis=-1)
    return 10.0 * np.log10(np.maximum(out, 1e-300) / np.maximum(ref, 1e-300))


def diagnose_recording(
    signals: npt.ArrayLike,
    fs: float,
    geometry: ArrayGeometry,
    direction: Sequence[float],
    *,
    method: RecordingMethod = "mpdr",
    weights: npt.ArrayLike | None = None,
    noise: tuple[float, float] | Literal["auto"] | None = None,
    loading: float | None = None,
    freq_range: tuple[float, float] = (300.0, 4000.0),
    dominance_db: float = 10.0,
    min_bins: int = 3,
    locate: bool = True,
    nfft: int = 512,
    c: float = SPEED_OF_SOUND,
) -> Report:
    """Estimate the distortion the beamformer applied to the talker, and say how to fix it.

    Parameters
    ----------
    signals : array_like [shape=(M, N)]
    fs : float
    geometry : ArrayGeometry
    direction : (float, float)
        The look direction the beamformer used, degrees.
    method : str
        A registered design that needs no nulls (das, mvdr, mpdr, superdirective, gev, ...):
        which beamformer (weights computed as :func:`arraykit.beamform.beamform`
        computes them), unless ``weights`` are given.
    weights : array_like [shape=(F, M)], optional
        The weights actually used (overrides ``method``'s).
    noise : (float, float) or "auto", optional
        Noise-only time range for ``"mvdr"`` (default ``"auto"``), also used for the
        noise floor.
    loading : float, optional
        Loading as :func:`arraykit.beamform.beamform` takes it: ``trace`` mode, default
        the one policy of every design (:data:`arraykit.beamform.DEFAULT_LOADING`).
    freq_range : (float, float)
        Band for the means and the DOA search, Hz.
    dominance_db : float
        How far above the noise floor of its frequency a bin must be to count as
        talker-dominated.
    locate : bool
        Ask :func:`arraykit.doa.locate` for a better direction.

    Returns
    -------
    Report
    """
    x = near_unit(v.signals("signals", signals, geometry.n_mics))  # every figure is a ratio
    fs = v.positive("fs", fs)
    v.choice("method", method, recording_methods())
    look = v.directions("direction", direction)
    if look.shape[0] != 1:
        raise v.fail("direction", direction, "must be one (azimuth, elevation) pair")
    look_t = (float(look[0, 0]), float(look[0, 1]))
    band = _band(freq_range, fs)
    dom = float(v.finite_array("dominance_db", dominance_db, ndim=0))
    X = stft(x, fs, nfft=nfft)
    freqs = stft_frequencies(fs, nfft)
    n_mics, _, n_frames = X.shape
    if n_frames < 2 * n_mics:
        raise v.fail("signals", signals, f"is too short: {n_frames} frames, need {2 * n_mics}")

    noise_cov = _noise_covariance(X, fs, x.shape[1], nfft, noise)
    if weights is not None:
        w = np.asarray(weights, dtype=complex)
        if w.shape != (freqs.size, n_mics):
            raise v.fail("weights", weights, f"must have shape ({freqs.size}, {n_mics})")
    else:
        # as `beamform` designs it: for the microphones that hold anything (a dead one
        # made MPDR null the talker, read here as 34.5 dB of self-cancellation)
        w = live_weights(
            X, geometry, None,
            lambda Xl, gl, _: weights_for(
                method, gl, freqs, direction=look_t,
                noise_cov=(
                    noise_cov if len(Xl) == n_mics
                    else _noise_covariance(Xl, fs, x.shape[1], nfft, noise)
                ),
                mixture_cov=lambda: covariance(Xl), loading=loading, c=c,
            ),
        )  # fmt: skip
    w_das = live_weights(X, geometry, None, lambda _, gl, __: delay_and_sum(gl, look_t, freqs, c=c))

    power = np.mean(np.abs(X) ** 2, axis=0)  # (F, T) the steered reference
    floor = np.maximum(np.real(np.einsum("fmm->f", noise_cov)) / n_mics, 1e-300)
    mask = power >= floor[:, None] * 10.0 ** (dom / 10.0)
    n_bins = mask.sum(axis=1)
    gain = _masked_gain(apply_weights(w, X), power, mask, n_bins, min_bins)
    das_gain = _masked_gain(apply_weights(w_das, X), power, mask, n_bins, min_bins)
    excess = das_gain - gain
    in_band = (freqs >= band[0]) & (freqs <= band[1])
    if not in_band.any():
        raise v.fail("freq_range", freq_range, f"holds no STFT bin at nfft={nfft}")
    if not np.isfinite(gain[in_band]).any():
        raise v.fail(
            "signals",
            signals,
            f"holds no talker: no frequency in {band[0]:.0f}-{band[1]:.0f} Hz has {min_bins} "
            f"time-frequency bins {dom:g} dB above the noise floor (lower dominance_db, or "
            "give noise= a noise-only time range)",
        )
    with np.errstate(all="ignore"):
        snr = 10 * np.log10(np.maximum(np.mean(power, axis=1) / floor - 1.0, 1e-3))
    band_gain = _nanmean(gain[in_band])
    band_excess = _nanmean(excess[in_band])
    adaptive = bool(get_design(method).needs & {"noise_cov", "mixture_cov", "cov"})
    self_cancel = adaptive and band_excess > SELF_CANCELLATION_DB

    doa_dir, err, predicted = None, None, None
    suggestions: list[str] = []
    doa: _Doa | None = None
    if locate:
        doa = _locate(x, fs, geometry, band, nfft, look_t, c)
    if doa is not None:
        doa_dir = doa.direction
        err = _angle(look_t, doa_dir)
        sel = in_band & (freqs > 0)
        predicted = np.full(freqs.shape, np.nan)
        predicted[sel] = steering_loss(
            geometry,
            freqs[sel],
            method="mpdr" if method == "mpdr" else "das",
            look=look_t,
            source=doa_dir,
            snr_db=snr[sel] if method == "mpdr" else None,
        )
        if err > DIRECTION_SLACK_DEG and doa.pulled_by is not None:
            suggestions.append(
                f"not sure of the look direction: ak.doa hears the talker {err:.1f}° away (at "
                f"azimuth {doa_dir[0]:.1f}°), but another source at azimuth "
                f"{doa.pulled_by[0]:.1f}° lies within the array's beamwidth "
                f"({doa.beamwidth:.0f}° at {doa.beamwidth_freq:.0f} Hz) of it and can pull the "
                "estimate that far; no steering change advised (check the direction on a "
                "stretch where the talker speaks alone)"
            )
        elif err > DIRECTION_SLACK_DEG and err <= 2.0 * doa.spread:
            suggestions.append(
                f"not sure of the look direction: ak.doa hears the talker {err:.1f}° away, "
                f"but its estimates over {doa.n_blocks} blocks spread ±{doa.spread:.1f}°; "
                "no steering change advised"
            )
        elif err > DIRECTION_SLACK_DEG:
            suggestions.append(
                f"steer at azimuth {doa_dir[0]:.1f}°, elevation {doa_dir[1]:.1f}° "
                f"(ak.doa hears the talker {err:.1f}° away, ±{doa.spread:.1f}° over "
                f"{doa.n_blocks} blocks, no other source within the {doa.beamwidth:.0f}° "
                f"beamwidth; predicted loss there {-_nanmean(predicted[sel]):.1f} dB on average)"
            )
    if method == "mpdr" and (self_cancel or band_gain < -1.0):
        e = err if err is not None and err > 0.5 else 2.0
        sel = in_band & (freqs > 0)
        adv = loading_for(
            geometry, freqs[sel], source=look_t, error=e, snr_db=snr[sel], max_loss_db=1.0
        )
        ok = np.isfinite(adv.loading)
        trace_mode = adv.loading[ok] / (1.0 + 10.0 ** (snr[sel][ok] / 10.0))  # eps / (trace / M)
        if ok.any():
            suggestions.append(
                f"add diagonal loading: loading={float(np.median(trace_mode)):.3g} "
                f"(loading_mode='trace'; {float(np.median(adv.loading[ok])):.3g} x the noise "
                f"power) keeps the loss under 1 dB for a {e:.1f}° error, at a white-noise "
                f"gain of {float(np.median(adv.wng_db[ok])):.1f} dB"
            )
        suggestions.append(
            "use MVDR with a noise-only covariance (noise=(t0, t1) or 'auto'): the talker "
            "then is not in the matrix the beamformer minimises"
        )
    if method != "das" and not suggestions and band_gain < -3.0:
        suggestions.append("check the look direction and the array geometry / channel order")
    return Report(
        freqs=freqs,
        gain_db=gain,
        das_gain_db=das_gain,
        excess_db=excess,
        n_bins=n_bins,
        band=band,
        band_gain_db=band_gain,
        band_excess_db=band_excess,
        self_cancellation=bool(self_cancel),
        method=method,
        direction=look_t,
        doa_direction=doa_dir,
        direction_error=err,
        doa_spread=None if doa is None else doa.spread,
        doa_others=() if doa is None else doa.others,
        predicted_gain_db=predicted,
        snr_db=snr,
        suggestions=suggestions,
    )


# --------------------------------------------------------------------------- helpers
def _noise_covariance(X, fs, n_samples, nfft, noise) -> np.ndarray:
    if noise is None or (isinstance(noise, str) and v.choice("noise", noise, ("auto",))):
        return noise_covariance_auto(X)
    rng = v.finite_array("noise", noise, ndim=1)
    if rng.shape != (2,) or rng[0] >= rng[1] or rng[0] < 0 or rng[1] > n_samples / fs + 1e-9:
        raise v.fail("noise", noise, "must be a time range (t0, t1) in seconds inside the signal")
    return covariance(X, frames=(float(rng[0]), float(rng[1])), fs=fs, nfft=nfft)


def _masked_gain(Y, power, mask, n_bins, min_bins) -> np.ndarray:
    out = np.sum(np.abs(Y) ** 2 * mask, axis=1)
    ref = np.sum(power * mask, axis=1)
    with np.errstate(all="ignore"):
        g = 10.0 * np.log10(out / ref)
    return np.where(n_bins >= min_bins, g, np.nan)


def _db(x: float) -> str:
    return f"{x:+.2f} dB" if np.isfinite(x) else "not measured (no talker-dominated bins)"


def _nanmean(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.mean(x)) if x.size else float("nan")


def _band(freq_range, fs) -> tuple[float, float]:
    r = v.finite_array("freq_range", freq_range, ndim=1)
    if r.shape != (2,) or r[0] < 0 or r[0] >= r[1] or r[0] >= fs / 2:
        raise v.fail(
            "freq_range",
            freq_range,
            f"must be (low, high) Hz with 0 <= low < high, low < {fs / 2:g}",
        )
    return float(r[0]), float(min(r[1], fs / 2))


def _angle(a: tuple[float, float], b: tuple[float, float]) -> float:
    u = unit_vectors([a, b])
    return float(np.degrees(np.arccos(np.clip(u[0] @ u[1], -1.0, 1.0))))


DOA_SOURCES = 2
"""Sources the DOA check looks for: the talker and the strongest other one."""
PULL_RATIO = 0.9
"""Another map peak at least this high (relative to the talker's) within the beamwidth is a
second source merged with the talker's (one broad peak); lower ones are its flanks."""
DOA_BLOCK_S = 0.25
"""Block length (s) of the per-block estimates whose spread says how sure the DOA is."""


@dataclass(frozen=True)
class _Doa:
    direction: tuple[float, float]
    others: tuple[tuple[float, float], ...]
    pulled_by: tuple[float, float] | None
    spread: float
    n_blocks: int
    beamwidth: float
    beamwidth_freq: float


def _locate(x, fs, geometry, band, nfft, look, c) -> _Doa | None:
    """Where the talker is, searched near the look direction with several sources in view.

    ``locate`` looks for :data:`DOA_SOURCES` sources; the estimate nearest the look
    direction (or its mirror, for a line) is the talker's, the rest are other
    sources. One of those within the array's delay-and-sum -3 dB beamwidth (at the
    band's centre) of the talker, with a map peak at least :data:`PULL_RATIO` of the
    talker's, is a second source the array hears merged with the talker: it pulls
    the estimate, and ``pulled_by`` names it. (Two sources much closer than the
    beamwidth look like one and cannot be told from a single talker.) The
    spread is the median absolute deviation of the per-block estimates nearest the
    talker's.
    """
    try:
        from arraykit.doa import locate, locate_blocks
    except ImportError:  # no DOA search in this build
        return None
    from arraykit.beamform import beam_metrics

    k = max(1, min(DOA_SOURCES, geometry.n_mics - 1))
    res = locate(x, fs, geometry, num_sources=k, freq_range=band, nfft=nfft, c=c)
    found = [
        (_near(geometry, look, (float(a), float(e))), float(p))
        for a, e, p in zip(res.azimuth, res.elevation, res.power, strict=True)
    ]
    if not found:
        return None
    found.sort(key=lambda dp: _angle(look, dp[0]))
    (talker, p_talker), rest = found[0], found[1:]
    others = tuple(d for d, _ in rest)
    fc = 0.5 * (band[0] + band[1])
    bw = float(
        beam_metrics(delay_and_sum(geometry, talker, [fc], c=c), geometry, [fc], talker).beamwidth[
            0
        ]
    )
    bw = 360.0 if not np.isfinite(bw) else bw
    pulled = next(
        (
            d
            for d, p in rest
            if p >= PULL_RATIO * p_talker and (_angle(talker, d) < bw or _angle(look, d) < bw)
        ),
        None,
    )
    blocks = locate_blocks(
        x, fs, geometry, block=DOA_BLOCK_S, num_sources=k, freq_range=band, nfft=nfft, c=c
    )
    near = []
    for az_row, el_row in zip(
        np.atleast_2d(blocks.azimuth), np.atleast_2d(blocks.elevation), strict=True
    ):
        cands = [
            _near(geometry, look, (float(a), float(e)))
            for a, e in zip(az_row, el_row, strict=True)
            if np.isfinite(a) and np.isfinite(e)
        ]
        if cands:
            near.append(min(_angle(talker, d) for d in cands))
    spread = float(np.median(near)) if near else float("nan")
    return _Doa(talker, others, pulled, spread, len(near), bw, fc)


def _near(geometry, look, d) -> tuple[float, float]:
    """`d`, or its mirror when the layout cannot tell them apart and that is nearer `look`."""
    mirror = geometry.mirror(d)
    if mirror is not None and _angle(look, mirror) < _angle(look, d):
        return float(mirror[0]), float(mirror[1])
    return d
