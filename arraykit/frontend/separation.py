"""One beamformer per track: each talker's voice from the array, block by block.

For each confirmed track the weights are redesigned every block toward the track's
current direction (:func:`arraykit.beamform.steering_vector`):

- ``"mvdr"`` (default): MVDR (:func:`arraykit.beamform.mvdr_weights`, diagonal
  loading `loading` times the mean diagonal) against a per-track *interference*
  covariance from the time-frequency bins that are not the track's: a bin ``x``
  counts for track ``k`` when another track's direction explains more of it
  (``|a_j^H x|^2 / (M |x|^2)`` largest for ``j != k``) or the track's own explains
  less than `coherence_floor` of it (noise, reverberation). The covariance forgets
  with time constant `memory`. Measured on two still talkers 90 degrees apart (RT60
  0.3 s, 46 mm six-microphone circle), the SIR gains were 9.2 and 11.5 dB with this
  mask against 5.7 and 7.7 dB when every bin was weighted by how little of it came
  from the track, and 11-12 dB for MVDR on the oracle interference covariance.
- ``"lcmv"``: the same covariance with nulls toward the other tracks
  (:func:`arraykit.beamform.lcmv_weights`; plain MVDR in bins where the array cannot
  tell the directions apart).
- ``"das"``: delay-and-sum toward the track (ODAS's simplest separation), the baseline.

Bins above `max_freq` (8 kHz: little speech, most of the bins at 48 kHz) are
delay-and-sum, which keeps the per-block solves to the speech band.

An optional single-channel post-filter multiplies each output bin by a Wiener gain
``max(1 - w^H R w / |y|^2, g_min)`` with ``R`` the track's interference covariance.

Each track's output frames go through :class:`arraykit.stft.StreamingISTFT` (the
inverse of the analysis' own phase convention), started at the frame where the track
was born: sample ``n`` of the output is sample ``n`` of the input.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from arraykit.beamform import lcmv_weights, mvdr_weights, steering_vector
from arraykit.geometry import ArrayGeometry
from arraykit.stft import StreamingISTFT

__all__ = ["SEPARATIONS", "Separator", "TrackBeam"]

SeparationKind = Literal["mvdr", "lcmv", "das"]
SEPARATIONS: tuple[str, ...] = get_args(SeparationKind)


class TrackBeam:
    """One track's interference covariance and synthesis state."""

    def __init__(self, n_freqs: int, n_mics: int, fs: float, nfft: int, first_frame: int) -> None:
        self.R = np.zeros((n_freqs, n_mics, n_mics), dtype=complex)
        self.W = np.zeros(n_freqs)
        self.synth = StreamingISTFT(fs, nfft=nfft)
        self.first_frame = first_frame


class Separator:
    """Beamform every track from blocks of full-band frames ``(M, F, T_b)``."""

    def __init__(
        self,
        geometry: ArrayGeometry,
        fs: float,
        nfft: int,
        *,
        method: str,
        memory: float,
        hop_seconds: float,
        loading: float = 1e-3,
        coherence_floor: float = 0.3,
        postfilter: bool = False,
        gain_floor: float = 0.1,
        max_freq: float = 8000.0,
        refresh: int = 1,
        refresh_deg: float = 3.0,
    ) -> None:
        from arraykit.stft import stft_frequencies

        self.geometry = geometry
        self.fs = float(fs)
        self.nfft = int(nfft)
        self.freqs = stft_frequencies(fs, nfft)
        self.method = method
        self.alpha = float(np.exp(-hop_seconds / memory))
        self.loading = float(loading)
        self.coherence_floor = float(coherence_floor)
        self.postfilter = bool(postfilter)
        self.gain_floor = float(gain_floor)
        self.beams: dict[int, TrackBeam] = {}
        self.adaptive = self.freqs <= float(max_freq)  # (F,) bins beamformed adaptively
        self.last_weights: dict[int, np.ndarray] = {}
        self._steer: dict[tuple[float, float], np.ndarray] = {}
        self.refresh = int(refresh)
        self.refresh_deg = float(refresh_deg)
        self._ids: list[int] = []
        self._dirs = np.zeros((0, 2))
        self._age = 0
        self._W = np.zeros((0, self.freqs.size, geometry.n_mics), dtype=complex)
        self._R = np.zeros((0, int(self.adaptive.sum()), geometry.n_mics, geometry.n_mics))

    def steering(self, az: float, el: float) -> np.ndarray:
        """``(F, M)`` unit-modulus steering vectors toward one direction (on a 0.5 degree
        grid, cached: a track moves a little every block)."""
        key = (round(az * 2) / 2 % 360.0, round(el * 2) / 2)
        a = self._steer.get(key)
        if a is None:
            a = steering_vector(self.geometry, self.freqs, np.array([key]))[:, 0, :]
            if len(self._steer) > 4096:
                self._steer.clear()
            self._steer[key] = a
        return a

    def process(
        self, X: np.ndarray, frame0: int, tracks: dict[int, tuple[float, float]]
    ) -> dict[int, np.ndarray]:
        """Outputs of this block's frames for each track: ``{id: samples (T_b * hop,)}``.

        `X` is ``(M, F, T_b)``, its first frame the stream's frame `frame0`; `tracks`
        maps confirmed IDs to ``(azimuth, elevation)``. A track seen for the first time
        starts its synthesis here; tracks no longer given are forgotten. The weights
        used, ``(F, M)`` per track, are left in :attr:`last_weights`.

        All tracks are done at once (``K`` tracks batched in every product and in one
        solve). The weights are redesigned every `refresh` blocks, and at once when
        the set of tracks changes or a track moves more than `refresh_deg`; between
        redesigns the covariances still learn every block.
        """
        self.last_weights = {}
        M, _, Tb = X.shape
        for gone in set(self.beams) - set(tracks):
            del self.beams[gone]
        for tid in tracks:
            if tid not in self.beams:
                self.beams[tid] = TrackBeam(int(self.adaptive.sum()), M, self.fs, self.nfft, frame0)
        if not tracks:
            self._ids = []
            return {}
        ids = list(tracks)
        K = len(ids)
        A = np.stack([self.steering(*tracks[k]) for k in ids])  # (K, F, M)
        Xf = np.moveaxis(X, 0, 1)  # (F, M, T)
        ad = self.adaptive
        Xa = Xf[ad]  # (F_a, M, T): the bins beamformed adaptively
        Aa = A[:, ad]  # (K, F_a, M)
        wt_time = (1 - self.alpha) * self.alpha ** np.arange(Tb - 1, -1, -1.0)
        decay = self.alpha**Tb
        if self.method == "das" and not self.postfilter:
            W = A / M
        else:
            energy = np.einsum("fmt,fmt->ft", Xa.real, Xa.real) + np.einsum(
                "fmt,fmt->ft", Xa.imag, Xa.imag
            )
            P = np.einsum("kfm,fmt->kft", Aa.conj(), Xa)
            C = (P.real**2 + P.imag**2) / (M * np.maximum(energy, 1e-30))  # (K, F_a, T)
            best = np.argmax(C, axis=0)
            # interference bins: another track dominates, or the track does not
            mask = (best[None] != np.arange(K)[:, None, None]) | (C < self.coherence_floor)
            w_kft = (mask + 1e-3) * wt_time  # (K, F_a, T)
            upd = (Xa[None] * w_kft[:, :, None, :]) @ np.swapaxes(Xa.conj(), 1, 2)[None]
            for k, tid in enumerate(ids):
                beam = self.beams[tid]
                beam.R *= decay
                beam.R += upd[k]
                beam.W = decay * beam.W + w_kft[k].sum(axis=1)
            dirs = np.array([tracks[k] for k in ids])
            stale = (
                self._ids != ids
                or self._age >= self.refresh
                or float(np.max(np.abs((dirs - self._dirs + 180.0) % 360.0 - 180.0)))
                > self.refresh_deg
            )
            if stale:
                R = np.stack([self.beams[k].R / np.maximum(self.beams[k].W, 1e-30)[:, None, None]
                              for k in ids])  # fmt: skip
                W = A / M  # delay-and-sum above max_freq
                W[:, ad] = self._weights(Aa, R)
                self._W, self._R, self._ids, self._dirs, self._age = W, R, ids, dirs, 0
            W, R = self._W, self._R
            self._age += 1
        Y = np.einsum("kfm,fmt->kft", W.conj(), Xf)  # (K, F, T)
        if self.postfilter:
            Ya = Y[:, ad]
            noise = np.einsum("kfm,kfmn,kfn->kf", W[:, ad].conj(), R, W[:, ad]).real
            g = 1.0 - noise[:, :, None] / np.maximum(Ya.real**2 + Ya.imag**2, 1e-30)
            Y[:, ad] = Ya * np.maximum(g, self.gain_floor)
        out: dict[int, np.ndarray] = {}
        for k, tid in enumerate(ids):
            self.last_weights[tid] = W[k]
            out[tid] = self.beams[tid].synth.push(Y[k])
        return out

    def _weights(self, A: np.ndarray, R: np.ndarray) -> np.ndarray:
        """``(K, F, M)`` weights of every track from its steering `A` and covariance `R`
        ``(K, F, M, M)`` (one batched solve)."""
        K, _, M = A.shape
        if self.method == "das" or not np.any(R):
            return A / M
        tr = np.trace(R, axis1=-2, axis2=-1).real / M
        Rl = R + (self.loading * tr + 1e-12)[..., None, None] * np.eye(M)
        if self.method == "lcmv" and 1 < K <= M - 1:
            W = mvdr_weights(A, Rl)
            for k in range(K):
                others = np.delete(A, k, axis=0)  # (K-1, F, M)
                Cm = np.concatenate([A[k][:, :, None], np.moveaxis(others, 0, 2)], axis=2)
                Cn = Cm / np.linalg.norm(Cm, axis=1, keepdims=True)
                sep = np.linalg.svd(Cn, compute_uv=False)[:, -1] >= 0.3
                if np.any(sep):
                    g = np.zeros(K, dtype=complex)
                    g[0] = 1.0
                    W[k, sep] = lcmv_weights(Cm[sep], Rl[k, sep], g)
            return W
        return mvdr_weights(A, Rl)
