"""GCC-PHAT: sign, sub-sample accuracy, the all-pairs form, weightings, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import arraykit as ak
from arraykit.gcc import all_pairs, gcc_phat, gcc_phat_pairs
from arraykit.sim import Source, simulate, speech_like

FS = 16000


def _delayed(x: np.ndarray, d: float) -> np.ndarray:
    """`x` delayed by `d` samples (circular, exact band-limited fractional delay)."""
    f = np.fft.rfftfreq(len(x))
    return np.fft.irfft(np.fft.rfft(x) * np.exp(-2j * np.pi * f * d), len(x))


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    return np.random.default_rng(0).standard_normal(8000)


@pytest.mark.parametrize("weighting", ["phat", "scot", "none", "phat-beta"])
@pytest.mark.parametrize("d", [0.37, 3.71, -5.5])
def test_fractional_delay_and_sign(noise: np.ndarray, weighting: str, d: float) -> None:
    tau, cc = gcc_phat(_delayed(noise, d), noise, FS, max_tau=0.001, weighting=weighting)
    assert abs(tau * FS - d) < 0.01  # sig lags ref by d samples -> tau = +d / fs
    assert cc.shape == (2 * 16 * 16 + 1,)
    assert np.argmax(cc) == pytest.approx(16 * 16 + d * 16, abs=1)


def test_interp_one_still_subsample(noise: np.ndarray) -> None:
    tau, _ = gcc_phat(_delayed(noise, 2.3), noise, FS, max_tau=0.001, interp=1)
    assert abs(tau * FS - 2.3) < 0.2  # parabola alone
    tau16, _ = gcc_phat(_delayed(noise, 2.3), noise, FS, max_tau=0.001, interp=16)
    assert abs(tau16 * FS - 2.3) < abs(tau * FS - 2.3)


def test_max_tau_limits_the_search(noise: np.ndarray) -> None:
    tau, cc = gcc_phat(_delayed(noise, 20.0), noise, FS, max_tau=10 / FS)
    assert abs(tau * FS) <= 10.0 + 1e-9
    assert cc.shape == (2 * 16 * 10 + 1,)
    tau, _ = gcc_phat(_delayed(noise, 20.0), noise, FS)
    assert tau * FS == pytest.approx(20.0, abs=0.01)


def test_pairs_equal_the_pairwise_function(noise: np.ndarray) -> None:
    x = np.stack([_delayed(noise, d) for d in (0.0, 1.3, -2.2, 0.7)])
    taus, pairs = gcc_phat_pairs(x, FS, max_tau=0.0008)
    assert pairs.tolist() == all_pairs(4).tolist()
    for p, (i, j) in enumerate(pairs):
        tau, _ = gcc_phat(x[i], x[j], FS, max_tau=0.0008)
        assert taus[p] == pytest.approx(tau, abs=1e-12)
    d = np.array([0.0, 1.3, -2.2, 0.7])
    np.testing.assert_allclose(taus * FS, d[pairs[:, 0]] - d[pairs[:, 1]], atol=0.01)
    # explicit pairs, reversed order flips the sign
    taus_r, _ = gcc_phat_pairs(x, FS, pairs=pairs[:, ::-1], max_tau=0.0008)
    np.testing.assert_allclose(taus_r, -taus, atol=1e-12)


def test_freq_range_keeps_an_out_of_band_coherent_hum_out() -> None:
    """PHAT weighs every bin alike: a weak hum heard at zero lag by both microphones
    (4-7.9 kHz) outvotes a talker band (0.3-3 kHz) of low coherence. Restricting the
    band to the talker's recovers its delay."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(0)
    n, d = 8000, 7
    talk = butter(6, [300, 3000], "bandpass", fs=FS, output="sos")
    src = sosfilt(talk, rng.standard_normal(n + 100))
    hum = 0.03 * sosfilt(
        butter(6, [4000, 7900], "bandpass", fs=FS, output="sos"), rng.standard_normal(n)
    )
    sig = (
        src[100 - d : 100 - d + n] + hum + 1.2 * sosfilt(talk, rng.standard_normal(n))
    )  # lags by d
    ref = src[100 : 100 + n] + hum + 1.2 * sosfilt(talk, rng.standard_normal(n))
    tau_all, _ = gcc_phat(sig, ref, FS, max_tau=0.002)
    tau_band, _ = gcc_phat(sig, ref, FS, max_tau=0.002, freq_range=(300, 3000))
    assert abs(tau_all * FS) < 0.5  # the hum wins
    assert abs(tau_band * FS - d) < 0.2
    taus, _ = gcc_phat_pairs(np.stack([sig, ref]), FS, max_tau=0.002, freq_range=(300, 3000))
    assert taus[0] == pytest.approx(tau_band, abs=1e-12)


def test_framewise_delays(noise: np.ndarray) -> None:
    x = np.stack([noise, _delayed(noise, 2.5)])
    taus, _ = gcc_phat_pairs(x, FS, frame_length=512, max_tau=0.001)
    assert taus.shape == (1, ak.stft.stft(x, FS, nfft=512).shape[2])
    # interior frames (edge frames are half empty)
    assert np.max(np.abs(taus[0, 2:-2] * FS + 2.5)) < 0.1


def test_simulated_room_delays_match_geometry() -> None:
    g = ak.ArrayGeometry.circular(6, 0.0463)
    scene = simulate(
        g,
        [Source(speech_like(1.0, FS, seed=3), azimuth=123.4, distance=2.0)],
        FS,
        snr_db=30,
        seed=1,
    )
    taus, pairs = gcc_phat_pairs(scene.signals, FS, geometry=g)
    model = g.delays(scene.directions[0])[0]
    expected = model[pairs[:, 0]] - model[pairs[:, 1]]
    assert np.max(np.abs(taus - expected)) * FS < 0.1


def test_phat_sharper_than_plain_in_reverb() -> None:
    g = ak.ArrayGeometry.linear(2, 0.2)
    scene = simulate(g, [Source(speech_like(1.0, FS, seed=5), azimuth=50.0)], FS, rt60=0.5, seed=0)
    model = g.delays(scene.directions[0])[0]
    errs = {}
    for w in ("phat", "none"):
        tau, _ = gcc_phat(scene.signals[0], scene.signals[1], FS, max_tau=0.001, weighting=w)
        errs[w] = abs(tau - (model[0] - model[1])) * FS
    assert errs["phat"] < 0.5
    assert errs["phat"] <= errs["none"]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda x: gcc_phat(x, x, 0), r"fs=0: must be a finite number > 0"),
        (lambda x: gcc_phat(x, x, FS, weighting="roth"), r"weighting='roth': must be one of"),
        (lambda x: gcc_phat(x, x, FS, interp=0), r"interp=0"),
        (lambda x: gcc_phat(x, x, FS, max_tau=-1.0), r"max_tau=-1.0"),
        (lambda x: gcc_phat(x, x, FS, weighting="phat-beta", beta=2), r"beta=2"),
        (lambda x: gcc_phat(x[:1], x, FS), r"sig=.*needs >= 2 samples"),
        (lambda x: gcc_phat(np.r_[x, np.nan], x, FS), r"sig=.*NaN"),
        (lambda x: gcc_phat_pairs(np.stack([x, x]), FS, pairs=[[0, 2]]), r"pairs=.*0\.\.1"),
        (lambda x: gcc_phat_pairs(np.stack([x, x]), FS, pairs=[[1, 1]]), r"two different"),
        (
            lambda x: gcc_phat_pairs(
                np.stack([x, x]), FS, geometry=ak.ArrayGeometry.linear(3, 0.1)
            ),
            r"signals=.*3 rows, got 2",
        ),
        (lambda x: gcc_phat_pairs(np.stack([x, x]), FS, frame_length=4), r"frame_length=4"),
        (lambda x: gcc_phat(x, x, FS, freq_range=(3000, 300)), r"freq_range=.*0 < low < high"),
        (lambda x: gcc_phat(x, x, FS, freq_range=(300, 9000)), r"freq_range=.*fs/2 = 8000"),
        (lambda x: gcc_phat(x, x, FS, freq_range=(300, 301)), r"freq_range=.*fewer than 2 bins"),
    ],
)
def test_bad_input(noise: np.ndarray, call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call(noise[:256])
