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
- **No source on this grid** (:func:`in_phase_reason`): every channel (nearly) a copy
  of the first, which the SRP-PHAT map of zero delay on every pair puts above every
  grid point (one signal wired to every channel, or a source on a planar array's
  normal, off its azimuth ring).
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
middle bins under-confident by up to 20 points. A 4-mic line's diffuse field, with a given
count, got 0.94 (its map peaks at broadside like a talker's): a given count's estimates now
get 0 where ``"auto"`` would hear no source (:func:`arraykit.doa.count.unheard`).

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
phases flatten the map). The weights were fitted on rooms 0-31 (every estimate, with the
count given and with one more asked; the noise's all wrong) and checked on rooms 32-63:
at 0.9 or more right 96 % of the time, at 0.5-0.7 59 %.

The floor overlaps the weakest talkers (a 4-mic line at RT60 0.6 s, SNR 10 dB: 0.021
to 0.024), so only ``num_sources="auto"`` reads it (0 sources below it); a fixed
count raises :class:`~arraykit.errors.NoSourceError` only for silence and an empty
band, and otherwise returns its estimates with a warning in ``count_reason``: on the
frame-whitened map with a confidence of 0 where the zones do not overrule the floor as
they would for ``"auto"`` (:func:`arraykit.doa.count.unheard`; three talkers flatten a
small array's map under it, and their zones still gather), else with their (then low)
confidence.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from arraykit.geometry import ArrayGeometry, unit_vectors

__all__ = [
    "BAND_FRACTION_FLOOR",
    "CONFIDENCE_WEIGHTS",
    "COV_CONFIDENCE_WEIGHTS",
    "IN_PHASE",
    "IN_PHASE_DELAY",
    "IN_PHASE_STEP",
    "MIN_GRID",
    "NO_SOURCE_FLOOR",
    "NO_SOURCE_Z",
    "band_reason",
    "confidence",
    "cov_noise_sd",
    "holds_zero_delay",
    "in_phase",
    "in_phase_reason",
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

IN_PHASE = 0.7
"""Every channel is a copy of the first when their in-phase coherence (:func:`in_phase`)
reaches this and no channel lags the first by more than :data:`IN_PHASE_DELAY`.
Measured on every :data:`IN_PHASE_STEP`-th bin (``benchmarks/bench_multisource.py``'s
scenes: per array 64 noise-only scenes and 1-3 talkers in 64 + 32 rooms, 352 scenes):
at most 0.56 (the 4-mic square: a small array's low bins are nearly in phase for any
direction; the 6-mic circle 0.38); one speech signal copied to every channel 1.0, with
independent noise 30 dB under it 0.94, 20 dB under it 0.67-0.69. Read from the
frame-whitened cross-spectra instead (no frames kept: a fixed count), the scenes reach
0.48, bit-exact copies 1.0, copies with noise 60 dB under them 0.66 (every frame weighs
alike, and the noise fills the pauses)."""

IN_PHASE_DELAY = 2e-6
"""The largest delay (seconds) of a channel that is a copy of the first: fitted to the
phase of their cross-spectrum over the band, copies with noise 20 dB under them lag
0.9 us at most; a talker 2 degrees off the normal of a 4-mic square, 6-mic circle or
4x4 grid (elevation 88, free field, SNR 40 dB, coherence 0.98-0.99) 4-19 us, 10 degrees
off it 20-81 us."""

IN_PHASE_STEP = 4
""":func:`in_phase_reason` reads every this-many-th bin of the band (26 of the 103 bins of
300-3500 Hz at nfft 512); it runs only where the map at zero delay beats every grid point
(there about 2 % of a 6-mic ``num_sources="auto"`` call, elsewhere 0.2-0.3 %)."""

CONFIDENCE_WEIGHTS = (5.023, 0.989, -0.465, -0.056)
"""Logistic weights: 1, ``ln h``, ``ln(h / h_top)``, ``on_peak``."""

NO_SOURCE_Z = 5.5
"""A covariance's own map holds a directional source when its peak rises at least this
many :func:`cov_noise_sd` above its median."""

COV_CONFIDENCE_WEIGHTS = (-1.993, 1.038, -0.289, 1.462)
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


def map_height(m: np.ndarray) -> float:
    """How far a map's peak rises above its floor (:func:`map_floor`)."""
    return float(m.max() - map_floor(m))


def field_stands_out(field_map: np.ndarray) -> bool:
    """Whether an array's own map of a spherically isotropic (diffuse) field `field_map`
    ``(G,)`` rises :data:`NO_SOURCE_FLOOR` or more above its median, so that such a field
    alone reads as a source (a small line, at broadside; a ring's stays flat)."""
    return map_height(field_map) >= NO_SOURCE_FLOOR


def height_without_field(
    spec: np.ndarray, field_map: np.ndarray, cross: np.ndarray, coherence: np.ndarray
) -> float:
    """:func:`map_height` of the map `spec` ``(G,)`` less the best-fitting spherically
    isotropic field's: ``alpha`` times that field's map `field_map` ``(G,)``, ``alpha >=
    0`` the least-squares fit of the PHAT-normalised cross-spectra's real parts `cross` on
    the field's coherences ``sinc(2 f d / c)`` `coherence` (the same pairs and bins, any
    shape; a map is linear in its cross-spectra). A diffuse field seen by a small line
    peaks at broadside like a talker (0.10-0.12 above the median for a 4-mic 40 mm line)
    and fits the field almost wholly (under 0.016 left); a talker's direct sound does not
    (0.036 or more left on the same line). :func:`arraykit.doa.count.diffuse_reason` reads
    it on a search's map, :meth:`arraykit.doa.SrpCovSearch.diffuse_height` on a
    covariance's."""
    alpha = max(float(np.sum(cross * coherence) / np.sum(coherence**2)), 0.0)
    return map_height(spec - alpha * field_map)


def in_phase(X: np.ndarray, freqs: np.ndarray) -> tuple[float, float]:
    """How nearly every channel is a copy of the first, from the band's STFT `X`
    ``(M, F, T)`` at `freqs` ``(F,)`` Hz: the mean over the bins and microphones
    ``m = 1 .. M-1`` of ``Re(C_m) / sqrt(sum_t |X_m|^2 sum_t |X_0|^2)`` with
    ``C_m = sum_t X_m X_0^*`` (1 for identical channels, lowered by noise and by delays),
    and the largest ``|tau_m|`` in seconds, each fitted to ``arg C_m = -2 pi f tau_m``
    by least squares weighted by ``|C_m|`` (NaN where a channel is silent)."""
    Xf = X.transpose(1, 0, 2)  # (F, M, T)
    C = np.matmul(Xf, np.conj(Xf[:, :1].transpose(0, 2, 1)))[..., 0]  # (F, M) sum_t X_m X_0^*
    power = (X.real**2 + X.imag**2).sum(axis=-1)  # (M, F)
    return _in_phase(C[:, 1:].T, power[1:], power[0], freqs)


def _in_phase(
    cross: np.ndarray, power: np.ndarray, ref: np.ndarray, freqs: np.ndarray
) -> tuple[float, float]:
    """:func:`in_phase` of the cross-spectra with the first channel ``(M - 1, F)``, the
    other channels' powers ``(M - 1, F)`` and the first's ``(F,)``."""
    denom = np.sqrt(np.maximum(power * ref[None, :], np.finfo(float).tiny))
    coherence = float(np.mean(cross.real / denom))  # a bin without power counts 0
    f = np.asarray(freqs, dtype=float)
    wphase = np.abs(cross) * np.angle(cross)  # (M - 1, F)
    with np.errstate(invalid="ignore", divide="ignore"):  # a silent channel: NaN
        tau = (wphase @ f) / (-2 * np.pi * (np.abs(cross) @ (f * f)))
    return coherence, float(np.max(np.abs(tau), initial=0.0))


def holds_zero_delay(geometry: ArrayGeometry, grid: np.ndarray | None, spacing: float) -> bool:
    """Whether a direction of `grid` ``(G, 2)`` (None: near-field points) lies within
    `spacing` degrees of one that gives every pair of microphones zero delay: a planar
    array's normal, a line's broadside plane (a volumetric array has none)."""
    if grid is None:
        return False
    u = unit_vectors(grid)  # (G, 3)
    if geometry.normal is not None:
        off = np.sqrt(np.maximum(1.0 - (u @ geometry.normal) ** 2, 0.0))  # sin from the normal
    elif geometry.axis is not None:
        off = np.abs(u @ geometry.axis)  # sin from the broadside plane
    else:
        return False
    return bool(off.min() <= math.sin(math.radians(spacing)))


def in_phase_reason(
    R: np.ndarray,
    best: float,
    X: np.ndarray | None,
    freqs: np.ndarray,
    *,
    on_grid: Callable[[], bool] = lambda: False,
    normal: bool = False,
    sums: np.ndarray | None = None,
) -> str | None:
    """Why the search hears no directional source on its grid although the sound is
    coherent, or None: the SRP-PHAT map of the PHAT cross-spectra `R` ``(F, M, M)`` at
    zero delay on every pair lies above the grid's best point `best`, the grid holds no
    direction near zero delay (`on_grid`, asked last: :func:`holds_zero_delay`), and
    every channel of the band's STFT `X` ``(M, F, T)`` (at `freqs` ``(F,)``) is a copy
    of the first (:func:`in_phase`: :data:`IN_PHASE`, :data:`IN_PHASE_DELAY`). Without
    `X` the same statistic of `sums` ``(F, M, M)``, cross-spectra whose entries are sums
    over the frames: `R` itself when it was whitened frame by frame (every frame weighs
    alike, so noise in the pauses lowers it; bit-exact copies give 1), or the covariance
    behind `R` (a covariance alone: the statistic is the frames' own, each frame weighed as
    the covariance weighs it); None: not checked. `normal`: the array is planar, so a
    source on its normal gives the same."""
    F, M, _ = R.shape
    if (X is None and sums is None) or M < 2:
        return None
    diag = float(np.trace(R, axis1=1, axis2=2).real.sum())
    zero = (float(R.real.sum()) - diag) / (F * M * (M - 1))  # the map at zero delay
    if zero <= best:
        return None  # a grid point explains the cross-spectra as well: a source there
    # every IN_PHASE_STEP-th bin: a quick look (the thresholds were measured so)
    step = slice(None, None, IN_PHASE_STEP)
    f = np.asarray(freqs)[step]
    if X is not None:
        same, lag = in_phase(X[:, step], f)
    else:  # the frame-whitened cross-spectra (each frame weighs alike), or the covariance
        assert sums is not None
        Rs = sums[step]
        d = np.diagonal(Rs, axis1=1, axis2=2).real.T  # (M, F)
        same, lag = _in_phase(Rs[:, 1:, 0].T, d[1:], d[0], f)
    if not (same >= IN_PHASE and lag <= IN_PHASE_DELAY):  # NaN: a silent channel
        return None
    if on_grid():  # a grid point near zero delay (the map's coarse point just under it)
        return None
    where = (
        "or a source on the array's normal (overhead: off the azimuth ring; "
        "grid='sphere' searches it)"
        if normal
        else "no direction of this grid gives it"
    )
    return (
        f"no directional source on this grid: every channel is a copy of the first (in-phase "
        f"coherence {same:.2f}, at least {IN_PHASE}; delays up to {1e6 * lag:.2f} us, at most "
        f"{1e6 * IN_PHASE_DELAY:g}), so the sound reaches every microphone at once; the "
        f"SRP-PHAT map rises to {zero:.3f} there and to {best:.3f} at the grid's best point. "
        f"Check the wiring and the channel map (one signal copied to every channel), {where}"
    )


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
