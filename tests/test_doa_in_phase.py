"""Channels that are copies of one another (issue 13, "several talkers": no source).

One signal copied to every channel reaches every microphone at once: a wiring or
channel-map fault, or a source on a planar array's normal, off its azimuth ring. Before,
``num_sources="auto"`` on the 6-mic circle answered four equal sources at the ring's
tie points (30, 150, 210, 330 degrees, confidence 0.012 each). The rule
(:func:`arraykit.doa.confidence.in_phase_reason`): the SRP-PHAT map at zero delay lies
above every grid point, and every channel is in phase with the first (coherence at
least ``IN_PHASE``) with no delay beyond ``IN_PHASE_DELAY``. Real talkers, also those
10 degrees off the normal, are still counted.
"""

from __future__ import annotations

import numpy as np
import pytest

import arraykit as ak
from arraykit.doa import confidence
from arraykit.doa.grids import angular_distance
from arraykit.doa.plan import plan_stft
from arraykit.sim import Source, simulate, speech_like

FS = 16000
CIRCLE = ak.load_geometry("respeaker-6mic")
SQUARE = ak.load_geometry("respeaker-usb-4mic")
_rng = np.random.default_rng(5)
IRREGULAR = ak.ArrayGeometry(np.c_[_rng.uniform(-0.05, 0.05, (6, 2)), np.zeros(6)])
TETRA = ak.ArrayGeometry(np.array([[0, 0, 0], [0.05, 0, 0], [0, 0.05, 0], [0, 0, 0.05]]))


def test_in_phase_reads_the_coherence_and_the_delays_of_a_closed_form() -> None:
    """Channels that are the first delayed by tau_m in the STFT: the coherence is the
    mean of cos(2 pi f tau_m) and the largest fitted delay is the largest tau_m."""
    rng = np.random.default_rng(0)
    freqs = np.arange(10, 113) * FS / 512
    X0 = rng.standard_normal((len(freqs), 40)) + 1j * rng.standard_normal((len(freqs), 40))
    tau = np.array([0.0, 3e-6, -5e-6, 10e-6])
    X = X0[None] * np.exp(-2j * np.pi * freqs[None, :, None] * tau[:, None, None])
    coherence, lag = confidence.in_phase(X, freqs)
    expected = np.mean(np.cos(2 * np.pi * freqs[None, :] * tau[1:, None]))
    np.testing.assert_allclose(coherence, expected, rtol=1e-12)
    np.testing.assert_allclose(lag, 10e-6, rtol=1e-9)
    assert confidence.in_phase(np.repeat(X0[None], 4, axis=0), freqs) == (1.0, 0.0)


def _copies(g: ak.ArrayGeometry, snr_db: float | None, seed: int = 3) -> np.ndarray:
    x = speech_like(1.0, FS, seed=seed)
    y = np.repeat(x[None], g.n_mics, axis=0)
    if snr_db is None:
        return y
    noise = np.random.default_rng(seed).standard_normal(y.shape)
    return y + noise * np.sqrt(np.mean(x**2) / 10 ** (snr_db / 10))


@pytest.mark.parametrize(
    ("g", "planar"), [(CIRCLE, True), (SQUARE, True), (IRREGULAR, True), (TETRA, False)]
)
@pytest.mark.parametrize("snr_db", [None, 30.0])
def test_a_signal_copied_to_every_channel_is_no_source_on_the_grid(
    g: ak.ArrayGeometry, planar: bool, snr_db: float | None
) -> None:
    """Copies (bit-exact, or with independent noise 30 dB under them): 0 sources, and
    the reason says the channels are copies, what to check and, for a planar array, that
    a source on its normal looks the same. Before: the circle 4 sources, the square 3
    (confidence 0.5-0.7, also with noise 30-80 dB under the copies), the irregular plane
    and the tetrahedron 2 (confidence 0.85-0.9). A fixed count, which keeps no frames,
    warns from the PHAT cross-spectra alone where the copies are bit-exact (there the
    irregular plane's answer had no warning and confidence 0.9)."""
    x = _copies(g, snr_db)
    res = ak.doa.locate(x, FS, g, num_sources="auto")
    assert res.num_sources == 0 and res.azimuth.shape == (0,), res.count_reason
    assert "every channel is a copy of the first" in res.count_reason
    assert "wiring" in res.count_reason and "channel map" in res.count_reason
    assert ("array's normal" in res.count_reason) == planar, res.count_reason
    if snr_db is None:
        fixed = ak.doa.locate(x, FS, g)
        assert fixed.num_sources == 1
        assert "warning: no directional source on this grid" in fixed.count_reason
        assert "copy of the first" in fixed.count_reason
        # no direction of the grid is a measurement (the square's was 0.74, the irregular
        # plane's 0.9: the map's shape alone, which the calibration never saw for copies)
        assert fixed.confidence.tolist() == [0.0], fixed.confidence


def test_copies_are_a_source_where_the_grid_holds_zero_delay() -> None:
    """A line's broadside and a planar array's normal (grid="sphere") give every pair
    zero delay: the copies are one source there, confidently (the sphere's coarse grid
    misses the pole by a hair: its best point 0.671 against 0.672 at zero delay)."""
    line = ak.ArrayGeometry.linear(4, 0.04)
    res = ak.doa.locate(_copies(line, None), FS, line, num_sources="auto")
    assert res.num_sources == 1 and abs(res.azimuth[0] - 90.0) <= 2.0, res.count_reason
    up = ak.doa.locate(_copies(CIRCLE, None), FS, CIRCLE, num_sources="auto", grid="sphere")
    assert up.num_sources == 1 and up.elevation[0] >= 88.0, up.count_reason
    assert up.confidence[0] > 0.9
    # no direction gives a volumetric array zero delay, not even on the sphere
    tetra = ak.doa.locate(_copies(TETRA, None), FS, TETRA, num_sources="auto", grid="sphere")
    assert tetra.num_sources == 0 and "copy of the first" in tetra.count_reason


def test_a_talker_near_the_normal_is_still_counted_at_its_azimuth() -> None:
    """A talker 10 degrees off the circle's normal (elevation 80, free field, SNR 40 dB):
    its channels are as much in phase as copies with noise (coherence 0.94, over
    IN_PHASE) but lag the first by 38 us (IN_PHASE_DELAY: 2 us): counted 1, within 3
    degrees of its azimuth (measured 1); and a talker in the ring's plane in a room."""
    plan, band = plan_stft(FS, CIRCLE, {"num_sources": "auto"})
    for el, rt60, snr in ((80.0, 0.0, 40.0), (0.0, 0.3, 20.0)):
        talker = Source(speech_like(1.0, FS, seed=10), azimuth=70.0, elevation=el, distance=1.5)
        x = simulate(CIRCLE, [talker], FS, rt60=rt60, snr_db=snr, seed=0).signals
        res = ak.doa.locate(x, FS, CIRCLE, num_sources="auto")
        assert res.num_sources == 1, res.count_reason
        assert angular_distance([res.azimuth[0], 0.0], [70.0, 0.0]) <= 3.0, res.azimuth
        if el:
            same, lag = confidence.in_phase(ak.stft.stft(x, FS, nfft=512)[:, band], plan.freqs)
            assert same >= confidence.IN_PHASE and lag > 10 * confidence.IN_PHASE_DELAY


@pytest.mark.parametrize("g", [CIRCLE, SQUARE])
def test_a_talker_overhead_in_a_room_is_no_source_on_the_ring(g: ak.ArrayGeometry) -> None:
    """A talker straight above the array (elevation 90, RT60 0.3 s, SNR 40 dB) has no
    azimuth: 0 sources on the ring, the reason pointing at the normal (before: 5 sources
    on the circle, 3 on the square, at the ring's tie points); grid="sphere" finds it
    within 2 degrees of the normal."""
    talker = Source(speech_like(1.0, FS, seed=10), azimuth=70.0, elevation=90.0, distance=1.5)
    x = simulate(g, [talker], FS, rt60=0.3, snr_db=40, seed=0).signals
    res = ak.doa.locate(x, FS, g, num_sources="auto")
    assert res.num_sources == 0 and "array's normal" in res.count_reason, res.count_reason
    up = ak.doa.locate(x, FS, g, num_sources="auto", grid="sphere")
    assert up.num_sources == 1 and up.elevation[0] >= 88.0, up.count_reason


@pytest.mark.parametrize("g", [CIRCLE, SQUARE])
@pytest.mark.parametrize("snr_db", [None, 30.0])
def test_a_covariance_of_copies_says_they_are_copies(
    g: ak.ArrayGeometry, snr_db: float | None, tmp_path
) -> None:
    """A covariance alone (``locate_cov``, ``arraykit live``) reads the copies' statistic
    from the covariance itself (its entries are the frames' sums that ``in_phase`` reads).
    Before, its PHAT normalisation (every entry a unit phasor) hid it: "auto" gave 0
    sources as "noise, a diffuse field, or talkers who have stopped" (the circle's map of
    copies is flat) and a fixed count warned the same, so nothing pointed at the wiring."""
    x = _copies(g, snr_db)
    plan, band = plan_stft(FS, g, {})
    X = ak.stft.stft(x, FS, nfft=512)[:, band]
    R = ak.beamform.covariance(X)
    res = ak.doa.locate_cov(R, plan.freqs, g, num_sources="auto")
    assert res.num_sources == 0 and "copy of the first" in str(res.no_source), res.no_source
    assert "wiring" in res.count_reason and "array's normal" in res.count_reason
    fixed = ak.doa.locate_cov(R, plan.freqs, g, num_sources=2, method="music")
    assert "copy of the first" in str(fixed.no_source), fixed.no_source
    assert "warning: no directional source on this grid" in fixed.count_reason
    assert fixed.confidence.tolist() == [0.0, 0.0], fixed.confidence
    # the same from a file device, block by block, as `arraykit live` runs it
    wav = ak.io.write_audio(tmp_path / "copies.wav", x / np.abs(x).max() * 0.5, FS)
    with ak.hardware.open(wav, geometry=g, blocksize=800) as dev:
        est = list(ak.live.track(dev, block=0.1))
    assert len(est) >= 8 and all("copy of the first" in str(e.no_source) for e in est[2:])
    assert all(np.isnan(e.azimuth).all() for e in est)
