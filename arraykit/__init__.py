"""arraykit: microphone arrays from the USB device to the direction and the enhanced voice.

The pipeline, bottom up (imports run one way, like the data)::

    geometry, stft                 the array and the time-frequency transform
    steering, gcc, sim             steering vectors, delay estimation, simulated rooms
    doa, beamform, hardware        direction finding, beamformers, devices
    diagnostics, plot              steering-error distortion, pictures
    cli, live                      commands that compose a device with the DSP

Submodules load on first use (``ak.doa``, ``ak.beamform``, ...), so ``import arraykit``
stays quick and optional dependencies (sounddevice, pyusb, matplotlib,
pyroomacoustics) are needed only by the parts that use them.
"""

from __future__ import annotations

import importlib
from typing import Any

from arraykit._cache import clear as clear_caches
from arraykit.errors import ArraykitError, DeviceError, GeometryFileError, InvalidArgumentError
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry, list_geometries, load_geometry

__version__ = "0.1.0"

__all__ = [
    "SPEED_OF_SOUND",
    "ArrayGeometry",
    "ArraykitError",
    "DeviceError",
    "GeometryFileError",
    "InvalidArgumentError",
    "__version__",
    "beamform",
    "campaign",
    "clear_caches",
    "datasets",
    "diagnostics",
    "doa",
    "frontend",
    "gcc_phat",
    "hardware",
    "list_geometries",
    "load_geometry",
    "metrics",
    "plot",
    "sim",
    "steering",
    "stft",
]

_SUBMODULES = {
    "beamform",
    "campaign",
    "datasets",
    "diagnostics",
    "doa",
    "frontend",
    "hardware",
    "io",
    "live",
    "metrics",
    "plot",
    "sim",
    "steering",
    "stft",
    "gcc",
}
_ATTRIBUTES = {"gcc_phat": ("arraykit.gcc", "gcc_phat")}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"arraykit.{name}")
    if name in _ATTRIBUTES:
        module, attr = _ATTRIBUTES[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'arraykit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES | set(_ATTRIBUTES))
