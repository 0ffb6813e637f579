"""DOA methods as registered parts: a user-defined method runs through the whole search.

The README's "Adding a DOA method" block is executed as written; a Capon (MVDR)
spectrum written here is registered and must localise seeded simulated sources with
the search's grids, refinement, near-field points, peaks and counting unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import arraykit as ak
from arraykit.doa import registry
from arraykit.doa.grids import angular_distance
from arraykit.sim import Source, simulate, speech_like

FS = 16000
README = Path(__file__).resolve().parents[1] / "README.md"


def make_capon(stats, K, plan):
    """Capon / MVDR spatial spectrum ``mean_f 1 / (a^H C^-1 a)`` (diagonally loaded)."""
    C = stats.covariance()  # (F, M, M)
    M = C.shape[-1]
    load = 1e-3 * np.trace(C, axis1=1, axis2=2).real[:, None, None] / M
    Ci = np.linalg.inv(C + load * np.eye(M))

    def capon(steering):
        out = np.empty(steering.n_grid)
        for sl, A in steering.chunks():  # (F, Gc, M)
            q = np.einsum("fgm,fmn,fgn->fg", A.conj(), Ci, A).real
            out[sl] = np.mean(1.0 / q, axis=0)
        return out

    return capon


@pytest.fixture
def capon() -> Iterator[str]:
    ak.doa.register_method(
        "capon",
        ak.doa.DOAMethod(make_map=make_capon, needs="covariance", description="Capon / MVDR"),
    )
    yield "capon"
    registry._METHODS.pop("capon", None)  # other tests see the built-in list


def test_readme_example_runs_as_written() -> None:
    text = README.read_text()
    section = text.split("### Adding a DOA method", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    try:
        namespace: dict = {}
        exec(compile(code.group(1), "README.md", "exec"), namespace)
        assert "das" in ak.doa.METHODS and "das" in ak.doa.COV_METHODS
        assert abs(namespace["res"].azimuth[0] - 77.7) < 2.0
    finally:
        registry._METHODS.pop("das", None)
    assert "das" not in ak.doa.METHODS


def test_a_registered_method_localises_with_refinement_counting_and_points(capon) -> None:
    g = ak.load_geometry("respeaker-6mic")
    truth = [(62.7, 0.0), (208.3, 0.0)]
    srcs = [
        Source(speech_like(1.0, FS, seed=1 + i), azimuth=az, distance=1.5)
        for i, (az, _) in enumerate(truth)
    ]
    scene = simulate(g, srcs, FS, rt60=0.2, snr_db=25, seed=4)
    assert capon in ak.doa.METHODS and capon in ak.doa.COV_METHODS

    # one source, ring refined from 1 degree to 0.1 degree
    one = ak.doa.locate(scene.images[0], FS, g, method=capon, resolution=0.1)
    assert abs(one.azimuth[0] - 62.7) < 1.5, one.azimuth
    exhaustive = ak.doa.locate(
        scene.images[0], FS, g, method=capon, grid=ak.doa.grids.azimuth_grid(0.1)
    )
    assert abs(one.azimuth[0] - exhaustive.azimuth[0]) < 0.05  # coarse-to-fine == 3600 points
    assert one.method == "capon" and one.spectrum.shape == (360,)

    # two sources, counted by the SRP-PHAT peaks, found by the Capon map
    two = ak.doa.locate(scene.signals, FS, g, method=capon, num_sources="auto", resolution=0.5)
    assert two.num_sources == 2, two.count_reason
    err = angular_distance(np.sort(two.directions, axis=0), np.array(truth))
    assert err.max() < 3.0, two.directions

    # the same map from a covariance alone (locate_cov) equals it on the same band frames
    X = ak.stft.stft(scene.images[0], FS, nfft=512)
    f = ak.stft.stft_frequencies(FS, nfft=512)
    band = (f >= 300) & (f <= 3500)
    Xb = X[:, band, :]
    cov = np.einsum("mft,nft->fmn", Xb, Xb.conj()) / Xb.shape[2]
    a = ak.doa.locate_stft(X, FS, g, method=capon)
    b = ak.doa.locate_cov(cov, f[band], g, method=capon)
    np.testing.assert_allclose(b.spectrum, a.spectrum, rtol=1e-9)

    # near field: candidate points and point refinement run unchanged
    pts = ak.doa.grids.plane_points((-1.0, 1.0), (-1.0, 1.0), 0.1)
    pts = pts[np.linalg.norm(pts[:, :2], axis=1) > 0.2]
    near = ak.doa.locate(scene.images[0], FS, g, method=capon, points=pts, point_resolution=0.02)
    assert near.positions is not None
    assert abs(near.azimuth[0] - 62.7) < 5.0, near.azimuth


def test_registration_is_validated(capon) -> None:
    ok = registry.get("srp-phat")
    with pytest.raises(ValueError, match=r"name='capon'.*already"):
        ak.doa.register_method("capon", ok)
    with pytest.raises(ValueError, match=r"name='srp-phat'.*already"):
        ak.doa.register_method("srp-phat", ok)
    with pytest.raises(ValueError, match=r"needs='spectra'.*'phat', 'covariance', 'frames'"):
        ak.doa.DOAMethod(make_map=make_capon, needs="spectra", description="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"make_map=.*callable"):
        ak.doa.DOAMethod(make_map=3, needs="phat", description="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"min_bins=0"):
        ak.doa.DOAMethod(make_map=make_capon, needs="phat", description="x", min_bins=0)
    with pytest.raises(ValueError, match=r"description"):
        ak.doa.DOAMethod(make_map=make_capon, needs="phat", description=" ")
    with pytest.raises(ValueError, match=r"method=.*DOAMethod"):
        ak.doa.register_method("mine", make_capon)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"name='Mine'"):
        ak.doa.register_method("Mine", ok)
    # an unknown method names every registered one, the user's included
    g = ak.load_geometry("respeaker-6mic")
    x = np.random.default_rng(0).standard_normal((6, 4000))
    with pytest.raises(ValueError, match=r"method='beam'.*'srp-phat'.*'tdoa-ls'.*'capon'"):
        ak.doa.locate(x, FS, g, method="beam")


def test_a_method_that_needs_frames_is_refused_by_locate_cov() -> None:
    def frames_map(stats, K, plan):
        X = stats.frames()
        return lambda steering: np.zeros(steering.n_grid) + float(np.abs(X).mean())

    ak.doa.register_method(
        "frames-only",
        ak.doa.DOAMethod(make_map=frames_map, needs="frames", description="reads the frames"),
    )
    try:
        assert "frames-only" in ak.doa.METHODS and "frames-only" not in ak.doa.COV_METHODS
        g = ak.load_geometry("respeaker-6mic")
        C = np.tile(np.eye(6, dtype=complex), (3, 1, 1))
        with pytest.raises(ValueError, match=r"method='frames-only'.*needs the STFT frames"):
            ak.doa.locate_cov(C, [500.0, 1000.0, 1500.0], g, method="frames-only")
    finally:
        registry._METHODS.pop("frames-only", None)
