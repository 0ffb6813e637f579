"""Reading and writing multichannel audio files as ``(M, N)`` arrays (soundfile).

Files store frames as rows ``(N, M)``; arraykit keeps one row per microphone, so
these helpers transpose at the boundary.

Writing never loses what is on disk: :func:`write_audio` writes to a temporary file
beside the target and renames it over the target only once every frame is written
(a full disk leaves the target as it was, and says so); :class:`AudioWriter`, the
streaming writer ``arraykit record`` uses, keeps the file's header current after
every block, so a recording cut off by a kill or a power loss is a valid file of
every frame written. Bad output paths (a missing folder, a folder, no or an unknown
extension) are refused before anything is opened.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from arraykit import _validate as v
from arraykit.errors import ArraykitError

__all__ = [
    "AudioWriter",
    "OutputError",
    "TruncatedAudioWarning",
    "check_output",
    "read_audio",
    "replacing",
    "write_audio",
]

_SFC_SET_UPDATE_HEADER_AUTO = 0x1061  # libsndfile: rewrite the header after every write


class OutputError(ArraykitError, OSError):
    """An output file could not be written (disk full, file-size limit, I/O error).

    ``frames`` is how many frames the file holds (0 when nothing was kept).
    """

    def __init__(self, message: str, frames: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.frames = frames
        self.reason = reason or message


class TruncatedAudioWarning(UserWarning):
    """An audio file holds fewer frames than its header announces (cut off mid-write)."""


def read_audio(
    path: str | Path, *, channels: npt.ArrayLike | None = None, n_mics: int | None = None
) -> tuple[np.ndarray, int]:
    """Read an audio file as float64 signals ``(M, N)`` and its sampling rate.

    A file whose header announces more frames than it holds (a recording cut off
    mid-write) is read as far as it goes, with a :class:`TruncatedAudioWarning`.

    Parameters
    ----------
    path : str or Path
        Any format libsndfile reads (WAV, FLAC, ...).
    channels : array_like of int, optional
        Keep these channels, in this order (a channel map).
    n_mics : int, optional
        Expected number of rows after `channels` is applied; a mismatch raises
        a ValueError naming the file and both counts.
    """
    p = Path(path)
    if not p.is_file():
        raise v.fail("path", str(path), "no such file")
    try:
        info = sf.info(str(p))
        # read whole: float64 as read, then its rows made contiguous (16 bytes a sample)
        v.fits(
            "path",
            str(path),
            16.0 * info.frames * info.channels,
            f"its {info.frames} frames x {info.channels} channels "
            f"({info.frames / info.samplerate / 3600:.1f} h)",
            "cut it into shorter recordings",
        )
        data, fs = sf.read(str(p), dtype="float64", always_2d=True)
    except sf.LibsndfileError as exc:
        raise v.fail("path", str(path), f"cannot be read as audio: {exc}") from None
    _warn_if_truncated(p, info, data.shape[0])
    x = data.T
    if channels is not None:
        idx = np.asarray(channels, dtype=int)
        if idx.ndim != 1 or idx.size == 0 or idx.min() < 0 or idx.max() >= x.shape[0]:
            raise v.fail("channels", channels, f"must be channel indices in 0..{x.shape[0] - 1}")
        x = x[idx]
    if n_mics is not None and x.shape[0] != n_mics:
        raise v.fail(
            "path",
            str(path),
            f"has {x.shape[0]} channels but the geometry has {n_mics} microphones",
        )
    return np.ascontiguousarray(x), int(fs)


def _warn_if_truncated(path: Path, info: Any, frames: int) -> None:
    # libsndfile logs "data : <header size> (should be <bytes present>)" and reads
    # only what is there: say so instead of returning a shorter signal in silence.
    m = re.search(r"data\s*:\s*(\d+)\s*\(should be (\d+)\)", info.extra_info or "")
    if m is None:
        return
    announced, present = int(m.group(1)), int(m.group(2))
    if present < announced:
        warnings.warn(
            f"{path}: truncated: its header announces {announced} bytes of audio but the "
            f"file holds {present}; read {frames} frames (was the recording cut off?)",
            TruncatedAudioWarning,
            stacklevel=3,
        )


def check_output(
    path: str | Path, subtype: str | None = None, *, name: str = "path"
) -> tuple[Path, str, str]:
    """Check an output path before anything is opened: ``(path, format, subtype)``.

    `name` is what errors call the path (the command line passes its flag).

    The format comes from the extension (``.wav``, ``.flac``, ...); the subtype
    defaults to 32-bit float where the format has it, else the format's default.

    Raises
    ------
    InvalidArgumentError
        No extension or one libsndfile does not write, a folder that does not exist,
        a path that is a folder, or a subtype the format does not have.
    """
    p = Path(path)
    if str(path).endswith(("/", os.sep)) or p.is_dir():
        raise v.fail(name, str(path), "is a folder: give a file name such as out.wav")
    formats = sf.available_formats()
    ext = p.suffix[1:].upper()
    if not ext:
        raise v.fail(name, str(path), "has no extension: end it in .wav (or .flac, ...)")
    if ext not in formats or ext in ("RAW", "MP3"):
        raise v.fail(
            name,
            str(path),
            f"unknown audio extension {p.suffix!r}: use .wav, .flac, .w64, .rf64, .aiff or .caf",
        )
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise v.fail(name, str(path), f"folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise v.fail(name, str(path), f"folder {str(parent)!r} is not writable")
    if subtype is None:
        subtype = "FLOAT" if sf.check_format(ext, "FLOAT") else sf.default_subtype(ext)
    elif not sf.check_format(ext, subtype):
        raise v.fail("subtype", subtype, f"is not available in {ext} files")
    return p, ext, str(subtype)


def _why(exc: BaseException, handle: Any = None) -> str:
    """A plain reason for a failed write (libsndfile reports "System error." only)."""
    text = str(exc)
    if handle is not None:
        with contextlib.suppress(Exception):
            text = sf._ffi.string(sf._snd.sf_strerror(handle)).decode(errors="replace")
    low = text.lower()
    if "no space" in low:
        return "the disk is full"
    if "too large" in low:
        return "the file-size limit was reached (ulimit -f)"
    if "quota" in low:
        return "the disk quota is exhausted"
    return f"a write error ({text.strip()})"


class AudioWriter:
    """Write ``(N, C)`` frames to an audio file block by block, header always current.

    libsndfile rewrites the header after each block (``SFC_SET_UPDATE_HEADER_AUTO``),
    so a process killed mid-recording leaves a file every reader (Python's ``wave``,
    scipy, soundfile) reads to the last block written. A failed write raises
    :class:`OutputError` saying why and how many frames the file keeps.
    """

    def __init__(
        self, path: str | Path, fs: int, channels: int, *, subtype: str | None = None
    ) -> None:
        self.path, fmt, sub = check_output(path, subtype)
        self.frames = 0
        try:
            self._file = sf.SoundFile(
                str(self.path), "w", samplerate=int(fs), channels=int(channels), format=fmt,
                subtype=sub,
            )  # fmt: skip
        except (sf.LibsndfileError, OSError) as exc:
            why = _why(exc)
            raise OutputError(f"cannot create {self.path}: {why}", 0, why) from None
        sf._snd.sf_command(
            self._file._file, _SFC_SET_UPDATE_HEADER_AUTO, sf._ffi.NULL, sf._snd.SF_TRUE
        )

    def write(self, frames: np.ndarray) -> None:
        """Append ``(N, C)`` frames."""
        try:
            self._file.write(frames)
        except (sf.LibsndfileError, AssertionError, OSError) as exc:
            why = _why(exc, self._file._file)
            self.close()
            kept = self._frames_on_disk()
            raise OutputError(
                f"writing {self.path} failed: {why}; the file keeps the first {kept} frames",
                kept,
                why,
            ) from None
        self.frames += len(frames)

    def _frames_on_disk(self) -> int:
        try:
            return int(sf.info(str(self.path)).frames)
        except Exception:
            return 0

    def close(self) -> None:
        """Close the file (the header is already current)."""
        f, self._file = self._file, None
        if f is not None:
            with contextlib.suppress(Exception):
                f.close()

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_audio(
    path: str | Path, signals: npt.ArrayLike, fs: float, *, subtype: str | None = None
) -> Path:
    """Write signals ``(M, N)`` (or ``(N,)``) to an audio file; returns the path.

    Float data is written as 32-bit float (where the format has it) unless `subtype`
    says otherwise (e.g. ``"PCM_16"``); values are not rescaled. The file is written
    to a temporary name beside `path` and renamed over it once complete: a full disk
    or any write error leaves `path` as it was and raises :class:`OutputError`.
    """
    x = v.finite_array("signals", signals)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise v.fail("signals", signals, "must be (N,) or (M, N)")
    rate = v.positive("fs", fs)
    if round(rate) < 1:
        raise v.fail("fs", fs, "must be at least 1 Hz")
    p, _, sub = check_output(path, subtype)
    with replacing(p) as tmp, AudioWriter(tmp, round(rate), x.shape[0], subtype=sub) as w:
        w.write(x.T)
    return p


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A temporary name beside `path` to write to, renamed over `path` once the block
    completes: a full disk or any write error leaves `path` as it was (no temporary left)
    and raises :class:`OutputError`. Audio outputs and figures are written so."""
    p = Path(path)
    tmp = p.with_name(f".{p.stem}.{os.getpid()}.part{p.suffix}")
    try:
        yield tmp
        os.replace(tmp, p)
    except OSError as exc:  # OutputError included
        with contextlib.suppress(OSError):
            tmp.unlink()
        why = exc.reason if isinstance(exc, OutputError) else _why(exc)
        before = "left as it was" if p.exists() else "not created"
        raise OutputError(f"cannot write {p}: {why}; {p} was {before}") from None
