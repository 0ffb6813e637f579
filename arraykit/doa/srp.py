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

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from arraykit import _cache
from arraykit.doa._cross import cross_spectra_chunks, unit_phase
from arraykit.doa._steer import Steering
from arraykit.gcc import all_pairs

__all__ = [
    "phat_covariance",
    "phat_cross_spectra",
    "srp_phat_map",
    "srp_phat_reference",
]

SrpKernel = Literal["auto", "steered", "lookup"]

_LOOKUP_INTERP = 16


def phat_cross_spectra(X: np.ndarray) -> np.ndarray:
    """Frame-averaged PHAT-whitened cross-spectra ``R`` ``(F, M, M)`` of an STFT ``(M, F, T)``.

    Bins with no energy (digital silence) are left at 0 rather than divided by 0.
    """
    return cross_spectra_chunks([X.transpose(1, 0, 2)], X.shape[2], phat=True)


def phat_covariance(C: np.ndarray) -> np.ndarray:
    """PHAT cross-spectra ``(F, M, M)`` of a covariance: ``R_ij / |R_ij|``, diagonal 1.

    The GCC-PHAT of averaged cross-spectra (averaged first, whitened after), for
    covariances known without their frames (:func:`arraykit.doa.locate_cov`). For a
    single frame it equals :func:`phat_cross_spectra`; in general the latter
    (whitened per frame, then averaged) has ``|R_ij| <= 1``, this one ``|R_ij| = 1``
    (0 where the cross-spectrum is 0).
    """
    out = unit_phase(C)
    idx = np.arange(C.shape[-1])
    out[:, idx, idx] = 1.0
    return out


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
    table = _lookup_table(steering, fs, nfft)
    W = R[:, pairs[:, 0], pairs[:, 1]].T  # (P, F): frame-averaged PHAT cross-spectra
    if table.phasors is not None:
        # direct sum over the band: cc[p, l] = sum_f Re(W_p(f) exp(2j pi f l / n_up)),
        # as one real product: [Re W, -Im W] @ [cos; sin]
        cc = np.concatenate([W.real, -W.imag], axis=1) @ table.phasors
    else:  # the whole correlation by one upsampled inverse FFT, then the window
        n_up = _LOOKUP_INTERP * nfft
        full = np.zeros((P, n_up // 2 + 1), dtype=complex)
        full[:, table.bins] = W
        lags = np.arange(-table.half, table.half + 1)
        cc = (np.fft.irfft(full, n=n_up, axis=1) * (n_up / 2.0))[:, lags % n_up]
    return table.apply(cc.ravel()) / (F * P)


@dataclass(frozen=True, eq=False)
class _LookupTable:
    """What the lookup kernel needs besides the cross-spectra, for one steering.

    The GCC of pair ``p`` is tabulated at lags ``-half..half`` (in steps of
    ``1 / (interp fs)``), flattened pair after pair. For a chunk of the grid,
    ``index()`` gives each (point, pair)'s table position ``i0`` ``(G_chunk, P)`` and
    weight ``frac``: the map is ``sum_p (1 - frac) cc[i0] + frac cc[i0 + 1]``, a linear
    interpolation at the model delay. Small grids keep it as sparse matrices across
    calls; large ones recompute the indices chunk by chunk.
    """

    bins: np.ndarray
    half: int
    phasors: np.ndarray | None  # (2F, 2 half + 1) [cos; sin], or None: use an inverse FFT
    index: Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]]
    sparse: list[Any] | None  # (G_chunk, P (2 half + 1)) interpolation matrices

    def apply(self, cc: np.ndarray) -> np.ndarray:
        """The map ``(G,)`` (summed over pairs) from the flattened tables `cc`."""
        if self.sparse is not None:
            parts = [S @ cc for S in self.sparse]
        else:
            parts = [((1.0 - w) * cc[i] + w * cc[i + 1]).sum(axis=1) for i, w in self.index()]
        return np.concatenate(parts) if parts else np.zeros(0)


_TABLES: _cache.Cache[_LookupTable] = _cache.named("doa.lookup", 16)
_TABLE_NNZ = 2**21  # interpolation matrices kept across calls up to this many entries


def _lookup_table(steering: Steering, fs: float, nfft: int) -> _LookupTable:
    key = steering.cache_key(fs, nfft, _LOOKUP_INTERP)
    table = _TABLES.get(key)
    if table is not None:
        return table
    interp = _LOOKUP_INTERP
    M = steering.geometry.n_mics
    pairs = all_pairs(M)
    P = len(pairs)
    bins = np.rint(steering.freqs * nfft / fs).astype(int)
    # every model lag lies within the aperture (|tau_i - tau_j| <= |p_i - p_j| / c, far
    # or near field): tabulate the GCC only there, one step beyond for the interpolation
    half = int(np.ceil(steering.geometry.aperture / steering.c * fs * interp)) + 1
    width = 2 * half + 1
    n_up = interp * nfft
    phasors = None
    if len(bins) * width < 2 * n_up * np.log2(n_up):
        arg = 2.0 * np.pi * np.outer(bins, np.arange(-half, half + 1)) / n_up
        phasors = np.concatenate([np.cos(arg), np.sin(arg)])
    tau = steering.delays()  # (G, M)
    G = steering.n_grid
    step = max(1, int(2**18 // max(P, 1)))  # (G_chunk, P) temporaries of 2 MiB

    def index() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        cols = np.arange(P) * width
        for lo in range(0, G, step):
            t = tau[lo : lo + step]
            lag = (t[:, pairs[:, 0]] - t[:, pairs[:, 1]]) * (fs * interp) + half  # table index
            k0 = np.clip(np.floor(lag), 0, 2 * half - 1)
            yield k0.astype(int) + cols, lag - k0

    sparse = None
    if G * P * 2 <= _TABLE_NNZ:
        from scipy.sparse import csr_matrix

        sparse = []
        for i0, frac in index():
            n = len(i0)
            data = np.concatenate([1.0 - frac, frac], axis=1).ravel()
            idx = np.concatenate([i0, i0 + 1], axis=1).ravel()
            indptr = np.arange(n + 1) * 2 * P
            sparse.append(csr_matrix((data, idx, indptr), shape=(n, P * width)))
    table = _LookupTable(bins, half, phasors, index, sparse)
    _TABLES.put(key, table)
    return table


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
