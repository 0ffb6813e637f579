"""Microphone-array hardware: profiles, discovery, capture, vendor control, simulation.

The hardware layer turns a device on the desk into ``(M, N)`` signals in geometry
order; it knows nothing of DOA or beamforming (``arraykit.live`` composes the two).

- :func:`load_profile` / :func:`list_profiles`: the TOML device profiles.
- :func:`list_devices`: PortAudio inputs and USB arrays, matched to profiles.
- :func:`open`: capture (a context manager; ``record``, ``blocks``, counted overflows).
- :class:`XVF3000`, :class:`XVF3800`: XMOS vendor control over pyusb (tuning, DOA, LEDs).
- :class:`SimulatedDevice`, :class:`FileDevice`: the same interface without hardware.

sounddevice and pyusb are imported only when a device is actually used.
"""

from __future__ import annotations

from typing import Any

from arraykit.hardware._backend import (
    BackendMissingError,
    ControlError,
    DeviceDisconnectedError,
    DeviceNotFoundError,
    FramesLostError,
    PermissionDeniedError,
)
from arraykit.hardware.capture import FrameLossWarning, InputDevice, Overflow, open
from arraykit.hardware.discovery import DeviceInfo, DeviceList, list_devices, resolve
from arraykit.hardware.profiles import (
    Firmware,
    Profile,
    fit_orientation,
    list_profiles,
    load_profile,
    normalize_name,
    udev_rule_path,
)
from arraykit.hardware.xvf import XVF3000, XVF3800, Parameter, control_for

__all__ = [
    "XVF3000",
    "XVF3800",
    "BackendMissingError",
    "ControlError",
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
    "open",
    "resolve",
    "udev_rule_path",
]


def __getattr__(name: str) -> Any:
    if name in ("SimulatedDevice", "FileDevice"):
        from arraykit.hardware import simulated

        return getattr(simulated, name)
    raise AttributeError(f"module 'arraykit.hardware' has no attribute {name!r}")
