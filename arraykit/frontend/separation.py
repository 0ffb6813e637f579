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

import numpy as np

from arraykit.beamform import lcmv_weights, mvdr_weights, steering_vector
from arraykit.geometry import ArrayGeometry
from arraykit.stft import StreamingISTFT

__all__ = ["SEPARATIONS", "Separator", "TrackBeam"]

SEPARATIONS = ("mvdr", "lcmv", "das")


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
        """
        self.last_weights = {}
        M, _, Tb = X.shape
        for gone in set(self.beams) - set(tracks):
            del self.beams[gone]
        for tid in tracks:
            if tid not in self.beams:
                self.beams[tid] = TrackBeam(int(self.adaptive.sum()), M, self.fs, self.nfft, frame0)
        if not tracks:
            return {}
        ids = list(tracks)
        A = np.stack([self.steering(*tracks[k]) for k in ids])  # (K, F, M)
        Xf = np.moveaxis(X, 0, 1)  # (F, M, T)
        ad = self.adaptive
        Xa = Xf[ad]  # (F_a, M, T): the bins beamformed adaptively
        energy = np.einsum("fmt,fmt->ft", Xa.real, Xa.real) + np.einsum(
            "fmt,fmt->ft", Xa.imag, Xa.imag
        )
        P = np.einsum("kfm,fmt->kft", A[:, ad].conj(), Xa)
        C = (P.real**2 + P.imag**2) / (M * np.maximum(energy, 1e-30))  # (K, F_a, T)
        best = np.argmax(C, axis=0)
        wt_time = (1 - self.alpha) * self.alpha ** np.arange(Tb - 1, -1, -1.0)
        decay = self.alpha**Tb
        out: dict[int, np.ndarray] = {}
        for k, tid in enumerate(ids):
            beam = self.beams[tid]
            a = A[k]  # (F, M)
            # interference bins: another track dominates, or the track does not
            w_ft = ((best != k) | (C[k] < self.coherence_floor)) * wt_time + 1e-3 * wt_time
            beam.R *= decay
            beam.R += (Xa * w_ft[:, None, :]) @ np.swapaxes(Xa.conj(), 1, 2)
            beam.W = decay * beam.W + w_ft.sum(axis=1)
            R = beam.R / np.maximum(beam.W, 1e-30)[:, None, None]
            w = a / M  # delay-and-sum above max_freq
            w[ad] = self._weights(a[ad], R, A[:, ad], k)
            self.last_weights[tid] = w
            Y = np.einsum("fm,fmt->ft", w.conj(), Xf)
            if self.postfilter:
                Ya = Y[ad]
                noise = np.einsum("fm,fmn,fn->f", w[ad].conj(), R, w[ad]).real
                g = 1.0 - noise[:, None] / np.maximum(Ya.real**2 + Ya.imag**2, 1e-30)
                Y[ad] = Ya * np.maximum(g, self.gain_floor)
            out[tid] = beam.synth.push(Y)
        return out

    def _weights(self, a: np.ndarray, R: np.ndarray, A: np.ndarray, k: int) -> np.ndarray:
        M = a.shape[1]
        if self.method == "das" or not np.any(R):
            return a / M
        tr = np.trace(R, axis1=1, axis2=2).real / M
        Rl = R + (self.loading * tr + 1e-12)[:, None, None] * np.eye(M)
        if self.method == "lcmv" and A.shape[0] > 1 and A.shape[0] <= M - 1:
            others = np.delete(A, k, axis=0)  # (K-1, F, M)
            C = np.concatenate([a[:, :, None], np.moveaxis(others, 0, 2)], axis=2)  # (F, M, K)
            Cn = C / np.linalg.norm(C, axis=1, keepdims=True)
            s_min = np.linalg.svd(Cn, compute_uv=False)[:, -1]
            sep = s_min >= 0.3
            w = mvdr_weights(a, Rl)
            if np.any(sep):
                g = np.zeros(C.shape[2], dtype=complex)
                g[0] = 1.0
                w[sep] = lcmv_weights(C[sep], Rl[sep], g)
            return w
        return mvdr_weights(a, Rl)
