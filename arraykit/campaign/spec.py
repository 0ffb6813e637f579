"""A campaign spec: geometries × rooms × sources × methods × seeds, read from TOML and checked once.

Every key is checked when the spec is loaded; a bad one raises one
:class:`~arraykit.errors.InvalidArgumentError` whose message starts with the key
(``campaign.doa[1]='foo': must be one of ...``). Method names are checked against
the libraries' own lists (:data:`arraykit.doa.METHODS`, and the beamformer designs
named in :data:`BEAMFORMERS_FROM`), never a copy.

The layout (all keys but ``campaign.seeds`` and ``campaign.geometries`` optional)::

    [campaign]
    name = "accuracy"
    seeds = 100                 # scenes per cell
    geometries = ["respeaker-6mic", {name = "line6", linear = [6, 0.04]}]
    doa = ["srp-phat", "music"] # scored by angular error
    beamformers = ["das", "mvdr"]  # scored by SNR / SI-SDR gain toward source 0
    peers = ["pyroomacoustics"] # the same DOA methods in pyroomacoustics, same STFT grid
    fs = 16000
    duration = 1.0              # seconds of speech-like signal per source
    nfft = 512
    band = [300, 3500]
    salt = 0                    # changes every scene's seed

    [rooms]                     # a number: fixed; [lo, hi]: drawn uniformly per scene;
    rt60 = [0.2, 0.6]           # a list of lists: cells ([v] fixed or [lo, hi] each)
    snr_db = [[10], [30]]       # inf: no noise
    distance = 1.5              # metres from the array centre
    room_dim = [6, 5, 3]        # or a list of [x, y, z] cells
    sources = [1, 2]            # talkers per scene: cells
    noise = "white"             # or "diffuse"
    min_separation = 50         # degrees between talkers

    [conditions.reverberant]    # optional named cells, each overriding [rooms] keys
    rt60 = 0.6
    snr_db = 10

Cells are the product geometries × conditions × the cells of every ``[rooms]`` axis
× sources; each scene's seed comes from a hash of its cell's canonical form, the
salt and its index, so adding seeds, methods or cells never changes a scene already
drawn.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arraykit import _validate as v
from arraykit.errors import InvalidArgumentError
from arraykit.geometry import ArrayGeometry, load_geometry
from arraykit.geometry.files import FILE_SUFFIXES

__all__ = ["BEAMFORMERS_FROM", "PEERS", "Cell", "Draw", "GeometrySpec", "Spec", "load_spec"]

# Where the beamformer design names live (one place, to repoint at a registry).
BEAMFORMERS_FROM = ("arraykit.beamform", "METHODS")
PEERS = ("pyroomacoustics",)
_FACTORIES = {"linear": 2, "circular": 2, "rectangular": 3, "cross": 2}
_CAMPAIGN_KEYS = (
    "name", "seeds", "geometries", "doa", "beamformers", "peers", "fs", "duration", "nfft",
    "band", "salt",
)  # fmt: skip
_ROOM_KEYS = ("rt60", "snr_db", "distance", "room_dim", "noise", "sources", "min_separation")
_CONDITION_KEYS = ("rt60", "snr_db", "distance", "room_dim", "noise")


def beamformer_names() -> tuple[str, ...]:
    """The beamformer designs arraykit offers (validated against at spec load)."""
    import importlib

    module, attr = BEAMFORMERS_FROM
    return tuple(getattr(importlib.import_module(module), attr))


def doa_names() -> tuple[str, ...]:
    from arraykit.doa import METHODS

    return tuple(METHODS)


@dataclass(frozen=True)
class Draw:
    """A parameter of a scene: fixed (``lo == hi``) or drawn uniformly from [lo, hi]."""

    lo: float
    hi: float

    def label(self) -> str:
        return _num(self.lo) if self.lo == self.hi else f"{_num(self.lo)}-{_num(self.hi)}"


@dataclass(frozen=True)
class GeometrySpec:
    """An array of the campaign: a label and how to build it (canonical JSON)."""

    label: str
    definition: str

    def build(self) -> ArrayGeometry:
        d = json.loads(self.definition)
        if "named" in d:
            return load_geometry(d["named"])
        if "positions" in d:
            return ArrayGeometry(d["positions"], name=self.label)
        (kind, args), *_ = ((k, d[k]) for k in _FACTORIES if k in d)
        return getattr(ArrayGeometry, kind)(*args, name=self.label)


@dataclass(frozen=True)
class Cell:
    """One cell of the campaign: the scenes drawn from it share these settings."""

    geometry: GeometrySpec
    condition: str
    rt60: Draw
    snr_db: Draw
    distance: Draw
    room_dim: tuple[float, float, float]
    noise: str
    sources: int
    min_separation: float

    @property
    def key(self) -> str:
        """Canonical JSON of everything that decides a scene (the seed's input)."""
        return json.dumps(
            {
                "geometry": [self.geometry.label, json.loads(self.geometry.definition)],
                "condition": self.condition,
                "rt60": [self.rt60.lo, self.rt60.hi],
                "snr_db": [_finite(self.snr_db.lo), _finite(self.snr_db.hi)],
                "distance": [self.distance.lo, self.distance.hi],
                "room_dim": list(self.room_dim),
                "noise": self.noise,
                "sources": self.sources,
                "min_separation": self.min_separation,
            },
            sort_keys=True,
        )

    @property
    def id(self) -> str:
        """A short stable name of the cell (16 hex digits of the key's SHA-256)."""
        return hashlib.sha256(self.key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Spec:
    """A validated campaign (see the module docstring for the TOML layout)."""

    name: str
    seeds: int
    geometries: tuple[GeometrySpec, ...]
    doa: tuple[str, ...]
    beamformers: tuple[str, ...]
    peers: tuple[str, ...]
    fs: int
    duration: float
    nfft: int
    band: tuple[float, float]
    salt: int
    cells: tuple[Cell, ...]

    def scene_seed(self, cell: Cell, index: int) -> int:
        """The 128-bit entropy of scene `index` of `cell` (for ``numpy.random.SeedSequence``).

        A hash of the salt, the cell's canonical key and the index: the same on every
        machine and run, independent of the number of seeds and of the methods.
        """
        text = json.dumps([self.salt, cell.key, int(index)])
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "big")

    @property
    def n_scenes(self) -> int:
        return self.seeds * len(self.cells)

    @property
    def settings(self) -> str:
        """Canonical JSON of the settings every method shares (recorded with the rows)."""
        return json.dumps(
            {"fs": self.fs, "duration": self.duration, "nfft": self.nfft, "band": self.band},
            sort_keys=True,
        )


def load_spec(source: str | Path | Mapping[str, Any]) -> Spec:
    """Read and check a campaign spec: a TOML file path, TOML text, or the parsed mapping.

    Raises
    ------
    InvalidArgumentError
        One line naming the first bad key.
    """
    base = Path.cwd()
    if isinstance(source, Mapping):
        data: Any = source
    elif isinstance(source, Path) or (isinstance(source, str) and "\n" not in source):
        path = Path(source)
        if not path.is_file():
            raise v.fail("spec", str(source), "no such file")
        base = path.resolve().parent
        data = _parse(path.read_text(), str(path))
    elif isinstance(source, str):
        data = _parse(source, "spec")
    else:
        raise v.fail("spec", source, "must be a TOML file path, TOML text or a mapping")
    return _build(data, base)


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise v.fail("spec", where, f"is not valid TOML ({exc})") from None


def _build(data: Any, base: Path) -> Spec:
    _table("spec", data, ("campaign", "rooms", "conditions"))
    if "campaign" not in data:
        raise v.fail("campaign", None, "the [campaign] table is missing")
    c = _table("campaign", data["campaign"], _CAMPAIGN_KEYS)
    for key in ("seeds", "geometries"):
        if key not in c:
            raise v.fail(f"campaign.{key}", None, "is required")
    seeds = _int("campaign.seeds", c["seeds"], 1)
    geometries = _geometries(c["geometries"], base)
    doa = _names("campaign.doa", c.get("doa", []), doa_names())
    beamformers = _names("campaign.beamformers", c.get("beamformers", []), beamformer_names())
    if not doa and not beamformers:
        raise v.fail("campaign.doa", [], "name at least one DOA method or beamformer")
    peers = _names("campaign.peers", c.get("peers", []), PEERS)
    fs = _int("campaign.fs", c.get("fs", 16000), 1000)
    duration = _number("campaign.duration", c.get("duration", 1.0), low=0.05, high=60.0)
    nfft = _int("campaign.nfft", c.get("nfft", 512), 16)
    band_raw = c.get("band", [300.0, 3500.0])
    if not isinstance(band_raw, list) or len(band_raw) != 2:
        raise v.fail("campaign.band", band_raw, "must be [low, high] in Hz")
    lo = _number("campaign.band[0]", band_raw[0], low=0.0)
    hi = _number("campaign.band[1]", band_raw[1], low=0.0, high=fs / 2)
    if not lo < hi:
        raise v.fail("campaign.band", band_raw, "must be [low, high] with low < high")
    salt = _int("campaign.salt", c.get("salt", 0), 0)
    name = c.get("name", "campaign")
    if not isinstance(name, str) or not name:
        raise v.fail("campaign.name", name, "must be a non-empty string")

    rooms = _table("rooms", data.get("rooms", {}), _ROOM_KEYS)
    axes = {
        "rt60": _axis("rooms.rt60", rooms.get("rt60", 0.0), low=0.0, high=5.0),
        "snr_db": _axis("rooms.snr_db", rooms.get("snr_db", math.inf), low=-40.0, inf=True),
        "distance": _axis("rooms.distance", rooms.get("distance", 1.5), low=0.05),
    }
    dims = _room_dims("rooms.room_dim", rooms.get("room_dim", [6.0, 5.0, 3.0]))
    noise = v.choice("rooms.noise", rooms.get("noise", "white"), ("white", "diffuse"))
    src = rooms.get("sources", [1])
    if isinstance(src, int) and not isinstance(src, bool):
        src = [src]
    if not isinstance(src, list) or not src:
        raise v.fail("rooms.sources", src, "must be a list of talker counts, e.g. [1, 2]")
    sources = [_int(f"rooms.sources[{i}]", s, 1) for i, s in enumerate(src)]
    min_sep = _number("rooms.min_separation", rooms.get("min_separation", 50.0), low=0.0)
    if max(sources) > 1 and min_sep * (max(sources) - 1) >= 180:
        n = max(sources)
        why = (
            f"is too large for {n} talkers (rooms.sources): {n} talkers this far apart do not "
            f"fit in 180 degrees; set rooms.min_separation below {180 / (n - 1):g}"
        )
        raise v.fail("rooms.min_separation", min_sep, why)

    conds = _table("conditions", data.get("conditions", {}), None)
    conditions: list[tuple[str, dict[str, Any]]] = []
    for cname, ctab in conds.items():
        t = _table(f"conditions.{cname}", ctab, _CONDITION_KEYS)
        over: dict[str, Any] = {}
        for key in ("rt60", "snr_db", "distance"):
            if key in t:
                got = _axis(
                    f"conditions.{cname}.{key}",
                    t[key],
                    low={"rt60": 0.0, "snr_db": -40.0, "distance": 0.05}[key],
                    high=5.0 if key == "rt60" else math.inf,
                    inf=key == "snr_db",
                )
                if len(got) != 1:
                    raise v.fail(f"conditions.{cname}.{key}", t[key], "must be a value or a range")
                over[key] = got[0]
        if "room_dim" in t:
            got_dims = _room_dims(f"conditions.{cname}.room_dim", t["room_dim"])
            if len(got_dims) != 1:
                raise v.fail(f"conditions.{cname}.room_dim", t["room_dim"], "must be [x, y, z]")
            over["room_dim"] = got_dims[0]
        if "noise" in t:
            over["noise"] = v.choice(f"conditions.{cname}.noise", t["noise"], ("white", "diffuse"))
        conditions.append((str(cname), over))
    if not conditions:
        conditions = [("", {})]

    cells: list[Cell] = []
    for g in geometries:
        for cname, over in conditions:
            for rt in [over["rt60"]] if "rt60" in over else axes["rt60"]:
                for sn in [over["snr_db"]] if "snr_db" in over else axes["snr_db"]:
                    for di in [over["distance"]] if "distance" in over else axes["distance"]:
                        for dim in [over["room_dim"]] if "room_dim" in over else dims:
                            label = _label(cname, over, axes, dims, rt, sn, di, dim)
                            for k in sources:
                                cells.append(
                                    Cell(
                                        geometry=g,
                                        condition=label,
                                        rt60=rt,
                                        snr_db=sn,
                                        distance=di,
                                        room_dim=dim,
                                        noise=over.get("noise", noise),
                                        sources=k,
                                        min_separation=min_sep,
                                    )
                                )
    ids = [cell.id for cell in cells]
    if len(set(ids)) != len(ids):
        raise v.fail("campaign.geometries", c["geometries"], "two cells are the same")
    return Spec(
        name=name,
        seeds=seeds,
        geometries=tuple(geometries),
        doa=doa,
        beamformers=beamformers,
        peers=peers,
        fs=fs,
        duration=duration,
        nfft=nfft,
        band=(lo, hi),
        salt=salt,
        cells=tuple(cells),
    )


def _label(
    cname: str,
    over: dict[str, Any],
    axes: dict[str, list[Draw]],
    dims: list[tuple[float, float, float]],
    rt: Draw,
    sn: Draw,
    di: Draw,
    dim: tuple[float, float, float],
) -> str:
    parts = [cname] if cname else []
    for key, value in (("rt60", rt), ("snr_db", sn), ("distance", di)):
        if key not in over and len(axes[key]) > 1:
            parts.append(f"{key}={value.label()}")
    if "room_dim" not in over and len(dims) > 1:
        parts.append("room=" + "x".join(_num(x) for x in dim))
    return " ".join(parts) or "all"


def _table(name: str, value: Any, keys: tuple[str, ...] | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise v.fail(name, value, "must be a table")
    if keys is not None:
        for k in value:
            if k not in keys:
                raise v.fail(f"{name}.{k}", value[k], f"unknown key; known: {', '.join(keys)}")
    return value


def _int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise v.fail(name, value, "must be an integer")
    return v.integer(name, value, minimum)


def _number(
    name: str, value: Any, *, low: float, high: float = math.inf, inf: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise v.fail(name, value, "must be a number")
    x = float(value)
    if inf and x == math.inf:
        return x
    if not math.isfinite(x) or not low <= x <= high:
        raise v.fail(name, value, f"must be a number in [{_num(low)}, {_num(high)}]")
    return x


def _draw(name: str, value: Any, *, low: float, high: float, inf: bool) -> Draw:
    if isinstance(value, list):
        if len(value) == 1:
            x = _number(f"{name}[0]", value[0], low=low, high=high, inf=inf)
            return Draw(x, x)
        if len(value) == 2:
            a = _number(f"{name}[0]", value[0], low=low, high=high)
            b = _number(f"{name}[1]", value[1], low=low, high=high)
            if a > b:
                raise v.fail(name, value, "a range must be [low, high] with low <= high")
            return Draw(a, b)
        raise v.fail(name, value, "must be a value, [value] or a range [low, high]")
    x = _number(name, value, low=low, high=high, inf=inf)
    return Draw(x, x)


def _axis(
    name: str, value: Any, *, low: float, high: float = math.inf, inf: bool = False
) -> list[Draw]:
    """A number (fixed), [lo, hi] (a range) or a list of lists (cells)."""
    if isinstance(value, list) and value and all(isinstance(x, list) for x in value):
        return [_draw(f"{name}[{i}]", x, low=low, high=high, inf=inf) for i, x in enumerate(value)]
    if isinstance(value, list) and len(value) != 2:
        raise v.fail(name, value, "must be a value, a range [low, high] or a list of lists (cells)")
    return [_draw(name, value, low=low, high=high, inf=inf)]


def _room_dims(name: str, value: Any) -> list[tuple[float, float, float]]:
    cells = value if isinstance(value, list) and value and isinstance(value[0], list) else [value]
    out = []
    for i, dim in enumerate(cells):
        key = name if cells is not value else f"{name}[{i}]"
        if not isinstance(dim, list) or len(dim) != 3:
            raise v.fail(key, dim, "must be [x, y, z] in metres")
        x, y, z = (_number(f"{key}[{j}]", d, low=0.5, high=1000.0) for j, d in enumerate(dim))
        out.append((x, y, z))
    return out


def _names(name: str, value: Any, known: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise v.fail(name, value, "must be a list of names")
    out = tuple(v.choice(f"{name}[{i}]", m, known) for i, m in enumerate(value))
    if len(set(out)) != len(out):
        raise v.fail(name, value, "names a method twice")
    return out


def _geometries(value: Any, base: Path) -> list[GeometrySpec]:
    name = "campaign.geometries"
    if not isinstance(value, list) or not value:
        raise v.fail(name, value, "must be a non-empty list of names or tables")
    out = []
    for i, item in enumerate(value):
        key = f"{name}[{i}]"
        if isinstance(item, str):
            path = base / item
            ref = str(path) if item.lower().endswith(FILE_SUFFIXES) else item
            try:
                load_geometry(ref)
            except InvalidArgumentError as exc:  # about the name: say it once, as the key
                if exc.name != "name_or_path":
                    raise v.fail(key, item, str(exc)) from None
                why = str(exc).removeprefix(f"name_or_path={v.show(ref)}: ")
                why += f" (looked for {ref})" if ref != item else ""
                raise v.fail(key, item, why) from None
            except ValueError as exc:
                raise v.fail(key, item, str(exc)) from None
            spec = GeometrySpec(item, json.dumps({"named": ref}, sort_keys=True))
        elif isinstance(item, dict):
            t = _table(key, item, ("name", "positions", *_FACTORIES))
            label = t.get("name")
            if not isinstance(label, str) or not label:
                raise v.fail(f"{key}.name", label, "every inline geometry needs a name")
            kinds = [k for k in ("positions", *_FACTORIES) if k in t]
            if len(kinds) != 1:
                raise v.fail(key, item, f"give exactly one of positions, {', '.join(_FACTORIES)}")
            kind = kinds[0]
            args = t[kind]
            if kind != "positions" and (
                not isinstance(args, list) or len(args) != _FACTORIES[kind]
            ):
                raise v.fail(f"{key}.{kind}", args, f"must list {_FACTORIES[kind]} arguments")
            spec = GeometrySpec(label, json.dumps({kind: args}, sort_keys=True))
            try:
                spec.build()
            except (ValueError, TypeError) as exc:
                raise v.fail(f"{key}.{kind}", args, str(exc)) from None
        else:
            raise v.fail(key, item, "must be a geometry name or an inline table")
        out.append(spec)
    labels = [g.label for g in out]
    if len(set(labels)) != len(labels):
        raise v.fail(name, labels, "two geometries share a name")
    return out


def _finite(x: float) -> float | str:
    return "inf" if x == math.inf else x


def _num(x: float) -> str:
    return "inf" if x == math.inf else f"{x:g}"
