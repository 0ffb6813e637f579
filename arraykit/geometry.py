"""Microphone-array geometry: positions, layout, and which directions a layout confuses.

Shapes: ``M`` microphones, ``G`` directions. Positions are ``(M, 3)`` metres in the
array frame; directions are ``(azimuth, elevation)`` in degrees, azimuth
counter-clockwise from +x toward +y, elevation up from the xy-plane.

The ambiguity a layout cannot escape follows from the far-field delays
``tau_m(u) = -(p_m . u) / c``: two directions whose delays differ by the same amount
at every microphone sound identical to the array.

- A **linear** array only measures the angle to its axis: every direction on a cone
  around the axis gives the same delays, so it confuses the two sides of its line
  (front with back when it faces forward, left with right when turned sideways).
- A **planar** array resolves the full 360 degrees of azimuth in its plane but cannot
  tell a source above its plane from its mirror image below.
- A **volumetric** array has no such mirror.

Examples
--------
>>> import arraykit as ak
>>> line = ak.ArrayGeometry.linear(4, 0.04)
>>> line.layout, line.resolves((60, 0), (300, 0)), line.mirror((60, 0))
('linear', False, (300.0, 0.0))
>>> ring = ak.ArrayGeometry.circular(6, 0.0463)
>>> ring.layout, ring.resolves((60, 0), (300, 0)), ring.mirror((60, 30))
('planar', True, (60.0, -30.0))
"""

from __future__ import annotations

import math
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v
from arraykit._data import data_dir
from arraykit.errors import GeometryFileError

__all__ = [
    "SPEED_OF_SOUND",
    "ArrayGeometry",
    "directions_from_vectors",
    "list_geometries",
    "load_geometry",
    "unit_vectors",
]

SPEED_OF_SOUND = 343.0
"""Speed of sound in air at about 20 degrees C, m/s (the default ``c`` everywhere)."""

FLATNESS_TOL = 0.5e-3
"""RMS deviation (m) from a line or plane below which the microphones count as on it.

Real boards are flat and straight to a fraction of a millimetre; 0.5 mm RMS is far
below any acoustic wavelength of interest (6.9 mm at 50 kHz) yet well above board
tolerances, so a board that is flat to 0.1 mm is planar.
"""

DELAY_TOL = 1e-6
"""Delay tolerance (s) of :meth:`ArrayGeometry.resolves`: 1/20 of a sample at 48 kHz."""

Layout = Literal["linear", "planar", "volumetric"]


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
        dist = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)
        dist[np.diag_indices_from(dist)] = np.inf
        i, j = np.unravel_index(np.argmin(dist), dist.shape)
        if dist[i, j] < 1e-6:
            raise v.fail(
                "positions",
                positions,
                f"microphones {min(i, j)} and {max(i, j)} are at the same position {pos[i].tolist()}",
            )
        if not isinstance(name, str):
            raise v.fail("name", name, "must be a string")
        pos = pos.copy()
        pos.setflags(write=False)
        centred = pos - pos.mean(axis=0)
        _, s, vt = np.linalg.svd(centred, full_matrices=True)
        rms = s / math.sqrt(pos.shape[0])
        if rms[1] < FLATNESS_TOL:
            layout: Layout = "linear"
        elif rms[2] < FLATNESS_TOL:
            layout = "planar"
        else:
            layout = "volumetric"
        basis = vt.copy()
        # Make principal directions deterministic: the largest coordinate positive,
        # and for planes the normal pointing up (+z) where it can.
        for k in range(3):
            if basis[k, np.argmax(np.abs(basis[k]))] < 0:
                basis[k] = -basis[k]
        if basis[2, 2] < -1e-12:
            basis[2] = -basis[2]
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
        if self._layout == "volumetric":
            return np.full(d.shape, np.nan)
        u = unit_vectors(d)
        if self._layout == "planar":
            n = self._basis[2]
            m = u - 2.0 * (u @ n)[:, None] * n
        else:
            a = self._basis[0]
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

    @property
    def azimuth_coverage(self) -> int:
        """Degrees of azimuth the layout tells apart: 360, 180 or 0 (a vertical line)."""
        if self._layout == "volumetric":
            return 360
        if self._layout == "planar":
            return 360 if abs(self._basis[2][2]) > math.cos(math.radians(1.0)) else 180
        return 0 if abs(self._basis[0][2]) > math.cos(math.radians(1.0)) else 180

    @property
    def elevation_coverage(self) -> tuple[float, float]:
        """Range of elevations (degrees) the layout tells apart for a source in front of it.

        ``(0, 90)`` for a horizontal planar array (above and below are mirrors),
        ``(-90, 90)`` for volumetric arrays and vertical planes, and ``(0, 0)`` for a
        horizontal line, which measures only the angle to its axis.
        """
        if self._layout == "volumetric":
            return (-90.0, 90.0)
        if self._layout == "planar":
            return (0.0, 90.0) if self.azimuth_coverage == 360 else (-90.0, 90.0)
        return (-90.0, 90.0) if self.azimuth_coverage == 0 else (0.0, 0.0)

    def describe(self) -> str:
        """One plain sentence on what this layout can and cannot tell apart."""
        label = f"'{self._name}' " if self._name else ""
        head = f"{self._layout.capitalize()} array {label}of {self.n_mics} microphones (aperture {self.aperture * 1000:.0f} mm)"
        if self._layout == "volumetric":
            return f"{head}: no mirror ambiguity, it covers 360° of azimuth and elevations from -90° to 90°."
        if self._layout == "planar":
            if self.azimuth_coverage == 360:
                return (
                    f"{head}: it resolves the full 360° of azimuth but cannot tell above from below its plane "
                    "(a source at +30° elevation sounds like one at -30°), so elevation is covered only from 0° to 90°."
                )
            return (
                f"{head} standing upright: it cannot tell the two sides of its plane apart "
                "(front and back of the board), so it covers 180° of azimuth and elevations from -90° to 90°."
            )
        if self.azimuth_coverage == 0:
            return f"{head}, vertical: it measures only elevation; every azimuth sounds the same."
        ax = directions_from_vectors(self._basis[0][None, :])[0][0]
        mirror = self.mirror((ax + 60.0, 0.0))
        assert mirror is not None
        return (
            f"{head} along azimuth {ax:.0f}°: it cannot tell the two sides of its line apart "
            f"(a source at {(ax + 60) % 360:.0f}° sounds like one at {mirror[0]:.0f}°, above like below), "
            "so it covers 180° of azimuth and no elevation."
        )

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
    return v.integer(name, value, minimum)


def _direction(name: str, value: Any) -> tuple[float, float]:
    d = v.directions(name, value)
    if d.shape[0] != 1:
        raise v.fail(name, value, "must be one (azimuth, elevation) pair")
    return float(d[0, 0]), float(d[0, 1])


# ------------------------------------------------------------------ named arrays
def list_geometries() -> list[str]:
    """Names of the geometries shipped with arraykit, sorted."""
    return sorted(p.stem for p in data_dir("geometries").glob("*.toml"))


def load_geometry(name_or_path: str | Path | ArrayGeometry) -> ArrayGeometry:
    """A named geometry, a TOML geometry file, or an acoular XML microphone file.

    Parameters
    ----------
    name_or_path : str or Path or ArrayGeometry
        A name from :func:`list_geometries`, or the path of a ``.toml`` file
        (``positions = [[x, y, z], ...]`` in metres) or of an acoular ``.xml`` file
        (``<MicArray><pos Name=".." x=".." y=".." z=".."/>...</MicArray>``).
        An ArrayGeometry is returned as it is.

    >>> load_geometry("respeaker-usb-4mic").n_mics
    4
    """
    if isinstance(name_or_path, ArrayGeometry):
        return name_or_path
    if not isinstance(name_or_path, str | Path):
        raise v.fail("name_or_path", name_or_path, "must be a geometry name or a file path")
    path = Path(name_or_path)
    if path.suffix.lower() in (".toml", ".xml") or path.is_file():
        if not path.is_file():
            raise v.fail("name_or_path", str(name_or_path), "no such file")
        if path.suffix.lower() == ".xml":
            return _read_acoular_xml(path)
        return _read_toml(path)
    named = data_dir("geometries") / f"{name_or_path}.toml"
    if not named.is_file():
        raise v.fail(
            "name_or_path",
            str(name_or_path),
            f"unknown geometry; known names: {', '.join(list_geometries())} (or give a .toml / .xml path)",
        )
    return _read_toml(named)


def read_geometry_info(name_or_path: str | Path) -> dict[str, Any]:
    """The metadata of a named or TOML geometry (title, source, channel notes) as a dict."""
    path = Path(name_or_path)
    if not path.is_file():
        load_geometry(name_or_path)  # raises the helpful error for unknown names
        path = data_dir("geometries") / f"{name_or_path}.toml"
    if path.suffix.lower() == ".xml":
        return {"name": path.stem, "source": str(path)}
    with path.open("rb") as fh:
        doc = tomllib.load(fh)
    return {k: doc[k] for k in ("name", "title", "source", "channels") if k in doc}


def _read_toml(path: Path) -> ArrayGeometry:
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise GeometryFileError(f"geometry file {str(path)!r} is not valid TOML: {exc}") from None
    pos = doc.get("positions")
    if pos is None:
        raise GeometryFileError(f"geometry file {str(path)!r}: field 'positions' is missing")
    if not isinstance(pos, list) or not all(isinstance(row, list) for row in pos):
        raise GeometryFileError(
            f"geometry file {str(path)!r}: field 'positions' must be a list of [x, y, z] rows in metres, got {v.show(pos)}"
        )
    for k, row in enumerate(pos):
        if len(row) not in (2, 3) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in row
        ):
            raise GeometryFileError(
                f"geometry file {str(path)!r}: field 'positions[{k}]' must be 2 or 3 numbers (metres), got {row!r}"
            )
    if len({len(row) for row in pos}) > 1:
        raise GeometryFileError(
            f"geometry file {str(path)!r}: field 'positions' mixes rows of 2 and 3 numbers"
        )
    name = doc.get("name", path.stem)
    if not isinstance(name, str):
        raise GeometryFileError(
            f"geometry file {str(path)!r}: field 'name' must be a string, got {name!r}"
        )
    try:
        return ArrayGeometry(pos, name=name)
    except ValueError as exc:
        raise GeometryFileError(f"geometry file {str(path)!r}: field {exc}") from None


def _read_acoular_xml(path: Path) -> ArrayGeometry:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise GeometryFileError(f"geometry file {str(path)!r} is not valid XML: {exc}") from None
    if root.tag != "MicArray":
        raise GeometryFileError(
            f"geometry file {str(path)!r}: root element must be <MicArray>, got <{root.tag}>"
        )
    rows = []
    for k, pos in enumerate(root.iter("pos")):
        row = []
        for axis in ("x", "y", "z"):
            text = pos.get(axis)
            if text is None:
                raise GeometryFileError(
                    f"geometry file {str(path)!r}: field 'pos[{k}].{axis}' is missing"
                )
            try:
                row.append(float(text))
            except ValueError:
                raise GeometryFileError(
                    f"geometry file {str(path)!r}: field 'pos[{k}].{axis}'={text!r} is not a number"
                ) from None
        rows.append(row)
    if not rows:
        raise GeometryFileError(f"geometry file {str(path)!r}: no <pos> elements in <MicArray>")
    try:
        return ArrayGeometry(rows, name=root.get("name") or path.stem)
    except ValueError as exc:
        raise GeometryFileError(f"geometry file {str(path)!r}: field {exc}") from None
