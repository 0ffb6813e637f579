"""Reading sources off a DOA map: the array's resolution and the peaks that are sources.

Shapes: ``M`` microphones, ``F`` band frequencies, ``G`` grid points, ``K`` sources,
``P`` microphone pairs.

- :func:`beamwidth`: the half width at half height of the array's own SRP-PHAT
  point-spread function over the band (the map one plane wave makes), in degrees.
- :func:`default_separation`: the default ``min_separation`` of a search,
  :data:`SEPARATION_FRACTION` of that beamwidth: two sources closer than half the main
  lobe's half width cannot make two peaks, and a peak that close to a stronger one is
  that one's flank.
- :func:`ring_maxima`: the local maxima of a ring or arc map that stand out by at
  least :data:`PROMINENCE` of the map's range (ripples below that are not peaks).
- :func:`choose`: the K strongest peaks at least ``min_separation`` apart, then (when
  fewer stand out) the highest points left at that separation, each flagged
  ``on_peak=False``: a talker on the main lobe's shoulder makes no local maximum, and
  the flag says that the point reported is not one.

How the rules were chosen (``benchmarks/bench_multisource.py``, the README's
"Several talkers" section): on simulated 2- and 3-talker rooms (4-mic square, 6-mic
circle, 4-mic line, 4×4 rectangle; RT60 0.2-0.6 s, SNR 10-30 dB) separations of 0.25,
0.5 and 0.75 of the beamwidth and prominences of 0, 1, 2 and 5 % were compared with
plain local maxima, pyroomacoustics' peak picking and an iterative CLEAN-like removal
of each found source from the PHAT cross-spectra. Half the beamwidth with 1 %
prominence and the flagged fill had the lowest pooled 90th percentiles; plain local
maxima (and pyroomacoustics) leave a talker unfound whenever fewer peaks than talkers
stand out (p90 180°), and the removal helped only the 4-mic line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from arraykit._cache import Cache
from arraykit.doa import grids as _grids
from arraykit.geometry import ArrayGeometry

__all__ = [
    "PROMINENCE",
    "SEPARATION_FRACTION",
    "beamwidth",
    "choose",
    "default_separation",
    "ring_maxima",
    "ring_maxima_reference",
]

PROMINENCE = 0.01
"""A local maximum of a ring map is a peak when its topographic prominence is at least
this fraction of the map's range."""

SEPARATION_FRACTION = 0.5
"""Default ``min_separation``: this fraction of :func:`beamwidth`."""

_LOOKS = 8  # look directions whose point-spread widths are pooled (median)
_kept: Cache[float] = Cache("doa.beamwidth", 64)


def beamwidth(geometry: ArrayGeometry, freqs: np.ndarray, c: float) -> float:
    """Half width at half height (degrees) of the array's SRP-PHAT point-spread function.

    The map of one noise-free plane wave over the band ``freqs`` ``(F,)``:
    ``psf(g) = 1/(F P) sum_f sum_{i<j} cos(2 pi f (dtau_ij(g) - dtau_ij(d0)))``, on the
    layout's 1-degree azimuth grid (an elevation arc for a vertical line), for
    :data:`_LOOKS` look directions ``d0`` spread over it; the width is the farthest
    grid point from ``d0`` whose value is at least halfway between the map's median
    and its peak, and the median over the looks is returned.
    """
    key = (geometry.positions.tobytes(), np.asarray(freqs, float).tobytes(), float(c))
    hit = _kept.get(key)
    if hit is not None:
        return hit
    grid = _grids.layout_grid(geometry, "azimuth", 1.0)
    tau = geometry.delays(grid, c=c)  # (G, M)
    i, j = np.triu_indices(geometry.n_mics, k=1)
    dtau = tau[:, i] - tau[:, j]  # (G, P)
    f = np.asarray(freqs, float)
    f = f[np.linspace(0, len(f) - 1, min(len(f), 32)).round().astype(int)]  # ample for a width
    widths = []
    for g0 in np.linspace(0, len(grid), _LOOKS, endpoint=False).astype(int):  # a few looks
        phase = 2 * np.pi * (dtau - dtau[g0])[:, :, None] * f[None, None, :]  # (G, P, F)
        psf = np.cos(phase).mean(axis=(1, 2))
        floor = float(np.median(psf))
        near = psf >= floor + 0.5 * (psf[g0] - floor)
        widths.append(float(_grids.angular_distance(grid[near], grid[g0]).max()))
    width = max(float(np.median(widths)), 1.0)
    _kept.put(key, width)
    return width


def default_separation(geometry: ArrayGeometry, freqs: np.ndarray, c: float) -> float:
    """The default ``min_separation`` (degrees): :data:`SEPARATION_FRACTION` of the
    :func:`beamwidth`."""
    return SEPARATION_FRACTION * beamwidth(geometry, freqs, c)


def ring_maxima(spectrum: np.ndarray, *, closed: bool) -> np.ndarray:
    """``(G,)`` bool: the local maxima of a ring (`closed`) or arc map whose topographic
    prominence is at least :data:`PROMINENCE` of the map's range.

    On an arc the ends are compared with their one neighbour (a source at endfire
    peaks at the end of a line array's half ring). A ring is read from its lowest
    point round to it again: no peak's surroundings reach past the ring's minimum, so
    every peak and prominence is the ring's own (:func:`ring_maxima_reference` reads
    three turns of the ring instead; the two agree).
    """
    from scipy.signal import find_peaks

    G = spectrum.shape[0]
    span = float(spectrum.max() - spectrum.min())
    local = np.zeros(G, dtype=bool)
    if span <= 0:
        return local
    if closed:
        r = int(np.argmin(spectrum))
        idx, _ = find_peaks(
            np.concatenate([spectrum[r:], spectrum[: r + 1]]), prominence=PROMINENCE * span
        )
        idx = (idx + r) % G
    else:
        low = spectrum.min() - span
        idx, _ = find_peaks(np.r_[low, spectrum, low], prominence=PROMINENCE * span)
        idx = idx - 1
    local[idx] = True
    return local


def ring_maxima_reference(spectrum: np.ndarray, *, closed: bool) -> np.ndarray:
    """:func:`ring_maxima` on three turns of a ring (the middle one's peaks): slower,
    for tests."""
    if not closed:
        return ring_maxima(spectrum, closed=False)
    from scipy.signal import find_peaks

    G = spectrum.shape[0]
    span = float(spectrum.max() - spectrum.min())
    local = np.zeros(G, dtype=bool)
    if span > 0:
        idx, _ = find_peaks(np.tile(spectrum, 3), prominence=PROMINENCE * span)
        local[idx[(idx >= G) & (idx < 2 * G)] - G] = True
    return local


def choose(
    spectrum: np.ndarray,
    local: np.ndarray,
    K: int,
    apart: Callable[[int, Iterable[int]], bool],
    *,
    fill: bool = True,
    taken: Iterable[int] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """The K strongest peaks of `spectrum` that are `apart`; indices ``(K,)`` and
    ``on_peak`` ``(K,)``.

    `local` ``(G,)`` marks the peaks (local maxima); ``apart(i, chosen)`` says whether
    grid point ``i`` is far enough from every chosen one. With `fill`, when fewer
    than K peaks are far enough apart, the highest remaining points that are take the
    empty places, flagged ``on_peak=False`` (a shoulder of a stronger peak, or the
    rising flank where a weaker source hides); if even those run out (``min_separation``
    too large for the grid), the highest points left, also flagged, never one of
    `taken` (points the caller holds already, which `apart` keeps away from).
    """
    held = {int(i) for i in taken}
    order = np.argsort(-spectrum, kind="stable")
    chosen: list[int] = []
    on: list[bool] = []
    for i in order[local[order]]:
        if len(chosen) == K:
            break
        if apart(int(i), chosen):
            chosen.append(int(i))
            on.append(True)
    if fill:
        for i in order[~local[order]]:
            if len(chosen) == K:
                break
            if apart(int(i), chosen):
                chosen.append(int(i))
                on.append(False)
        for i in order:
            if len(chosen) == K:
                break
            if int(i) not in chosen and int(i) not in held:
                chosen.append(int(i))
                on.append(bool(local[i]))
    return np.array(chosen, dtype=int), np.array(on, dtype=bool)


CLEAN_RATIO = 0.3
"""``counting="clean"``: a removal step counts a source when the residual map's peak
rises at least this fraction as high above its median as the first one did ..."""

CLEAN_FLOOR = 0.035
"""... and at least this far above its median (the peak a residual of reverberation and
the removal's own error leaves: 0.01-0.037 after removing a lone talker)."""

CLEAN_DIPS = 1
"""Removal steps in a row that may fail :data:`CLEAN_RATIO` / :data:`CLEAN_FLOOR` before
the search stops: a weaker talker can stand out only once a stronger one's removal error
has been removed in turn (the step that failed is removed too, and a later step that
passes counts every step before it)."""


def clean_count(
    R: np.ndarray,
    srp_map: Callable[[np.ndarray], np.ndarray],
    steer_at: Callable[[int], np.ndarray],
    peaks_of: Callable[[np.ndarray], np.ndarray],
    apart: Callable[[int, Iterable[int]], bool],
    kmax: int,
    floor: float,
    *,
    first: np.ndarray | None = None,
) -> tuple[int, np.ndarray]:
    """Count sources by removing them one by one from the PHAT cross-spectra (CLEAN).

    Each step takes the highest peak of the SRP-PHAT map of the residual ``R``
    ``(F, M, M)`` that is `apart` from those found, and removes a plane wave from that
    direction with, per bin, the coherence the residual holds there
    (``c_f = Re(a^H R_f a - tr R_f) / (M (M - 1))``, at least 0) from the off-diagonal
    cross-spectra. The first step counts when its peak rises at least `floor` above the
    map's median; a later one when it rises at least :data:`CLEAN_FLOOR` and
    :data:`CLEAN_RATIO` of the first peak's height, and the count is the last step that
    counted. The search stops after :data:`CLEAN_DIPS` + 1 failed steps in a row, after
    `kmax` steps, or when no peak is left. Returns the count and every step's height.

    `srp_map(R)` maps residual cross-spectra over the grid ``(G,)``; `steer_at(i)` is
    grid point ``i``'s unit-modulus steering vectors ``(F, M)``; `peaks_of(map)` the
    ``(G,)`` bool peak mask; `first` ``(G,)`` the map of ``R`` when already made.
    """
    R = np.array(R, dtype=complex)
    M = R.shape[1]
    off = ~np.eye(M, dtype=bool)
    found: list[int] = []
    heights: list[float] = []
    count = misses = 0
    for step in range(kmax):  # a loop over the sources (few)
        m = first if step == 0 and first is not None else srp_map(R)
        local = peaks_of(m)
        order = np.argsort(-m, kind="stable")
        cand = [int(i) for i in order[local[order]] if apart(int(i), found)]
        if not cand:
            break
        j = cand[0]
        h = float(m[j] - np.median(m))
        heights.append(h)
        if step == 0:
            if h < floor:
                break
            count = 1
        elif h >= CLEAN_FLOOR and h >= CLEAN_RATIO * heights[0]:
            count, misses = step + 1, 0
        else:
            misses += 1
            if misses > CLEAN_DIPS:
                break
        found.append(j)
        a = steer_at(j)  # (F, M)
        A = a[:, :, None] * np.conj(a[:, None, :])  # (F, M, M)
        c = np.einsum("fp,fp->f", R[:, off], np.conj(A[:, off])).real / (M * (M - 1))
        R = R - np.maximum(c, 0.0)[:, None, None] * A * off
    return count, np.array(heights)


TALKER_FLOOR = 0.5
"""A direction counts as a talker of :attr:`~arraykit.doa.BlocksResult.talkers` while its
decayed evidence is at least this (one block's detection at confidence c gives c)."""
