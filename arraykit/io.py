"""Reading and writing multichannel audio files as ``(M, N)`` arrays (soundfile).

Files store frames as rows ``(N, M)``; arraykit keeps one row per microphone, so
these helpers transpose at the boundary.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

from arraykit import _validate as v

__all__ = ["read_audio", "write_audio"]


def read_audio(
    path: str | Path, *, channels: npt.ArrayLike | None = None, n_mics: int | None = None
) -> tuple[np.ndarray, int]:
    """Read an audio file as float64 signals ``(M, N)`` and its sampling rate.

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
        data, fs = sf.read(str(p), dtype="float64", always_2d=True)
    except sf.LibsndfileError as exc:
        raise v.fail("path", str(path), f"cannot be read as audio: {exc}") from None
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


def write_audio(
    path: str | Path, signals: npt.ArrayLike, fs: float, *, subtype: str | None = None
) -> Path:
    """Write signals ``(M, N)`` (or ``(N,)``) to an audio file; returns the path.

    Float data is written as 32-bit float WAV unless `subtype` says otherwise
    (e.g. ``"PCM_16"``); values are not rescaled.
    """
    x = v.finite_array("signals", signals)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise v.fail("signals", signals, "must be (N,) or (M, N)")
    rate = v.positive("fs", fs)
    p = Path(path)
    sf.write(str(p), x.T, round(rate), subtype=subtype or "FLOAT")
    return p
