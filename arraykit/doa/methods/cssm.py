"""CSSM: the coherent signal-subspace method (Wang and Kaveh 1985).

Shapes: ``M`` microphones, ``F`` band frequencies, ``G`` grid points, ``K`` sources.

Wideband MUSIC done coherently: every bin's covariance ``C_f`` is carried to one
reference bin ``f0`` (:func:`reference_bin`: the band's power centroid) by a focusing
matrix ``T_f`` that maps the steering vectors of K focusing directions ``beta`` at ``f``
onto those at ``f0``,

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
from typing import TYPE_CHECKING

import numpy as np

from arraykit.doa._steer import Steering
from arraykit.doa.peaks import peaks
from arraykit.doa.refine import refine, refine_points
from arraykit.doa.registry import DOAMethod, SpatialMap
from arraykit.doa.subspace import music_bins, music_subspaces

if TYPE_CHECKING:
    from arraykit.doa.plan import Plan
    from arraykit.doa.statistics import BandStatistics

__all__ = [
    "ITERATIONS",
    "METHOD",
    "cssm_map",
    "cssm_reference",
    "focus",
    "focused_covariance",
    "focused_map",
    "focusing",
    "reference_bin",
    "search",
]

ITERATIONS = 5
"""Most focusing passes (pyroomacoustics' default ``num_iter``)."""

Pick = Callable[[np.ndarray], np.ndarray]
"""Peaks of a map on the first grid: ``(G,)`` values -> K indices."""

Sharpen = Callable[[SpatialMap, np.ndarray, np.ndarray], np.ndarray]
"""The search's refinement: ``(map, K peak indices, first grid's values)`` -> the K
refined directions ``(K, 2)`` (points ``(K, 3)`` near field)."""


def make_map(stats: BandStatistics, K: int, plan: Plan) -> SpatialMap:
    return cssm_map(stats.covariance(), K, lambda values: peaks(values, plan, K)[0], search(plan))


def search(plan: Plan) -> Sharpen:
    """The search's own refinement, as :func:`focus` sharpens focusing directions."""

    def sharpen(evaluate: SpatialMap, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
        if plan.points is not None:
            return refine_points(plan, evaluate, plan.points[idx], values[idx])[0]
        return refine(plan, evaluate, plan.grid_directions[idx], values[idx])[0]

    return sharpen


METHOD = DOAMethod(
    make_map=make_map,
    needs="covariance",
    description="coherent signal subspace: bins focused on one, then MUSIC there",
)


def cssm_map(
    C: np.ndarray, K: int, pick: Pick, sharpen: Sharpen | None = None
) -> Callable[[Steering], np.ndarray]:
    """CSSM maps from band covariances ``C`` ``(F, M, M)`` for K sources.

    The first grid evaluated (the search's coarse grid) sets the focusing
    directions, ``pick(map)`` -> K grid indices (the search's peaks); later grids
    (refinement) are evaluated on the same focused subspace.
    """

    def signal_subspace(D: np.ndarray) -> np.ndarray:
        _, vec = np.linalg.eigh(focused_covariance(C, D))
        return np.ascontiguousarray(vec[:, -K:])

    return focus(C, K, signal_subspace, pick, sharpen=sharpen)


def reference_bin(freqs: np.ndarray, power: np.ndarray, limit: float) -> int:
    """The bin the covariances are focused on: the one nearest the band's power
    centroid ``sum_f p_f f / sum_f p_f`` (``p_f = trace C_f``), at most `limit` Hz (the
    array's spatial aliasing frequency).

    Focusing is exact at the focusing directions only: a source off them is carried
    to ``f0`` as if its offset were scaled by about ``f / f0``, so the focused map
    leans towards the focusing directions by the power-weighted mean of ``1 - f / f0``.
    At the centroid that mean is 0 and the iteration converges on the sources.
    """
    centroid = min(float(np.sum(power * freqs) / np.sum(power)), limit)
    return int(np.argmin(np.abs(freqs - centroid)))


def focus(
    C: np.ndarray,
    K: int,
    signal_subspace: Callable[[np.ndarray], np.ndarray],
    pick: Pick,
    subspaces_: tuple[np.ndarray, np.ndarray | None] | None = None,
    sharpen: Sharpen | None = None,
) -> Callable[[Steering], np.ndarray]:
    """The focusing iteration shared by CSSM and WAVES.

    `signal_subspace(D)` returns the focused ``(M, K)`` signal subspace for the
    focusing terms ``D`` ``(F, M, K)`` (:func:`focusing`). The first focusing
    directions are the peaks of the NormMUSIC map of the per-bin subspaces
    `subspaces_` ``(E_s, E_n)`` (computed from `C` if not given); then the peaks of
    the focused map on the first grid, until they stop moving. A focused map leans
    towards its focusing directions, so below the grid's spacing `sharpen(map,
    indices, values)` (the search's refinement) moves them off the grid, twice at most.
    """
    kept: list[np.ndarray] = []

    def evaluate(steer: Steering) -> np.ndarray:
        limit = steer.geometry.aliasing_frequency(steer.c)
        f0 = reference_bin(steer.freqs, np.einsum("fmm->f", C).real, limit)
        steer0 = _at(steer, None, f0)
        if kept:
            return focused_map(kept[0], steer0)
        Es, En = music_subspaces(C, K) if subspaces_ is None else subspaces_
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
        grid = steer.points if steer.points is not None else steer.directions
        assert grid is not None
        at = grid[beta]
        for _ in range(2 if sharpen is not None else 0):  # a loop over passes (few)
            assert sharpen is not None

            def current(s: Steering, E: np.ndarray = Ef) -> np.ndarray:
                return focused_map(E, _at(s, None, f0))

            fine = sharpen(current, beta, values)
            if np.allclose(fine, at):
                break
            at = fine
            Ef = signal_subspace(focusing(_located(steer, at), f0))
            values = focused_map(Ef, steer0)
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


def _located(steer: Steering, at: np.ndarray) -> Steering:
    """`steer`'s band at directions (or points, for a near-field search) `at`."""
    if steer.points is not None:
        return Steering(steer.geometry, steer.freqs, None, at, steer.c)
    return Steering(steer.geometry, steer.freqs, at, None, steer.c)


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
