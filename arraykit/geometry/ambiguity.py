"""Which directions a layout cannot tell apart: layout, mirror images, coverage.

The ambiguity a layout cannot escape follows from the far-field delays
``tau_m(u) = -(p_m . u) / c``: two directions whose delays differ by the same amount
at every microphone sound identical to the array.

- A **linear** array only measures the angle to its axis: every direction on a cone
  around the axis gives the same delays, so it confuses the two sides of its line
  (front with back when it faces forward, left with right when turned sideways).
- A **planar** array resolves the full 360 degrees of azimuth in its plane but cannot
  tell a source above its plane from its mirror image below.
- A **volumetric** array has no such mirror.

These functions work on the positions' principal axes (``basis``, rows: the
directions of largest to smallest spread); :class:`~arraykit.geometry.ArrayGeometry`
calls them with its own. Shapes: ``M`` microphones, ``K`` directions.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from arraykit.geometry.directions import directions_from_vectors, unit_vectors

__all__ = [
    "DELAY_TOL",
    "FLATNESS_TOL",
    "Layout",
    "azimuth_coverage",
    "classify",
    "describe",
    "elevation_coverage",
    "mirrors",
]

FLATNESS_TOL = 0.5e-3
"""RMS deviation (m) from a line or plane below which the microphones count as on it.

Real boards are flat and straight to a fraction of a millimetre; 0.5 mm RMS is far
below any acoustic wavelength of interest (6.9 mm at 50 kHz) yet well above board
tolerances, so a board that is flat to 0.1 mm is planar.
"""

DELAY_TOL = 1e-6
"""Delay tolerance (s) of :meth:`ArrayGeometry.resolves`: 1/20 of a sample at 48 kHz."""

Layout = Literal["linear", "planar", "volumetric"]


def classify(positions: np.ndarray) -> tuple[Layout, np.ndarray, np.ndarray]:
    """``(layout, basis (3, 3), rms spread (3,))`` of positions ``(M, 3)``.

    The basis rows are the principal directions, made deterministic: the largest
    coordinate positive, and for planes the normal pointing up (+z) where it can.
    """
    centred = positions - positions.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=True)
    rms = s / math.sqrt(positions.shape[0])
    layout: Layout
    if rms[1] < FLATNESS_TOL:
        layout = "linear"
    elif rms[2] < FLATNESS_TOL:
        layout = "planar"
    else:
        layout = "volumetric"
    basis = vt.copy()
    for k in range(3):
        if basis[k, np.argmax(np.abs(basis[k]))] < 0:
            basis[k] = -basis[k]
    if basis[2, 2] < -1e-12:
        basis[2] = -basis[2]
    return layout, basis, rms


def mirrors(layout: Layout, basis: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The directions ``(K, 2)`` a layout confuses with `d` ``(K, 2)`` (NaN: none)."""
    if layout == "volumetric":
        return np.full(d.shape, np.nan)
    u = unit_vectors(d)
    if layout == "planar":
        n = basis[2]
        m = u - 2.0 * (u @ n)[:, None] * n
    else:
        a = basis[0]
        a_h = np.array([a[0], a[1], 0.0])
        if np.linalg.norm(a_h) < 1e-9:  # vertical line: every azimuth looks alike
            return np.stack([(d[:, 0] + 180.0) % 360.0, d[:, 1]], axis=1)
        a_h /= np.linalg.norm(a_h)
        u_h = u * np.array([1.0, 1.0, 0.0])
        m = 2.0 * (u_h @ a_h)[:, None] * a_h - u_h
        m[:, 2] = u[:, 2]
    out = directions_from_vectors(m)
    pole = np.abs(out[:, 1]) > 90.0 - 1e-9  # straight up or down: keep the azimuth
    out[pole, 0] = d[pole, 0] % 360.0
    return np.stack([np.round(out[:, 0], 9) % 360.0, np.round(out[:, 1], 9)], axis=1)


def azimuth_coverage(layout: Layout, basis: np.ndarray) -> int:
    """Degrees of azimuth the layout tells apart: 360, 180 or 0 (a vertical line)."""
    if layout == "volumetric":
        return 360
    if layout == "planar":
        return 360 if abs(basis[2][2]) > math.cos(math.radians(1.0)) else 180
    return 0 if abs(basis[0][2]) > math.cos(math.radians(1.0)) else 180


def elevation_coverage(layout: Layout, basis: np.ndarray) -> tuple[float, float]:
    """Range of elevations (degrees) the layout tells apart for a source in front of it."""
    if layout == "volumetric":
        return (-90.0, 90.0)
    cover = azimuth_coverage(layout, basis)
    if layout == "planar":
        return (0.0, 90.0) if cover == 360 else (-90.0, 90.0)
    return (-90.0, 90.0) if cover == 0 else (0.0, 0.0)


def describe(layout: Layout, basis: np.ndarray, head: str) -> str:
    """One plain sentence on what the layout can and cannot tell apart (after `head`)."""
    if layout == "volumetric":
        return f"{head}: no mirror ambiguity, it covers 360° of azimuth and elevations from -90° to 90°."
    cover = azimuth_coverage(layout, basis)
    if layout == "planar":
        if cover == 360:
            return (
                f"{head}: it resolves the full 360° of azimuth but cannot tell above from below its plane "
                "(a source at +30° elevation sounds like one at -30°), so elevation is covered only from 0° to 90°."
            )
        return (
            f"{head} standing upright: it cannot tell the two sides of its plane apart "
            "(front and back of the board), so it covers 180° of azimuth and elevations from -90° to 90°."
        )
    if cover == 0:
        return f"{head}, vertical: it measures only elevation; every azimuth sounds the same."
    ax = directions_from_vectors(basis[0][None, :])[0][0]
    mirror = mirrors(layout, basis, np.array([[ax + 60.0, 0.0]]))[0]
    return (
        f"{head} along azimuth {ax:.0f}°: it cannot tell the two sides of its line apart "
        f"(a source at {(ax + 60) % 360:.0f}° sounds like one at {mirror[0]:.0f}°, above like below), "
        "so it covers 180° of azimuth and no elevation."
    )
