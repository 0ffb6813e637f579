"""Geometry files: the named arrays, TOML, acoular XML and ODAS ``.cfg`` (read and write).

- **TOML** (arraykit's own): ``positions = [[x, y, z], ...]`` with optional ``units``
  (``"m"``, the default, ``"cm"`` or ``"mm"``) and the descriptive keys ``name``,
  ``title``, ``source``, ``channels``, ``notes``. Any other key is refused (a typo
  such as ``unit = "mm"`` would otherwise load millimetres as metres).
- **acoular XML**: ``<MicArray name=".."><pos Name=".." x=".." y=".." z=".."/>...``,
  read and written (:func:`write_geometry`), so acoular users round-trip arrays.
- **ODAS** ``.cfg`` (libconfig): the microphone positions ``general.mics[k].mu`` and,
  for a channel map, ``mapping.map`` (:func:`odas_channel_map`).

A file whose array is wider than :data:`PLAUSIBLE_APERTURE` loads with a
:class:`GeometryWarning` (millimetres read as metres make a 100 m "array").
"""

from __future__ import annotations

import math
import re
import tomllib
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from arraykit import _validate as v
from arraykit._data import data_dir
from arraykit.errors import GeometryFileError
from arraykit.geometry.array import ArrayGeometry

__all__ = [
    "PLAUSIBLE_APERTURE",
    "TOML_KEYS",
    "UNITS",
    "GeometryWarning",
    "list_geometries",
    "load_geometry",
    "odas_channel_map",
    "read_geometry_info",
    "write_geometry",
]

UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}
"""The ``units`` a TOML geometry may give its positions in, and their size in metres."""

TOML_KEYS = frozenset({"name", "title", "source", "channels", "notes", "units", "positions"})
"""The keys a TOML geometry may have."""

PLAUSIBLE_APERTURE = 5.0
"""Apertures (m) above which a geometry file draws a :class:`GeometryWarning`.

The largest microphone arrays in use (acoustic-camera wheels and spirals, ceiling
arrays) span about 2-4 m; positions in millimetres or centimetres read as metres give
100-1000 times the real size, far above this.
"""


class GeometryWarning(UserWarning):
    """A geometry file loaded, but something in it is implausible (say, its size)."""


def list_geometries() -> list[str]:
    """Names of the geometries shipped with arraykit, sorted."""
    return sorted(p.stem for p in data_dir("geometries").glob("*.toml"))


FILE_SUFFIXES = (".toml", ".xml", ".cfg")  # what load_geometry reads: TOML, acoular, ODAS


def load_geometry(name_or_path: str | Path | ArrayGeometry) -> ArrayGeometry:
    """A named geometry, or a TOML, acoular XML or ODAS ``.cfg`` geometry file.

    Parameters
    ----------
    name_or_path : str or Path or ArrayGeometry
        A name from :func:`list_geometries`, or the path of a ``.toml`` file
        (``positions = [[x, y, z], ...]``, metres unless ``units`` says ``"cm"`` or
        ``"mm"``), of an acoular ``.xml`` file
        (``<MicArray><pos Name=".." x=".." y=".." z=".."/>...</MicArray>``) or of an
        ODAS ``.cfg`` file (``mics = ({ mu = (x, y, z); ... }, ...)``).
        An ArrayGeometry is returned as it is.

    >>> load_geometry("respeaker-usb-4mic").n_mics
    4
    """
    if isinstance(name_or_path, ArrayGeometry):
        return name_or_path
    if not isinstance(name_or_path, str | Path):
        raise v.fail("name_or_path", name_or_path, "must be a geometry name or a file path")
    path = Path(name_or_path)
    suffix = path.suffix.lower()
    if suffix in FILE_SUFFIXES or path.is_file():
        if not path.is_file():
            raise v.fail("name_or_path", str(name_or_path), "no such file")
        if suffix == ".xml":
            g = _read_acoular_xml(path)
        elif suffix == ".cfg":
            g = _read_odas_cfg(path)
        else:
            g = _read_toml(path)
        _warn_if_implausible(g, path)
        return g
    named = data_dir("geometries") / f"{name_or_path}.toml"
    if not named.is_file():
        raise v.fail(
            "name_or_path",
            str(name_or_path),
            f"unknown geometry; known names: {', '.join(list_geometries())} "
            "(or give a .toml / .xml / .cfg path)",
        )
    return _read_toml(named)


def _warn_if_implausible(g: ArrayGeometry, path: Path) -> None:
    if g.aperture > PLAUSIBLE_APERTURE:
        fix = {  # what each format offers: only TOML has units
            ".cfg": "ODAS reads mu in metres: divide them by 1000 (mm) or 100 (cm)",
            ".xml": "acoular reads metres: divide them by 1000 (mm) or 100 (cm)",
        }.get(path.suffix.lower(), 'TOML: units = "mm"')
        warnings.warn(
            f"geometry file {str(path)!r}: the array is {g.aperture:.3g} m across, more than "
            f"any microphone array ({PLAUSIBLE_APERTURE:g} m); are the positions in mm or "
            f"cm? ({fix})",
            GeometryWarning,
            stacklevel=3,
        )


def read_geometry_info(name_or_path: str | Path) -> dict[str, Any]:
    """The metadata of a named or TOML geometry (title, source, channel notes) as a dict."""
    path = Path(name_or_path)
    if not path.is_file():
        load_geometry(name_or_path)  # raises the helpful error for unknown names
        path = data_dir("geometries") / f"{name_or_path}.toml"
    if path.suffix.lower() in (".xml", ".cfg"):
        return {"name": path.stem, "source": str(path)}
    doc = _toml_doc(path)
    return {k: doc[k] for k in ("name", "title", "source", "channels") if k in doc}


def _bad(path: Path, why: str) -> GeometryFileError:
    return GeometryFileError(f"geometry file {str(path)!r}: {why}")


# ---------------------------------------------------------------------- TOML
def _toml_doc(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a BOM (Notepad) dropped
    except UnicodeDecodeError as exc:
        raise _bad(path, f"is not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        what = (
            ""
            if path.suffix.lower() == ".toml"
            else (
                f" (read as TOML: arraykit reads {', '.join(FILE_SUFFIXES)} geometry files, "
                f"not {path.suffix or 'files without a suffix'})"
            )
        )
        raise GeometryFileError(
            f"geometry file {str(path)!r} is not valid TOML: {exc}{what}"
        ) from None


def _read_toml(path: Path) -> ArrayGeometry:
    doc = _toml_doc(path)
    unknown = sorted(set(doc) - TOML_KEYS)
    if unknown:
        raise _bad(
            path,
            f"unknown key(s) {', '.join(unknown)}; a geometry has {', '.join(sorted(TOML_KEYS))}",
        )
    units = doc.get("units", "m")
    if units not in UNITS:
        raise _bad(path, f"field 'units'={units!r} must be one of {', '.join(UNITS)}")
    pos = doc.get("positions")
    if pos is None:
        raise _bad(path, "field 'positions' is missing")
    if not isinstance(pos, list) or not all(isinstance(row, list) for row in pos):
        raise _bad(
            path,
            f"field 'positions' must be a list of [x, y, z] rows in {units}, got {v.show(pos)}",
        )
    for k, row in enumerate(pos):
        if len(row) not in (2, 3) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in row
        ):
            raise _bad(
                path, f"field 'positions[{k}]' must be 2 or 3 numbers ({units}), got {row!r}"
            )
    if len({len(row) for row in pos}) > 1:
        raise _bad(path, "field 'positions' mixes rows of 2 and 3 numbers")
    name = doc.get("name", path.stem)
    if not isinstance(name, str):
        raise _bad(path, f"field 'name' must be a string, got {name!r}")
    scale = UNITS[units]
    try:
        return ArrayGeometry([[x * scale for x in row] for row in pos], name=name)
    except ValueError as exc:
        raise GeometryFileError(f"geometry file {str(path)!r}: field {exc}") from None


def _write_toml(g: ArrayGeometry, path: Path) -> None:
    rows = ",\n".join(f"    [{x!r}, {y!r}, {z!r}]" for x, y, z in g.positions.tolist())
    name = g.name or path.stem
    path.write_text(
        f"name = {_toml_string(name)}\n"
        "# Metres, array frame (x, y, z); one row per microphone, in geometry order.\n"
        f"positions = [\n{rows},\n]\n",
        encoding="utf-8",
    )


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ----------------------------------------------------------------- acoular XML
def _read_acoular_xml(path: Path) -> ArrayGeometry:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise GeometryFileError(f"geometry file {str(path)!r} is not valid XML: {exc}") from None
    if root.tag != "MicArray":
        raise _bad(path, f"root element must be <MicArray>, got <{root.tag}>")
    rows = []
    for k, pos in enumerate(root.iter("pos")):
        row = []
        for axis in ("x", "y", "z"):
            text = pos.get(axis)
            if text is None:
                raise _bad(path, f"field 'pos[{k}].{axis}' is missing")
            try:
                row.append(float(text))
            except ValueError:
                raise _bad(path, f"field 'pos[{k}].{axis}'={text!r} is not a number") from None
        rows.append(row)
    if not rows:
        raise _bad(path, "no <pos> elements in <MicArray>")
    try:
        return ArrayGeometry(rows, name=root.get("name") or path.stem)
    except ValueError as exc:
        raise GeometryFileError(f"geometry file {str(path)!r}: field {exc}") from None


def _write_acoular_xml(g: ArrayGeometry, path: Path) -> None:
    root = ET.Element("MicArray", name=g.name or path.stem)
    root.text = "\n  "
    for k, (x, y, z) in enumerate(g.positions.tolist()):
        el = ET.SubElement(root, "pos", Name=f"Point {k + 1}", x=repr(x), y=repr(y), z=repr(z))
        el.tail = "\n  " if k + 1 < g.n_mics else "\n"
    tree = ET.ElementTree(root)
    with path.open("wb") as fh:
        tree.write(fh, encoding="utf-8", xml_declaration=True)
        fh.write(b"\n")


def write_geometry(geometry: ArrayGeometry, path: str | Path) -> Path:
    """Write a geometry as acoular XML (``.xml``) or arraykit TOML (``.toml``); returns the path.

    Coordinates are written exactly (``repr`` of each float), so reading the file
    back gives the same positions.

    >>> import tempfile, pathlib
    >>> g = ArrayGeometry.circular(4, 0.05, name="ring")
    >>> p = write_geometry(g, pathlib.Path(tempfile.mkdtemp()) / "ring.xml")
    >>> load_geometry(p) == g
    True
    """
    g = load_geometry(geometry)
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".xml", ".toml"):
        raise v.fail("path", str(path), "must end in .xml (acoular) or .toml (arraykit)")
    if not p.parent.is_dir():
        raise v.fail("path", str(path), f"folder {str(p.parent)!r} does not exist")
    (_write_acoular_xml if suffix == ".xml" else _write_toml)(g, p)
    return p


# ---------------------------------------------------------------- ODAS (libconfig)
_TOKEN = re.compile(
    r"""\s+|\#[^\n]*|//[^\n]*|/\*.*?\*/           # space and comments
    |(?P<str>"(?:[^"\\]|\\.)*")
    |(?P<num>[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)L{0,2})
    |(?P<name>[A-Za-z*][-A-Za-z0-9_*]*)
    |(?P<punct>[=:;,{}()\[\]])""",
    re.VERBOSE | re.DOTALL,
)


def _tokens(text: str, path: Path) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            line = text.count("\n", 0, pos) + 1
            raise _bad(
                path, f"cannot read libconfig syntax at line {line}: {text[pos : pos + 20]!r}"
            )
        pos = m.end()
        if m.lastgroup is not None:
            out.append((m.lastgroup, m.group(m.lastgroup)))
    return out


class _LibConfig:
    """A small reader of libconfig (the syntax of ODAS configuration files)."""

    def __init__(self, text: str, path: Path) -> None:
        self.toks = _tokens(text, path)
        self.i = 0
        self.path = path

    def peek(self) -> str:
        return self.toks[self.i][1] if self.i < len(self.toks) else ""

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise _bad(self.path, "ends in the middle of a setting")
        self.i += 1
        return self.toks[self.i - 1]

    def settings(self, end: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while self.peek() != end:
            kind, name = self.take()
            if kind != "name":
                raise _bad(self.path, f"expected a setting name, got {name!r}")
            if self.take()[1] not in ("=", ":"):
                raise _bad(self.path, f"expected '=' or ':' after {name!r}")
            out[name] = self.value()
            if self.peek() in (";", ","):
                self.take()
        return out

    def value(self) -> Any:
        kind, tok = self.take()
        if tok in ("{", "(", "["):
            if tok == "{":
                group = self.settings("}")
                self.take()
                return group
            close = ")" if tok == "(" else "]"
            items = []
            while self.peek() != close:
                items.append(self.value())
                if self.peek() == ",":
                    self.take()
            self.take()
            return items
        if kind == "str":
            return tok[1:-1].encode().decode("unicode_escape")
        if kind == "num":
            t = tok.rstrip("L")
            return int(t, 0) if re.fullmatch(r"[-+]?(0[xX][0-9a-fA-F]+|\d+)", t) else float(t)
        if kind == "name" and tok.lower() in ("true", "false"):
            return tok.lower() == "true"
        raise _bad(self.path, f"unexpected {tok!r}")


def _odas_doc(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a BOM (Notepad) dropped
    except UnicodeDecodeError as exc:
        raise _bad(path, f"is not UTF-8 text (byte {exc.start})") from None
    return _LibConfig(text, path).settings("")


def _read_odas_cfg(path: Path) -> ArrayGeometry:
    doc = _odas_doc(path)
    mics = doc.get("general", {}).get("mics") if isinstance(doc.get("general"), dict) else None
    if not isinstance(mics, list) or not mics:
        raise _bad(path, "no microphones: an ODAS file lists them as general.mics = ({ mu = ... })")
    rows: list[list[float]] = []
    for k, mic in enumerate(mics):
        mu = mic.get("mu") if isinstance(mic, dict) else None
        if (
            not isinstance(mu, list)
            or len(mu) != 3
            or not all(isinstance(x, int | float) and math.isfinite(x) for x in mu)
        ):
            raise _bad(path, f"field 'general.mics[{k}].mu' must be 3 numbers (metres), got {mu!r}")
        row = [float(x) for x in mu]
        if row in rows:  # a copy-paste slip (ODAS's own odascore/pseye.cfg has one)
            j = rows.index(row)
            raise _bad(
                path,
                f"fields 'general.mics[{j}].mu' and 'general.mics[{k}].mu' are the same "
                f"position {tuple(row)}: two microphones cannot be in one place (mics from 0)",
            )
        rows.append(row)
    try:
        return ArrayGeometry(rows, name=path.stem)
    except ValueError as exc:
        raise GeometryFileError(f"geometry file {str(path)!r}: field {exc}") from None


def odas_channel_map(path: str | Path) -> tuple[int, ...]:
    """The channel map of an ODAS ``.cfg`` file: captured channel (0-based) of each mic.

    ODAS numbers channels from 1 in ``mapping: { map: (2, 3, 4, 5); }``; arraykit
    from 0, so that map reads as ``(1, 2, 3, 4)``, in the order of ``general.mics``
    (what :func:`load_geometry` reads from the same file). Usable as
    ``--channel-map`` or ``channel_map=``.
    """
    cmap = odas_map_in(path)
    if cmap is None:
        raise _bad(Path(path), "no channel map: ODAS gives it as mapping: { map: (1, 2, ...); }")
    return cmap


def odas_map_in(path: str | Path) -> tuple[int, ...] | None:
    """:func:`odas_channel_map`, or None for a file without ``mapping.map`` (its positions
    alone are a geometry); a map that is there but wrong is an error in the file."""
    p = Path(path)
    if not p.is_file():
        raise v.fail("path", str(path), "no such file")
    doc = _odas_doc(p)
    mapping = doc.get("mapping")
    cmap = mapping.get("map") if isinstance(mapping, dict) else None
    if not isinstance(cmap, list) or not cmap:
        return None
    if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in cmap):
        raise _bad(p, f"field 'mapping.map' must be channel numbers from 1, got {cmap!r}")
    if 0 in cmap:  # ODAS feeds that microphone zeros: a muted (broken) one
        k = cmap.index(0)
        raise _bad(
            p,
            f"field 'mapping.map[{k}]' is 0, which ODAS reads as microphone {k} muted (all "
            f"zero); arraykit reads a channel for every microphone: remove general.mics[{k}] "
            f"and mapping.map[{k}] from the file (arraykit leaves silent channels out anyway)",
        )
    mics = doc.get("general", {}).get("mics") if isinstance(doc.get("general"), dict) else None
    if isinstance(mics, list) and len(mics) != len(cmap):
        raise _bad(p, f"mapping.map has {len(cmap)} channels but general.mics {len(mics)} mics")
    return tuple(c - 1 for c in cmap)
