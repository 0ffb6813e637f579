"""Device profiles: how to recognise, open and read a microphone array.

A profile is a TOML file in the shipped ``hardware/`` folder. It says how to
recognise the device (USB vendor/product id, PortAudio name patterns), how to open
it (rate, sample format, one entry per firmware variant with its channel count),
which captured channels are microphones and in which order (the channel map, in
the geometry's order), which named geometry they form, how the device's own DOA
angle maps into arraykit's frame (``azimuth = offset_deg + sense * angle``), and
which vendor control protocol it speaks.

Examples
--------
>>> from arraykit.hardware import load_profile
>>> p = load_profile("respeaker-usb-4mic")
>>> p.channels, p.channel_map, p.geometry.n_mics
(6, (1, 2, 3, 4), 4)
>>> p.matches_name("ReSpeaker 4 Mic Array (UAC1.0): USB Audio (hw:2,0)")
True
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arraykit import _validate as v
from arraykit._data import data_dir
from arraykit.geometry import ArrayGeometry, load_geometry

__all__ = [
    "Firmware",
    "Profile",
    "fit_orientation",
    "list_profiles",
    "load_profile",
    "normalize_name",
    "sample_rate",
    "udev_rule_path",
]

ControlName = str
"""A key of ``arraykit.hardware.control.CONTROLS``, or ``"none"``."""
SAMPLE_FORMATS = ("int16", "int32", "float32")


@dataclass(frozen=True)
class Firmware:
    """One firmware variant of a device: its channel count and which channels are mics."""

    name: str
    channels: int
    channel_map: tuple[int, ...]
    doa: bool = True
    default: bool = False
    advice: str = ""


@dataclass(frozen=True)
class Profile:
    """A device profile (frozen). See the module docstring for the fields' meaning."""

    name: str
    title: str
    geometry_name: str | None
    control: ControlName
    vendor_id: int | None
    product_id: int | None
    name_patterns: tuple[str, ...]
    samplerate: int
    sample_format: str
    firmwares: tuple[Firmware, ...]
    orientation_offset: float = 0.0
    orientation_sense: int = 1
    notes: str = ""
    channels_override: int | None = None
    channel_map_override: tuple[int, ...] | None = None
    geometry_override: ArrayGeometry | None = None
    samplerate_override: int | None = None

    @property
    def firmware(self) -> Firmware | None:
        """The default firmware variant (None for the generic profile)."""
        for fw in self.firmwares:
            if fw.default:
                return fw
        return self.firmwares[0] if self.firmwares else None

    @property
    def channels(self) -> int | None:
        """Channels to open the device with."""
        if self.channels_override is not None:
            return self.channels_override
        fw = self.firmware
        return fw.channels if fw else None

    @property
    def channel_map(self) -> tuple[int, ...] | None:
        """Captured channel of each microphone, in geometry order."""
        if self.channel_map_override is not None:
            return self.channel_map_override
        fw = self.firmware
        return fw.channel_map if fw else None

    @property
    def geometry(self) -> ArrayGeometry | None:
        """The array geometry (microphones in channel-map order), or None if not set."""
        if self.geometry_override is not None:
            return self.geometry_override
        if self.geometry_name is None:
            return None
        return load_geometry(self.geometry_name)

    def firmware_for(self, channels: int) -> Firmware | None:
        """The firmware variant that captures `channels` channels, if the profile knows it."""
        for fw in self.firmwares:
            if fw.channels == channels:
                return fw
        return None

    def matches_name(self, device_name: str) -> bool:
        """True if a PortAudio device name matches one of the name patterns.

        Case-insensitive; spaces, underscores and hyphens count as the same.
        """
        name = normalize_name(device_name)
        return any(normalize_name(p) in name for p in self.name_patterns if p)

    def onchip_to_azimuth(self, angle: float) -> float:
        """Map a device's own DOA angle (degrees) into arraykit's azimuth frame."""
        return float((self.orientation_offset + self.orientation_sense * angle) % 360.0)

    def azimuth_to_onchip(self, azimuth: float) -> float:
        """Inverse of :meth:`onchip_to_azimuth` (used to point an LED ring)."""
        return float((self.orientation_sense * (azimuth - self.orientation_offset)) % 360.0)

    def with_options(
        self,
        *,
        channels: int | None = None,
        channel_map: Any = None,
        geometry: str | ArrayGeometry | None = None,
        samplerate: float | None = None,
        orientation_offset: float | None = None,
        orientation_sense: int | None = None,
    ) -> Profile:
        """A copy with the user's overrides (what the generic profile needs).

        `geometry` may be a name, a file path or an :class:`ArrayGeometry`.
        """
        changes: dict[str, Any] = {}
        if channels is not None:
            n = int(channels)
            if n < 1 or n != channels:
                raise v.fail("channels", channels, "must be a whole number >= 1")
            changes["channels_override"] = n
        if channel_map is not None:
            cmap = tuple(int(c) for c in channel_map)
            if not cmap or min(cmap) < 0:
                raise v.fail("channel_map", channel_map, "must be channel indices >= 0")
            check_channel_map("channel_map", channel_map, cmap)
            changes["channel_map_override"] = cmap
        if geometry is not None:
            g = load_geometry(geometry)
            changes["geometry_override"] = g
            changes["geometry_name"] = g.name or "custom"
        if samplerate is not None:
            changes["samplerate"] = changes["samplerate_override"] = sample_rate(samplerate)
        if orientation_offset is not None:
            changes["orientation_offset"] = float(orientation_offset)
        if orientation_sense is not None:
            if orientation_sense not in (1, -1):
                raise v.fail("orientation_sense", orientation_sense, "must be 1 or -1")
            changes["orientation_sense"] = int(orientation_sense)
        p = dataclasses.replace(self, **changes)
        p.check()
        return p

    def check(self) -> None:
        """Raise a ValueError if the channel map does not fit the channels or the geometry."""
        n, cmap = self.channels, self.channel_map
        if n is not None and cmap is not None and max(cmap) >= n:
            if self.channel_map_override is None and self.channels_override is not None:
                # the profile's own map: the channel count given is what is wrong
                raise v.fail(
                    "channels",
                    n,
                    f"is too few for the channel map {cmap} of profile {self.name!r} (it reads "
                    f"channel {max(cmap)}): capture {max(cmap) + 1} or more, or give a channel map",
                )
            raise v.fail(
                "channel_map", cmap, f"refers to channel {max(cmap)} but only {n} are captured"
            )
        g = self.geometry
        fw = self.firmware
        usable = fw is None or fw.doa or self.channel_map_override is not None
        if g is not None and cmap is not None and usable and len(cmap) != g.n_mics:
            raise v.fail(
                "channel_map",
                cmap,
                f"has {len(cmap)} channels but geometry {self.geometry_name!r} has "
                f"{g.n_mics} microphones",
            )


def check_channel_map(name: str, value: Any, cmap: Sequence[int]) -> None:
    """Each microphone its own channel: one named twice is refused (a typo, whose identical
    rows read as a source at broadside)."""
    seen: set[int] = set()
    for c in cmap:
        if c in seen:
            why = f"uses channel {c} for more than one microphone: give each its own channel"
            raise v.fail(name, value, why)
        seen.add(c)


def fit_orientation(onchip: Any, azimuth: Any) -> tuple[float, int, float]:
    """Fit ``azimuth = offset + sense * onchip`` to paired angles (degrees).

    Parameters
    ----------
    onchip : array_like [shape=(K,)]
        The device's own DOA angles.
    azimuth : array_like [shape=(K,)]
        The true (or arraykit's) azimuths of the same sounds.

    Returns
    -------
    (offset_deg, sense, spread_deg)
        The profile's ``[orientation]`` values and the circular spread of the
        residuals (small when the fit is good).

    Examples
    --------
    >>> fit_orientation([0, 90, 180], [45, 315, 225])
    (45.0, -1, 0.0)
    """
    import numpy as np

    a = np.radians(v.finite_array("onchip", onchip, ndim=1))
    b = np.radians(v.finite_array("azimuth", azimuth, ndim=1))
    if a.shape != b.shape or a.size == 0:
        raise v.fail("azimuth", azimuth, f"must pair with onchip: {a.size} angles")
    best = None
    for sense in (1, -1):
        z = np.exp(1j * (b - sense * a))
        m = z.mean()
        spread = float(np.degrees(np.sqrt(max(-2 * np.log(max(abs(m), 1e-12)), 0.0))))
        offset = round(float(np.degrees(np.angle(m))) % 360.0, 6) % 360.0
        cand = (offset + 0.0, sense, round(spread, 6) + 0.0)
        if best is None or cand[2] < best[2]:
            best = cand
    assert best is not None
    return best


def sample_rate(value: Any) -> int:
    """A sampling rate: a whole number of Hz >= 1 (0, 0.4 or 44100.5 are refused)."""
    x = v.positive("samplerate", value)
    if x != round(x) or x < 1:
        raise v.fail("samplerate", value, "must be a whole number of Hz >= 1")
    return round(x)


def normalize_name(name: str) -> str:
    """Lower case, with runs of spaces, underscores and hyphens turned into one space."""
    return re.sub(r"[\s_\-]+", " ", name.lower()).strip()


def list_profiles() -> list[str]:
    """Names of the shipped device profiles."""
    return sorted(p.stem for p in data_dir("hardware").glob("*.toml"))


def udev_rule_path() -> Path:
    """The shipped udev rule (copy it to /etc/udev/rules.d/)."""
    return data_dir("hardware") / "99-arraykit-mic-arrays.rules"


def load_profile(name_or_path: str | Path | Profile) -> Profile:
    """Load a shipped profile by name (see :func:`list_profiles`) or a TOML file.

    Raises
    ------
    ValueError
        Unknown name (the message lists the profiles) or a malformed file.
    """
    if isinstance(name_or_path, Profile):
        return name_or_path
    text = str(name_or_path)
    path = Path(text)
    if not (text.endswith(".toml") and path.is_file()):
        path = data_dir("hardware") / f"{text}.toml"
        if not path.is_file():
            raise v.fail(
                "profile", text, f"unknown device profile; known: {', '.join(list_profiles())}"
            )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise v.fail("profile", str(path), f"is not valid TOML: {exc}") from None
    return _from_dict(data, str(path))


def _from_dict(d: dict[str, Any], where: str) -> Profile:
    try:
        usb = d.get("usb", {})
        audio = d.get("audio", {})
        orient = d.get("orientation", {})
        firmwares = tuple(
            Firmware(
                name=str(f["name"]),
                channels=int(f["channels"]),
                channel_map=tuple(int(c) for c in f["channel_map"]),
                doa=bool(f.get("doa", True)),
                default=bool(f.get("default", False)),
                advice=str(f.get("advice", "")),
            )
            for f in d.get("firmware", [])
        )
        fmt = str(audio.get("sample_format", "int16"))
        if fmt not in SAMPLE_FORMATS:
            raise ValueError(f"sample_format must be one of {SAMPLE_FORMATS}")
        sense = int(orient.get("sense", 1))
        if sense not in (1, -1):
            raise ValueError("orientation sense must be 1 or -1")
        profile = Profile(
            name=str(d["name"]),
            title=str(d.get("title", d["name"])),
            geometry_name=d.get("geometry"),
            control=str(d.get("control", "none")),
            vendor_id=usb.get("vendor_id"),
            product_id=usb.get("product_id"),
            name_patterns=tuple(str(p) for p in audio.get("name_patterns", [])),
            samplerate=int(audio.get("samplerate", 16000)),
            sample_format=fmt,
            firmwares=firmwares,
            orientation_offset=float(orient.get("offset_deg", 0.0)),
            orientation_sense=sense,
            notes=str(d.get("notes", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise v.fail("profile", where, f"is malformed: {exc}") from None
    profile.check()
    return profile
