"""CSSM: the coherent signal-subspace method (Wang and Kaveh 1985).

Shapes: ``M`` microphones, ``F`` band frequencies, ``G`` grid points, ``K`` sources.

Wideband MUSIC done coherently: every bin's covariance ``C_f`` is carried to one
reference bin ``f0`` (the strongest) by a focusing matrix ``T_f`` that maps the
steering vectors of K focusing directions ``beta`` at ``f`` onto those at ``f0``,

    T_f = [A_0  B] [A_f  B]^-1,   A_f = a_f(beta) (M, K),   B = [0; I_(M-K)],

the focused covariances are summed, ``R = sum_f T_f C_f T_f^H``, and the MUSIC
pseudo-spectrum of ``R`` at ``f0`` is the map, ``|a|^2 / (|a|^2 - |E_s^H a|^2)``
with ``E_s`` the K leading eigenvectors of ``R``. The focusing directions start at
the peaks of the incoherent (NormMUSIC) map and are replaced by the peaks of the
focused map, up to :data:`ITERATIONS` times (until they stop moving).

Scaling with the array: ``T_f = I + D_f S`` with ``D_f = (A_0 - A_f) (A_f[:K])^-1``
``(M, K)`` and ``S`` the first K rows of the identity, so ``T_f C_f T_f^H`` costs
``M^2 K`` per bin instead of ``M^3``; the map projects each steering vector on the K
signal eigenvectors (``M K`` per point) rather than the ``M - K`` noise ones.

:func:`cssm_reference` builds ``T_f`` by inversion and the map by loops over bins
and grid points; the tests compare it with :func:`focused_covariance` and
:func:`focused_map`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from arraykit.doa._steer import Steering
from arraykit.doa.subspace import music_bins, subspaces

__all__ = [
    "ITERATIONS",
    "cssm_map",
    "cssm_reference",
    "focus",
    "focused_covariance",
    "focused_map",
    "focusing",
    "reference_bin",
]

ITERATIONS = 5
"""Most focusing passes (pyroomacoustics' default ``num_iter``)."""

Pick = Callable[[np.ndarray], np.ndarray]
"""Peaks of a map on the first grid: ``(G,)`` values -> K indices."""


def cssm_map(C: np.ndarray, K: int, pick: Pick) -> Callable[[Steering], np.ndarray]:
    """CSSM maps from band covariances ``C`` ``(F, M, M)`` for K sources.

    The first grid evaluated (the search's coarse grid) sets the focusing
    directions, ``pick(map)`` -> K grid indices (the search's peaks); later grids
    (refinement) are evaluated on the same focused subspace.
    """

    def signal_subspace(D: np.ndarray) -> np.ndarray:
        _, vec = np.linalg.eigh(focused_covariance(C, D))
        return np.ascontiguousarray(vec[:, -K:])

    return focus(C, K, reference_bin(C), signal_subspace, pick)


def reference_bin(C: np.ndarray) -> int:
    """The strongest bin (largest ``trace C_f``): where the covariances are focused."""
    return int(np.argmax(np.einsum("fmm->f", C).real))


def focus(
    C: np.ndarray,
    K: int,
    f0: int,
    signal_subspace: Callable[[np.ndarray], np.ndarray],
    pick: Pick,
    subspaces_: tuple[np.ndarray, np.ndarray] | None = None,
) -> Callable[[Steering], np.ndarray]:
    """The focusing iteration shared by CSSM and WAVES.

    `signal_subspace(D)` returns the focused ``(M, K)`` signal subspace for the
    focusing terms ``D`` ``(F, M, K)`` (:func:`focusing`). The first focusing
    directions are the peaks of the NormMUSIC map of the per-bin subspaces
    `subspaces_` ``(E_s, E_n)`` (computed from `C` if not given).
    """
    kept: list[np.ndarray] = []

    def evaluate(steer: Steering) -> np.ndarray:
        steer0 = _at(steer, None, f0)
        if kept:
            return focused_map(kept[0], steer0)
        Es, En = subspaces(C, K)[1:] if subspaces_ is None else subspaces_
        pf = music_bins(Es, En, steer)  # (F, G)
        values = (pf / pf.max(axis=1, keepdims=True)).mean(axis=0)
        beta = pick(values)
        for _ in range(ITERATIONS):  # a loop over focusing passes (few)
            Ef = signal_subspace(focusing(_at(steer, beta), f0))
            values = focused_map(Ef, steer0)
            new = pick(values)
            if set(new.tolist()) == set(beta.tolist()):
                break
            beta = new
        kept.append(Ef)
        return values

    return evaluate


def focusing(steer_beta: Steering, f0: int) -> np.ndarray:
    """Focusing terms ``D_f = (A_0 - A_f) (A_f[:K])^-1`` ``(F, M, K)``: ``T_f = I + D_f S``.

    `steer_beta` steers the band at the K focusing directions; ``A_f`` ``(M, K)``.
    """
    A = np.concatenate([A for _, A in steer_beta.chunks()], axis=1)  # (F, K, M)
    K = A.shape[1]
    rhs = A[f0][None] - A  # (A_0 - A_f)^T: (F, K, M)
    # pinv: the inverse, and a least-squares map where two directions look alike
    return np.matmul(np.linalg.pinv(A[:, :, :K]), rhs).transpose(0, 2, 1)


def focused_covariance(C: np.ndarray, D: np.ndarray) -> np.ndarray:
    """``R = sum_f T_f C_f T_f^H`` with ``T_f = I + D_f S`` (``M^2 K`` per bin); ``(M, M)``."""
    K = D.shape[2]
    top = C[:, :K, :]  # S C_f: (F, K, M)
    DC = np.einsum("fmk,fkn->mn", D, top)
    DCD = np.einsum("fmk,fkl,fnl->mn", D, top[:, :, :K], np.conj(D), optimize=True)
    return C.sum(axis=0) + DC + np.conj(DC.T) + DCD


def focused_map(Es: np.ndarray, steer0: Steering) -> np.ndarray:
    """MUSIC at the reference bin of the focused signal subspace ``Es`` ``(M, K)``; ``(G,)``."""
    return music_bins(Es[None], None, steer0)[0]


def _at(steer: Steering, idx: np.ndarray | None, f0: int | None = None) -> Steering:
    """`steer` restricted to grid points `idx` and / or the one bin `f0`."""
    freqs = steer.freqs if f0 is None else steer.freqs[f0 : f0 + 1]
    d, p = steer.directions, steer.points
    if idx is not None:
        d = None if d is None else d[idx]
        p = None if p is None else p[idx]
    return Steering(steer.geometry, freqs, d, p, steer.c)


def cssm_reference(
    C: np.ndarray, freqs: np.ndarray, delays: np.ndarray, beta: np.ndarray, f0: int
) -> np.ndarray:
    """Slow CSSM map for focusing directions given by their delays `beta` ``(K, M)``.

    ``T_f = [A_0 B][A_f B]^-1`` by inversion, ``R = sum_f T_f C_f T_f^H``, and
    ``1 / |E_n^H a|^2`` at ``f0`` with unit-norm ``a`` for each grid delay row of
    `delays` ``(G, M)``; ``(G,)``.
    """
    F, M, _ = C.shape
    K = beta.shape[0]
    B = np.vstack([np.zeros((K, M - K)), np.eye(M - K)])
    A0 = np.exp(-2j * np.pi * freqs[f0] * beta.T)  # (M, K)
    R = np.zeros((M, M), dtype=complex)
    for f in range(F):
        Af = np.exp(-2j * np.pi * freqs[f] * beta.T)
        T = np.hstack([A0, B]) @ np.linalg.inv(np.hstack([Af, B]))
        R += T @ C[f] @ T.conj().T
    _, vec = np.linalg.eigh(R)
    En = vec[:, : M - K]
    out = np.zeros(delays.shape[0])
    for g in range(delays.shape[0]):
        a = np.exp(-2j * np.pi * freqs[f0] * delays[g]) / np.sqrt(M)
        out[g] = 1.0 / np.linalg.norm(En.conj().T @ a) ** 2
    return out
