"""Several directions per block: a forgetting spatial covariance, searched and deflated.

Each block's band bins update an exponentially forgetting covariance
(:class:`arraykit.beamform.RecursiveCovariance`, time constant `memory`), and
:class:`arraykit.doa.SrpCovSearch` finds its strongest direction
(:func:`arraykit.doa.locate_cov`'s SRP-PHAT search with the steering tabulated once:
the same answer, about ten times faster). Further directions are found by *deflation*:
the covariance is projected away from the directions found so far (``R <- P R P`` with
``P = I - a a^H / M`` per bin, computed as a rank-two update) and searched again. The
second peak of the undeflated map is no use on a small array: the sidelobes of one talker stand as high (about 2/3
of the main peak on the 46 mm six-microphone circle, 26 degrees off) as a second
talker. A deflated peak is a detection when its height above the map's median is at
least `peak_ratio` times the first map's (measured on that circle, RT60 0.3 s: one
talker leaves 0.19-0.36, a second talker 130 degrees away gives 0.8-2.1; a second
talker 40 degrees away is projected away with the first, and the tracker keeps it
from the blocks where it dominates). A deflated peak far (`onset_apart`) from every
confirmed track, in a block whose first peak is a confirmed track's, needs only
`onset_ratio` (0.5 in the pipeline): a talker starting while an established one speaks,
whose share of the covariance is still rising (0.38-0.52 in its first blocks on that
circle). Every peak must also stand `min_height` above
its map's median (the map is a mean GCC-PHAT, at most 1): in sensor noise alone the
first peak stands 0.02-0.1 high, a talker 0.3-0.45 (six-microphone circle, RT60
0.3 s, 20 dB SNR). A deflated peak within `antipode` degrees of the antipode of a peak
found before it is taken for no talker (with real voices every false track the circle's
deflated peaks started was born there). The likely cause: on a centre-symmetric array
``a(az + 180) = conj(a(az))``, so the real part of a covariance maps as strongly to the
antipode as to the direction; deflation projects the talker's direction away, not that
part of its reverberant field, which then peaks where nothing was projected. On an
array whose own map of a diffuse field stands out (a small line, at broadside) a first
peak away from every confirmed track must also stand `diffuse_floor` above the median
once the best-fitting diffuse field is fitted out
(:meth:`arraykit.doa.SrpCovSearch.diffuse_height`): a 4-mic 40 mm line started 23 false
tracks a minute in level-modulated diffuse noise, none with it.

With `zones` (:class:`OnsetZones`; on by default in the pipeline, on arrays of four
microphones or fewer until the round that added `zone_blend`) the single-source time-frequency zones of each block (onsets, where a
talker's direct sound dominates even while another talks) feed a short-memory
direction histogram, and a clear atom of it away
from the map's peak is one more detection: a talker starting over another is detected
before the covariance shows it (see :class:`~arraykit.frontend.FrontendOptions`). On a
small array the map's one peak, while two talkers speak, often lies *between* them (25-40
degrees from each on the 45.7 mm square, talkers 60 degrees apart): a peak that lies
between an atom and another atom or a confirmed track, `zone_blend` degrees or more from
both, is dropped as such a blend, and the atoms stand for the talkers. An atom 40 degrees
or more from every confirmed track, in a block whose first peak is a confirmed track's,
needs the map to stand only `zone_onset_support` (instead of `zone_support`) of its
first peak's height there: a talker starting over an established one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arraykit.beamform import RecursiveCovariance, steering_vector
from arraykit.beamform.apply import live_channels
from arraykit.doa import SrpCovSearch
from arraykit.doa import sparsity as _sparsity
from arraykit.doa.confidence import field_stands_out, map_floor
from arraykit.doa.plan import Plan
from arraykit.frontend.tracking import _angle as _exact_angle
from arraykit.geometry import ArrayGeometry

__all__ = ["Detections", "Localiser", "OnsetZones"]


def _angle(az1: float, el1: float, az2: float, el2: float) -> float:
    """The great-circle angle in degrees, rounded to 1e-6: the map's peaks and the atoms
    lie on grids of whole degrees, and two of them 40 degrees apart must not read
    39.99999999999999 (a quarter of such pairs did) and fall under a 40 degree rule."""
    return round(_exact_angle(az1, el1, az2, el2), 6)


@dataclass(frozen=True)
class Detections:
    """One block's directions.

    azimuth, elevation : ``(K,)`` degrees, strongest first
    strength : ``(K,)`` each peak's height above its map's median over the first's
    spectrum : ``(G,)`` the block's spatial map (for the view), or empty
    grid_azimuth : ``(G,)`` degrees of the map's points
    """

    azimuth: np.ndarray
    elevation: np.ndarray
    strength: np.ndarray
    spectrum: np.ndarray
    grid_azimuth: np.ndarray

    @property
    def count(self) -> int:
        return int(self.azimuth.size)


class OnsetZones:
    """A short-memory histogram of the single-source zones' directions, block by block.

    Each block's band frames continue a stream of two-frame zones
    (:func:`arraykit.doa.sparsity.zone_directions`: a zone counts when one eigenvalue
    dominates it and its power rose at least :data:`~arraykit.doa.sparsity.ONSET` times
    over the same bin's previous zone, an onset, where a talker's direct sound dominates
    even while another talks); their directions on the search's coarse grid are added
    to a histogram forgetting with time constant `memory`, whose matching-pursuit atoms
    (:func:`arraykit.doa.sparsity.histogram_atoms`) name the talkers starting now.
    """

    def __init__(self, plan: Plan, *, hop_seconds: float, memory: float) -> None:
        self.plan = plan
        self.hop_seconds = float(hop_seconds)
        self.memory = float(memory)
        self.hist = np.zeros(len(plan.grid_directions))  # (G,) over the plan's grid
        self._frames: np.ndarray | None = None  # the last zone's two frames + a leftover

    def update(self, X_band: np.ndarray) -> None:
        """Fold in a block's band frames ``(M, F, T_b)``."""
        buf = X_band if self._frames is None else np.concatenate([self._frames, X_band], axis=2)
        T = buf.shape[2]
        self.hist *= float(np.exp(-X_band.shape[2] * self.hop_seconds / self.memory))
        if T >= 4 or (self._frames is None and T >= 2):
            # the first zone of `buf` is the previous block's last one: only the onset
            # test of the next reads it (single_source never keeps a first zone)
            zones = _sparsity.zone_directions(buf, self.plan)
            self.hist += np.bincount(zones.grid_index, minlength=self.hist.size)
            z = T // 2
            self._frames = buf[:, :, 2 * z - 2 :]
        else:
            self._frames = buf

    def atoms(self, kmax: int) -> tuple[np.ndarray, np.ndarray, float]:
        """The histogram's atoms: grid indices ``(K,)``, heights relative to the first
        ``(K,)``, and the zones the histogram holds (forgetting-weighted)."""
        idx, rel, _ = _sparsity.histogram_atoms(self.hist, self.plan, kmax)
        return idx, rel, float(self.hist.sum())


class Localiser:
    """Directions from blocks of band STFT frames ``(M, F_band, T_b)``."""

    def __init__(
        self,
        geometry: ArrayGeometry,
        freqs: np.ndarray,
        *,
        hop_seconds: float,
        memory: float,
        max_sources: int,
        peak_ratio: float,
        resolution: float,
        min_height: float = 0.15,
        onset_ratio: float | None = None,
        onset_apart: float = 40.0,
        antipode: float = 0.0,
        coarse: float | None = 6.0,
        deflate_every: int = 1,
        zones: bool = False,
        zone_memory: float = 0.2,
        zone_ratio: float = 0.15,
        zone_min: float = 10.0,
        zone_apart: float = 40.0,
        zone_support: float = 0.5,
        zone_rival: float = 20.0,
        zone_onset_support: float = 0.4,
        zone_blend: float | None = 20.0,
        one_peak_live: int = 0,
        diffuse_floor: float = 0.0,
    ) -> None:
        self.geometry = geometry
        self.one_peak_live = int(one_peak_live)
        self._live: np.ndarray | None = None  # (M,) the live channels when not all (_deflate)
        self.freqs = np.asarray(freqs, dtype=float)
        alpha = float(np.exp(-hop_seconds / memory))
        self.cov = RecursiveCovariance(self.freqs.size, geometry.n_mics, alpha=alpha)
        self.max_sources = int(max_sources)
        self.peak_ratio = float(peak_ratio)
        self.resolution = float(resolution)
        self.min_height = float(min_height)
        self.onset_ratio = self.peak_ratio if onset_ratio is None else float(onset_ratio)
        self.onset_apart = float(onset_apart)
        self.antipode = float(antipode)
        self.coarse = coarse
        self._steer: dict[tuple[float, float], np.ndarray] = {}
        self.deflate_every = int(deflate_every)
        self._n = 0
        self.search = SrpCovSearch(
            geometry, self.freqs, resolution=resolution, coarse=coarse, precision="single"
        )
        self.grid_azimuth = self.search.grid[:, 0].copy()
        # a diffuse field peaks like a talker where the array's own map of one stands out
        # (a small line, at broadside): such a block's peak must stand `diffuse_floor`
        # above the median once the field is fitted out (SrpCovSearch.diffuse_height)
        dmap = self.search.diffuse_map if self.search.fast else None
        stands = dmap is not None and field_stands_out(dmap)
        self.diffuse_floor = float(diffuse_floor) if stands else 0.0
        self.zones = (
            OnsetZones(self.search.plan, hop_seconds=hop_seconds, memory=zone_memory)
            if zones
            else None
        )
        self.zone_ratio = float(zone_ratio)
        self.zone_min = float(zone_min)
        self.zone_apart = float(zone_apart)
        self.zone_support = float(zone_support)
        self.zone_rival = float(zone_rival)
        self.zone_onset_support = float(zone_onset_support)
        self.zone_blend = None if zone_blend is None else float(zone_blend)

    def _deflate(self, R: np.ndarray, az: float, el: float, *, pairs: bool = False) -> np.ndarray:
        """``P R P`` with ``P = I - a a^H / M`` per bin (``a`` toward ``(az, el)``), as
        ``R - (a b^H + b a^H) / M + (a^H b) a a^H / M^2`` with ``b = R a`` (with channels
        dead or left out, ``a`` zero there and ``M`` the live ones: the projection of the
        live channels; with the whole ``M`` a talker's residue stayed and started false
        tracks, 9 in 8 six-mic meetings with one channel dead); with
        `pairs` only its elements ``(i, j)``, ``i < j`` (:attr:`~arraykit.doa.SrpCovSearch.pairs`),
        ``(F, P)``: what the search reads. The steering is cached: the search returns
        grid directions, so the same few recur."""
        key = (round(az, 3) % 360.0, round(el, 3))
        a = self._steer.get(key)
        if a is None:
            a = steering_vector(self.geometry, self.freqs, np.array([key]))[:, 0, :]
            if len(self._steer) > 2048:
                self._steer.clear()
            self._steer[key] = a
        M = self.geometry.n_mics
        if self._live is not None:  # dead or left-out channels: project on the live ones
            a, M = a * self._live, int(np.count_nonzero(self._live))
        b = (R @ a[:, :, None])[:, :, 0]  # (F, M)
        s = np.einsum("fm,fm->f", a.conj(), b).real / (M * M)
        if pairs:
            i, j = self.search.pairs[:, 0], self.search.pairs[:, 1]
            ai, aj = a[:, i], a[:, j].conj()
            C = np.take(R.reshape(R.shape[0], -1), self.search.flat, axis=1)
            return C - (ai * b[:, j].conj() + b[:, i] * aj) / M + s[:, None] * ai * aj
        ab = a[:, :, None] * b.conj()[:, None, :]
        return (
            R
            - (ab + np.conj(np.swapaxes(ab, 1, 2))) / M
            + (s[:, None, None] * a[:, :, None] * a.conj()[:, None, :])
        )

    def update(
        self,
        X_band: np.ndarray,
        active: bool,
        known: list[tuple[float, float]] | tuple[()] = (),
        left_out: tuple[int, ...] = (),
    ) -> Detections:
        """Fold in a block's frames; search the covariance when the block is `active`.
        `known`: directions ``(azimuth, elevation)`` of the talkers already tracked (the
        onset zones report only a talker at least `zone_apart` from all of them);
        `left_out`: channels the search and the zones do not read (clipping), as if dead."""
        # a microphone all zero in this block: its past rows are forgotten (PHAT reads
        # their decayed phases at full weight)
        R = self.cov.update(X_band, forget_silent=True)
        if left_out:
            idx = list(left_out)
            X_band = X_band.copy()
            X_band[idx] = 0
            R = R.copy()
            R[:, idx, :] = 0
            R[:, :, idx] = 0
        if self.zones is not None:  # every block: the zones' onset test reads the last one
            self.zones.update(X_band)
        empty = np.zeros(0)
        power = np.diagonal(R, axis1=1, axis2=2).real.sum(axis=0)  # (M,)
        if not active or not np.any(power):  # PSD: 0 iff diag 0
            return Detections(empty, empty, empty, empty, empty)
        az, el, p0, spec = self.search(R)
        floor = map_floor(spec)
        h0 = p0 - floor
        if h0 < self.min_height:  # no coherent source (noise: 0.02-0.1 on the 6-mic circle)
            return Detections(empty, empty, empty, spec, self.grid_azimuth)
        if self._diffuse(R, spec, az, el, known):
            return Detections(empty, empty, empty, spec, self.grid_azimuth)
        found = [(az, el, 1.0)]
        self._n += 1  # searched blocks; the deflated search runs every `deflate_every`
        more = self.max_sources - 1 if self._n % self.deflate_every == 0 else 0
        live = live_channels(power) if more else None
        self._live = None if live is None or live.all() else live
        if live is not None and np.count_nonzero(live) <= self.one_peak_live:
            more = 0  # dead channels leave an array too small for a deflated peak
        for n in range(more):
            if h0 <= 0:
                break
            if n == more - 1 and self.search.fast:  # the last search reads the pairs alone
                az, el, p, spec_k = self.search.search_pairs(self._deflate(R, az, el, pairs=True))
            else:
                R = self._deflate(R, az, el)
                az, el, p, spec_k = self.search(R)
            h = p - map_floor(spec_k)
            if h < max(self._ratio(found[0], az, el, known) * h0, self.min_height):
                break
            if self._antipodal(az, el, found):
                break
            found.append((az, el, h / h0))
        if self.zones is not None:
            found = self._zone_peaks(found, spec, floor, h0, known)
            if not found:  # a blend dropped, and no atom to stand for its talkers
                return Detections(empty, empty, empty, spec, self.grid_azimuth)
        arr = np.array(found)
        return Detections(arr[:, 0], arr[:, 1], arr[:, 2], spec, self.grid_azimuth)

    def _diffuse(
        self,
        R: np.ndarray,
        spec: np.ndarray,
        az: float,
        el: float,
        known: list[tuple[float, float]] | tuple[()],
    ) -> bool:
        """Whether the block's first peak at `az`, `el`, away (`zone_rival`) from every
        confirmed track of `known`, is a diffuse field's: on an array whose own map of one
        stands out, the map of `R` (`spec`) with the field fitted out
        (:meth:`~arraykit.doa.SrpCovSearch.diffuse_height`) rises under `diffuse_floor`."""
        if self.diffuse_floor <= 0 or self._tracked(az, el, known):
            return False
        return self.search.diffuse_height(R, spec) < self.diffuse_floor

    def _antipodal(self, az: float, el: float, found: list[tuple[float, float, float]]) -> bool:
        """Whether a deflated peak lies within `antipode` degrees of the antipode of a
        peak found before it (the residue of deflation, see the module's docstring): the
        point opposite through the centre, or its mirror in a planar array's plane (the
        same azimuth turned round, at the same elevation)."""
        return any(
            min(_angle(az, el, (a + 180.0) % 360.0, s * e) for s in (1.0, -1.0)) < self.antipode
            for a, e, _ in found
        )

    def _ratio(
        self,
        first: tuple[float, float, float],
        az: float,
        el: float,
        known: list[tuple[float, float]] | tuple[()],
    ) -> float:
        """The least height (over the first peak's) of a deflated peak at `az`, `el`:
        `onset_ratio` at a talker starting over a tracked one (:meth:`_onset`), else
        `peak_ratio`."""
        if self.onset_ratio >= self.peak_ratio:
            return self.peak_ratio
        return self.onset_ratio if self._onset(first, az, el, known) else self.peak_ratio

    def _onset(
        self,
        first: tuple[float, float, float],
        az: float,
        el: float,
        known: list[tuple[float, float]] | tuple[()],
    ) -> bool:
        """Whether `az`, `el` is a talker starting while an established one speaks: the
        block's `first` peak lies within `zone_rival` (the tracker's gate) of a confirmed
        track and this direction `onset_apart` or more from every confirmed track."""
        return self._tracked(first[0], first[1], known) and all(
            _angle(az, el, a, e) >= self.onset_apart for a, e in known
        )

    def _tracked(self, az: float, el: float, known: list[tuple[float, float]] | tuple[()]) -> bool:
        """Whether `az`, `el` lies within `zone_rival` (the tracker's gate) of a confirmed
        track of `known`."""
        return any(_angle(az, el, a, e) < self.zone_rival for a, e in known)

    def _zone_peaks(
        self,
        found: list[tuple[float, float, float]],
        spec: np.ndarray,
        floor: float,
        h0: float,
        known: list[tuple[float, float]] | tuple[()],
    ) -> list[tuple[float, float, float]]:
        """The peaks `found`, less those that blend two talkers (:meth:`_blend`), and the
        directions the onset zones hold and the peaks do not: each atom of their
        histogram standing at least `zone_ratio` of the first, over at least `zone_min`
        zones in memory, where the map stands at least `zone_support` of the first peak's
        height (`zone_onset_support` for an atom at a talker starting over a tracked one,
        :meth:`_onset`), `zone_apart` degrees or more from every peak kept (strength: the
        atom's relative height).
        `floor` is the map's median, `h0` its first peak's height above it."""
        assert self.zones is not None
        idx, rel, mass = self.zones.atoms(2)
        if mass < self.zone_min:
            return found
        grid = self.search.grid
        atoms: list[tuple[float, float, float]] = []
        for q, r in zip(idx, rel, strict=True):
            az, el = float(grid[q, 0]), float(grid[q, 1])
            if r < self.zone_ratio:
                continue
            onset = self._onset(found[0], az, el, known)
            support = self.zone_onset_support if onset else self.zone_support
            if spec[q] - floor < support * h0:
                continue
            atoms.append((az, el, float(r)))
        if self.zone_blend is not None:
            refs = [(a, e) for a, e, _ in atoms] + list(known)
            found = [p for p in found if not self._blend(p, atoms, refs)]
        out: list[tuple[float, float, float]] = []
        for az, el, r in atoms:
            taken = [(a, e) for a, e, _ in found + out]
            rival = any(
                _angle(az, el, a, e) < self.zone_rival
                and any(_angle(fa, fe, a, e) < self.zone_apart for fa, fe, _ in found)
                for a, e in known
            )
            if not rival and all(_angle(az, el, a, e) >= self.zone_apart for a, e in taken):
                out.append((az, el, r))
        return found + out

    def _blend(
        self,
        peak: tuple[float, float, float],
        atoms: list[tuple[float, float, float]],
        refs: list[tuple[float, float]],
    ) -> bool:
        """Whether a map `peak` blends two talkers: it lies between an atom and another
        atom or a confirmed track (nearer each than they are to each other), `zone_blend`
        degrees or more from both."""
        assert self.zone_blend is not None
        pa, pe, _ = peak
        for za, ze, _ in atoms:
            dz = _angle(pa, pe, za, ze)
            if dz < self.zone_blend:
                continue
            for ua, ue in refs:
                du = _angle(pa, pe, ua, ue)
                whole = _angle(za, ze, ua, ue)
                if du >= self.zone_blend and dz < whole and du < whole:
                    return True
        return False
