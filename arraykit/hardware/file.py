"""A recorded audio file replayed as a device (a :class:`~arraykit.hardware.device.Device`).

>>> import arraykit as ak  # doctest: +SKIP
>>> with ak.hardware.open("take.wav", geometry="respeaker-usb-4mic") as dev:  # doctest: +SKIP
...     x = dev.record(1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from arraykit import _validate as v
from arraykit.hardware.device import Device, OpenOptions
from arraykit.hardware.player import Player
from arraykit.hardware.profiles import Profile, load_profile

__all__ = ["FileDevice", "accepts", "open_device"]

SUFFIXES = (".wav", ".flac", ".w64", ".rf64", ".aiff", ".aif", ".caf", ".ogg")
"""The audio files soundfile reads that a recording comes in (the commands call these audio)."""


def accepts(device: object) -> bool:
    """A path ending in one of :data:`SUFFIXES`."""
    return isinstance(device, str | Path) and Path(device).suffix.lower() in SUFFIXES


def open_device(device: str | Path, o: OpenOptions, extra: dict[str, Any]) -> Device:
    """A :class:`FileDevice` (`extra` may hold ``realtime=`` and ``loop=``)."""
    return FileDevice(
        device,
        geometry=o.geometry,
        channel_map=o.channel_map,
        profile=o.profile,
        blocksize=o.blocksize,
        all_channels=o.all_channels,
        realtime=bool(extra.get("realtime", False)),
        loop=bool(extra.get("loop", False)),
    )


def _check_float32(path: Path, data: np.ndarray) -> None:
    """Refuse samples ``(C, N)`` that the float32 blocks of a device cannot hold (a float
    file may hold NaN, 1e200 or 1e-300), naming the file."""
    finite = np.isfinite(data)
    if not finite.all():
        frame, ch = divmod(int(np.flatnonzero(~finite.T)[0]), data.shape[0])
        raise v.fail(
            "path",
            str(path),
            f"holds NaN or infinite samples (the first at frame {frame}, channel {ch}): "
            "nothing can be measured through them; cut or repair that part",
        )
    peak = float(np.max(np.abs(data)))
    big, tiny = float(np.finfo(np.float32).max), float(np.finfo(np.float32).tiny)
    if peak > big or 0 < peak < tiny:
        where = (
            f"beyond float32's range ({big:.3g})"
            if peak > 1
            else (f"below float32's smallest normal ({tiny:.3g})")
        )
        raise v.fail(
            "path",
            str(path),
            f"peak {peak:.3g} lies {where}, in which files are replayed as devices deliver: "
            "scale the recording to a peak near 1",
        )


class FileDevice(Player):
    """Replay an audio file as if it were a device.

    Parameters
    ----------
    path : str or Path
        A WAV (or FLAC, ...) file.
    geometry : str, Path or ArrayGeometry, optional
        The array that recorded it (needed for ``geometry``).
    channel_map : sequence of int, optional
        File channel of each microphone, in geometry order (default: every channel).
    profile : str, optional
        Take geometry and channel map from a device profile instead.
    blocksize, realtime, loop, all_channels
        As for :class:`SimulatedDevice` (`loop` defaults to False: the stream ends
        with the file).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        geometry: Any = None,
        channel_map: Sequence[int] | None = None,
        profile: str | Profile | None = None,
        blocksize: int = 1024,
        realtime: bool = False,
        loop: bool = False,
        all_channels: bool = False,
        **ignored: Any,
    ) -> None:
        import soundfile as sf

        from arraykit.io import read_audio

        p = Path(path)
        data, fs = read_audio(p)
        if data.shape[-1] == 0:
            raise v.fail("path", str(p), "holds no audio frames (0 samples): nothing to read")
        _check_float32(p, data)
        self.path = p
        self.fs = int(fs)
        self.name = f"file {p.name}"
        info = sf.info(str(p))
        self._subtype = info.subtype
        base = load_profile(profile) if profile is not None else load_profile("generic-uac")
        channels = data.shape[0]
        cmap = (
            channel_map
            if channel_map is not None
            else (base.channel_map if profile is not None and base.channel_map else range(channels))
        )
        self.profile = base.with_options(channel_map=cmap, geometry=geometry, samplerate=fs)
        cm = self.profile.channel_map or tuple(range(channels))
        if max(cm) >= channels:
            raise v.fail("channel_map", channel_map, f"needs channel {max(cm)} of {channels}")
        g = self.profile.geometry
        if g is not None and len(cm) != g.n_mics and not all_channels:
            raise v.fail(
                "channel_map", cm, f"has {len(cm)} channels but the geometry has {g.n_mics} mics"
            )
        self._data = data.astype(np.float32)
        self._setup(
            blocksize=blocksize,
            realtime=realtime,
            loop=loop,
            all_channels=all_channels,
            channel_map=cm,
            channels=channels,
        )

    @property
    def n_frames(self) -> int:
        """The recording's length in frames (samples per channel)."""
        return int(self._data.shape[-1])

    def _frames(self) -> np.ndarray:
        return self._data
