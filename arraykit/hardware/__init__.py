"""Microphone-array hardware: profiles, discovery, capture, vendor control, simulation.

The hardware layer turns a device on the desk into ``(M, N)`` signals in geometry
order; it knows nothing of DOA or beamforming (``arraykit.live`` composes the two).

- :func:`load_profile` / :func:`list_profiles`: the TOML device profiles.
- :func:`list_devices`: PortAudio inputs and USB arrays, matched to profiles.
- :func:`open`: capture (a context manager; ``record``, ``blocks``, counted overflows);
  it returns a :class:`Device`, whichever kind (``hardware.kinds``) the spec names.
- :class:`XVF3000`, :class:`XVF3800`: XMOS vendor control over pyusb (tuning, DOA, LEDs),
  behind the :class:`Control` protocol; :func:`control_for` picks one by profile.
- :class:`SimulatedDevice`, :class:`FileDevice`: the same interface without hardware.

sounddevice and pyusb are imported only when a device is actually used.
"""

from __future__ import annotations

from typing import Any

from arraykit.geometry import odas_channel_map
from arraykit.hardware._backend import (
    AudioServerTimeoutError,
    BackendMissingError,
    ControlError,
    DeviceDisconnectedError,
    DeviceNotFoundError,
    FramesLostError,
    PermissionDeniedError,
)
from arraykit.hardware.capture import InputDevice
from arraykit.hardware.control import Control, control_for
from arraykit.hardware.device import Device, FrameLossWarning, Overflow
from arraykit.hardware.discovery import DeviceInfo, DeviceList, list_devices, resolve
from arraykit.hardware.kinds import open
from arraykit.hardware.profiles import (
    Firmware,
    Profile,
    fit_orientation,
    list_profiles,
    load_profile,
    normalize_name,
    udev_rule_path,
)
from arraykit.hardware.xvf import XVF3000, XVF3800, Parameter

__all__ = [
    "XVF3000",
    "XVF3800",
    "AudioServerTimeoutError",
    "BackendMissingError",
    "Control",
    "ControlError",
    "Device",
    "DeviceDisconnectedError",
    "DeviceInfo",
    "DeviceList",
    "DeviceNotFoundError",
    "FileDevice",
    "Firmware",
    "FrameLossWarning",
    "FramesLostError",
    "InputDevice",
    "Overflow",
    "Parameter",
    "PermissionDeniedError",
    "Profile",
    "SimulatedDevice",
    "control_for",
    "fit_orientation",
    "list_devices",
    "list_profiles",
    "load_profile",
    "normalize_name",
    "odas_channel_map",
    "open",
    "resolve",
    "udev_rule_path",
]


def __getattr__(name: str) -> Any:
    # imported when first used: the simulated device pulls in the room simulation
    if name == "SimulatedDevice":
        from arraykit.hardware.simulated import SimulatedDevice

        return SimulatedDevice
    if name == "FileDevice":
        from arraykit.hardware.file import FileDevice

        return FileDevice
    raise AttributeError(f"module 'arraykit.hardware' has no attribute {name!r}")
