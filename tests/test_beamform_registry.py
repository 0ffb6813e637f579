"""The beamformer registry, GEV, RTF by power iteration, and agreement with torchaudio's formulas.

The torchaudio references below are NumPy transcriptions of the formulas in
torchaudio's ``functional.py`` (``_tik_reg``, ``rtf_power``, ``mvdr_weights_rtf``,
``mvdr_weights_souden``); torchaudio itself is not a dependency.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import arraykit as ak
from arraykit.beamform import (
    DEFAULT_LOADING,
    check_covariance,
    design_names,
    estimate_rtf,
    gev_weights,
    mvdr_rtf,
    mvdr_souden,
    mvdr_weights,
)
from arraykit.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
FS = 16000


# ----------------------------------------------------------------- torchaudio references
def _tik_reg(mat, reg=1e-7, eps=1e-8):
    C = mat.shape[-1]
    epsilon = np.trace(mat, axis1=-2, axis2=-1).real[..., None, None] * reg + eps
    return mat + epsilon * np.eye(C)


def _ta_rtf_power(psd_s, psd_n, reference_channel, n_iter=3, diagonal_loading=True, diag_eps=1e-7):
    if diagonal_loading:
        psd_n = _tik_reg(psd_n, reg=diag_eps)
    phi = np.linalg.solve(psd_n, psd_s)
    if isinstance(reference_channel, int):
        rtf = phi[..., reference_channel]
    else:
        rtf = np.einsum("...c,...c->...", phi, reference_channel[..., None, None, :])
    rtf = rtf[..., None]
    if n_iter >= 2:
        for _ in range(n_iter - 2):
            rtf = phi @ rtf
        rtf = psd_s @ rtf
    else:
        rtf = psd_n @ rtf
    return rtf[..., 0]


def _ta_mvdr_rtf(
    rtf, psd_n, reference_channel=None, diagonal_loading=True, diag_eps=1e-7, eps=1e-8
):
    if diagonal_loading:
        psd_n = _tik_reg(psd_n, reg=diag_eps)
    num = np.linalg.solve(psd_n, rtf[..., None])[..., 0]
    den = np.einsum("...d,...d->...", rtf.conj(), num)
    w = num / (den.real[..., None] + eps)
    if reference_channel is not None:
        if isinstance(reference_channel, int):
            scale = rtf[..., reference_channel].conj()
        else:
            scale = np.einsum("...c,...c->...", rtf.conj(), reference_channel[..., None, :])
        w = w * scale[..., None]
    return w


def _ta_mvdr_souden(
    psd_s, psd_n, reference_channel, diagonal_loading=True, diag_eps=1e-7, eps=1e-8
):
    if diagonal_loading:
        psd_n = _tik_reg(psd_n, reg=diag_eps)
    num = np.linalg.solve(psd_n, psd_s)
    ws = num / (np.trace(num, axis1=-2, axis2=-1)[..., None, None] + eps)
    if isinstance(reference_channel, int):
        return ws[..., :, reference_channel]
    return np.einsum("...c,...c->...", ws, reference_channel[..., None, None, :])


def _psd(F, M, rank, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((F, M, rank)) + 1j * rng.standard_normal((F, M, rank))
    return A @ np.swapaxes(A.conj(), -1, -2) / rank


# ----------------------------------------------------------------- registry
def test_readme_register_design_example_runs():
    """The README's register_design block, executed as written (a user-defined design)."""
    text = README.read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "register_design(" in b]
    assert blocks, "README has no register_design example"
    ns: dict = {}
    try:
        exec(compile(blocks[0], "README.md", "exec"), ns)
        assert "y" in ns and np.all(np.isfinite(ns["y"]))
    finally:
        from arraykit.beamform import registry

        registry._REGISTRY.pop("das-tapered", None)


def test_a_registered_design_reaches_every_caller():
    """One registration: beamform, compare_methods, the predictions and the CLI all see it."""
    from arraykit.beamform import BeamDesign, register_design, registry

    def half_das(inputs):
        a = inputs.steering
        return 0.5 * a / np.einsum("...m,...m->...", a.conj(), a).real[..., None]

    register_design("half-das", BeamDesign(needs=frozenset({"steering"}), kernel=half_das))
    try:
        g = ak.ArrayGeometry.linear(4, 0.05)
        x = np.tile(np.random.default_rng(0).standard_normal(8000), (4, 1))  # broadside
        y = ak.beamform.beamform(x, FS, g, (90, 0), method="half-das")
        np.testing.assert_allclose(y, 0.5 * x[0], atol=1e-9)
        scores = ak.beamform.compare_methods(
            x + 0.01, FS, g, (90, 0), target_image=x, methods=("das", "half-das")
        )
        assert [s.method for s in scores] == ["das", "half-das"]
        gain = ak.diagnostics.steering_loss(
            g, [1000.0], method="half-das", look=(90, 0), source=(90, 0)
        )
        assert gain[0] == pytest.approx(20 * np.log10(0.5), abs=1e-9)
        assert "half-das" in design_names()
        # the public lists follow the registry, as ak.doa.METHODS does (they were import-time
        # snapshots of the built-ins)
        assert ak.beamform.METHODS[-1] == "half-das" == ak.diagnostics.METHODS[-1]
        with pytest.raises(ValueError, match="already registered"):
            register_design("half-das", BeamDesign(needs=frozenset({"steering"}), kernel=half_das))
        with pytest.raises(ValueError, match="unknown needs"):
            BeamDesign(needs=frozenset({"magic"}), kernel=half_das)
    finally:
        registry._REGISTRY.pop("half-das", None)


def test_one_default_loading_everywhere():
    """beamform's default is DEFAULT_LOADING in trace mode, the same as the recording diagnosis."""
    g = ak.ArrayGeometry.linear(4, 0.05)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 8000))
    kw = dict(method="mpdr")
    y0 = ak.beamform.beamform(x, FS, g, (60, 0), **kw)
    y1 = ak.beamform.beamform(
        x, FS, g, (60, 0), loading=DEFAULT_LOADING, loading_mode="trace", **kw
    )
    y2 = ak.beamform.beamform(x, FS, g, (60, 0), loading=1e-3, **kw)
    np.testing.assert_array_equal(y0, y1)
    assert not np.allclose(y0, y2)
    X = ak.stft.stft(x, FS)
    f = ak.stft.stft_frequencies(FS, 512)
    w = ak.beamform.weights_for(
        "mpdr", g, f, direction=(60, 0), mixture_cov=ak.beamform.covariance(X)
    )
    np.testing.assert_allclose(
        w,
        ak.beamform.mpdr(
            g, (60, 0), f, ak.beamform.covariance(X), loading=1e-2, loading_mode="trace"
        ),
    )


# ----------------------------------------------------------------- GEV
def test_gev_is_max_snr_and_distortionless_for_a_rank_one_target():
    g = ak.ArrayGeometry.circular(6, 0.05)
    f = np.array([500.0, 1500.0, 3000.0])
    h = ak.beamform.steering_vector(g, f, (40, 0))[:, 0, :]  # (F, M)
    Rn = _psd(3, 6, 12, seed=2) + 0.1 * np.eye(6)
    Rs = 4.0 * h[..., :, None] * h[..., None, :].conj()
    w = gev_weights(Rs + Rn, Rn, ref=2)
    snr = lambda w_: (  # noqa: E731
        np.einsum("fm,fmn,fn->f", w_.conj(), Rs, w_).real
        / np.einsum("fm,fmn,fn->f", w_.conj(), Rn, w_).real
    )
    lam_max = np.array(
        [np.max(np.linalg.eigvals(np.linalg.solve(Rn[i], Rs[i])).real) for i in range(3)]
    )
    np.testing.assert_allclose(snr(w), lam_max, rtol=1e-9)  # the generalised eigenvalue
    w_mvdr = mvdr_weights(h, Rn)
    assert np.all(snr(w) >= snr(w_mvdr) * (1 - 1e-9))
    # white noise: BAN makes the response to the target that of microphone `ref`
    w_white = gev_weights(Rs + np.eye(6), np.eye(6), ref=2)
    np.testing.assert_allclose(np.einsum("fm,fm->f", w_white.conj(), h), h[:, 2], atol=1e-9)


# ----------------------------------------------------------------- RTF power, torchaudio
@pytest.mark.parametrize("n_iter", [1, 2, 3, 5])
def test_rtf_power_matches_torchaudio_formula(n_iter):
    F, M = 5, 4
    Rs, Rn = _psd(F, M, 1, seed=3), _psd(F, M, 8, seed=4)
    u = np.array([0.1, 0.6, 0.3, 0.0])
    for ref, expect in (
        (u, _ta_rtf_power(Rs, Rn, u, n_iter, diagonal_loading=False)),
        (None, _ta_rtf_power(Rs, Rn, 0, n_iter, diagonal_loading=False)),
    ):
        got = estimate_rtf(Rs, Rn, method="power", iterations=n_iter, ref=ref)
        np.testing.assert_allclose(got, expect, rtol=1e-10, atol=1e-12)
    t = _ta_rtf_power(Rs, Rn, 1, n_iter, diagonal_loading=False)
    got = estimate_rtf(Rs, Rn, method="power", iterations=n_iter, ref=1)
    np.testing.assert_allclose(got, t / t[:, 1:2], rtol=1e-10)
    # torchaudio's diag_eps e is our trace-mode loading M * e (plus its 1e-8)
    e = 1e-3
    t = _ta_rtf_power(Rs, Rn, u, n_iter, diag_eps=e)
    got = estimate_rtf(Rs, Rn, method="power", iterations=n_iter, ref=u, loading=M * e)
    np.testing.assert_allclose(got, t, rtol=1e-6)


def test_rtf_power_converges_to_the_gevd_rtf():
    Rs, Rn = _psd(4, 5, 1, seed=5), _psd(4, 5, 10, seed=6)
    h_power = estimate_rtf(Rs, Rn, method="power", iterations=30, ref=0)
    h_gevd = estimate_rtf(Rs, Rn, method="gevd", ref=0)
    np.testing.assert_allclose(h_power, h_gevd, rtol=1e-8)
    with pytest.raises(ValueError, match="iterations=0: must be >= 1"):
        estimate_rtf(Rs, Rn, method="power", iterations=0)
    with pytest.raises(ValueError, match="needs the noise covariance"):
        estimate_rtf(Rs, method="power")


def test_reference_weighting_vector_matches_torchaudio():
    F, M = 6, 4
    Rs, Rn = _psd(F, M, 1, seed=7), _psd(F, M, 9, seed=8)
    h = estimate_rtf(Rs, Rn, method="gevd", ref=0)
    u = np.array([0.25, 0.25, 0.5, 0.0])
    np.testing.assert_allclose(
        mvdr_rtf(h, Rn, ref=u), _ta_mvdr_rtf(h, Rn, u, diagonal_loading=False), rtol=1e-6
    )
    np.testing.assert_allclose(
        mvdr_rtf(h, Rn, ref=2), _ta_mvdr_rtf(h, Rn, 2, diagonal_loading=False), rtol=1e-6
    )
    np.testing.assert_allclose(
        mvdr_souden(Rs, Rn, ref=u), _ta_mvdr_souden(Rs, Rn, u, diagonal_loading=False), rtol=1e-6
    )
    # the response of the vector-referenced MVDR is u^H-weighted: w^H h = sum_m u_m h_m
    w = mvdr_rtf(h, Rn, ref=u)
    np.testing.assert_allclose(np.einsum("fm,fm->f", w.conj(), h), h @ u, rtol=1e-9)
    with pytest.raises(ValueError, match="must be an index or a finite weighting"):
        mvdr_rtf(h, Rn, ref=np.ones(3))


def test_trace_loading_is_torchaudios_diag_eps_times_m():
    """Issue 12 item 22: trace-mode loading is loading * trace / M; torchaudio adds diag_eps * trace."""
    F, M = 5, 6
    Rn = _psd(F, M, 10, seed=9)
    h = _psd(F, M, 1, seed=10)[..., 0]
    lo = 0.05
    ours = mvdr_weights(h, Rn, loading=lo, loading_mode="trace")
    np.testing.assert_allclose(ours, _ta_mvdr_rtf(h, Rn, diag_eps=lo / M), rtol=1e-6)
    assert not np.allclose(ours, _ta_mvdr_rtf(h, Rn, diag_eps=lo), rtol=1e-3)
    assert "no division by M" in mvdr_weights.__doc__


# ----------------------------------------------------------------- hardening
def test_float32_covariance_hermitian_to_its_precision_is_accepted():
    """Issue 12 item 23: a complex64 matrix Hermitian to ~1.3e-8 of its peak (acoular's AIAA CSM)."""
    R = _psd(4, 6, 12, seed=11) + np.eye(6)
    peak = np.abs(R).max()
    skew = np.zeros_like(R)
    skew[:, 0, 1] = 1.3e-8 * peak
    R32 = (R + skew).astype(np.complex64)
    check_covariance("cov", R32)
    g = ak.ArrayGeometry.circular(6, 0.05)
    w = ak.beamform.mvdr(g, (30, 0), [500.0, 1000.0, 2000.0, 3000.0], R32)
    assert np.all(np.isfinite(w))
    with pytest.raises(ValueError, match="is not Hermitian"):
        check_covariance("cov", R + 1e-6 * peak * (skew != 0))  # float64: still 1e-8
    with pytest.raises(ValueError, match="is not Hermitian"):
        check_covariance("cov", (R + 1e-3 * peak * (skew != 0)).astype(np.complex64))


def test_steering_toward_the_array_centre_is_refused(tmp_path, capsys):
    """Issue 12 item 9: a near-field point at the centroid has no direction: a clear error, no NaN."""
    g = ak.load_geometry("respeaker-6mic")
    centre = tuple(g.centroid.tolist())
    with pytest.raises(ValueError, match="sits at the array centre"):
        ak.steering.steering_vector_near(g, [1000.0], centre)
    with pytest.raises(ValueError, match="sits at the array centre"):
        ak.steering.near_field_delays(g, centre)
    x = np.random.default_rng(0).standard_normal((6, 4000))
    with pytest.raises(ValueError, match="sits at the array centre"):
        ak.beamform.beamform(x, FS, g, None, point=centre, method="das")
    with pytest.raises(ValueError, match="sits at the array centre"):
        ak.beamform.mvdr(g, None, [1000.0], np.eye(6)[None], point=centre)
    wav = ak.io.write_audio(tmp_path / "x.wav", x * 0.1, FS)
    out = tmp_path / "o.wav"
    point = ",".join(f"{c:g}" for c in centre)
    code = main(
        ["beamform", str(wav), "--geometry", "respeaker-6mic", "--point", point, "-o", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "sits at the array centre" in err
    assert not out.exists()


def test_steering_toward_a_point_beyond_any_near_field_is_refused(tmp_path, capsys):
    """New-user pass: ``--point 1e300,0,0`` overflowed the distances (numpy warnings) and
    was refused as ``method='das': design returned non-finite weights``; a point farther
    than :data:`arraykit.steering.MAX_RANGE` is refused naming it (its wave is the plane
    wave there), while one at 1e5 m still gives the plane wave's steering to 1e-6."""
    g = ak.load_geometry("respeaker-6mic")
    with pytest.raises(ValueError, match=r"points=.*beyond 1e\+06 m.*give the direction"):
        ak.steering.steering_vector_near(g, [1000.0], (1e300, 0.0, 0.0))
    near = ak.steering.steering_vector_near(g, [1000.0], (1e5, 0.0, 0.0))[0, 0]
    plane = ak.steering.steering_vector(g, [1000.0], [(0.0, 0.0)])[0, 0]
    np.testing.assert_allclose(near, plane, atol=1e-6)
    x = np.random.default_rng(0).standard_normal((6, 4000))
    wav = ak.io.write_audio(tmp_path / "x.wav", x * 0.1, FS)
    out = tmp_path / "o.wav"
    cmd = ["beamform", str(wav), "--geometry", "respeaker-6mic", "--point", "1e300,0,0"]
    code = main([*cmd, "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("arraykit: error: --point=")
    assert "beyond" in err and not out.exists()
