"""SRP-PHAT on a stream of covariances: :func:`~arraykit.doa.locate_cov`'s search, tabulated.

:class:`SrpCovSearch` is for a caller that searches a covariance of the same band
block after block (the live front end, :mod:`arraykit.frontend.localise`): the plan,
the grid, every refinement patch and the steering are fixed once, so a search is one
matrix-vector product. Shapes: ``F`` band bins, ``M`` microphones, ``P`` pairs,
``B`` distinct baselines, ``G`` grid points.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v
from arraykit.doa import grids
from arraykit.doa._cross import unit_phase
from arraykit.doa.confidence import height_without_field
from arraykit.doa.plan import check_geometry, plan_covariance
from arraykit.doa.refine import _inside_arc
from arraykit.doa.search import locate_cov
from arraykit.gcc import all_pairs
from arraykit.geometry import ArrayGeometry

__all__ = ["SrpCovSearch"]


class SrpCovSearch:
    """:func:`~arraykit.doa.locate_cov`'s SRP-PHAT search for one source (coarse grid,
    then the local refinement) with all that does not depend on the covariance done once.

    The map of direction ``g`` is ``1/(F P) sum_f sum_{i<j} Re(conj(a_i) a_j R~_ij)``,
    ``R~`` the PHAT-normalised covariance (:func:`arraykit.doa.srp.phat_covariance`),
    ``a`` the plan's own steering. Pairs with one baseline (or its opposite) share their
    phasors, so their cross-spectra are summed first (the 120 pairs of the 4 x 4 UMA-16
    are 24 baselines, the 15 of the six-microphone circle 9), and the phasors of the
    coarse grid and of every point a refinement can visit are one real table
    ``(G, 2 F B)``: a search is a matrix-vector product, an argmax and a product over
    the refinement patch's rows. The plan (grid, coarse step, patches) is the one
    :func:`~arraykit.doa.locate_cov` makes for the same arguments, and the direction,
    peak power and coarse map are its own (to rounding; tested). Ring and arc grids
    (a planar array's azimuth ring, a line's half plane); others go through
    :func:`~arraykit.doa.locate_cov`.

    Parameters
    ----------
    geometry : ArrayGeometry
    freqs : array_like [shape=(F,)]
        The band's bin frequencies, Hz (> 0), as for :func:`~arraykit.doa.locate_cov`.
    resolution, coarse : float
        As for :func:`~arraykit.doa.locate_cov` (degrees; `coarse` None: its default).
    precision : ``"double"`` or ``"single"``
        ``"single"``: the coarse map from a single-precision table (within about 2e-7 of
        the double map; the argmax is this map's, so two coarse points within that of
        each other may swap; the refinement and the peak's power stay in double).
        The table is the search's largest read (450 KB on the six-microphone circle's
        16 kHz band, twice a block in the live front end, which uses it): half of it
        leaves the cache to the rest of the pipeline (the front end 0.98x the time per
        block, its outputs the same on the test scenes).

    Calling it with a covariance ``(F, M, M)`` returns ``(azimuth, elevation, power,
    spectrum)``: the direction in degrees, its map value and the coarse map ``(G_c,)``
    over :attr:`grid` (``locate_cov``'s ``azimuth[0]``, ``elevation[0]``, ``power[0]``
    and ``spectrum``).

    Examples
    --------
    >>> import numpy as np, arraykit as ak
    >>> g = ak.load_geometry("respeaker-6mic")
    >>> freqs = np.arange(10, 113) * 31.25  # the 300-3500 Hz bins of a 512-point STFT
    >>> a = np.exp(-2j * np.pi * freqs[:, None] * g.delays((75.0, 0.0)))  # (F, M)
    >>> cov = a[:, :, None] * a[:, None, :].conj() + 0.1 * np.eye(6)
    >>> search = ak.doa.SrpCovSearch(g, freqs, resolution=1.0, coarse=4.0)
    >>> az, el, power, spectrum = search(cov)
    >>> ref = ak.doa.locate_cov(cov, freqs, g, resolution=1.0, coarse=4.0)
    >>> az == float(ref.azimuth[0]), bool(np.allclose(spectrum, ref.spectrum))
    (True, True)
    """

    def __init__(
        self,
        geometry: ArrayGeometry,
        freqs: npt.ArrayLike,
        *,
        resolution: float = 1.0,
        coarse: float | None = None,
        precision: Literal["double", "single"] = "double",
    ) -> None:
        geometry = check_geometry(geometry)
        self.precision = v.choice("precision", precision, ("double", "single"))
        freqs = v.frequencies("freqs", freqs)
        if np.any(freqs <= 0):
            raise v.fail("freqs", freqs, "must be the band's bin frequencies, > 0 Hz")
        self.geometry, self.freqs = geometry, freqs
        self.resolution, self.coarse = resolution, coarse
        opts = {"method": "srp-phat", "num_sources": 1, "resolution": resolution, "coarse": coarse}
        plan = plan_covariance(geometry, freqs, opts)
        self.plan = plan  # its grid is the coarse map's (the zones' search reads it too)
        self.grid = np.asarray(plan.grid_directions)  # (G_c, 2)
        self.fast = plan.grid_kind in ("ring", "arc")
        if not self.fast:
            return
        self.pairs = all_pairs(geometry.n_mics)
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
        fine = plan.resolution < plan.coarse - 1e-12
        # the table holds each point's phasors (G_u, 2 F B): refused before it is made
        per_patch = 2 * plan.coarse / plan.resolution + 1 if fine else 0.0
        n_points = len(self.grid) * (1 + per_patch)  # the patches overlap: fewer rows
        rows = min(n_points, len(self.grid) + 360.0 / plan.resolution)
        what = f"the phasors of {rows:.3g} directions x {F} bins x {B} baselines"
        # the table and its scaled copy, the patches and their unique rows
        nbytes = rows * 2 * F * B * 8.0 * 2 + n_points * 3 * 16.0
        fix = "use a coarser resolution (or fewer band bins: a shorter STFT, a narrower band)"
        v.fits("resolution", resolution, nbytes, what, fix)
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
        # the pairs' cross-spectra -> (F, B) per baseline: the pairs sorted by baseline,
        # conjugated where the baseline is the opposite one, then summed in runs
        self._order = np.argsort(group, kind="stable")
        self._starts = np.flatnonzero(np.r_[True, np.diff(group[self._order]) != 0])
        self._flip = sign[self._order] < 0
        self._flip_any = bool(np.any(self._flip))
        self.flat = i * geometry.n_mics + j  # the pairs in a flattened (M * M) covariance
        self._flat_sorted = self.flat[self._order]  # ... in baseline order
        table = np.empty((len(self.points), F, 2 * B))
        steer = plan.steering(self.points)
        ri, rj, rs = i[rep], j[rep], sign[rep]
        for sl, A in steer.chunks():  # (F, G_chunk, M)
            E = np.conj(A[:, :, ri]) * A[:, :, rj]  # (F, G_chunk, B): each baseline's phasor
            table[sl, :, :B] = E.real.transpose(1, 0, 2)
            table[sl, :, B:] = -(E.imag * rs).transpose(1, 0, 2)
        self.table = table.reshape(len(self.points), 2 * F * B) / (F * P)
        kind = np.float32 if precision == "single" else float
        self.coarse_table = np.ascontiguousarray(self.table[self.coarse_rows], dtype=kind)
        # the spherically isotropic field's coherence per pair in baseline order (F, P)
        # and its coarse map (diffuse_height)
        d = np.linalg.norm(base[self._order], axis=1)
        self._gamma = np.sinc(2.0 * freqs[:, None] * d[None, :] / plan.c)
        self.diffuse_map = self._map(self._gamma.astype(complex))
        self.diffuse_map.setflags(write=False)

    def _map(self, Z: np.ndarray) -> np.ndarray:
        """The coarse map ``(G_c,)`` of PHAT cross-spectra of the pairs in baseline order
        ``(F, P)`` (conjugated where the baseline is the opposite one: the real parts,
        which the isotropic field's are, need not be)."""
        return self.coarse_table @ self._baselines(Z)

    def _baselines(self, Z: np.ndarray) -> np.ndarray:
        """The pairs' cross-spectra in baseline order ``(F, P)`` summed per baseline, as
        the tables' rows read them: ``(F * 2B)``, ``[Re S | Im S]`` per bin."""
        S = np.add.reduceat(Z, self._starts, axis=1)  # (F, B)
        return np.concatenate([S.real, S.imag], axis=1).ravel()

    def diffuse_height(self, R: np.ndarray, spec: np.ndarray) -> float:
        """The coarse map `spec` ``(G_c,)`` of the covariance `R` ``(F, M, M)`` (this
        search's), less the best-fitting isotropic field's map ``alpha`` :attr:`diffuse_map`
        (``alpha >= 0``: least squares of the PHAT-normalised pairs' real parts on the
        field's coherences ``sinc(2 f d / c)``): how far its peak still rises above its
        median. :func:`arraykit.doa.count._diffuse_height` on a covariance's own map: a
        diffuse field seen by a small line peaks at broadside like a talker and fits the
        field almost wholly; a talker's direct sound does not. Ring and arc grids only
        (:attr:`fast`; a vertical line's elevation arc is refused)."""
        if not self.fast:
            why = f"diffuse_height needs a ring or an arc grid, not {self.plan.grid_kind!r}"
            raise v.fail("geometry", self.geometry, why)
        F, M = len(self.freqs), self.geometry.n_mics
        C = np.take(np.asarray(R).reshape(F, M * M), self._flat_sorted, axis=1)
        return height_without_field(spec, self.diffuse_map, unit_phase(C).real, self._gamma)

    def __call__(self, R: np.ndarray) -> tuple[float, float, float, np.ndarray]:
        """``(azimuth, elevation, power, coarse map (G_c,))`` of the covariance ``(F, M, M)``."""
        if not self.fast:
            res = locate_cov(
                R, self.freqs, self.geometry, resolution=self.resolution, coarse=self.coarse
            )
            spec = np.asarray(res.spectrum, dtype=float)
            return float(res.azimuth[0]), float(res.elevation[0]), float(res.power[0]), spec
        F, M = len(self.freqs), self.geometry.n_mics
        R = np.asarray(R)
        if R.shape != (F, M, M):
            raise v.fail("cov", R, f"must be covariances of shape (F={F}, M={M}, M={M})")
        return self._search_sorted(np.take(R.reshape(F, M * M), self._flat_sorted, axis=1))

    def search_pairs(self, C: np.ndarray) -> tuple[float, float, float, np.ndarray]:
        """The same from the covariance's pairs ``R[:, i, j]`` (``i < j``, :attr:`pairs`)
        alone, ``(F, P)``."""
        return self._search_sorted(C[:, self._order])

    def _search_sorted(self, C: np.ndarray) -> tuple[float, float, float, np.ndarray]:
        """The search from the pairs in baseline order ``(F, P)`` (one gather, not two)."""
        Z = unit_phase(C)  # PHAT
        if self._flip_any:
            Z[:, self._flip] = Z[:, self._flip].conj()
        r = self._baselines(Z)
        if self.coarse_table.dtype == np.float32:
            spec = (self.coarse_table @ r.astype(np.float32)).astype(float)
            k = int(np.argmax(spec))
            best = self.coarse_rows[k]
            power = float(self.table[best] @ r)  # the peak's value in double precision
        else:
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
