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
- ``"near"``: MVDR as above, steered toward a point at the track's likeliest range
  instead of a plane wave (:func:`arraykit.steering.spherical_wave`): a talker within
  a few apertures of the array reaches it on a curved wavefront, which the plane wave
  misses at high frequencies, so MVDR partly cancels the talker and the mask gives the
  talker's own bins to its interference covariance. The range is one of `ranges`
  (0.25, 0.35, 0.5, 0.7, 1 m or a plane wave), the one whose wave explains most of the
  bins the track dominates (every fourth bin from 1.5 kHz, frames weighted and
  forgotten like the covariances; a plane wave until there is evidence), so a far
  talker keeps the plane wave or one indistinguishable from it. Measured on the
  office-ula32 loudspeakers (eight microphones, 21 cm, loudspeakers about 0.25-1 m
  away): the median SIR gain per loudspeaker +8.8 -> +11.8 dB (11 of 19 >= 10 dB
  against 8), as much as the spherical waves from the calibrated positions give
  (+11.6); on the simulated six-microphone meetings +11.03 -> +11.46 dB. An estimated
  relative transfer function instead (covariance whitening against the track's
  interference covariance) gave +11.7 dB on the office but +0.15 dB on those meetings,
  where talkers pause and the estimate wanders: see the README.
- ``"lcmv"``: the same covariance with nulls toward the other tracks
  (:func:`arraykit.beamform.lcmv_weights`; plain MVDR in bins where the array cannot
  tell the directions apart).
- ``"das"``: delay-and-sum toward the track (ODAS's simplest separation), the baseline.

Soft nulls (`nulls`; the pipeline's default 0.1 where it steers ``"near"``, else 0,
:func:`~arraykit.frontend.pipeline.default_nulls`): the MVDR's interference covariance of
each track also holds every other track's steering, ``R_k + nulls * tr(R_k) / M *
sum_{j != k} a_j a_j^H`` (averaged over a group's bins), so the weights lean toward a
null at the other talkers even where the mask gave their bins to the wrong track, which
happens most below about 1 kHz on a small array, where the tracks' steering vectors are
alike. Measured with the mask of the pipeline (README, "Near talkers"): office-ula32
loudspeakers >= 10 dB 10 -> 12 of 19 (`nulls` 0.03 / 0.1 / 0.3 / 1: 12 of 19 each, median
+11.7 / +11.6 / +11.4 / +11.2 dB against +11.8), six-microphone meetings 16-47 median
+11.29 -> +11.48 dB (0.3 and 1: +11.57 and +11.58); a hard null (``"lcmv"``) gave 12 of 19
on the office too, with ``"near"``'s steering.

Bins above `max_freq` (8 kHz: little speech, most of the bins at 48 kHz) are
delay-and-sum, which keeps the per-block solves to the speech band. Below it, groups of
`group` adjacent bins (the pipeline's default 2) share one interference covariance,
accumulated over all their bins' frames, and one LU factorisation whose right-hand sides
are the bins' own steering vectors: each bin keeps its exact distortionless response and
the group shares the nulls (a point interferer's phase difference across the array turns
by 0.05 rad from one bin to the next on the six-microphone circle at 16 kHz with
512-sample frames, 0.1 rad with the pipeline's default 256).

A single-channel post-filter (the pipeline's default) multiplies each output bin by a
Wiener gain ``max(1 - lambda / |y|^2, g_min)``. Its interference ``lambda`` is
``w^H R w`` with ``R`` the track's interference covariance (a slow average: on the 16
six-microphone meetings of the benchmark it raised the median SIR gain per track from
+9.0 to +11.0 dB; LCMV instead of MVDR: +0.1 to +0.2 dB), plus, with `leak` (the
pipeline's default 0.3), the *leakage* of the other tracks: `leak` times the sum of their
output powers in the same bin, each smoothed over `leak_memory` (0.06 s). This is the
post-filter of Valin, Rouat and Michaud, "Enhanced robot audition based on microphone
array source separation with post-filter", IROS 2004 (ManyEars, the separation of ODAS):
where another talker's speech is loud in a bin it is loud in that talker's output too,
and the bin is attenuated in this track's, frame by frame, which the slow covariance
cannot do, most usefully below about 1 kHz, where a small array's beams barely differ.
Measured on the held-out six-microphone meetings 16-47 (where 0.1-1 and 0.03-0.12 s
were compared): median SIR gain per track +11.29 -> +14.33 dB, tracks under 10 dB 19 ->
3 of 64, SI-SDR 2.04 -> 2.05 dB; four microphones +10.50 -> +14.09 dB, SI-SDR 2.65 ->
2.77 dB (README, "The post-filter's leakage term").

The tracks' output frames go through one :class:`arraykit.stft.StreamingISTFT` (the
inverse of the analysis' own phase convention; the tracks stacked, each row started
at the frame where its track was born): sample ``n`` of the output is sample ``n`` of
the input.

For speed (measured in the README) the covariances accumulate in single precision
(the solve stays in double: the outputs move by about 1e-5 of their peak), stored
divided by the forgetting applied so far, and MVDR's post-filter takes ``w^H R w``
from the solve itself.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from arraykit.beamform import lcmv_weights, mvdr_weights
from arraykit.beamform.apply import live_channels
from arraykit.beamform.covariance import forgetting_weights
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry, unit_vectors
from arraykit.stft import StreamingISTFT

__all__ = ["SEPARATIONS", "Separator"]

LIVE_MEMORY = 0.1
"""Seconds: the channel powers that decide which channels are live (steered) forget over
this, so that a microphone that dies during a run is left out within about 0.8 s (30 dB
of decay). Summed over the whole run, as before, a channel that died after 1.5 s of a
6 s talker kept being steered, and the track's voice fell 15-35 dB from then on."""

SeparationKind = Literal["mvdr", "near", "lcmv", "das"]
SEPARATIONS: tuple[str, ...] = get_args(SeparationKind)


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
        group: int = 1,
        nulls: float = 0.0,
        leak: float = 0.0,
        leak_memory: float = 0.06,
    ) -> None:
        from arraykit.stft import stft_frequencies

        self.geometry = geometry
        self._positions, self._centroid = geometry.positions, geometry.centroid
        self.fs = float(fs)
        self.nfft = int(nfft)
        self.freqs = stft_frequencies(fs, nfft)  # k fs / nfft
        Q = int(np.ceil(np.sqrt(self.freqs.size)))
        self._split = (Q, -(-self.freqs.size // Q))  # see steering
        self.method = method
        self.alpha = float(np.exp(-hop_seconds / memory))
        self.loading = float(loading)
        self.coherence_floor = float(coherence_floor)
        self.postfilter = bool(postfilter)
        self.gain_floor = float(gain_floor)
        self.group = int(group)  # G adjacent bins share one covariance and one solve
        self.nulls = float(nulls)  # each other track's a a^H, times tr(R) / M, added to R
        self.leak = float(leak)  # the post-filter's leakage coefficient (eta)
        self._leak_alpha = float(np.exp(-hop_seconds / leak_memory))
        self._live_alpha = float(np.exp(-hop_seconds / LIVE_MEMORY))
        self._leak_kernels: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # per block length
        # F_a: a prefix, whole groups of G bins (F_g of them)
        self.n_adaptive = (
            int(np.count_nonzero(self.freqs <= float(max_freq))) // self.group * self.group
        )
        self.last_weights: dict[int, np.ndarray] = {}
        self.last_gains: dict[int, np.ndarray] = {}
        self.last_ranges: dict[int, float] = {}  # "near": each track's range (m) this block
        self._fw: dict[int, tuple[np.ndarray, float]] = {}
        self._steer: dict[tuple[float, float, float], np.ndarray] = {}
        self._outers: dict[tuple[float, float, float], np.ndarray] = {}  # see _outer
        self.refresh = int(refresh)
        self.refresh_deg = float(refresh_deg)
        M, Fg = geometry.n_mics, self.n_adaptive // self.group
        self._ids: list[int] = []  # the tracks of the stacks below, in order
        self._dirs = np.zeros((0, 2))  # the directions of the last redesign of every bin
        self._fresh = True
        self._block = 0
        self._power = np.zeros(M)  # each channel's recent power (live_channels)
        self.steered = np.ones(M, dtype=bool)  # the channels the weights steer (see process)
        self.live = np.ones(M, dtype=bool)  # ... of which those not dead (live_channels)
        self._W = np.zeros((0, self.freqs.size, M), dtype=complex)
        # (K, F_g, M, M) and (K, F_g): each track's unnormalised covariance per group of
        # bins and the weight it holds, both stored divided by `_scale` (the forgetting
        # applied so far, so that a block adds its frames instead of also decaying the
        # whole stack)
        self._R = np.zeros((0, Fg, M, M), dtype=np.complex64)
        self._wsum = np.zeros((0, Fg))
        self._scale = 1.0
        self._synth = StreamingISTFT(fs, nfft=nfft)  # every track's synthesis, stacked
        self._noise: np.ndarray | None = None  # (K, F_a) w^H R w of the last solve
        # (K, F_a) each track's output power smoothed over `leak_memory` at the last frame
        # (NaN: a track new this block, started at its first frame)
        self._smoothed = np.zeros((0, self.n_adaptive))
        # "near": the candidate ranges (m; inf: a plane wave), each track's evidence for
        # each (K, R), forgetting like the covariances, and the bins that weigh it (every
        # fourth adaptive bin from 1.5 kHz: the wavefront's curvature shows at high
        # frequencies)
        self.ranges = np.array([0.25, 0.35, 0.5, 0.7, 1.0, np.inf])
        self._evidence = np.zeros((0, self.ranges.size))
        self._range_bins = np.arange(self.n_adaptive)[self.freqs[: self.n_adaptive] >= 1500.0][::4]
        self.range_every = 4  # blocks: the evidence is a slow statistic; a quarter of the cost

    def steering(self, az: float, el: float, distance: float = np.inf) -> np.ndarray:
        """``(F, M)`` unit-modulus steering vectors toward one direction (on a 0.5 degree
        grid, cached: a track moves a little every block), :func:`arraykit.steering.plane_wave`'s
        (to 1e-14) from the products of two tables of about ``sqrt(F)`` bins each (the bins
        are uniform): a quarter of its cost at 16 microphones and ``F = 513``.

        A finite `distance` (m, from the centroid) gives the spherical wave from that
        point instead (see :meth:`_wave`), the same way."""
        key = self._key(az, el, distance)
        a = self._steer.get(key)
        if a is None:  # bin k = Q h + l: a(k df) = z^(Q h) z^l, z = a(df), two short tables
            Q, H = self._split
            phase, gain = self._wave(np.array([key[:2]]), np.array([distance]))
            step = (2j * np.pi * self.freqs[1]) * phase[0]  # (M,)
            lo = np.exp(np.arange(Q)[:, None] * step)  # (Q, M)
            hi = np.exp((Q * np.arange(H))[:, None] * step)  # (H, M)
            a = (hi[:, None, :] * lo[None, :, :]).reshape(Q * H, -1)[: self.freqs.size]
            if gain is not None:
                a *= gain[0]
            if len(self._steer) > 4096:
                self._steer.clear()
            self._steer[key] = a
        return a

    @staticmethod
    def _key(az: float, el: float, distance: float = np.inf) -> tuple[float, float, float]:
        """The steering cache's key: the direction on a 0.5 degree grid, the range."""
        return (round(az * 2) / 2 % 360.0, round(el * 2) / 2, float(distance))

    def _outer(self, key: tuple[float, float, float]) -> np.ndarray:
        """``(F_g, M, M)`` the soft null of the wave `key` (:meth:`steering`'s): its
        ``a a^H`` averaged over each group's bins, times `nulls` (cached with the steering:
        a still talker's is made once)."""
        O = self._outers.get(key)
        if O is None:
            G, M = self.group, self.geometry.n_mics
            a = self.steering(*key).reshape(-1)[: self.n_adaptive * M]
            Ag = a.reshape(-1, G, M)  # (F_g, G, M)
            O = np.swapaxes(Ag, 1, 2) @ (Ag.conj() * (self.nulls / G))
            if len(self._outers) > 256:
                self._outers.clear()
            self._outers[key] = O
        return O

    def _wave(self, dirs: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Waves from `dirs` ``(G, 2)`` (degrees) at `dist` ``(G,)`` (m, from the
        centroid; inf: a plane wave): the phase per Hz ``(G, M)`` (``a = gain exp(2j pi f
        phase)``) and the gain ``(G, M)`` (None when all are plane waves).

        A plane wave is :func:`arraykit.steering.plane_wave`'s, ``phase = p . u / c``;
        a spherical wave is :func:`arraykit.steering.spherical_wave`'s (delays
        ``(r_m - r_0) / c``, gains ``r_0 / r_m``, written out here: its checks cost ten
        times the arithmetic, and the points, `distance` >= 0.25 m from the centroid,
        are never on a microphone of the arrays it serves), delayed by the plane wave's
        delay at the centroid so that it tends to the plane wave with the distance (the
        same phase reference), its gains scaled to ``sum |a|^2 = M`` (a plane wave's
        norm)."""
        pos, c0 = self._positions, self._centroid
        u = unit_vectors(dirs)  # (G, 3)
        phase = (u @ pos.T) / SPEED_OF_SOUND  # (G, M)
        near = np.isfinite(dist)
        if not near.any():
            return phase, None
        gain = np.ones_like(phase)
        d = dist[near, None]  # r_0
        r = np.linalg.norm(c0 + d[..., None] * u[near, None] - pos, axis=-1)  # (G_n, M)
        phase[near] = ((u[near] @ c0)[:, None] - (r - d)) / SPEED_OF_SOUND
        g = d / r
        gain[near] = g * np.sqrt(g.shape[1] / np.sum(g**2, axis=1, keepdims=True))
        return phase, gain

    def process(
        self,
        X: np.ndarray,
        frame0: int,
        tracks: dict[int, tuple[float, float]],
        left_out: tuple[int, ...] = (),
    ) -> dict[int, np.ndarray]:
        """Outputs of this block's frames for each track: ``{id: samples (T_b * hop,)}``.

        `X` is ``(M, F, T_b)``, its first frame the stream's frame `frame0`; `tracks`
        maps confirmed IDs to ``(azimuth, elevation)``; `left_out`: channels not to steer
        whatever their power (clipping, :attr:`Pipeline`'s). A track seen for the first time
        starts its synthesis here; tracks no longer given are forgotten. The weights
        used, ``(F, M)`` per track, are left in :attr:`last_weights`, and the
        post-filter's gains ``(F, T_b)`` (the output is ``g * w^H x``) in
        :attr:`last_gains`.

        All tracks are done at once (``K`` tracks stacked in every product, in one
        solve and in one synthesis). Each bin's weights are redesigned every `refresh`
        blocks, in turn (on each block every `refresh`-th bin), and all at once when the
        set of tracks changes or a track moves more than `refresh_deg` since the last
        time; the covariances learn every block.
        """
        self.last_weights, self.last_gains, self.last_ranges = {}, {}, {}
        M, _, Tb = X.shape
        # a dead channel (its recent power, LIVE_MEMORY, all zero or 30 dB under the
        # others: a dead microphone, a map pointing at nothing; live_channels) is not steered: MVDR would put the
        # distortionless response through it, where there is no power to minimise, and
        # null the talker on the others (-44 dB on the 6-mic circle); with every channel
        # live nothing changes
        self._power = self._live_alpha**Tb * self._power + np.einsum("mft,mft->m", X, X.conj()).real
        live = live_channels(self._power)
        if left_out:  # read as dead from here on: no weight, no part in any covariance
            X = X.copy()
            X[list(left_out)] = 0
        if not np.array_equal(live, self.live):
            self.live = live  # (a new array: the pipeline's dead_channels event reads it)
        steered = live.copy()
        steered[list(left_out)] = False
        if not np.array_equal(steered, self.steered):
            self.steered, self._fresh = steered.copy(), True  # redesign every bin now
        ids = list(tracks)
        if ids != self._ids:
            self._restack(ids)
        if not ids:
            return {}
        K, Fa, G = len(ids), self.n_adaptive, self.group
        Fg = Fa // G
        near = self.method == "near"
        if near:  # toward each track's point at its likeliest range so far
            # ties (no evidence yet) go to the farthest: a plane wave
            pick = self.ranges.size - 1 - np.argmax(self._evidence[:, ::-1], axis=1)
            self.last_ranges = {k: float(self.ranges[i]) for k, i in zip(ids, pick, strict=True)}
            keys = [self._key(*tracks[k], self.last_ranges[k]) for k in ids]
        else:
            keys = [self._key(*tracks[k]) for k in ids]
        A = np.stack([self.steering(*key) for key in keys])  # (K, F, M)
        if not self.steered.all():
            A = A * self.steered
        outer = (  # each track's soft null toward the others: (K, F_g, M, M)
            np.stack([self._outer(key) for key in keys]) if self.nulls and K > 1 else None
        )
        Xf = X.transpose(1, 0, 2)  # (F, M, T)
        self._noise = None
        if self.method == "das" and not self.postfilter:
            W = A / M
        else:
            Xa, Aa = Xf[:Fa], A[:, :Fa]  # the bins beamformed adaptively
            wt_time, decay = self._frame_weights(Tb)
            energy = np.sum(Xa.real**2 + Xa.imag**2, axis=1)  # (F_a, T)
            P = Aa.conj().transpose(1, 0, 2) @ Xa  # (F_a, K, T)
            P2 = P.real**2 + P.imag**2  # the track's share of the bin: P2 / (M energy)
            floor = (self.coherence_floor * M) * np.maximum(energy, 1e-30)
            # interference bins: another track dominates, or the track does not
            mask = (np.argmax(P2, axis=1)[:, None, :] != np.arange(K)[None, :, None]) | (
                P2 < floor[:, None, :]
            )
            self._scale *= decay
            if self._scale < 1e-9:  # back to the true scale (the single-precision stack
                # would overflow after about 1e-38 / power: 100 s of forgetting in 1 s)
                self._R *= self._scale
                self._wsum *= self._scale
                self._scale = 1.0
            w_fkt = (mask + 1e-3) * (wt_time / self._scale)  # (F_a, K, T)
            # a group's G bins side by side, as G * T frames: (K, F_g, G T) and (F_g, M, G T)
            w_kgt = w_fkt.reshape(Fg, G, K, Tb).transpose(2, 0, 1, 3).reshape(K, Fg, G * Tb)
            X32 = (  # single precision: the products are 3x faster
                Xa.reshape(Fg, G, M, Tb)
                .transpose(0, 2, 1, 3)
                .astype(np.complex64, order="C")
                .reshape(Fg, M, G * Tb)
            )
            self._R += (X32 * w_kgt[:, :, None, :].astype(np.float32)) @ X32.conj().transpose(
                0, 2, 1
            )
            self._wsum += w_kgt.sum(axis=2)
            if near:  # the evidence forgets every block and learns every `range_every`-th
                self._evidence *= decay
                if self._block % self.range_every == 0:
                    self._weigh_ranges(Xa, energy, ~mask, wt_time, [tracks[k] for k in ids])
            dirs = np.array([tracks[k] for k in ids])
            self._block += 1
            if (
                self._fresh
                or self.refresh == 1
                or float(np.max(np.abs((dirs - self._dirs + 180.0) % 360.0 - 180.0)))
                > self.refresh_deg
            ):
                W = A / M  # delay-and-sum above max_freq
                W[:, :Fa], self._noise = self._weights(Aa, self._R, self._wsum, outer)
                self._dirs, self._fresh = dirs, False
            else:  # every refresh-th group, in turn (a copy: the last block's were handed out)
                sel = slice(self._block % self.refresh, Fg, self.refresh)
                W = self._W.copy()
                Ag = Aa.reshape(K, Fg, G, M)[:, sel]
                part = None if outer is None else outer[:, sel]
                Wg = self._weights(Ag.reshape(K, -1, M), self._R[:, sel], self._wsum[:, sel], part)[
                    0
                ]
                W[:, :Fa].reshape(K, Fg, G, M)[:, sel] = Wg.reshape(Ag.shape)
                W[:, Fa:] = A[:, Fa:] / M
            self._W = W
        Y = (W.conj().transpose(1, 0, 2) @ Xf).transpose(1, 0, 2)  # (K, F, T)
        if self.postfilter:
            Ya, Wa = Y[:, :Fa], W[:, :Fa]
            noise = self._noise
            if noise is None:  # w^H R w (every bin's weights were not designed this block)
                RW = self._R @ Wa.reshape(K, Fg, G, M).transpose(0, 1, 3, 2)  # (K, F_g, M, G)
                RW = RW.transpose(0, 1, 3, 2).reshape(K, Fa, M)
                noise = np.einsum("kfm,kfm->kf", Wa.conj(), RW).real
            noise = (noise.reshape(K, Fg, G) / np.maximum(self._wsum, 1e-30)[..., None]).reshape(
                K, Fa
            )
            power = Ya.real**2 + Ya.imag**2  # (K, F_a, T)
            interference = noise[:, :, None]
            # a huge leak (1e308) overflows to inf here: the gain is then its floor, as it
            # should be, without a RuntimeWarning on every block
            with np.errstate(over="ignore"):
                if self.leak and K > 1:
                    interference = interference + self.leak * self._leakage(power)
                g = 1.0 - interference / np.maximum(power, 1e-30)
            g = np.maximum(g, self.gain_floor)  # (K, F_a, T)
            Y[:, :Fa] = Ya * g
            gain = np.ones((K, W.shape[1], Tb))
            gain[:, :Fa] = g
            for k, tid in enumerate(ids):
                self.last_gains[tid] = gain[k]
        y = self._synth.push(Y)  # (K, T * hop)
        out: dict[int, np.ndarray] = {}
        for k, tid in enumerate(ids):
            self.last_weights[tid] = W[k]
            out[tid] = y[k]
        return out

    def _weigh_ranges(
        self,
        Xa: np.ndarray,
        energy: np.ndarray,
        own: np.ndarray,
        wt_time: np.ndarray,
        dirs: list[tuple[float, float]],
    ) -> None:
        """``"near"``: add this block's evidence for each track's candidate ranges: the
        share of each bin the track dominates (`own` ``(F_a, K, T)``) that the wave from
        each candidate point explains, ``|a^H x|^2 / (M |x|^2)``, summed over the frames
        (weights `wt_time`) and the bins `_range_bins`."""
        b = self._range_bins
        if not b.size:  # no adaptive bin from 1.5 kHz (max_freq below it): plane waves
            return
        K = len(dirs)
        R_ = self.ranges.size
        phase, gain = self._wave(np.repeat(np.array(dirs), R_, axis=0), np.tile(self.ranges, K))
        C = np.exp((2j * np.pi * self.freqs[b])[:, None, None] * phase)  # (S, K R, M)
        if gain is not None:
            C *= gain
        C = C.reshape(b.size, K, R_, phase.shape[1])  # (S, K, R, M)
        P = C.conj() @ Xa[b][:, None]  # (S, K, R, T)
        share = (P.real**2 + P.imag**2) / (self.geometry.n_mics * np.maximum(energy[b], 1e-30))[
            :, None, None
        ]
        w = own[b] * wt_time  # (S, K, T)
        self._evidence += np.einsum("skrt,skt->kr", share, w)

    def _leakage(self, power: np.ndarray) -> np.ndarray:
        """``(K, F_a, T)`` the other tracks' leakage into each track's output: the sum of
        their output powers `power` ``(K, F_a, T)``, each smoothed by the first-order
        recursion ``z_t = a z_{t-1} + (1 - a) p_t`` (time constant `leak_memory`) carried
        across blocks, written out for the block's frames as one product:
        ``z_t = a^(t+1) z_{-1} + sum_{s <= t} (1 - a) a^(t-s) p_s``."""
        T = power.shape[2]
        kernel = self._leak_kernels.get(T)
        if kernel is None:
            a, lag = self._leak_alpha, np.arange(T)[:, None] - np.arange(T)[None, :]
            weights = np.where(lag >= 0, (1.0 - a) * a ** np.maximum(lag, 0), 0.0)  # (t, s)
            kernel = self._leak_kernels[T] = (weights.T.copy(), a ** np.arange(1, T + 1))
        start = self._smoothed
        new = np.isnan(start[:, 0])
        start[new] = power[new, :, 0]
        smoothed = power @ kernel[0]
        smoothed += start[..., None] * kernel[1]
        self._smoothed = smoothed[..., -1].copy()
        return smoothed.sum(axis=0, keepdims=True) - smoothed

    def _frame_weights(self, Tb: int) -> tuple[np.ndarray, float]:
        """Each of a block's `Tb` frames' weight (newest ``1 - alpha``) and the decay
        (:func:`~arraykit.beamform.covariance.forgetting_weights`, kept per block length)."""
        got = self._fw.get(Tb)
        if got is None:
            got = self._fw[Tb] = forgetting_weights(self.alpha, Tb)[:2]
        return got

    def _restack(self, ids: list[int]) -> None:
        """The set of tracks changed: keep the covariances and the syntheses of those
        that stay, start the new ones (from this block's frames), forget the others;
        redesign next."""
        M, Fg = self.geometry.n_mics, self.n_adaptive // self.group
        R = np.zeros((len(ids), Fg, M, M), dtype=np.complex64)
        wsum = np.zeros((len(ids), Fg))
        evidence = np.zeros((len(ids), self.ranges.size))
        smoothed = np.full((len(ids), self.n_adaptive), np.nan)
        tail = self._synth.tail
        new_tail = np.zeros((len(ids), self.nfft - self.nfft // 2))
        for k, tid in enumerate(ids):
            if tid in self._ids:
                j = self._ids.index(tid)
                R[k], wsum[k], evidence[k] = self._R[j], self._wsum[j], self._evidence[j]
                smoothed[k] = self._smoothed[j]
                if tail is not None:
                    new_tail[k] = tail[j]
        self._synth.tail = new_tail
        self._R, self._wsum, self._ids, self._evidence = R, wsum, ids, evidence
        self._smoothed = smoothed
        self._dirs, self._fresh = np.zeros((len(ids), 2)), True  # redesign every bin now

    def _weights(
        self, A: np.ndarray, R: np.ndarray, wsum: np.ndarray, outer: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``(K, F, M)`` weights of every track from its steering `A` and unnormalised
        covariance `R` ``(K, F_g, M, M)`` of each group of ``G = F / F_g`` adjacent bins,
        holding weight `wsum` ``(K, F_g)`` (one batched solve, the G bins of a group as G
        right-hand sides of one factorisation), and for MVDR the output power
        ``w^H R w`` ``(K, F)`` (None otherwise). `outer` ``(K, F_g, M, M)``: each track's
        soft null (:meth:`_outer`), added to the other tracks' covariances in proportion
        to their mean diagonal.
        The loading is `loading` times the mean diagonal plus 1e-12 of the normalised
        covariance ``R / wsum``; both weights are invariant to that scale.

        MVDR is solved here rather than through :func:`~arraykit.beamform.mvdr_weights`
        for ``d = a^H (R + delta I)^-1 a``, which it does not return: the post-filter's
        ``w^H R w = 1 / d - delta |w|^2`` then costs no product with ``R``."""
        K, F, M = A.shape
        Fg = R.shape[1]
        G = F // max(Fg, 1)
        if self.method == "das" or not wsum.any():
            return A / M, None
        power = np.einsum("...ii->...", R).real / M  # (K, F_g) the mean diagonal
        delta = self.loading * power + 1e-12 * wsum
        Rl = R.astype(complex)
        Rl.reshape(*R.shape[:-2], M * M)[..., :: M + 1] += delta[..., None]
        if outer is not None:  # soft nulls: the other tracks' a a^H, a group's mean
            others = outer[::-1] if K == 2 else outer.sum(axis=0)[None] - outer
            Rl += power[..., None, None] * others
        if self.method == "lcmv" and 1 < K <= M - 1:
            Rl = np.repeat(Rl, G, axis=1)  # (K, F, M, M)
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
            return W, None
        B = A.reshape(K, Fg, G, M).transpose(0, 1, 3, 2)  # (K, F_g, M, G)
        x = np.linalg.solve(Rl, B).transpose(0, 1, 3, 2).reshape(K, F, M)  # (R + delta I)^-1 a
        d = np.einsum("kfm,kfm->kf", A.conj(), x).real  # a^H x (real, > 0)
        W = x / d[..., None]
        w2 = np.sum(W.real**2 + W.imag**2, axis=-1).reshape(K, Fg, G)
        noise = 1.0 / d - (delta[..., None] * w2).reshape(K, F)
        return W, np.maximum(noise, 0.0)
