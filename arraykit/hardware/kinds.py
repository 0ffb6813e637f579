"""The registry of device kinds, and :func:`open`, which picks one for what the user typed.

Each kind is one module defining ``accepts(device) -> bool`` (is this spec mine?)
and ``open_device(device, options, extra) -> Device`` (an :class:`OpenOptions` and the
kind's own keyword arguments, such as a simulation's ``scene=``); :data:`KINDS` lists them in the
order they are asked, the PortAudio kind last (it accepts everything). Adding a
device kind is one file implementing :class:`~arraykit.hardware.device.Device` plus
one entry here. The modules are imported when first asked, so ``import arraykit``
never loads PortAudio or pyroomacoustics.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol, cast

import numpy as np

from arraykit.hardware.device import Device, OnLoss, OpenOptions
from arraykit.hardware.profiles import Profile

__all__ = ["KINDS", "DeviceKind", "kind_of", "open"]

KINDS: dict[str, str] = {
    "simulated": "arraykit.hardware.simulated",  # "sim:<profile or geometry>"
    "file": "arraykit.hardware.file",  # a .wav / .flac path
    "portaudio": "arraykit.hardware.capture",  # anything else: a PortAudio input
}
"""Kind name -> module implementing it, asked in this order."""


class DeviceKind(Protocol):
    """What a module in :data:`KINDS` provides."""

    def accepts(self, device: object) -> bool: ...

    def open_device(self, device: Any, options: OpenOptions, extra: dict[str, Any]) -> Device: ...


def kind_of(device: object) -> str:
    """The name of the first kind in :data:`KINDS` that accepts `device`."""
    for name, module in KINDS.items():
        if cast(DeviceKind, importlib.import_module(module)).accepts(device):
            return name
    raise AssertionError("the last kind accepts every device")  # pragma: no cover


def open(
    device: Any = None,
    *,
    profile: str | Profile | None = None,
    channels: int | None = None,
    channel_map: Any = None,
    geometry: Any = None,
    samplerate: float | None = None,
    all_channels: bool = False,
    blocksize: int = 1024,
    queue_blocks: int = 64,
    on_loss: OnLoss = "raise",
    callback: Callable[[np.ndarray, int], None] | None = None,
    stall_timeout: float | None = None,
    **simulation: Any,
) -> Device:
    """Open a microphone array for capture (a context manager).

    Parameters
    ----------
    device : str, int, Profile or None
        A profile name (``"respeaker-usb-4mic"``), a PortAudio device index, a piece
        of a PortAudio device name (case-insensitive; spaces, underscores and hyphens
        alike), ``"sim:<profile or geometry>"`` for a
        :class:`~arraykit.hardware.SimulatedDevice` (keyword arguments such as
        ``scene=`` go to it), or a path to an audio file for a
        :class:`~arraykit.hardware.FileDevice`. None takes the first ready array.
    profile : str or Profile, optional
        Read the device with this profile instead of the one matched by name
        (``"generic-uac"`` for any USB Audio Class array).
    channels, channel_map, geometry, samplerate
        Overrides of the profile (what the generic profile needs).
    all_channels : bool
        Deliver every captured channel (then there is no geometry).
    blocksize : int
        Frames per block.
    queue_blocks : int
        Capacity of the bounded queue between PortAudio and the consumer.
    on_loss : {"raise", "warn", "ignore"}
        What :meth:`Device.record` does when frames were lost.
    callback : callable(block, first_frame), optional
        Streaming by callback: a worker thread takes each ``(M, B)`` float32 block
        from the bounded queue and calls ``callback(block, first_frame)`` (a callback
        slower than real time fills the queue: the dropped blocks are counted in
        ``overflows``). An exception in it stops the delivery and is raised again
        by ``close()``.
    stall_timeout : float, optional
        Seconds without audio after which the device counts as gone
        (default: the longer of 2 s and 8 blocks).

    Returns
    -------
    Device
        An :class:`~arraykit.hardware.InputDevice`, ``SimulatedDevice`` or
        ``FileDevice``: all have ``geometry``, ``fs``, ``blocks()``,
        ``record(seconds)``, ``overflows`` and work as context managers.
    """
    kind = cast(DeviceKind, importlib.import_module(KINDS[kind_of(device)]))
    options = OpenOptions(
        profile=profile,
        channels=channels,
        channel_map=channel_map,
        geometry=geometry,
        samplerate=samplerate,
        all_channels=all_channels,
        blocksize=blocksize,
        queue_blocks=queue_blocks,
        on_loss=on_loss,
        callback=callback,
        stall_timeout=stall_timeout,
    )
    return kind.open_device(device, options, simulation)
