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
        # new-user pass: named max_tau=8192 (not given: the default window)
        (lambda x: gcc_phat(x, x, FS, interp=10**9), r"^interp=1000000000: one correlation"),
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


# ---------------------------------------------------------------- issue 12, items 5, 6, 14
def test_unequal_lengths_search_every_valid_lag() -> None:
    """A 37-sample piece cut at offset 800 from an 893-sample reference: -800, not +224."""
    from pyroomacoustics.experimental.localization import tdoa

    ref = np.random.default_rng(3).standard_normal(893)
    piece = ref[800:837]
    tau, cc = gcc_phat(piece, ref, FS)
    assert tau * FS == pytest.approx(-800, abs=0.1)
    # pyroomacoustics' tdoa folds its lags at n/2 too (it gives +130 here); on a pair of
    # equal lengths, where it does not fold, the whole-sample peaks agree
    a, b = ref[:800], np.concatenate([np.zeros(150), ref[:650]])
    assert tdoa(b, a, fs=FS) * FS == 150
    assert gcc_phat(b, a, FS)[0] * FS == pytest.approx(150, abs=0.1)
    assert cc.shape == (16 * (892 + 36) + 1,)  # lags -(len(ref)-1) .. len(sig)-1
    # the other way round, and the largest positive lag
    tau, _ = gcc_phat(ref, piece, FS)
    assert tau * FS == pytest.approx(800, abs=0.1)
    tau, _ = gcc_phat(ref[:300], ref[240:], FS, interp=1)
    assert tau * FS == pytest.approx(240, abs=0.1)


@pytest.mark.parametrize(("ns", "nr"), [(37, 893), (893, 37), (500, 500), (64, 1000)])
def test_plain_correlation_is_numpy_correlate_at_every_lag(ns: int, nr: int) -> None:
    rng = np.random.default_rng(ns + nr)
    x, y = rng.standard_normal(ns), rng.standard_normal(nr)
    _, cc = gcc_phat(x, y, FS, weighting="none", interp=1)
    np.testing.assert_allclose(cc, np.correlate(x, y, "full"), atol=1e-9)
    # upsampled: the whole-sample lags keep their values
    _, cc16 = gcc_phat(x, y, FS, weighting="none", interp=16)
    np.testing.assert_allclose(cc16[::16], np.correlate(x, y, "full"), atol=1e-9)
    # a max_tau window is the middle of the same correlation
    _, cw = gcc_phat(x, y, FS, weighting="none", interp=1, max_tau=20 / FS)
    full = np.correlate(x, y, "full")
    zero = nr - 1
    np.testing.assert_allclose(cw, full[zero - 20 : zero + 21], atol=1e-9)


@pytest.mark.parametrize("silent", [np.zeros(1000), np.full(1000, 0.3)])
def test_a_silent_side_has_no_delay(noise: np.ndarray, silent: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"sig=.*is silent.*no delay"):
        gcc_phat(silent, noise[:1000], FS)
    with pytest.raises(ValueError, match=r"ref=.*is silent"):
        gcc_phat(noise[:1000], silent, FS, weighting="none")


@pytest.mark.parametrize(("ks", "kr"), [(1e300, 1e295), (1e-300, 1e-305), (1e100, 1e95)])
def test_levels_near_the_limits_of_double_give_the_same_delays(
    noise: np.ndarray, ks: float, kr: float
) -> None:
    """New-user pass: at 1e200 the silence check's squares overflowed (a RuntimeWarning,
    then NaN spectra) and at 1e-300 they vanished: ``gcc_phat`` said a speaking microphone
    was silent, ``gcc_phat_pairs`` divided by zero. Each side far from 1 is brought to a
    peak of 1 first: PHAT and SCOT see no scale; the plain correlation and PHAT-beta carry
    the product of the two (its ``1 - beta`` power), given back where double holds it, else
    refused in one line."""
    sig, ref = _delayed(noise, 3.71), noise
    for wt, power in (("phat", 0.0), ("scot", 0.0), ("none", 1.0), ("phat-beta", 0.3)):
        tau, cc = gcc_phat(sig, ref, FS, max_tau=0.001, weighting=wt)
        exponent = power * (np.log10(ks) + np.log10(kr))
        if not -290 < np.log10(np.abs(cc).max()) + exponent < 307:
            with pytest.raises(ValueError, match=r"^sig=.*out of the range of double.*'phat'"):
                gcc_phat(sig * ks, ref * kr, FS, max_tau=0.001, weighting=wt)
            continue
        tau_k, cc_k = gcc_phat(sig * ks, ref * kr, FS, max_tau=0.001, weighting=wt)
        assert tau_k == pytest.approx(tau, abs=1e-12) and abs(tau * FS - 3.71) < 0.01
        np.testing.assert_allclose(
            cc_k / 10.0**exponent, cc, rtol=1e-9, atol=1e-9 * np.abs(cc).max()
        )
    x = np.stack([sig, ref, _delayed(noise, -2.0)])
    taus, _ = gcc_phat_pairs(x, FS, max_tau=0.001)
    for wt in ("phat", "none"):
        taus_k, _ = gcc_phat_pairs(x * ks, FS, max_tau=0.001, weighting=wt)
        np.testing.assert_allclose(taus_k, taus, atol=0.01 / FS)
    quiet = x * ks
    quiet[1] = 0.0
    assert ak.gcc.silent_channels(quiet).tolist() == [False, True, False]


def test_pairs_with_a_dead_channel_are_nan() -> None:
    g = ak.ArrayGeometry.circular(4, 0.04)
    scene = simulate(g, [Source(speech_like(0.5, FS, seed=1), azimuth=62.5)], FS, seed=1)
    x = scene.signals.copy()
    x[2] = 0.0
    taus, pairs = gcc_phat_pairs(x, FS, geometry=g)
    dead = (pairs == 2).any(axis=1)
    assert np.isnan(taus[dead]).all() and np.isfinite(taus[~dead]).all()
    assert ak.gcc.silent_channels(x).tolist() == [False, False, True, False]
    per_frame, _ = gcc_phat_pairs(x, FS, geometry=g, frame_length=1024)
    assert np.isnan(per_frame[dead]).all() and np.isfinite(per_frame[~dead]).all()
    # the least-squares direction leaves those pairs out (3 live mics still span the plane)
    az, _ = ak.doa.from_tdoa(taus, pairs, g)
    assert abs((az - 62.5 + 180) % 360 - 180) < 5
    # locate's tdoa-ls (it reported ~185° before): the dead pairs have no delay either
    res = ak.doa.locate(x, FS, g, method="tdoa-ls")
    assert abs((res.azimuth[0] - 62.5 + 180) % 360 - 180) < 5
    assert np.isfinite(res.spectrum).all()  # its misfit map leaves them out too
    with pytest.raises(ValueError, match=r"\(0, 2\).*no delay"):
        ak.doa.from_tdoa(np.where(pairs[:, 0] == 0, np.nan, taus), pairs, g)


def test_long_inputs_run_frame_averaged_in_bounded_memory() -> None:
    """~2 minutes of a pair at 16 kHz: frames, not one 30 M-point correlation."""
    import tracemalloc

    n = 2_000_000
    rng = np.random.default_rng(7)
    ref = rng.standard_normal(n).astype(np.float32)
    sig = np.concatenate([np.zeros(13, np.float32), ref[:-13]])  # lags by 13
    tracemalloc.start()
    tau, cc = gcc_phat(sig, ref, FS)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert tau * FS == pytest.approx(13, abs=0.05)
    assert cc.shape == (2 * 16 * ak.gcc.LONG_WINDOW + 1,)
    assert peak < 150 * 2**20  # the input copies (2 x 16 MB) and a few frames
    taus, _ = gcc_phat_pairs(np.stack([sig, ref]), FS, max_tau=0.01)
    assert taus[0] * FS == pytest.approx(13, abs=0.05)
