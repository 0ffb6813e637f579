"""Counting talkers from the time-frequency zones one talker dominates (``counting="tf"``).

Shapes: ``M`` microphones, ``F`` band frequencies, ``T`` frames, ``Z`` zones per bin,
``G`` grid points, ``K`` sources.

Speech is sparse in time and frequency: with several talkers, many time-frequency
points hold one talker's sound only, and its direct path dominates them at its onsets,
before the room's reverberation builds up. Counting the directions of those points
separates talkers whose residuals in a map do not (after removing the strongest
talker from a map, CLEAN-like, a weaker talker's residual peak is no higher than the
one reverberation leaves). After Pavlidi, Griffin, Puigt and Mouchtaris, "Real-time
multiple sound source localization and counting using a circular microphone array",
IEEE TASLP 21(10), 2013 (single-source zones, a direction histogram, matching
pursuit), with the direct-path dominance idea of Nadiri and Rafaely (IEEE/ACM TASLP
22(10), 2014) in the onset test:

1. **Zones**: two consecutive frames at one bin, ``C = x_1 x_1^H + x_2 x_2^H``
   ``(M, M)``; its two eigenvalues and dominant eigenvector come in closed form from
   the 2 x 2 Gram matrix of ``x_1, x_2``.
2. **Single-source zones**: the dominant eigenvalue holds at least :data:`DOMINANCE`
   of ``tr C``, and ``tr C`` is at least :data:`ONSET` times the same bin's previous
   zone (an onset).
3. **A direction per zone**: the grid point where the dominant eigenvector, PHAT
   normalised, best matches a plane wave (``|a^H u|``); on an arc (a line array) a
   zone whose best point is an end of the arc is dropped (a maximum the grid's end
   clamps, not an estimate).
4. **Histogram** of the zones' directions over the plan's ring or arc, smoothed by a
   Gaussian of standard deviation :data:`SMOOTH` times the array's beamwidth
   (:func:`arraykit.doa.extract.beamwidth`): the scatter of a zone's direction grows
   with the beamwidth. On a line the zones are counted per unit of the cosine of their
   angle from the axis, not per degree (each weighs 1 / sin of that angle, at most
   1 / :data:`ENDFIRE`): a line resolves evenly in that cosine, and per degree a
   talker's zones thin out toward the axis, which pulled its atom toward broadside.
5. **Matching pursuit**: the highest point of what is left is an atom; an atom
   ``h_q / (1 + (d / w)^2)`` (``w`` = :data:`ATOM` times the beamwidth: the scatter
   has heavy tails; on a line divided by the sine of the atom's angle from the axis,
   where the beamwidth grows toward endfire; on a planar array's ring divided by the
   cosine of the elevation its zones match, from :data:`ELEVATED` up) scaled to that
   height is taken out. An atom counts when it is at
   least ``min_separation`` from the counted ones; the pursuit stops when an atom's
   height falls under :data:`RATIO` of the first one's, or at ``kmax`` counted. On a
   ring, an atom after the first counts only where it stands :data:`SIGNIFICANCE`
   Poisson deviations above the zones' background (:data:`BACKGROUND`): the zones of a
   diffuse noise scatter over the whole ring, and their chance bumps stand as high as a
   talker's atom.
6. **Modes the atoms swallowed** (``num_sources="auto"``): a local maximum of the zones'
   histogram barely smoothed (one step either side) within :data:`MODE_REACH`
   beamwidths of a counted atom, at least ``min_separation`` from every one, is one more
   atom when the valley between it and each counted atom within that reach lies
   :data:`SIGNIFICANCE` Poisson deviations under it and at most :data:`MODE_DIP` of its
   height (see :data:`MODE_DIP`). With a given count the pursuit's free atoms and their
   modes come first, then the forced atoms that are not within ``min_separation`` of a
   mode (one sat on its flank).

With a given number of sources K (two or more) the same histogram places them: the
pursuit is forced to K atoms (:func:`seed_zones`) and the search reports the map's peaks
near them (:func:`arraykit.doa.peaks.peaks_near`).

How the rule and its numbers were chosen (``benchmarks/bench_multisource.py``, the
README's "Several talkers" section): on seeded rooms 0-31 (RT60 0.3 s, SNR 20 dB; 4-mic
square, 6-mic circle, 4-mic line, 4x4 grid) zones of 2 / 3 / 4 frames and 1 / 2 bins,
dominance 0.6-0.95, onsets 1-4, a plane-wave fit floor, band floors of 300-1500 Hz,
smoothing of 3-12 degrees or 0.15-0.3 beamwidths, peak picking against matching
pursuit with Gaussian and Cauchy atoms of 0.25-1 beamwidth, and ratios 0.1-0.5 were
compared; the numbers above sit in the middle of a broad plateau (mean share counted
right for K = 1-3 over the four arrays 0.84-0.86), then were checked once on rooms
32-63. Without the onset test, zones of the reverberant tail scatter the histogram
(0.80 at best); with Gaussian atoms of the smoothing's width, one talker's heavy
tails count as two more talkers on the 4-mic square.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from arraykit import _cache
from arraykit._cache import Cache
from arraykit.doa import extract as _extract
from arraykit.doa import grids as _grids
from arraykit.doa._cross import unit_phase
from arraykit.doa.plan import Plan
from arraykit.geometry import unit_vectors
from arraykit.steering import plane_wave

__all__ = [
    "ATOM",
    "BACKGROUND",
    "CLEAR",
    "DOMINANCE",
    "ELEVATED",
    "ENDFIRE",
    "GRID_KINDS",
    "LIFT",
    "ONSET",
    "RATIO",
    "SIGNIFICANCE",
    "SMOOTH",
    "Atoms",
    "Zones",
    "count_zones",
    "histogram_atoms",
    "pursue",
    "seed_zones",
    "single_source",
    "zone_directions",
]

DOMINANCE = 0.7
"""A zone is a single-source zone when its dominant eigenvalue holds at least this
share of the zone's power."""

ONSET = 1.5
"""... and its power is at least this many times that of the same bin's previous zone
(1.8 dB: an onset, where the direct path dominates)."""

SMOOTH = 0.25
"""The histogram's Gaussian smoothing, standard deviation in beamwidths."""

ATOM = 0.6
"""Half width at half height of a matching-pursuit atom (a Cauchy shape), in beamwidths."""

RATIO = 0.15
"""An atom counts while its height is at least this fraction of the first atom's."""

POWER = 0.02
"""``num_sources="auto"``: an atom after the first counts only where the zones around it
(within :data:`ATOM` beamwidths) hold at least this share of the power of the first
atom's zones (17 dB under it). The zones of sensor noise scatter and make atoms of their
own under a narrowband source, or at low SNR, that hold far less: 0.01-0.06 % of a pure
tone's, 0.15-4 % in the mixed rooms' over-counts, against 9 % and more for every atom of
a talker counted in the RT60 0.3 s rooms (README, "A talker's share of the power")."""

BACKGROUND = 10.0
"""``num_sources="auto"`` on a ring: the zones' background, the count per grid point of
zones that belong to no talker, is this percentile of the smoothed histogram (per grid
point); a later atom counts where its height exceeds the background's there by
:data:`SIGNIFICANCE` of the background's standard deviation (the zones' counts taken as
Poisson, smoothed: ``sqrt(lambda sum_j s_ij^2)``). Chosen on rooms 0-31 with a diffuse
field 10 dB under the talkers and with white noise only (README, "Diffuse noise");
25 % made the background of three talkers' own flanks on the 4-mic square (K = 3 right
94 % -> 75-84 %), 5 % let more noise atoms through (K = 2 on the 4x4 grid 53 %
against 69 % with 10 %). Not on a line (an arc), whose diffuse-field zones crowd at
broadside instead of scattering: there it cost three talkers (50 % -> 38 %) and
gave nothing in diffuse noise."""

SIGNIFICANCE = 3.0
"""See :data:`BACKGROUND` (2: diffuse noise counted right less often on the circle and
the 4x4 grid; 4: three talkers on the square less often)."""

ENDFIRE = 0.25
"""On a line, an atom's width is :data:`ATOM` beamwidths over the sine of its angle from
the line's axis, at least this sine (4x the broadside width at most)."""

ELEVATED = 50.0
"""On a planar array's azimuth ring, the atom of a talker this many degrees or more above
(or below) the array's plane is ``1 / cos(el)`` wider (at most 1 / :data:`ENDFIRE`, as a
line's): the ring sees its wave over ``cos(el)`` of the aperture, so its zones scatter
that much more widely in azimuth, and matching pursuit read one elevated talker as 2-5.
The elevation is where the zones within the atom's width best match a plane wave along
its azimuth, 0-85 degrees in steps of 5 (:func:`_elevation`). One talker on the default
ring (RT60 0.3 s / 20 dB, 1.5 m, azimuth drawn; rooms 0-11, where this was chosen): at
elevations 0 / 30 degrees the zones said 20-35 / 30-40, at 60 / 70 / 80 degrees 50-60 /
55-65 / 65-75; every atom of the benchmark's held-out rooms 32-63 (square, circle, 4x4
grid; 1-3 talkers at the array's height) said 45 or less. Then, once: rooms 0-63 of the
benchmark (RT60 0.3 s) give the same counts and directions on the three planar arrays,
the mixed rooms 32-63 one direction 2 degrees off (square, three talkers: 248 -> 250, its
talker at 243); on fresh rooms 100-111, one talker at 60 / 70 / 80 degrees was counted
right in 25 -> 92 / 0 -> 50 / 0 -> 0 % (circle) and 17 -> 100 / 0 -> 67 / 0 -> 0 %
(square), wrong estimates at confidence 0.5 or more 7 -> 0, 21 -> 0, 21 -> 3 and 13 -> 0,
15 -> 4, 15 -> 13; at 45 degrees the square 83 -> 75 %. At 80 degrees a small ring
barely sees azimuth at all (grid="sphere" finds such a talker). It costs about 0.35 ms
of a 3 ms ``"auto"`` call (CPU time, interleaved: circle 2.93 -> 3.28 ms, square 2.12 ->
2.46 ms); with its steering kept per plan and ring point (a talker stays where it is)
the ``"auto"`` call costs 1.91-1.95x a single source's, against 1.74-1.78x without the
widening and 2.09x with it uncached."""

LIFT = 1.08
"""... and where the zones' summed fit there is at least this many times their fit in the
array's plane. A diffuse field's zones (all directions, and nearly in phase at low
frequencies) pull the 4-mic square's estimate to 45-60 degrees for talkers in its plane,
with the fit only 1.03-1.12 times the plane's (a talker really 60 degrees up: 1.09-1.16
on the square, 1.23-1.29 on the 6-mic circle): without it, the square's three talkers
in a diffuse field 20 dB under them were counted right 69 % against 81 % (training rooms
0-31); with it as without the widening, and one talker 45-70 degrees up is counted as
before (rooms 100-111, also read to choose it: 92 / 92 / 58 % on the circle, 92 / 100 /
92 % on the square)."""

MODE_DIP = 0.7
"""Step 6: a second mode counts where the valley between it and a counted atom is at most
this share of its height (and :data:`SIGNIFICANCE` Poisson deviations under it). A
talker's zones in a dry room gather tightly: on office-ula32's 8-mic sub-arrays (T60 40
ms) a loudspeaker's zones have a half width at half height of a median 0.09-0.10
beamwidths, against 0.23-0.41 in the simulated RT60 0.3 s rooms, so three loudspeakers
15-30 degrees apart make three separate clusters while the pursuit's atom, 0.6
beamwidths wide for the simulated rooms' spread, takes the third with the first. Chosen
on the office-ula32 sets of the README (every triple counted right on 8 mics 18 -> 60 %;
with a dip of 0.6 / 0.8, 2.5 / 4 deviations, :data:`MODE_FLOOR` 0.15: 48-62 %); in every
simulated room set of the README (rooms 0-63 at RT60 0.3 s, the mixed rooms, diffuse
fields 10 and 20 dB under the talkers, noise alone) it adds no atom: their clusters'
valleys are not that deep."""

MODE_REACH = 2.0
"""Step 6 looks for modes within this many beamwidths of a counted atom (farther ones
are the pursuit's: the scattered zones of reverberation make chance modes there)."""

MODE_FLOOR = 0.08
"""Step 6: a mode at least this share of the barely smoothed histogram's highest point."""

_BARELY = np.array([0.25, 0.5, 0.25])  # step 6's smoothing, one step either side
_ZERO, _BELOW = np.zeros(1), np.full(1, -1.0)  # an arc's padding beyond its ends

CLEAR = 6.5
"""The zones show a talker when the share of them within :data:`ATOM` beamwidths of
the histogram's top (off a line, of any counted atom: three talkers around a small ring
split them three ways; on noise alone this reads a little higher than around the top
alone, at most 4.9 over 96 noise-only scenes per array) exceeds the share of the grid there by at least this many binomial
standard deviations (:attr:`Atoms.clear`); then a map whose peak hardly stands out
(:func:`arraykit.doa.confidence.weak_reason`) does not veto counting."""

GRID_KINDS = ("ring", "arc", "arc-el")
"""Grids the histogram is made on (one angle); other grids are counted by ``"clean"``."""

_kernels: Cache[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = Cache(
    "doa.zone_kernels", 16
)
_search: Cache[np.ndarray] = _cache.named("doa.zone_steering", 16)
_elevated: Cache[np.ndarray] = _cache.named("doa.zone_elevations", 16 << 20, lambda a: a.nbytes)
"""Per plan and ring point, 16 MiB at most: the steering along that azimuth at 0-85
degrees (:func:`_elevation`; 0.17 MB for 6 microphones and the 16 kHz band)."""


class Zones(NamedTuple):
    """The single-source zones' directions: grid indices ``(n,)``, of ``total`` zones;
    each one's bin in the band ``(n,)``, zone number ``(n,)`` (frames ``2z, 2z + 1``) and
    power ``(n,)`` (its two frames' ``|x|^2`` summed over the microphones, as the onset
    test read it)."""

    grid_index: np.ndarray
    total: int
    bins: np.ndarray
    numbers: np.ndarray
    power: np.ndarray
    vectors: np.ndarray | None = None  # (n, M) each zone's PHAT-normalised eigenvector


class Atoms(NamedTuple):
    """What the matching pursuit found: the counted atoms' grid indices ``(K,)`` and
    heights relative to the first ``(K,)`` (a mode of step 6, marked in `swallowed`:
    on the barely smoothed histogram, relative to its value at the first atom), the
    relative height of the highest point left when it stopped (under :data:`RATIO`
    unless ``kmax`` stopped it), the zones it read, and how clearly they gather anywhere:
    ``(n_top - n p) / sqrt(n p (1 - p))`` with ``n`` zones, ``n_top`` of them within
    :data:`ATOM` beamwidths of the histogram's top (off a line: of any counted atom) and
    ``p`` the share of the grid's points there (a binomial z-score against zones spread
    evenly; see :data:`CLEAR`)."""

    grid_index: np.ndarray
    heights: np.ndarray
    left: float
    zones: Zones
    clear: float = 0.0
    widen: np.ndarray | None = None  # (K,) each atom's width over ATOM's (ELEVATED)
    swallowed: np.ndarray | None = None  # (K,) bool: a mode the atoms swallowed (step 6)


def single_source(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The single-source zones of the band's STFT ``X`` ``(M, F, T)`` (steps 1-2 of the
    module's docstring): their bins ``(n,)``, zone numbers ``(n,)`` (zone ``z`` holds
    frames ``2z, 2z + 1``) and dominant eigenvectors ``(n, M)`` with each element
    scaled to modulus 1 (PHAT)."""
    return _single_source(X)[:3]


def _single_source(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`single_source` and the zones' powers ``(n,)`` (:attr:`Zones.power`)."""
    M, _, T = X.shape
    Z = T // 2
    e = (X.real**2 + X.imag**2).sum(axis=0)  # (F, T) each frame's power
    power = e[:, 0 : 2 * Z : 2] + e[:, 1 : 2 * Z : 2]  # (F, Z) a + d
    prev = np.empty_like(power)
    prev[:, 0] = np.inf
    prev[:, 1:] = power[:, :-1]
    # the onset test first (a quarter of the zones pass it), then the Gram matrix
    # [[a, b], [b*, d]] and its dominant eigenvalue of those zones only, gathered by
    # flat index: zone fi * Z + zi, fi ascending
    k = np.flatnonzero((power >= ONSET * prev) & (power > 0))
    fi, zi = np.divmod(k, Z)
    ek = fi * T + 2 * zi  # the zone's first frame in e (F, T)
    a, d, pk = e.take(ek), e.take(ek + 1), power.take(k)
    # the zones' frames gathered from X's own layout: (M, F, T) as the front end's blocks
    # come, element (m, f, 2 zi) at m F T + f T + 2 zi; else (F, M, T), as the searches
    # keep them (copied so if neither), at f M T + m T + 2 zi
    F = X.shape[1]
    if X.flags.c_contiguous:
        Xf = X.reshape(-1)
        at = (np.arange(M) * (F * T))[:, None] + (fi * T + 2 * zi)[None, :]  # (M, n)
    else:
        Xf = np.ascontiguousarray(X.transpose(1, 0, 2)).reshape(-1)
        at = (np.arange(M) * T)[:, None] + (fi * (M * T) + 2 * zi)[None, :]  # (M, n)
    x1, x2 = Xf.take(at), Xf.take(at + 1)  # (M, n) the zones' two frames
    b = (x1.conj() * x2).sum(axis=0)
    b2 = np.abs(b) ** 2
    lam = 0.5 * pk + np.sqrt(0.25 * (a - d) ** 2 + b2)
    keep = np.flatnonzero(lam >= DOMINANCE * pk)
    if len(keep) < len(k):
        fi, zi, a, d, b, b2, lam, pk = (v.take(keep) for v in (fi, zi, a, d, b, b2, lam, pk))
        x1, x2 = x1.take(keep, axis=1), x2.take(keep, axis=1)
    # dominant eigenvector of C: x1 w1 + x2 w2 with (w1, w2) the Gram matrix's, from
    # whichever of its two rows gives the longer (b = 0: orthogonal frames)
    first = b2 + (lam - a) ** 2 >= (lam - d) ** 2 + b2
    w1 = np.where(first, b, lam - d)
    w2 = np.where(first, lam - a, np.conj(b))
    u = x1 * w1 + x2 * w2  # (M, n)
    # PHAT: u / |u| with the floor in u's own precision (a silent channel's element is 0;
    # a floor of 1e-300 is 0 in single precision, and 0 * 1/0 is NaN)
    return fi, zi, unit_phase(u).T, pk


def zone_directions(X: np.ndarray, plan: Plan, step: int = 1) -> Zones:
    """The grid point of each single-source zone of the band's STFT ``X`` ``(M, F, T)``
    (steps 1-3 of the module's docstring), searched on every `step`-th point of the
    plan's grid (the histogram is smoothed over several points anyway)."""
    _, F, T = X.shape
    fi, zi, u, power = _single_source(X)
    n, M = u.shape
    # zones padded per bin, one batched product per bin: (F, n_max, M) x (F, M, G_s)
    counts = np.bincount(fi, minlength=F)
    n_max = max(int(counts.max(initial=0)), 1)
    rows = fi * n_max + (np.arange(n) - (np.cumsum(counts) - counts)[fi])  # (n,) in (F n_max)
    # single precision: a direction is an argmax over a smoothed-over grid
    U = np.zeros((F * n_max, M), dtype=np.complex64)
    U[rows] = np.conj(u)
    A = _search_steering(plan, step)  # (F, M, G_s)
    prod = np.matmul(U.reshape(F, n_max, M), A).reshape(F * n_max, -1).take(rows, axis=0)
    fit = np.square(prod.real)
    fit += np.square(prod.imag)  # |u^H a|^2
    best = step * fit.argmax(axis=1)
    if plan.grid_kind != "ring":  # an arc's ends clamp the maximum
        last = step * ((len(plan.grid_directions) - 1) // step)
        inner = (best > 0) & (best < last)
        best, fi, zi, power, u = best[inner], fi[inner], zi[inner], power[inner], u[inner]
    return Zones(best, F * (T // 2), fi, zi, power, u)


def _search_steering(plan: Plan, step: int) -> np.ndarray:
    """``(F, M, G_s)`` single-precision steering of every `step`-th point of the plan's
    grid (the plan's own steering, kept per grid and step)."""
    steer = plan.steering()
    key = steer.cache_key(float(step))
    kept = _search.get(key)
    if kept is None:
        parts = [A[:, (-sl.start) % step :: step] for sl, A in steer.chunks()]  # (F, Gc, M)
        kept = np.ascontiguousarray(
            np.concatenate(parts, axis=1).astype(np.complex64).transpose(0, 2, 1)
        )
        kept.setflags(write=False)
        _search.put(key, kept)
    return kept


def pursue(
    X: np.ndarray, plan: Plan, kmax: int, *, force: bool = False, per_cosine: bool = True
) -> Atoms:
    """Steps 1-5 of the module's docstring on the band's STFT ``X`` ``(M, F, T)`` and
    the plan's ring or arc: the atoms of the zones' direction histogram.

    With `force` (a given number of sources) the pursuit does not stop at :data:`RATIO`:
    it takes atoms until `kmax` count or the histogram is spent. With `per_cosine` (the
    default) a line's histogram counts zones per unit of the cosine of the angle from
    its axis (each zone weighs :func:`_stretch` of its point; other arrays: 1): a line
    resolves evenly in that cosine, so a talker's zones scatter evenly in it, and per
    degree their density is that times the sine, whose slope pulls the histogram's top
    from a talker toward broadside. ``per_cosine=False`` counts per degree, as before
    (the README's "A line's zones per unit of cosine" compares the two;
    :func:`histogram_atoms`, the front end's, still counts per degree). :attr:`Atoms.clear`
    is read per degree either way (:data:`CLEAR` was set there)."""
    grid = plan.grid_directions
    width = _extract.beamwidth(plan.geometry, plan.freqs, plan.c)
    # zone directions on every step-th grid point: two or more per smoothing deviation
    step = max(1, int(SMOOTH * width / (2.0 * plan.coarse)))
    zones = zone_directions(X, plan, step)
    if len(zones.grid_index) == 0:
        return Atoms(np.zeros(0, dtype=int), np.zeros(0), 0.0, zones)
    smooth, dist = _kernels_for(grid, width)
    counts = np.bincount(zones.grid_index, minlength=len(grid)).astype(float)  # (G,)
    line = per_cosine and plan.geometry.axis is not None
    weighted = counts * _stretch(plan) if line else counts  # d(cos) = sin d(angle)
    widen = _elevation(zones, plan, dist, width)
    background = plan.geometry.axis is None
    atoms, heights, left = _atoms(weighted, plan, width, kmax, force, widen, background=background)
    swallowed = np.zeros(len(atoms), dtype=bool)
    if not force and 0 < len(atoms) < kmax:
        counted = len(atoms)
        atoms, heights = _modes(counts, plan, step, atoms, heights, width, kmax, dist)
        swallowed = np.arange(len(atoms)) >= counted
    elif force and len(atoms):  # a given count: the modes first, then the forced atoms
        strong = heights >= RATIO  # the atoms an unforced pursuit would have stopped after
        free, free_heights = atoms[strong], heights[strong]
        if 0 < len(free) < kmax:
            got, got_heights = _modes(counts, plan, step, free, free_heights, width, kmax, dist)
            if len(got) > len(free):  # (a forced atom on a swallowed mode's flank goes)
                rest = [
                    k
                    for k, q in enumerate(atoms)
                    if all(dist[q, a] >= plan.min_separation for a in got)
                ]
                atoms = np.r_[got, atoms[rest]].astype(int)[:kmax]
                heights = np.r_[got_heights, heights[rest]][:kmax]
                at = np.arange(len(atoms))
                swallowed = (at >= len(free)) & (at < len(got))
    # how clearly the zones gather is read around the top of the histogram per degree
    # (CLEAR was set there): the first atom, unless a line's atoms were per cosine
    top = int(atoms[0]) if len(atoms) and not line else int(np.argmax(smooth @ counts))
    window = dist[top] <= ATOM * width
    if not line:  # around every counted atom: three talkers around a small ring
        window = np.any(dist[atoms] <= ATOM * width, axis=0) | window
    clear = _gathered(zones.grid_index, window)
    wide = None if widen is None else np.array([widen(int(q)) for q in atoms])
    return Atoms(atoms, heights, left, zones, clear, wide, swallowed)


def _modes(
    counts: np.ndarray,
    plan: Plan,
    step: int,
    atoms: np.ndarray,
    heights: np.ndarray,
    width: float,
    kmax: int,
    dist: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Step 6 of the module's docstring: the counted atoms `atoms` ``(K,)`` (grid indices)
    and their `heights` with the modes the pursuit's atoms swallowed added, from the zones'
    counts per grid point `counts` ``(G,)`` (they fall on every `step`-th point). A mode's
    height is read relative to the histogram's value at the first atom; `dist` ``(G, G)``:
    the grid's angular distances."""
    ring = plan.grid_kind == "ring"
    c = counts[::step]  # the grid points zones land on: every step-th
    n = c.size
    edge = (c[-1:], c[:1]) if ring else (_ZERO, _ZERO)
    h = np.convolve(np.concatenate([edge[0], c, edge[1]]), _BARELY, mode="valid")  # (n,)
    side = (h[-1:], h[:1]) if ring else (_BELOW, _BELOW)
    before, after = np.concatenate([side[0], h[:-1]]), np.concatenate([h[1:], side[1]])
    modes = np.flatnonzero((h > before) & (h >= after) & (h >= MODE_FLOOR * h.max()))
    if not modes.size:
        return atoms, heights
    d = dist[step * modes[:, None], np.asarray(atoms)[None, :]].min(axis=1)
    modes = modes[(d >= plan.min_separation) & (d <= MODE_REACH * width)]  # (usually none)
    if not modes.size:
        return atoms, heights
    modes = modes[np.argsort(-h[modes], kind="stable")]
    at = [round(float(a) / step) % n if ring else min(round(float(a) / step), n - 1) for a in atoms]
    ref = max(float(h[at[0]]), 1e-300)
    got, rel = [int(a) for a in atoms], [float(x) for x in heights]
    for i in modes:
        q = step * int(i)
        if len(got) >= kmax:
            break
        if any(dist[q, a] < plan.min_separation for a in got):
            continue
        near = [j for j, a in enumerate(got) if dist[q, a] <= MODE_REACH * width]
        if not near:
            continue
        deep = True
        for j in near:  # the valley on the way to each near atom (the short way on a ring)
            lo, hi = sorted((int(i), at[j]))
            if ring and hi - lo > n - (hi - lo):
                valley = float(min(h[hi:].min(), h[: lo + 1].min()))
            else:
                valley = float(h[lo : hi + 1].min())
            peak = float(h[i])
            if peak - valley < SIGNIFICANCE * np.sqrt(peak + valley) or valley > MODE_DIP * peak:
                deep = False
                break
        if deep:
            got.append(q)
            at.append(int(i))
            rel.append(float(h[i]) / ref)
    return np.array(got, dtype=int), np.array(rel)


def _elevation(
    zones: Zones, plan: Plan, dist: np.ndarray, width: float
) -> Callable[[int], float] | None:
    """On a planar array's azimuth ring (else None): how much wider than :data:`ATOM` the
    atom at grid point ``q`` is. Its zones (those within :data:`ATOM` beamwidths) are
    matched to plane waves along ``q``'s azimuth at elevations 0-85 degrees; where their
    summed fit ``|a^H u|^2`` peaks at :data:`ELEVATED` or more, ``1 / cos(el)`` (at most
    1 / :data:`ENDFIRE`), else 1."""
    ring = plan.grid_kind == "ring" and plan.points is None
    vectors = zones.vectors
    if not ring or plan.geometry.layout != "planar" or vectors is None:
        return None
    els = np.arange(0.0, 90.0, 5.0)
    grid = plan.grid_directions
    positions = plan.geometry.positions
    kept: dict[int, float] = {}

    def widen(q: int) -> float:
        if q not in kept:
            near = dist[q, zones.grid_index] <= ATOM * width
            up = 1.0
            if np.any(near):
                key = plan.steering().cache_key(-1.0, float(q))  # (kept: a talker stays)
                A = _elevated.get(key)
                if A is None:
                    dirs = np.column_stack([np.full(els.size, grid[q, 0]), els])
                    a = plane_wave(positions, plan.freqs, unit_vectors(dirs), c=plan.c)
                    # conj(a) per band bin (F, M, E) in single precision (an argmax over 5
                    # degree steps), gathered per zone: (n, 1, M) @ (n, M, E) = a^H u
                    A = np.conj(a).transpose(0, 2, 1).astype(np.complex64)
                    A.setflags(write=False)
                    _elevated.put(key, A)
                u = vectors[near].astype(np.complex64)[:, None, :]
                prod = np.matmul(u, A[zones.bins[near]])[:, 0, :]
                fit = np.square(prod.real) + np.square(prod.imag)  # |a^H u|^2 (n, E)
                summed = fit.sum(axis=0)  # (E,)
                best = int(np.argmax(summed))
                el = float(els[best])
                if el >= ELEVATED and summed[best] >= LIFT * summed[0]:
                    up = 1.0 / max(float(np.cos(np.radians(el))), ENDFIRE)
            kept[q] = up
        return kept[q]

    return widen


def histogram_atoms(
    counts: np.ndarray, plan: Plan, kmax: int, *, force: bool = False
) -> tuple[np.ndarray, np.ndarray, float]:
    """Steps 4-5 of the module's docstring on zone counts per grid point ``(G,)`` of the
    plan's ring or arc (weights allowed: a forgetting histogram): the counted atoms'
    grid indices ``(K,)``, their heights relative to the first ``(K,)`` and the relative
    height of the highest point left (see :func:`pursue`)."""
    return _atoms(counts, plan, _extract.beamwidth(plan.geometry, plan.freqs, plan.c), kmax, force)


def _atoms(
    counts: np.ndarray,
    plan: Plan,
    width: float,
    kmax: int,
    force: bool,
    widen: Callable[[int], float] | None = None,
    *,
    background: bool = False,
) -> tuple[np.ndarray, np.ndarray, float]:
    """:func:`histogram_atoms` with the array's beamwidth `width` (degrees) given; `widen`
    (:func:`_elevation`) widens the atom at a grid point further; with `background` (and
    not `force`) an atom after the first counts only where it stands out of the zones'
    background (:data:`BACKGROUND`; `counts` are counts, not weights)."""
    smooth, dist = _kernels_for(plan.grid_directions, width)
    hist = smooth @ np.asarray(counts, dtype=float)  # (G,)
    atoms: list[int] = []
    heights: list[float] = []
    first = float(hist.max(initial=0.0))
    if first <= 0:
        return np.array(atoms, dtype=int), np.array(heights), 0.0
    floor = np.zeros_like(hist)  # the background's level plus SIGNIFICANCE deviations
    if background and not force:
        rows, squares = _kernel_sums(plan.grid_directions, width)
        lam = _percentile(hist / rows, BACKGROUND)  # zones per grid point
        floor = lam * rows + SIGNIFICANCE * np.sqrt(lam * squares)
    stretch = _stretch(plan)  # (G,) a line's atoms widen toward its axis
    for _ in range(4 * kmax + 3 if force else kmax + 3):  # a loop over atoms (few)
        q = int(np.argmax(hist))
        h = float(hist[q])
        if h <= 0 or (h < RATIO * first and not force) or len(atoms) == kmax:
            break
        stands = not atoms or h >= floor[q]
        if stands and all(dist[q, j] >= plan.min_separation for j in atoms):
            atoms.append(q)
            heights.append(h / first)
        w = ATOM * width * stretch[q] * (1.0 if widen is None or not stands else widen(q))
        hist = np.maximum(hist - h / (1.0 + (dist[q] / w) ** 2), 0.0)
    return np.array(atoms, dtype=int), np.array(heights), float(hist.max()) / first


def _percentile(a: np.ndarray, q: float) -> float:
    """``np.percentile(a, q)`` (linear) of a 1-d array from two order statistics: a
    sixth of its cost on a ring's 360 points."""
    if a.size == 1:
        return float(a[0])
    pos = (a.size - 1) * q / 100.0
    k = min(int(pos), a.size - 2)
    part = np.partition(a, [k, k + 1])
    lo = float(part[k])
    return lo + (pos - k) * (float(part[k + 1]) - lo)


def _stretch(plan: Plan) -> np.ndarray:
    """``(G,)`` how much wider than at broadside an atom is at each grid point: a line's
    resolution is even in the cosine of the angle from its axis, so in angle its
    beamwidth grows as ``1 / sin`` of that angle (at most 1 / :data:`ENDFIRE`); 1 for
    other arrays."""
    axis = plan.geometry.axis
    grid = plan.grid_directions
    if axis is None:
        return np.ones(len(grid))
    cos = unit_vectors(grid) @ axis
    return 1.0 / np.maximum(np.sqrt(np.maximum(1.0 - cos**2, 0.0)), ENDFIRE)


def _gathered(grid_index: np.ndarray, inside: np.ndarray) -> float:
    """:attr:`Atoms.clear` of the zones' grid indices ``(n,)`` and a window over the
    grid ``(G,)`` bool."""
    n = len(grid_index)
    p = float(inside.mean())
    if n == 0 or not 0.0 < p < 1.0:
        return 0.0
    return float((np.count_nonzero(inside[grid_index]) - n * p) / np.sqrt(n * p * (1.0 - p)))


def count_zones(
    X: np.ndarray, plan: Plan, kmax: int, found: Atoms | None = None
) -> tuple[int, str, np.ndarray | None]:
    """``counting="tf"``: the number of talkers from the band's STFT ``X`` ``(M, F, T)``
    on the plan's ring or arc (:func:`pursue`, or its result `found`), why, and the
    atoms' grid indices ``(K,)`` (None without a single-source zone)."""
    if found is None:
        found = pursue(X, plan, kmax)
    zones = found.zones
    if len(found.grid_index) == 0:
        return (
            1,
            f"auto (tf): 1 source (no single-source zone among {zones.total}: none with an onset "
            f"and a dominant eigenvalue of at least {DOMINANCE:.0%} of its power)",
            None,
        )
    atoms, heights = found.grid_index, found.heights
    swallowed = np.zeros(len(atoms), dtype=bool) if found.swallowed is None else found.swallowed
    share = _power_shares(plan, found)
    weak = share < POWER
    weak[0] = False
    if weak.any():
        atoms, heights, swallowed = atoms[~weak], heights[~weak], swallowed[~weak]
    K = len(atoms)
    grid = plan.grid_directions
    where = ", ".join(
        f"{_angle(grid[q], plan)} ({r:.2f}{', a swallowed mode' if m else ''})"
        for q, r, m in zip(atoms, heights, swallowed, strict=True)
    )
    modes = (
        f"; a swallowed mode (its height on the barely smoothed histogram) counts where the "
        f"valley to each atom near it is at most {MODE_DIP:.0%} of its height and "
        f"{SIGNIFICANCE:g} deviations under it"
        if swallowed.any()
        else ""
    )
    dropped = "".join(
        f"; an atom at {_angle(grid[q], plan)} dropped: its zones hold {p:.2%} of the first's "
        f"power (under {POWER:.0%}: noise, not a talker)"
        for q, p in zip(found.grid_index[weak], share[weak], strict=True)
    )
    over = (
        f", {SIGNIFICANCE:g} deviations over the zones' background"
        if plan.geometry.axis is None
        else ""
    )
    return (
        K,
        f"auto (tf): {K} source(s) in the direction histogram of {len(zones.grid_index)} "
        f"single-source zones (of {zones.total}); atoms at {where} (height relative to the "
        f"first; one counts at {RATIO:.0%} or more{over} and {plan.min_separation:.1f} deg or "
        f"more from the others{modes}; {found.left:.2f} left){dropped}",
        atoms,
    )


def _power_shares(plan: Plan, found: Atoms) -> np.ndarray:
    """``(K,)`` each atom's zones' power (the zones within :data:`ATOM` beamwidths of it,
    a line's widened toward its axis) relative to the first atom's; all ones for one atom."""
    K = len(found.grid_index)
    if K < 2:
        return np.ones(K)
    zones = found.zones
    width = _extract.beamwidth(plan.geometry, plan.freqs, plan.c)
    dist = _kernels_for(plan.grid_directions, width)[1]
    reach = ATOM * width * _stretch(plan)[found.grid_index]  # (K,)
    if found.widen is not None:  # a talker above the array: a wider atom (ELEVATED)
        reach = reach * found.widen
    near = dist[found.grid_index][:, zones.grid_index] <= reach[:, None]  # (K, n)
    total = near.astype(float) @ zones.power  # (K,) the power as the onset test read it
    return total / max(float(total[0]), 1e-300)


def seed_zones(X: np.ndarray, plan: Plan, K: int) -> Atoms:
    """Where `K` given sources are: :func:`pursue` forced to `K`, the modes its atoms
    swallowed first (step 6); its :attr:`Atoms.grid_index` ``(k,)``, ``k <= K``, is empty
    without a single-source zone, and :attr:`Atoms.clear` says how clearly the zones gather
    (:func:`arraykit.doa.count.unheard` reads it).

    Read from the map instead, two talkers' peaks can merge into one, and a sidelobe or
    a reverberant ridge can then outrank the weaker talker; the zones' histogram holds
    each talker's direct sound at its onsets (on rooms 32-63 of
    ``benchmarks/bench_multisource.py``, SRP-PHAT given K = 2, 3, the p90 error fell from
    7-116 degrees to 3-12 degrees on the circle, square and 4x4 grid; see the README's
    "Several talkers"). On a line the histogram is per unit of cosine (:func:`pursue`):
    on fresh rooms 32-95 the line's medians fell from 12.0-13.7 to 7.1-8.7 degrees for
    every method and K = 2, 3."""
    return pursue(X, plan, K, force=True)


def _kernels_for(grid: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """The histogram's smoothing matrix and the grid's angular distances ``(G, G)``
    (kept per grid and beamwidth)."""
    smooth, dist, _, _ = _kept_kernels(grid, width)
    return smooth, dist


def _kernel_sums(grid: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """``(G,)`` each row's sum and sum of squares of :func:`_kernels_for`'s smoothing
    (what the smoothed histogram of an even background holds, and its variance, per
    zone per grid point)."""
    _, _, rows, squares = _kept_kernels(grid, width)
    return rows, squares


def _kept_kernels(
    grid: np.ndarray, width: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    key = (np.ascontiguousarray(grid, float).tobytes(), float(width))
    kept = _kernels.get(key)
    if kept is None:
        dist = _grids.pairwise_distances(grid)
        smooth = np.exp(-0.5 * (dist / (SMOOTH * width)) ** 2)
        kept = (smooth, dist, smooth.sum(axis=1), np.square(smooth).sum(axis=1))
        for a in kept:
            a.setflags(write=False)
        _kernels.put(key, kept)
    return kept


def _angle(direction: np.ndarray, plan: Plan) -> str:
    if plan.grid_kind == "arc-el":
        return f"el {direction[1]:.0f}"
    return f"az {direction[0]:.0f}"
