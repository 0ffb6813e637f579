"""How many sources: given, or counted (``num_sources="auto"``).

- every rule: 0 when the SRP-PHAT map's peak hardly stands out (the weak-map reason
  :func:`count` is given), except that ``"tf"`` counts on when its time-frequency zones
  gather clearly (:data:`arraykit.doa.sparsity.CLEAR`: three talkers spread the map);
- ``counting="tf"`` (default) and ``"clean"``: 0 when the map's peak no longer stands
  out once the best-fitting diffuse field is taken out of the PHAT cross-spectra
  (:func:`_diffuse_height`: a small line's map of a diffuse field peaks at broadside like
  a talker; ``"tf"``'s clearly gathered zones overrule it where the array's own map of a
  diffuse field stays under that floor, as on the square, circle and grid); otherwise
- ``"tf"``: the directions of the time-frequency zones one talker dominates, counted in
  their histogram (:func:`arraykit.doa.sparsity.count_zones`); it reads the STFT's
  frames and a ring or arc grid, and without them (:func:`~arraykit.doa.locate_cov`, a
  sphere or user grid, near-field points) counts as ``"clean"`` and says so;
- ``"clean"``: sources removed one by one from the cross-spectra, counting the residual
  peaks that stand out (:func:`arraykit.doa.extract.clean_count`);

  both rules and their thresholds were chosen by measurement on seeded rooms 0-31 and
  checked on rooms 32-63, see the README's "Several talkers" section;
- ``counting="peaks"``: the peaks of the SRP-PHAT map that rise at least
  :data:`PEAK_RATIO` as high above the map's median as the strongest;
- ``counting="mdl"``: the Wax-Kailath minimum description length of each bin's
  covariance eigenvalues, the median over bins.

A method that finds at most one source (``max_sources(M) == 1``: tdoa-ls) is not
counted; otherwise the count is capped at the method's ``max_sources(M)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from arraykit._cache import Cache
from arraykit.doa import confidence as _confidence
from arraykit.doa import extract as _extract
from arraykit.doa import sparsity as _sparsity
from arraykit.doa._steer import Steering
from arraykit.doa.methods.srp_phat import srp_map
from arraykit.doa.peaks import apart_rule, peak_mask, peaks
from arraykit.doa.plan import Plan
from arraykit.doa.statistics import BandStatistics
from arraykit.steering import near_field_delays

__all__ = ["MAX_AUTO_SOURCES", "PEAK_RATIO", "Count", "count", "unheard"]

PEAK_RATIO = 0.5
"""``num_sources="auto"`` by peaks: a peak counts when it rises at least this
fraction of the strongest peak's height above the map's median."""

MAX_AUTO_SOURCES = 6

_diffuse_maps: Cache[tuple[np.ndarray, np.ndarray]] = Cache("doa.diffuse_map", 16)


class Count(NamedTuple):
    """The number of sources, why, the SRP-PHAT map counting computed (or None) and,
    when counting found where the sources are (``"tf"``), their grid indices ``(K,)``."""

    K: int
    reason: str
    srp: np.ndarray | None = None
    seeds: np.ndarray | None = None
    clear: float | None = None  # a given count's zones: how clearly they gather (Atoms.clear)


def count(
    plan: Plan,
    stats: BandStatistics,
    steer: Steering,
    srp: np.ndarray | None = None,
    weak: str | None = None,
) -> Count:
    """The search's number of sources (`steer`: the plan's grid, for counting by peaks;
    `srp`: its SRP-PHAT map when already made; `weak`: why that map holds no directional
    source, :func:`~arraykit.doa.confidence.weak_reason`, which says 0 unless
    ``counting="tf"``'s zones clearly gather, :data:`~arraykit.doa.sparsity.CLEAR`)."""
    K = plan.options.num_sources
    if K != "auto":
        return _given(plan, stats, K)
    M = plan.geometry.n_mics
    # channels left out on an array whose live ones are not its own kind (run._on_live:
    # a planar array's two live ones) still count up to the live ones' M - 1
    live = stats.live(M)
    M = M if live is None else len(live)
    most = plan.options.part.max_sources(M)
    found = None
    if weak is not None:
        found = _tf_pursuit(plan, stats, min(M - 1, most, MAX_AUTO_SOURCES))
        why = _unclear(found)
        if why is not None:
            return Count(0, f"auto: 0 sources ({weak}{why})", srp)
    one = f"auto: {plan.method} finds one source"
    if most == 1 and plan.options.counting not in ("tf", "clean"):
        return Count(1, one)
    if plan.options.counting == "mdl":
        assert stats.n_frames is not None
        K, reason = count_mdl(stats.covariance(), stats.n_frames, M)
        return Count(min(K, most), reason)  # MDL counts up to M - 1
    kmax = min(M - 1, most, MAX_AUTO_SOURCES)
    if srp is None:
        srp = srp_map(plan, stats.phat(), steer)
    if plan.options.counting == "peaks":
        K, reason = count_peaks(srp, plan, kmax)
        return Count(K, reason, srp)
    diffuse = diffuse_reason(plan, stats, steer, srp)
    if diffuse is not None:
        # where a diffuse field alone cannot make the map stand out (the weak-map check
        # sees it), its zones do not gather either: clearly gathered zones are talkers
        if _confidence.field_stands_out(_diffuse_map(plan, steer)[1]):
            return Count(0, diffuse, srp)
        if found is None:
            found = _tf_pursuit(plan, stats, kmax)
        why = _unclear(found)
        if why is not None:
            return Count(0, f"{diffuse}{why}", srp)
    if most == 1:  # two microphones, or tdoa-ls: a diffuse field was heard as one source
        return Count(1, one, srp)
    if plan.options.counting == "tf":
        frames = stats.tf_frames()
        if frames is not None and tf_applies(plan):
            K, reason, seeds = _sparsity.count_zones(frames, plan, kmax, found)
            if found is not None:
                reason = f"{reason}; {_zones_weak(found.clear)}"
            return Count(K, reason, srp, seeds)
        K, reason = count_clean(plan, stats, steer, kmax, srp)
        # the grid first: on a sphere the frames are never kept (a search on time signals
        # was told "not a covariance alone")
        why = f"a {plan.grid_kind} grid" if not tf_applies(plan) else "a covariance alone"
        return Count(K, f"{reason}; counted as 'clean': 'tf' needs frames on a ring or arc, "
                     f"not {why}", srp)  # fmt: skip
    K, reason = count_clean(plan, stats, steer, kmax, srp)
    return Count(K, reason, srp)


def _tf_pursuit(plan: Plan, stats: BandStatistics, kmax: int) -> _sparsity.Atoms | None:
    """``counting="tf"``'s pursuit where it can run (else None), read before the map's
    weak-peak or diffuse-field test says 0 sources."""
    frames = stats.tf_frames()
    if plan.options.counting != "tf" or frames is None or not tf_applies(plan):
        return None
    return _sparsity.pursue(frames, plan, kmax)


def _unclear(found: _sparsity.Atoms | None) -> str | None:
    """None when the zones gather clearly enough to overrule a map that says 0 sources
    (:data:`~arraykit.doa.sparsity.CLEAR`); else what to add to that map's reason."""
    if found is not None and found.clear >= _sparsity.CLEAR:
        return None
    return "" if found is None else f"; {_zones_weak(found.clear)}"


def _zones_weak(clear: float) -> str:
    """What :attr:`~arraykit.doa.sparsity.Atoms.clear` says, in words."""
    return (
        f"the time-frequency zones gather {clear:.1f} standard deviations above an even "
        f"spread, {'at least' if clear >= _sparsity.CLEAR else 'under'} {_sparsity.CLEAR}"
    )


def _given(plan: Plan, stats: BandStatistics, K: int) -> Count:
    """A given number of sources; with ``counting="tf"``, two or more sources and the
    frames on a ring or arc, seeded where the zones' histogram puts them
    (:func:`arraykit.doa.sparsity.seed_zones`), with how clearly the zones gather
    (:attr:`Count.clear`, read by :func:`unheard`)."""
    frames = stats.tf_frames() if K >= 2 and plan.options.counting == "tf" else None
    if frames is None or not tf_applies(plan):
        return Count(K, f"given: num_sources={K}")
    found = _sparsity.seed_zones(frames, plan, K)
    if len(found.grid_index) == 0:
        return Count(
            K, f"given: num_sources={K} (no single-source zone: the map's peaks)", clear=0.0
        )
    return Count(
        K,
        f"given: num_sources={K}, at the map's peaks near the first {len(found.grid_index)} "
        "atoms of the single-source zones' direction histogram",
        seeds=found.grid_index,
        clear=found.clear,
    )


def tf_applies(plan: Plan) -> bool:
    """Whether ``counting="tf"`` can count this search's grid (a ring or an arc; it
    also needs the frames)."""
    return plan.points is None and plan.grid_kind in _sparsity.GRID_KINDS


def diffuse_reason(
    plan: Plan, stats: BandStatistics, steer: Steering, srp: np.ndarray
) -> str | None:
    """Why the search hears a diffuse field and no talker (:func:`_diffuse_height` under
    :data:`~arraykit.doa.confidence.NO_SOURCE_FLOOR`), or None."""
    field = _diffuse_field(plan, stats, steer, srp)
    return None if field is None else f"auto ({plan.options.counting}): 0 sources ({field})"


def _diffuse_field(
    plan: Plan, stats: BandStatistics, steer: Steering, srp: np.ndarray
) -> str | None:
    """:func:`diffuse_reason`'s own words (no count in them), or None."""
    checked = stats.whitened and len(plan.grid_directions) >= _confidence.MIN_GRID
    if not checked:
        return None
    diffuse = _diffuse_height(plan, stats.phat(), srp, steer)
    if diffuse >= _confidence.NO_SOURCE_FLOOR:
        return None
    return (
        f"a diffuse field: with the isotropic field's coherence fitted out of the PHAT "
        f"cross-spectra the map's peak rises {diffuse:.3f} above its median, under "
        f"{_confidence.NO_SOURCE_FLOOR}"
    )


def unheard(
    plan: Plan,
    stats: BandStatistics,
    steer: Steering,
    srp: np.ndarray,
    weak: str | None,
    counted: Count,
) -> str | None:
    """Why a given count's estimates on the frame-whitened map measure nothing (each gets a
    confidence of 0), or None: where ``num_sources="auto"`` would say 0 sources by the
    same rules. The map is weak (`weak`) and the zones, read to place two or more given
    sources, do not gather clearly (:attr:`Count.clear` under
    :data:`~arraykit.doa.sparsity.CLEAR`; one given source reads no zones); or the array's
    own map of a diffuse field stands out (a small line: :func:`_diffuse_map`) and the
    map is that of a diffuse field (:func:`diffuse_reason`; the zones of a diffuse field
    crowd at a line's broadside, 13-28 deviations, so they cannot overrule it there).

    Measured with SRP-PHAT given 1-3 sources (``benchmarks/bench_multisource.py``'s
    scenes, four arrays; README, "A given count on noise"): on rooms 0-31, where this was
    looked at, 892 of 900 noise-only estimates (white, diffuse, diffuse + white, a hum
    below the band) against 51 of 2816 talker estimates (39 of them right); held out
    (rooms 32-63) 873 of 900 against 39 of 2816 (37 right, 26 of them a line's)."""
    zones = "" if counted.clear is None else f"; {_zones_weak(counted.clear)}"
    if weak is not None and (counted.clear is None or counted.clear < _sparsity.CLEAR):
        return f"{weak}{zones}"  # (clearly gathered zones: three talkers spread the map)
    if not _confidence.field_stands_out(_diffuse_map(plan, steer)[1]):
        return None  # a diffuse field alone cannot make this array's map stand out
    field = _diffuse_field(plan, stats, steer, srp)
    return field if field is None or weak is None else f"{weak}{zones}; {field}"


def count_clean(
    plan: Plan, stats: BandStatistics, steer: Steering, kmax: int, srp: np.ndarray | None = None
) -> tuple[int, str]:
    """``counting="clean"``: :func:`arraykit.doa.extract.clean_count` on the plan's grid
    (0 when even the first peak is under :data:`~arraykit.doa.confidence.NO_SOURCE_FLOOR`;
    the diffuse field is :func:`diffuse_reason`'s)."""

    def residual_map(R: np.ndarray) -> np.ndarray:
        return srp_map(plan, R, steer)

    def steer_at(i: int) -> np.ndarray:
        if plan.points is not None:
            tau, _ = near_field_delays(plan.geometry, plan.points[i : i + 1], c=plan.c)
        else:
            tau = plan.geometry.delays(plan.grid_directions[i : i + 1], c=plan.c)
        return np.exp(-2j * np.pi * np.asarray(plan.freqs)[:, None] * tau[0][None, :])  # (F, M)

    def peaks_of(m: np.ndarray) -> np.ndarray:
        return peak_mask(m, plan)

    R = stats.phat()
    if srp is None:
        srp = srp_map(plan, R, steer)
    K, heights = _extract.clean_count(
        R,
        residual_map,
        steer_at,
        peaks_of,
        apart_rule(plan),
        kmax,
        _confidence.NO_SOURCE_FLOOR,
        first=srp,
    )
    if K == 0:
        return 0, f"auto (clean): 0 sources ({_confidence.weak_reason(float(heights[0]))})"
    shown = ", ".join(f"{h:.3f}" for h in heights)
    return K, (
        f"auto (clean): {K} source(s) removed one by one from the PHAT cross-spectra; a step "
        f"counts when the residual map's peak rises at least {_extract.CLEAN_RATIO:.0%} as high "
        f"above its median as the first and at least {_extract.CLEAN_FLOOR} "
        f"(heights {shown})"
    )


def _diffuse_height(plan: Plan, R: np.ndarray, srp: np.ndarray, steer: Steering) -> float:
    """The SRP-PHAT map `srp` ``(G,)`` of the PHAT cross-spectra ``R`` ``(F, M, M)``: its
    peak's height above its median once the best-fitting isotropic field is taken out
    (:func:`arraykit.doa.confidence.height_without_field` over the off-diagonal pairs; the
    field's own map kept per plan)."""
    g_off, diffuse_map = _diffuse_map(plan, steer)
    off = ~np.eye(plan.geometry.n_mics, dtype=bool)
    return _confidence.height_without_field(srp, diffuse_map, R[:, off].real, g_off)


def _diffuse_map(plan: Plan, steer: Steering) -> tuple[np.ndarray, np.ndarray]:
    """The isotropic field's off-diagonal coherences ``(F, M (M - 1))`` and its SRP-PHAT
    map ``(G,)`` (kept per plan)."""
    p = plan.geometry.positions
    off = ~np.eye(p.shape[0], dtype=bool)
    # the steering's digest (geometry, band, grid, c: kept on it) and the map's settings
    key = (steer.cache_key(plan.fs, plan.nfft), plan.options.srp_kernel)
    kept = _diffuse_maps.get(key)
    if kept is None:
        d = np.linalg.norm(p[:, None, :] - p[None, :, :], axis=-1)  # (M, M)
        gamma = np.sinc(2.0 * np.asarray(plan.freqs)[:, None, None] * d[None] / plan.c)
        gamma[:, ~off] = 0.0  # (F, M, M)
        diffuse_map = srp_map(plan, gamma.astype(complex), steer)
        g_off = gamma[:, off]
        for arr in (g_off, diffuse_map):
            arr.setflags(write=False)
        kept = (g_off, diffuse_map)
        _diffuse_maps.put(key, kept)
    return kept


def count_peaks(srp: np.ndarray, plan: Plan, kmax: int) -> tuple[int, str]:
    idx, _ = peaks(srp, plan, kmax, fill=False)
    floor = _confidence.map_floor(srp)
    top = float(srp[idx[0]]) - floor
    heights = (srp[idx] - floor) / max(top, 1e-12)
    K = max(1, int(np.sum(heights >= PEAK_RATIO)))
    shown = ", ".join(f"{h:.2f}" for h in heights[: K + 1])
    return K, (
        f"auto (peaks): {K} peak(s) of the SRP-PHAT map rise at least {PEAK_RATIO:.0%} "
        f"as high above its median as the strongest (relative heights {shown})"
    )


def count_mdl(C: np.ndarray, T: int, M: int) -> tuple[int, str]:
    """Wax-Kailath MDL per bin on the eigenvalues of `C` from `T` frames; the median over bins."""
    lam = np.linalg.eigvalsh(C)[:, ::-1]  # (F, M) descending
    lam = np.maximum(lam.real, 1e-30)
    ks = np.arange(M)  # candidate counts 0..M-1
    mdl = np.empty((lam.shape[0], M))
    for k in ks:  # a loop over the M candidate counts
        tail = lam[:, k:]
        geo = np.exp(np.mean(np.log(tail), axis=1))
        ari = np.mean(tail, axis=1)
        mdl[:, k] = -T * (M - k) * np.log(geo / ari) + 0.5 * k * (2 * M - k) * np.log(T)
    per_bin = np.argmin(mdl, axis=1)
    K = int(np.clip(round(float(np.median(per_bin))), 1, M - 1))
    return K, f"auto (mdl): median over {lam.shape[0]} bins of the MDL source count is {K}"
