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
estimates in rooms 0-31 of both sets (RT60 0.3 s / 20 dB and 0.2-0.6 s / 10-30 dB; each
K = 1-3 with the count given and with one more asked) and noise-only scenes (every
estimate there wrong), by scipy's BFGS on the log-loss (``--only confidence``), and read on
rooms 32-63 for every method: estimates at 0.9 or more right 94-97 % of the time, the
middle bins under-confident by up to 20 points; a 4-mic line's diffuse field, with a given
count, gets 0.94 (its map peaks at broadside like a talker's).

**A covariance alone** (:func:`~arraykit.doa.locate_cov`, ``arraykit live``; a covariance
method given a count): its PHAT normalisation comes after the averaging, ``R_ij / |R_ij|``,
so sensor noise leaves each pair's cross-spectrum a unit phasor of random phase however
many frames are behind it, and the map of noise does not shrink toward 0 as the
frame-whitened one does: it is a mean of ``F P`` cosines of random phase (``F`` bins,
``P`` microphone pairs), standard deviation :func:`cov_noise_sd` ``= 1 / sqrt(2 F P)``.
Heights there are read in those units (``z = h / sd``): a directional source needs its
peak :data:`NO_SOURCE_Z` above the median, and the confidence has weights of its own
(:data:`COV_CONFIDENCE_WEIGHTS`, ``ln z`` for ``ln h``). Both were chosen on recursive
covariances as ``arraykit live`` keeps them (memory 0.25 / 0.5 / 1 s, a search every
0.1 s, 300-3500 Hz at nfft 512; ``benchmarks/bench_multisource.py --only live``): in
white, diffuse and diffuse + white noise the top stood at most 4.9 (4-mic square), 5.5
(6-mic circle), 4.9 (4-mic line, white noise) and 7.5 (4x4 grid, a diffuse field) standard
deviations above the median, one talker at least 7.3, 9.9, 4.7 and 25.9: the floor lets
0-1.6 % of the noise's blocks through, except a 4-mic line's diffuse field (39 %: it
peaks at broadside like a talker), and drops 0-1 % of the blocks whose strongest
estimate was right, except two or three talkers on a 4-mic array (9-12 %: their mixed
phases flatten the map). The weights were fitted on rooms 0-31 (every estimate; the
noise's all wrong) and checked on rooms 32-63.

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
    "COV_CONFIDENCE_WEIGHTS",
    "MIN_GRID",
    "NO_SOURCE_FLOOR",
    "NO_SOURCE_Z",
    "band_reason",
    "confidence",
    "cov_noise_sd",
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

CONFIDENCE_WEIGHTS = (5.023, 0.989, -0.465, -0.056)
"""Logistic weights: 1, ``ln h``, ``ln(h / h_top)``, ``on_peak``."""

NO_SOURCE_Z = 5.5
"""A covariance's own map holds a directional source when its peak rises at least this
many :func:`cov_noise_sd` above its median."""

COV_CONFIDENCE_WEIGHTS = (-2.985, 1.599, -1.09, 1.184)
"""Logistic weights on a covariance's own map: 1, ``ln(h / sd)``, ``ln(h / h_top)``,
``on_peak`` (``sd``: :func:`cov_noise_sd`)."""


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


def cov_noise_sd(n_freqs: int, n_mics: int) -> float:
    """The standard deviation of a covariance's own SRP-PHAT map in sensor noise:
    ``1 / sqrt(2 F P)`` with ``F`` bins and ``P = M (M - 1) / 2`` pairs."""
    pairs = n_mics * (n_mics - 1) // 2
    return 1.0 / float(np.sqrt(2.0 * max(n_freqs * pairs, 1)))


def weak_reason(height: float, sd: float | None = None) -> str | None:
    """Why the map holds no directional source (its top peak `height` above its median),
    or None; `sd`: the map is a covariance's own (:func:`cov_noise_sd`)."""
    if sd is not None:
        if height >= NO_SOURCE_Z * sd:
            return None
        return (
            f"no directional source: the covariance's SRP-PHAT map's highest peak rises "
            f"{height / sd:.1f} noise standard deviations above its median, under "
            f"{NO_SOURCE_Z} (noise, a diffuse field, or talkers who have stopped)"
        )
    if height < NO_SOURCE_FLOOR:
        return (
            f"no directional source: the SRP-PHAT map's highest peak rises {height:.3f} above "
            f"its median, under {NO_SOURCE_FLOOR} (noise or a diffuse field)"
        )
    return None


def confidence(
    height: np.ndarray, top: float, on_peak: np.ndarray, sd: float | None = None
) -> np.ndarray:
    """``(K,)`` probability in [0, 1] that each estimate is within the array's resolution
    of a source, from its SRP-PHAT height above the median ``(K,)``, the strongest
    height `top` and ``on_peak`` ``(K,)``; with `sd` (:func:`cov_noise_sd`) the map is a
    covariance's own and :data:`COV_CONFIDENCE_WEIGHTS` read ``h / sd``."""
    w0, w1, w2, w3 = CONFIDENCE_WEIGHTS if sd is None else COV_CONFIDENCE_WEIGHTS
    h = np.maximum(np.asarray(height, dtype=float), 1e-4)
    rel = np.clip(h / max(top, 1e-4), 1e-3, None)
    scaled = h if sd is None else h / sd
    z = w0 + w1 * np.log(scaled) + w2 * np.log(rel) + w3 * np.asarray(on_peak, dtype=float)
    return 1.0 / (1.0 + np.exp(-z))
