"""Direction from pairwise delays: the least-squares far-field solver behind ``"tdoa-ls"``.

A plane wave from unit direction ``u`` reaches microphone ``i`` at
``tau_i = -(p_i . u) / c``, so the delay of pair ``(i, j)`` is
``tau_p = -(p_i - p_j) . u / c``: linear in ``u``. Stacking the baselines
``B`` ``(P, 3)`` gives ``B u = -c taus``, solved in the least-squares sense on the
subspace the array spans; what the array cannot see is filled in so that ``|u| = 1``:

- volumetric arrays: all of ``u`` (then normalised);
- planar arrays: the in-plane part, and the out-of-plane part from ``|u| = 1`` on
  the side the plane's normal points to (up for a horizontal array);
- linear arrays: the component along the axis; the rest lies in the horizontal
  plane on the counter-clockwise side of the axis (the half-plane
  :func:`arraykit.doa.grids.layout_grid` searches; the other side is the mirror).

>>> import numpy as np, arraykit as ak
>>> g = ak.ArrayGeometry.circular(6, 0.05)
>>> tau = g.delays((40.0, 25.0))[0]
>>> pairs = ak.gcc.all_pairs(6)
>>> az, el = from_tdoa(tau[pairs[:, 0]] - tau[pairs[:, 1]], pairs, g)
>>> round(float(az), 6), round(float(el), 6)
(40.0, 25.0)
"""

from __future__ import annotations

import logging
import math

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry, directions_from_vectors

__all__ = ["from_tdoa"]

_log = logging.getLogger(__name__)


def from_tdoa(
    taus: npt.ArrayLike,
    pairs: npt.ArrayLike,
    geometry: ArrayGeometry,
    *,
    c: float = SPEED_OF_SOUND,
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """Far-field direction from pairwise delays, by least squares.

    Parameters
    ----------
    taus : array_like [shape=(P,) or (P, T)]
        ``taus[p]``: delay (s) of microphone ``pairs[p, 0]`` relative to
        ``pairs[p, 1]``, positive when the first hears the sound later (as
        :func:`arraykit.gcc_phat` and :func:`arraykit.gcc.gcc_phat_pairs` return).
        NaN: the pair has no delay (a silent side); it is left out, and an error
        names such pairs when the rest cannot fix the direction.
    pairs : array_like [shape=(P, 2)]
    geometry : ArrayGeometry
    c : float

    Returns
    -------
    azimuth, elevation : float, or np.ndarray [shape=(T,)] for ``(P, T)`` delays
        Degrees.
    """
    from arraykit.gcc import _pairs

    pr = _pairs("pairs", pairs, geometry.n_mics)
    t = v.finite_array("taus", taus, check_finite=False)
    if np.isinf(t).any():
        raise v.fail("taus", taus, "contains infinite values")
    if t.ndim not in (1, 2) or t.shape[0] != len(pr):
        raise v.fail(
            "taus", taus, f"must have one delay per pair: shape ({len(pr)},) or ({len(pr)}, T)"
        )
    c = v.positive("c", c)
    single = t.ndim == 1
    t2 = t[:, None] if single else t
    u = _solve(t2, pr, geometry, c)  # (T, 3)
    d = directions_from_vectors(u)
    if single:
        return float(d[0, 0]), float(d[0, 1])
    return d[:, 0], d[:, 1]


def _solve(taus: np.ndarray, pairs: np.ndarray, geometry: ArrayGeometry, c: float) -> np.ndarray:
    """Unit vectors ``(T, 3)`` from delays ``(P, T)``; NaN delays (no delay) are left out."""
    missing = np.isnan(taus)
    if not missing.any():
        return _solve_all(taus, pairs, geometry, c)
    u = np.empty((taus.shape[1], 3))
    full = _rank(pairs, geometry)
    for mask in np.unique(missing, axis=1).T:  # one solve per set of missing pairs
        cols = np.all(missing == mask[:, None], axis=0)
        keep = ~mask
        if keep.sum() == 0 or _rank(pairs[keep], geometry) < full:
            gone = ", ".join(f"({i}, {j})" for i, j in pairs[mask])
            raise v.fail(
                "taus",
                f"{int(mask.sum())} NaN",
                f"pairs {gone} have no delay (a silent microphone?); the other pairs cannot "
                "fix the direction",
            )
        _log.info("tdoa: pairs without a delay left out: %s", pairs[mask].tolist())
        u[cols] = _solve_all(taus[keep][:, cols], pairs[keep], geometry, c)
    return u


def _rank(pairs: np.ndarray, geometry: ArrayGeometry) -> int:
    B = geometry.positions[pairs[:, 0]] - geometry.positions[pairs[:, 1]]
    s = np.linalg.svd(B, compute_uv=False)
    return int(np.sum(s > 1e-6 * s[0])) if len(s) else 0


def _solve_all(
    taus: np.ndarray, pairs: np.ndarray, geometry: ArrayGeometry, c: float
) -> np.ndarray:
    p = geometry.positions
    B = p[pairs[:, 0]] - p[pairs[:, 1]]  # (P, 3)
    U, s, Vt = np.linalg.svd(B, full_matrices=True)
    rank = int(np.sum(s > 1e-6 * s[0]))
    coef = (U[:, :rank].T @ (-c * taus)) / s[:rank, None]  # (rank, T)
    u = (Vt[:rank].T @ coef).T  # (T, 3) in the row space
    if rank == 3:
        return u / np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-12)
    if rank == 2:
        n = geometry.normal if geometry.normal is not None else Vt[2]
        fill = n
    else:
        axis = Vt[0]
        horiz = math.hypot(axis[0], axis[1])
        if horiz < 1e-9:  # vertical line
            fill = np.array([1.0, 0.0, 0.0])
        else:
            g_axis = geometry.axis if geometry.axis is not None else axis
            ax = math.atan2(g_axis[1], g_axis[0])
            fill = np.array([-math.sin(ax), math.cos(ax), 0.0])
    norm2 = np.sum(u * u, axis=1)
    too_long = norm2 > 1.0
    u[too_long] /= np.sqrt(norm2[too_long])[:, None]
    rest = np.sqrt(np.clip(1.0 - np.sum(u * u, axis=1), 0.0, None))
    return u + rest[:, None] * fill[None, :]
