"""The array itself: :class:`ArrayGeometry`, microphone positions with their facts.

Shapes: ``M`` microphones, ``G`` directions. Positions are ``(M, 3)`` metres in the
array frame; directions are ``(azimuth, elevation)`` in degrees. What a layout can
and cannot tell apart is computed in :mod:`arraykit.geometry.ambiguity`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v
from arraykit.geometry import ambiguity
from arraykit.geometry.ambiguity import DELAY_TOL, Layout
from arraykit.geometry.directions import SPEED_OF_SOUND, unit_vectors

__all__ = ["ArrayGeometry"]


class ArrayGeometry:
    """Positions of the microphones of an array, immutable.

    Parameters
    ----------
    positions : array_like [shape=(M, 3) or (M, 2)]
        Microphone positions in metres, one row per microphone in channel order of
        the geometry. Two columns mean z = 0.
    name : str
        A label (named geometries carry their file name).

    Raises
    ------
    InvalidArgumentError
        Fewer than 2 microphones, two microphones at the same place, non-finite
        coordinates or a wrong shape.
    """

    __slots__ = ("_basis", "_layout", "_name", "_pairs", "_positions", "_singular")

    _positions: np.ndarray
    _name: str
    _layout: Layout
    _basis: np.ndarray
    _singular: np.ndarray
    _pairs: np.ndarray

    def __init__(self, positions: npt.ArrayLike, name: str = "") -> None:
        pos = v.finite_array("positions", positions, ndim=2)
        if pos.shape[1] == 2:
            pos = np.concatenate([pos, np.zeros((pos.shape[0], 1))], axis=1)
        if pos.shape[1] != 3:
            raise v.fail(
                "positions", positions, f"must have shape (M, 3) or (M, 2), got {pos.shape}"
            )
        if pos.shape[0] < 2:
            raise v.fail(
                "positions", positions, f"an array needs at least 2 microphones, got {pos.shape[0]}"
            )
        _fits_pairs("positions", positions, pos.shape[0])
        with np.errstate(over="ignore"):
            dist = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)
        if not np.isfinite(dist).all():
            raise v.fail(
                "positions",
                positions,
                f"microphones {float(np.abs(pos).max()):.3g} m apart, beyond what double "
                "squares: are they in metres?",
            )
        dist[np.diag_indices_from(dist)] = np.inf
        i, j = np.unravel_index(np.argmin(dist), dist.shape)
        if dist[i, j] < 1e-6:
            apart = "" if dist[i, j] == 0 else f" ({dist[i, j]:.3g} m apart, under 1 µm)"
            raise v.fail(
                "positions",
                positions,
                f"microphones {min(i, j)} and {max(i, j)} are at the same position "
                f"{pos[i].tolist()}{apart}",
            )
        if not isinstance(name, str):
            raise v.fail("name", name, "must be a string")
        pos = pos.copy()
        pos.setflags(write=False)
        layout, basis, rms = ambiguity.classify(pos)
        basis.setflags(write=False)
        rms.setflags(write=False)
        pairs = dist[np.triu_indices(pos.shape[0], k=1)]  # distances of pairs i < j
        pairs.setflags(write=False)
        for attr, value in (
            ("_positions", pos),
            ("_name", name),
            ("_layout", layout),
            ("_basis", basis),
            ("_singular", rms),
            ("_pairs", pairs),
        ):
            object.__setattr__(self, attr, value)

    def __setattr__(self, attr: str, value: Any) -> None:
        raise AttributeError(f"ArrayGeometry is immutable; cannot set {attr!r}")

    def __reduce__(self) -> tuple[Any, tuple[np.ndarray, str]]:
        # pickle / copy rebuild from the positions (multiprocessing, joblib, deepcopy)
        return (type(self), (np.array(self._positions), self._name))

    # ------------------------------------------------------------------ basics
    @property
    def positions(self) -> np.ndarray:
        """Microphone positions ``(M, 3)`` in metres (read-only)."""
        return self._positions

    @property
    def n_mics(self) -> int:
        """Number of microphones ``M``."""
        return int(self._positions.shape[0])

    @property
    def name(self) -> str:
        return self._name

    @property
    def layout(self) -> Layout:
        """``"linear"``, ``"planar"`` or ``"volumetric"``, from the positions' spread."""
        return self._layout

    @property
    def axis(self) -> np.ndarray | None:
        """Unit vector along a linear array (None for other layouts)."""
        return self._basis[0].copy() if self._layout == "linear" else None

    @property
    def normal(self) -> np.ndarray | None:
        """Unit normal of a planar array's plane, pointing up where it can (None otherwise)."""
        return self._basis[2].copy() if self._layout == "planar" else None

    @property
    def centroid(self) -> np.ndarray:
        """Mean microphone position ``(3,)`` in metres."""
        return self._positions.mean(axis=0)

    def __len__(self) -> int:
        return self.n_mics

    def __repr__(self) -> str:
        label = f"{self._name!r}, " if self._name else ""
        return f"ArrayGeometry({label}n_mics={self.n_mics}, layout={self._layout!r}, aperture={self.aperture:.4f} m)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ArrayGeometry):
            return NotImplemented
        return self._name == other._name and np.array_equal(self._positions, other._positions)

    def __hash__(self) -> int:
        return hash((self._name, self._positions.tobytes()))

    # ----------------------------------------------------------- spacing facts
    def _pair_distances(self) -> np.ndarray:
        return self._pairs

    @property
    def aperture(self) -> float:
        """Largest distance between two microphones, m."""
        return float(self._pair_distances().max())

    @property
    def min_spacing(self) -> float:
        """Smallest distance between two microphones, m."""
        return float(self._pair_distances().min())

    @property
    def max_spacing(self) -> float:
        """Largest distance between two microphones, m (the aperture)."""
        return self.aperture

    def aliasing_frequency(self, c: float = SPEED_OF_SOUND) -> float:
        """Frequency above which the array aliases spatially: ``c / (2 d)``, Hz.

        ``d`` is the smallest microphone spacing, the spacing of neighbours on a
        uniform line, ring or grid. Above it, grating lobes can enter visible space.
        """
        return v.positive("c", c) / (2.0 * self.min_spacing)

    def max_delay(self, c: float = SPEED_OF_SOUND) -> float:
        """Largest physically possible delay between two microphones, ``aperture / c``, s."""
        return self.aperture / v.positive("c", c)

    # ------------------------------------------------------------------ delays
    def delays(self, directions: npt.ArrayLike, c: float = SPEED_OF_SOUND) -> np.ndarray:
        """Far-field delays ``tau[g, m] = -(p_m . u_g) / c`` in seconds, ``(G, M)``.

        The microphone nearer the source hears it first (a smaller delay).
        """
        u = unit_vectors(v.directions("directions", directions))
        return -(u @ self._positions.T) / v.positive("c", c)

    def resolves(
        self,
        dir_a: Sequence[float],
        dir_b: Sequence[float],
        *,
        tol: float = DELAY_TOL,
        c: float = SPEED_OF_SOUND,
    ) -> bool:
        """Whether the array can tell direction `dir_a` from `dir_b`.

        False exactly when the two far-field directions give the same
        inter-microphone delays, to within `tol` seconds on every pair.

        >>> line = ArrayGeometry.linear(4, 0.04)
        >>> line.resolves((60, 0), (300, 0)), line.resolves((60, 0), (120, 0))
        (False, True)
        """
        tau = self.delays(np.array([_direction("dir_a", dir_a), _direction("dir_b", dir_b)]), c)
        diff = tau[0] - tau[1]
        return bool(diff.max() - diff.min() > v.positive("tol", tol))

    def mirror(self, direction: Sequence[float]) -> tuple[float, float] | None:
        """The direction this layout confuses with `direction`, or None if there is none.

        - linear: the mirror across the array axis, at the same elevation (for an
          array along x, azimuth ``az`` becomes ``-az``); a vertical line array
          cannot resolve azimuth at all and reports ``az + 180``;
        - planar: the mirror image through the array's plane (for a horizontal
          array, elevation ``el`` becomes ``-el``);
        - volumetric: None.

        A direction on the axis (or in the plane) is its own mirror.
        """
        az, el = _direction("direction", direction)
        out = self._mirrors(np.array([[az, el]]))[0]
        return None if np.isnan(out[0]) else (float(out[0]), float(out[1]))

    def mirrors(self, directions: npt.ArrayLike) -> np.ndarray:
        """:meth:`mirror` of directions ``(K, 2)`` degrees at once, ``(K, 2)``.

        Rows are NaN where there is no mirror (a volumetric array).

        >>> ArrayGeometry.linear(4, 0.04).mirrors([(60, 0), (100, 10)]).tolist()
        [[300.0, 0.0], [260.0, 10.0]]
        """
        return self._mirrors(v.directions("directions", directions))

    def _mirrors(self, d: np.ndarray) -> np.ndarray:
        return ambiguity.mirrors(self._layout, self._basis, d)

    @property
    def azimuth_coverage(self) -> int:
        """Degrees of azimuth the layout tells apart: 360, 180 or 0 (a vertical line)."""
        return ambiguity.azimuth_coverage(self._layout, self._basis)

    @property
    def elevation_coverage(self) -> tuple[float, float]:
        """Range of elevations (degrees) the layout tells apart for a source in front of it.

        ``(0, 90)`` for a horizontal planar array (above and below are mirrors),
        ``(-90, 90)`` for volumetric arrays and vertical planes, and ``(0, 0)`` for a
        horizontal line, which measures only the angle to its axis.
        """
        return ambiguity.elevation_coverage(self._layout, self._basis)

    def describe(self) -> str:
        """One plain sentence on what this layout can and cannot tell apart."""
        label = f"'{self._name}' " if self._name else ""
        head = (
            f"{self._layout.capitalize()} array {label}of {self.n_mics} microphones "
            f"(aperture {self.aperture * 1000:.0f} mm)"
        )
        return ambiguity.describe(self._layout, self._basis, head)

    # -------------------------------------------------------------- transforms
    def rotated(self, yaw_deg: float) -> ArrayGeometry:
        """The same array turned counter-clockwise by `yaw_deg` about +z (the centroid stays)."""
        yaw = math.radians(float(v.finite_array("yaw_deg", yaw_deg, ndim=0)))
        rot = np.array(
            [
                [math.cos(yaw), -math.sin(yaw), 0.0],
                [math.sin(yaw), math.cos(yaw), 0.0],
                [0.0, 0.0, 1.0],
            ]
        )
        c = self.centroid
        return ArrayGeometry((self._positions - c) @ rot.T + c, name=self._name)

    def translated(self, offset: npt.ArrayLike) -> ArrayGeometry:
        """The same array moved by `offset` ``(3,)`` (or ``(2,)``) metres."""
        off = v.finite_array("offset", offset, ndim=1)
        if off.shape[0] == 2:
            off = np.append(off, 0.0)
        if off.shape != (3,):
            raise v.fail("offset", offset, "must have 2 or 3 coordinates")
        return ArrayGeometry(self._positions + off, name=self._name)

    def centered(self) -> ArrayGeometry:
        """The same array with its centroid at the origin."""
        return self.translated(-self.centroid)

    def subarray(self, indices: Sequence[int]) -> ArrayGeometry:
        """The microphones `indices` (in that order) as an array of their own."""
        idx = np.asarray(indices)
        if idx.ndim != 1 or idx.dtype.kind not in "iu" or idx.size < 2:
            raise v.fail("indices", indices, "must be a list of at least 2 microphone indices")
        if idx.min() < -self.n_mics or idx.max() >= self.n_mics:
            raise v.fail("indices", indices, f"must lie in 0..{self.n_mics - 1}")
        return ArrayGeometry(self._positions[idx], name=f"{self._name}[sub]" if self._name else "")

    def as_dict(self) -> dict[str, Any]:
        """Facts about the array as plain Python values (what ``arraykit geometry --json`` prints)."""
        return {
            "name": self._name,
            "n_mics": self.n_mics,
            "layout": self._layout,
            "positions": self._positions.tolist(),
            "aperture_m": self.aperture,
            "min_spacing_m": self.min_spacing,
            "aliasing_frequency_hz": self.aliasing_frequency(),
            "azimuth_coverage_deg": self.azimuth_coverage,
            "elevation_coverage_deg": list(self.elevation_coverage),
            "description": self.describe(),
        }

    # --------------------------------------------------------------- factories
    @classmethod
    def linear(cls, n: int, spacing: float, *, name: str = "") -> ArrayGeometry:
        """`n` microphones along +x, `spacing` metres apart, centred on the origin."""
        n = _count("n", n, 2)
        d = v.positive("spacing", spacing)
        x = (np.arange(n) - (n - 1) / 2.0) * d
        return cls(np.stack([x, np.zeros(n), np.zeros(n)], axis=1), name=name)

    @classmethod
    def circular(
        cls, n: int, radius: float, center_mic: bool = False, *, name: str = ""
    ) -> ArrayGeometry:
        """`n` microphones on a circle in the xy-plane, mic 0 on +x, counter-clockwise.

        With `center_mic` a microphone at the centre is appended as the last one.
        """
        n = _count("n", n, 2 if center_mic else 3)
        r = v.positive("radius", radius)
        ang = 2.0 * np.pi * np.arange(n) / n
        pos = np.stack([r * np.cos(ang), r * np.sin(ang), np.zeros(n)], axis=1)
        if center_mic:
            pos = np.vstack([pos, np.zeros(3)])
        return cls(pos, name=name)

    @classmethod
    def rectangular(cls, nx: int, ny: int, spacing: float, *, name: str = "") -> ArrayGeometry:
        """An `nx` by `ny` grid in the xy-plane, centred; microphone ``iy * nx + ix``."""
        nx = _count("nx", nx, 1)
        ny = _count("ny", ny, 1)
        if nx * ny < 2:
            raise v.fail("nx", nx, f"a grid of {nx} x {ny} has fewer than 2 microphones")
        d = v.positive("spacing", spacing)
        gx, gy = np.meshgrid(
            (np.arange(nx) - (nx - 1) / 2.0) * d, (np.arange(ny) - (ny - 1) / 2.0) * d
        )
        return cls(np.stack([gx.ravel(), gy.ravel(), np.zeros(nx * ny)], axis=1), name=name)

    @classmethod
    def cross(
        cls, n_per_arm: int, spacing: float, center_mic: bool = True, *, name: str = ""
    ) -> ArrayGeometry:
        """A plus-shaped array: arms on +x, +y, -x, -y with `n_per_arm` microphones each.

        Microphones run outward along each arm in that order, `spacing` metres
        apart starting `spacing` from the centre; with `center_mic` a microphone at
        the centre is appended as the last one.
        """
        n = _count("n_per_arm", n_per_arm, 1)
        d = v.positive("spacing", spacing)
        steps = np.arange(1, n + 1) * d
        arms = []
        for ux, uy in ((1, 0), (0, 1), (-1, 0), (0, -1)):
            arms.append(np.stack([ux * steps, uy * steps, np.zeros(n)], axis=1))
        pos = np.vstack(arms)
        if center_mic:
            pos = np.vstack([pos, np.zeros(3)])
        return cls(pos, name=name)


def _count(name: str, value: Any, minimum: int) -> int:
    n = v.integer(name, value, minimum)
    _fits_pairs(name, value, n)
    return n


def _fits_pairs(name: str, value: Any, n_mics: int) -> None:
    """Refuse, before allocating, an array whose pairwise distances (``(M, M, 3)`` and
    ``(M, M)`` doubles, for the coincidence check) cannot fit in memory."""
    what = f"the distances between {n_mics} microphones"
    v.fits(name, value, 32.0 * n_mics * n_mics, what, "arrays have tens to hundreds of them")


def _direction(name: str, value: Any) -> tuple[float, float]:
    d = v.directions(name, value)
    if d.shape[0] != 1:
        raise v.fail(name, value, "must be one (azimuth, elevation) pair")
    return float(d[0, 0]), float(d[0, 1])
