"""DOA kernels: fast against slow references, SRP-PHAT as summed GCC-PHAT, grids, from_tdoa."""

from __future__ import annotations

import numpy as np
import pytest

import arraykit as ak
from arraykit import _cache
from arraykit.doa import from_tdoa, grids
from arraykit.doa._steer import Steering
from arraykit.doa.srp import phat_cross_spectra, srp_phat_map, srp_phat_reference
from arraykit.doa.subspace import (
    covariance,
    music_bins,
    music_reference,
    subspaces,
    tops_map,
    tops_reference,
)
from arraykit.gcc import all_pairs
from arraykit.sim import Source, simulate, speech_like

FS = 16000
NFFT = 256


@pytest.fixture(scope="module")
def band() -> tuple[ak.ArrayGeometry, np.ndarray, np.ndarray]:
    """A small two-source reverberant scene: geometry, band STFT (M, F, T), band freqs."""
    g = ak.ArrayGeometry.circular(5, 0.05)
    scene = simulate(
        g,
        [
            Source(speech_like(0.3, FS, seed=1), azimuth=61.4),
            Source(speech_like(0.3, FS, seed=2), azimuth=200.3),
        ],
        FS,
        rt60=0.2,
        snr_db=20,
        seed=0,
    )
    X = ak.stft.stft(scene.signals, FS, nfft=NFFT)[:, 10:30]
    f = ak.stft.stft_frequencies(FS, NFFT)[10:30]
    return g, X, f


def test_srp_kernels_match_reference(band) -> None:
    g, X, f = band
    grid = grids.azimuth_grid(10.0)
    steer = Steering(g, f, grid, None, 343.0)
    R = phat_cross_spectra(X)
    ref = srp_phat_reference(X, f, g.delays(grid))
    steered = srp_phat_map(R, steer, fs=FS, nfft=NFFT, kernel="steered")
    lookup = srp_phat_map(R, steer, fs=FS, nfft=NFFT, kernel="lookup")
    np.testing.assert_allclose(steered, ref, atol=1e-12)
    np.testing.assert_allclose(lookup, ref, atol=1e-4 * np.ptp(ref))
    assert np.ptp(ref) > 0.05  # a real map, not a constant


def test_srp_lookup_large_grid_path_equals_the_cached_one(band, monkeypatch) -> None:
    """Grids too large to keep their interpolation matrices recompute the indices per
    chunk: the same map."""
    from arraykit.doa import srp

    g, X, f = band
    R = phat_cross_spectra(X)
    for grid in (grids.azimuth_grid(0.5), grids.sphere_grid(3.0)):
        steer = Steering(g, f, grid, None, 343.0)
        kept = srp_phat_map(R, steer, fs=FS, nfft=NFFT, kernel="lookup")
        monkeypatch.setattr(srp, "_TABLE_NNZ", 0)
        monkeypatch.setattr(srp, "_TABLES", _cache.Cache("test.lookup", 16))
        chunked = srp_phat_map(R, steer, fs=FS, nfft=NFFT, kernel="lookup")
        monkeypatch.undo()
        np.testing.assert_allclose(chunked, kept, rtol=0, atol=1e-12)
        steered = srp_phat_map(R, steer, fs=FS, nfft=NFFT, kernel="steered")
        np.testing.assert_allclose(kept, steered, atol=1e-4 * np.ptp(steered))


def test_srp_equals_sum_of_pairwise_gcc_phat() -> None:
    """SRP-PHAT at a direction == mean over pairs of each pair's GCC-PHAT at its model delay.

    A uniform line whose pair delays are whole multiples of 1 / (16 fs) lets the
    pairwise GCC-PHAT be read off its upsampled inverse FFT without interpolation.
    """
    d, interp = 0.04, 16
    g = ak.ArrayGeometry.linear(4, d)
    x = np.random.default_rng(3).standard_normal((4, 4000))
    X = ak.stft.stft(x, FS, nfft=NFFT)
    bins = np.arange(5, 100)
    Xb, f = X[:, bins], ak.stft.stft_frequencies(FS, NFFT)[bins]
    base = np.arange(-5, 6)  # delay between neighbours in units of 1 / (16 fs)
    cos = base * 343.0 / (interp * FS * d)
    grid = np.stack([np.degrees(np.arccos(cos)), np.zeros_like(cos)], axis=1)
    srp = srp_phat_map(
        phat_cross_spectra(Xb),
        Steering(g, f, grid, None, 343.0),
        fs=FS,
        nfft=NFFT,
        kernel="steered",
    )
    pairs = all_pairs(4)
    n_up = interp * NFFT
    total = np.zeros(len(grid))
    for i, j in pairs:
        cross = Xb[i] * np.conj(Xb[j])
        W = np.zeros(n_up // 2 + 1, dtype=complex)
        W[bins] = np.mean(cross / np.abs(cross), axis=1)  # frame-averaged PHAT spectrum
        cc = np.fft.irfft(W, n=n_up) * n_up / 2  # GCC-PHAT at lags k / (16 fs)
        tau = g.delays(grid)
        lag = np.rint((tau[:, i] - tau[:, j]) * FS * interp).astype(int)
        total += cc[lag % n_up]
    np.testing.assert_allclose(srp, total / (len(bins) * len(pairs)), atol=1e-9)


def test_music_and_tops_match_reference(band) -> None:
    g, X, f = band
    grid = grids.azimuth_grid(10.0)
    steer = Steering(g, f, grid, None, 343.0)
    for k in (1, 2, 4):  # signal-subspace (k < M - k) and noise-subspace paths
        _, Es, En = subspaces(covariance(X), k)
        ref = music_reference(X, f, g.delays(grid), k)
        np.testing.assert_allclose(music_bins(Es, En, steer), ref, rtol=1e-6)
    for k in (1, 2, 4):  # TOPS from the signal subspace (k < M - k) and from the noise one
        np.testing.assert_allclose(
            tops_map(X, steer, k), tops_reference(X, f, g.delays(grid), k), rtol=1e-9
        )


@pytest.mark.parametrize("M", [4, 9, 16])
def test_music_signal_form_equals_noise_form(M: int) -> None:
    """``|a|^2 - |E_s^H a|^2 == |E_n^H a|^2``: the two forms of the MUSIC projection agree
    to 1e-10 on random Hermitian covariances, far field and near field."""
    rng = np.random.default_rng(M)
    g = ak.ArrayGeometry.circular(M, 0.05)
    f = np.linspace(300.0, 3500.0, 7)
    Z = rng.standard_normal((7, M, 2 * M)) + 1j * rng.standard_normal((7, M, 2 * M))
    C = Z @ np.conj(Z.transpose(0, 2, 1))
    far = Steering(g, f, grids.azimuth_grid(5.0), None, 343.0)
    near = Steering(g, f, None, rng.uniform(-1.0, 1.0, (40, 3)) + np.array([0.0, 0.0, 2.0]), 343.0)
    for k in sorted({1, 2, M // 2, M - 1}):
        _, Es, En = subspaces(C, k)
        for steer in (far, near):
            noise = music_bins(Es, En, steer, subspace="noise")
            signal = music_bins(Es, En, steer, subspace="signal")
            np.testing.assert_allclose(1.0 / signal, 1.0 / noise, rtol=0, atol=1e-10)


def test_chunked_steering_equals_one_chunk(band, monkeypatch: pytest.MonkeyPatch) -> None:
    from arraykit.doa import _steer

    g, X, f = band
    grid = grids.sphere_grid(8.0)
    R = phat_cross_spectra(X)
    one = srp_phat_map(R, Steering(g, f, grid, None, 343.0), fs=FS, nfft=NFFT, kernel="steered")
    monkeypatch.setattr(_steer, "CHUNK_BYTES", 20 * 5 * 16 * 7)  # 7 grid points a chunk
    monkeypatch.setattr(_steer, "_CACHE", _cache.Cache("test.steering", _steer.CACHE_BYTES))
    many = srp_phat_map(R, Steering(g, f, grid, None, 343.0), fs=FS, nfft=NFFT, kernel="steered")
    np.testing.assert_allclose(many, one, atol=1e-13)


def test_grids() -> None:
    ring = grids.azimuth_grid(1.0)
    assert ring.shape == (360, 2) and ring[1, 0] == 1.0
    sph = grids.sphere_grid(2.0)
    assert abs(len(sph) - 41253 / 4) < 2
    # nearly uniform: nearest-neighbour spacing close to the asked 2 degrees
    from scipy.spatial import cKDTree

    u = ak.geometry.unit_vectors(sph)
    nn, _ = cKDTree(u).query(u, k=2)
    spacing = np.degrees(2 * np.arcsin(nn[:, 1] / 2))
    assert 1.6 < np.median(spacing) < 2.4
    upper = grids.sphere_grid(2.0, hemisphere="upper")
    assert upper[:, 1].min() >= 0 and abs(len(upper) - len(sph) / 2) < 2
    line = grids.layout_grid(ak.ArrayGeometry.linear(4, 0.05), "azimuth", 1.0)
    assert line[0, 0] == 0.0 and line[-1, 0] == 180.0 and len(line) == 181
    planar = grids.layout_grid(ak.ArrayGeometry.circular(4, 0.05), "sphere", 5.0)
    assert planar[:, 1].min() >= 0
    pts = grids.plane_points((0, 1), (0, 2), 0.5)
    assert pts.shape == (15, 3)
    assert grids.angular_distance([0, 90], [180, 90]) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("geometry", "direction"),
    [
        (ak.ArrayGeometry.circular(6, 0.05), (40.0, 25.0)),
        (ak.ArrayGeometry.linear(4, 0.05), (130.0, 0.0)),
        (ak.load_geometry("ps3-eye"), (10.0, 0.0)),
        (ak.ArrayGeometry(np.random.default_rng(0).uniform(-0.1, 0.1, (6, 3))), (250.0, -30.0)),
    ],
)
def test_from_tdoa_inverts_the_model(geometry: ak.ArrayGeometry, direction) -> None:
    pairs = all_pairs(geometry.n_mics)
    tau = geometry.delays(direction)[0]
    taus = tau[pairs[:, 0]] - tau[pairs[:, 1]]
    az, el = from_tdoa(taus, pairs, geometry)
    mirror = geometry.mirror(direction) or direction  # a line reports its searched half-plane
    err = min(grids.angular_distance([az, el], direction), grids.angular_distance([az, el], mirror))
    assert err < 1e-6
    # several at once, and a perturbed set still lands close
    noisy = taus[:, None] + np.random.default_rng(1).normal(0, 1e-6, (len(pairs), 3))
    az3, el3 = from_tdoa(noisy, pairs, geometry)
    assert az3.shape == (3,)
    est = np.stack([az3, el3], 1)
    err3 = np.minimum(grids.angular_distance(est, direction), grids.angular_distance(est, mirror))
    assert np.all(err3 < 5.0)


def test_from_tdoa_bad_input() -> None:
    g = ak.ArrayGeometry.linear(3, 0.05)
    with pytest.raises(ValueError, match=r"taus=.*one delay per pair"):
        from_tdoa([0.0, 0.0], all_pairs(3), g)
    with pytest.raises(ValueError, match=r"pairs=.*0\.\.2"):
        from_tdoa([0.0], [[0, 3]], g)


def test_srp_lookup_by_inverse_fft_on_a_wide_aperture() -> None:
    """A 1.5 m line at 16 kHz needs GCC lags past +-70 samples: the table comes from one
    upsampled inverse FFT per pair instead of the direct sum, and still equals the
    steered map."""
    from arraykit.doa import srp

    g = ak.ArrayGeometry.linear(16, 0.1)
    x = np.random.default_rng(5).standard_normal((16, 8000))
    X = ak.stft.stft(x, FS, nfft=NFFT)[:, 10:113]
    f = ak.stft.stft_frequencies(FS, NFFT)[10:113]
    steer = Steering(g, f, grids.azimuth_grid(2.0, stop=180.0), None, 343.0)
    R = phat_cross_spectra(X)
    assert srp._lookup_table(steer, FS, NFFT).phasors is None  # the inverse-FFT table
    lookup = srp_phat_map(R, steer, fs=FS, nfft=NFFT, kernel="lookup")
    steered = srp_phat_map(R, steer, fs=FS, nfft=NFFT, kernel="steered")
    np.testing.assert_allclose(lookup, steered, atol=1e-3 * np.ptp(steered))


def test_search_caches_are_safe_under_threads() -> None:
    """Plans, steering and lookup tables are shared between calls: searches from
    several threads at once (live tracking beside a user's calls) neither fail nor mix
    results, while the small caches keep evicting."""
    import threading

    from arraykit._cache import Cache

    lru: Cache[int] = Cache("test.lru", 3)
    for k in range(5):
        lru.put(k, k)
    assert len(lru) == 3 and lru.get(0) is None and lru.get(4) == 4

    g = ak.ArrayGeometry.circular(6, 0.05)
    x = np.random.default_rng(2).standard_normal((6, 4000))
    steps = (1.0, 2.0, 3.0, 4.0, 5.0)  # with 4 bands: more lookup tables than are kept
    want = {res: ak.doa.locate(x, FS, g, resolution=res).spectrum for res in steps}
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            for _ in range(30):
                res = float(rng.choice(steps))
                got = ak.doa.locate(x, FS, g, resolution=res, freq_range=(300.0, 3500.0 + seed))
                if seed == 0:
                    np.testing.assert_allclose(got.spectrum, want[res], rtol=0, atol=1e-12)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_clear_caches_empties_every_cache_and_searches_stay_equal() -> None:
    """One cache module holds every kept plan, steering chunk, lookup table, layout grid
    and STFT transform; ``ak.clear_caches()`` empties them all and the next search
    recomputes exactly the same map."""
    g = ak.ArrayGeometry.circular(6, 0.05)
    x = np.random.default_rng(3).standard_normal((6, 4000))
    before = ak.doa.locate(x, FS, g, resolution=0.1, grid="sphere")
    held = _cache.sizes()
    for name in ("doa.plans", "doa.steering", "doa.lookup", "doa.grids", "stft.transforms"):
        assert held.get(name, 0) > 0, (name, held)
    ak.clear_caches()
    assert not any(_cache.sizes().values()), _cache.sizes()
    after = ak.doa.locate(x, FS, g, resolution=0.1, grid="sphere")
    np.testing.assert_array_equal(after.spectrum, before.spectrum)
    np.testing.assert_array_equal(after.directions, before.directions)


def test_tdoa_ls_map_and_solver_match_the_slow_reference() -> None:
    """tdoa-ls: its misfit map equals the slow loop (pair delays from a GCC summed bin by
    bin on a 1/64-sample grid) to a fraction of a sample, and its least-squares direction
    lies at the reference map's best point on a 0.1 degree ring."""
    from arraykit.doa.methods.tdoa_ls import tdoa_ls_reference

    g = ak.load_geometry("respeaker-6mic")
    scene = simulate(g, [Source(speech_like(0.5, FS, seed=5), azimuth=143.3)], FS, seed=2)
    X = ak.stft.stft(scene.signals, FS, nfft=NFFT)
    f = ak.stft.stft_frequencies(FS, nfft=NFFT)
    band = (f >= 300) & (f <= 3500)
    ring = grids.azimuth_grid(0.1)
    res = ak.doa.locate_stft(X, FS, g, nfft=NFFT, method="tdoa-ls", grid=ring)
    ref = tdoa_ls_reference(X[:, band], f[band], FS, g.delays(ring), all_pairs(6))
    np.testing.assert_allclose(res.spectrum, ref, atol=0.01)  # samples; measured 0.002 of 4.7
    assert abs(res.azimuth[0] - ring[np.argmax(ref), 0]) < 0.5, (res.azimuth, ring[np.argmax(ref)])
    assert abs(res.azimuth[0] - 143.3) < 1.0
