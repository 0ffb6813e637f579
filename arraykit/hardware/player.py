"""The shared player behind the devices without hardware (simulated arrays, replayed files).

:class:`Player` implements :class:`~arraykit.hardware.device.Device` for any
``(C, N)`` float32 array of channels: blocks in geometry order through the channel
map, optional real-time pacing and looping, no frame loss.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Self

import numpy as np

from arraykit import _validate as v
from arraykit.errors import DeviceError
from arraykit.geometry import ArrayGeometry
from arraykit.hardware.device import OnLoss, Overflow
from arraykit.hardware.profiles import Profile

__all__ = ["Player"]


class Player:
    """Deliver the rows of a ``(C, N)`` float32 array as device blocks (a :class:`Device`).

    A subclass sets ``profile``, ``name`` and ``fs``, provides :meth:`_frames` and
    calls :meth:`_setup`.
    """

    profile: Profile
    name: str
    fs: int

    def _setup(
        self,
        *,
        blocksize: int,
        realtime: bool,
        loop: bool,
        all_channels: bool,
        channel_map: Sequence[int],
        channels: int,
    ) -> None:
        self.blocksize = int(v.positive("blocksize", blocksize))
        self.sample_format = "float32"
        self.realtime = bool(realtime)
        self.loop = bool(loop)
        self.channels = int(channels)
        self.all_channels = bool(all_channels)
        self.channel_map = tuple(range(channels)) if all_channels else tuple(channel_map)
        self.overflows: list[Overflow] = []
        self.index: int | None = None
        self._pos = 0
        self._t0: float | None = None
        self._open = False

    # what a real device has
    @property
    def n_outputs(self) -> int:
        return len(self.channel_map)

    @property
    def frames_captured(self) -> int:
        return self._pos

    @property
    def lost_frames(self) -> int:
        return 0

    def loss_report(self, events: list[Overflow] | None = None) -> str:
        return "no frames lost"

    def _frames(self) -> np.ndarray:  # (C, N) float32, overridden
        raise NotImplementedError

    @property
    def geometry(self) -> ArrayGeometry:
        if self.all_channels:
            raise DeviceError(
                "all_channels=True delivers non-microphone channels too: there is no geometry "
                "for them; use the default channel map for localisation"
            )
        g = self.profile.geometry
        if g is None:
            raise DeviceError(
                f"{self.name}: no geometry known: give the array's geometry (--geometry NAME "
                "or FILE on the command line, geometry= in Python)"
            )
        return g

    def start(self) -> Self:
        self._frames()
        self._open = True
        self._t0 = None
        return self

    def close(self) -> None:
        self._open = False

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def blocks_with_index(self, *, raw: bool = False) -> Iterator[tuple[int, np.ndarray]]:
        """Blocks ``(M, B)`` float32 with the index of their first frame."""
        if not self._open:
            self.start()
        data = self._frames()
        total = data.shape[1]
        rows = np.asarray(self.channel_map)
        while self._open:
            start = self._pos
            if not self.loop and start >= total:
                return
            idx = np.arange(start, start + self.blocksize)
            if self.loop:
                idx %= total
            else:
                idx = idx[idx < total]
            block = data[np.ix_(rows, idx)]  # this block alone (data[rows] copied it all)
            if self.realtime:
                if self._t0 is None:
                    self._t0 = time.monotonic() - start / self.fs
                due = self._t0 + (start + len(idx)) / self.fs
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            self._pos = start + len(idx)
            yield start, block

    def blocks(self) -> Iterator[np.ndarray]:
        """Blocks ``(M, B)`` float32 in geometry order."""
        for _, b in self.blocks_with_index():
            yield b

    def drain(self, *, raw: bool = False) -> list[tuple[int, np.ndarray]]:
        return []

    def record(self, seconds: float, *, on_loss: OnLoss | None = None) -> np.ndarray:
        """Record `seconds`: ``(M, N)`` float32 in geometry order."""
        n = round(v.positive("seconds", seconds) * self.fs)
        if not self.loop:
            left = self._frames().shape[1] - self._pos
            if n > left:
                raise v.fail("seconds", seconds, f"only {left / self.fs:.3f} s are left to replay")
        parts: list[np.ndarray] = []
        got = 0
        for _, block in self.blocks_with_index():
            parts.append(block[:, : n - got])
            got += parts[-1].shape[1]
            if got >= n:
                break
        return np.concatenate(parts, axis=1)
