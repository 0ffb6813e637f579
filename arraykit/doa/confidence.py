"""How sure a DOA estimate is, and when there is no directional source at all.

Shapes: ``F`` band frequencies, ``M`` microphones, ``G`` grid points, ``K`` sources.

Everything here reads the SRP-PHAT map of the frame-whitened cross-spectra (the mean
pairwise GCC-PHAT, 1 for a perfectly coherent plane wave, near 0 for incoherent noise),
whichever method located the sources: its values are comparable between arrays,
scenes and methods, which a MUSIC pseudo-spectrum's are not.

- **No source** (:func:`band_reason`, :func:`weak_reason`): every sample zero
  (silence); less than :data:`BAND_FRACTION_FLOOR` of the signal's power inside the
  band (a constant offset, a hum below the band); or the map's highest peak rising
  less than :data:`NO_SOURCE_FLOOR` above the map's median (white or diffuse noise).
- **Confidence** (:func:`confidence`): a logistic function of the estimate's height
  above the map's median ``h``, its height relative to the strongest ``h / h_top`` and
  whether it is a peak of the map it was read from, fitted so that it is the
  probability that the estimate lies within the array's resolution
  (:func:`arraykit.doa.extract.default_separation`) of a true source.

How the numbers were chosen (``benchmarks/bench_multisource.py``; tables in the
README's "Several talkers" section): on 96 simulated noise-only scenes (white, diffuse,
diffuse + white; four small arrays) the highest peak rose at most 0.022 above the
median, except a diffuse field seen by a 4-mic line (0.10-0.12: its map peaks at
broadside like a talker there); on 1-3 talker rooms (RT60 0.2-0.6 s, SNR 10-30 dB)
the strongest talker's peak rose 0.021-0.27. The confidence weights were fitted on SRP-PHAT's
estimates in the RT60 0.2-0.6 s rooms and half the noise-only scenes (every estimate
there wrong) and checked on the separate RT60 0.3 s / 20 dB rooms and the other half.

The floor overlaps the weakest talkers (a 4-mic line at RT60 0.6 s, SNR 10 dB: 0.021
to 0.024), so only ``num_sources="auto"`` reads it (0 sources below it); a fixed
count raises :class:`~arraykit.errors.NoSourceError` only for silence and an empty
band, and otherwise returns its estimates with their (then low) confidence and a
warning in ``count_reason``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "BAND_FRACTION_FLOOR",
    "CONFIDENCE_WEIGHTS",
    "MIN_GRID",
    "NO_SOURCE_FLOOR",
    "band_reason",
    "confidence",
    "map_floor",
    "weak_reason",
]

NO_SOURCE_FLOOR = 0.025
"""A directional source needs a peak of the SRP-PHAT map this far above its median."""

MIN_GRID = 16
"""The map's median is its floor only on a grid of at least this many points (a user grid
of a few directions is not checked for a directional source)."""

BAND_FRACTION_FLOOR = 1e-5
"""Below this fraction of the signal's power inside the band (-50 dB) nothing is located
(a 50 Hz hum alone puts 5.7e-7 of its power into 300-3500 Hz at nfft 512)."""

CONFIDENCE_WEIGHTS = (4.185, 1.22, -0.668, 1.504)
"""Logistic weights: 1, ``ln h``, ``ln(h / h_top)``, ``on_peak``."""


def band_reason(total: np.ndarray, band: np.ndarray, freq_range: tuple[float, float]) -> str | None:
    """Why nothing can be located from the band's share of the power, or None.

    `total` and `band` ``(T,)`` are each frame's power over all bins and inside the
    band; the share is the median over the frames that hold any power (a signal that
    starts or stops abruptly, such as a constant offset, leaks into every bin at its
    ends only).
    """
    total = np.asarray(total, dtype=float)
    heard = total > 0
    if not heard.any():
        return "silence: every sample is zero"
    frac = float(np.median(np.asarray(band, dtype=float)[heard] / total[heard]))
    if frac < BAND_FRACTION_FLOOR:
        lo, hi = freq_range
        return (
            f"no energy in the band {lo:g}-{hi:g} Hz: {frac:.1e} of the signal's power lies in "
            f"it, under {BAND_FRACTION_FLOOR:.0e} (a constant offset, or a tone outside the band)"
        )
    return None


def map_floor(m: np.ndarray) -> float:
    """A map's floor: the median of ``m`` ``(G,)`` (``np.median``'s number, without the
    overhead of its general case: a search reads it once or twice)."""
    n = m.size
    k = n // 2
    part = np.partition(m, (k - 1, k) if n % 2 == 0 else k)
    return float(part[k]) if n % 2 else float(0.5 * (part[k - 1] + part[k]))


def weak_reason(height: float) -> str | None:
    """Why the map holds no directional source (its top peak `height` above its median)."""
    if height < NO_SOURCE_FLOOR:
        return (
            f"no directional source: the SRP-PHAT map's highest peak rises {height:.3f} above "
            f"its median, under {NO_SOURCE_FLOOR} (noise or a diffuse field)"
        )
    return None


def confidence(height: np.ndarray, top: float, on_peak: np.ndarray) -> np.ndarray:
    """``(K,)`` probability in [0, 1] that each estimate is within the array's resolution
    of a source, from its SRP-PHAT height above the median ``(K,)``, the strongest
    height `top` and ``on_peak`` ``(K,)``."""
    w0, w1, w2, w3 = CONFIDENCE_WEIGHTS
    h = np.maximum(np.asarray(height, dtype=float), 1e-4)
    rel = np.clip(h / max(top, 1e-4), 1e-3, None)
    z = w0 + w1 * np.log(h) + w2 * np.log(rel) + w3 * np.asarray(on_peak, dtype=float)
    return 1.0 / (1.0 + np.exp(-z))
