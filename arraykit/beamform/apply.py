"""Apply weights to an STFT and resynthesize; the one-call :func:`beamform`.

Shapes: ``M`` microphones, ``N`` samples, ``F`` frequencies, ``T`` frames. The
output STFT is ``Y[f, t] = sum_m conj(w[f, m]) X[m, f, t]``; it goes back to a time
signal through :func:`arraykit.stft.istft`, which inverts the analysis exactly, so
weights that pass the target unchanged (distortionless) give back the target
signal sample for sample.

>>> import numpy as np, arraykit as ak
>>> g = ak.ArrayGeometry.linear(4, 0.05)
>>> x = np.tile(np.random.default_rng(0).standard_normal(8000), (4, 1))  # broadside plane wave
>>> y = beamform(x, 16000, g, (90, 0))
>>> bool(np.allclose(y, x[0]))
True
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v
from arraykit.beamform.covariance import covariance, noise_covariance_auto
from arraykit.beamform.registry import _ref, design_names, get_design, weights_for
from arraykit.beamform.weights import LoadingMode
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry
from arraykit.steering import check_frame_holds
from arraykit.stft import istft, stft, stft_frequencies, unit_scale

__all__ = [
    "DEAD_DB",
    "MethodScore",
    "apply_weights",
    "beamform",
    "compare_methods",
    "live_channels",
    "live_weights",
]

logger = logging.getLogger(__name__)


def apply_weights(weights: npt.ArrayLike, X: npt.ArrayLike) -> np.ndarray:
    """Beamformer output STFT ``Y[f, t] = sum_m conj(w[f, m]) X[m, f, t]``.

    Parameters
    ----------
    weights : array_like [shape=(F, M)]
    X : array_like [shape=(M, F, T)]

    Returns
    -------
    np.ndarray [shape=(F, T), complex128]

    Examples
    --------
    >>> X = np.ones((3, 2, 5), dtype=complex)
    >>> apply_weights(np.full((2, 3), 1 / 3), X).real.round(12).tolist()[0]
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    w = np.asarray(weights)
    Xv = np.asarray(X)
    if Xv.ndim != 3:
        raise v.fail("X", X, f"must be a multichannel STFT (M, F, T), got shape {Xv.shape}")
    M, F, _ = Xv.shape
    if w.shape != (F, M):
        raise v.fail("weights", weights, f"must be (F, M) = ({F}, {M}) to match X {Xv.shape}")
    return np.einsum("fm,mft->ft", w.conj(), Xv)


def beamform(
    signals: npt.ArrayLike,
    fs: float,
    geometry: ArrayGeometry,
    direction: npt.ArrayLike | None,
    *,
    method: str = "das",
    noise: tuple[float, float] | Literal["auto"] | None = None,
    nulls: npt.ArrayLike = (),
    loading: float | None = None,
    loading_mode: LoadingMode = "trace",
    point: npt.ArrayLike | None = None,
    ref: int | None = None,
    nfft: int = 512,
    hop: int | None = None,
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Enhance the signal from one direction (or point): STFT, weights, apply, inverse STFT.

    Parameters
    ----------
    signals : array_like [shape=(M, N)]
        Microphone signals, one row per microphone of `geometry`.
    fs : float
        Sampling rate, Hz.
    geometry : ArrayGeometry
    direction : array_like [shape=(2,)] or None
        Look direction ``(azimuth, elevation)`` in degrees (None with `point`).
    method : str
        A design of :mod:`arraykit.beamform.registry` (:func:`register_design` adds
        more); the built-ins:

        - ``das``: delay-and-sum;
        - ``mvdr``: against the noise covariance of `noise`;
        - ``mpdr``: against the covariance of the whole recording;
        - ``superdirective``: against diffuse noise (3-D);
        - ``lcmv``: distortionless toward the target with nulls toward `nulls`,
          minimising the noise covariance if `noise` is given, else the mixture's;
        - ``gev``: max-SNR (generalised eigenvector of the mixture against the noise
          covariance) with blind analytic normalisation; needs no direction.
    noise : (float, float) or "auto", optional
        A noise-only time range ``(t0, t1)`` in seconds, or ``"auto"`` (the quietest
        20 % of frames). Designs that need a noise covariance (``mvdr``, ``gev``) use
        ``"auto"`` when this is None.
    nulls : array_like
        Interferer directions for ``lcmv``.
    loading : float, optional
        Diagonal loading; None is the one default policy of every design
        (:data:`~arraykit.beamform.registry.DEFAULT_LOADING`: 1e-2 of the average
        power, ``trace`` mode; for superdirective's unit-diagonal coherence that is
        an absolute 1e-2).
    loading_mode : {"trace", "absolute"}
    point : array_like [shape=(3,)], optional
        Near-field target in metres (array frame) instead of `direction`.
    ref : int, optional
        Align the output with microphone `ref`: the target comes out as that
        microphone hears its direct path (weights times ``conj(a_ref)``), so the
        output can be compared sample by sample with that microphone. By default
        the output is referred to the array centroid.
    nfft, hop : int
        STFT frame length and advance (default ``nfft // 2``).
    c : float
        Speed of sound, m/s.

    Returns
    -------
    np.ndarray [shape=(N,)]
        The enhanced signal, as long as the input.
    """
    x = v.signals("signals", signals, geometry.n_mics)
    fs = v.positive("fs", fs)
    v.choice("method", method, design_names())
    N = x.shape[1]
    # with trace loading the weights see no scale: far from 1, beamform at a peak of 1
    k = unit_scale(x)
    if k != 1.0 and loading_mode != "trace":
        raise v.fail(
            "signals",
            signals,
            f"peak {k:.3g}, beyond 2**±60, cannot be squared in double with "
            f"loading_mode={loading_mode!r} (the loading is in the signals' squared units, so "
            "they are not rescaled): scale them nearer 1, or use loading_mode='trace'",
        )
    X = stft(x if k == 1.0 else x / k, fs, nfft=nfft, hop=hop)
    w = _design(
        X, fs, N, geometry, direction, method, noise, nulls, loading, loading_mode, point, ref,
        nfft, hop, c,
    )  # fmt: skip
    y = istft(apply_weights(w, X), fs, nfft=nfft, hop=hop, length=N)
    return y if k == 1.0 else y * k


@dataclass(frozen=True)
class MethodScore:
    """How much one beamformer improved a mixture (see :func:`compare_methods`).

    Attributes
    ----------
    method : str
    snr_gain_db : float
        Output SNR minus the SNR at the reference microphone (the weights applied
        to the target and to the rest separately, so it is exact).
    si_sdr_gain_db : float
        SI-SDR of the output minus SI-SDR of the reference microphone, both against
        the target's image at the reference microphone.
    """

    method: str
    snr_gain_db: float
    si_sdr_gain_db: float


def compare_methods(
    signals: npt.ArrayLike,
    fs: float,
    geometry: ArrayGeometry,
    direction: npt.ArrayLike | None,
    *,
    target_image: npt.ArrayLike,
    methods: tuple[str, ...] | None = None,
    noise: tuple[float, float] | Literal["auto"] | None = None,
    nulls: npt.ArrayLike = (),
    loading: float | None = None,
    loading_mode: LoadingMode = "trace",
    point: npt.ArrayLike | None = None,
    ref: int = 0,
    nfft: int = 512,
    hop: int | None = None,
    c: float = SPEED_OF_SOUND,
) -> tuple[MethodScore, ...]:
    """Beamform a mixture whose target part is known with each method; score SNR and SI-SDR gains.

    For simulations and demos: `target_image` ``(M, N)`` is the target's part of
    `signals` (e.g. ``Scene.images[k]``); everything else counts as noise. The
    weights are designed from the mixture exactly as :func:`beamform` does (same
    options), aligned to microphone `ref`. `methods` defaults to every registered
    design; a design that needs nulls (``lcmv``) is skipped when `nulls` is empty.
    """

    from arraykit.metrics import improvement, snr

    x = v.signals("signals", signals, geometry.n_mics)
    s = v.signals("target_image", target_image, geometry.n_mics)
    if s.shape != x.shape:
        raise v.fail("target_image", target_image, f"must have the shape of signals {x.shape}")
    fs = v.positive("fs", fs)
    names = design_names()
    methods = names if methods is None else tuple(methods)
    for m in methods:
        v.choice("methods", m, names)
    N = x.shape[1]
    X, Xs, Xn = (stft(z, fs, nfft=nfft, hop=hop) for z in (x, s, x - s))
    snr_in = snr(s[ref], x[ref] - s[ref])
    out = []
    for m in methods:
        if "nulls" in get_design(m).needs and np.asarray(nulls).size == 0:
            continue
        w = _design(
            X, fs, N, geometry, direction, m, noise, nulls, loading, loading_mode, point, ref,
            nfft, hop, c,
        )  # fmt: skip
        y, ys, yn = (
            istft(apply_weights(w, Z), fs, nfft=nfft, hop=hop, length=N) for Z in (X, Xs, Xn)
        )
        out.append(
            MethodScore(
                method=m,
                snr_gain_db=float(snr(ys, yn) - snr_in),
                si_sdr_gain_db=float(improvement(s[ref], x[ref], y)),
            )
        )
    return tuple(out)


def _design(
    X: np.ndarray,
    fs: float,
    N: int,
    geometry: ArrayGeometry,
    direction: npt.ArrayLike | None,
    method: str,
    noise: tuple[float, float] | str | None,
    nulls: npt.ArrayLike,
    loading: float | None,
    loading_mode: LoadingMode,
    point: npt.ArrayLike | None,
    ref: int | None,
    nfft: int,
    hop: int | None,
    c: float,
) -> np.ndarray:
    """The weights ``(F, M)`` :func:`beamform` uses for this STFT and these options (for
    the microphones that hold anything: :func:`live_weights`)."""

    def design(X: np.ndarray, geometry: ArrayGeometry, ref: int | None) -> np.ndarray:
        check_frame_holds(geometry, fs, nfft, v.positive("c", c))
        return weights_for(
            method,
            geometry,
            stft_frequencies(fs, nfft),
            direction=direction,
            point=point,
            noise_cov=None if noise is None else (lambda: _noise_cov(X, fs, N, nfft, hop, noise)),
            mixture_cov=lambda: covariance(X),
            noise_cov_auto=lambda: _noise_cov(X, fs, N, nfft, hop, "auto"),
            nulls=nulls,
            loading=loading,
            loading_mode=loading_mode,
            ref=ref,
            c=c,
        )

    return live_weights(X, geometry, ref, design)


DEAD_DB = -30.0
"""A channel whose power lies more than this many dB under the median channel's is dead
(all zero, or nearly: -120 dB nulled the talker as zero did), as ``arraykit check`` calls
a channel 30 dB under the others "dead or nearly silent"."""


def live_channels(power: np.ndarray) -> np.ndarray:
    """``(M,)`` whether each channel of `power` ``(M,)`` (its power, any scale) is live: not
    more than :data:`DEAD_DB` under the median of the channels that hold anything (all
    live when none does)."""
    held = power[power > 0]
    if not held.size:
        return np.ones(power.shape, dtype=bool)
    # statistics.median: np.median's value, without its 10 us of overhead on a few
    # channels (the pipeline asks twice a block)
    return np.asarray(power >= statistics.median(held.tolist()) * 10.0 ** (DEAD_DB / 10.0))


def live_weights(
    X: np.ndarray,
    geometry: ArrayGeometry,
    ref: int | None,
    design: Callable[[np.ndarray, ArrayGeometry, int | None], np.ndarray],
) -> np.ndarray:
    """Weights ``(F, M)`` from ``design(X, geometry, ref)`` for the live microphones of the
    STFT `X` ``(M, F, T)`` (:func:`live_channels`), zero for a dead one (all zero or more
    than 30 dB under the others: a dead capsule, a channel map that points at nothing)
    while two or more others are live.

    The live microphones are designed as an array of their own
    (:meth:`~arraykit.geometry.ArrayGeometry.subarray`, whose centroid a plane wave is
    then referred to; a dead `ref` becomes the first live microphone). Designed with the
    dead one, MVDR and MPDR put their distortionless response through it, where there is
    no power to minimise, and nulled the talker on the others (-29 and -35 dB on the 6-mic
    circle), and superdirective's supergain weights lost the cancellation they rely on.
    With every channel live (or none) this is ``design(X, geometry, ref)`` itself."""
    M = geometry.n_mics
    live = np.flatnonzero(live_channels(np.einsum("mft,mft->m", X, X.conj()).real))
    if not 2 <= live.size < M:
        return design(X, geometry, ref)
    r = _ref(ref, M)
    sub_ref = None if r is None else (int(np.searchsorted(live, r)) if r in live else 0)
    w = np.zeros((X.shape[1], M), dtype=complex)
    w[:, live] = design(X[live], geometry.subarray(live.tolist()), sub_ref)
    return w


def _noise_cov(
    X: np.ndarray,
    fs: float,
    N: int,
    nfft: int,
    hop: int | None,
    noise: tuple[float, float] | str,
) -> np.ndarray:
    if isinstance(noise, str):
        v.choice("noise", noise, ("auto",))
        logger.info("noise covariance from the quietest 20%% of frames")
        return noise_covariance_auto(X)
    rng = np.asarray(noise, dtype=float)
    if rng.shape != (2,) or not np.all(np.isfinite(rng)) or rng[0] >= rng[1]:
        raise v.fail(
            "noise", noise, "must be a time range (t0, t1) in seconds with t0 < t1, or 'auto'"
        )
    dur = N / fs
    if rng[0] < 0 or rng[1] > dur + 1e-9:
        raise v.fail("noise", noise, f"lies outside the signal (0 .. {dur:.3f} s)")
    try:
        return covariance(X, frames=(float(rng[0]), float(rng[1])), fs=fs, nfft=nfft, hop=hop)
    except ValueError as exc:
        raise v.fail("noise", noise, f"cannot give a noise covariance: {exc}") from None
