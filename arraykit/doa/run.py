"""One DOA search, top-down: plan and statistics in, :class:`DOAResult` out.

``run(plan, stats)``:

1. count: the number of sources, given or counted (:mod:`arraykit.doa.count`);
2. map: the method's map (:mod:`arraykit.doa.registry`, one module per method in
   :mod:`arraykit.doa.methods`) over the plan's coarse grid or points;
3. peaks: the K strongest distinct peaks (:mod:`arraykit.doa.peaks`);
4. refine: coarse-to-fine around each peak, or the method's direct solver
   (:mod:`arraykit.doa.refine`);
5. result: directions, power, the map and the layout's mirrors
   (:mod:`arraykit.doa.result`), each estimate's confidence and whether it is a peak.

Before counting, the SRP-PHAT map says whether any directional source is heard
(:mod:`arraykit.doa.confidence`): if not, ``num_sources="auto"`` returns no source and
the reason (unless ``counting="tf"``'s time-frequency zones clearly gather:
:func:`arraykit.doa.count.count`), a fixed count raises
:class:`~arraykit.errors.NoSourceError` for silence, an empty band and one channel alone
(every other all zero: no pair carries a delay) only. Channels
that are copies of one another, heard at zero delay where the grid holds no such
direction (:func:`arraykit.doa.confidence.in_phase_reason`), give ``"auto"`` no source
and a fixed count that reason as its warning and a confidence of 0.
"""

from __future__ import annotations

import dataclasses
import weakref

import numpy as np

from arraykit.doa import confidence as _confidence
from arraykit.doa._steer import Steering
from arraykit.doa.count import count, unheard
from arraykit.doa.methods.srp_phat import srp_map
from arraykit.doa.peaks import peaks, peaks_near
from arraykit.doa.plan import Plan, _plan
from arraykit.doa.refine import refine, refine_points
from arraykit.doa.result import DOAResult
from arraykit.doa.statistics import BandStatistics
from arraykit.errors import InvalidArgumentError, NoSourceError
from arraykit.geometry import directions_from_vectors

__all__ = ["clipped_warning", "copies_warning", "dead_warning", "lone_reason", "no_source", "run"]


def run(plan: Plan, stats: BandStatistics) -> DOAResult:
    """Search `plan`'s grid with `stats` (see the module's docstring); with channels left
    out (dead, copies, clipped) on the array the others make (:func:`_on_live`)."""
    live = stats.live(plan.geometry.n_mics)
    done = _on_live(plan, stats, live) if live is not None else None
    res = _run(plan, stats) if done is None else done
    if stats.dead or stats.clipped or stats.copies:  # named as fields too (JSON readers)
        # on the live channels' own array the reason has not named them yet
        said = "" if done is None else _left_out_warnings(stats, plan.geometry.n_mics)
        res = dataclasses.replace(
            res,
            count_reason=res.count_reason + said,
            dead_channels=stats.dead,
            clipped_channels=stats.clipped,
            copied_channels=stats.copies,
        )
    return res


_SUBPLANS: weakref.WeakKeyDictionary[Plan, dict[tuple[int, ...], Plan | None]] = (
    weakref.WeakKeyDictionary()
)


def _on_live(plan: Plan, stats: BandStatistics, live: tuple[int, ...]) -> DOAResult | None:
    """``num_sources="auto"`` on the live channels as an array of their own (its
    beamwidth, its least separation, its ``M - 1`` sources), or None where that array is
    not the same kind (a planar array's two live microphones are a line, whose grid is a
    half ring) or the count is given. Counted on the whole array with the other
    channels' rows zero, a 4-mic square with one channel out (rooms 0-31 at RT60 0.3 s /
    20 dB, each channel in turn) counted one talker right in 66 % of the cases and two
    in 45 % (one talker: 2 or 3 sources in 43 of 128, up to confidence 0.9); on its three
    live microphones 76 % and 88 % (three talkers: 78 % before, 0 % now, as an array of
    three resolves two; the 6-mic circle 100 / 83 / 72 % before, 100 / 84 / 76 % now). A
    given count keeps the whole array (its directions with two talkers were 0.2-1.3
    degrees closer there; README, "A clipped channel")."""
    kept = _SUBPLANS.setdefault(plan, {})
    if live not in kept:
        sub = plan.geometry.subarray(list(live))
        fits = sub.layout == plan.geometry.layout and plan.options.num_sources == "auto"
        try:
            kept[live] = (
                _plan(plan.options, sub, plan.freqs, plan.freq_range, fs=plan.fs, nfft=plan.nfft)
                if fits
                else None
            )
        except InvalidArgumentError:  # an option the smaller array cannot take
            kept[live] = None
    sub_plan = kept[live]
    if sub_plan is None:
        return None
    return _run(sub_plan, stats.restricted(live))  # run names the channels left out


def _left_out_warnings(stats: BandStatistics, n_mics: int) -> str:
    """What a result's count reason says of channels dead, copied or clipped."""
    return (
        ("" if not stats.dead else f"; {dead_warning(stats.dead, n_mics)}")
        + ("" if not stats.copies else f"; {copies_warning(stats.copies)}")
        + ("" if not stats.clipped else f"; {clipped_warning(stats.clipped, stats.clipped_out)}")
    )


def _run(plan: Plan, stats: BandStatistics) -> DOAResult:
    """:func:`run` on `plan`'s array as it is."""
    geometry = plan.geometry
    method = plan.options.part
    steer = plan.steering()
    grid_dirs = plan.grid_directions
    # silence, an empty band, or one channel alone: nothing to locate
    nothing = stats.no_source or lone_reason(stats.dead, geometry.n_mics)
    # is there a directional source at all? (arraykit.doa.confidence)
    srp = srp_map(plan, stats.phat(), steer) if nothing is None else None
    floor = _confidence.map_floor(srp) if srp is not None else 0.0
    top = float(srp.max()) - floor if srp is not None else 0.0
    # a covariance's own PHAT normalisation has a noise floor of its own
    sd = None if stats.whitened else _confidence.cov_noise_sd(len(plan.freqs), geometry.n_mics)
    weak = None
    if nothing is None and len(grid_dirs) >= _confidence.MIN_GRID:
        weak = _confidence.weak_reason(top, sd)
    if nothing is not None:  # silence, an empty band, one channel: nothing at all
        if plan.options.num_sources != "auto":
            raise NoSourceError(nothing)
        return no_source(plan, srp, f"auto: 0 sources ({nothing})")
    assert srp is not None
    # every channel a copy of the first, heard at zero delay off the grid: no direction
    # of this grid is a measurement (the map's ties would be)
    off_grid = _confidence.in_phase_reason(
        stats.phat(), float(srp.max()), stats.tf_frames(), plan.freqs,
        on_grid=lambda: _confidence.holds_zero_delay(geometry, plan.directions, plan.coarse),
        normal=geometry.layout == "planar",
        sums=stats.phat() if stats.whitened else stats.covariance(),
    )  # fmt: skip
    if off_grid is not None:
        if plan.options.num_sources == "auto":
            return no_source(plan, srp, f"auto: 0 sources ({off_grid})")
        weak = off_grid
    # a weak map says 0 sources unless the time-frequency zones clearly hold talkers
    counted = count(plan, stats, steer, srp, weak)
    K = int(counted.K)
    if K == 0:
        return no_source(plan, srp, counted.reason)
    evaluate = method.make_map(stats, K, plan)
    spectrum = srp if plan.method == "srp-phat" else evaluate(steer)
    if counted.seeds is not None:  # counting found where: the map's peaks near there
        idx, on_peak = peaks_near(spectrum, plan, counted.seeds, K)
    else:
        idx, on_peak = peaks(spectrum, plan, K)
    positions = None
    if plan.points is not None:
        positions, power = refine_points(plan, evaluate, plan.points[idx], spectrum[idx])
        est = directions_from_vectors(positions - geometry.centroid)
    elif method.solve is not None:
        est, power = method.solve(stats, plan)
    else:
        est, power = refine(plan, evaluate, grid_dirs[idx], spectrum[idx])
        # a point that is no peak is reported where it was found (refining would climb
        # the stronger source's flank)
        est[~on_peak], power[~on_peak] = grid_dirs[idx[~on_peak]], spectrum[idx[~on_peak]]
    # the SRP-PHAT height of each estimate gives its confidence
    if plan.method == "srp-phat" and positions is None:
        at = power
    elif positions is not None:
        near = Steering(geometry, plan.freqs, None, positions, plan.c)
        at = srp_map(plan, stats.phat(), near)
    else:
        at = srp_map(plan, stats.phat(), plan.steering(est))
    confidence = _confidence.confidence(at - floor, top, on_peak, sd)
    # a given count where "auto" would hear no source (count.unheard: a weak map whose
    # zones do not gather, or a small line's diffuse field), or heard at zero delay off
    # the grid: no estimate is a measurement
    said = None
    if off_grid is None and sd is None and plan.options.num_sources != "auto":
        said = unheard(plan, stats, steer, srp, weak, counted)
        if said is not None:
            weak = f"{said}: no estimate is a measurement (confidence 0)"
    if said is not None or off_grid is not None:
        confidence = np.zeros_like(confidence)
    # est is ours: no need to validate it. With channels left out on the whole array
    # (run._on_live declined: the live ones are not its kind, such as a planar array's
    # two), the live ones' layout is what confuses directions: a pair's mirror
    live = stats.live(geometry.n_mics)
    mirror = (geometry if live is None else geometry.subarray(list(live)))._mirrors(est)
    for arr in (est, power, spectrum, mirror, on_peak, confidence):
        arr.setflags(write=False)
    return DOAResult(
        azimuth=est[:, 0],
        elevation=est[:, 1],
        power=power,
        spectrum=spectrum,
        grid=grid_dirs,
        method=plan.method,
        num_sources=K,
        count_reason=counted.reason
        + ("" if weak is None else f"; warning: {weak}")
        + _left_out_warnings(stats, geometry.n_mics),
        mirror=mirror,
        positions=positions,
        points=plan.points,
        freq_range=plan.freq_range,
        on_peak=on_peak,
        confidence=confidence,
        no_source=weak if plan.options.num_sources != "auto" else None,
    )


def no_source(plan: Plan, srp: np.ndarray | None, reason: str) -> DOAResult:
    """A result with no source (``num_sources="auto"`` when nothing directional is heard,
    or a block of :func:`arraykit.doa.locate_blocks` with none)."""
    spectrum = srp if srp is not None else np.zeros(len(plan.grid_directions))
    empty = np.zeros(0)
    for arr in (spectrum, empty):
        arr.setflags(write=False)
    return DOAResult(
        azimuth=empty, elevation=empty, power=empty, spectrum=spectrum,
        grid=plan.grid_directions, method=plan.method, num_sources=0, count_reason=reason,
        mirror=np.zeros((0, 2)), positions=None if plan.points is None else np.zeros((0, 3)),
        points=plan.points, freq_range=plan.freq_range, on_peak=np.zeros(0, dtype=bool),
        confidence=empty, no_source=reason,
    )  # fmt: skip


def dead_warning(dead: tuple[int, ...], n_mics: int) -> str:
    """The warning on channels `dead` that are all zero while others are not (``arraykit
    live`` prints it once; a result's count reason carries it)."""
    which = ", ".join(map(str, dead))
    return (
        f"warning: channel(s) {which} all zero (a dead microphone or a channel map that "
        f"points at nothing: `arraykit check` names them); located from the other "
        f"{n_mics - len(dead)}, whose pairs alone carry the map"
    )


def copies_warning(copies: tuple[tuple[int, int], ...]) -> str:
    """The warning on channels bit-identical to another (``(copy, original)`` pairs)."""
    which = ", ".join(f"{c} is a copy of channel {o}" for c, o in copies)
    return (
        f"warning: channel {which} (bit-identical: a channel map that lists a channel twice, "
        "or a wiring fault; `arraykit check` names copies); located without the copy, "
        "which would pull the map toward a zero delay between the two"
    )


def clipped_warning(clipped: tuple[int, ...], left_out: bool) -> str:
    """The warning on channels that clip (flat tops at their peak: too hot for the
    converter), left out of the search or, where too few others remain, only named."""
    which = ", ".join(map(str, clipped))
    did = (
        "located without them: their flat tops add a distortion the others do not share, "
        "which made extra sources"
        if left_out
        else "too few channels would remain without them: the directions may be off"
    )
    return f"warning: channel(s) {which} clip (`arraykit check` names them; lower the gain); {did}"


def lone_reason(dead: tuple[int, ...], n_mics: int) -> str | None:
    """Why a search of one channel alone holds nothing (every other all zero: no pair to
    carry a delay), or None when two or more hold something."""
    if len(dead) < n_mics - 1:
        return None
    (alone,) = sorted(set(range(n_mics)) - set(dead))
    return (
        f"one channel alone: only channel {alone} holds anything, the other {len(dead)} are "
        "all zero (dead microphones or a channel map that points at nothing: `arraykit check` "
        "names them), and no pair of channels is left to give a direction"
    )
