"""Several directions per block: a forgetting spatial covariance, searched and deflated.

Each block's band bins update an exponentially forgetting covariance
(:class:`arraykit.beamform.RecursiveCovariance`, time constant `memory`), and
:class:`SrpSearch` finds its strongest direction: :func:`arraykit.doa.locate_cov`'s
SRP-PHAT search (same plan, same answer, tested) with the steering of every point it
can visit tabulated once, about ten times faster per block. Further directions are found by *deflation*: the covariance is
projected away from the directions found so far (``R <- P R P`` with
``P = I - a a^H / M`` per bin, computed as a rank-two update) and searched again. The second peak of the undeflated
map is no use on a small array: the sidelobes of one talker stand as high (about 2/3
of the main peak on the 46 mm six-microphone circle, 26 degrees off) as a second
talker. A deflated peak is a detection when its height above the map's median is at
least `peak_ratio` times the first map's (measured on that circle, RT60 0.3 s: one
talker leaves 0.19-0.36, a second talker 130 degrees away gives 0.8-2.1; a second
talker 40 degrees away is projected away with the first, and the tracker keeps it
from the blocks where it dominates). Every peak must also stand `min_height` above
its map's median (the map is a mean GCC-PHAT, at most 1): in sensor noise alone the
first peak stands 0.02-0.1 high, a talker 0.3-0.45 (six-microphone circle, RT60
0.3 s, 20 dB SNR).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arraykit import doa
from arraykit.beamform import RecursiveCovariance, steering_vector
from arraykit.doa._cross import unit_phase
from arraykit.gcc import all_pairs
from arraykit.geometry import ArrayGeometry

__all__ = ["Detections", "Localiser", "SrpSearch"]


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


def _median(x: np.ndarray) -> float:
    """``np.median`` of a short 1-D map without its overhead (the same number)."""
    n = x.size
    k = n // 2
    part = np.partition(x, (k - 1, k) if n % 2 == 0 else k)
    return float(part[k]) if n % 2 else float(0.5 * (part[k - 1] + part[k]))


class SrpSearch:
    """:func:`arraykit.doa.locate_cov`'s SRP-PHAT search (one source, coarse grid then
    local refinement) with everything that does not depend on the covariance done once.

    The map of direction ``g`` is ``1/(F P) sum_f sum_{i<j} Re(conj(a_i) a_j R~_ij)``
    with ``R~`` the PHAT-normalised covariance (:func:`arraykit.doa.srp.phat_covariance`)
    and ``a`` the plan's own steering: the pair phasors of the coarse grid and of every
    point a refinement can visit are tabulated as one real matrix ``(G, 2 F P)``, so a
    search is a matrix-vector product, an argmax and a product over the few refinement
    rows. The plan (grid, coarse step, refinement patch) is the one
    :func:`~arraykit.doa.locate_cov` builds for the same arguments, and the results
    equal its azimuth, elevation, peak power and map (tested); ring and arc grids only
    (what the front end searches), others go through :func:`~arraykit.doa.locate_cov`.
    """

    def __init__(
        self, geometry: ArrayGeometry, freqs: np.ndarray, *, resolution: float, coarse: float | None
    ) -> None:
        from arraykit.doa import grids
        from arraykit.doa.plan import plan_covariance
        from arraykit.doa.refine import _inside_arc

        self.geometry, self.freqs = geometry, freqs
        self.resolution, self.coarse = resolution, coarse
        opts = {"method": "srp-phat", "num_sources": 1, "resolution": resolution, "coarse": coarse}
        plan = plan_covariance(geometry, freqs, opts)
        self.grid = np.asarray(plan.grid_directions)  # (G_c, 2)
        self.fast = plan.grid_kind in ("ring", "arc")
        if not self.fast:
            return
        self.pairs = all_pairs(geometry.n_mics)
        fine = plan.resolution < plan.coarse - 1e-12
        patches = []
        for d in self.grid if fine else ():  # each coarse point's refinement patch
            loc = grids.local_grid(d, plan.coarse, plan.resolution, ring=True)
            patches.append(_inside_arc(loc, plan.directions) if plan.grid_kind == "arc" else loc)
        points = np.concatenate([self.grid, *patches]) if patches else self.grid
        _, first, inv = np.unique(
            np.round(points, 9), axis=0, return_index=True, return_inverse=True
        )
        inv = inv.ravel()
        self.points = points[first]  # (G_u, 2): every point a search can visit
        self.coarse_rows = inv[: len(self.grid)]
        ends = np.cumsum([len(self.grid)] + [len(p) for p in patches])
        self.patch_rows = [inv[ends[k] : ends[k + 1]] for k in range(len(patches))]
        # pairs with one baseline (or its opposite) share their phasors: sum them first
        i, j = self.pairs[:, 0], self.pairs[:, 1]
        base = geometry.positions[j] - geometry.positions[i]  # (P, 3)
        nz = np.abs(base) > 1e-9
        lead = base[np.arange(len(base)), np.argmax(nz, axis=1)]  # first nonzero coordinate
        sign = np.where(lead > 0, 1.0, -1.0)
        _, rep, group = np.unique(
            np.round(base * sign[:, None], 9), axis=0, return_index=True, return_inverse=True
        )
        group = group.ravel()
        F, P, B = len(freqs), len(self.pairs), len(rep)
        # (F, 2P) real view of the pairs' cross-spectra -> (F, 2B) [Re S | Im S] per baseline
        self.fold = np.zeros((2 * P, 2 * B))
        self.fold[2 * np.arange(P), group] = 1.0
        self.fold[2 * np.arange(P) + 1, B + group] = sign
        self.flat = i * geometry.n_mics + j  # the pairs in a flattened (M * M) covariance
        table = np.empty((len(self.points), F, 2 * B))
        steer = plan.steering(self.points)
        ri, rj, rs = i[rep], j[rep], sign[rep]
        for sl, A in steer.chunks():  # (F, G_chunk, M)
            E = np.conj(A[:, :, ri]) * A[:, :, rj]  # (F, G_chunk, B): each baseline's phasor
            table[sl, :, :B] = E.real.transpose(1, 0, 2)
            table[sl, :, B:] = -(E.imag * rs).transpose(1, 0, 2)
        self.table = table.reshape(len(self.points), 2 * F * B) / (F * P)
        self.coarse_table = np.ascontiguousarray(self.table[self.coarse_rows])

    def __call__(self, R: np.ndarray) -> tuple[float, float, float, np.ndarray]:
        """``(azimuth, elevation, power, coarse map (G_c,))`` of the covariance ``(F, M, M)``."""
        if not self.fast:
            res = doa.locate_cov(
                R, self.freqs, self.geometry, resolution=self.resolution, coarse=self.coarse
            )
            spec = np.asarray(res.spectrum, dtype=float)
            return float(res.azimuth[0]), float(res.elevation[0]), float(res.power[0]), spec
        F, M = R.shape[0], self.geometry.n_mics
        return self.search_pairs(np.take(R.reshape(F, M * M), self.flat, axis=1))

    def search_pairs(self, C: np.ndarray) -> tuple[float, float, float, np.ndarray]:
        """The same from the covariance's pairs ``R[:, i, j]`` (``i < j``, :attr:`pairs`)
        alone, ``(F, P)``."""
        r = (unit_phase(C).view(np.float64) @ self.fold).ravel()  # (F * 2B), PHAT first
        spec = self.coarse_table @ r
        k = int(np.argmax(spec))
        best, power = self.coarse_rows[k], float(spec[k])
        if self.patch_rows:
            rows = self.patch_rows[k]
            vals = self.table[rows] @ r
            m = int(np.argmax(vals))
            if vals[m] >= power:
                best, power = rows[m], float(vals[m])
        az, el = self.points[best]
        return float(az), float(el), power, spec


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
        coarse: float | None = 6.0,
        deflate_every: int = 1,
    ) -> None:
        self.geometry = geometry
        self.freqs = np.asarray(freqs, dtype=float)
        alpha = float(np.exp(-hop_seconds / memory))
        self.cov = RecursiveCovariance(self.freqs.size, geometry.n_mics, alpha=alpha)
        self.max_sources = int(max_sources)
        self.peak_ratio = float(peak_ratio)
        self.resolution = float(resolution)
        self.min_height = float(min_height)
        self.coarse = coarse
        self._steer: dict[tuple[float, float], np.ndarray] = {}
        self.deflate_every = int(deflate_every)
        self._n = 0
        self.search = SrpSearch(geometry, self.freqs, resolution=resolution, coarse=coarse)
        self.grid_azimuth = self.search.grid[:, 0].copy()

    def _deflate(self, R: np.ndarray, az: float, el: float, *, pairs: bool = False) -> np.ndarray:
        """``P R P`` with ``P = I - a a^H / M`` per bin (``a`` toward ``(az, el)``), as
        ``R - (a b^H + b a^H) / M + (a^H b) a a^H / M^2`` with ``b = R a``; with
        `pairs` only its elements ``(i, j)``, ``i < j`` (:attr:`SrpSearch.pairs`),
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
        b = (R @ a[:, :, None])[:, :, 0]  # (F, M)
        s = np.einsum("fm,fm->f", a.conj(), b).real / (M * M)
        if pairs:
            i, j = self.search.pairs[:, 0], self.search.pairs[:, 1]
            ai, aj = a[:, i], a[:, j].conj()
            C = np.take(R.reshape(R.shape[0], M * M), self.search.flat, axis=1)
            return C - (ai * b[:, j].conj() + b[:, i] * aj) / M + s[:, None] * ai * aj
        ab = a[:, :, None] * b.conj()[:, None, :]
        return (
            R
            - (ab + np.conj(np.swapaxes(ab, 1, 2))) / M
            + (s[:, None, None] * a[:, :, None] * a.conj()[:, None, :])
        )

    def update(self, X_band: np.ndarray, active: bool) -> Detections:
        """Fold in a block's frames; search the covariance when the block is `active`."""
        R = self.cov.update(X_band)
        empty = np.zeros(0)
        if not active or not np.any(np.diagonal(R, axis1=1, axis2=2).real):  # PSD: 0 iff diag 0
            return Detections(empty, empty, empty, empty, empty)
        az, el, p0, spec = self.search(R)
        h0 = p0 - _median(spec)
        if h0 < self.min_height:  # no coherent source (noise: 0.02-0.1 on the 6-mic circle)
            return Detections(empty, empty, empty, spec, self.grid_azimuth)
        found = [(az, el, 1.0)]
        self._n += 1  # searched blocks; the deflated search runs every `deflate_every`
        more = self.max_sources - 1 if self._n % self.deflate_every == 0 else 0
        for n in range(more):
            if h0 <= 0:
                break
            if n == more - 1 and self.search.fast:  # the last search reads the pairs alone
                az, el, p, spec_k = self.search.search_pairs(self._deflate(R, az, el, pairs=True))
            else:
                R = self._deflate(R, az, el)
                az, el, p, spec_k = self.search(R)
            h = p - _median(spec_k)
            if h < max(self.peak_ratio * h0, self.min_height):
                break
            found.append((az, el, h / h0))
        arr = np.array(found)
        return Detections(arr[:, 0], arr[:, 1], arr[:, 2], spec, self.grid_azimuth)
