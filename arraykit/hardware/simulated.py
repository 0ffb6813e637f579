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

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from arraykit import _validate as v
from arraykit.errors import DeviceError
from arraykit.geometry import ArrayGeometry, list_geometries, load_geometry
from arraykit.geometry.files import FILE_SUFFIXES
from arraykit.hardware.device import Device, OpenOptions
from arraykit.hardware.player import Player
from arraykit.hardware.profiles import Profile, list_profiles, load_profile, sample_rate

__all__ = ["SimulatedDevice", "accepts", "open_device", "render_path"]


PREFIX = "sim:"
MAX_RATE = 384_000
"""Hz: the highest rate audio devices deliver, and a simulated array renders at (10 MHz
rendered for minutes)."""


def accepts(device: object) -> bool:
    """``"sim:<profile or geometry>"``."""
    return isinstance(device, str) and device.startswith(PREFIX)


def open_device(device: str, o: OpenOptions, extra: dict[str, Any]) -> Device:
    """A :class:`SimulatedDevice`; `extra` (``scene=``, ``azimuth=``, ...) goes to it."""
    if o.callback is not None:
        raise v.fail("callback", o.callback, "is not supported by simulated devices")
    if o.profile is not None:  # the array simulated is the one named after sim:
        name = getattr(o.profile, "name", o.profile)
        why = f"a simulated device is the array named after sim: (sim:{name}): leave it out"
        raise v.fail("profile", name, why)
    return SimulatedDevice(
        device[len(PREFIX) :],
        samplerate=o.samplerate,
        blocksize=o.blocksize,
        all_channels=o.all_channels,
        channels=o.channels,
        channel_map=o.channel_map,
        geometry=o.geometry,
        **extra,
    )


def _profile_for(name: str) -> Profile:
    if name in list_profiles():
        return load_profile(name)
    if name in list_geometries() or Path(name).suffix.lower() in FILE_SUFFIXES:
        try:
            g = load_geometry(name)
        except v.InvalidArgumentError as exc:
            if exc.name != "name_or_path":  # a malformed file: its message names the field
                raise
            raise v.fail("device", f"sim:{name}", exc.why or str(exc)) from None
        return load_profile("generic-uac").with_options(
            channels=g.n_mics, channel_map=range(g.n_mics), geometry=name
        )
    raise v.fail(
        "device",
        f"sim:{name}",
        f"unknown array; use a profile ({', '.join(list_profiles())}), a geometry "
        f"({', '.join(list_geometries())}) or a geometry file ({'/'.join(FILE_SUFFIXES)})",
    )


class SimulatedDevice(Player):
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
                ".toml/.xml/.cfg file), or name a geometry after sim:"
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
            self.fs = sample_rate(self.profile.samplerate if samplerate is None else samplerate)
            if self.fs > MAX_RATE:
                raise v.fail(
                    "samplerate",
                    samplerate,
                    f"is above the {MAX_RATE} Hz a simulated array renders at",
                )
        self.scene = scene
        self._array: ArrayGeometry = g
        self._sources = sources
        self._azimuth = azimuth
        self._distance = float(distance)
        self._duration = float(duration)
        self._room = {"rt60": rt60, "room_dim": room_dim, "snr_db": snr_db, "seed": seed}
        self._seed = seed
        self._data: np.ndarray | None = None
        self._moving = False
        self._directions = np.zeros((0, 2))
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

        g = self._array
        kw: dict[str, Any] = self._room
        self._moving = False
        if self.scene is not None:
            mics = np.asarray(self.scene.signals)
            self._directions = np.asarray(self.scene.directions)
        else:
            az = np.atleast_1d(np.asarray(self._azimuth, dtype=float))
            if self._sources is not None:
                scene = sim.simulate(g, list(self._sources), self.fs, **kw)
                mics, self._directions = scene.signals, scene.directions
            else:
                dry = sim.speech_like(self._duration, self.fs, seed=self._seed)
                if az.size == 1:
                    scene = sim.simulate(
                        g, [sim.Source(dry, float(az[0]), 0.0, self._distance)], self.fs, **kw
                    )
                    mics, self._directions = scene.signals, scene.directions
                else:
                    self._moving = True
                    mics = render_path(g, dry, self.fs, az.tolist(), distance=self._distance, **kw)
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
