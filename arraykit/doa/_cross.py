"""Frame-averaged cross-spectra of an STFT given in chunks of frames.

The one product behind the DOA statistics: the spatial covariance
(:func:`arraykit.doa.subspace.covariance`) and the PHAT-whitened cross-spectra
(:func:`arraykit.doa.srp.phat_cross_spectra`), from a whole STFT or from chunks
streamed by :func:`arraykit.stft.stft_band_chunks`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import numpy as np

__all__ = ["cross_spectra_chunks", "unit_phase"]

MIN_FRAMES = 16
"""Frames multiplied at once: smaller chunks (a large array's) are gathered first."""


def cross_spectra_chunks(
    chunks: Iterable[np.ndarray], n_frames: int, *, phat: bool = False
) -> np.ndarray:
    """Frame-averaged cross-spectra ``(F, M, M)`` of an STFT in chunks ``(F, M, T_chunk)``.

    ``sum_t X X^H / n_frames``: the spatial covariance, or with ``phat=True`` the
    PHAT-whitened cross-spectra of :func:`arraykit.doa.srp.phat_cross_spectra` (each
    coefficient divided by its magnitude first). Each chunk is multiplied while it is in cache
    (:func:`arraykit.stft.stft_band_chunks` yields such chunks), chunks of fewer than
    :data:`MIN_FRAMES` frames gathered first; the sum is taken in the chunks' precision
    and returned as ``complex128``.
    """
    R: np.ndarray | None = None
    pending: list[np.ndarray] = []
    waiting = 0
    for Xf in itertools.chain(chunks, [None]):  # None: the end (multiply what waits)
        if Xf is not None:
            pending.append(unit_phase(Xf) if phat else Xf)
            waiting += Xf.shape[2]
        if (waiting < MIN_FRAMES and Xf is not None) or not pending:
            continue
        # chunks of a few frames (many microphones) are multiplied together: a product
        # of 1-frame chunks is an outer product, far from BLAS speed
        Xw = np.ascontiguousarray(pending[0] if len(pending) == 1 else np.concatenate(pending, 2))
        pending, waiting = [], 0
        part = Xw @ np.conj(Xw.transpose(0, 2, 1))  # (F, M, M)
        if R is None:
            R = part
        else:
            R += part
    if R is None:
        raise ValueError("no frames")
    return R.astype(complex, copy=False) / n_frames


def unit_phase(Z: np.ndarray) -> np.ndarray:
    """``Z / |Z|`` element by element; 0 where ``Z`` is 0.

    Magnitudes are floored at the smallest normal number of their precision, so a
    zero stays 0 and nothing overflows (below the floor ``|Z| / floor < 1``).
    """
    mag = np.abs(Z)
    np.maximum(mag, np.finfo(mag.dtype).tiny, out=mag)
    np.reciprocal(mag, out=mag)
    return Z * mag
