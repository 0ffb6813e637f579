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

from itertools import combinations
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry

__all__ = ["Weighting", "all_pairs", "gcc_phat", "gcc_phat_pairs", "peak_delays"]

Weighting = Literal["phat", "scot", "none", "phat-beta"]
WEIGHTINGS = ("phat", "scot", "none", "phat-beta")
_MEMORY = 32 * 2**20  # bytes of upsampled correlations held at once (chunking)


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
        Largest delay (s) to search, both signs; default: every lag the
        signal lengths allow.
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
    cc : np.ndarray [shape=(2 * L + 1,)]
        The weighted cross-correlation at lags ``(-L..L) / (interp * fs)`` seconds,
        ``L = interp * max_shift`` samples.
    """
    s = v.finite_array("sig", sig, ndim=1)
    r = v.finite_array("ref", ref, ndim=1)
    fs = v.positive("fs", fs)
    if s.size < 2 or r.size < 2:
        raise v.fail(
            "sig" if s.size < 2 else "ref", sig if s.size < 2 else ref, "needs >= 2 samples"
        )
    interp = _interp(interp)
    weighting = v.choice("weighting", weighting, WEIGHTINGS)
    beta = _beta(beta)
    n = s.size + r.size
    nfft = 1 << (n - 1).bit_length()
    keep = _band_bins(freq_range, fs, nfft)
    max_shift = _max_shift(max_tau, fs, nfft // 2)
    S = np.fft.rfft(s, n=nfft)
    R = np.fft.rfft(r, n=nfft)
    G = S * np.conj(R)
    G = _weight(
        G[None, :, None],
        np.abs(S)[None, :, None] ** 2,
        np.abs(R)[None, :, None] ** 2,
        weighting,
        beta,
    )
    if keep is not None:
        G[:, ~keep, :] = 0
    lag, cc = _peaks(G, nfft, interp, max_shift, keep_cc=True)
    return float(lag[0, 0] / fs), cc[0, :, 0]


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
        ``pairs[p, 1]`` in seconds: exactly ``gcc_phat(x[i], x[j], fs)``.
    pairs : np.ndarray [shape=(P, 2), int]
    """
    x = v.signals("signals", signals, None if geometry is None else geometry.n_mics)
    fs = v.positive("fs", fs)
    c = v.positive("c", c)
    M, N = x.shape
    pr = all_pairs(M) if pairs is None else _pairs("pairs", pairs, M)
    interp = _interp(interp)
    weighting = v.choice("weighting", weighting, WEIGHTINGS)
    beta = _beta(beta)
    if frame_length is None:
        if hop is not None:
            raise v.fail("hop", hop, "needs frame_length")
        nfft = 1 << (2 * N - 1).bit_length()
        X = np.fft.rfft(x, n=nfft, axis=1)[:, :, None]  # (M, F, 1)
    else:
        from arraykit.stft import stft

        if isinstance(frame_length, bool) or not isinstance(frame_length, int | np.integer):
            raise v.fail("frame_length", frame_length, "must be an integer number of samples")
        if frame_length < 8 or frame_length > N:
            raise v.fail("frame_length", frame_length, f"must be in 8..N={N}")
        nfft = int(frame_length)
        X = stft(x, fs, nfft=nfft, hop=hop)  # (M, F, T), Hann frames
    keep = _band_bins(freq_range, fs, nfft)
    if max_tau is None and geometry is not None:
        d = np.linalg.norm(geometry.positions[pr[:, 0]] - geometry.positions[pr[:, 1]], axis=1)
        shift = np.ceil(d / c * fs).astype(int) + 1
    else:
        shift = np.full(len(pr), _max_shift(max_tau, fs, nfft // 2))
    shift = np.minimum(shift, nfft // 2)

    taus = np.empty((len(pr), X.shape[2]))
    power = np.abs(X) ** 2
    # chunk over pairs so the upsampled correlations stay within _MEMORY bytes
    per_pair = interp * nfft * X.shape[2] * 8
    step = max(1, int(_MEMORY // max(per_pair, 1)))
    for lo in range(0, len(pr), step):
        i, j = pr[lo : lo + step, 0], pr[lo : lo + step, 1]
        G = _weight(X[i] * np.conj(X[j]), power[i], power[j], weighting, beta)
        if keep is not None:
            G[:, ~keep, :] = 0
        lag, _ = _peaks(
            G,
            nfft,
            interp,
            int(shift[lo : lo + step].max()),
            keep_cc=False,
            limits=shift[lo : lo + step],
        )
        taus[lo : lo + step] = lag / fs
    return (taus[:, 0] if frame_length is None else taus), pr


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
    """
    G = cross if cross.ndim == 3 else cross[:, :, None]
    nfft = 2 * (G.shape[1] - 1)
    limit = nfft // 2 if max_shift is None else np.minimum(max_shift, nfft // 2)
    limits = np.broadcast_to(np.asarray(limit, dtype=int), (G.shape[0],))
    lag, _ = _peaks(G, nfft, _interp(interp), int(limits.max()), keep_cc=False, limits=limits)
    lag = lag / v.positive("fs", fs)
    return lag if cross.ndim == 3 else lag[:, 0]


# --------------------------------------------------------------------- kernels
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
    max_shift: int,
    *,
    keep_cc: bool,
    limits: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Peak lags (samples) ``(P, T)`` of weighted cross-spectra ``G`` ``(P, F, T)``.

    The correlation is ``irfft(G, interp * nfft)`` (frequency-domain upsampling),
    searched over lags ``-max_shift..max_shift`` samples (per pair up to
    ``limits[p]``), and refined by a parabola through the peak and its neighbours.
    """
    n_up = interp * nfft
    L = interp * max_shift
    cc_full = np.fft.irfft(G, n=n_up, axis=1) * interp  # (P, n_up, T)
    cc = np.concatenate([cc_full[:, n_up - L :], cc_full[:, : L + 1]], axis=1)  # lags -L..L
    del cc_full
    search = cc
    if limits is not None:
        lag_idx = np.arange(-L, L + 1)
        outside = np.abs(lag_idx)[None, :] > interp * np.asarray(limits)[:, None]
        search = np.where(outside[:, :, None], -np.inf, cc)
    k = np.argmax(search, axis=1)  # (P, T)
    k = np.clip(k, 1, 2 * L - 1) if L >= 1 else k
    P, _, T = cc.shape
    pi, ti = np.meshgrid(np.arange(P), np.arange(T), indexing="ij")
    if L >= 1:
        y0, y1, y2 = cc[pi, k - 1, ti], cc[pi, k, ti], cc[pi, k + 1, ti]
        den = y0 - 2 * y1 + y2
        delta = np.where(np.abs(den) > 1e-300, 0.5 * (y0 - y2) / np.where(den == 0, 1, den), 0.0)
        delta = np.clip(delta, -0.5, 0.5)
    else:
        delta = np.zeros(k.shape)
    lags = (k - L + delta) / interp
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
    b = float(v.finite_array("beta", beta, ndim=0))
    if not 0.0 <= b <= 1.0:
        raise v.fail("beta", beta, "must lie in [0, 1]")
    return b


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
