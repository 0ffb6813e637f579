"""Subspace methods: MUSIC, NormMUSIC and TOPS, vectorized over frequencies and grid.

Shapes: ``M`` microphones, ``F`` band frequencies, ``T`` frames, ``G`` grid points,
``K`` sources.

- **MUSIC** (Schmidt 1986): per frequency, the ``M - K`` eigenvectors of the spatial
  covariance with the smallest eigenvalues span the noise subspace ``E_n``; the
  pseudo-spectrum ``1 / |E_n^H a|^2`` (``a`` of unit norm) peaks where a steering
  vector is orthogonal to it. Bins are combined by their mean.
- **NormMUSIC** (Salvati et al. 2014, as pyroomacoustics): each bin's
  pseudo-spectrum is first divided by its maximum over the grid, so that a few
  high-SNR bins do not dominate.
- **TOPS** (Yoon, Kaplan, McClellan 2006): the signal subspace of the strongest bin
  ``f0`` is carried to every other bin ``f_i`` by the diagonal frequency shift
  ``phi_i(g) = a_{f_i}(g) / a_{f0}(g)`` and tested for orthogonality against that
  bin's noise subspace; the spectrum is ``1 / sigma_min(D(g))`` with
  ``D D^H = sum_i V_i^H E_i E_i^H V_i`` and ``V_i = phi_i * E_s(f0)``.

The reference kernels (:func:`music_reference`, :func:`tops_reference`) loop over grid
points and bins and are what the tests compare the fast ones with.
"""

from __future__ import annotations

import numpy as np

from arraykit.doa._cross import cross_spectra_chunks
from arraykit.doa._steer import Steering

__all__ = [
    "covariance",
    "music_bins",
    "music_reference",
    "subspaces",
    "tops_map",
    "tops_reference",
]


def covariance(X: np.ndarray) -> np.ndarray:
    """Spatial covariance per bin ``(F, M, M)`` of an STFT ``(M, F, T)``: ``X X^H / T``."""
    return cross_spectra_chunks([X.transpose(1, 0, 2)], X.shape[2])


def subspaces(C: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigen-decomposition of ``(F, M, M)`` covariances.

    Returns the eigenvalues ``(F, M)`` ascending, the signal subspace ``(F, M, K)``
    (largest K) and the noise subspace ``(F, M, M - K)``.
    """
    lam, vec = np.linalg.eigh(C)
    M = C.shape[-1]
    # contiguous copies: matmul on strided slices falls off the BLAS path
    return lam, np.ascontiguousarray(vec[:, :, M - K :]), np.ascontiguousarray(vec[:, :, : M - K])


def music_bins(Es: np.ndarray, En: np.ndarray, steering: Steering) -> np.ndarray:
    """MUSIC pseudo-spectrum per bin ``(F, G)``: ``|a|^2 / |E_n^H a|^2``.

    With few sources the projection on the noise subspace is computed as
    ``|a|^2 - |E_s^H a|^2`` (the smaller product); both equal ``|E_n^H a|^2``.
    """
    out = np.empty((len(steering.freqs), steering.n_grid))
    use_signal = Es.shape[2] < En.shape[2]
    E_c = np.ascontiguousarray(np.conj(Es if use_signal else En))
    M = Es.shape[1]
    for sl, A in steering.chunks():
        proj = A @ E_c  # (F, Gc, K) or (F, Gc, M-K)
        p2 = (proj.real**2 + proj.imag**2).sum(axis=2)
        num = (A.real**2 + A.imag**2).sum(axis=2) if steering.near else np.full(p2.shape, float(M))
        den = num - p2 if use_signal else p2
        out[:, sl] = num / np.maximum(den, 1e-12 * num)
    return out


def tops_map(X: np.ndarray, steering: Steering, K: int) -> np.ndarray:
    """TOPS spectrum ``(G,)`` from the band STFT ``(M, F, T)`` (needs F >= 2)."""
    C = covariance(X)
    _, Es, En = subspaces(C, K)
    f0 = int(np.argmax(np.abs(X).sum(axis=(0, 2))))
    others = np.array([i for i in range(C.shape[0]) if i != f0])
    Es0 = Es[f0]  # (M, K)
    Pn = En[others] @ np.conj(En[others].transpose(0, 2, 1))  # (F', M, M)
    out = np.empty(steering.n_grid)
    for sl, A in steering.chunks():
        U = A / np.abs(A)  # phase only (near-field gains cancel in the ratio)
        phi = U[others] * np.conj(U[f0])[None]  # (F', Gc, M)
        V = phi[..., None] * Es0[None, None]  # (F', Gc, M, K)
        W = Pn[:, None] @ V  # (F', Gc, M, K)
        DDH = np.einsum("fgmk,fgml->gkl", np.conj(V), W)  # (Gc, K, K)
        lam_min = np.linalg.eigvalsh(DDH)[:, 0]
        out[sl] = 1.0 / np.sqrt(np.maximum(lam_min, 1e-12))
    return out


def music_reference(X: np.ndarray, freqs: np.ndarray, delays: np.ndarray, K: int) -> np.ndarray:
    """Slow MUSIC: per bin and grid point, ``1 / |E_n^H a|^2`` with unit-norm ``a``; ``(F, G)``."""
    M, F, T = X.shape
    out = np.zeros((F, delays.shape[0]))
    for f in range(F):
        C = X[:, f, :] @ X[:, f, :].conj().T / T
        _, vec = np.linalg.eigh(C)
        En = vec[:, : M - K]
        for g in range(delays.shape[0]):
            a = np.exp(-2j * np.pi * freqs[f] * delays[g]) / np.sqrt(M)
            out[f, g] = 1.0 / np.linalg.norm(En.conj().T @ a) ** 2
    return out


def tops_reference(X: np.ndarray, freqs: np.ndarray, delays: np.ndarray, K: int) -> np.ndarray:
    """Slow TOPS: builds ``D(g)`` explicitly and takes its smallest singular value; ``(G,)``."""
    M, F, T = X.shape
    f0 = int(np.argmax(np.abs(X).sum(axis=(0, 2))))
    subs = []
    for f in range(F):
        C = X[:, f, :] @ X[:, f, :].conj().T / T
        _, vec = np.linalg.eigh(C)
        subs.append((vec[:, M - K :], vec[:, : M - K]))
    out = np.zeros(delays.shape[0])
    for g in range(delays.shape[0]):
        blocks = []
        for f in range(F):
            if f == f0:
                continue
            phi = np.exp(-2j * np.pi * (freqs[f] - freqs[f0]) * delays[g])
            U = np.diag(phi) @ subs[f0][0]
            blocks.append(U.conj().T @ subs[f][1])
        D = np.concatenate(blocks, axis=1)
        out[g] = 1.0 / max(np.linalg.svd(D, compute_uv=False).min(), 1e-6)
    return out
