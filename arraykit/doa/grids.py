"""Search grids for direction finding: rings, spheres, layout-restricted grids, points.

Shapes: ``G`` grid directions ``(G, 2)`` as ``(azimuth, elevation)`` degrees, or
``G`` candidate points ``(G, 3)`` in metres (near field, array frame).

- :func:`azimuth_grid`: a ring of azimuths at one elevation (1 degree by default).
- :func:`sphere_grid`: a Fibonacci sphere (or hemisphere), nearly uniform in solid
  angle, with a given mean spacing in degrees.
- :func:`layout_grid`: the grid a layout can tell apart: a linear array searches
  the half-plane on one side of its axis (the other half is its mirror), a planar
  array the ring in its plane or the hemisphere above it.
- :func:`local_grid`: a small patch around a direction, for coarse-to-fine refinement.
- :func:`plane_points` / :func:`box_points`: candidate source positions in metres for
  near-field (spherical-wave) search.

>>> azimuth_grid(90.0).tolist()
[[0.0, 0.0], [90.0, 0.0], [180.0, 0.0], [270.0, 0.0]]
>>> sphere_grid(10.0, hemisphere="upper").shape
(206, 2)
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

from arraykit import _cache
from arraykit import _validate as v
from arraykit.geometry import ArrayGeometry, directions_from_vectors

__all__ = [
    "GridKind",
    "angular_distance",
    "azimuth_grid",
    "box_points",
    "layout_grid",
    "local_grid",
    "pairwise_distances",
    "plane_points",
    "sphere_grid",
]

GridKind = Literal["azimuth", "sphere"]


def azimuth_grid(
    resolution: float = 1.0,
    *,
    elevation: float = 0.0,
    start: float = 0.0,
    stop: float = 360.0,
) -> np.ndarray:
    """Azimuths from `start` to `stop` degrees in steps of `resolution`, ``(G, 2)``.

    A full circle (``stop - start == 360``) leaves out the repeated end point;
    a partial arc includes both ends.
    """
    res = v.positive("resolution", resolution)
    el = float(v.finite_array("elevation", elevation, ndim=0))
    if abs(el) > 90:
        raise v.fail("elevation", elevation, "must lie in [-90, 90] degrees")
    span = float(stop) - float(start)
    if not 0 < span <= 360:
        raise v.fail("stop", stop, f"must exceed start={start} by at most 360 degrees")
    full = abs(span - 360.0) < 1e-9
    _fits(resolution, 2 * 8.0 * span / res, f"{span / res:.3g} directions")
    n = round(span / res)
    n = max(n, 1)
    az = start + np.arange(n if full else n + 1) * (span / n)
    az = np.mod(az, 360.0)
    return np.stack([az, np.full_like(az, el)], axis=1)


def sphere_grid(
    resolution: float = 2.0,
    *,
    hemisphere: Literal["full", "upper"] = "full",
) -> np.ndarray:
    """A Fibonacci sphere of directions about `resolution` degrees apart, ``(G, 2)``.

    Each point covers about ``resolution**2`` square degrees, so the full sphere has
    ``41253 / resolution**2`` points. ``hemisphere="upper"`` keeps elevations >= 0
    (what a horizontal planar array can tell apart).
    """
    res = v.positive("resolution", resolution)
    v.choice("hemisphere", hemisphere, ("full", "upper"))
    area = 4 * math.pi if hemisphere == "full" else 2 * math.pi
    count = area / max(math.radians(res) ** 2, 1e-300)
    _fits(resolution, 8 * 8.0 * count, f"{count:.3g} directions")  # u, its parts, the result
    n = max(8, round(count))
    i = np.arange(n) + 0.5
    if hemisphere == "full":
        z = 1.0 - 2.0 * i / n
    else:
        z = 1.0 - i / n  # (0, 1]: elevations from ~0 to ~90
    golden = math.pi * (3.0 - math.sqrt(5.0))
    phi = golden * np.arange(n)
    rho = np.sqrt(np.clip(1.0 - z * z, 0.0, None))
    u = np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)
    return directions_from_vectors(u)


def layout_grid(
    geometry: ArrayGeometry,
    kind: GridKind = "azimuth",
    resolution: float = 1.0,
) -> np.ndarray:
    """The grid a layout can resolve, ``(G, 2)``.

    - ``"azimuth"``: a horizontal ring. A linear array gets the half-plane on the
      counter-clockwise side of its axis (``axis_az .. axis_az + 180``).
    - ``"sphere"``: a planar horizontal array gets the upper hemisphere; a linear
      array the half-plane ring (it has no elevation resolution of its own);
      volumetric arrays the full sphere.
    """
    name = v.choice("kind", kind, ("azimuth", "sphere"))
    return _layout_grid(geometry, name, v.positive("resolution", resolution))


@_cache.memoize("doa.grids", 64)
def _layout_grid(geometry: ArrayGeometry, kind: str, resolution: float) -> np.ndarray:
    grid = _make_layout_grid(geometry, kind, resolution)
    grid.setflags(write=False)  # shared by every search with these settings
    return grid


def _make_layout_grid(geometry: ArrayGeometry, kind: str, resolution: float) -> np.ndarray:
    if geometry.layout == "linear":
        axis = geometry.axis
        assert axis is not None
        if math.hypot(axis[0], axis[1]) < 1e-9:  # vertical line: elevation only
            el = np.arange(-90.0, 90.0 + 1e-9, v.positive("resolution", resolution))
            return np.stack([np.zeros_like(el), el], axis=1)
        ax = math.degrees(math.atan2(axis[1], axis[0])) % 360.0
        return azimuth_grid(resolution, start=ax, stop=ax + 180.0)
    if kind == "azimuth":
        return azimuth_grid(resolution)
    if geometry.layout == "planar" and geometry.azimuth_coverage == 360:
        return sphere_grid(resolution, hemisphere="upper")
    return sphere_grid(resolution)


def local_grid(center: npt.ArrayLike, half_width: float, step: float, *, ring: bool) -> np.ndarray:
    """Directions around `center` within `half_width` degrees at `step`, ``(G, 2)``.

    ``ring=True``: azimuth only (elevation fixed); otherwise an azimuth × elevation
    patch, whose azimuth steps widen as ``1 / cos(elevation)`` so the spacing on the
    sphere stays `step`.
    """
    az0, el0 = np.asarray(center, dtype=float)
    side = 2 * half_width / step + 1
    points = side if ring else side * side
    _fits(step, 6 * 8.0 * points, f"{points:.3g} directions within {half_width:g} degrees")
    n = math.ceil(half_width / step)
    offs = np.arange(-n, n + 1) * step
    if ring:
        return np.stack([np.mod(az0 + offs, 360.0), np.full(offs.shape, el0)], axis=1)
    el = np.clip(el0 + offs, -90.0, 90.0)
    scale = 1.0 / max(math.cos(math.radians(min(abs(el0) + half_width, 89.0))), 1e-3)
    az = az0 + offs * min(scale, 180.0 / max(half_width, 1e-9))
    A, E = np.meshgrid(az, el, indexing="ij")
    return np.unique(np.stack([np.mod(A.ravel(), 360.0), E.ravel()], axis=1), axis=0)


def plane_points(
    x: tuple[float, float],
    y: tuple[float, float],
    step: float,
    *,
    z: float = 0.0,
) -> np.ndarray:
    """Candidate positions on a horizontal rectangle ``x × y`` at spacing `step`, ``(G, 3)`` m."""
    step = v.positive("step", step)
    xs = np.arange(x[0], x[1] + step / 2, step)
    ys = np.arange(y[0], y[1] + step / 2, step)
    X, Y = np.meshgrid(xs, ys, indexing="ij")
    return np.stack([X.ravel(), Y.ravel(), np.full(X.size, float(z))], axis=1)


def box_points(
    x: tuple[float, float],
    y: tuple[float, float],
    z: tuple[float, float],
    step: float,
) -> np.ndarray:
    """Candidate positions in a box at spacing `step`, ``(G, 3)`` metres."""
    step = v.positive("step", step)
    axes = [np.arange(a[0], a[1] + step / 2, step) for a in (x, y, z)]
    grid = np.meshgrid(*axes, indexing="ij")
    return np.stack([g.ravel() for g in grid], axis=1)


def angular_distance(a: npt.ArrayLike, b: npt.ArrayLike) -> np.ndarray:
    """Great-circle angle in degrees between directions `a` ``(..., 2)`` and `b` ``(..., 2)``.

    >>> round(float(angular_distance([10.0, 0.0], [350.0, 0.0])), 9)
    20.0
    """
    ra = np.radians(np.asarray(a, dtype=float))
    rb = np.radians(np.asarray(b, dtype=float))
    cos = np.sin(ra[..., 1]) * np.sin(rb[..., 1]) + np.cos(ra[..., 1]) * np.cos(
        rb[..., 1]
    ) * np.cos(ra[..., 0] - rb[..., 0])
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


_DISTANCES: _cache.Cache[np.ndarray] = _cache.named("doa.grid_distances", 16)


def pairwise_distances(directions: np.ndarray) -> np.ndarray:
    """``(G, G)`` :func:`angular_distance` between every two of a grid's `directions`
    ``(G, 2)``, kept per grid (read-only; for rings and arcs, a few hundred points:
    the matrix takes ``8 G^2`` bytes)."""
    d = np.ascontiguousarray(directions, dtype=float)
    key = d.tobytes()
    kept = _DISTANCES.get(key)
    if kept is None:
        kept = angular_distance(d[:, None, :], d[None, :, :])
        kept.setflags(write=False)
        _DISTANCES.put(key, kept)
    return kept


def _fits(resolution: float, nbytes: float, what: str) -> None:
    """A grid at `resolution` that cannot fit in memory is refused before it is made."""
    v.fits("resolution", resolution, nbytes, what, "use a coarser resolution")
