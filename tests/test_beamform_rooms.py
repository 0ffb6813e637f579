"""Closed-loop beamforming in simulated rooms: a talker, a point interferer and sensor noise.

Three arrays (linear, circular, cross) at RT60 0.2, 0.35 and 0.5 s. The beamformer
is linear, so it is applied to the target image and to the interference-plus-noise
separately as well: the SNR improvement is exact; SI-SDR is measured against the
target's reverberant image at microphone 0 with the output aligned to that
microphone. Run with ``-s`` to print the table the README quotes.
"""

from __future__ import annotations

import numpy as np
import pytest

import arraykit as ak
from arraykit.beamform import (
    apply_weights,
    beamform,
    covariance,
    delay_and_sum,
    gev_weights,
    lcmv,
    mpdr,
    mvdr,
    mvdr_souden,
    steering_vector,
    superdirective,
)
from arraykit.metrics import improvement, si_sdr, snr
from arraykit.stft import istft, stft, stft_frequencies

pytest.importorskip("pyroomacoustics", reason="room simulation needs the 'sim' extra")
from arraykit import sim

FS = 16000
GEV_MARGIN_DB = 0.2  # measured 0.38-0.52 dB over the three rooms
LEAD = 0.3  # the target is silent for the first LEAD seconds: a noise-only segment

SETUPS = {
    "linear-8": (ak.ArrayGeometry.linear(8, 0.04), 0.2, 130.0),
    "circular-8": (ak.ArrayGeometry.circular(8, 0.05), 0.35, 150.0),
    "cross-9": (ak.ArrayGeometry.cross(2, 0.04), 0.5, 150.0),
}


@pytest.fixture(scope="module", params=list(SETUPS))
def room(request):
    g, rt60, interferer_az = SETUPS[request.param]
    target = np.concatenate([np.zeros(int(LEAD * FS)), sim.speech_like(0.7, FS, seed=1)])
    scene = sim.simulate(
        g,
        [
            sim.Source(target, azimuth=60.0, distance=1.0),
            sim.Source(sim.speech_like(1.0, FS, seed=2), azimuth=interferer_az, distance=1.2),
        ],
        FS,
        room_dim=(5.0, 4.0, 3.0),
        rt60=rt60,
        snr_db=30.0,
        seed=0,
    )
    return request.param, scene


def evaluate(scene):
    """SNR and SI-SDR improvement (dB) of each method with the true noise covariance."""
    g = scene.geometry
    noise = scene.images[1] + scene.noise
    X, Xs, Xn = (stft(x, FS) for x in (scene.signals, scene.images[0], noise))
    f = stft_frequencies(FS, 512)
    look, null = tuple(scene.directions[0]), tuple(scene.directions[1])
    Rn = covariance(Xn)
    load = {"loading": 1e-3, "loading_mode": "trace"}
    weights = {
        "das": delay_and_sum(g, look, f),
        "superdirective": superdirective(g, look, f, wng_min_db=0.0),
        "mpdr": mpdr(g, look, f, covariance(X), **load),
        "mvdr": mvdr(g, look, f, Rn, **load),
        "lcmv": lcmv(g, look, f, Rn, nulls=[null], **load),
    }
    a0 = steering_vector(g, f, look)[:, 0, 0]  # align outputs with microphone 0
    weights = {k: w * a0.conj()[:, None] for k, w in weights.items()}
    weights["souden"] = mvdr_souden(covariance(Xs), Rn, ref=0, **load)  # oracle speech cov
    # GEV from the mixture and the same noise covariance, output referred to mic 0
    M = g.n_mics
    Rn_loaded = Rn + 1e-3 * np.trace(Rn, axis1=1, axis2=2).real[:, None, None] / M * np.eye(M)
    weights["gev"] = gev_weights(covariance(X), Rn_loaded, ref=0)
    N = scene.signals.shape[1]
    ref = scene.images[0, 0]
    snr_in = snr(ref, noise[0])
    out = {}
    for name, w in weights.items():
        y, ys, yn = (istft(apply_weights(w, Z), FS, length=N) for Z in (X, Xs, Xn))
        out[name] = (snr(ys, yn) - snr_in, improvement(ref, scene.signals[0], y))
    return out


def test_mvdr_and_lcmv_beat_delay_and_sum_against_a_point_interferer(room):
    name, scene = room
    res = evaluate(scene)
    print(f"\n{name} RT60 {scene.rt60} s: method, SNR gain dB, SI-SDR gain dB")
    for k, (d_snr, d_sdr) in res.items():
        print(f"  {k:15s} {d_snr:6.2f} {d_sdr:6.2f}")
    das_snr, das_sdr = res["das"]
    assert res["mvdr"][0] >= das_snr + 8.0
    assert res["lcmv"][0] >= das_snr + 7.0
    assert res["mvdr"][0] >= 10.0
    assert res["mvdr"][1] >= das_sdr + 0.3
    assert res["souden"][1] >= 3.5  # the reference-channel MVDR keeps the mic-0 image best
    assert res["mpdr"][0] > das_snr  # MPDR helps, but its own target leaks into the estimate
    assert res["mvdr"][0] > res["mpdr"][0]


def test_gev_maximises_the_output_snr(room):
    """GEV (max-SNR) beside MVDR on the same covariances: at least MVDR's SNR gain.

    GEV maximises ``w^H R_x w / w^H R_n w`` per bin over all weights, MVDR only over
    those distortionless toward the plane-wave steering, so per bin GEV's SNR is at
    least MVDR's; over the band (SNR of the summed output) the margin is asserted.
    """
    name, scene = room
    res = evaluate(scene)
    print(f"\n{name}: GEV SNR gain {res['gev'][0]:.2f} dB, MVDR {res['mvdr'][0]:.2f} dB")
    assert res["gev"][0] >= res["mvdr"][0] + GEV_MARGIN_DB
    assert res["gev"][0] >= res["das"][0] + 8.0


def test_one_call_beamform_with_a_noise_segment(room):
    """The public path: noise covariance from the silent lead-in, output aligned to mic 0.

    At RT60 0.5 s (the cross) SI-SDR against the reverberant mic-0 image does not
    improve for any method (reverberation dominates the distortion); the SNR gains
    above still hold there. The SI-SDR floors are asserted at RT60 <= 0.35 s.
    """
    name, scene = room
    ref = scene.images[0, 0]
    look = tuple(scene.directions[0])
    y_das = beamform(scene.signals, FS, scene.geometry, look, ref=0)
    y_mvdr = beamform(
        scene.signals, FS, scene.geometry, look, method="mvdr", noise=(0.0, LEAD - 0.02), ref=0
    )
    y_lcmv = beamform(
        scene.signals,
        FS,
        scene.geometry,
        look,
        method="lcmv",
        nulls=[tuple(scene.directions[1])],
        noise=(0.0, LEAD - 0.02),
        ref=0,
    )
    assert y_mvdr.shape == (scene.signals.shape[1],)
    sdr = {k: si_sdr(ref, y) for k, y in [("das", y_das), ("mvdr", y_mvdr), ("lcmv", y_lcmv)]}
    print(f"\n{name} one-call SI-SDR dB: input {si_sdr(ref, scene.signals[0]):.2f}, {sdr}")
    if scene.rt60 <= 0.35:
        assert sdr["mvdr"] >= sdr["das"] + 1.5
        assert sdr["lcmv"] >= sdr["das"] + 1.5
        assert sdr["mvdr"] >= si_sdr(ref, scene.signals[0]) + 1.0


@pytest.mark.parametrize("method", ["das", "superdirective", "mpdr", "mvdr"])
def test_distortionless_beamform_passes_the_look_direction_unchanged(method):
    """A broadside plane wave (identical channels) comes out exactly (perfect reconstruction)."""
    g = ak.ArrayGeometry.linear(6, 0.04)
    rng = np.random.default_rng(0)
    s = rng.standard_normal(8000)
    x = np.tile(s, (6, 1)) + 1e-3 * rng.standard_normal((6, 8000)) * (method == "mvdr")
    y = beamform(x, FS, g, (90, 0), method=method, noise="auto", loading=1e-2)
    tol = 1e-9 if method != "mvdr" else 1e-3
    assert np.max(np.abs(y - x.mean(0))) < tol * np.max(np.abs(s))


def test_levels_near_the_limits_of_double_are_beamformed_alike():
    """New-user pass: MPDR at 1e200 returned NaN (its covariance overflowed) and at 1e-300
    said 'the selected segment is all zeros' (it had vanished). With the default trace
    loading every design is linear in the signals (its weights see no scale): signals
    beyond 2**±60 are beamformed at a peak of 1 and the output scaled back. Absolute
    loading is tied to the signals' units: an output double cannot hold is refused."""
    g = ak.ArrayGeometry.circular(6, 0.05)
    lead = np.concatenate([np.zeros(3200), sim.speech_like(0.3, FS, seed=1)])
    scene = sim.simulate(
        g,
        [sim.Source(lead, azimuth=60.0), sim.Source(sim.speech_like(0.5, FS, seed=2), 200.0)],
        FS,
        rt60=0.2,
        snr_db=30.0,
        seed=0,
    )
    x = scene.signals / np.abs(scene.signals).max()
    for method in ak.beamform.design_names():
        kw = {"noise": (0.0, 0.2), "nulls": [(200.0, 0.0)] if method == "lcmv" else ()}
        if method in ("das", "superdirective", "mpdr"):
            kw.pop("noise")
        y = beamform(x, FS, g, (60.0, 0.0), method=method, **kw)
        for k in (1e200, 1e-300):
            yk = beamform(x * k, FS, g, (60.0, 0.0), method=method, **kw)
            np.testing.assert_allclose(yk / k, y, rtol=1e-7, atol=1e-9 * np.abs(y).max())
    with pytest.raises(ValueError, match=r"^signals=.*loading_mode='absolute'"):
        beamform(x * 1e200, FS, g, (60.0, 0.0), method="mpdr", loading=0.1, loading_mode="absolute")


def test_integer_delay_plane_wave_off_broadside():
    """Endfire plane wave with whole-sample delays: delay-and-sum recovers it (STFT edge effects only)."""
    d = 343.0 / FS  # one sample of travel per spacing
    g = ak.ArrayGeometry.linear(5, d)
    s = np.random.default_rng(1).standard_normal(16000)
    # tau_m = -x_m / c = -(m - 2) samples toward azimuth 0: mic m hears s(t - 2 + m)
    x = np.stack([np.roll(s, 2 - m) for m in range(5)])
    y = beamform(x, FS, g, (0, 0), method="das")
    assert si_sdr(s[100:-100], y[100:-100]) > 30.0
    y_wrong = beamform(x, FS, g, (180, 0), method="das")
    assert si_sdr(s[100:-100], y_wrong[100:-100]) < 0.0


def test_compare_methods_scores_every_method(room):
    """The demo's helper: weights designed from the mixture, scored on the known parts."""
    from arraykit.beamform import compare_methods

    name, scene = room
    look = tuple(scene.directions[0])
    scores = compare_methods(
        scene.signals,
        FS,
        scene.geometry,
        look,
        target_image=scene.images[0],
        noise=(0.0, LEAD - 0.02),
        nulls=[tuple(scene.directions[1])],
    )
    by = {s.method: s for s in scores}
    assert list(by) == ["das", "mvdr", "mpdr", "superdirective", "lcmv", "gev"]
    print(f"\n{name} compare_methods (SNR gain, SI-SDR gain):")
    for s in scores:
        print(f"  {s.method:15s} {s.snr_gain_db:6.2f} {s.si_sdr_gain_db:6.2f}")
    # the noise covariance from a 0.28 s lead-in is not the oracle one, but still clearly helps
    assert by["mvdr"].snr_gain_db >= by["das"].snr_gain_db + 5.0
    assert by["lcmv"].snr_gain_db >= by["das"].snr_gain_db + 5.0
    # blind GEV from the short lead-in: less than MVDR here (see the README), still > DAS
    assert by["gev"].snr_gain_db >= by["das"].snr_gain_db + 3.0
    # consistent with the one-call path
    y = beamform(scene.signals, FS, scene.geometry, look, ref=0)
    assert by["das"].si_sdr_gain_db == pytest.approx(
        improvement(scene.images[0, 0], scene.signals[0], y), abs=1e-9
    )
    no_nulls = compare_methods(
        scene.signals,
        FS,
        scene.geometry,
        look,
        target_image=scene.images[0],
        methods=("das", "lcmv"),
    )
    assert [s.method for s in no_nulls] == ["das"]


def test_a_dead_channel_gets_no_weight_and_costs_nothing_else():
    """Fault injection: one microphone of eight all zero (a dead capsule, a channel map
    pointing at nothing). MVDR and MPDR put their distortionless response through it,
    where there is no power to minimise, and nulled the talker on the others (``arraykit
    beamform`` on the 6-mic circle: -54 and -64 dBFS out against -25 and -29 intact);
    superdirective's supergain weights lost the cancellation they rely on (SI-SDR gain
    -34.7 dB, SNR gain -1.9 dB, against +0.1 and +7.0 intact). Now every design is made
    for the seven live microphones and the dead one gets no weight: each method's gains
    within 0.5 dB of the intact array's (measured within 0.1); one at -120 dB, which
    did the same, too (``live_channels``: more than 30 dB under the others is dead)."""
    from arraykit.beamform import compare_methods

    g = ak.ArrayGeometry.circular(8, 0.05)
    target = np.concatenate([np.zeros(int(LEAD * FS)), sim.speech_like(0.7, FS, seed=1)])
    scene = sim.simulate(
        g,
        [
            sim.Source(target, azimuth=60.0, distance=1.0),
            sim.Source(sim.speech_like(1.0, FS, seed=2), azimuth=150.0, distance=1.2),
        ],
        FS, room_dim=(5.0, 4.0, 3.0), rt60=0.35, snr_db=30.0, seed=0,
    )  # fmt: skip
    scores = {}
    for dead, scale in (((), 1.0), ((3,), 0.0), ((5,), 1e-6)):  # all zero, or at -120 dB
        x, image = scene.signals.copy(), scene.images[0].copy()
        x[list(dead)] *= scale
        image[list(dead)] *= scale
        got = compare_methods(
            x, FS, g, (60.0, 0.0), target_image=image, noise=(0.0, LEAD - 0.02),
            nulls=[(150.0, 0.0)],
        )  # fmt: skip
        scores[dead] = {s.method: (s.snr_gain_db, s.si_sdr_gain_db) for s in got}
    for method, intact in scores[()].items():
        for dead in ((3,), (5,)):
            np.testing.assert_allclose(scores[dead][method], intact, atol=0.5, err_msg=method)
    x = scene.signals.copy()
    x[3] = 0.0
    for method in ("mvdr", "mpdr", "superdirective"):
        y = beamform(x, FS, g, (60.0, 0.0), method=method, noise=(0.0, LEAD - 0.02))
        full = beamform(scene.signals, FS, g, (60.0, 0.0), method=method, noise=(0.0, LEAD - 0.02))
        assert abs(10 * np.log10(np.mean(y**2) / np.mean(full**2))) < 1.0, method
