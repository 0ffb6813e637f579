"""Capture from a microphone array through PortAudio, with no silent frame loss.

:func:`open` returns an :class:`InputDevice`, a context manager whose
``geometry`` is the array's (channel map applied) and whose blocks are ``(M, B)``
float32 rows in geometry order. The PortAudio callback only copies each block into
a bounded queue; a full queue drops the block and *counts* it, and every PortAudio
input-overflow flag is counted too, each with the time it happened
(:class:`Overflow`). :meth:`InputDevice.record` raises :class:`FramesLostError`
(or warns, by option) when any frame was lost.

The shapes: ``M`` microphones (or all captured channels with ``all_channels=True``),
``B`` frames per block, ``N`` frames in a recording.
"""

from __future__ import annotations

import logging
import queue
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Self

import numpy as np

from arraykit import _validate as v
from arraykit.errors import DeviceError
from arraykit.geometry import ArrayGeometry
from arraykit.hardware._backend import (
    DeviceDisconnectedError,
    DeviceNotFoundError,
    FramesLostError,
    import_sounddevice,
    release_stream,
)
from arraykit.hardware.device import Device, FrameLossWarning, OnLoss, OpenOptions, Overflow
from arraykit.hardware.discovery import GENERIC, list_devices, resolve
from arraykit.hardware.profiles import Firmware, Profile

__all__ = ["InputDevice", "accepts", "open_device"]

log = logging.getLogger(__name__)

_SCALE = {"int16": 2.0**-15, "int32": 2.0**-31, "float32": 1.0}


class InputDevice:
    """A microphone array opened for capture (use :func:`open`).

    Attributes
    ----------
    profile : Profile
        The profile in use (with the user's overrides).
    name : str
        The PortAudio device name.
    fs : int
        Sampling rate in Hz.
    channels : int
        Channels captured from the device.
    channel_map : tuple of int
        Captured channel of each output row (all channels with ``all_channels=True``).
    overflows : list of Overflow
        Every frame-loss event so far.
    """

    def __init__(
        self,
        profile: Profile,
        info: dict[str, Any],
        *,
        all_channels: bool = False,
        blocksize: int = 1024,
        queue_blocks: int = 64,
        on_loss: OnLoss = "raise",
        callback: Callable[[np.ndarray, int], None] | None = None,
        stall_timeout: float | None = None,
    ) -> None:
        self.profile = profile
        self.info = info
        self.name: str = info["name"]
        self.index: int = info["index"]
        fw = _firmware(profile, info["channels"])
        self.firmware: Firmware | None = fw
        self.channels = profile.channels_override or (fw.channels if fw else info["channels"])
        if profile.channel_map_override is not None:
            cmap = profile.channel_map_override
        elif fw is not None:
            cmap = fw.channel_map
        else:
            cmap = tuple(range(self.channels))
        if max(cmap) >= self.channels:
            raise v.fail("channel_map", cmap, f"needs channel {max(cmap)} of {self.channels}")
        self.all_channels = bool(all_channels)
        self.channel_map: tuple[int, ...] = (
            tuple(range(self.channels)) if self.all_channels else tuple(cmap)
        )
        if profile.samplerate_override is not None:
            self.fs = profile.samplerate_override  # what the user asked for, or an error
        elif profile.name == GENERIC and profile.channels_override is None:
            self.fs = round(info["samplerate"])
        else:
            self.fs = int(profile.samplerate)
        self.blocksize = int(v.positive("blocksize", blocksize))
        self.queue_blocks = int(v.positive("queue_blocks", queue_blocks))
        self.on_loss: OnLoss = v.choice("on_loss", on_loss, ("raise", "warn", "ignore"))  # type: ignore[assignment]
        self.stall_timeout = (
            float(stall_timeout)
            if stall_timeout is not None
            else max(2.0, 8 * self.blocksize / self.fs)
        )
        self._callback_fn = callback
        self.sample_format: str = profile.sample_format  # of raw blocks
        self._scale = _SCALE[profile.sample_format]
        self._map = np.asarray(self.channel_map)
        self.overflows: list[Overflow] = []
        self._queue: queue.Queue[tuple[int, np.ndarray]] = queue.Queue(self.queue_blocks)
        self._frames_in = 0
        self._frames_out = 0
        self._stream: Any = None
        self._finished = threading.Event()
        self._closing = False
        self._close_lock = threading.Lock()
        self._error: BaseException | None = None
        self._dead = False
        self._worker: threading.Thread | None = None
        if fw is not None and not fw.doa:
            log.warning("%s: %s firmware: %s", self.name, fw.name, fw.advice)

    # -- geometry and bookkeeping ------------------------------------------------------

    @property
    def geometry(self) -> ArrayGeometry:
        """The array geometry; row ``m`` of every block is microphone ``m`` of it."""
        fw = self.firmware
        if fw is not None and not fw.doa and self.profile.channel_map_override is None:
            raise DeviceError(
                f"{self.name}: {fw.name} firmware has no raw microphones: {fw.advice}"
            )
        g = self.profile.geometry
        if g is None:
            raise DeviceError(
                f"{self.name}: no geometry known for profile {self.profile.name!r}; "
                "pass geometry= (a name, a file or an ArrayGeometry) to open()"
            )
        if self.all_channels:
            raise DeviceError(
                "all_channels=True captures non-microphone channels too: there is no geometry "
                "for them; use the default channel map for localisation"
            )
        return g

    @property
    def n_outputs(self) -> int:
        """Rows of each block (M)."""
        return len(self.channel_map)

    @property
    def frames_captured(self) -> int:
        """Frames PortAudio has delivered so far (including any the queue dropped)."""
        return self._frames_in

    @property
    def lost_frames(self) -> int:
        """Frames known to be lost (queue drops; PortAudio overflows have no count)."""
        return sum(o.frames for o in self.overflows)

    def loss_report(self, events: list[Overflow] | None = None) -> str:
        """One line: how many loss events (default: all so far), of which kind, and when."""
        events = self.overflows if events is None else events
        if not events:
            return "no frames lost"
        q = [o for o in events if o.source == "queue"]
        pa = [o for o in events if o.source == "portaudio"]
        when = ", ".join(f"{o.time:.2f} s" for o in events[:5])
        more = " ..." if len(events) > 5 else ""
        return (
            f"{len(events)} frame-loss event(s): {len(pa)} PortAudio input overflow(s), "
            f"{len(q)} queue overflow(s) dropping {sum(o.frames for o in q)} frames; "
            f"at {when}{more}"
        )

    # -- stream life cycle ---------------------------------------------------------------

    def start(self) -> Self:
        """Open and start the PortAudio stream (the context manager does this)."""
        if self._stream is not None:
            return self
        sd = import_sounddevice()
        self._finished.clear()
        self._closing = False
        self._dead = False
        self.drain()  # blocks left from an earlier start belong to that session
        try:
            self._stream = sd.InputStream(
                device=self.index,
                channels=self.channels,
                samplerate=self.fs,
                dtype=self.profile.sample_format,
                blocksize=self.blocksize,
                callback=self._on_block,
                finished_callback=self._finished.set,
            )
            self._stream.start()
            if self._callback_fn is not None:
                self._worker = threading.Thread(target=self._pump, daemon=True)
                self._worker.start()
        except sd.PortAudioError as exc:
            self._stream = None
            raise DeviceError(
                f"cannot open {self.name!r} with {self.channels} channels at {self.fs} Hz "
                f"({self.profile.sample_format}): {exc} (the device's default rate is "
                f"{self.info['samplerate']:g} Hz; a JACK server runs at its own rate only)"
            ) from None
        return self

    def close(self) -> None:
        """Stop and close the stream; the queue keeps what was captured.

        The stream is released in a helper thread with a time limit (1 s for a
        device known to be gone, 3 s otherwise): PortAudio can block forever
        stopping a stream whose server or device vanished, and closing must not hang
        the program. What was captured is in the queue either way. Safe to call from
        several threads (the first call releases the stream).
        """
        with self._close_lock:
            stream, self._stream = self._stream, None
        self._closing = True
        if stream is None:
            return
        self._release_in_thread(stream, 1.0 if self._dead else 3.0)
        worker, self._worker = self._worker, None
        if worker is not None and worker is not threading.current_thread():
            worker.join(5.0)  # delivers what is still queued
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _pump(self) -> None:
        """The callback worker: hands every queued block to the user's callback."""
        assert self._callback_fn is not None
        try:
            for start, block in self.blocks_with_index():
                self._callback_fn(block, start)
        except BaseException as exc:  # re-raised by close()
            self._error = exc
            log.error("%s: callback stopped: %s", self.name, exc)

    def _release_in_thread(self, stream: Any, timeout: float) -> None:
        # Pa_Terminate would wait on a stuck stream forever at interpreter exit (seen with
        # a JACK server that went away): release_stream skips sounddevice's exit hook then
        if not release_stream(stream, self.name, timeout):
            log.warning("%s: PortAudio did not release the stream in %.0f s", self.name, timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _on_block(self, indata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
        # PortAudio's thread: no allocation beyond one copy, never block.
        start = self._frames_in
        self._frames_in += frames
        if status.input_overflow:
            self.overflows.append(Overflow(start / self.fs, start, 0, "portaudio"))
        try:
            self._queue.put_nowait((start, indata.copy()))
        except queue.Full:
            self.overflows.append(Overflow(start / self.fs, start, frames, "queue"))

    def _convert(self, raw: np.ndarray, *, scaled: bool = True) -> np.ndarray:
        if not scaled:
            return np.ascontiguousarray(raw[:, self._map].T)
        out = raw[:, self._map].T.astype(np.float32)
        if self._scale != 1.0:
            out *= np.float32(self._scale)
        return out

    # -- reading -------------------------------------------------------------------------

    def blocks_with_index(self, *, raw: bool = False) -> Iterator[tuple[int, np.ndarray]]:
        """Like :meth:`blocks`, with the index of each block's first frame (gaps = losses).

        ``raw=True`` gives the samples as captured (``profile.sample_format``, e.g.
        int16) instead of float32 scaled to [-1, 1).
        """
        if self._stream is None:
            self.start()
        waited = 0.0
        while True:
            try:
                start, data = self._queue.get(timeout=0.05)
            except queue.Empty:
                if self._error is not None:
                    raise self._error from None
                waited += 0.05
                if self._closing:
                    return
                if self._finished.is_set() or waited > self.stall_timeout:
                    self._dead = True
                    why = (
                        "stream stopped"
                        if self._finished.is_set()
                        else (f"no audio for {waited:.1f} s")
                    )
                    raise DeviceDisconnectedError(
                        f"{self.name}: {why} after {self._frames_in} frames "
                        f"({self._frames_in / self.fs:.2f} s): was the device unplugged?"
                    ) from None
                continue
            waited = 0.0
            self._frames_out = start + data.shape[0]
            yield start, self._convert(data, scaled=not raw)

    def blocks(self) -> Iterator[np.ndarray]:
        """Blocks ``(M, B)`` float32 in geometry order, as they arrive (starts the stream).

        Blocks the consumer was too slow for are dropped by the bounded queue and
        counted in :attr:`overflows`; a device that stops delivering audio raises
        :class:`DeviceDisconnectedError`.
        """
        for _, block in self.blocks_with_index():
            yield block

    def drain(self, *, raw: bool = False) -> list[tuple[int, np.ndarray]]:
        """Blocks still queued (after :meth:`close`), with their first-frame index."""
        out: list[tuple[int, np.ndarray]] = []
        while True:
            try:
                start, data = self._queue.get_nowait()
            except queue.Empty:
                return out
            out.append((start, self._convert(data, scaled=not raw)))

    def record(self, seconds: float, *, on_loss: OnLoss | None = None) -> np.ndarray:
        """Record `seconds` of audio: ``(M, N)`` float32 in geometry order.

        Lost frames are left as zeros at their place (the timing is kept), and
        then, by `on_loss` (default: the device's), a :class:`FramesLostError`
        is raised (``"raise"``, carrying the recording), a
        :class:`FrameLossWarning` is issued (``"warn"``), or nothing (``"ignore"``).
        A device that goes away raises :class:`DeviceDisconnectedError` carrying
        what was recorded.
        """
        n = round(v.positive("seconds", seconds) * self.fs)
        policy = v.choice("on_loss", on_loss or self.on_loss, ("raise", "warn", "ignore"))
        out = np.zeros((self.n_outputs, n), dtype=np.float32)
        before = len(self.overflows)
        first: int | None = None
        got = 0
        try:
            for start, block in self.blocks_with_index():
                if first is None:
                    first = start
                pos = start - first
                take = min(block.shape[1], n - pos)
                if take > 0:
                    out[:, pos : pos + take] = block[:, :take]
                got = pos + max(take, 0)
                if got >= n:
                    break
        except DeviceDisconnectedError as exc:
            exc.signals = out[:, :got]
            raise
        # Losses inside the recorded span (a full queue before record() was called
        # leaves a gap after the stale blocks), and any during this call.
        lo = first if first is not None else 0
        during = set(self.overflows[before:])
        lost = [o for o in self.overflows if lo <= o.frame < lo + n or o in during]
        if lost and policy != "ignore":
            msg = f"{self.name}: frames lost while recording {seconds} s: {self.loss_report(lost)}"
            if policy == "raise":
                raise FramesLostError(msg, lost, out)
            warnings.warn(msg, FrameLossWarning, stacklevel=2)
        return out


def _firmware(profile: Profile, reported: int) -> Firmware | None:
    if profile.channels_override is not None or not profile.firmwares:
        return None
    fw = profile.firmware_for(reported)
    if fw is None and reported > max(f.channels for f in profile.firmwares):
        fw = profile.firmware
    if fw is None:
        raise DeviceError(
            f"the device reports {reported} input channel(s), which no firmware of profile "
            f"{profile.name!r} has ({', '.join(f'{f.name}: {f.channels}' for f in profile.firmwares)})"
        )
    return fw


def accepts(device: object) -> bool:
    """The PortAudio kind takes whatever the other kinds did not (see ``hardware.kinds``)."""
    return True


def open_device(device: Any, o: OpenOptions, extra: dict[str, Any]) -> Device:
    """Open a PortAudio input (see :func:`arraykit.hardware.open` for the options)."""
    if extra:
        raise v.fail("options", sorted(extra), "are only for simulated devices ('sim:...')")
    if device is None:
        ready = [d for d in list_devices(usb=False) if d.usable]
        if not ready:
            found = "; ".join(f"{d.name}: {d.reason}" for d in list_devices(usb=False))
            raise DeviceNotFoundError(
                f"no microphone array found; inputs present: {found or 'none'}"
            )
        device = ready[0].index
    prof, info = resolve(device, profile=o.profile)
    prof = prof.with_options(
        channels=o.channels, channel_map=o.channel_map, geometry=o.geometry, samplerate=o.samplerate
    )
    return InputDevice(
        prof,
        info,
        all_channels=o.all_channels,
        blocksize=o.blocksize,
        queue_blocks=o.queue_blocks,
        on_loss=o.on_loss,
        callback=o.callback,
        stall_timeout=o.stall_timeout,
    )
