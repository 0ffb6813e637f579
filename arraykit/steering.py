"""Steering vectors: what a plane or spherical wave looks like across the array.

Shapes: ``F`` frequencies, ``G`` directions (or points), ``M`` microphones.
Far field: ``tau_m(u) = -(p_m . u) / c`` and ``a_m(f, u) = exp(-2j pi f tau_m(u))``.
Near field: a point source at ``s`` reaches microphone ``m`` after
``r_m / c`` with amplitude ``1 / r_m``; both are taken relative to the distance
``r_0`` from the source to the array centroid, so ``a_m = (r_0 / r_m) exp(-2j pi f (r_m - r_0) / c)``.

DOA search and beamforming both build on this module (``ak.beamform.steering_vector``
is the same function).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry, unit_vectors

__all__ = [
    "check_frame_holds",
    "near_field_delays",
    "plane_wave",
    "spherical_wave",
    "steering_vector",
    "steering_vector_near",
]

CENTRE_TOL = 1e-6
"""Metres: a near-field point this close to the array centroid (or a microphone) is refused."""

MAX_RANGE = 1e6
"""Metres: a near-field point farther than this from the origin is refused. Its wave is the
plane wave to double precision long before (the delays' difference from it falls as the
aperture squared over the range), and at about 1e154 m the distances' squares overflow."""


def check_frame_holds(geometry: ArrayGeometry, fs: float, nfft: int, c: float) -> None:
    """Refuse an array whose delays no STFT frame of `nfft` samples holds: a frame's
    correlation has lags up to `nfft` samples, no more (a file's positions in mm read as
    metres make a 1.4 km array of a 14 cm one)."""
    crossing = geometry.aperture / c
    if crossing > nfft / fs:
        raise v.fail(
            "geometry",
            geometry,
            f"is {geometry.aperture:.3g} m across: sound takes {crossing:.3g} s to cross it, "
            f"longer than an STFT frame (nfft={nfft} at {fs:g} Hz: {nfft / fs:.3g} s), so no "
            "frame holds its delays: are the positions in metres (a file in mm or cm)? else "
            "give a larger nfft",
        )


def plane_wave(
    positions: npt.ArrayLike,
    freqs: npt.ArrayLike,
    units: npt.ArrayLike,
    *,
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Far-field steering from raw positions, batched: ``(..., F, G, M)``.

    The kernel behind :func:`steering_vector`, for callers that perturb the array
    (Monte Carlo position errors, :mod:`arraykit.diagnostics`) or sweep directions
    past the poles: `positions` ``(..., M, 3)`` metres, `units` ``(G, 3)`` unit vectors
    toward the sources, ``a = exp(2j pi f (p_m . u) / c)``.
    """
    p = np.asarray(positions, dtype=float)
    u = np.atleast_2d(np.asarray(units, dtype=float))
    f = np.asarray(freqs, dtype=float)
    tau = -np.einsum("...mk,gk->...gm", p, u) / v.positive("c", c)  # (..., G, M)
    return np.exp(-2j * np.pi * f[:, None, None] * tau[..., None, :, :])


def spherical_wave(
    positions: npt.ArrayLike,
    freqs: npt.ArrayLike,
    points: npt.ArrayLike,
    *,
    centre: npt.ArrayLike,
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Near-field steering from raw positions, batched: ``(..., F, G, M)``.

    ``a = (r_0 / r_m) exp(-2j pi f (r_m - r_0) / c)`` with ``r_m`` the distance from
    each point ``(G, 3)`` to microphone ``m`` of `positions` ``(..., M, 3)`` and
    ``r_0`` the distance to `centre` (the nominal array centroid). A point within
    :data:`CENTRE_TOL` of a microphone or of `centre` is refused: there the wave has
    no defined amplitude or direction.
    """
    pts = _points("points", points)
    p = np.asarray(positions, dtype=float)
    r = np.linalg.norm(pts[:, None, :] - p[..., None, :, :], axis=-1)  # (..., G, M)
    _refuse_centre(pts, points, np.asarray(centre, dtype=float), r)
    r0 = np.linalg.norm(pts - np.asarray(centre, dtype=float), axis=-1)[:, None]  # (G, 1)
    tau = (r - r0) / v.positive("c", c)
    f = np.asarray(freqs, dtype=float)
    gain = r0 / r
    return gain[..., None, :, :] * np.exp(-2j * np.pi * f[:, None, None] * tau[..., None, :, :])


def _refuse_centre(
    pts: np.ndarray, points: npt.ArrayLike, centre: np.ndarray, r: np.ndarray
) -> None:
    """Refuse points on a microphone (``r`` ``(..., G, M)``) or at the array centre."""
    if np.any(r < CENTRE_TOL):
        g, m = np.argwhere(r.reshape(-1, *r.shape[-2:]).min(axis=0) < CENTRE_TOL)[0]
        raise v.fail("points", points, f"point {g} sits on microphone {m}")
    r0 = np.linalg.norm(pts - centre, axis=-1)
    if np.any(r0 < CENTRE_TOL):
        g = int(np.argmax(r0 < CENTRE_TOL))
        raise v.fail(
            "points",
            points,
            f"point {g} sits at the array centre {tuple(np.round(centre, 6).tolist())}: "
            "near-field steering is relative to the distance from the centre, which is zero "
            "there, and no direction is defined; give a point away from the centre (or a "
            "far-field direction)",
        )


def steering_vector(
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    directions: npt.ArrayLike,
    *,
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Far-field steering vectors ``a[f, g, m] = exp(-2j pi f tau_m(u_g))``.

    Parameters
    ----------
    geometry : ArrayGeometry
    freqs : array_like [shape=(F,)]
        Frequencies in Hz.
    directions : array_like [shape=(G, 2) or (2,)]
        ``(azimuth, elevation)`` in degrees.

    Returns
    -------
    np.ndarray [shape=(F, G, M), complex128]

    >>> import arraykit as ak
    >>> a = steering_vector(ak.ArrayGeometry.linear(4, 0.05), [0.0, 1000.0], (90, 0))
    >>> a.shape, bool(abs(a[1, 0, 0] - 1.0) < 1e-12)
    ((2, 1, 4), True)
    """
    f = v.frequencies("freqs", freqs)
    u = unit_vectors(v.directions("directions", directions))
    return plane_wave(geometry.positions, f, u, c=c)


def near_field_delays(
    geometry: ArrayGeometry, points: npt.ArrayLike, *, c: float = SPEED_OF_SOUND
) -> tuple[np.ndarray, np.ndarray]:
    """Propagation from source points to microphones, relative to the array centroid.

    Returns
    -------
    tau : np.ndarray [shape=(G, M)]
        ``(r_m - r_0) / c`` in seconds.
    gain : np.ndarray [shape=(G, M)]
        ``r_0 / r_m``.
    """
    pts = _points("points", points)
    r = np.linalg.norm(pts[:, None, :] - geometry.positions[None, :, :], axis=-1)  # (G, M)
    _refuse_centre(pts, points, geometry.centroid, r)
    r0 = np.linalg.norm(pts - geometry.centroid, axis=-1)[:, None]
    return (r - r0) / v.positive("c", c), r0 / r


def steering_vector_near(
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    points: npt.ArrayLike,
    *,
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Near-field (spherical-wave) steering vectors toward points in metres, ``(F, G, M)``.

    ``a[f, g, m] = (r_0 / r_m) exp(-2j pi f (r_m - r_0) / c)`` with ``r_m`` the
    distance from point ``g`` to microphone ``m`` and ``r_0`` the distance to the
    array centroid. Far from the array this tends to :func:`steering_vector`. A point
    on a microphone or at the array centre is refused (no amplitude or direction there).
    """
    f = v.frequencies("freqs", freqs)
    return spherical_wave(geometry.positions, f, points, centre=geometry.centroid, c=c)


def _points(name: str, value: npt.ArrayLike) -> np.ndarray:
    pts = v.finite_array(name, value)
    if pts.ndim == 1:
        pts = pts[None, :]
    if pts.ndim != 2 or pts.shape[1] not in (2, 3):
        raise v.fail(name, value, "must be points in metres, shape (3,), (G, 3) or (G, 2)")
    if pts.shape[1] == 2:
        pts = np.concatenate([pts, np.zeros((pts.shape[0], 1))], axis=1)
    if np.abs(pts).max(initial=0.0) > MAX_RANGE:
        far = float(np.abs(pts).max())
        raise v.fail(
            name,
            value,
            f"a coordinate of {far:.3g} m is beyond {MAX_RANGE:.0e} m, where a point's wave is "
            "the plane wave: give the direction instead (far field)",
        )
    return pts
