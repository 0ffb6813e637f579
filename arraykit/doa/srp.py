"""SRP-PHAT: the steered response power with the phase transform.

Shapes: ``M`` microphones, ``F`` frequencies of the band, ``T`` frames, ``G`` grid
points, ``P`` microphone pairs.

With every STFT coefficient whitened to unit magnitude, ``x~ = X / |X|``, and the
averaged cross-spectra ``R_f = (1/T) sum_t x~ x~^H`` ``(F, M, M)``, the steered
response of direction ``g`` is ``sum_f a^H R_f a``. Its off-diagonal half is, term
by term, the GCC-PHAT of each pair ``(i, j)`` evaluated at the pair's model delay
``tau_i(g) - tau_j(g)``::

    SRP(g) = 1/(F P) sum_f sum_{i<j} Re( R_f[i, j] exp(2j pi f (tau_i(g) - tau_j(g))) )

so the map reads as the mean GCC-PHAT value over the pairs (1 for a perfectly
coherent source in the steered direction). Two kernels compute it:

- ``"steered"``: batched ``conj(A) @ R`` products over chunks of the grid
  (``F G M^2`` work);
- ``"lookup"``: one upsampled GCC-PHAT per pair (an inverse FFT), then for each grid
  point a linear interpolation at its model delay and a sum over pairs (``G P``
  work, the ODAS way). It is what large grids and near-field point grids use.

:func:`srp_phat_reference` is the slow, obvious loop the tests hold both against.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np

from arraykit.doa._steer import Steering
from arraykit.gcc import all_pairs

__all__ = ["phat_covariance", "phat_cross_spectra", "srp_phat_map", "srp_phat_reference"]

SrpKernel = Literal["auto", "steered", "lookup"]

_LOOKUP_INTERP = 16


def phat_cross_spectra(X: np.ndarray) -> np.ndarray:
    """Frame-averaged PHAT-whitened cross-spectra ``R`` ``(F, M, M)`` of an STFT ``(M, F, T)``.

    Bins with no energy (digital silence) are left at 0 rather than divided by 0.
    """
    Xw = _unit_phase(X)
    Xf = np.ascontiguousarray(Xw.transpose(1, 0, 2))  # (F, M, T)
    return (Xf @ np.conj(Xf.transpose(0, 2, 1))) / X.shape[2]


def phat_covariance(C: np.ndarray) -> np.ndarray:
    """PHAT cross-spectra ``(F, M, M)`` of a covariance: ``R_ij / |R_ij|``, diagonal 1.

    The GCC-PHAT of averaged cross-spectra (averaged first, whitened after), for
    covariances known without their frames (:func:`arraykit.doa.locate_cov`). For a
    single frame it equals :func:`phat_cross_spectra`; in general the latter
    (whitened per frame, then averaged) has ``|R_ij| <= 1``, this one ``|R_ij| = 1``
    (0 where the cross-spectrum is 0).
    """
    out = _unit_phase(C)
    idx = np.arange(C.shape[-1])
    out[:, idx, idx] = 1.0
    return out


def _unit_phase(Z: np.ndarray) -> np.ndarray:
    """``Z / |Z|`` element by element; 0 where ``Z`` is 0 (tiny below 1e-30 of the largest)."""
    mag = np.abs(Z)
    top = float(mag.max()) if mag.size else 0.0
    # below the floor Z / floor is (nearly) 0; an all-zero Z is divided by 1
    np.maximum(mag, 1e-30 * top if top > 0 else 1.0, out=mag)
    np.reciprocal(mag, out=mag)
    return Z * mag


def srp_phat_map(
    R: np.ndarray,
    steering: Steering,
    *,
    fs: float,
    nfft: int,
    kernel: SrpKernel = "auto",
) -> np.ndarray:
    """SRP-PHAT over the grid of `steering`, ``(G,)``: the mean pairwise GCC-PHAT.

    Parameters
    ----------
    R : np.ndarray [shape=(F, M, M)]
        :func:`phat_cross_spectra` of the band's STFT bins (or
        :func:`phat_covariance` of their covariance).
    steering : Steering
        Geometry, band frequencies ``(F,)`` and grid.
    fs, nfft : float, int
        The STFT's sampling rate and size (the band bins are ``f * nfft / fs``).
    kernel : {"auto", "steered", "lookup"}
        ``"auto"`` takes the lookup when it is cheaper (``G M^2 F > 8 (G P + P nfft)``).
    """
    F, M, _ = R.shape
    if kernel == "auto":
        G, P = steering.n_grid, M * (M - 1) // 2
        steered_cost = G * M * M * F
        lookup_cost = 8 * (G * P + P * nfft * _LOOKUP_INTERP)
        kernel = "lookup" if lookup_cost < steered_cost else "steered"
    if kernel == "steered":
        return _srp_steered(R, steering)
    return _srp_lookup(R, steering, fs, nfft)


def _srp_steered(R: np.ndarray, steering: Steering) -> np.ndarray:
    F, M, _ = R.shape
    diag = float(np.real(np.trace(R, axis1=1, axis2=2)).sum())
    out = np.empty(steering.n_grid)
    for sl, A in steering.chunks():
        if steering.near:  # phase-only steering: PHAT discards amplitudes
            A = A / np.abs(A)
        B = np.conj(A) @ R  # (F, Gc, M) = a^H R
        full = np.einsum("fgm,fgm->g", B, A).real  # sum_f a^H R a
        out[sl] = full
    P = M * (M - 1) // 2
    return (out - diag) / (2.0 * F * P)


def _srp_lookup(R: np.ndarray, steering: Steering, fs: float, nfft: int) -> np.ndarray:
    F, M, _ = R.shape
    pairs = all_pairs(M)
    P = len(pairs)
    interp = _LOOKUP_INTERP
    bins = np.rint(steering.freqs * nfft / fs).astype(int)
    W = R[:, pairs[:, 0], pairs[:, 1]].T  # (P, F): frame-averaged PHAT cross-spectra
    # every model lag lies within the aperture: tabulate the GCC only there
    L = interp * (int(np.ceil(steering.geometry.aperture / steering.c * fs)) + 2)
    lags = np.arange(-L, L + 1)
    n_up = interp * nfft
    if F * len(lags) < 2 * n_up * np.log2(n_up):
        # direct sum over the band: cc[p, l] = sum_f Re(W_p(f) exp(2j pi f l / (interp fs)))
        cc = (W @ _lag_phasors(bins.tobytes(), L, n_up)).real
    else:  # the whole correlation by one upsampled inverse FFT, then the window
        full = np.zeros((P, n_up // 2 + 1), dtype=complex)
        full[:, bins] = W
        cc = (np.fft.irfft(full, n=n_up, axis=1) * (n_up / 2.0))[:, lags % n_up]
    tau = steering.delays()  # (G, M)
    out = np.empty(steering.n_grid)
    step = max(1, int(2**18 // max(P, 1)))  # (Gc, P) temporaries of 2 MiB
    rows = np.arange(P)[None, :]
    for lo in range(0, steering.n_grid, step):
        t = tau[lo : lo + step]
        lag = (t[:, pairs[:, 0]] - t[:, pairs[:, 1]]) * (fs * interp) + L  # (Gc, P) table index
        k0 = np.clip(np.floor(lag), 0, 2 * L - 1)
        frac = lag - k0
        i0 = k0.astype(int)
        val = (1.0 - frac) * cc[rows, i0] + frac * cc[rows, i0 + 1]
        out[lo : lo + step] = val.sum(axis=1)
    return out / (F * P)


@lru_cache(maxsize=16)
def _lag_phasors(bins: bytes, L: int, n_up: int) -> np.ndarray:
    """``exp(2j pi f l / n_up)`` for the band bins ``(F,)`` and lags ``-L..L``, ``(F, 2L+1)``."""
    b = np.frombuffer(bins, dtype=int)
    E = np.exp(2j * np.pi * np.outer(b, np.arange(-L, L + 1)) / n_up)
    E.setflags(write=False)
    return E


def srp_phat_reference(X: np.ndarray, freqs: np.ndarray, delays: np.ndarray) -> np.ndarray:
    """Slow reference: loops over grid points, frequencies and pairs, ``(G,)``.

    ``X`` ``(M, F, T)`` band STFT, ``freqs`` ``(F,)`` Hz, ``delays`` ``(G, M)`` s.
    """
    M, F, _ = X.shape
    G = delays.shape[0]
    out = np.zeros(G)
    pairs = [(i, j) for i in range(M) for j in range(i + 1, M)]
    for g in range(G):
        total = 0.0
        for f in range(F):
            for i, j in pairs:
                cross = X[i, f] * np.conj(X[j, f])
                cross = cross / np.maximum(np.abs(cross), 1e-300)
                phase = np.exp(2j * np.pi * freqs[f] * (delays[g, i] - delays[g, j]))
                total += float(np.real(np.mean(cross) * phase))
        out[g] = total / (F * len(pairs))
    return out
