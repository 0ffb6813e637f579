"""Several talkers, counting, confidence and "no directional source" (issues 12.8, 13).

Closed loops on seeded simulated rooms and on inputs that hold no directional source
(silence, a constant offset, -1 LSB, a 50 Hz hum, white and diffuse noise). The big
tables (accuracy against pyroomacoustics and plain local maxima, confusion matrices,
the confidence's reliability) come from ``benchmarks/bench_multisource.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from talker_rooms import talker_rooms

import arraykit as ak
from arraykit.doa import extract
from arraykit.doa.grids import angular_distance
from arraykit.errors import ArraykitError, NoSourceError
from arraykit.sim import Source, diffuse_noise, simulate, speech_like, talk

FS = 16000
SQUARE = ak.load_geometry("respeaker-usb-4mic")
CIRCLE = ak.load_geometry("respeaker-6mic")
BAND_FREQS = np.arange(10, 113) * FS / 512  # 300-3500 Hz at nfft 512


def _hum(M: int) -> np.ndarray:
    return np.tile(0.3 * np.sin(2 * np.pi * 50.0 * np.arange(FS) / FS), (M, 1))


NOTHING = {  # name -> (signals, method, words the reason must hold)
    "constant DC (srp-phat)": (np.full((4, FS), 0.2), "srp-phat", "no energy in the band"),
    "constant DC (music)": (np.full((4, FS), 0.2), "music", "no energy in the band"),
    "-1 LSB DC (tdoa-ls)": (np.full((4, FS), -1 / 32768), "tdoa-ls", "no energy in the band"),
    "50 Hz hum alone": (_hum(4), "srp-phat", "no energy in the band"),
    "silence": (np.zeros((4, FS)), "normmusic", "silence"),
    "white noise": (
        np.random.default_rng(1).standard_normal((4, FS)),
        "srp-phat",
        "no directional source",
    ),
    "diffuse noise": (diffuse_noise(SQUARE, FS, FS, seed=2), "tops", "no directional source"),
}


@pytest.mark.parametrize("case", list(NOTHING))
def test_no_directional_source_is_an_outcome(case: str) -> None:
    """Issue 12 item 8: auto gives 0 sources and the reason; a fixed count raises when
    nothing is in the band, and for noise answers with a warning and a low confidence."""
    x, method, words = NOTHING[case]
    auto = ak.doa.locate(x, FS, SQUARE, method=method, num_sources="auto")
    assert auto.num_sources == 0 and auto.azimuth.shape == (0,), auto.count_reason
    assert words in auto.count_reason
    if words == "no directional source":
        res = ak.doa.locate(x, FS, SQUARE, method=method)
        assert "warning: no directional source" in res.count_reason
        assert res.confidence[0] < 0.7  # talkers in these rooms: > 0.9
        return
    with pytest.raises(NoSourceError, match=words) as err:
        ak.doa.locate(x, FS, SQUARE, method=method)
    assert isinstance(err.value, ArraykitError) and words in err.value.reason


def test_locate_stft_and_blocks_report_blocks_without_a_source() -> None:
    """An all-zero block and a DC block in locate_blocks are NaN with the reason; the
    talker's block is found. locate_stft refuses a hum as locate does."""
    talker = simulate(CIRCLE, [Source(speech_like(0.5, FS, seed=5), azimuth=80.0)], FS, seed=1)
    x = np.zeros((6, 3 * FS // 2))
    x[:, FS // 2 : FS] = 0.05  # a dead device's offset
    x[:, FS : FS + FS // 2] = talker.signals[:, : FS // 2]
    blocks = ak.doa.locate_blocks(x, FS, CIRCLE, block=0.5)
    assert np.isnan(blocks.azimuth[:2, 0]).all()
    assert "silence" in blocks.blocks[0].count_reason
    assert "no energy in the band" in blocks.blocks[1].count_reason
    assert angular_distance([blocks.azimuth[2, 0], 0], [80.0, 0]) < 4
    X = ak.stft.stft(_hum(6), FS, nfft=512)
    with pytest.raises(NoSourceError, match="no energy in the band"):
        ak.doa.locate_stft(X, FS, CIRCLE)


def test_beamwidth_and_default_separation_follow_the_aperture() -> None:
    """The default min_separation is half the array's own SRP-PHAT main-lobe half width:
    measured 43 degrees (4-mic square), 32 (6-mic circle), 25 (4x4 42 mm); an array
    twice as large has a main lobe about half as wide."""
    widths = [extract.beamwidth(g, BAND_FREQS, 343.0) for g in (SQUARE, CIRCLE)]
    assert widths == pytest.approx([43.0, 32.0], abs=2.0)
    rect = ak.ArrayGeometry.rectangular(4, 4, 0.042)
    assert extract.beamwidth(rect, BAND_FREQS, 343.0) == pytest.approx(25.0, abs=2.0)
    big = ak.ArrayGeometry.circular(6, 2 * 0.0463)
    ratio = extract.beamwidth(big, BAND_FREQS, 343.0) / widths[1]
    assert 0.4 < ratio < 0.65


def test_ring_peaks_read_from_the_minimum_are_those_of_three_turns() -> None:
    """The fast ring reading (once round from the map's lowest point) finds the same
    peaks as the reference's three turns of the ring, on random maps with plateaus,
    peaks across the ring's seam and ripples near the prominence threshold; and the
    multi-source path's distances between grid points are those of angular_distance."""
    rng = np.random.default_rng(3)
    shapes = 0
    for trial in range(600):
        G = int(rng.integers(3, 400))
        m = rng.standard_normal(G).cumsum()
        if trial % 3 == 0:
            m = np.round(m)  # plateaus, ties of the minimum and of peaks
        elif trial % 3 == 1:  # smooth lobes, a peak straddling index 0, a 1 % ripple
            az = np.arange(G) * 360.0 / G
            m = np.cos(np.radians(az - rng.uniform(-5, 5))) + 0.01 * np.cos(np.radians(az) * 17)
        fast = extract.ring_maxima(m, closed=True)
        assert np.array_equal(fast, extract.ring_maxima_reference(m, closed=True)), trial
        shapes += int(fast.sum() >= 2)
    assert shapes >= 100  # many maps with several peaks
    grid = ak.doa.grids.layout_grid(CIRCLE, "azimuth", 1.0)
    i = rng.integers(0, len(grid), 40)
    D = ak.doa.grids.pairwise_distances(grid)[np.ix_(i, i)]
    assert np.array_equal(D, angular_distance(grid[i][:, None], grid[i][None]))


def test_shoulder_is_taken_flagged_and_never_a_non_peak_silently() -> None:
    """A map with one peak and a shoulder: K=2 takes the peak, then the highest point at
    least min_separation away, flagged on_peak=False; a ripple below the prominence is
    no peak."""
    az = np.arange(360.0)
    main = np.exp(-0.5 * (angular_distance(np.c_[az, 0 * az], [100.0, 0]) / 20) ** 2)
    shoulder = 0.5 * np.exp(-0.5 * (angular_distance(np.c_[az, 0 * az], [135.0, 0]) / 12) ** 2)
    ripple = 0.004 * np.cos(np.radians(az) * 30)
    m = main + shoulder + ripple
    local = extract.ring_maxima(m, closed=True)
    assert local[100] and local.sum() == 1  # the ripple is under 1 % of the range

    def apart(i: int, chosen) -> bool:
        return all(angular_distance([az[i], 0], [az[j], 0]) >= 16.0 for j in chosen)

    idx, on = extract.choose(m, local, 2, apart)
    assert idx[0] == 100 and on.tolist() == [True, False]
    assert 116 <= idx[1] <= 135  # on the shoulder's side, not the far flank
    idx, on = extract.choose(m, local, 2, apart, fill=False)
    assert idx.tolist() == [100] and on.tolist() == [True]


def test_fill_never_repeats_a_point_the_caller_holds() -> None:
    """When min_separation leaves no point apart from those held (a seeded pick whose
    zones gave fewer atoms than K), the last resort takes the highest points left, never
    one already held: the same direction twice would be two sources in one place."""
    az = np.arange(0.0, 360.0, 30.0)
    m = np.exp(-0.5 * (angular_distance(np.c_[az, 0 * az], [150.0, 0]) / 40) ** 2)
    local = extract.ring_maxima(m, closed=True)
    held = [5]  # 150 degrees: the map's top, taken from a seed

    def apart(i: int, chosen) -> bool:  # 200 degrees: nothing is apart on a circle
        return all(angular_distance([az[i], 0], [az[j], 0]) >= 200.0 for j in [*held, *chosen])

    idx, on = extract.choose(m, local, 2, apart, taken=held)
    assert 5 not in idx.tolist() and len(set(idx.tolist())) == 2
    assert sorted(az[idx].tolist()) == [120.0, 180.0]  # the next highest, flagged
    assert on.tolist() == [False, False]


@pytest.fixture(scope="module")
def rooms() -> dict:
    """Two seeded rooms (RT60 0.3 s, SNR 20 dB): three talkers each, 6-mic circle and
    4-mic square; K = 1, 2, 3 are the first K talkers."""
    arrays = {"circle": (CIRCLE, (35.0, 152.0, 268.0)), "square": (SQUARE, (60.0, 200.0, 310.0))}
    return talker_rooms(arrays, seed=40, distance=1.3)


@pytest.mark.parametrize(("name", "k"), [("circle", 1), ("circle", 2), ("circle", 3),
                                         ("square", 1), ("square", 2)])  # fmt: skip
def test_auto_counts_talkers_and_finds_them_confidently(rooms: dict, name: str, k: int) -> None:
    g, x, truth = rooms[(name, k)]
    res = ak.doa.locate(x, FS, g, num_sources="auto")
    assert res.num_sources == k, res.count_reason
    sep = extract.default_separation(g, BAND_FREQS, ak.SPEED_OF_SOUND)
    d = angular_distance(res.directions[:, None, :], truth[None, :, :]).min(axis=0)
    assert np.all(d < sep), d  # every talker found within the array's resolution
    assert np.all((res.confidence > 0) & (res.confidence <= 1))
    assert res.confidence.min() > 0.5


@pytest.mark.parametrize("rt60", [0.0, 0.2])
def test_a_pure_tone_is_one_source_not_the_atoms_of_the_noise_around_it(rt60: float) -> None:
    """A 1 kHz tone from 40 degrees (six-microphone circle, 30 dB SNR): the zones of the
    sensor noise in every other bin scatter and make atoms of their own, which the
    histogram counted (3-5 sources before); they hold under 0.1 % of the tone's zones'
    power, and an atom counts from 2 % (``sparsity.POWER``): one source, at the tone."""
    from arraykit.doa import sparsity

    g = ak.load_geometry("respeaker-6mic")
    t = np.arange(int(1.0 * FS)) / FS
    kw = {"rt60": rt60} if rt60 else {}
    sc = simulate(g, [Source(np.sin(2 * np.pi * 1000.0 * t), 40.0)], FS, snr_db=30, seed=0, **kw)
    res = ak.doa.locate(sc.signals, FS, g, num_sources="auto")
    assert res.num_sources == 1, res.count_reason
    assert abs((res.directions[0, 0] - 40.0 + 180.0) % 360.0 - 180.0) < 5.0
    assert "dropped" in res.count_reason and f"under {sparsity.POWER:.0%}" in res.count_reason


def test_confidence_is_lower_for_a_source_that_is_not_there(rooms: dict) -> None:
    """One talker, three asked for: the two extra estimates are flagged or less sure."""
    g, x, truth = rooms[("circle", 1)]
    res = ak.doa.locate(x, FS, g, num_sources=3)
    assert angular_distance(res.directions[0], truth[0]) < 5
    assert res.confidence[0] > 0.9
    assert np.all(res.confidence[1:] < res.confidence[0] - 0.05)  # measured 0.97, 0.87, 0.87


def test_blocks_list_both_talkers_of_a_turn_taking_conversation() -> None:
    """A talks for 1 s, then B for 1 s: each 0.5 s block hears one, and from B's first
    block on both are listed as talkers (A fades after about `memory` seconds)."""
    a, b = speech_like(1.0, FS, seed=61), speech_like(1.0, FS, seed=62)
    z = np.zeros(FS)
    srcs = [
        Source(np.r_[a, z], azimuth=40.0, distance=1.2),
        Source(np.r_[z, b], azimuth=200.0, distance=1.2),
    ]
    sc = simulate(CIRCLE, srcs, FS, rt60=0.3, snr_db=20, seed=4)
    res = ak.doa.locate_blocks(sc.signals[:, : 2 * FS], FS, CIRCLE, block=0.5, memory=3.0)
    assert len(res.talkers) == 4
    first, last = res.talkers[0], res.talkers[-1]
    assert len(first) == 1 and angular_distance(first[0], [40.0, 0]) < 8
    assert len(last) == 2
    d = angular_distance(last[:, None, :], np.array([[40.0, 0], [200.0, 0]])[None]).min(axis=0)
    assert np.all(d < 8), last
    # each block alone hears one talker
    assert np.all([r.num_sources == 1 for r in res.blocks])


@pytest.mark.parametrize("seed", [0, 1])
def test_blocks_of_noise_add_no_talker_with_a_given_count(seed: int) -> None:
    """Fault injection: one talker for 1 s, then 3 s of white noise 20 dB under it. With
    the default given count each noise block still answers a direction, with a
    ``no_source`` warning and a confidence of 0.37-0.76; ``talkers`` took those as
    heard, and listed talkers 17-178 degrees from the only one in 16 of 32 blocks (seeds
    0-3). A block with no directional source now adds nothing: the talker fades. Its
    direction's confidence is 0 (0.68 and 0.63 at most before: a weak map, and one given
    source reads no zones that could overrule it, ``count.unheard``)."""
    a = talk(4.0, FS, [(0.0, 1.0)], seed=60 + seed)
    sc = simulate(CIRCLE, [Source(a, azimuth=40.0, distance=1.2)], FS, rt60=0.3, snr_db=20,
                  seed=seed)  # fmt: skip
    res = ak.doa.locate_blocks(sc.signals[:, : 4 * FS], FS, CIRCLE, block=0.5, memory=3.0)
    noise = [r.no_source is not None for r in res.blocks]
    assert noise == [False, False] + [True] * 6  # each block's own verdict
    assert all(float(r.confidence[0]) == 0.0 for r in res.blocks[2:])
    listed = np.concatenate([t for t in res.talkers if len(t)])
    assert np.all(angular_distance(listed, [40.0, 0.0]) < 8), listed
    assert len(res.talkers[0]) == 1 and len(res.talkers[-1]) == 0  # heard, then faded


LINE = ak.ArrayGeometry.linear(4, 0.04)


@pytest.mark.parametrize("g", [SQUARE, CIRCLE, LINE], ids=["square", "circle", "line"])
def test_a_given_count_on_noise_gives_no_confident_estimate(g: ak.ArrayGeometry) -> None:
    """Two sources asked of white and of diffuse noise: where ``"auto"`` hears none (a
    weak map whose zones do not gather; a line's diffuse field) no estimate is a
    measurement, and each gets a confidence of 0, the reason in ``no_source``. Before,
    they carried the warning with a confidence of 0.25-0.68 (the line's diffuse field no
    warning and 0.94; README, "A given count on noise")."""
    rng = np.random.default_rng(9)
    for x in (rng.standard_normal((g.n_mics, FS)), diffuse_noise(g, FS, FS, seed=9)):
        res = ak.doa.locate(x, FS, g, num_sources=2)
        assert res.no_source is not None and "no estimate is a measurement" in res.no_source
        assert res.confidence.tolist() == [0.0, 0.0], res.count_reason


def test_three_talkers_on_a_flat_map_keep_their_confidence() -> None:
    """Three talkers mix their phases and flatten a 4-mic square's map under the weak-map
    floor (0.024 above its median), but their zones gather (as ``"auto"`` reads them):
    each estimate is right and keeps its confidence (0.67-0.78 measured), the warning with it."""
    rooms = talker_rooms({"square": (SQUARE, (60.0, 200.0, 310.0))}, seed=43, distance=1.3)
    g, x, truth = rooms[("square", 3)]
    res = ak.doa.locate(x, FS, g, num_sources=3)
    assert res.no_source is not None and "no estimate is a measurement" not in res.no_source
    assert np.all(angular_distance(res.directions[:, None], truth[None]).min(axis=1) < 5)
    assert res.confidence.min() > 0.6, res.confidence


def test_a_pair_and_tdoa_ls_tell_a_diffuse_field_from_a_talker() -> None:
    """Fault injection: with one source at most (two microphones, or tdoa-ls on any
    array) ``"auto"`` answered 1 before the diffuse-field test, so a diffuse field was a
    talker: a 10 cm pair at 57-116 degrees (confidence 0.85-0.87), the 4-mic 40 mm line
    with tdoa-ls at 66-113 degrees (0.94), in every seed tried. The test now runs there
    too. Pairs of 5, 10 and 20 cm in fresh rooms 100-123 (RT60 0.2-0.6 s, SNR 10-30 dB):
    noise-only scenes counted as a source 42 -> 11 of 72, talkers counted 71 -> 66 of 72
    (a broadside talker's coherence on a 5 cm pair is a diffuse field's)."""
    pair = ak.ArrayGeometry.linear(2, 0.1)
    for seed in (1, 2, 3):
        for method in ("srp-phat", "tdoa-ls"):
            res = ak.doa.locate(diffuse_noise(pair, FS, FS, seed=seed), FS, pair,
                                num_sources="auto", method=method)  # fmt: skip
            assert res.num_sources == 0 and "a diffuse field" in res.count_reason, res.azimuth
        line = ak.doa.locate(diffuse_noise(LINE, FS, FS, seed=seed), FS, LINE,
                             num_sources="auto", method="tdoa-ls")  # fmt: skip
        assert line.num_sources == 0 and "a diffuse field" in line.count_reason
        talker = Source(speech_like(1.0, FS, seed=seed), azimuth=60.0, distance=1.5)
        sc = simulate(pair, [talker], FS, rt60=0.3, snr_db=20, seed=seed)
        res = ak.doa.locate(sc.signals, FS, pair, num_sources="auto")
        assert res.num_sources == 1 and abs(res.azimuth[0] - 60.0) < 10.0, res.azimuth


@pytest.mark.parametrize("seed", [0, 1])
def test_a_line_tells_a_diffuse_field_from_a_broadside_talker(seed: int) -> None:
    """A 4-mic 40 mm line's SRP-PHAT map of a diffuse field peaks at broadside 0.10-0.12
    above its median, like a talker's; with the isotropic field's coherence fitted out
    under 0.016 is left (measured), so auto says 0 and why, while a talker at broadside
    (RT60 0.3 s, SNR 20 dB) keeps 0.15-0.18 and is counted 1."""
    noise = diffuse_noise(LINE, FS, FS, seed=seed)
    top = ak.doa.locate(noise, FS, LINE).spectrum
    assert top.max() - np.median(top) > extract.CLEAN_FLOOR  # the raw map looks like a talker
    res = ak.doa.locate(noise, FS, LINE, num_sources="auto")
    assert res.num_sources == 0 and "diffuse field" in res.count_reason, res.count_reason
    talker = Source(speech_like(1.0, FS, seed=70 + seed), azimuth=90.0, distance=1.5)
    sc = simulate(LINE, [talker], FS, rt60=0.3, snr_db=20, seed=seed)
    res = ak.doa.locate(sc.signals, FS, LINE, num_sources="auto")
    assert res.num_sources == 1, res.count_reason
    assert angular_distance(res.directions[0], [90.0, 0.0]) < 4


def _recursive_cov(x: np.ndarray, g: ak.ArrayGeometry, memory: float = 0.5) -> np.ndarray:
    """The band's covariance after `x` as ``arraykit live`` keeps it (nfft 512)."""
    from arraykit.beamform import RecursiveCovariance
    from arraykit.stft import StreamingSTFT

    sts = StreamingSTFT(FS, g.n_mics, nfft=512)
    X = sts.push(x)[:, 10:113, :]
    alpha = float(np.exp(-256 / FS / memory))
    return RecursiveCovariance(X.shape[1], g.n_mics, alpha=alpha).update(X)


def test_a_covariance_map_of_noise_has_the_closed_form_spread() -> None:
    """Whitened after averaging, every pair's cross-spectrum of sensor noise is a unit
    phasor of random phase, so the covariance's SRP-PHAT map is a mean of F P cosines:
    standard deviation 1 / sqrt(2 F P) (``confidence.cov_noise_sd``), over 200 covariances
    of independent white noise on the six-microphone circle."""
    from arraykit.doa.confidence import cov_noise_sd

    rng = np.random.default_rng(5)
    F, M = BAND_FREQS.size, CIRCLE.n_mics
    values = []
    for _ in range(200):
        X = rng.standard_normal((M, F, 20)) + 1j * rng.standard_normal((M, F, 20))
        R = np.einsum("mft,nft->fmn", X, X.conj()) / 20
        res = ak.doa.locate_cov(R, BAND_FREQS, CIRCLE, resolution=10.0)
        values.append(res.spectrum[::9])  # points 90 degrees apart: nearly independent
    sd = float(np.std(np.concatenate(values)))
    assert abs(sd / cov_noise_sd(F, M) - 1.0) < 0.1, (sd, cov_noise_sd(F, M))


@pytest.mark.parametrize("g", [SQUARE, CIRCLE], ids=["square", "circle"])
def test_a_covariance_of_noise_holds_no_source_and_of_a_talker_a_sure_one(
    g: ak.ArrayGeometry,
) -> None:
    """``locate_cov`` (``arraykit live``'s search): a recursive covariance of white or
    diffuse noise says no directional source (auto: 0 sources; a given count: its
    estimate with a low confidence and the reason in ``no_source``), a talker's (RT60 0.3
    s, 20 dB) is found with a confidence above 0.9. Before the covariance's own floor, the
    noise's estimate had a confidence of 0.95."""
    rng = np.random.default_rng(3)
    for noise in (rng.standard_normal((g.n_mics, FS)), diffuse_noise(g, FS, FS, seed=4)):
        R = _recursive_cov(noise, g)
        auto = ak.doa.locate_cov(R, BAND_FREQS, g, num_sources="auto")
        assert auto.num_sources == 0 and "no directional source" in auto.count_reason
        one = ak.doa.locate_cov(R, BAND_FREQS, g)
        assert one.no_source is not None and "noise standard deviations" in one.no_source
        assert one.confidence[0] < 0.6, one.confidence  # measured 0.45-0.54; talkers > 0.9
    sc = simulate(g, [Source(speech_like(1.0, FS, seed=8), 110.0)], FS, rt60=0.3, snr_db=20)
    res = ak.doa.locate_cov(_recursive_cov(sc.signals[:, : int(0.9 * FS)], g), BAND_FREQS, g)
    assert res.no_source is None and res.confidence[0] > 0.9, (res.confidence, res.count_reason)
    assert angular_distance(res.directions[0], [110.0, 0.0]) < 5
