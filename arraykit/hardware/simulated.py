"""Devices without hardware: a simulated array in a room, and a file replayed as a device.

Both have the interface of :class:`arraykit.hardware.InputDevice` (``geometry``,
``fs``, ``blocks()``, ``record(seconds)``, ``overflows``, context manager), so code
written against a real array runs unchanged on them:

>>> import arraykit as ak
>>> with ak.hardware.open("sim:respeaker-usb-4mic", azimuth=60.0, duration=1.0, seed=1) as dev:
...     x = dev.record(0.5)
>>> x.shape, x.dtype, dev.geometry.name
((4, 8000), dtype('float32'), 'respeaker-usb-4mic')

:class:`SimulatedDevice` renders a pyroomacoustics room through
:func:`arraykit.sim.simulate` (one or more sources, optionally a source moving along
a path of azimuths, noise) or plays a :class:`arraykit.sim.Scene` you rendered; it
runs as fast as possible or paced in real time. :class:`FileDevice` replays a WAV
file.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from arraykit import _validate as v
from arraykit.errors import DeviceError
from arraykit.geometry import ArrayGeometry, list_geometries, load_geometry
from arraykit.hardware.capture import Overflow
from arraykit.hardware.profiles import Profile, list_profiles, load_profile

__all__ = ["FileDevice", "SimulatedDevice", "render_path"]


class _Player:
    """Shared: deliver rows of a ``(C, N)`` float32 array as device blocks."""

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
        self.index = None
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
            raise DeviceError(f"{self.name}: no geometry; pass geometry=")
        return g

    def start(self) -> Any:
        self._frames()
        self._open = True
        self._t0 = None
        return self

    def close(self) -> None:
        self._open = False

    def __enter__(self) -> Any:
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
            block = data[rows][:, idx]
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

    def record(self, seconds: float, *, on_loss: str | None = None) -> np.ndarray:
        """Record `seconds`: ``(M, N)`` float32 in geometry order."""
        n = round(v.positive("seconds", seconds) * self.fs)
        if not self.loop:
            left = self._frames().shape[1] - self._pos
            if n > left:
                raise v.fail("seconds", seconds, f"only {left / self.fs:.3f} s are left to replay")
        parts, got = [], 0
        for _, block in self.blocks_with_index():
            parts.append(block[:, : n - got])
            got += parts[-1].shape[1]
            if got >= n:
                break
        return np.concatenate(parts, axis=1)


def _profile_for(name: str) -> Profile:
    if name in list_profiles():
        return load_profile(name)
    if name in list_geometries() or Path(name).suffix in (".toml", ".xml"):
        g = load_geometry(name)
        return load_profile("generic-uac").with_options(
            channels=g.n_mics, channel_map=range(g.n_mics), geometry=name
        )
    raise v.fail(
        "device",
        f"sim:{name}",
        f"unknown array; use a profile ({', '.join(list_profiles())}) or a geometry "
        f"({', '.join(list_geometries())})",
    )


class SimulatedDevice(_Player):
    """A simulated microphone array with the interface of a real one.

    Parameters
    ----------
    name : str
        A device profile (``"respeaker-usb-4mic"``: its geometry, channel layout and
        rate) or a geometry name (every channel a microphone).
    scene : arraykit.sim.Scene, optional
        Play this rendered scene (its ``signals`` and ``fs``). Otherwise a room is
        rendered from the options below.
    sources : sequence of arraykit.sim.Source, optional
        The sources (default: one speech-like source at `azimuth`, `distance`).
    azimuth : float or sequence of float
        Azimuth (degrees, array frame) of the default source; a sequence makes it
        move along that path of azimuths, evenly in time (rendered in segments).
    distance, duration, rt60, snr_db, room_dim, seed
        Room and source options for :func:`arraykit.sim.simulate`.
    samplerate : float, optional
        Sampling rate (default: the profile's).
    blocksize : int
        Frames per block.
    realtime : bool
        Pace blocks in real time (like a device) instead of as fast as possible.
    loop : bool
        Start over at the end (a device never ends); False ends the stream there.
    all_channels : bool
        Deliver every channel the real device would (non-microphone ones are zeros).
    channels, channel_map, geometry : optional
        Overrides of the profile, as for a real device (what ``generic-uac`` needs).
    """

    def __init__(
        self,
        name: str = "respeaker-usb-4mic",
        *,
        scene: Any = None,
        sources: Sequence[Any] | None = None,
        azimuth: float | Sequence[float] = 60.0,
        distance: float = 1.5,
        duration: float = 4.0,
        rt60: float = 0.25,
        snr_db: float | None = 25.0,
        room_dim: Sequence[float] = (6.0, 5.0, 3.0),
        seed: int | None = 0,
        samplerate: float | None = None,
        blocksize: int = 1024,
        realtime: bool = False,
        loop: bool = True,
        all_channels: bool = False,
        on_loss: str = "raise",
        channels: int | None = None,
        channel_map: Sequence[int] | None = None,
        geometry: Any = None,
        **ignored: Any,
    ) -> None:
        self.profile = _profile_for(name)
        if channels is not None or channel_map is not None or geometry is not None:
            # what a generic profile needs (sim:generic-uac --channels ... --geometry ...)
            self.profile = self.profile.with_options(
                channels=channels, channel_map=channel_map, geometry=geometry
            )
        self.name = (
            f"simulated array {name!r}"
            if self.profile.name == "generic-uac"
            else f"simulated {self.profile.title}"
        )
        g = self.profile.geometry
        if g is None:
            raise DeviceError(
                f"sim:{name} has no geometry: give one (geometry=..., --geometry NAME or a "
                ".toml/.xml file), or name a geometry after sim:"
            )
        if scene is not None:
            if scene.signals.shape[0] != g.n_mics:
                raise v.fail(
                    "scene",
                    scene.signals,
                    f"has {scene.signals.shape[0]} channels; {name} has {g.n_mics} microphones",
                )
            self.fs = int(scene.fs)
        else:
            self.fs = round(v.positive("samplerate", samplerate or self.profile.samplerate))
        self.scene = scene
        self._options = {
            "sources": sources,
            "azimuth": azimuth,
            "distance": distance,
            "duration": duration,
            "rt60": rt60,
            "snr_db": snr_db,
            "room_dim": room_dim,
            "seed": seed,
        }
        self._data: np.ndarray | None = None
        channels = self.profile.channels or g.n_mics
        self._setup(
            blocksize=blocksize,
            realtime=realtime,
            loop=loop,
            all_channels=all_channels,
            channel_map=self.profile.channel_map or range(g.n_mics),
            channels=channels,
        )

    @property
    def directions(self) -> np.ndarray | None:
        """True source directions ``(K, 2)`` of the rendered scene (None for a moving one)."""
        self._frames()
        return None if self._moving else self._directions

    def _frames(self) -> np.ndarray:
        if self._data is not None:
            return self._data
        from arraykit import sim  # room simulation is a layer below, imported when used

        g = self.profile.geometry
        o = self._options
        self._moving = False
        if self.scene is not None:
            mics = np.asarray(self.scene.signals)
            self._directions = np.asarray(self.scene.directions)
        else:
            az = np.atleast_1d(np.asarray(o["azimuth"], dtype=float))
            kw = {
                "rt60": o["rt60"],
                "room_dim": o["room_dim"],
                "snr_db": o["snr_db"],
                "seed": o["seed"],
            }
            if o["sources"] is not None:
                scene = sim.simulate(g, list(o["sources"]), self.fs, **kw)
                mics, self._directions = scene.signals, scene.directions
            else:
                dry = sim.speech_like(o["duration"], self.fs, seed=o["seed"])
                if az.size == 1:
                    scene = sim.simulate(
                        g, [sim.Source(dry, float(az[0]), 0.0, o["distance"])], self.fs, **kw
                    )
                    mics, self._directions = scene.signals, scene.directions
                else:
                    self._moving = True
                    mics = render_path(g, dry, self.fs, az, distance=o["distance"], **kw)
                    self._directions = np.stack([az, np.zeros_like(az)], axis=1)
        peak = float(np.max(np.abs(mics))) or 1.0
        mics = mics * (0.5 / peak)  # a device delivers full-scale-bounded samples
        data = np.zeros((self.profile.channels or g.n_mics, mics.shape[1]), dtype=np.float32)
        cmap = self.profile.channel_map or tuple(range(g.n_mics))
        data[list(cmap)] = mics
        self._data = data
        return data


def render_path(
    geometry: ArrayGeometry,
    signal: np.ndarray,
    fs: int,
    azimuths: Sequence[float],
    *,
    distance: float = 1.5,
    elevation: float = 0.0,
    **simulate_options: Any,
) -> np.ndarray:
    """Render a source moving along `azimuths` (evenly in time): ``(M, N)``.

    The signal is cut into ``len(azimuths)`` segments; each is rendered at its
    azimuth with :func:`arraykit.sim.simulate` and the results are overlap-added
    (a piecewise-static approximation of motion, fine for segments of 0.1 s or more).
    Noise is added once to the whole (``snr_db``), not per segment.
    """
    from arraykit import sim

    x = v.finite_array("signal", signal, ndim=1)
    az = v.finite_array("azimuths", azimuths, ndim=1)
    snr_db = simulate_options.pop("snr_db", None)
    seed = simulate_options.pop("seed", None)
    edges = np.linspace(0, x.size, az.size + 1).round().astype(int)
    pieces = []
    for k in range(az.size):
        seg = x[edges[k] : edges[k + 1]]
        if seg.size == 0:
            continue
        scene = sim.simulate(
            geometry, [sim.Source(seg, float(az[k]), elevation, distance)], fs, **simulate_options
        )
        pieces.append((edges[k], np.asarray(scene.signals)))
    n = max(start + p.shape[1] for start, p in pieces)
    out = np.zeros((geometry.n_mics, n))
    for start, p in pieces:
        out[:, start : start + p.shape[1]] += p
    if snr_db is not None:
        noise = np.random.default_rng(seed).standard_normal(out.shape)
        out += noise * np.sqrt(np.mean(out**2) / (np.mean(noise**2) * 10 ** (snr_db / 10)))
    return out


class FileDevice(_Player):
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

    def _frames(self) -> np.ndarray:
        return self._data
