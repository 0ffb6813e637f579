"""Simulated rooms: the measured target attenuation follows the prediction.

An 8-microphone line (4 cm) hears a speech-like talker at azimuth 70°; each
beamformer is steered 0, 5 or 10° off. The gain its weights apply to the talker is
measured exactly on the clean image (the beamformer is linear) and compared with
:func:`arraykit.diagnostics.predict` fed the per-frequency SNR of the scene.
In the reverberant room the measured quantity is the gain on the direct path (the
anechoic rendering of the same source), and the MPDR prediction gets the covariance
of everything else (reverberant tail + noise) as its noise covariance.
"""

from __future__ import annotations

import numpy as np
import pytest

import arraykit as ak
from arraykit import sim
from arraykit.beamform import covariance, delay_and_sum, mpdr, mvdr, superdirective
from arraykit.diagnostics import diagnose_recording, measure_gain, predict
from arraykit.stft import stft, stft_frequencies

FS = 16000
NFFT = 512
LINE = ak.ArrayGeometry.linear(8, 0.04)
SOURCE = (70.0, 0.0)
FREQS = stft_frequencies(FS, NFFT)
BAND = (FREQS >= 300) & (FREQS <= 4000)


def _scene(rt60: float, snr_db: float, distance: float = 2.0):
    x = sim.speech_like(1.0, FS, seed=1)
    src = [sim.Source(x, *SOURCE, distance=distance)]
    scene = sim.simulate(LINE, src, FS, room_dim=(6, 5, 3), rt60=rt60, snr_db=snr_db, seed=2)
    if rt60 == 0:
        return scene, scene.images[0]
    direct = sim.simulate(LINE, src, FS, room_dim=(6, 5, 3), rt60=0.0).images[0]
    n = scene.signals.shape[1]
    d = np.zeros((LINE.n_mics, n))
    d[:, : min(n, direct.shape[1])] = direct[:, :n]
    return scene, d


def _power(X: np.ndarray) -> np.ndarray:
    return np.real(np.einsum("fmm->f", covariance(X))) / LINE.n_mics


@pytest.fixture(scope="module")
def anechoic():
    scene, target = _scene(0.0, 10.0)
    return scene, target


@pytest.fixture(scope="module")
def reverberant():
    scene, direct = _scene(0.3, 10.0, distance=1.5)
    return scene, direct


def _weights(method, look, X, rn):
    if method == "das":
        return delay_and_sum(LINE, look, FREQS)
    if method == "mvdr":
        return mvdr(LINE, look, FREQS, rn)
    if method == "superdirective":
        return superdirective(LINE, look, FREQS, loading=1e-2)
    return mpdr(LINE, look, FREQS, covariance(X))


# (method, error) -> (tolerance on the band mean, tolerance on the median over bins), dB
ANECHOIC_TOL = {"das": (0.03, 0.03), "mvdr": (0.03, 0.03), "superdirective": (0.03, 0.03)}
ANECHOIC_MPDR_TOL = (0.3, 0.8)


@pytest.mark.parametrize("method", ["das", "mvdr", "superdirective", "mpdr"])
@pytest.mark.parametrize("error", [0.0, 5.0, 10.0])
def test_anechoic_measured_follows_prediction(anechoic, method, error):
    scene, target = anechoic
    X = stft(scene.signals, FS, nfft=NFFT)
    Xt = stft(target, FS, nfft=NFFT)
    Xn = stft(scene.noise, FS, nfft=NFFT)
    rn = covariance(Xn)
    pn = _power(Xn)
    look = (SOURCE[0] + error, 0.0)
    measured = measure_gain(_weights(method, look, X, rn), target, FS, nfft=NFFT)[BAND]
    snr = 10 * np.log10(_power(Xt) / pn)[BAND]
    extra = {"noise_cov": (rn / pn[:, None, None])[BAND]} if method == "mvdr" else {}
    pred = predict(
        LINE,
        FREQS[BAND],
        method=method,
        look=look,
        source=SOURCE,
        source_distance=2.0,
        snr_db=snr,
        loading=1e-2 if method == "superdirective" else 0.0,
        **extra,
    ).gain_db
    tol_mean, tol_median = ANECHOIC_MPDR_TOL if method == "mpdr" else ANECHOIC_TOL[method]
    assert abs(np.mean(measured) - np.mean(pred)) < tol_mean
    assert np.median(np.abs(measured - pred)) < tol_median
    if error == 10.0:  # the loss is real, not a tolerance swallowing everything
        assert np.mean(pred) < -2.0


@pytest.mark.parametrize("error", [0.0, 2.0, 5.0, 10.0])
def test_reverberant_mpdr_direct_path_follows_prediction(reverberant, error):
    scene, direct = reverberant
    X = stft(scene.signals, FS, nfft=NFFT)
    Xd = stft(direct, FS, nfft=NFFT)
    Xr = stft(scene.signals - direct, FS, nfft=NFFT)  # reverberant tail + noise
    pr = _power(Xr)
    look = (SOURCE[0] + error, 0.0)
    measured = measure_gain(mpdr(LINE, look, FREQS, covariance(X)), direct, FS, nfft=NFFT)[BAND]
    pred = predict(
        LINE,
        FREQS[BAND],
        method="mpdr",
        look=look,
        source=SOURCE,
        source_distance=1.5,
        snr_db=10 * np.log10(_power(Xd) / pr)[BAND],
        noise_cov=(covariance(Xr) / pr[:, None, None])[BAND],
    ).gain_db
    assert abs(np.mean(measured) - np.mean(pred)) < 0.3
    assert np.median(np.abs(measured - pred)) < 0.7


def test_reverberant_das_direct_path_is_exactly_predicted(reverberant):
    _, direct = reverberant
    look = (78.0, 0.0)
    measured = measure_gain(delay_and_sum(LINE, look, FREQS), direct, FS, nfft=NFFT)[BAND]
    plane = predict(LINE, FREQS[BAND], method="das", look=look, source=SOURCE).gain_db
    point = predict(
        LINE, FREQS[BAND], method="das", look=look, source=SOURCE, source_distance=1.5
    ).gain_db
    # the direct path at 1.5 m is a curved wave: the point-source prediction nails it,
    # the plane-wave one is off by up to a tenth of a dB
    assert np.median(np.abs(measured - point)) < 0.02
    assert np.max(np.abs(measured - point)) < 0.05
    assert np.max(np.abs(measured - point)) < np.max(np.abs(measured - plane)) < 0.15


# ----------------------------------------------------------------- diagnosing a recording
@pytest.fixture(scope="module")
def loud():
    return _scene(0.0, 20.0, distance=2.0)


def test_diagnose_well_steered_das_passes_the_talker(loud):
    scene, _ = loud
    rep = diagnose_recording(scene.signals, FS, LINE, SOURCE, method="das", locate=False)
    assert abs(rep.band_gain_db) < 0.3
    assert not rep.self_cancellation
    assert rep.suggestions == []


def test_diagnose_a_dead_microphone_as_beamform_designs_it(loud):
    """Fault injection: one microphone all zero made the MPDR and MVDR that diagnose read
    put their distortionless response through it and null the talker, and the report
    said "SELF-CANCELLATION" (``arraykit diagnose`` on the 6-mic circle: 34.5 dB) and
    suggested loading. `beamform` now designs for the live microphones
    (:func:`arraykit.beamform.apply.live_weights`) and diagnose reads the same weights:
    well steered, the gains are those of the intact array within 1.5 dB."""
    scene, _ = loud
    x = scene.signals.copy()
    x[3] = 0.0
    for method in ("mpdr", "mvdr", "das"):
        whole = diagnose_recording(scene.signals, FS, LINE, SOURCE, method=method, locate=False)
        rep = diagnose_recording(x, FS, LINE, SOURCE, method=method, locate=False)
        assert abs(rep.band_gain_db - whole.band_gain_db) < 1.5, method
        assert rep.self_cancellation == whole.self_cancellation, method


def test_diagnose_flags_mpdr_self_cancellation(loud):
    scene, target = loud
    look = (78.0, 0.0)
    rep = diagnose_recording(scene.signals, FS, LINE, look, method="mpdr", locate=False)
    assert rep.self_cancellation
    assert rep.band_excess_db > 8.0
    # the estimate from talker-dominated bins agrees with the exact clean-image gain
    R = covariance(stft(scene.signals, FS))  # weights with the one default loading policy
    w = mpdr(LINE, look, FREQS, R, loading=ak.beamform.DEFAULT_LOADING, loading_mode="trace")
    exact = measure_gain(w, target, FS)
    sel = BAND & np.isfinite(rep.gain_db)
    assert abs(np.mean(rep.gain_db[sel]) - np.mean(exact[sel])) < 2.5
    text = rep.summary()
    assert "SELF-CANCELLATION" in text
    assert any("loading=" in s for s in rep.suggestions)
    assert any("noise-only covariance" in s for s in rep.suggestions)


@pytest.mark.parametrize("k", [1e200, 1e-300])
def test_diagnose_reads_levels_near_the_limits_of_double_alike(loud, k: float):
    """New-user pass: at 1e200 the talker's power overflowed (RuntimeWarning, NaN gains) and
    at 1e-300 the noise covariance vanished ('the selected segment is all zeros'). Every
    figure of the report is a ratio: the recording is read at a peak of 1."""
    scene, _ = loud
    x = scene.signals / np.abs(scene.signals).max()
    for method, locate in (("mpdr", True), ("mvdr", False)):
        ref = diagnose_recording(x, FS, LINE, (78.0, 0.0), method=method, locate=locate)
        rep = diagnose_recording(x * k, FS, LINE, (78.0, 0.0), method=method, locate=locate)
        np.testing.assert_allclose(rep.gain_db, ref.gain_db, atol=1e-9)
        np.testing.assert_allclose(rep.excess_db, ref.excess_db, atol=1e-9)
        assert rep.self_cancellation == ref.self_cancellation
        assert rep.suggestions == ref.suggestions and rep.doa_direction == ref.doa_direction


def test_diagnose_mvdr_with_noise_covariance_does_not_cancel(loud):
    scene, _ = loud
    rep = diagnose_recording(scene.signals, FS, LINE, (78.0, 0.0), method="mvdr", locate=False)
    assert not rep.self_cancellation
    assert rep.band_excess_db < 2.0  # the "auto" noise frames hold a little talker


def test_diagnose_bad_input(loud):
    scene, _ = loud
    with pytest.raises(ValueError, match=r"method='gsc': must be one of"):
        diagnose_recording(scene.signals, FS, LINE, SOURCE, method="gsc")
    with pytest.raises(ValueError, match=r"signals=.*one row per microphone: 8 rows, got 3"):
        diagnose_recording(scene.signals[:3], FS, LINE, SOURCE)
    with pytest.raises(ValueError, match=r"freq_range=\(4000, 300\)"):
        diagnose_recording(scene.signals, FS, LINE, SOURCE, freq_range=(4000, 300))
    with pytest.raises(ValueError, match=r"noise=\(0.5, 9.0\): must be a time range"):
        diagnose_recording(scene.signals, FS, LINE, SOURCE, method="mvdr", noise=(0.5, 9.0))
    with pytest.raises(ValueError, match=r"weights=.*must have shape \(257, 8\)"):
        diagnose_recording(scene.signals, FS, LINE, SOURCE, weights=np.ones((10, 8)))


def test_diagnose_suggests_the_doa_direction(loud):
    scene, _ = loud
    rep = diagnose_recording(scene.signals, FS, LINE, (78.0, 0.0), method="mpdr")
    assert rep.doa_direction is not None
    assert rep.doa_direction[0] == pytest.approx(70.0, abs=2.0)
    assert rep.direction_error == pytest.approx(8.0, abs=2.0)
    assert rep.suggestions[0].startswith("steer at azimuth")
    # the loss predicted for that error is of the size measured
    sel = BAND & np.isfinite(rep.gain_db) & np.isfinite(rep.predicted_gain_db)
    assert np.mean(rep.predicted_gain_db[sel]) < -8.0
    well = diagnose_recording(scene.signals, FS, LINE, SOURCE, method="das")
    assert well.direction_error < 2.0
    assert not any(s.startswith("steer") for s in well.suggestions)
