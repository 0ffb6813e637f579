"""Discovery: which microphone arrays are plugged in, and can arraykit use them?

:func:`list_devices` merges the PortAudio input devices (matched to a profile by
name) with the USB devices pyusb finds (matched by vendor/product id), and says for
each what matched, what did not, and why. :func:`resolve` turns what a user typed
(``--device``: a profile name, a PortAudio index or a piece of a device name) into a
profile and a PortAudio device.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from arraykit import _validate as v
from arraykit.hardware._backend import (
    BackendMissingError,
    DeviceNotFoundError,
    import_sounddevice,
    import_usb,
    no_libusb_error,
    translate_usb_error,
    within_time_limit,
)
from arraykit.hardware.profiles import Profile, list_profiles, load_profile, normalize_name

__all__ = ["DeviceInfo", "DeviceList", "classify", "list_devices", "portaudio_inputs", "resolve"]

log = logging.getLogger(__name__)

GENERIC = "generic-uac"


@dataclass(frozen=True)
class DeviceInfo:
    """One line of :func:`list_devices`: a device and what arraykit makes of it.

    `status` is ``"ready"`` (a profile matched, usable for direction finding),
    ``"unusable"`` (matched, but its firmware or channel count rules out direction
    finding: `reason` says what to do), ``"usb-only"`` (seen on USB but not as an
    audio input), ``"unknown"`` (an input no profile matches) or ``"simulated"``
    (a ``sim:`` device: a room simulation with that profile's array, no hardware).
    """

    name: str
    status: str
    reason: str
    index: int | None = None
    hostapi: str = ""
    input_channels: int = 0
    default_samplerate: float | None = None
    profile: str | None = None
    firmware: str | None = None
    usb_id: str | None = None
    usb_location: str | None = None

    @property
    def usable(self) -> bool:
        return self.status == "ready"

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["usable"] = self.usable
        return d


class DeviceList(list):
    """A list of :class:`DeviceInfo` with `notes`: what could not be scanned, and why."""

    def __init__(self, items: Any = (), notes: Any = ()) -> None:
        super().__init__(items)
        self.notes: list[str] = list(notes)


def _profiles() -> list[Profile]:
    return [load_profile(n) for n in list_profiles() if n != GENERIC]


def match_profile(device_name: str) -> Profile | None:
    """The shipped profile whose name patterns match a PortAudio device name."""
    for p in _profiles():
        if p.matches_name(device_name):
            return p
    return None


def portaudio_inputs() -> list[dict[str, Any]]:
    """PortAudio input devices: dicts with index, name, hostapi, channels, samplerate."""
    sd = import_sounddevice()
    apis, devices = within_time_limit(
        lambda: (sd.query_hostapis(), sd.query_devices()), "listing the audio devices"
    )
    out = []
    for i, d in enumerate(devices):
        if d["max_input_channels"] > 0:
            out.append(
                {
                    "index": i,
                    "name": d["name"],
                    "hostapi": apis[d["hostapi"]]["name"],
                    "channels": int(d["max_input_channels"]),
                    "samplerate": float(d["default_samplerate"]),
                }
            )
    return out


def classify(profile: Profile, channels: int) -> tuple[str, str, str | None]:
    """(status, reason, firmware name) of an input matched to `profile` with `channels` inputs."""
    fw = profile.firmware_for(channels)
    default = profile.firmware
    if fw is None and default is not None and channels > max(f.channels for f in profile.firmwares):
        fw = default  # ALSA plug-in devices report more channels than the hardware has
    if fw is None:
        known = ", ".join(f"{f.name} ({f.channels} ch)" for f in profile.firmwares)
        return (
            "unusable",
            f"name matches profile {profile.name!r} but it has {channels} input channel(s); "
            f"the profile knows the firmwares {known}",
            None,
        )
    if not fw.doa:
        return "unusable", f"{fw.name} firmware: {fw.advice}", fw.name
    return (
        "ready",
        f"name matches profile {profile.name!r}; {fw.name} firmware, mics on channels "
        f"{list(fw.channel_map)} ({profile.geometry_name})",
        fw.name,
    )


def _usb_scan(backend: Any) -> list[tuple[int, int, str, Profile]]:
    usb = import_usb()
    by_id = {
        (p.vendor_id, p.product_id): p
        for p in _profiles()
        if p.vendor_id is not None and p.product_id is not None
    }
    found = []
    try:
        for dev in usb.core.find(find_all=True, backend=backend):
            key = (dev.idVendor, dev.idProduct)
            if key in by_id:
                found.append((*key, f"bus {dev.bus} address {dev.address}", by_id[key]))
    except usb.core.NoBackendError:
        raise no_libusb_error() from None
    except usb.core.USBError as exc:
        raise translate_usb_error(exc, "scanning USB") from None
    return found


def list_devices(
    *, backend: Any = None, portaudio: bool = True, usb: bool = True, simulated: bool = False
) -> DeviceList:
    """List the audio inputs and USB arrays present, each matched to a profile or not.

    Parameters
    ----------
    backend : usb.backend.IBackend, optional
        pyusb back end for the USB scan (pyusb picks libusb when None).
    portaudio, usb : bool
        Scan PortAudio inputs and/or the USB bus.
    simulated : bool
        Also list the ``sim:`` devices (one per profile; status ``"simulated"``).

    Returns
    -------
    DeviceList
        :class:`DeviceInfo` entries, then ``.notes``: what could not be scanned and why
        (PortAudio or libusb missing), never an exception for that.
    """
    items: list[DeviceInfo] = []
    notes: list[str] = []
    if portaudio:
        try:
            for d in portaudio_inputs():
                p = match_profile(d["name"])
                common = {
                    "name": d["name"],
                    "index": d["index"],
                    "hostapi": d["hostapi"],
                    "input_channels": d["channels"],
                    "default_samplerate": d["samplerate"],
                }
                if p is None:
                    items.append(
                        DeviceInfo(
                            status="unknown",
                            reason="no profile matches this name; open it with profile "
                            f"{GENERIC!r} and give channels, channel map and geometry",
                            **common,
                        )
                    )
                else:
                    status, reason, fw = classify(p, d["channels"])
                    items.append(
                        DeviceInfo(
                            status=status, reason=reason, profile=p.name, firmware=fw, **common
                        )
                    )
        except BackendMissingError as exc:
            notes.append(f"audio inputs not scanned: {exc}")
    if usb:
        try:
            for vid, pid, where, p in _usb_scan(backend):
                uid = f"{vid:04x}:{pid:04x}"
                for k, item in enumerate(items):
                    if item.profile == p.name and item.usb_id is None:
                        items[k] = _with(item, usb_id=uid, usb_location=where)
                        break
                else:
                    items.append(
                        DeviceInfo(
                            name=p.title,
                            status="usb-only",
                            reason=f"found on USB ({uid}, profile {p.name!r}) but no audio input "
                            "matches its name: is PortAudio installed, is the device in use by "
                            "another program, or is snd-usb-audio not bound? Vendor control "
                            f"({p.control}) still works",
                            profile=p.name,
                            usb_id=uid,
                            usb_location=where,
                        )
                    )
        except BackendMissingError as exc:
            notes.append(f"USB not scanned: {exc}")
    if simulated:
        items += _simulated()
    for n in notes:
        log.info(n)
    return DeviceList(items, notes)


def _simulated() -> list[DeviceInfo]:
    return [
        DeviceInfo(
            name=f"sim:{p.name}",
            status="simulated",
            reason=f"simulated {p.title} in a room (pyroomacoustics), no hardware; "
            "sim:<geometry name or file> simulates any other array",
            input_channels=p.channels or 0,
            default_samplerate=float(p.samplerate),
            profile=p.name,
            firmware=p.firmware.name if p.firmware else None,
        )
        for p in _profiles()
        if p.geometry_name is not None
    ]


def _with(item: DeviceInfo, **changes: Any) -> DeviceInfo:
    d = asdict(item)
    d.update(changes)
    return DeviceInfo(**d)


def resolve(device: Any, *, profile: Any = None) -> tuple[Profile, dict[str, Any]]:
    """Find the PortAudio input for `device` and the profile to read it with.

    Parameters
    ----------
    device : str, int or Profile
        A profile name (or Profile), a PortAudio device index, or a piece of a
        PortAudio device name (case-insensitive; spaces, underscores and hyphens
        alike).
    profile : str or Profile, optional
        Force a profile (e.g. ``"generic-uac"``) instead of matching by name.

    Returns
    -------
    (Profile, dict)
        The profile and the PortAudio input (see :func:`portaudio_inputs`).

    Raises
    ------
    DeviceNotFoundError
        Nothing matches; the message lists the inputs that were found.
    """
    inputs = portaudio_inputs()
    chosen: dict[str, Any] | None = None
    prof: Profile | None = load_profile(profile) if profile is not None else None
    text = device.name if isinstance(device, Profile) else device
    if isinstance(device, Profile) or (isinstance(text, str) and text in list_profiles()):
        target = load_profile(device)
        prof = prof or target
        chosen = next((d for d in inputs if target.matches_name(d["name"])), None)
        what = f"profile {target.name!r} (names like {list(target.name_patterns)})"
    elif isinstance(text, int) or (isinstance(text, str) and text.strip().isdigit()):
        idx = int(text)
        chosen = next((d for d in inputs if d["index"] == idx), None)
        what = f"PortAudio input index {idx}"
    elif isinstance(text, str) and text.strip():
        key = normalize_name(text)
        chosen = next((d for d in inputs if key in normalize_name(d["name"])), None)
        what = f"an input whose name contains {text!r}"
    else:
        raise v.fail("device", device, "must be a profile name, a device index or a name")
    if chosen is None:
        found = "; ".join(f"[{d['index']}] {d['name']} ({d['channels']} ch)" for d in inputs)
        raise DeviceNotFoundError(
            f"no audio input matches {what}; found: {found or 'no audio inputs at all'}"
            " (run 'arraykit devices' for details)"
        )
    if prof is None:
        prof = match_profile(chosen["name"]) or load_profile(GENERIC)
    return prof, chosen
