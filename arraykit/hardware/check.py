"""Self-checks of a recording: is the channel order right, are the channels alive?

The most common reason real recordings give garbage directions is a channel order
that does not match the coordinates, then unsynchronised clocks. :func:`check_signals`
takes a short clip of one sound source and checks:

- per channel: DC offset, level and gain relative to the others, dead and clipped
  channels;
- per pair: the GCC-PHAT delay must be physically possible (``|tau| <= spacing / c``
  within ``DELAY_TOLERANCE`` samples, the same tolerance for the table's flag and the
  verdict); pairs with a dead channel have no delay and are left out;
- the channel order: every permutation of the channels (pair swaps and reversals
  beyond 7 microphones) is scored by how well one far-field direction explains the
  measured pair delays. The given order is wrong when its misfit exceeds the best
  order's by more than twice the measurement noise (the best misfit, at least
  ``RESOLUTION`` samples: what GCC-PHAT resolves). Orders that fit as well as the best
  (within a tenth of that noise: an array's symmetry, or a direction from which two
  orders look alike) are all reported. With the true `azimuth` of the source, a
  mirrored order (which fits the delays as well as the right one, at the mirrored
  direction) is detected too.

Shapes: ``M`` microphones, ``N`` samples, ``P`` pairs, ``G`` directions.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v
from arraykit._clipping import flat_runs
from arraykit.gcc import gcc_phat_pairs
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry

__all__ = ["ChannelStats", "CheckReport", "check_signals"]

CLIP_LEVEL = 0.999
"""Samples at or above this magnitude (full scale 1.0) count as clipped."""
FLAT_SHARE = 0.01
"""A channel also clips when at least this share of its samples sit in flat runs at its own
highest or lowest value (:mod:`arraykit._clipping`, which the searches read too), under full
scale: an analog stage that clips before the converter, a gain applied after it, or one rail
only (``doa`` leaves such a channel out of a search, and its warning points here)."""
DELAY_TOLERANCE = 1.5
"""Samples a measured pair delay may exceed ``spacing / c`` by (GCC peak error)."""
RESOLUTION = 0.1
"""Samples: the smallest delay misfit counted as measurement noise (GCC-PHAT's precision)."""
TIE = 0.1
"""Orders whose misfit is within this fraction of the noise of the best one tie with it."""


@dataclass(frozen=True)
class ChannelStats:
    """One channel: DC offset, RMS (dBFS), gain relative to the median of the channels that
    hold anything (dB), clipping."""

    channel: int
    dc: float
    rms_db: float
    gain_db: float
    clipped: float
    dead: bool


@dataclass(frozen=True)
class CheckReport:
    """What :func:`check_signals` found; ``problems`` is empty when all is well."""

    channels: list[ChannelStats]
    pairs: np.ndarray  # (P, 2)
    delays: np.ndarray  # (P,) seconds, measured
    max_delays: np.ndarray  # (P,) seconds, spacing / c
    direction: tuple[float, float]  # best-fit (azimuth, elevation) with the given order
    fit_error: float  # RMS delay misfit of the given order, seconds
    best_order: tuple[int, ...]  # the order that fits best (the given one if it ties)
    best_error: float
    problems: list[str] = field(default_factory=list)
    ties: list[tuple[int, ...]] = field(default_factory=list)  # orders fitting as well
    tolerance: float = 0.0  # seconds a delay may exceed its limit by
    notes: list[str] = field(default_factory=list)
    # the direction the layout cannot tell from `direction` (a line: the other side of its
    # axis), or None where every azimuth is its own (planar and volumetric arrays)
    mirror: tuple[float, float] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = ["ch    DC       level    gain   clipped"]
        for s in self.channels:
            flag = "  DEAD" if s.dead else ""
            lines.append(
                f"{s.channel:>2}  {s.dc:+.4f}  {s.rms_db:6.1f} dB  {s.gain_db:+5.1f} dB  "
                f"{100 * s.clipped:5.2f} %{flag}"
            )
        lines.append(f"pair   delay (us)  limit (us, +{1e6 * self.tolerance:.0f} allowed)")
        for (i, j), t, m in zip(self.pairs, self.delays, self.max_delays, strict=True):
            if np.isnan(t):
                lines.append(f"{i}-{j}   {'-':>9}  {1e6 * m:9.1f}  (dead channel: no delay)")
                continue
            bad = "  IMPOSSIBLE" if abs(t) > m + self.tolerance else ""
            lines.append(f"{i}-{j}   {1e6 * t:+9.1f}  {1e6 * m:9.1f}{bad}")
        if np.isnan(self.fit_error):
            lines.append("no best-fit direction: no pair of live channels")
        else:
            alike = "" if self.mirror is None else f" (or {self.mirror[0]:.0f}: a line's mirror)"
            lines.append(
                f"best-fit direction {self.direction[0]:.0f} deg azimuth{alike}, "
                f"{self.direction[1]:.0f} deg elevation; delay misfit "
                f"{1e6 * self.fit_error:.1f} us"
            )
        lines += [f"note: {n}" for n in self.notes]
        if self.problems:
            lines += [f"PROBLEM: {p}" for p in self.problems]
        else:
            lines.append("OK: channels alive, delays physical, channel order consistent")
        return "\n".join(lines)


def _flat_tops(row: np.ndarray) -> tuple[float, float | None, float | None]:
    """The share of `row`'s samples in flat runs (a sample next to another) at its highest
    or lowest value, and those values (None for a side with none, or of the wrong sign)."""
    up, down = flat_runs(row)
    side = FLAT_SHARE * row.size / 2
    hi = float(row.max()) if up >= side else None
    lo = float(row.min()) if down >= side else None
    return (up + down) / max(row.size, 1), hi, lo


def check_signals(
    signals: npt.ArrayLike,
    fs: float,
    geometry: ArrayGeometry,
    *,
    azimuth: float | None = None,
    elevation: float = 0.0,
    c: float = SPEED_OF_SOUND,
) -> CheckReport:
    """Check a clip of one source recorded by `geometry` (rows in geometry order).

    Parameters
    ----------
    signals : array_like [shape=(M, N)]
        Full scale is 1.0 (what :func:`arraykit.hardware.open` delivers).
    fs : float
        Sampling rate, Hz.
    geometry : ArrayGeometry
    azimuth, elevation : float, optional
        Where the source really was (degrees): then the order is judged at that
        direction, which also reveals mirrored orders.
    c : float
        Speed of sound, m/s.

    Returns
    -------
    CheckReport
    """
    x = v.signals("signals", signals, geometry.n_mics)
    fs = v.positive("fs", fs)
    M = geometry.n_mics
    search = 4 * geometry.max_spacing / c + 4 / fs  # look beyond the physical limit
    need = 2 * math.ceil(search * fs) + 1
    if x.shape[1] < need:
        raise v.fail(
            "signals",
            signals,
            f"has {x.shape[1]} samples, fewer than the {need:.4g} the delays it searches "
            f"(±{1e6 * search:.4g} us) need: record a longer clip (a second or more)",
        )
    problems: list[str] = []

    dc = x.mean(axis=1)
    ac = x - dc[:, None]
    rms = np.sqrt(np.mean(ac**2, axis=1))
    # the others' median: of the channels that hold anything (dead ones made a live
    # channel's gain +215 dB and a dead one's +0.0 dB when most were dead)
    heard = rms[rms >= 1e-6]
    ref = float(np.median(heard)) if heard.size else 1e-12
    rms_db = 20 * np.log10(np.maximum(rms, 1e-12))
    gain_db = 20 * np.log10(np.maximum(rms, 1e-12) / ref)
    full = np.mean(np.abs(x) >= CLIP_LEVEL, axis=1)
    flat = [_flat_tops(row) for row in x]  # (share, highest, lowest) per channel
    # the share shown: at full scale, else in flat runs under it where those clip
    clipped = [
        f if f > 1e-3 or share < FLAT_SHARE else share
        for f, (share, _, _) in zip(full, flat, strict=True)
    ]
    dead = (rms < 1e-6) | (gain_db < -30)
    stats = [
        ChannelStats(m, float(dc[m]), float(rms_db[m]), float(gain_db[m]), float(clipped[m]),
                     bool(dead[m]))
        for m in range(M)
    ]  # fmt: skip
    for s in stats:
        if s.dead:
            level = f"{s.rms_db:.1f} dBFS" + (
                f", {s.gain_db:+.1f} dB against the others" if heard.size else ""
            )
            problems.append(f"channel {s.channel} is dead or nearly silent ({level})")
        elif abs(s.gain_db) > 6:
            problems.append(f"channel {s.channel} gain differs by {s.gain_db:+.1f} dB")
        share, hi, lo = flat[s.channel]
        if full[s.channel] > 1e-3:
            problems.append(f"channel {s.channel} clips ({100 * s.clipped:.2f} % of samples)")
        elif share >= FLAT_SHARE and not s.dead:
            rails = " and ".join(f"{r:+.4f}" for r in (hi, lo) if r is not None)
            problems.append(
                f"channel {s.channel} clips under full scale ({100 * share:.2f} % of samples "
                f"in flat runs at {rails}: an analog stage before the converter, a gain after "
                "it, or one side only; lower the gain before the stage that clips)"
            )
        if abs(s.dc) > 0.01:
            problems.append(f"channel {s.channel} has a DC offset of {s.dc:+.4f}")

    problems += _copies(x, dead)
    live = ~dead
    spacing = np.linalg.norm(geometry.positions[:, None] - geometry.positions[None], axis=-1)
    with np.errstate(all="ignore"):
        taus, pairs = gcc_phat_pairs(ac, fs, max_tau=search)
    use = live[pairs[:, 0]] & live[pairs[:, 1]]
    taus = np.where(use, taus, np.nan)  # a pair with a dead side has no delay
    use &= np.isfinite(taus)
    limits = spacing[pairs[:, 0], pairs[:, 1]] / c
    tol = DELAY_TOLERANCE / fs
    for (i, j), t, m, ok in zip(pairs, taus, limits, use, strict=True):
        if ok and abs(t) > m + tol:
            problems.append(
                f"delay between channels {i} and {j} is {1e6 * t:+.0f} us, beyond the "
                f"{1e6 * m:.0f} us their spacing allows: unsynchronised clocks, a wrong "
                "geometry or a channel from another device"
            )
    notes: list[str] = []
    if (~use).any():
        notes.append(
            "pairs left out (a dead channel, no delay): "
            + ", ".join(f"{i}-{j}" for i, j in pairs[~use])
        )

    grid = _directions(geometry, azimuth, elevation)
    D = geometry.delays(grid, c=c)  # (G, M)
    given = tuple(range(M))
    direction, fit_error = _fit(D, grid, pairs[use], taus[use], given)
    orders = [given] + ([o for o in _orders(M) if o != given] if use.any() else [])
    if not use.any():  # no pair of live channels: no direction, no order to judge
        direction, fit_error = np.array([np.nan, np.nan]), np.nan
    errors = _order_errors(D, grid, pairs[use], taus[use], orders)
    best_error = float(np.nanmin(errors)) if use.any() else np.nan
    if azimuth is None:
        free = best_error
    else:  # the noise of the measurement: the best fit over every direction
        free_grid = _directions(geometry, None, elevation)
        fD = geometry.delays(free_grid, c=c)
        free = float(_order_errors(fD, free_grid, pairs[use], taus[use], orders).min())
    noise = max(free, RESOLUTION / fs) if use.any() else np.inf
    ties = [orders[k] for k in np.flatnonzero(~(errors > best_error + TIE * noise))]
    alike = [orders[k] for k in np.flatnonzero(~(errors > best_error + 2 * noise))]
    # another order explains the delays (at the claimed azimuth, as well as any direction
    # does) and the given one does not
    permuted = use.sum() > 0 and given not in alike and best_error <= free + noise
    best_order = given if given in ties else ties[0]
    if azimuth is not None and not permuted and fit_error > 0.5 / fs:
        problems.append(
            f"the delays do not fit a source at azimuth {float(azimuth):g}° "
            f"({1e6 * fit_error:.0f} us RMS misfit, more than half a sample): was the sound "
            "played from there, and does the array's 0° point where you think?"
        )
    if permuted:
        what = "mirrored or permuted" if azimuth is not None else "permuted"
        also = (
            ""
            if len(ties) == 1
            else f" (as do {len(ties) - 1} other order(s) equally well: "
            + ", ".join(str(list(o)) for o in ties[1:6])
            + (", ..." if len(ties) > 6 else "")
            + ": the delays cannot tell them apart"
            + ("" if azimuth is not None else "; give --azimuth to narrow them down")
            + ")"
        )
        problems.append(
            f"the channel order looks {what}: rows in the order {list(best_order)} fit one "
            f"direction with {1e6 * best_error:.0f} us misfit{also}, the given order "
            f"{1e6 * fit_error:.0f} us, more than the {1e6 * 2 * noise:.0f} us the "
            "measurement resolves (fix the channel map"
            + ("" if azimuth is None else f", unless the sound did not come from {azimuth:g}°")
            + ")"
        )
    elif len(alike) > 1:
        others = [o for o in alike if o != given]
        notes.append(
            f"{len(others)} other channel order(s) fit these delays as well as the given one "
            f"({', '.join(str(list(o)) for o in others[:4])}{', ...' if len(others) > 4 else ''})"
            ": from this direction"
            + ("" if azimuth is not None else " and without --azimuth")
            + " the check cannot tell them apart"
        )
    return CheckReport(
        channels=stats,
        pairs=pairs,
        delays=taus,
        max_delays=limits,
        direction=(float(direction[0]), float(direction[1])),
        mirror=_mirror(geometry, direction),
        fit_error=float(fit_error),
        best_order=best_order,
        best_error=float(best_error),
        problems=problems,
        ties=ties,
        tolerance=tol,
        notes=notes,
    )


def _copies(x: np.ndarray, dead: np.ndarray) -> list[str]:
    """A problem for each group of live rows of `x` equal sample for sample (two
    microphones never are: each has its own noise)."""
    groups: dict[bytes, list[int]] = {}
    for m in np.flatnonzero(~dead):
        groups.setdefault(x[m].tobytes(), []).append(int(m))
    return [
        f"channels {', '.join(map(str, g))} are identical sample for sample: one signal "
        "copied to each (a mono input, or a driver's upmix), not microphones"
        for g in groups.values()
        if len(g) > 1
    ]


def _mirror(geometry: ArrayGeometry, direction: np.ndarray) -> tuple[float, float] | None:
    """The azimuth a line confuses with `direction` (None: another layout, or no fit)."""
    if geometry.layout != "linear" or not np.all(np.isfinite(direction)):
        return None
    m = geometry.mirrors([direction])[0]
    if abs((m[0] - direction[0] + 180.0) % 360.0 - 180.0) < 1e-6:  # on the axis: itself
        return None
    return float(m[0]), float(m[1])


def _directions(geometry: ArrayGeometry, azimuth: float | None, elevation: float) -> np.ndarray:
    if azimuth is not None:
        return v.directions("azimuth", (float(azimuth), float(elevation)))
    az = np.arange(0.0, 360.0, 2.0)
    els = [0.0] if geometry.layout == "linear" else [0.0, 20.0, 40.0, 60.0]
    if geometry.layout == "volumetric":
        els = [-60.0, -30.0, 0.0, 30.0, 60.0]
    return np.array([(a, e) for e in els for a in az])


def _fit(
    D: np.ndarray, grid: np.ndarray, pairs: np.ndarray, taus: np.ndarray, order: tuple[int, ...]
) -> tuple[np.ndarray, float]:
    """Best direction and RMS misfit if row k of the recording is microphone order[k]."""
    if len(pairs) == 0:
        return grid[0], 0.0
    o = np.asarray(order)
    pred = D[:, o[pairs[:, 0]]] - D[:, o[pairs[:, 1]]]  # (G, P)
    err = np.sqrt(np.mean((pred - taus[None, :]) ** 2, axis=1))
    g = int(np.argmin(err))
    return grid[g], float(err[g])


def _order_errors(
    D: np.ndarray, grid: np.ndarray, pairs: np.ndarray, taus: np.ndarray, orders: list
) -> np.ndarray:
    """The RMS misfit of each channel order at its best direction."""
    return np.array([_fit(D, grid, pairs, taus, o)[1] for o in orders])


def _orders(M: int) -> Any:
    """Every permutation for M <= 7; otherwise every pair swap and the reversal."""
    if M <= 7:
        yield from itertools.permutations(range(M))
        return
    base = list(range(M))
    yield tuple(reversed(base))
    for i, j in itertools.combinations(range(M), 2):
        o = base.copy()
        o[i], o[j] = o[j], o[i]
        yield tuple(o)
