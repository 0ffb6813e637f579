"""Closed-loop DOA accuracy on simulated rooms, and against pyroomacoustics on the same scenes.

Methods × arrays (linear, circular, rectangular, cross) × conditions (anechoic;
RT60 0.3 s / SNR 20 dB; RT60 0.6 s / SNR 10 dB), speech-like sources at off-grid
azimuths, one and two sources. One room simulation per array and condition renders
two sources; their separate images make two single-source scenes and their sum a
two-source scene (the noise is drawn per scene at the stated SNR).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import arraykit as ak
from arraykit.doa.grids import angular_distance
from arraykit.doa.peers import PYROOMACOUSTICS
from arraykit.sim import Source, simulate, speech_like

pytestmark = pytest.mark.slow  # closed-loop accuracy over many seeded rooms

FS = 16000
BAND = (300.0, 3500.0)
METHODS = ak.doa.METHODS  # every registered method
PRA = PYROOMACOUSTICS
ARRAYS = {
    "linear": ak.ArrayGeometry.linear(6, 0.04),
    "circular": ak.ArrayGeometry.circular(6, 0.0463),
    "rectangular": ak.ArrayGeometry.rectangular(3, 3, 0.042),
    "cross": ak.load_geometry("cross-9-30mm"),
}
CONDITIONS = {"anechoic": (0.0, None), "rt03": (0.3, 20.0), "rt06": (0.6, 10.0)}
# off-grid azimuths, two per array (a linear array gets them in its half-plane)
AZIMUTHS = {
    "linear": (47.3, 118.6),
    "circular": (61.4, 203.7),
    "rectangular": (151.2, 297.9),
    "cross": (23.8, 252.5),
}


def _error(est: np.ndarray, truth: np.ndarray, g: ak.ArrayGeometry) -> np.ndarray:
    """Per-source azimuth error (°), best assignment; a line's mirror counts as right.

    A source left unfound (fewer estimates than sources) counts as 180°.
    """
    if len(est) < len(truth):
        est = np.concatenate([est, np.full((len(truth) - len(est), 2), np.nan)])
    best = None
    for perm in itertools.permutations(range(len(est)), len(truth)):
        e = []
        for k, j in enumerate(perm):
            if np.isnan(est[j, 0]):
                e.append(180.0)
                continue
            d = float(angular_distance(est[j], truth[k]))
            if g.layout == "linear":
                d = min(d, float(angular_distance(est[j], g.mirror(tuple(truth[k])))))
            e.append(d)
        if best is None or sum(e) < sum(best):
            best = e
    return np.array(best)


def _pra_class(method: str, *, loops: bool = False) -> type:
    """pyroomacoustics' class for `method`. CSSM and WAVES evaluate a spectrum per bin
    with a Python loop over the grid points (~1 s a scene): unless `loops`, that loop
    (and the one over frames in the correlation) is replaced by the same products for
    all points at once, pyroomacoustics' own vectorized correlation included; the
    spectra are the same (test_pyroomacoustics_cssm_waves_unchanged_without_loops)."""
    import pyroomacoustics as pra

    cls = pra.doa.algorithms[PRA[method]]
    if loops or method not in ("cssm", "waves"):
        return cls

    def spatial_spectrum(self, cross: np.ndarray, k: int) -> np.ndarray:
        A = np.asarray(self.mode_vec[k, :, :])  # (M, G)
        return 1.0 / np.abs(np.einsum("mg,mn,ng->g", np.conj(A), cross, A))

    return type(
        cls.__name__,
        (cls,),
        {
            "_compute_spatial_spectrum": spatial_spectrum,
            "_compute_correlation_matrices": pra.doa.music.MUSIC._compute_correlation_matricesvec,
        },
    )


def _pra_doa(
    x: np.ndarray,
    g: ak.ArrayGeometry,
    method: str,
    k: int,
    *,
    loops: bool = False,
    band: tuple[float, float] = BAND,
):
    import pyroomacoustics as pra

    grid = ak.doa.grids.layout_grid(g, "azimuth", 1.0)[:, 0]
    doa = _pra_class(method, loops=loops)(
        g.positions[:, :2].T, FS, 512, c=343.0, num_src=k, azimuth=np.radians(grid)
    )
    X = pra.transform.stft.analysis(x.T, 512, 256).transpose(2, 1, 0)
    doa.locate_sources(X, freq_range=list(band))
    return doa


def _pra(x: np.ndarray, g: ak.ArrayGeometry, method: str, k: int) -> np.ndarray:
    """pyroomacoustics' estimates (K, 2); none (each counts as 180°) where its CSSM or
    WAVES fails (a singular focusing matrix when two of a bin's peaks coincide)."""
    try:
        doa = _pra_doa(x, g, method, k)
    except np.linalg.LinAlgError:
        return np.zeros((0, 2))
    az = np.degrees(np.atleast_1d(doa.azimuth_recon)) % 360
    return np.stack([az, np.zeros_like(az)], axis=1)


@pytest.fixture(scope="module")
def results() -> dict:
    """errors[(array, condition, method, n_sources, library)] -> list of per-source errors."""
    out: dict = {}
    for (aname, g), (cname, (rt60, snr)) in itertools.product(ARRAYS.items(), CONDITIONS.items()):
        az = AZIMUTHS[aname]
        srcs = [
            Source(speech_like(0.5, FS, seed=10 + i), azimuth=a, distance=1.4)
            for i, a in enumerate(az)
        ]
        scene = simulate(g, srcs, FS, rt60=rt60, seed=1)
        rng = np.random.default_rng(7)
        cases = [(scene.images[0], scene.directions[:1]), (scene.images[1], scene.directions[1:])]
        cases.append((scene.images[0] + scene.images[1], scene.directions))
        for clean, truth in cases:
            x = clean
            if snr is not None:
                n = rng.standard_normal(clean.shape)
                x = clean + n * np.sqrt(np.mean(clean**2) / 10 ** (snr / 10))
            k = len(truth)
            for method in METHODS:
                if ak.doa.registry.get(method).max_sources(g.n_mics) < k:
                    continue  # a single-source method (tdoa-ls)
                res = ak.doa.locate(x, FS, g, method=method, num_sources=k, freq_range=BAND)
                out.setdefault((aname, cname, method, k, "ours"), []).extend(
                    _error(res.directions, truth, g)
                )
                if method in PRA:
                    out.setdefault((aname, cname, method, k, "pra"), []).extend(
                        _error(_pra(x, g, method, k), truth, g)
                    )
    return out


# (median, max) error limits in degrees over the 4 arrays × 2 single-source scenes.
# Set from measured values with margin; the reverberant linear array (20 cm aperture)
# is the hard case (MUSIC up to ~30° at RT60 0.6 s, pyroomacoustics likewise). CSSM and
# WAVES map one focused bin (~1 kHz for speech): in reverberation they trail the
# per-bin methods (median ~13° at RT60 0.6 s), and pyroomacoustics' more so.
LIMITS_1 = {
    "anechoic": dict.fromkeys(METHODS, (1.0, 1.0)),
    "rt03": {
        "srp-phat": (2.5, 6.0),
        "music": (5.0, 30.0),
        "normmusic": (2.5, 10.0),
        "tops": (4.0, 8.0),
        "tdoa-ls": (3.0, 6.0),
        "cssm": (4.0, 30.0),
        "waves": (4.0, 30.0),
    },
    "rt06": {
        "srp-phat": (5.0, 12.0),
        "music": (7.0, 35.0),
        "normmusic": (5.0, 20.0),
        "tops": (6.0, 20.0),
        "tdoa-ls": (7.0, 20.0),
        "cssm": (15.0, 35.0),
        "waves": (15.0, 35.0),
    },
}


def _pooled(results: dict, condition: str, method: str, k: int, lib: str = "ours") -> np.ndarray:
    return np.concatenate([results[(a, condition, method, k, lib)] for a in ARRAYS])


@pytest.mark.parametrize("condition", list(CONDITIONS))
@pytest.mark.parametrize("method", METHODS)
def test_one_source_within_limits(results: dict, method: str, condition: str) -> None:
    errs = _pooled(results, condition, method, 1)
    med, worst = LIMITS_1[condition][method]
    assert np.median(errs) <= med and errs.max() <= worst, (np.median(errs), errs.round(1))


@pytest.mark.parametrize(
    ("condition", "method", "med", "worst"),
    [
        ("anechoic", "srp-phat", 1.5, 3.0),
        ("anechoic", "music", 1.5, 3.0),
        ("anechoic", "normmusic", 1.5, 3.0),
        ("anechoic", "tops", 1.5, 3.0),
        ("rt03", "normmusic", 4.0, 12.0),
        ("rt03", "tops", 4.0, 12.0),
        ("rt03", "srp-phat", 6.0, 60.0),
        ("anechoic", "cssm", 1.5, 3.0),
        ("anechoic", "waves", 1.5, 3.0),
        ("rt03", "cssm", 8.0, 20.0),
        ("rt03", "waves", 8.0, 20.0),
    ],
)
def test_two_sources(results: dict, condition: str, method: str, med: float, worst: float) -> None:
    errs = _pooled(results, condition, method, 2)
    assert np.median(errs) <= med and errs.max() <= worst, (np.median(errs), errs.round(1))


@pytest.mark.parametrize("method", list(PRA))
def test_no_worse_than_pyroomacoustics(results: dict, method: str) -> None:
    """Median and 90th percentile over every scene (1 and 2 sources), same 1° grid."""
    ours = np.concatenate(
        [v for (a, c, m, k, lib), v in results.items() if m == method and lib == "ours"]
    )
    theirs = np.concatenate(
        [v for (a, c, m, k, lib), v in results.items() if m == method and lib == "pra"]
    )
    assert len(ours) == len(theirs) == 4 * 3 * 4
    # half a grid step of slack: both search the same 1° grid
    assert np.median(ours) <= np.median(theirs) + 0.5, (np.median(ours), np.median(theirs))
    assert np.percentile(ours, 90) <= np.percentile(theirs, 90) + 0.5, (
        np.percentile(ours, 90),
        np.percentile(theirs, 90),
    )


@pytest.mark.parametrize("method", ["cssm", "waves"])
def test_pyroomacoustics_cssm_waves_unchanged_without_loops(method: str) -> None:
    """The comparison's pyroomacoustics CSSM / WAVES (its loops over grid points and
    frames replaced by whole-array products) gives the spectrum its own code gives."""
    g = ARRAYS["circular"]
    scene = simulate(
        g, [Source(speech_like(0.5, FS, seed=10), azimuth=61.4)], FS, rt60=0.3, snr_db=20, seed=1
    )
    fast = _pra_doa(scene.signals, g, method, 1, band=(1000.0, 2000.0))
    slow = _pra_doa(scene.signals, g, method, 1, band=(1000.0, 2000.0), loops=True)
    np.testing.assert_allclose(fast.grid.values, slow.grid.values, rtol=1e-9)
    assert np.ptp(slow.grid.values) > 0.1 * np.max(slow.grid.values)  # a map with a peak


def test_pyroomacoustics_own_scenario_within_0_3_degrees() -> None:
    """pyroomacoustics' DOA test: 12-mic circle, r = 0.15 m, white noise, nfft 256, at 61.4°."""
    g = ak.ArrayGeometry.circular(12, 0.15)
    rng = np.random.default_rng(0)
    n = (256 // 2 + 1) * 256
    x = rng.standard_normal(n)
    tau = g.delays((61.4, 0.0))[0] * FS  # far-field delays in samples
    f = np.fft.rfftfreq(n)
    signals = np.fft.irfft(np.fft.rfft(x)[None, :] * np.exp(-2j * np.pi * f * tau[:, None]), n)
    for method in METHODS:
        res = ak.doa.locate(
            signals, FS, g, method=method, nfft=256, freq_range=(312.5, 3687.5), resolution=0.1
        )
        assert abs(res.azimuth[0] - 61.4) < 0.3, (method, res.azimuth)
