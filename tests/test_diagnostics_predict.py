"""Predicted target response under steering mismatch: closed forms against numbers."""

from __future__ import annotations

import numpy as np
import pytest

import arraykit as ak
from arraykit.diagnostics import (
    closed_form,
    compare,
    loading_for,
    mismatch,
    parse_range,
    predict,
    steering_loss,
    sweep,
    tolerance,
)

C = 343.0
LINE8 = ak.ArrayGeometry.linear(8, 0.05)
F_HALF = C / (2 * 0.05)  # half-wavelength spacing
LOOK = (70.0, 0.0)  # 20 degrees from broadside (broadside of a line on +x is azimuth 90)
SOURCE = (68.0, 0.0)  # 22 degrees from broadside: a 2 degree steering error


def _coloured_noise(n_freqs: int, m: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    b = rng.normal(size=(n_freqs, m, m)) + 1j * rng.normal(size=(n_freqs, m, m))
    return b @ np.swapaxes(b.conj(), -1, -2) / m + np.eye(m)


# ----------------------------------------------------------------- the issue's example
def test_issue_example_das():
    gain = steering_loss(LINE8, F_HALF, method="das", look=LOOK, source=SOURCE)
    assert gain[0] == pytest.approx(-0.24, abs=0.005)


@pytest.mark.parametrize(("snr", "expected"), [(0, -3.35), (10, -14.74), (20, -33.12)])
def test_issue_example_mpdr(snr, expected):
    gain = steering_loss(LINE8, F_HALF, method="mpdr", look=LOOK, source=SOURCE, snr_db=snr)
    assert gain[0] == pytest.approx(expected, abs=0.005)
    cf = closed_form(LINE8, F_HALF, method="mpdr", look=LOOK, source=SOURCE, snr_db=snr)
    assert cf.gain_db[0] == pytest.approx(expected, abs=0.005)


def test_das_gain_is_dirichlet_kernel():
    freqs = np.linspace(100.0, 6000.0, 40)
    for src in (60.0, 75.0, 89.0):
        got = steering_loss(LINE8, freqs, method="das", look=(90, 0), source=(src, 0))
        psi = 2 * np.pi * freqs * 0.05 * np.cos(np.radians(src)) / C
        dirichlet = np.abs(np.sin(8 * psi / 2) / (8 * np.sin(psi / 2)))
        np.testing.assert_allclose(got, 20 * np.log10(dirichlet), atol=1e-9)


def test_mpdr_white_formula_by_hand():
    freqs = np.array([500.0, 1500.0, 3000.0])
    rho = closed_form(LINE8, freqs, method="das", look=LOOK, source=SOURCE).rho
    for snr_db, loading in [(0.0, 0.0), (10.0, 0.0), (10.0, 3.0), (20.0, 100.0)]:
        snr_eff = 10 ** (snr_db / 10) / (1 + loading)  # sigma_s^2 / (sigma_n^2 + eps)
        expected = np.abs(rho) / (1 + 8 * snr_eff * (1 - np.abs(rho) ** 2))
        got = steering_loss(
            LINE8, freqs, method="mpdr", look=LOOK, source=SOURCE, snr_db=snr_db, loading=loading
        )
        np.testing.assert_allclose(got, 20 * np.log10(expected), atol=1e-9)


# ----------------------------------------------------------------- numbers vs formulas
@pytest.mark.parametrize("method", ["das", "mvdr", "mpdr"])
@pytest.mark.parametrize("coloured", [False, True])
@pytest.mark.parametrize("loading", [0.0, 0.7])
def test_numerical_path_agrees_with_closed_forms(method, coloured, loading):
    freqs = np.linspace(200.0, 4000.0, 15)
    rn = _coloured_noise(freqs.size, 8) if coloured else None
    kw = dict(look=(70, 0), source=(64, 0), snr_db=10.0, noise_cov=rn, loading=loading)
    cf = closed_form(LINE8, freqs, method=method, **kw)
    pr = predict(LINE8, freqs, method=method, **kw)
    np.testing.assert_allclose(pr.gain_db, cf.gain_db, atol=0.01)
    if cf.sinr_db is not None:  # Cox's SINR formulas (no loading)
        np.testing.assert_allclose(pr.sinr_db, cf.sinr_db, atol=0.01)
    assert (cf.sinr_db is None) == (loading > 0 and method != "das")


def test_cox_mpdr_sinr_by_hand():
    freqs = np.array([1000.0, 2500.0])
    rn = _coloured_noise(2, 8, seed=3)
    s2 = 10.0
    pr = predict(
        LINE8, freqs, method="mpdr", look=(70, 0), source=(67, 0), snr_db=10.0, noise_cov=rn
    )
    a = mismatch._steer(LINE8.positions, freqs, (70, 0), C)
    a0 = mismatch._steer(LINE8.positions, freqs, (67, 0), C)
    level = np.real(np.trace(rn, axis1=1, axis2=2)) / 8
    for f in range(2):
        ri = np.linalg.inv(rn[f])
        s0 = s2 * level[f] * np.real(a0[f].conj() @ ri @ a0[f])
        cos2 = abs(a[f].conj() @ ri @ a0[f]) ** 2 / np.real(
            (a[f].conj() @ ri @ a[f]) * (a0[f].conj() @ ri @ a0[f])
        )
        cox = s0 * cos2 / (1 + (2 * s0 + s0**2) * (1 - cos2))
        assert pr.sinr_db[f] == pytest.approx(10 * np.log10(cox), abs=0.01)
        assert pr.sinr_opt_db[f] == pytest.approx(10 * np.log10(s0), abs=0.01)


def test_mvdr_in_white_noise_is_das():
    freqs = np.linspace(200, 4000, 9)
    kw = dict(look=(70, 0), source=(63, 0))
    np.testing.assert_allclose(
        steering_loss(LINE8, freqs, method="mvdr", **kw),
        steering_loss(LINE8, freqs, method="das", **kw),
        atol=1e-9,
    )


def test_no_error_no_loss_for_every_method():
    freqs = np.linspace(200, 4000, 9)
    for method in ("das", "mvdr", "mpdr", "superdirective"):
        g = steering_loss(LINE8, freqs, method=method, look=(70, 0), source=(70, 0), snr_db=20)
        np.testing.assert_allclose(g, 0.0, atol=1e-6)
    g = predict(LINE8, freqs, method="lcmv", look=(70, 0), nulls=[(120, 0)]).gain_db
    np.testing.assert_allclose(g, 0.0, atol=1e-6)


def test_delay_errors_das_closed_form():
    d = np.array([20e-6, 0, -10e-6, 0, 0, 5e-6, 0, 0])
    freqs = np.array([500.0, 2000.0, 4000.0])
    got = predict(LINE8, freqs, method="das", look=LOOK, delay_errors=d).gain_db
    expected = np.abs(np.mean(np.exp(2j * np.pi * freqs[:, None] * d[None, :]), axis=1))
    np.testing.assert_allclose(got, 20 * np.log10(expected), atol=1e-9)


def test_position_errors_monte_carlo_matches_expectation():
    # E|w^H a0|^2 = |chi|^2 + (1 - |chi|^2) / M with chi = exp(-sigma_phi^2 / 2)
    sigma = 0.004
    freqs = np.array([1000.0, 4000.0, 8000.0])
    pr = predict(LINE8, freqs, method="das", look=LOOK, position_std=sigma, n_trials=4000, seed=7)
    sp = 2 * np.pi * freqs * sigma / C
    chi2 = np.exp(-(sp**2))
    expected = chi2 + (1 - chi2) / 8
    np.testing.assert_allclose(pr.gain_db, 10 * np.log10(expected), atol=0.05)
    assert pr.trials_db.shape == (4000, 3)


def test_source_distance_is_a_spherical_wave():
    freqs = np.array([1000.0, 3000.0, 6000.0])
    point = LINE8.centroid + 1.2 * ak.geometry.unit_vectors([(70, 10)])[0]
    a0 = ak.steering.steering_vector_near(LINE8, freqs, point)[:, 0, :]
    w = ak.beamform.delay_and_sum(LINE8, (74, 10), freqs)
    expected = 20 * np.log10(np.abs(np.einsum("fm,fm->f", w.conj(), a0)))
    got = predict(
        LINE8, freqs, method="das", look=(74, 10), source=(70, 10), source_distance=1.2
    ).gain_db
    np.testing.assert_allclose(got, expected, atol=1e-9)
    with pytest.raises(ValueError, match=r"source_distance=-1: must be a finite number > 0"):
        predict(LINE8, freqs, method="das", look=LOOK, source_distance=-1)


def test_position_errors_mpdr_each_trial_follows_the_formula():
    sigma, n, snr_db = 0.003, 50, 10.0
    freqs = np.array([1000.0, 3000.0])
    pr = predict(
        LINE8,
        freqs,
        method="mpdr",
        look=LOOK,
        position_std=sigma,
        n_trials=n,
        seed=3,
        snr_db=snr_db,
    )
    true_pos = LINE8.positions[None] + np.random.default_rng(3).normal(0.0, sigma, (n, 8, 3))
    u = ak.geometry.unit_vectors([LOOK])[0]
    a0 = np.exp(2j * np.pi * freqs[None, :, None] * (true_pos @ u)[:, None, :] / C)  # (E, F, M)
    a = mismatch._steer(LINE8.positions, freqs, LOOK, C)[None]
    rho = np.abs(np.sum(a.conj() * a0, axis=-1)) / 8
    formula = rho / (1 + 8 * 10 ** (snr_db / 10) * (1 - rho**2))  # |a0|^2 = M still holds
    np.testing.assert_allclose(pr.trials_db, 20 * np.log10(formula), atol=1e-9)
    np.testing.assert_allclose(pr.gain_db, 10 * np.log10(np.mean(formula**2, axis=0)), atol=1e-9)
    with pytest.raises(ValueError, match=r"method='lcmv': must be one of 'mpdr', 'mvdr'"):
        loading_for(LINE8, freqs, source=LOOK, error=2, snr_db=10, method="lcmv")


# ----------------------------------------------------------------- registry vs reference
def _weights_reference(method, a, r, c_mat=None):
    """The slow, obvious weights: one error and one bin at a time, explicit inverses."""
    e_count, f_count, m = a.shape
    w = np.empty_like(a)
    for e in range(e_count):
        for f in range(f_count):
            if method == "das":
                w[e, f] = a[e, f] / m
                continue
            ri = np.linalg.inv(r[min(e, r.shape[0] - 1), f])
            if c_mat is None:
                x = ri @ a[e, f]
                w[e, f] = x / (a[e, f].conj() @ x)
            else:
                cc = c_mat[e, f]
                g = np.zeros(cc.shape[1])
                g[0] = 1.0
                w[e, f] = ri @ cc @ np.linalg.inv(cc.conj().T @ ri @ cc) @ g
    return w


@pytest.mark.parametrize("method", ["das", "mvdr", "mpdr", "superdirective", "lcmv"])
def test_registry_kernel_matches_reference(method):
    """The predictions' weights (the registry's design kernels) against per-bin inverses."""
    freqs = np.linspace(1500, 3000, 6)  # the null at 130 deg is resolvable in every bin
    looks = np.array([[70.0 + e, 0.0] for e in (-3, 0, 2, 5)])
    rn = _coloured_noise(6, 8)
    p = mismatch._Problem.build(LINE8, freqs, method, 10.0, rn, 0.1, [(130, 0)], C)
    u = ak.geometry.unit_vectors(looks)
    a = ak.steering.plane_wave(LINE8.positions, freqs, u, c=C).transpose(1, 0, 2)
    a0 = mismatch._steer(LINE8.positions, freqs, (70, 0), C)[None]
    eye = 0.1 * np.eye(8)
    r = {
        "mvdr": (rn + eye)[None],
        "lcmv": (rn + eye)[None],
        "superdirective": (ak.beamform.diffuse_coherence(LINE8, freqs) + eye)[None],
        "mpdr": (rn + eye)[None]
        + p.sigma_s2[None, :, None, None] * a0[..., :, None] * a0[..., None, :].conj(),
    }.get(method)
    c_mat = None
    if method == "lcmv":
        nul = mismatch._steer(LINE8.positions, freqs, (130, 0), C)  # (F, M)
        c_mat = np.concatenate(
            [a[..., None], np.broadcast_to(nul[None, :, :, None], (*a.shape, 1))], -1
        )
    got = p.weights(LINE8, a, a0)
    np.testing.assert_allclose(got, _weights_reference(method, a, r, c_mat), atol=1e-10)


def test_predictions_match_geometry_level_beamformers():
    """The target gain of ak.beamform's own weights, steered wrong, is what we predict."""
    freqs = np.linspace(300, 4000, 8)
    look, src = (70, 0), (65, 0)
    a0 = ak.steering.steering_vector(LINE8, freqs, src)[:, 0, :]
    s2 = 10.0 ** (10 / 10)
    r_mix = s2 * a0[:, :, None] * a0[:, None, :].conj() + np.eye(8)
    rn = _coloured_noise(freqs.size, 8, seed=5)
    weights = {
        "das": (ak.beamform.delay_and_sum(LINE8, look, freqs), {}),
        "mvdr": (ak.beamform.mvdr(LINE8, look, freqs, rn, loading=0.2), dict(noise_cov=rn)),
        "mpdr": (ak.beamform.mpdr(LINE8, look, freqs, r_mix, loading=0.2), {}),
        "superdirective": (ak.beamform.superdirective(LINE8, look, freqs, loading=0.2), {}),
    }
    for method, (w, extra) in weights.items():
        measured = 20 * np.log10(np.abs(np.einsum("fm,fm->f", w.conj(), a0)))
        kw = dict(look=look, source=src, snr_db=10.0, loading=0.2, **extra)
        if method == "mvdr":
            kw["snr_db"] = None
        np.testing.assert_allclose(
            predict(LINE8, freqs, method=method, **kw).gain_db, measured, atol=1e-9
        )


def test_sweep_rows_equal_single_predictions():
    freqs = np.linspace(300, 4000, 7)
    s = sweep(LINE8, freqs, method="mpdr", source=(70, 0), errors=[-4, 0, 1.5], snr_db=5)
    for k, e in enumerate((-4, 0, 1.5)):
        single = steering_loss(
            LINE8, freqs, method="mpdr", look=(70 + e, 0), source=(70, 0), snr_db=5
        )
        np.testing.assert_allclose(s.gain_db[k], single, atol=1e-9)


def test_elevation_sweep_over_a_ring():
    ring = ak.ArrayGeometry.circular(6, 0.05)
    s = sweep(ring, [2000.0], method="das", source=(30, 20), errors=[0, 10], axis="elevation")
    g = steering_loss(ring, [2000.0], method="das", look=(30, 30), source=(30, 20))
    assert s.gain_db[1, 0] == pytest.approx(g[0], abs=1e-9)
    assert s.gain_db[0, 0] == pytest.approx(0.0, abs=1e-9)


# ----------------------------------------------------------------- tolerance, loading
def test_tolerance_das_broadside_half_beamwidth():
    freqs = np.array([1000.0, 2000.0, 3430.0])
    t = tolerance(
        LINE8, freqs, method="das", source=(90, 0), losses_db=(1, 3, 6), step=0.01, max_error=40
    )
    # at broadside psi = 2 pi f d sin(err) / c; |D(psi)|^2 = 10^(-L/10) solved by bisection
    for k, loss in enumerate((1, 3, 6)):
        for j, f in enumerate(freqs):
            lo, hi = 0.0, 40.0
            for _ in range(60):
                mid = (lo + hi) / 2
                psi = 2 * np.pi * f * 0.05 * np.sin(np.radians(mid)) / C
                d = np.sin(4 * psi) / (8 * np.sin(psi / 2))
                lo, hi = (mid, hi) if 20 * np.log10(abs(d)) > -loss else (lo, mid)
            assert t.errors[k, j] == pytest.approx(lo, abs=0.01)


def test_tolerance_mpdr_shrinks_with_snr():
    freqs = np.array([1000.0, 3000.0])
    t0 = tolerance(LINE8, freqs, method="mpdr", source=(70, 0), snr_db=0, losses_db=[3])
    t20 = tolerance(LINE8, freqs, method="mpdr", source=(70, 0), snr_db=20, losses_db=[3])
    assert np.all(t20.errors < t0.errors / 3)


def test_tolerance_nan_when_never_reached():
    t = tolerance(LINE8, [50.0], method="das", source=(90, 0), losses_db=[6], max_error=5, step=0.5)
    assert np.isnan(t.errors[0, 0])


def test_loading_for_matches_white_noise_closed_form():
    freqs = np.array([1000.0, 2000.0, 3430.0])
    adv = loading_for(LINE8, freqs, source=(70, 0), error=2.0, snr_db=20.0, max_loss_db=1.0)
    rho = np.abs(closed_form(LINE8, freqs, method="das", look=(72, 0), source=(70, 0)).rho)
    snr_max = (rho * 10 ** (1 / 20) - 1) / (8 * (1 - rho**2))
    eps_min = 100.0 / snr_max - 1.0  # sigma_s^2 / (1 + eps) <= snr_max
    grid = np.logspace(-3, 6, 91)
    expected = np.array([grid[grid >= e][0] for e in eps_min])
    np.testing.assert_allclose(adv.loading, expected, rtol=1e-12)
    assert np.all(adv.gain_db >= -1.0)
    assert np.all(adv.sinr_db > adv.sinr_unloaded_db)  # robustness pays here


def test_compare_table_orders_methods():
    freqs = np.linspace(1000, 4000, 12)
    cmp = compare(LINE8, freqs, source=(70, 0), error=2.0, snr_db=10.0)
    assert cmp.methods == ("das", "mvdr", "mpdr", "superdirective", "lcmv", "gev")
    assert np.all(np.abs(cmp.gain_db[5]) < 0.05)  # GEV is blind: no steering, no steering loss
    das, mpdr = cmp.gain_db[0], cmp.gain_db[2]
    assert np.all(mpdr < das - 1.0)  # self-cancellation is worse than the mis-aimed lobe
    text = cmp.table()
    assert text.splitlines()[3].startswith("mpdr")
    assert f"{np.mean(mpdr):.2f} dB" in text


# ----------------------------------------------------------------- ranges and bad input
def test_parse_range():
    np.testing.assert_allclose(parse_range("0:10:0.5"), np.arange(21) * 0.5)
    np.testing.assert_allclose(parse_range("-2,0,3"), [-2, 0, 3])
    np.testing.assert_allclose(parse_range("1:1:1"), [1.0])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("5:0:1", r"error='5:0:1': is empty or inverted"),
        ("0:5:0", "is empty or inverted"),
        ("0:nan:1", "NaN or infinite"),
        ("a:b", "START:STOP:STEP"),
        ("1,inf", "NaN or infinite"),
    ],
)
def test_parse_range_rejects(text, match):
    with pytest.raises(ValueError, match=match):
        parse_range(text)


def test_bad_input_messages():
    kw = dict(look=LOOK, source=SOURCE)
    with pytest.raises(ValueError, match=r"snr_db=nan: contains NaN"):
        steering_loss(LINE8, 1000.0, method="mpdr", snr_db=float("nan"), **kw)
    # new-user pass: 1e300 dB overflowed 10**(snr_db/10) (a RuntimeWarning, then NaN)
    for snr in (1e300, [10.0, -5000.0]):
        with pytest.raises(ValueError, match=r"^snr_db=.*lies beyond ±2000 dB"):
            steering_loss(LINE8, [1000.0, 2000.0], method="mpdr", snr_db=snr, **kw)
    with pytest.raises(ValueError, match=r"loading=-1\.0: must be a number >= 0"):
        steering_loss(LINE8, 1000.0, method="mpdr", snr_db=10, loading=-1.0, **kw)
    with pytest.raises(ValueError, match=r"snr_db=None: is needed by method='mpdr'"):
        steering_loss(LINE8, 1000.0, method="mpdr", **kw)
    with pytest.raises(ValueError, match=r"method='beam': must be one of"):
        steering_loss(LINE8, 1000.0, method="beam", **kw)
    with pytest.raises(ValueError, match=r"method='superdirective': has no closed form"):
        closed_form(LINE8, 1000.0, method="superdirective", **kw)
    with pytest.raises(ValueError, match=r"errors=\[\]: must be a non-empty"):
        sweep(LINE8, 1000.0, method="das", source=SOURCE, errors=[])
    with pytest.raises(ValueError, match=r"errors=\[1.0, inf\]: contains NaN"):
        sweep(LINE8, 1000.0, method="das", source=SOURCE, errors=[1.0, np.inf])
    with pytest.raises(ValueError, match=r"nulls=\(\): method='lcmv' needs"):
        predict(LINE8, 1000.0, method="lcmv", look=LOOK)
    with pytest.raises(ValueError, match=r"noise_cov=.*must be Hermitian"):
        predict(LINE8, 1000.0, method="mvdr", look=LOOK, noise_cov=np.triu(np.ones((8, 8))))
    with pytest.raises(ValueError, match=r"delay_errors=.*must have shape \(8,\)"):
        predict(LINE8, 1000.0, method="das", look=LOOK, delay_errors=[0.0, 1e-5])
    with pytest.raises(ValueError, match=r"losses_db=\[0\]: must be losses in dB > 0"):
        tolerance(LINE8, 1000.0, method="das", source=SOURCE, losses_db=[0])
    with pytest.raises(ValueError, match=r"max_loss_db=-1: must be a finite number > 0"):
        loading_for(LINE8, 1000.0, source=SOURCE, error=2, snr_db=10, max_loss_db=-1)
