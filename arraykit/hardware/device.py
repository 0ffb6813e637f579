"""What every capture device is: the :class:`Device` protocol and its small shared types.

A PortAudio array (:class:`~arraykit.hardware.capture.InputDevice`), a simulated one
(:class:`~arraykit.hardware.simulated.SimulatedDevice`) and a replayed file
(:class:`~arraykit.hardware.file.FileDevice`) all implement :class:`Device`, so code
written against one runs on the others; :func:`arraykit.hardware.open` returns one.
A new kind of device implements this protocol in one file and adds one entry to
:data:`arraykit.hardware.kinds.KINDS`.

Shapes: ``M`` microphones (rows of a block), ``B`` frames per block, ``N`` frames.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol, Self, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from arraykit.geometry import ArrayGeometry
    from arraykit.hardware.profiles import Profile

__all__ = ["Device", "FrameLossWarning", "OnLoss", "OpenOptions", "Overflow"]

OnLoss = Literal["raise", "warn", "ignore"]
"""What :meth:`Device.record` does when frames were lost."""


class FrameLossWarning(UserWarning):
    """Frames were lost and ``on_loss="warn"`` asked for a warning instead of an error."""


class Overflow(NamedTuple):
    """One frame-loss event.

    time : seconds since the stream started (by the frame count, at the device rate)
    frame : index of the first frame affected
    frames : frames lost (0 when PortAudio only flags an overflow without a count)
    source : ``"portaudio"`` (input overflow flag) or ``"queue"`` (consumer too slow)
    """

    time: float
    frame: int
    frames: int
    source: str


@dataclass(frozen=True)
class OpenOptions:
    """What :func:`arraykit.hardware.open` hands every device kind (each takes what applies
    to it; see ``open`` for the meaning of each)."""

    profile: str | Profile | None = None
    channels: int | None = None
    channel_map: Any = None
    geometry: Any = None
    samplerate: float | None = None
    all_channels: bool = False
    blocksize: int = 1024
    queue_blocks: int = 64
    on_loss: OnLoss = "raise"
    callback: Callable[[np.ndarray, int], None] | None = None
    stall_timeout: float | None = None


@runtime_checkable
class Device(Protocol):
    """A microphone array opened for capture: a context manager delivering ``(M, B)`` blocks.

    Attributes
    ----------
    name : str
        What to call the device in messages.
    profile : Profile
        The device profile in use (with the user's overrides).
    fs : int
        Sampling rate, Hz.
    channels : int
        Channels the device delivers before the channel map.
    channel_map : tuple of int
        Delivered channel of each output row.
    sample_format : str
        Format of raw blocks (``"int16"``, ``"int32"`` or ``"float32"``).
    overflows : list of Overflow
        Every frame-loss event so far.
    """

    name: str
    profile: Profile
    fs: int
    channels: int
    channel_map: tuple[int, ...]
    sample_format: str
    overflows: list[Overflow]

    @property
    def geometry(self) -> ArrayGeometry:
        """The array geometry; row ``m`` of every block is its microphone ``m``."""
        ...

    @property
    def n_outputs(self) -> int:
        """Rows of each block (M)."""
        ...

    @property
    def frames_captured(self) -> int:
        """Frames delivered so far (including any dropped)."""
        ...

    @property
    def lost_frames(self) -> int:
        """Frames known to be lost."""
        ...

    def loss_report(self, events: list[Overflow] | None = None) -> str:
        """One line on the frame-loss events (default: all so far)."""
        ...

    def start(self) -> Self:
        """Start delivering (the context manager does this)."""
        ...

    def close(self) -> None:
        """Stop; what was captured stays readable with :meth:`drain`."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def blocks(self) -> Iterator[np.ndarray]:
        """Blocks ``(M, B)`` float32 in geometry order, as they arrive."""
        ...

    def blocks_with_index(self, *, raw: bool = False) -> Iterator[tuple[int, np.ndarray]]:
        """Blocks with the index of their first frame (gaps are losses)."""
        ...

    def drain(self, *, raw: bool = False) -> list[tuple[int, np.ndarray]]:
        """Blocks still queued after :meth:`close`, with their first-frame index."""
        ...

    def record(self, seconds: float, *, on_loss: OnLoss | None = None) -> np.ndarray:
        """Record `seconds`: ``(M, N)`` float32 in geometry order."""
        ...
