"""Covariance estimation: all frames, time ranges, masks, quietest frames, recursive."""

from __future__ import annotations

import numpy as np
import pytest

from arraykit.beamform import (
    RecursiveCovariance,
    apply_weights,
    beamform,
    check_covariance,
    covariance,
    noise_covariance_auto,
)
from arraykit.geometry import ArrayGeometry
from arraykit.stft import frame_times, stft

FS = 16000


@pytest.fixture(scope="module")
def stft3():
    rng = np.random.default_rng(0)
    return stft(rng.standard_normal((3, FS)), FS, nfft=256)


def test_covariance_is_the_frame_average_of_outer_products(stft3):
    X = stft3
    R = covariance(X)
    _M, _F, T = X.shape
    f = 40
    ref = sum(np.outer(X[:, f, t], X[:, f, t].conj()) for t in range(T)) / T
    np.testing.assert_allclose(R[f], ref, rtol=1e-12)
    np.testing.assert_allclose(R, R.conj().transpose(0, 2, 1))
    np.testing.assert_allclose(covariance(X, frames=slice(3, 9)), covariance(X[:, :, 3:9]))


def test_time_range_selects_frames_by_centre(stft3):
    X = stft3
    t = frame_times(FS, X.shape[2], nfft=256)
    sel = (t >= 0.25) & (t <= 0.5)
    np.testing.assert_allclose(
        covariance(X, frames=(0.25, 0.5), fs=FS), covariance(X[:, :, sel]), rtol=1e-12
    )


def test_mask_weights_each_bin(stft3):
    X = stft3
    _M, F, T = X.shape
    mask = np.zeros((F, T))
    mask[:, 5:10] = 2.0
    np.testing.assert_allclose(covariance(X, mask=mask), covariance(X[:, :, 5:10]), rtol=1e-12)


def test_auto_noise_covariance_finds_the_quiet_frames():
    rng = np.random.default_rng(1)
    noise = 0.01 * rng.standard_normal((4, FS))
    loud = rng.standard_normal(FS) * (np.arange(FS) >= FS // 2)
    X_noise = stft(noise, FS, nfft=256)
    X = stft(noise + loud[None, :], FS, nfft=256)
    Rn = noise_covariance_auto(X, fraction=0.3)
    true = covariance(X_noise[:, :, : X.shape[2] // 2 - 2])
    # the loud half is 40 dB above: the estimate stays at the noise level
    ratio = np.trace(Rn, axis1=1, axis2=2).real / np.trace(true, axis1=1, axis2=2).real
    assert np.median(ratio) == pytest.approx(1.0, abs=0.2)
    assert np.max(ratio) < 3.0


def test_recursive_covariance_is_block_size_invariant_and_matches_the_recursion(stft3):
    X = stft3[:, :20, :30]
    M, F, T = X.shape
    a = 0.9
    rc1, rc2 = RecursiveCovariance(F, M, alpha=a), RecursiveCovariance(F, M, alpha=a)
    for t in range(T):
        R1 = rc1.update(X[:, :, t : t + 1])
    for t0 in range(0, T, 7):
        R2 = rc2.update(X[:, :, t0 : t0 + 7])
    np.testing.assert_allclose(R1, R2, rtol=1e-12)
    # the textbook recursion R <- a R + (1 - a) x x^H, normalised by its total weight
    R, wsum = np.zeros((F, M, M), complex), 0.0
    for t in range(T):
        x = X[:, :, t]
        R = a * R + (1 - a) * np.einsum("mf,Mf->fmM", x, x.conj())
        wsum = a * wsum + (1 - a)
    np.testing.assert_allclose(R1, R / wsum, rtol=1e-12)
    np.testing.assert_allclose(rc1.value, R1)
    rc1.reset()
    assert not np.any(rc1.value)
    with pytest.raises(ValueError, match=r"X_block=.*must be \(M, F, T\) = \(3, 20, T\)"):
        rc1.update(X[:2])


def test_streaming_path_reaches_the_offline_weights():
    """Covariance update + weights + apply per block equals the offline result at the end."""
    from arraykit.beamform import mpdr

    g = ArrayGeometry.linear(4, 0.05)
    rng = np.random.default_rng(2)
    X = stft(rng.standard_normal((4, FS // 2)), FS, nfft=256)
    f = np.linspace(0, FS / 2, X.shape[1])
    rc = RecursiveCovariance(X.shape[1], 4, alpha=0.999999)
    for t0 in range(0, X.shape[2], 8):
        R = rc.update(X[:, :, t0 : t0 + 8])
        w = mpdr(g, (90, 0), f, R, loading=1e-3, loading_mode="trace")
        apply_weights(w, X[:, :, t0 : t0 + 8])
    w_off = mpdr(g, (90, 0), f, covariance(X), loading=1e-3, loading_mode="trace")
    np.testing.assert_allclose(w, w_off, rtol=1e-3, atol=1e-6)


def test_bad_segments_and_covariances(stft3):
    X = stft3
    with pytest.raises(ValueError, match=r"frames=\(2.0, 3.0\): lies outside the signal"):
        covariance(X, frames=(2.0, 3.0), fs=FS)
    with pytest.raises(ValueError, match=r"fs=None: a time range"):
        covariance(X, frames=(0.1, 0.2))
    with pytest.raises(ValueError, match=r"frames=.*all zeros"):
        covariance(np.zeros_like(X), frames=(0.1, 0.3), fs=FS)
    with pytest.raises(ValueError, match=r"mask=.*shape \(F, T\)"):
        covariance(X, mask=np.ones(3))
    with pytest.raises(ValueError, match=r"X=.*\(M, F, T\)"):
        covariance(X[0])
    with pytest.raises(ValueError, match=r"R=.*singular.*loading"):
        check_covariance("R", np.ones((2, 3, 3)))
    check_covariance("R", np.ones((2, 3, 3)), loading=1e-3)  # loading makes it usable
    with pytest.raises(ValueError, match=r"weights=.*must be \(F, M\)"):
        apply_weights(np.ones((5, 3)), X)


def test_beamform_rejects_bad_noise_ranges():
    g = ArrayGeometry.linear(3, 0.05)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, FS))
    with pytest.raises(
        ValueError, match=r"noise=\(0.5, 2.0\): lies outside the signal \(0 .. 1.000 s\)"
    ):
        beamform(x, FS, g, (90, 0), method="mvdr", noise=(0.5, 2.0))
    x[:, : FS // 2] = 0.0
    with pytest.raises(ValueError, match=r"noise=.*all zeros"):
        beamform(x, FS, g, (90, 0), method="mvdr", noise=(0.0, 0.4))
    with pytest.raises(ValueError, match=r"method='music'"):
        beamform(x, FS, g, (90, 0), method="music")
    with pytest.raises(ValueError, match=r"signals=.*3 rows"):
        beamform(x[:2], FS, g, (90, 0))
