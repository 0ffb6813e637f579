"""Several directions per block: a forgetting spatial covariance, searched and deflated.

Each block's band bins update an exponentially forgetting covariance
(:class:`arraykit.beamform.RecursiveCovariance`, time constant `memory`), and
:func:`arraykit.doa.locate_cov` (SRP-PHAT on the PHAT-normalised covariance) finds its
strongest direction. Further directions are found by *deflation*: the covariance is
projected away from the directions found so far (``R <- P R P`` with
``P = I - a a^H / M`` per bin) and searched again. The second peak of the undeflated
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
from arraykit.geometry import ArrayGeometry

__all__ = ["Detections", "Localiser"]


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
        self._proj: dict[tuple[float, float], np.ndarray] = {}
        self.deflate_every = int(deflate_every)
        self._n = 0

    def _projector(self, az: float, el: float) -> np.ndarray:
        """``(F, M, M)`` projector away from one direction, cached (the search returns
        grid directions, so the same few recur block after block)."""
        key = (round(az, 3) % 360.0, round(el, 3))
        P = self._proj.get(key)
        if P is None:
            M = self.geometry.n_mics
            a = steering_vector(self.geometry, self.freqs, np.array([key]))[:, 0, :]
            P = np.eye(M) - np.einsum("fm,fn->fmn", a, a.conj()) / M
            if len(self._proj) > 2048:
                self._proj.clear()
            self._proj[key] = P
        return P

    def _search(self, R: np.ndarray) -> tuple[float, float, float, np.ndarray, np.ndarray]:
        res = doa.locate_cov(
            R, self.freqs, self.geometry, resolution=self.resolution, coarse=self.coarse
        )
        spec = np.asarray(res.spectrum, dtype=float)
        height = float(res.power[0]) - float(np.median(spec))
        return float(res.azimuth[0]), float(res.elevation[0]), height, spec, res.grid

    def update(self, X_band: np.ndarray, active: bool) -> Detections:
        """Fold in a block's frames; search the covariance when the block is `active`."""
        R = self.cov.update(X_band)
        empty = np.zeros(0)
        if not active or not np.any(R):
            return Detections(empty, empty, empty, empty, empty)
        az, el, h0, spec, grid = self._search(R)
        if h0 < self.min_height:  # no coherent source (noise: 0.02-0.1 on the 6-mic circle)
            return Detections(empty, empty, empty, spec, np.asarray(grid)[:, 0])
        found = [(az, el, 1.0)]
        self._n += 1  # searched blocks; the deflated search runs every `deflate_every`
        more = self.max_sources - 1 if self._n % self.deflate_every == 0 else 0
        for _ in range(more):
            if h0 <= 0:
                break
            P = self._projector(az, el)
            R = P @ R @ P
            az, el, h, _, _ = self._search(R)
            if h < max(self.peak_ratio * h0, self.min_height):
                break
            found.append((az, el, h / h0))
        arr = np.array(found)
        return Detections(arr[:, 0], arr[:, 1], arr[:, 2], spec, np.asarray(grid)[:, 0])
