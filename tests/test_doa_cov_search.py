"""ak.doa.SrpCovSearch: locate_cov's SRP-PHAT search with the steering tabulated once.

It must return locate_cov's own answer (direction, peak power, coarse map) on the
grids it tabulates: a planar array's azimuth ring (the 4 x 4 UMA-16 folds its 120
pairs into 24 baselines) and a line's half plane; other grids go through locate_cov.
"""

from __future__ import annotations

import numpy as np
import pytest

import arraykit as ak


@pytest.mark.parametrize(
    ("name", "fs", "nfft", "grid"),
    [
        ("respeaker-6mic", 16000, 512, "ring"),
        ("uma-16", 48000, 1024, "ring"),
        ("linear-4-40mm", 16000, 512, "arc"),
    ],
)
@pytest.mark.parametrize("precision", ["double", "single"])
def test_srp_cov_search_is_locate_cov(
    name: str, fs: int, nfft: int, grid: str, precision: str
) -> None:
    """Double precision: locate_cov's own numbers. Single (the live front end's): its
    direction and peak power still, the coarse map within 1e-6 (about 2e-7 here)."""
    g = ak.load_geometry(name)
    f = np.fft.rfftfreq(nfft, 1 / fs)
    f = f[(f >= 300) & (f <= 3500)]
    search = ak.doa.SrpCovSearch(g, f, resolution=2.0, coarse=6.0, precision=precision)  # type: ignore[arg-type]
    assert search.fast
    rng = np.random.default_rng(3)
    M = g.n_mics
    for az in rng.uniform(0, 360, 6):  # one plane wave in noise, anywhere
        a = np.exp(-2j * np.pi * f[:, None] * g.delays((az, 0.0)))  # (F, M)
        s = rng.standard_normal((len(f), 1, 6))
        n = rng.standard_normal((len(f), M, 6)) + 1j * rng.standard_normal((len(f), M, 6))
        X = a[:, :, None] * s + 0.7 * n
        R = X @ np.conj(np.swapaxes(X, 1, 2))
        ref = ak.doa.locate_cov(R, f, g, resolution=2.0, coarse=6.0)
        got_az, got_el, power, spec = search(R)
        assert (got_az, got_el) == (float(ref.azimuth[0]), float(ref.elevation[0]))
        assert abs(power - float(ref.power[0])) < 1e-12
        tol = 1e-12 if precision == "double" else 1e-6
        np.testing.assert_allclose(spec, ref.spectrum, rtol=0, atol=tol)
        np.testing.assert_array_equal(search.grid, ref.grid)


def test_srp_cov_search_bad_input_names_the_value() -> None:
    g = ak.load_geometry("respeaker-6mic")
    with pytest.raises(ak.InvalidArgumentError, match="freqs"):
        ak.doa.SrpCovSearch(g, [0.0, 500.0])
    with pytest.raises(ak.InvalidArgumentError, match="geometry"):
        ak.doa.SrpCovSearch("respeaker-6mic", [500.0])  # type: ignore[arg-type]
    # a table that cannot fit is refused before the patches are made (a MemoryError)
    with pytest.raises(ak.InvalidArgumentError, match=r"^resolution=1e-06: would need about"):
        ak.doa.SrpCovSearch(g, np.arange(10, 113) * 31.25, resolution=1e-6, coarse=6.0)
    with pytest.raises(ak.InvalidArgumentError, match="precision"):
        ak.doa.SrpCovSearch(g, [500.0], precision="half")  # type: ignore[arg-type]
    search = ak.doa.SrpCovSearch(g, [500.0, 1000.0])
    with pytest.raises(ak.InvalidArgumentError, match="cov"):
        search(np.eye(6)[None].repeat(3, axis=0))


@pytest.mark.parametrize("seed", [0, 3])
def test_diffuse_height_takes_a_lines_diffuse_field_out_and_leaves_a_talker(seed: int) -> None:
    """A 4-mic 40 mm line: the covariance of 8 frames of a diffuse field (about the front
    end's 0.12 s memory) maps to a peak near broadside like a talker's (0.197 and 0.208
    above the median, measured), which fitting the field out leaves at 0.066 and 0.051;
    a plane wave from 60 degrees keeps its height (0.68 raw, 0.74 with the field fitted
    out, measured)."""
    g = ak.ArrayGeometry.linear(4, 0.04)
    f = np.arange(10, 113) * 31.25
    search = ak.doa.SrpCovSearch(g, f, resolution=2.0, coarse=6.0)
    X = ak.stft.stft(ak.sim.diffuse_noise(g, 16000, 16000, seed=seed), 16000, nfft=512)
    Xs = X[:, 10:113, 5:13]
    field = np.einsum("mft,nft->fmn", Xs, Xs.conj()) / 8
    _, _, p, spec = search(field)
    assert p - np.median(spec) > 0.15  # over the front end's min_height
    assert search.diffuse_height(field, spec) < 0.1
    a = np.exp(-2j * np.pi * f[:, None] * g.delays((60.0, 0.0)))
    wave = a[:, :, None] * a[:, None, :].conj() + 0.01 * np.eye(4)
    _, _, p, spec = search(wave)
    assert search.diffuse_height(wave, spec) > 0.6


def test_diffuse_height_refuses_a_grid_it_has_no_table_for() -> None:
    """A vertical line searches an elevation arc through locate_cov (not :attr:`fast`):
    diffuse_height is refused by name (it raised AttributeError: '_flat_sorted')."""
    p = np.zeros((4, 3))
    p[:, 2] = 0.04 * np.arange(4)
    f = np.arange(10, 113) * 31.25
    search = ak.doa.SrpCovSearch(ak.ArrayGeometry(p), f, resolution=5.0, coarse=10.0)
    assert not search.fast
    R = np.eye(4)[None].repeat(len(f), axis=0) + 0j
    _, _, _, spec = search(R)
    with pytest.raises(ak.InvalidArgumentError, match="needs a ring or an arc grid, not 'arc-el'"):
        search.diffuse_height(R, spec)
