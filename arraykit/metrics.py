"""Signal metrics for judging enhancement: SNR, SI-SDR and their improvement.

Shapes: signals are ``(N,)`` or batched ``(..., N)``; results are in dB with the
leading shape.

>>> import numpy as np
>>> s = np.sin(np.arange(1000) * 0.1)
>>> bool(si_sdr(s, 2.0 * s) > 100)  # scale-invariant: any gain is perfect
True
>>> round(float(snr(s, 0.1 * s)), 6)
20.0
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v

__all__ = ["improvement", "si_sdr", "snr"]


def snr(signal: npt.ArrayLike, noise: npt.ArrayLike) -> np.ndarray | float:
    """Signal-to-noise ratio ``10 log10(sum s^2 / sum n^2)`` in dB, over the last axis.

    Parameters
    ----------
    signal, noise : array_like [shape=(..., N)]
        The separate signal and noise components (e.g. a beamformer applied to
        each part of a simulated mixture, which is linear).
    """
    s, n = _pair("signal", signal, "noise", noise)
    ps = np.sum(s**2, axis=-1)
    pn = np.sum(n**2, axis=-1)
    with np.errstate(divide="ignore"):
        out = 10 * np.log10(ps) - 10 * np.log10(pn)
    return float(out) if np.ndim(out) == 0 else out


def si_sdr(
    reference: npt.ArrayLike, estimate: npt.ArrayLike, *, zero_mean: bool = True
) -> np.ndarray | float:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al., 2019).

    ``alpha = <e, r> / <r, r>``; ``SI-SDR = 10 log10(|alpha r|^2 / |e - alpha r|^2)``.

    Parameters
    ----------
    reference, estimate : array_like [shape=(..., N)]
    zero_mean : bool
        Remove the means first (the usual definition).
    """
    r, e = _pair("reference", reference, "estimate", estimate)
    if zero_mean:
        r = r - r.mean(axis=-1, keepdims=True)
        e = e - e.mean(axis=-1, keepdims=True)
    rr = np.sum(r * r, axis=-1, keepdims=True)
    if np.any(rr == 0):
        raise v.fail("reference", reference, "is all zeros (SI-SDR is undefined)")
    target = np.sum(e * r, axis=-1, keepdims=True) / rr * r
    resid = e - target
    with np.errstate(divide="ignore"):
        out = 10 * np.log10(np.sum(target**2, axis=-1)) - 10 * np.log10(np.sum(resid**2, axis=-1))
    return float(out) if np.ndim(out) == 0 else out


def improvement(
    reference: npt.ArrayLike,
    before: npt.ArrayLike,
    after: npt.ArrayLike,
    *,
    metric: Literal["si_sdr"] = "si_sdr",
) -> np.ndarray | float:
    """How much `after` improves on `before`, in dB: ``si_sdr(ref, after) - si_sdr(ref, before)``.

    Parameters
    ----------
    reference : array_like [shape=(..., N)]
        The clean target (e.g. its image at the reference microphone).
    before : array_like [shape=(..., N)]
        The unprocessed signal (e.g. the reference microphone).
    after : array_like [shape=(..., N)]
        The enhanced signal.
    """
    v.choice("metric", metric, ("si_sdr",))
    return si_sdr(reference, after) - si_sdr(reference, before)


def _pair(na: str, a: npt.ArrayLike, nb: str, b: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x = v.finite_array(na, a)
    y = v.finite_array(nb, b)
    if x.ndim == 0 or x.shape != y.shape:
        raise v.fail(nb, b, f"must have the same shape as {na} {x.shape}")
    return x, y
