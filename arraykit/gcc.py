"""Time delays between microphones by generalized cross-correlation (GCC-PHAT).

Shapes: ``M`` microphones, ``N`` samples, ``P`` pairs, ``T`` frames.

The cross-spectrum of two signals ``S(f) R*(f)`` is weighted and transformed back to
a cross-correlation over lags; its peak is the delay. With the phase transform
(PHAT) only the phase is kept, so every frequency votes equally and the peak stays
sharp in reverberant rooms. The peak is located to a fraction of a sample by
upsampling in the frequency domain (zero-padding the weighted cross-spectrum by
`interp`) and fitting a parabola through the three highest points.

Sign: ``gcc_phat(sig, ref, fs)`` returns ``tau > 0`` when `sig` lags `ref`
(as MATLAB's ``gccphat``). For a microphone pair ``(i, j)`` the delay is that of
microphone ``i`` relative to microphone ``j``, which in the far field is
``tau_i(u) - tau_j(u)`` of :meth:`~arraykit.geometry.ArrayGeometry.delays`.

Weightings ``W(f)`` of the cross-spectrum ``G = S R*``:

- ``"phat"``: ``1 / |G|`` (phase only);
- ``"phat-beta"``: ``1 / |G|**beta`` (between plain and PHAT);
- ``"scot"``: ``1 / sqrt(|S|^2 |R|^2)``; for a single frame this equals PHAT, it
  differs when the spectra are averaged over frames;
- ``"none"``: plain cross-correlation.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ref = rng.standard_normal(4000)
>>> sig = np.concatenate([np.zeros(5), ref[:-5]])   # sig lags ref by 5 samples
>>> tau, cc = gcc_phat(sig, ref, 16000, max_tau=0.001)
>>> round(tau * 16000, 2)
5.0
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.fft as sfft

from arraykit import _validate as v
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry
from arraykit.stft import near_unit

__all__ = [
    "Weighting",
    "all_pairs",
    "gcc_phat",
    "gcc_phat_pairs",
    "peak_delays",
    "silent_channels",
]

Weighting = Literal["phat", "scot", "none", "phat-beta"]
WEIGHTINGS = ("phat", "scot", "none", "phat-beta")
MEMORY = 32 * 2**20
"""Bytes of upsampled correlations held at once (chunking over pairs)."""
WHOLE_POINTS = 1 << 23
"""Largest upsampled correlation (``interp`` times the FFT size) of a whole-signal GCC;
longer inputs are frame-averaged (bounded memory)."""
LONG_WINDOW = 1 << 13
"""Lags (samples, either side) searched by default in frame-averaged GCC of long inputs."""
CHUNK_FRAMES = 16
"""Frames transformed at once by frame-averaged GCC."""
SILENT = 1e-9
"""A signal whose AC level is this far (-180 dB) below the other's, or zero, is silent."""


def gcc_phat(
    sig: npt.ArrayLike,
    ref: npt.ArrayLike,
    fs: float,
    *,
    max_tau: float | None = None,
    interp: int = 16,
    weighting: Weighting = "phat",
    beta: float = 0.7,
    freq_range: tuple[float, float] | None = None,
) -> tuple[float, np.ndarray]:
    """Delay of `sig` relative to `ref` by GCC-PHAT, in seconds.

    Parameters
    ----------
    sig, ref : array_like [shape=(N,)]
        The two signals (lengths may differ).
    fs : float
        Sampling rate, Hz.
    max_tau : float, optional
        Largest delay (s) to search, both signs; default: every lag the signal
        lengths allow, ``-(len(ref) - 1) .. len(sig) - 1`` samples (for long inputs
        see Notes).
    interp : int
        Frequency-domain upsampling factor of the cross-correlation (>= 1).
    weighting : {"phat", "scot", "none", "phat-beta"}
        Weighting of the cross-spectrum (see the module text).
    beta : float
        Exponent of ``"phat-beta"`` in [0, 1].
    freq_range : (float, float), optional
        Only the bins in ``[low, high]`` Hz count (the weighted cross-spectrum is
        zero outside). PHAT gives every bin the same weight, so bins where the
        signal has no energy (sensor noise, a coherent hum) count as much as the
        speech band; restricting the band to where the source is heard keeps
        them out.

    Returns
    -------
    tau : float
        Seconds; positive when `sig` lags `ref`.
    cc : np.ndarray [shape=(interp * (hi - lo) + 1,)]
        The weighted cross-correlation at lags ``(interp * lo .. interp * hi) /
        (interp * fs)`` seconds, where ``lo = -min(len(ref) - 1, S)`` and ``hi =
        min(len(sig) - 1, S)`` samples and ``S`` is `max_tau` in samples (rounded
        up). With ``weighting="none"`` and ``interp=1`` it is
        ``np.correlate(sig, ref, "full")`` (over the window).

    Raises
    ------
    InvalidArgumentError
        When `sig` or `ref` is silent (no energy beyond a constant offset): a
        pair with a silent side has no delay.

    Notes
    -----
    One correlation of the whole signals is computed while ``interp`` times its
    FFT size stays within ``2**23`` points (about 64 MB; with ``interp=16``,
    inputs up to about 260 000 samples each). Longer inputs are cut into Hann
    frames of ``4 * (S + 1)`` samples (at least 4096) and the cross-spectra
    averaged over frames (memory bounded, whatever the length); then `max_tau`
    defaults to ``LONG_WINDOW`` samples (0.5 s at 16 kHz: far beyond any array)
    instead of every lag.
    """
    s = v.finite_array("sig", sig, ndim=1)
    r = v.finite_array("ref", ref, ndim=1)
    fs = v.positive("fs", fs)
    if s.size < 2 or r.size < 2:
        raise v.fail(
            "sig" if s.size < 2 else "ref", sig if s.size < 2 else ref, "needs >= 2 samples"
        )
    interp = _interp(interp)
    wt = v.choice("weighting", weighting, WEIGHTINGS)
    beta = _beta(beta)
    level = [_ac_rms(s), _ac_rms(r)]
    for name, value, own in (("sig", sig, level[0]), ("ref", ref, level[1])):
        if own <= SILENT * max(level) or own == 0:
            raise v.fail(
                name,
                value,
                "is silent (no signal beyond a constant offset): a pair with a silent side "
                "has no delay; check that microphone",
            )
    peaks = (float(np.max(np.abs(s))), float(np.max(np.abs(r))))  # > 0: neither is silent
    far = not all(2.0**-60 < p < 2.0**60 for p in peaks)
    if far:  # squares would overflow or be subnormal: each side at a peak of 1 (see _at_scale)
        s, r = s / peaks[0], r / peaks[1]
    ns, nr = s.size, r.size
    nfft = _whole_nfft(ns + nr - 1)
    if interp * nfft <= WHOLE_POINTS:
        shift = None if max_tau is None else _max_shift(max_tau, fs, max(ns, nr))
        lo, hi = -(nr - 1), ns - 1
        if shift is not None:
            lo, hi = max(lo, -shift), min(hi, shift)
        keep = _band_bins(freq_range, fs, nfft)
        S = sfft.rfft(s, n=nfft)
        R = sfft.rfft(r, n=nfft)
        G = _weight((S * np.conj(R))[None, :, None], _power(S), _power(R), wt, beta)
        del S, R
    else:
        shift = LONG_WINDOW if max_tau is None else _max_shift(max_tau, fs, max(ns, nr))
        n = min(ns, nr)
        frame = _frame_for(shift, n, interp, interp * nfft, max_tau is not None)
        lo, hi = -min(nr - 1, shift), min(ns - 1, shift)
        nfft = frame
        keep = _band_bins(freq_range, fs, nfft)
        G, power = _framewise([s[:n], r[:n]], np.array([[0, 1]]), frame)
        G = _weight(G[:, :, None], power[0][None, :, None], power[1][None, :, None], wt, beta)
    if keep is not None:
        G[:, ~keep, :] = 0
    lag, cc = _peaks(G, nfft, interp, lo, hi, keep_cc=True)
    cc = cc[0, :, 0]
    if far and wt in ("none", "phat-beta"):
        cc = _at_scale(cc, peaks, 1.0 if wt == "none" else 1.0 - beta, wt, sig, ref)
    return float(lag[0, 0] / fs), cc


def gcc_phat_pairs(
    signals: npt.ArrayLike,
    fs: float,
    *,
    pairs: npt.ArrayLike | None = None,
    geometry: ArrayGeometry | None = None,
    max_tau: float | None = None,
    interp: int = 16,
    weighting: Weighting = "phat",
    beta: float = 0.7,
    frame_length: int | None = None,
    hop: int | None = None,
    c: float = SPEED_OF_SOUND,
    freq_range: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """GCC-PHAT delays of many microphone pairs at once, whole signal or per frame.

    Parameters
    ----------
    signals : array_like [shape=(M, N)]
    fs : float
    pairs : array_like [shape=(P, 2)], optional
        Microphone index pairs ``(i, j)``; default every pair ``i < j``.
    geometry : ArrayGeometry, optional
        When given, `max_tau` defaults to the largest delay of each pair
        (its spacing over `c`, plus one sample) and the row count is checked.
    max_tau : float, optional
        Largest delay searched (s), for every pair.
    interp, weighting, beta, freq_range
        As in :func:`gcc_phat`.
    frame_length : int, optional
        None: one delay per pair from the whole signal, ``taus`` is ``(P,)``.
        Otherwise the STFT frames of :func:`arraykit.stft.stft` with ``nfft =
        frame_length`` and `hop` (default half a frame) give ``taus`` of shape
        ``(P, T)`` (circular correlation per frame: keep the frame much longer than
        the largest delay).
    hop : int, optional
    c : float
        Speed of sound for the default `max_tau`.

    Returns
    -------
    taus : np.ndarray [shape=(P,) or (P, T)]
        ``taus[p]`` is the delay of microphone ``pairs[p, 0]`` relative to
        ``pairs[p, 1]`` in seconds: exactly ``gcc_phat(x[i], x[j], fs)``. NaN
        where a side of the pair is silent (see :func:`silent_channels`; per
        frame: that frame of a side is silent): such a pair has no delay.
    pairs : np.ndarray [shape=(P, 2), int]
    """
    x = v.signals("signals", signals, None if geometry is None else geometry.n_mics)
    x = near_unit(x)  # one scale for all rows: the delays and which rows are silent see none
    fs = v.positive("fs", fs)
    c = v.positive("c", c)
    M, N = x.shape
    pr = all_pairs(M) if pairs is None else _pairs("pairs", pairs, M)
    interp = _interp(interp)
    wt = v.choice("weighting", weighting, WEIGHTINGS)
    beta = _beta(beta)
    if geometry is not None and max_tau is None:
        d = np.linalg.norm(geometry.positions[pr[:, 0]] - geometry.positions[pr[:, 1]], axis=1)
        shift = np.ceil(d / c * fs).astype(int) + 1
    else:
        default = None if max_tau is None else _max_shift(max_tau, fs, N)
        shift = np.full(len(pr), N - 1 if default is None else default)
    dead = silent_channels(x)
    if frame_length is None:
        if hop is not None:
            raise v.fail("hop", hop, "needs frame_length")
        nfft = _whole_nfft(2 * N - 1)
        if interp * nfft <= WHOLE_POINTS:
            X = sfft.rfft(x, n=nfft, axis=1)[:, :, None]  # (M, F, 1)
            power = np.abs(X) ** 2
        else:  # long: frame-averaged cross-spectra, bounded memory
            if geometry is None and max_tau is None:
                shift = np.full(len(pr), LONG_WINDOW)
            nfft = _frame_for(int(shift.max()), N, interp, interp * nfft, max_tau is not None)
            cross, pw = _framewise(x, pr, nfft)
            X, power = None, pw[:, :, None]
    else:
        from arraykit.stft import stft

        if isinstance(frame_length, bool) or not isinstance(frame_length, int | np.integer):
            raise v.fail("frame_length", frame_length, "must be an integer number of samples")
        if frame_length < 8 or frame_length > N:
            raise v.fail("frame_length", frame_length, f"must be in 8..N={N}")
        nfft = int(frame_length)
        X = stft(x, fs, nfft=nfft, hop=hop)  # (M, F, T), Hann frames
        power = np.abs(X) ** 2
    keep = _band_bins(freq_range, fs, nfft)
    shift = np.minimum(shift, min(N - 1, nfft // 2))

    T = 1 if X is None else X.shape[2]
    taus = np.empty((len(pr), T))
    # chunk over pairs so the upsampled correlations stay within MEMORY bytes
    per_pair = interp * nfft * T * 8
    step = max(1, int(MEMORY // max(per_pair, 1)))
    for lo in range(0, len(pr), step):
        i, j = pr[lo : lo + step, 0], pr[lo : lo + step, 1]
        G = (X[i] * np.conj(X[j])) if X is not None else cross[lo : lo + step, :, None]
        G = _weight(G, power[i], power[j], wt, beta)
        if keep is not None:
            G[:, ~keep, :] = 0
        s = shift[lo : lo + step]
        lag, _ = _peaks(G, nfft, interp, -int(s.max()), int(s.max()), keep_cc=False, limits=s)
        taus[lo : lo + step] = lag / fs
    taus[dead[pr[:, 0]] | dead[pr[:, 1]]] = np.nan
    if frame_length is not None:  # a silent frame of either side has no delay either
        e = power.sum(axis=1)  # (M, T)
        quiet = e <= (SILENT**2) * e.max(initial=0.0)
        taus[quiet[pr[:, 0]] | quiet[pr[:, 1]]] = np.nan
    return (taus[:, 0] if frame_length is None else taus), pr


def silent_channels(signals: npt.ArrayLike) -> np.ndarray:
    """Which rows of `signals` ``(M, N)`` are silent: ``(M,)`` bool.

    Silent: no energy beyond a constant offset, or an AC level ``SILENT`` (1e-9,
    -180 dB) or more below the loudest row. A pair with a silent side has no delay.

    >>> silent_channels(np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.5]])).tolist()
    [False, True]
    """
    x = v.signals("signals", signals)
    level = np.array([_ac_rms(row) for row in x])
    return np.asarray((level == 0) | (level <= SILENT * level.max()))


def all_pairs(n_mics: int) -> np.ndarray:
    """Every microphone pair ``(i, j)`` with ``i < j``, ``(M (M - 1) / 2, 2)``.

    >>> all_pairs(3).tolist()
    [[0, 1], [0, 2], [1, 2]]
    """
    n = v.integer("n_mics", n_mics, 2)
    return np.array(list(combinations(range(n), 2)), dtype=int).reshape(-1, 2)


def peak_delays(
    cross: np.ndarray,
    fs: float,
    *,
    interp: int = 16,
    max_shift: np.ndarray | int | None = None,
) -> np.ndarray:
    """Delays (s) at the peaks of already weighted one-sided cross-spectra.

    Parameters
    ----------
    cross : np.ndarray [shape=(P, F) or (P, F, T)]
        Weighted cross-spectra ``S R*`` over all ``F = nfft // 2 + 1`` bins (zero
        outside the band of interest), e.g. frame-averaged PHAT spectra.
    fs : float
    interp : int
    max_shift : int or np.ndarray [shape=(P,)], optional
        Largest lag searched per pair, in samples (default: half the FFT).

    Returns
    -------
    np.ndarray [shape=(P,) or (P, T)]
        NaN where a cross-spectrum is zero (a pair with a silent side has no delay).
    """
    G = cross if cross.ndim == 3 else cross[:, :, None]
    nfft = 2 * (G.shape[1] - 1)
    limit = nfft // 2 if max_shift is None else np.minimum(max_shift, nfft // 2)
    limits = np.broadcast_to(np.asarray(limit, dtype=int), (G.shape[0],))
    L = int(limits.max())
    lag, _ = _peaks(G, nfft, _interp(interp), -L, L, keep_cc=False, limits=limits)
    mag = np.max(np.abs(G), axis=1)  # (P, T)
    lag[(mag == 0) | (mag <= SILENT * mag.max(initial=0.0))] = np.nan
    lag = lag / v.positive("fs", fs)
    return lag if cross.ndim == 3 else lag[:, 0]


# --------------------------------------------------------------------- kernels
def _ac_rms(x: np.ndarray) -> float:
    """RMS about the mean, a million samples at a time (no copy of a long input), summed in
    units of the peak: levels near double's limits neither overflow nor vanish."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if not 0 < peak < np.inf:
        return peak
    step = 1 << 20
    chunks = range(0, x.size, step)
    mean = sum(float(np.sum(x[i : i + step] / peak)) for i in chunks) / x.size
    total = sum(float(np.sum((x[i : i + step] / peak - mean) ** 2)) for i in chunks)
    return peak * float(np.sqrt(total / x.size))


def _at_scale(
    cc: np.ndarray, peaks: tuple[float, float], power: float, wt: str, sig: Any, ref: Any
) -> np.ndarray:
    """`cc` of the two sides at a peak of 1 given back at their `peaks`: the plain
    correlation scales as their product, PHAT-beta as its ``1 - beta`` power; refused
    where double cannot hold it."""
    top = float(np.max(np.abs(cc)))
    log_top = math.log10(top) + power * (math.log10(peaks[0]) + math.log10(peaks[1]))
    if not -290.0 < log_top < 307.0:
        far = not 2.0**-60 < peaks[0] < 2.0**60
        raise v.fail(
            "sig" if far else "ref",
            sig if far else ref,
            f"with ref (peaks {peaks[0]:.3g} and {peaks[1]:.3g}) gives a {wt!r} correlation of "
            f"about 1e{log_top:.0f}, out of the range of double: scale the signals nearer 1, "
            "or use weighting='phat' or 'scot' (neither sees a scale)",
        )
    return cc / top * 10.0**log_top


def _power(S: np.ndarray) -> np.ndarray:
    return (np.abs(S) ** 2)[None, :, None]


def _whole_nfft(n: int) -> int:
    """FFT size of one linear (not circular) correlation of `n` lags."""
    return int(sfft.next_fast_len(n, real=True))


def _frame_for(shift: int, n: int, interp: int, need: int, given: bool = True) -> int:
    """Frame length for frame-averaged GCC searching ``±shift`` samples of `n`-sample
    signals; `need` is the upsampled size a whole-signal correlation would take. The
    error names max_tau when it was `given`, else interp (the default window is fixed)."""
    frame = max(4096, 1 << (4 * (shift + 1) - 1).bit_length())
    if frame > n // 2 or interp * frame > WHOLE_POINTS:
        mb = need * 8 / 2**20
        whole = f"one correlation of the whole signals at interp={interp} needs {mb:.0f} MB"
        if not given:
            why = (
                f"{whole}, and the default ±{shift} samples cannot be searched in frames of "
                f"{n}-sample signals"
            )
            raise v.fail("interp", interp, f"{why}: give a smaller interp, or shorter signals")
        raise v.fail(
            "max_tau",
            shift,
            f"(samples) cannot be searched in frames of {n}-sample signals, and {whole}; give "
            "a smaller max_tau, a smaller interp, or shorter signals",
        )
    return frame


def _framewise(
    x: np.ndarray | list[np.ndarray], pairs: np.ndarray, frame: int
) -> tuple[np.ndarray, np.ndarray]:
    """Frame-averaged cross-spectra ``(P, F)`` and power spectra ``(M, F)``.

    Hann frames of `frame` samples, hop half a frame, ``CHUNK_FRAMES`` frames at a time
    (memory bounded whatever the length of the ``M`` rows of `x`, each ``(N,)``; the
    rows are only viewed, never copied).
    """
    from numpy.lib.stride_tricks import sliding_window_view

    hop = frame // 2
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame) / frame)  # periodic Hann
    frames = [sliding_window_view(row, frame)[::hop] for row in x]  # M views (T, frame)
    F = frame // 2 + 1
    cross = np.zeros((len(pairs), F), dtype=complex)
    power = np.zeros((len(frames), F))
    for t0 in range(0, frames[0].shape[0], CHUNK_FRAMES):
        X = np.stack([sfft.rfft(f[t0 : t0 + CHUNK_FRAMES] * win, axis=1) for f in frames])
        power += np.sum(np.abs(X) ** 2, axis=1)
        cross += np.einsum("ptf,ptf->pf", X[pairs[:, 0]], np.conj(X[pairs[:, 1]]))
    return cross, power


def _weight(
    G: np.ndarray, p_sig: np.ndarray, p_ref: np.ndarray, weighting: str, beta: float
) -> np.ndarray:
    """Weighted cross-spectra ``(P, F, T)`` -> ``(P, F, T)``, averaged over T for SCOT.

    Input ``G = S R*`` per frame, and the power spectra of both signals.
    """
    eps = 1e-12 * (float(np.max(np.abs(G))) + 1e-300)
    if weighting == "phat":
        return G / np.maximum(np.abs(G), eps)
    if weighting == "phat-beta":
        return G / np.maximum(np.abs(G), eps) ** beta
    if weighting == "scot":
        return G / np.maximum(np.sqrt(p_sig * p_ref), eps)
    return G


def _peaks(
    G: np.ndarray,
    nfft: int,
    interp: int,
    lo: int,
    hi: int,
    *,
    keep_cc: bool,
    limits: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Peak lags (samples) ``(P, T)`` of weighted cross-spectra ``G`` ``(P, F, T)``.

    The correlation is ``irfft(G, interp * nfft)`` (frequency-domain upsampling, the
    Nyquist bin of an even `nfft` halved so that whole-sample lags keep their values),
    searched over lags ``lo..hi`` samples (``lo <= 0 <= hi``; per pair within
    ``±limits[p]``), and refined by a parabola through the peak and its neighbours.
    """
    n_up = interp * nfft
    a, b = interp * lo, interp * hi
    if interp > 1 and nfft % 2 == 0:
        G = G.copy()
        G[:, -1] *= 0.5
    cc_full = sfft.irfft(G, n=n_up, axis=1) * interp  # (P, n_up, T)
    cc = np.concatenate([cc_full[:, n_up + a :], cc_full[:, : b + 1]], axis=1)  # lags a..b
    del cc_full
    search = cc
    if limits is not None:
        lag_idx = np.arange(a, b + 1)
        outside = np.abs(lag_idx)[None, :] > interp * np.asarray(limits)[:, None]
        search = np.where(outside[:, :, None], -np.inf, cc)
    k = np.argmax(search, axis=1)  # (P, T)
    width = b - a
    k = np.clip(k, 1, width - 1) if width >= 2 else k
    P, _, T = cc.shape
    pi, ti = np.meshgrid(np.arange(P), np.arange(T), indexing="ij")
    if width >= 2:
        y0, y1, y2 = cc[pi, k - 1, ti], cc[pi, k, ti], cc[pi, k + 1, ti]
        den = y0 - 2 * y1 + y2
        delta = np.where(np.abs(den) > 1e-300, 0.5 * (y0 - y2) / np.where(den == 0, 1, den), 0.0)
        delta = np.clip(delta, -0.5, 0.5)
    else:
        delta = np.zeros(k.shape)
    lags = (k + a + delta) / interp
    return lags, (cc if keep_cc else np.empty(0))


# ------------------------------------------------------------------ validation
def _band_bins(freq_range: Any, fs: float, nfft: int) -> np.ndarray | None:
    """Which of the ``nfft // 2 + 1`` bins lie in `freq_range` (None: all)."""
    if freq_range is None:
        return None
    return v.band_bins("freq_range", freq_range, fs, nfft, need=2)[0]


def _interp(interp: int) -> int:
    return v.integer("interp", interp, 1)


def _beta(beta: float) -> float:
    return v.fraction("beta", float(v.finite_array("beta", beta, ndim=0)), "[0", "1]")


def _max_shift(max_tau: float | None, fs: float, limit: int) -> int:
    if max_tau is None:
        return limit
    t = float(v.finite_array("max_tau", max_tau, ndim=0))
    if t < 0:
        raise v.fail("max_tau", max_tau, "must be >= 0 seconds")
    return min(limit, int(np.ceil(t * fs)))


def _pairs(name: str, value: npt.ArrayLike, n_mics: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim == 1 and arr.shape[0] == 2:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise v.fail(name, value, "must be microphone index pairs, shape (P, 2)")
    if not np.issubdtype(arr.dtype, np.integer):
        raise v.fail(name, value, "must hold integer microphone indices")
    if arr.min() < 0 or arr.max() >= n_mics:
        raise v.fail(name, value, f"indices must lie in 0..{n_mics - 1}")
    if np.any(arr[:, 0] == arr[:, 1]):
        raise v.fail(name, value, "a pair needs two different microphones")
    return arr.astype(int)
