"""Microphone-array geometry: positions, layout, and which directions a layout confuses.

Shapes: ``M`` microphones, ``G`` directions. Positions are ``(M, 3)`` metres in the
array frame; directions are ``(azimuth, elevation)`` in degrees, azimuth
counter-clockwise from +x toward +y, elevation up from the xy-plane.

The package, by what each file holds:

- :mod:`~arraykit.geometry.directions`: ``SPEED_OF_SOUND``, directions <-> unit vectors;
- :mod:`~arraykit.geometry.array`: :class:`ArrayGeometry` (positions, spacing,
  delays, transforms, factories);
- :mod:`~arraykit.geometry.ambiguity`: which directions a layout cannot tell apart
  (a linear array confuses the two sides of its line, a planar one above and below
  its plane, a volumetric one nothing);
- :mod:`~arraykit.geometry.files`: named arrays and TOML / acoular XML / ODAS files.

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

from arraykit.geometry.ambiguity import DELAY_TOL, FLATNESS_TOL, Layout
from arraykit.geometry.array import ArrayGeometry
from arraykit.geometry.directions import SPEED_OF_SOUND, directions_from_vectors, unit_vectors
from arraykit.geometry.files import (
    GeometryWarning,
    list_geometries,
    load_geometry,
    odas_channel_map,
    read_geometry_info,
    write_geometry,
)

__all__ = [
    "DELAY_TOL",
    "FLATNESS_TOL",
    "SPEED_OF_SOUND",
    "ArrayGeometry",
    "GeometryWarning",
    "Layout",
    "directions_from_vectors",
    "list_geometries",
    "load_geometry",
    "odas_channel_map",
    "read_geometry_info",
    "unit_vectors",
    "write_geometry",
]
