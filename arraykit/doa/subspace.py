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

from typing import Literal

import numpy as np

from arraykit.doa._cross import cross_spectra_chunks
from arraykit.doa._steer import Steering

__all__ = [
    "covariance",
    "music_bins",
    "music_reference",
    "music_subspaces",
    "signal_subspace",
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


SUBSET_MICS = 48
"""Arrays from this size up take the subset eigen-decomposition in :func:`signal_subspace`."""


def signal_subspace(C: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """The K largest eigenvalues ``(F, K)`` (ascending) and their eigenvectors
    ``(F, M, K)`` of ``(F, M, M)`` covariances, without the others.

    With few sources among many microphones (at least :data:`SUBSET_MICS`) LAPACK's
    subset driver skips the other ``M - K`` eigenvectors (about half the time of a full
    decomposition at 64 microphones); otherwise numpy's batched full decomposition,
    which is cheaper there (scipy decomposes one bin at a time: ~50 us a call).
    """
    M = C.shape[-1]
    if M < SUBSET_MICS or 4 * K >= M:
        lam, Es, _ = subspaces(C, K)
        return lam[:, M - K :], Es
    from scipy.linalg import eigh

    lam, vec = eigh(C, subset_by_index=[M - K, M - 1])
    return lam, np.ascontiguousarray(vec)


def music_subspaces(C: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``(E_s, E_n)`` as :func:`music_bins` reads them: with K < M - K the signal
    subspace alone (``E_n`` None, not computed), else both."""
    if K < C.shape[-1] - K:
        return signal_subspace(C, K)[1], None
    _, Es, En = subspaces(C, K)
    return Es, En


def music_bins(
    Es: np.ndarray,
    En: np.ndarray | None,
    steering: Steering,
    *,
    subspace: Literal["smaller", "signal", "noise"] = "smaller",
) -> np.ndarray:
    """MUSIC pseudo-spectrum per bin ``(F, G)``: ``|a|^2 / |E_n^H a|^2``.

    The projection on the noise subspace comes from the smaller of the two subspaces:
    ``|E_n^H a|^2 = |a|^2 - |E_s^H a|^2`` (``E_s`` and ``E_n`` together orthonormal),
    so with K sources a grid point costs ``M min(K, M - K)`` rather than ``M (M - K)``.
    `En` may be ``None``: the signal subspace alone. `subspace` forces one form (tests).
    """
    out = np.empty((len(steering.freqs), steering.n_grid))
    if subspace == "smaller":
        use_signal = En is None or Es.shape[2] < En.shape[2]
    else:
        use_signal = subspace == "signal"
    E = Es if use_signal or En is None else En
    E_c = np.ascontiguousarray(np.conj(E))
    M = Es.shape[1]
    for sl, A in steering.chunks():
        proj = np.matmul(A, E_c)  # (F, Gc, K) or (F, Gc, M-K)
        p2 = np.einsum("fgk,fgk->fg", proj.real, proj.real)
        p2 += np.einsum("fgk,fgk->fg", proj.imag, proj.imag)
        if steering.near:
            num = np.einsum("fgm,fgm->fg", A.real, A.real)
            num += np.einsum("fgm,fgm->fg", A.imag, A.imag)
        else:
            num = np.full(p2.shape, float(M))
        den = num - p2 if use_signal else p2
        out[:, sl] = num / np.maximum(den, 1e-12 * num)
    return out


def tops_map(X: np.ndarray, steering: Steering, K: int) -> np.ndarray:
    """TOPS spectrum ``(G,)`` from the band STFT ``(M, F, T)`` (needs F >= 2).

    ``V_i^H P_i V_i`` with ``P_i = E_n E_n^H`` of bin ``i`` is formed from the smaller
    subspace: ``V_i^H V_i = I`` (the shift is phase only), so with ``E_s`` it is
    ``I - Q^H Q`` with ``Q = E_s^H V_i`` ``(K, K)``: ``M K^2`` per bin and grid point
    instead of ``M^2 K``.
    """
    C = covariance(X)
    Es, En = music_subspaces(C, K)
    F, M = C.shape[0], C.shape[1]
    f0 = int(np.argmax(np.abs(X).sum(axis=(0, 2))))
    others = np.array([i for i in range(F) if i != f0])
    use_signal = En is None
    E = (Es if En is None else En)[others]  # (F', M, J)
    J = E.shape[2]
    # B[f, m, (j, k)] = conj(E[f, m, j]) Es0[m, k]: Q = phi @ B gives E^H (phi * Es0)
    B = np.einsum("fmj,mk->fmjk", np.conj(E), Es[f0]).reshape(len(others), M, J * K)
    out = np.empty(steering.n_grid)
    for sl, A in steering.chunks():
        U = A / np.abs(A)  # phase only (near-field gains cancel in the ratio)
        phi = U[others] * np.conj(U[f0])[None]  # (F', Gc, M)
        Q = np.matmul(phi, B).reshape(len(others), -1, J, K)  # (F', Gc, J, K)
        QQ = np.einsum("fgjk,fgjl->gkl", np.conj(Q), Q)  # (Gc, K, K)
        DDH = len(others) * np.eye(K) - QQ if use_signal else QQ
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
