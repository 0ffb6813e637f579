"""WAVES: weighted average of signal subspaces (di Claudio and Parisi 2001).

Shapes: ``M`` microphones, ``F`` band frequencies, ``G`` grid points, ``K`` sources.

Like CSSM (:mod:`arraykit.doa.methods.cssm`, whose focusing it shares), but what is
focused is each bin's signal subspace, weighted by how far its eigenvalues rise above
the noise: ``Z = [T_1 E_1 P_1, ..., T_F E_F P_F]`` ``(M, F K)`` with
``P_f = diag((lambda_k - sigma^2) / sqrt(lambda_k))`` (``sigma^2`` the mean of the
bin's M - K smallest eigenvalues): a signal eigenvector counts by the square root of
its power above the noise, ``(Lambda_s - sigma^2 I) Lambda_s^(-1/2)``, and not at all
where it does not rise above the noise. (pyroomacoustics divides by
``sqrt(lambda_k sigma^2 + 1)``, which depends on the signals' scale; dividing by
``sqrt(lambda_k sigma^2)`` alone lets near-silent bins of a noise-free recording
dominate.) The K leading left singular vectors of ``Z`` are
the focused signal subspace; the map is MUSIC at the reference bin ``f0``.

``T_f E_f = E_f + D_f (E_f[:K])``: ``M K^2`` per bin; the SVD of ``Z`` costs
``M^2 F K``. :func:`waves_reference` builds ``T_f`` by inversion and the map by
loops; the tests compare it with :func:`waves_subspace` and the CSSM map.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from arraykit.doa._steer import Steering
from arraykit.doa.methods.cssm import Pick, Sharpen, focus, search
from arraykit.doa.peaks import peaks
from arraykit.doa.registry import DOAMethod, SpatialMap
from arraykit.doa.subspace import signal_subspace

if TYPE_CHECKING:
    from arraykit.doa.plan import Plan
    from arraykit.doa.statistics import BandStatistics

__all__ = ["METHOD", "waves_map", "waves_reference", "waves_subspace", "weights"]


def make_map(stats: BandStatistics, K: int, plan: Plan) -> SpatialMap:
    return waves_map(stats.covariance(), K, lambda values: peaks(values, plan, K)[0], search(plan))


METHOD = DOAMethod(
    make_map=make_map,
    needs="covariance",
    description="weighted average of signal subspaces, focused as CSSM, then MUSIC",
)


def waves_map(
    C: np.ndarray, K: int, pick: Pick, sharpen: Sharpen | None = None
) -> Callable[[Steering], np.ndarray]:
    """WAVES maps from band covariances ``C`` ``(F, M, M)`` for K sources (`pick`,
    `sharpen` as for :func:`arraykit.doa.methods.cssm.cssm_map`)."""
    lam, Es = signal_subspace(C, K)
    P = weights(lam, np.einsum("fmm->f", C).real, C.shape[-1])
    return focus(C, K, lambda D: waves_subspace(Es, P, D), pick, (Es, None), sharpen)


def weights(lam: np.ndarray, trace: np.ndarray, M: int) -> np.ndarray:
    """``(lambda_k - sigma^2) / sqrt(lambda_k)`` per bin ``(F, K)`` from the K largest
    eigenvalues ``(F, K)``; ``sigma^2`` the mean of the other M - K,
    ``(trace C_f - sum_k lambda_k) / (M - K)``; 0 where it is not below ``lambda_k``."""
    lam = np.maximum(lam.real, 0.0)
    noise = np.maximum(trace - lam.sum(axis=1), 0.0)[:, None] / (M - lam.shape[1])
    return np.maximum(lam - noise, 0.0) / np.sqrt(np.maximum(lam, 1e-300))


def waves_subspace(Es: np.ndarray, P: np.ndarray, D: np.ndarray) -> np.ndarray:
    """The K leading left singular vectors ``(M, K)`` of ``Z = [T_f E_f P_f]``.

    `Es` ``(F, M, K)`` per-bin signal subspaces, `P` ``(F, K)`` weights, `D`
    ``(F, M, K)`` focusing terms (``T_f = I + D_f S``).
    """
    F, M, K = Es.shape
    TE = Es + np.matmul(D, Es[:, :K, :])  # (F, M, K)
    Z = (TE * P[:, None, :]).transpose(1, 0, 2).reshape(M, F * K)
    U, _, _ = np.linalg.svd(Z, full_matrices=False)
    return np.ascontiguousarray(U[:, :K])


def waves_reference(
    C: np.ndarray, freqs: np.ndarray, delays: np.ndarray, beta: np.ndarray, f0: int
) -> np.ndarray:
    """Slow WAVES map for focusing directions given by their delays `beta` ``(K, M)``.

    Per bin: eigen-decomposition, weights, ``T_f = [A_0 B][A_f B]^-1`` by inversion;
    ``Z`` by concatenation, its full SVD, and ``1 / |U_n^H a|^2`` at ``f0`` with
    unit-norm ``a`` for each grid delay row of `delays` ``(G, M)``; ``(G,)``.
    """
    F, M, _ = C.shape
    K = beta.shape[0]
    B = np.vstack([np.zeros((K, M - K)), np.eye(M - K)])
    A0 = np.exp(-2j * np.pi * freqs[f0] * beta.T)  # (M, K)
    blocks = []
    for f in range(F):
        lam, vec = np.linalg.eigh(C[f])
        sigma2 = np.mean(lam[: M - K])
        p = [max(x - sigma2, 0.0) / np.sqrt(max(x, 1e-300)) for x in lam[M - K :]]
        Af = np.exp(-2j * np.pi * freqs[f] * beta.T)
        T = np.hstack([A0, B]) @ np.linalg.inv(np.hstack([Af, B]))
        blocks.append(T @ vec[:, M - K :] @ np.diag(p))
    U, _, _ = np.linalg.svd(np.hstack(blocks))
    Un = U[:, K:]
    out = np.zeros(delays.shape[0])
    for g in range(delays.shape[0]):
        a = np.exp(-2j * np.pi * freqs[f0] * delays[g]) / np.sqrt(M)
        out[g] = 1.0 / np.linalg.norm(Un.conj().T @ a) ** 2
    return out
