"""tdoa-ls: the GCC-PHAT delay of every microphone pair, solved for one far-field
direction by least squares (:func:`arraykit.doa.from_tdoa`).

Its map (for the result's spectrum and the peaks) is minus the RMS misfit, in samples,
between the measured pair delays and each grid point's model delays; the direction
itself comes from the direct solver, not from a grid. It reads the PHAT cross-spectra
on the STFT's own bins (a GCC needs the bin layout), finds one source and searches the
far field only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from arraykit.doa.registry import DOAMethod, SpatialMap
from arraykit.doa.srp import srp_phat_map
from arraykit.doa.tdoa import _solve
from arraykit.geometry import directions_from_vectors

if TYPE_CHECKING:
    from arraykit.doa._steer import Steering
    from arraykit.doa.plan import Plan
    from arraykit.doa.statistics import BandStatistics

__all__ = ["METHOD", "pair_delays", "solve", "tdoa_ls_reference"]


def pair_delays(plan: Plan, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCC-PHAT peak delay ``(P,)`` seconds of every pair ``(P, 2)``, from the
    band's PHAT cross-spectra ``R`` ``(F, M, M)``."""
    from arraykit.gcc import all_pairs, peak_delays

    pairs = all_pairs(plan.geometry.n_mics)
    bins = np.rint(plan.freqs * plan.nfft / plan.fs).astype(int)
    W = np.zeros((len(pairs), plan.nfft // 2 + 1), dtype=complex)
    W[:, bins] = R[:, pairs[:, 0], pairs[:, 1]].T
    p = plan.geometry.positions
    d = np.linalg.norm(p[pairs[:, 0]] - p[pairs[:, 1]], axis=1)
    shift = np.ceil(d / plan.c * plan.fs).astype(int) + 1
    return peak_delays(W, plan.fs, max_shift=shift), pairs


def make_map(stats: BandStatistics, K: int, plan: Plan) -> SpatialMap:
    R = stats.phat()

    def misfit(steer: Steering) -> np.ndarray:
        """Minus the RMS misfit (in samples) of the measured pair delays to each grid point."""
        taus, pairs = pair_delays(plan, R)
        ok = np.isfinite(taus)  # a pair with a silent side has no delay: left out
        taus, pairs = taus[ok], pairs[ok]
        tau = steer.delays()
        model = tau[:, pairs[:, 0]] - tau[:, pairs[:, 1]]  # (G, P)
        return -np.sqrt(np.mean((model - taus[None, :]) ** 2, axis=1)) * plan.fs

    return misfit


def solve(stats: BandStatistics, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """The least-squares direction ``(1, 2)`` and its SRP-PHAT power ``(1,)``."""
    R = stats.phat()
    taus, pairs = pair_delays(plan, R)
    u = _solve(taus[:, None], pairs, plan.geometry, plan.c)
    d = directions_from_vectors(u)
    if plan.grid_kind == "ring" and plan.directions is not None:
        d[:, 1] = plan.directions[0, 1]  # a ring search reports its own elevation
    steer = plan.steering(d)
    power = srp_phat_map(R, steer, fs=plan.fs, nfft=plan.nfft, kernel="steered")
    return d, power


def tdoa_ls_reference(
    X: np.ndarray, freqs: np.ndarray, fs: float, delays: np.ndarray, pairs: np.ndarray
) -> np.ndarray:
    """Slow reference of the map: minus the RMS misfit (samples) ``(G,)``.

    ``X`` ``(M, F, T)`` band STFT, ``freqs`` ``(F,)`` Hz, ``delays`` ``(G, M)`` s,
    ``pairs`` ``(P, 2)``. Each pair's delay is the lag of the largest GCC-PHAT value,
    the GCC summed bin by bin on a grid of 1/64 sample within the pair's distance.
    """
    taus = np.zeros(len(pairs))
    for p, (i, j) in enumerate(pairs):
        cross = X[i] * np.conj(X[j])  # (F, T)
        W = np.mean(cross / np.maximum(np.abs(cross), 1e-300), axis=1)  # (F,)
        reach = np.max(np.abs(delays[:, i] - delays[:, j])) * fs + 1.0
        lags = np.arange(-np.ceil(reach * 64), np.ceil(reach * 64) + 1) / 64.0
        cc = [float(np.sum(np.real(W * np.exp(2j * np.pi * freqs * lag / fs)))) for lag in lags]
        taus[p] = lags[int(np.argmax(cc))] / fs
    out = np.zeros(delays.shape[0])
    for g in range(delays.shape[0]):
        misfit = [(delays[g, i] - delays[g, j] - taus[p]) ** 2 for p, (i, j) in enumerate(pairs)]
        out[g] = -np.sqrt(np.mean(misfit)) * fs
    return out


def _one(n_mics: int) -> int:
    return 1


METHOD = DOAMethod(
    make_map=make_map,
    needs="phat",
    description="least squares on every pair's GCC-PHAT delay (one far-field source)",
    max_sources=_one,
    near_field=False,
    stft_bins=True,
    solve=solve,
)
