"""Where the pipeline's results go: JSON lines, growing per-track WAV files, a speaker.

- :class:`JsonLines`: one JSON object per block, written whole and flushed, to a
  file, stdout (``"-"``) or a UDP port on this machine (``"udp://127.0.0.1:PORT"``,
  one datagram per line). A crash between lines never leaves half a line in a file:
  each line goes out in one ``write`` of the complete text.
- :class:`GrowingWav`: a 16-bit PCM WAV whose header is rewritten after every append,
  so a process killed at any moment (even by SIGKILL) leaves a valid file holding
  every sample written before the last completed append.
- :class:`TrackFiles`: ``track-<id>.wav`` per track, sample-aligned with the input
  (zeros before a track was born and after it ended).
- :class:`Player`: the strongest track's voice to a PortAudio output (sounddevice).
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import time
from pathlib import Path
from typing import IO, Any

import numpy as np

from arraykit import _validate as v

__all__ = ["GrowingWav", "JsonLines", "Player", "TrackFiles"]


class JsonLines:
    """A sink of JSON lines: a path, ``"-"`` (stdout) or ``"udp://HOST:PORT"`` (localhost).

    `name` is what an error calls the target (the CLI passes its flag, ``"--json"``).
    """

    def __init__(self, target: str | Path, *, name: str = "json") -> None:
        self.target = str(target)
        self.name = name
        self._file: IO[str] | None = None
        self._fd: int | None = None  # a file target: one write() per line, nothing buffered
        self._sock: socket.socket | None = None
        self._addr: tuple[str, int] | None = None
        if self.target == "-":
            self._file = sys.stdout
        elif self.target[:6].lower() == "udp://":  # a URL's scheme: any case
            host, _, port = self.target[len("udp://") :].rpartition(":")
            if host.startswith("[") and host.endswith("]"):  # a URL's IPv6 host: [::1]
                host = host[1:-1]
            if host not in ("127.0.0.1", "localhost", "::1") or not port.isdigit():
                raise v.fail(name, target, "must be udp://127.0.0.1:PORT (this machine only)")
            if not 1 <= int(port) <= 65535:
                raise v.fail(name, target, "the port must lie in 1..65535")
            self._addr = (host, int(port))
            self._sock = socket.socket(
                socket.AF_INET6 if host == "::1" else socket.AF_INET, socket.SOCK_DGRAM
            )
        else:
            # each line goes to the file in one write() system call on an unbuffered
            # descriptor, so a SIGKILL leaves whole lines only (a buffered writer can
            # hand a line to the kernel in two pieces)
            # (mode 0o666 before the umask, as open() gives: a data file, not a program)
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND
            try:
                self._fd = os.open(self.target, flags, 0o666)
            except OSError as exc:
                raise v.fail(name, target, f"cannot be written: {exc.strerror}") from None

    def write(self, obj: dict[str, Any]) -> None:
        line = json.dumps(obj, separators=(",", ":")) + "\n"
        if self._sock is not None and self._addr is not None:
            self._sock.sendto(line.encode("utf-8"), self._addr)
            return
        if self._fd is not None:
            data = line.encode("utf-8")
            if os.write(self._fd, data) != len(data):
                raise OSError(f"{self.target}: a JSON line was written only in part (disk full?)")
            return
        assert self._file is not None
        self._file.write(line)
        self._file.flush()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class GrowingWav:
    """A mono (or multichannel) 16-bit PCM WAV file that is valid after every :meth:`append`."""

    HEADER = 44
    MAX_BYTES = 0xFFFFFFFF - 36
    """The most sample bytes a WAV's 32-bit RIFF size can count (4 GiB less its header)."""

    @classmethod
    def max_frames(cls, channels: int = 1) -> int:
        """The most frames a file of `channels` holds: 37.3 h of mono at 16 kHz, 12.4 h at 48 kHz."""
        return cls.MAX_BYTES // (2 * channels)

    def __init__(self, path: str | Path, fs: int, channels: int = 1) -> None:
        self.path = Path(path)
        self.fs = int(fs)
        self.channels = int(channels)
        self.frames = 0
        self._f = open(self.path, "w+b")
        self._f.write(self._header(0))
        self._f.flush()

    def _header(self, n_bytes: int) -> bytes:
        block = 2 * self.channels
        return b"".join(
            [
                b"RIFF",
                struct.pack("<I", 36 + n_bytes),
                b"WAVEfmt ",
                struct.pack("<IHHIIHH", 16, 1, self.channels, self.fs, self.fs * block, block, 16),
                b"data",
                struct.pack("<I", n_bytes),
            ]
        )

    def append(self, samples: np.ndarray) -> None:
        """Append samples ``(n,)`` or ``(n, channels)`` in [-1, 1] (clipped), then fix the header."""
        x = np.asarray(samples, dtype=float).reshape(-1, self.channels)
        if x.shape[0] == 0:
            return
        if self.frames + x.shape[0] > self.max_frames(self.channels):  # nothing written
            raise OSError(
                f"{self.path}: a WAV holds at most {self.max_frames(self.channels)} frames "
                "(4 GiB); this append would pass that"
            )
        pcm = np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2")
        self._f.seek(0, os.SEEK_END)
        self._f.write(pcm.tobytes())
        self.frames += x.shape[0]
        n_bytes = self.frames * 2 * self.channels
        self._f.seek(4)
        self._f.write(struct.pack("<I", 36 + n_bytes))
        self._f.seek(40)
        self._f.write(struct.pack("<I", n_bytes))
        self._f.flush()

    def close(self) -> None:
        self._f.close()


class TrackFiles:
    """``DIR/track-<id>.wav`` for every track, aligned with the input sample by sample."""

    def __init__(self, directory: str | Path, fs: int) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(exist_ok=True)
        self.fs = int(fs)
        self.files: dict[int, GrowingWav] = {}

    def write(self, tid: int, start: int, samples: np.ndarray) -> None:
        """Samples of track `tid` starting at input sample `start`; zeros fill any gap."""
        f = self.files.get(tid)
        if f is None:
            f = self.files[tid] = GrowingWav(self.dir / f"track-{tid}.wav", self.fs)
        if start > f.frames:
            self._zeros(f, start - f.frames)
        skip = f.frames - start  # > 0 only for samples before the file's end (never here)
        f.append(np.asarray(samples)[max(skip, 0) :])

    def finish(self, n_total: int) -> None:
        """Pad every file with silence to `n_total` samples (the input's length) and close."""
        for f in self.files.values():
            if n_total > f.frames:
                self._zeros(f, n_total - f.frames)
            f.close()

    @staticmethod
    def _zeros(f: GrowingWav, n: int) -> None:
        step = 1 << 16
        for k in range(0, n, step):
            f.append(np.zeros(min(step, n - k)))


class Player:
    """Play one voice on a PortAudio output device (sounddevice), fed block by block.

    `name` is what an error calls the device (the CLI passes its flag, ``"--play"``).
    """

    def __init__(
        self, device: str | int, fs: int, *, latency: float = 0.2, name: str = "device"
    ) -> None:
        from arraykit.hardware._backend import import_sounddevice

        sd = import_sounddevice()
        dev: str | int = int(device) if str(device).isdigit() else device
        try:
            self.stream: Any = sd.OutputStream(
                samplerate=fs, channels=1, dtype="float32", device=dev, latency=latency
            )
            self.stream.start()
        except (ValueError, sd.PortAudioError) as exc:  # no such output, or it refuses
            outs = [d["name"] for d in sd.query_devices() if d["max_output_channels"] > 0]
            there = (
                f"outputs here: {', '.join(map(repr, outs))}"
                if outs
                else "this machine has no audio output"
            )
            why = str(exc)
            rate = _output_rate(sd, dev)
            if "sample rate" in why.lower() and rate is not None and rate != fs:
                # a JACK server (and many a sound card) plays at its own rate only
                why = (
                    f"it plays at {rate:g} Hz, not at the input's {fs} Hz that the voices "
                    "are in (not resampled here): name an output that converts rates, "
                    f"such as ALSA's 'plug' or PulseAudio's, or capture at {rate:g} Hz"
                )
            raise v.fail(name, device, f"cannot play: {why} ({there})") from None
        self.played = 0
        self.underflows = 0
        self.stalled: str | None = None  # why the output stopped taking samples, if it did
        self._latency = float(latency)

    STALL = 2.0
    """Seconds (beyond the output's latency) :meth:`play` waits for room before it takes
    the output for stalled (a frozen audio server) and plays no more."""

    def play(self, samples: np.ndarray) -> None:
        """Queue samples ``(n,)``: waits until the device has room, like a speaker, but
        not on an output that takes nothing for :attr:`STALL` seconds (a frozen audio
        server would hold the program forever, Ctrl-C and SIGTERM unheard): that one is
        let go, :attr:`stalled` says why, and later samples are dropped."""
        x = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
        pos, waited_since = 0, time.monotonic()
        while pos < x.size and self.stalled is None:
            room = int(self.stream.write_available)
            if room <= 0:  # short sleeps: a signal handler runs between them
                if time.monotonic() - waited_since > self.STALL + self._latency:
                    self.stalled = (
                        f"the output took no samples for {self.STALL + self._latency:g} s "
                        "(its audio server frozen or gone?)"
                    )
                    self._release()
                    return
                time.sleep(0.005)
                continue
            n = min(room, x.size - pos)
            self.underflows += bool(self.stream.write(x[pos : pos + n, None]))
            pos += n
            self.played += n
            waited_since = time.monotonic()

    def _release(self) -> None:
        from arraykit.hardware._backend import release_stream

        stream, self.stream = self.stream, None
        if stream is not None:
            release_stream(stream, "--play output", 1.0 if self.stalled else 3.0)

    def close(self) -> None:
        self._release()


def _output_rate(sd: Any, device: str | int) -> float | None:
    """The default rate of output `device` (None when PortAudio cannot say)."""
    try:
        return float(sd.query_devices(device, "output")["default_samplerate"])
    except (ValueError, sd.PortAudioError, KeyError, TypeError):
        return None
