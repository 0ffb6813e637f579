"""Beamformer weights against analytic results (exact to rounding) and reference kernels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

import arraykit as ak
from arraykit.beamform import (
    delay_and_sum,
    diffuse_coherence,
    directivity,
    estimate_rtf,
    lcmv,
    lcmv_weights,
    mpdr,
    mvdr,
    mvdr_rtf,
    mvdr_souden,
    mvdr_weights,
    pattern,
    steering_vector,
    superdirective,
    white_noise_gain,
)
from arraykit.beamform.weights import _lcmv_weights_loop, _mvdr_weights_loop

C = 343.0


def random_cov(rng, F, M, rank=None):
    """Hermitian positive-definite matrices (F, M, M)."""
    rank = 2 * M if rank is None else rank
    A = rng.standard_normal((F, M, rank)) + 1j * rng.standard_normal((F, M, rank))
    return A @ A.conj().transpose(0, 2, 1) / rank


def dirichlet(psi, n):
    with np.errstate(invalid="ignore", divide="ignore"):
        val = np.sin(n * psi / 2) / (n * np.sin(psi / 2))
    return np.abs(np.where(np.abs(np.sin(psi / 2)) < 1e-12, 1.0, val))


# ----------------------------------------------------------------------- delay-and-sum


@pytest.mark.parametrize("n", [4, 8, 16])
def test_das_pattern_is_the_dirichlet_kernel(n):
    d = 0.04
    g = ak.ArrayGeometry.linear(n, d)
    freqs = np.array([500.0, 2000.0, 4000.0])
    look = 70.0
    w = delay_and_sum(g, (look, 0), freqs)
    az = np.arange(0.0, 360.0, 0.5)
    B = np.abs(pattern(w, g, freqs, np.stack([az, np.zeros_like(az)], 1)))
    k = 2 * np.pi * freqs / C
    # theta from broadside of a line along x: sin(theta) = cos(azimuth)
    psi = k[:, None] * d * (np.cos(np.radians(az))[None] - np.cos(np.radians(look)))
    np.testing.assert_allclose(B, dirichlet(psi, n), atol=1e-12)


@pytest.mark.parametrize(("n", "expected"), [(4, -11.30), (8, -12.80), (16, -13.15)])
def test_das_first_sidelobe_levels(n, expected):
    g = ak.ArrayGeometry.linear(n, 0.05)
    f = [C / 0.1]  # half-wavelength spacing
    m = ak.beamform.beam_metrics(delay_and_sum(g, (90, 0), f), g, f, (90, 0))
    # the exact first-sidelobe peak of the Dirichlet kernel, found independently
    opt = minimize_scalar(
        lambda p: -dirichlet(np.array(p), n),
        bounds=(2 * np.pi / n, 4 * np.pi / n),
        method="bounded",
        options={"xatol": 1e-12},
    )
    exact = 20 * np.log10(-opt.fun)
    assert m.sidelobe_db[0] == pytest.approx(exact, abs=1e-7)
    assert round(float(m.sidelobe_db[0]), 2) == expected
    # a line array at broadside cannot tell front from back
    assert m.front_to_back_db[0] == pytest.approx(0.0, abs=1e-9)


def test_das_white_noise_gain_is_m_for_any_geometry():
    rng = np.random.default_rng(1)
    g = ak.ArrayGeometry(rng.uniform(-0.1, 0.1, (7, 3)))
    freqs = np.linspace(0, 8000, 33)
    for look in [(0, 0), (123, 40), (300, -70)]:
        w = delay_and_sum(g, look, freqs)
        np.testing.assert_allclose(white_noise_gain(w, g, freqs, look), 7.0, rtol=1e-12)


def test_broadside_das_directivity_with_half_wavelength_spacing_is_n():
    for n in (2, 5, 9):
        g = ak.ArrayGeometry.linear(n, 0.05)
        f = [C / 0.1]
        w = delay_and_sum(g, (90, 0), f)
        assert directivity(w, g, f, (90, 0))[0] == pytest.approx(n, rel=1e-12)


def test_near_field_das_is_distortionless_toward_the_point():
    g = ak.ArrayGeometry.linear(8, 0.03)
    freqs = np.linspace(100, 6000, 20)
    point = np.array([0.1, 0.5, 0.0])
    w = delay_and_sum(g, None, freqs, point=point)
    a = ak.steering.steering_vector_near(g, freqs, point)[:, 0, :]
    np.testing.assert_allclose(np.einsum("fm,fm->f", w.conj(), a), 1.0, atol=1e-12)
    # a far-away point in direction 60 degrees behaves like the far-field beam
    far = 1e5 * np.array([np.cos(np.radians(60)), np.sin(np.radians(60)), 0.0])
    np.testing.assert_allclose(
        delay_and_sum(g, None, freqs, point=far), delay_and_sum(g, (60, 0), freqs), atol=1e-6
    )


# ------------------------------------------------------------------------ superdirective


@pytest.mark.parametrize(("n", "expected"), [(2, 3.997), (3, 8.993), (4, 15.987)])
def test_endfire_superdirective_directivity_tends_to_n_squared(n, expected):
    kd = 0.1
    d = 0.02
    f = [kd * C / (2 * np.pi * d)]
    g = ak.ArrayGeometry.linear(n, d)
    w = superdirective(g, (0, 0), f, loading=0.0)
    D = directivity(w, g, f, (0, 0))[0]
    assert round(float(D), 3) == expected
    # the delay-and-sum directivity at the same kd is far lower
    assert directivity(delay_and_sum(g, (0, 0), f), g, f, (0, 0))[0] < 1.1


def test_superdirective_is_mvdr_against_diffuse_coherence_and_trades_wng():
    g = ak.ArrayGeometry.circular(6, 0.03)
    freqs = np.linspace(100, 4000, 40)
    gamma = diffuse_coherence(g, freqs)
    a = steering_vector(g, freqs, (30, 0))[:, 0, :]
    np.testing.assert_allclose(
        superdirective(g, (30, 0), freqs, loading=1e-3),
        mvdr_weights(a, gamma + 1e-3 * np.eye(6)),
        atol=1e-12,
    )
    floor_db = -5.0
    w = superdirective(g, (30, 0), freqs, loading=1e-8, wng_min_db=floor_db)
    wng_db = 10 * np.log10(white_noise_gain(w, g, freqs, (30, 0)))
    assert np.all(wng_db >= floor_db - 1e-6)
    unconstrained = 10 * np.log10(
        white_noise_gain(superdirective(g, (30, 0), freqs, loading=1e-8), g, freqs, (30, 0))
    )
    active = unconstrained < floor_db
    assert active[:5].all()  # low frequencies need the constraint
    np.testing.assert_allclose(
        wng_db[active], floor_db, atol=1e-4
    )  # smallest loading: on the floor
    np.testing.assert_allclose(wng_db[~active], unconstrained[~active], atol=1e-9)
    D_con = directivity(w, g, freqs, (30, 0))
    D_das = directivity(delay_and_sum(g, (30, 0), freqs), g, freqs, (30, 0))
    assert np.all(D_con >= D_das - 1e-9)  # still at least as directive as delay-and-sum


def test_diffuse_coherence_matches_isotropic_plane_wave_average():
    g = ak.ArrayGeometry.cross(2, 0.04)
    freqs = np.array([300.0, 1500.0, 4000.0])
    # 2-D field: uniform azimuths (trapezoid rule is spectrally exact for periodic integrands)
    az = np.arange(0, 360, 2.0)
    a = steering_vector(g, freqs, np.stack([az, np.zeros_like(az)], 1))
    emp = np.einsum("fgm,fgM->fmM", a, a.conj()) / len(az)
    np.testing.assert_allclose(emp, diffuse_coherence(g, freqs, field="2d"), atol=1e-10)
    # 3-D field: Gauss-Legendre in sin(elevation) times uniform azimuths
    x, wq = np.polynomial.legendre.leggauss(40)
    el = np.degrees(np.arcsin(x))
    dirs = np.array([(a_, e_) for e_ in el for a_ in az])
    wt = np.repeat(wq / 2, len(az)) / len(az)
    a3 = steering_vector(g, freqs, dirs)
    emp3 = np.einsum("g,fgm,fgM->fmM", wt, a3, a3.conj())
    np.testing.assert_allclose(emp3, diffuse_coherence(g, freqs, field="3d"), atol=1e-10)


# ------------------------------------------------------------------------- MVDR family


def test_mvdr_in_white_noise_is_delay_and_sum():
    g = ak.load_geometry("respeaker-6mic")
    freqs = np.linspace(0, 8000, 65)
    R = np.broadcast_to(3.0 * np.eye(g.n_mics), (65, g.n_mics, g.n_mics))
    np.testing.assert_allclose(
        mvdr(g, (200, 10), freqs, R), delay_and_sum(g, (200, 10), freqs), atol=1e-12
    )


def test_batched_kernels_match_the_per_bin_loop_reference():
    rng = np.random.default_rng(3)
    F, M = 17, 6
    R = random_cov(rng, F, M)
    a = rng.standard_normal((F, M)) + 1j * rng.standard_normal((F, M))
    np.testing.assert_allclose(mvdr_weights(a, R), _mvdr_weights_loop(a, R), rtol=1e-9)
    Cm = rng.standard_normal((F, M, 3)) + 1j * rng.standard_normal((F, M, 3))
    gains = np.array([1.0, 0.5j, 0.0])
    np.testing.assert_allclose(
        lcmv_weights(Cm, R, gains), _lcmv_weights_loop(Cm, R, gains), rtol=1e-9, atol=1e-12
    )
    # any leading dimensions
    w2 = mvdr_weights(a.reshape(F, 1, M), R.reshape(F, 1, M, M))
    np.testing.assert_allclose(w2[:, 0], mvdr_weights(a, R))


def test_loading_modes():
    rng = np.random.default_rng(4)
    R = random_cov(rng, 5, 4)
    a = np.exp(1j * rng.uniform(0, 6, (5, 4)))
    tr = np.trace(R, axis1=1, axis2=2).real / 4
    np.testing.assert_allclose(
        mvdr_weights(a, R, loading=0.1, loading_mode="trace"),
        _mvdr_weights_loop(a, R + 0.1 * tr[:, None, None] * np.eye(4)),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        mvdr_weights(a, R, loading=0.1), _mvdr_weights_loop(a, R + 0.1 * np.eye(4)), rtol=1e-10
    )


def test_cox_output_sinr_under_steering_mismatch():
    """Cox (1973): SINR of MVDR and MPDR when the look direction is slightly wrong."""
    rng = np.random.default_rng(5)
    g = ak.ArrayGeometry.linear(8, 0.04)
    freqs = np.linspace(500, 4000, 8)
    F, M = len(freqs), 8
    true_dir, presumed = (80.0, 0.0), (84.0, 0.0)
    a = steering_vector(g, freqs, true_dir)[:, 0, :]
    at = steering_vector(g, freqs, presumed)[:, 0, :]
    ai = steering_vector(g, freqs, (140.0, 0.0))[:, 0, :]
    Rn = 10.0 * np.einsum("fm,fM->fmM", ai, ai.conj()) + random_cov(rng, F, M) * 0.1
    s2 = 2.0
    Rx = Rn + s2 * np.einsum("fm,fM->fmM", a, a.conj())

    def sinr(w):
        sig = s2 * np.abs(np.einsum("fm,fm->f", w.conj(), a)) ** 2
        return sig / np.einsum("fm,fmM,fM->f", w.conj(), Rn, w).real

    Ri_a = np.linalg.solve(Rn, a[..., None])[..., 0]
    Ri_at = np.linalg.solve(Rn, at[..., None])[..., 0]
    sinr0 = s2 * np.einsum("fm,fm->f", a.conj(), Ri_a).real
    cos2 = np.abs(np.einsum("fm,fm->f", a.conj(), Ri_at)) ** 2 / (
        np.einsum("fm,fm->f", a.conj(), Ri_a).real * np.einsum("fm,fm->f", at.conj(), Ri_at).real
    )
    sin2 = 1 - cos2
    cox_mvdr = sinr0 * cos2
    cox_mpdr = sinr0 * cos2 / (1 + (2 * sinr0 + sinr0**2) * sin2)
    np.testing.assert_allclose(sinr(mvdr(g, presumed, freqs, Rn)), cox_mvdr, rtol=1e-8)
    np.testing.assert_allclose(sinr(mpdr(g, presumed, freqs, Rx)), cox_mpdr, rtol=1e-8)
    # with the right direction MPDR equals MVDR
    np.testing.assert_allclose(
        mpdr(g, true_dir, freqs, Rx), mvdr(g, true_dir, freqs, Rn), rtol=1e-8, atol=1e-12
    )
    assert np.all(cox_mpdr < cox_mvdr)  # MPDR suffers more from the mismatch


def test_lcmv_responses():
    g = ak.ArrayGeometry.circular(6, 0.05)
    freqs = np.linspace(300, 4000, 12)
    R = np.broadcast_to(np.eye(6), (12, 6, 6))
    w = lcmv(g, (0, 0), freqs, R, nulls=[(90, 0), (200, 0)])
    B = pattern(w, g, freqs, [(0, 0), (90, 0), (200, 0)])
    np.testing.assert_allclose(B[:, 0], 1.0, atol=1e-10)
    np.testing.assert_allclose(B[:, 1:], 0.0, atol=1e-10)
    w = lcmv(g, (0, 0), freqs, R, nulls=[150], gains=[0.5])
    np.testing.assert_allclose(
        pattern(w, g, freqs, [(0, 0), (150, 0)]), [[1.0, 0.5]] * 12, atol=1e-10
    )


# --------------------------------------------------------- reference-channel MVDR (no geometry)


def souden_reference(psd_s, psd_n, ref):
    """Souden MVDR as torchaudio's test utilities write it (loading handled by the caller)."""
    num = np.linalg.solve(psd_n, psd_s)
    ws = num / np.trace(num, axis1=1, axis2=2)[:, None, None]
    return ws[..., :, ref]


def rtf_mvdr_reference(rtf, psd_n, ref):
    num = np.linalg.solve(psd_n, rtf[..., None])[..., 0]
    den = np.einsum("fd,fd->f", rtf.conj(), num)
    return num / den.real[:, None] * rtf[:, ref, None].conj()


def test_reference_channel_mvdr_matches_torchaudio_formulas():
    rng = np.random.default_rng(6)
    F, M = 9, 4
    h = rng.standard_normal((F, M)) + 1j * rng.standard_normal((F, M))
    Rs = 3.0 * np.einsum("fm,fM->fmM", h, h.conj())
    Rn = random_cov(rng, F, M)
    np.testing.assert_allclose(mvdr_souden(Rs, Rn, ref=2), souden_reference(Rs, Rn, 2), rtol=1e-10)
    np.testing.assert_allclose(mvdr_rtf(h, Rn, ref=1), rtf_mvdr_reference(h, Rn, 1), rtol=1e-10)
    # rank-one speech: Souden equals RTF-MVDR and recovers the reference-mic image exactly
    np.testing.assert_allclose(mvdr_souden(Rs, Rn, ref=1), mvdr_rtf(h, Rn, ref=1), rtol=1e-9)
    np.testing.assert_allclose(np.einsum("fm,fm->f", mvdr_rtf(h, Rn, ref=1).conj(), h), h[:, 1])
    # the RTF estimators recover h / h[ref]
    np.testing.assert_allclose(estimate_rtf(Rs, ref=0), h / h[:, :1], rtol=1e-9)
    np.testing.assert_allclose(
        estimate_rtf(Rs + Rn, Rn, ref=0, method="gevd"), h / h[:, :1], rtol=1e-8
    )
    u = np.array([0.5, 0.5, 0, 0])
    np.testing.assert_allclose(
        mvdr_souden(Rs, Rn, ref=u),
        0.5 * (souden_reference(Rs, Rn, 0) + souden_reference(Rs, Rn, 1)),
    )


# ------------------------------------------------------------------------------ bad input


def test_singular_and_non_hermitian_covariances_explain_themselves():
    g = ak.ArrayGeometry.linear(4, 0.05)
    freqs = np.array([500.0, 1000.0])
    a = steering_vector(g, freqs, (90, 0))[:, 0, :]
    singular = np.einsum("fm,fM->fmM", a, a.conj())  # rank one
    with pytest.raises(ValueError, match=r"noise_cov=.*singular.*loading"):
        mvdr(g, (90, 0), freqs, singular)
    w = mvdr(g, (90, 0), freqs, singular, loading=1e-3, loading_mode="trace")  # loading cures it
    assert np.all(np.isfinite(w))
    bad = singular + np.triu(np.ones((4, 4)), 1)[None] * 0.5
    with pytest.raises(ValueError, match=r"cov=.*not Hermitian"):
        mpdr(g, (90, 0), freqs, bad + np.eye(4))
    with pytest.raises(ValueError, match=r"noise_cov=.*shape \(F, M, M\)"):
        mvdr(g, (90, 0), freqs, np.eye(4))
    with pytest.raises(ValueError, match=r"cov=.*singular"):
        mvdr_weights(a, np.zeros((2, 4, 4)))


def test_bad_look_directions_and_nulls():
    g = ak.ArrayGeometry.linear(4, 0.05)
    freqs = [1000.0]
    R = np.eye(4)[None]
    with pytest.raises(ValueError, match=r"nulls=\(\): is empty"):
        lcmv(g, (60, 0), freqs, R, nulls=())
    with pytest.raises(ValueError, match=r"nulls=.*collides with the look direction"):
        lcmv(g, (60, 0), freqs, R, nulls=[(300, 0)])  # the mirror of 60 for a line along x
    with pytest.raises(ValueError, match=r"direction=None"):
        delay_and_sum(g, None, freqs)
    with pytest.raises(ValueError, match=r"point=.*not both"):
        delay_and_sum(g, (0, 0), freqs, point=(1, 1, 0))
    with pytest.raises(ValueError, match=r"direction=.*elevation"):
        delay_and_sum(g, (0, 120), freqs)
    with pytest.raises(ValueError, match=r"wng_min_db=10.*<= 10 log10"):
        superdirective(g, (0, 0), freqs, wng_min_db=10)
    with pytest.raises(ValueError, match=r"loading_mode='relative'"):
        mvdr(g, (0, 0), freqs, R, loading_mode="relative")


def test_non_numeric_loading_is_one_clear_error() -> None:
    g = ak.load_geometry("respeaker-usb-4mic")
    f = np.array([500.0, 1000.0])
    match = r"loading='abc': must be a number >= 0"
    with pytest.raises(ak.InvalidArgumentError, match=match):
        ak.beamform.superdirective(g, (0.0, 0.0), f, loading="abc")
    with pytest.raises(ak.InvalidArgumentError, match=match):
        ak.beamform.mvdr_weights(np.ones((2, 4)), np.tile(np.eye(4), (2, 1, 1)), loading="abc")
