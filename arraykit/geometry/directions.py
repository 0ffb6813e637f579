"""Directions and the speed of sound: ``(azimuth, elevation)`` degrees <-> unit vectors.

Azimuth is counter-clockwise from +x toward +y, elevation up from the xy-plane.
Shapes: ``G`` directions.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["SPEED_OF_SOUND", "directions_from_vectors", "unit_vectors"]

SPEED_OF_SOUND = 343.0
"""Speed of sound in air at about 20 degrees C, m/s (the default ``c`` everywhere)."""


def unit_vectors(directions: npt.ArrayLike) -> np.ndarray:
    """Unit vectors ``(G, 3)`` pointing toward ``(azimuth, elevation)`` degrees ``(G, 2)``.

    >>> unit_vectors([(90, 0)]).round(12).tolist()
    [[0.0, 1.0, 0.0]]
    """
    d = np.radians(np.atleast_2d(np.asarray(directions, dtype=float)))
    az, el = d[:, 0], d[:, 1]
    return np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=-1)


def directions_from_vectors(vectors: npt.ArrayLike) -> np.ndarray:
    """``(azimuth, elevation)`` degrees ``(G, 2)`` of vectors ``(G, 3)`` (any length > 0).

    Azimuth is wrapped to [0, 360); straight up or down reports azimuth 0.

    >>> directions_from_vectors([[0.0, -2.0, 0.0]]).tolist()
    [[270.0, 0.0]]
    """
    u = np.atleast_2d(np.asarray(vectors, dtype=float))
    horiz = np.hypot(u[:, 0], u[:, 1])
    az = np.degrees(np.arctan2(u[:, 1], u[:, 0]))
    az = np.where(horiz < 1e-12 * np.linalg.norm(u, axis=1), 0.0, az)
    el = np.degrees(np.arctan2(u[:, 2], horiz))
    az = np.mod(az, 360.0)
    az = np.where(az >= 360.0 - 1e-9, 0.0, az)
    return np.stack([az, el], axis=-1)
