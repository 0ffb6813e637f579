"""Beam patterns and array metrics: vectorized vs per-point loop, chunking, metrics."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import arraykit as ak
from arraykit.beamform import (
    beam_metrics,
    delay_and_sum,
    directivity,
    pattern,
    response,
    superdirective,
    white_noise_gain,
)
from arraykit.beamform.pattern import _pattern_loop

pattern_module = importlib.import_module("arraykit.beamform.pattern")


def grid(n_az=36, els=(-60, 0, 30)):
    az = np.arange(0, 360, 360 / n_az)
    return np.array([(a, e) for e in els for a in az], dtype=float)


def test_pattern_matches_the_loop_reference_and_is_chunk_invariant(monkeypatch):
    rng = np.random.default_rng(0)
    g = ak.load_geometry("uma-16")
    freqs = np.linspace(0, 8000, 9)
    w = rng.standard_normal((9, 16)) + 1j * rng.standard_normal((9, 16))
    dirs = grid()
    full = pattern(w, g, freqs, dirs)
    np.testing.assert_allclose(full, _pattern_loop(w, g, freqs, dirs), rtol=1e-10, atol=1e-12)
    monkeypatch.setattr(pattern_module, "CHUNK_ELEMENTS", 9 * 16 * 7)  # 7 directions per chunk
    np.testing.assert_allclose(pattern(w, g, freqs, dirs), full, rtol=1e-13, atol=1e-13)


def test_uniform_grid_kernel_matches_the_loop_reference(monkeypatch):
    """STFT-like grids take the block-recurrence kernel; it must agree with the obvious loop."""
    rng = np.random.default_rng(1)
    g = ak.load_geometry("respeaker-6mic")
    freqs = np.fft.rfftfreq(128, 1 / 16000)[3:]  # 62 evenly spaced bins, not starting at 0
    assert pattern_module._uniform(freqs)
    M = g.n_mics
    w = rng.standard_normal((freqs.size, M)) + 1j * rng.standard_normal((freqs.size, M))
    dirs = grid(n_az=24)
    full = pattern(w, g, freqs, dirs)
    np.testing.assert_allclose(full, _pattern_loop(w, g, freqs, dirs), rtol=1e-10, atol=1e-12)
    tau = g.delays(dirs)
    np.testing.assert_allclose(full, pattern_module._pattern_direct(w, freqs, tau), atol=1e-12)
    monkeypatch.setattr(pattern_module, "CHUNK_ELEMENTS", 2 * 16 * M * 5)  # 5 directions a chunk
    np.testing.assert_allclose(pattern(w, g, freqs, dirs), full, atol=1e-13)


def test_large_pattern_stays_in_modest_memory():
    """64 mics x 10,000 directions: output (F, G) only, steering in chunks (65 bins for time)."""
    import tracemalloc

    g = ak.ArrayGeometry.rectangular(8, 8, 0.02)
    freqs = np.linspace(0, 8000, 65)
    w = delay_and_sum(g, (30, 20), freqs)
    dirs = np.stack([np.linspace(0, 359.9, 10000), np.linspace(-80, 80, 10000)], axis=1)
    tracemalloc.start()
    B = pattern(w, g, freqs, dirs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out_bytes = B.nbytes  # 10 MB
    assert (
        peak < out_bytes + 4 * 16 * pattern_module.CHUNK_ELEMENTS
    )  # the full steering would be 666 MB
    assert peak < 300e6
    np.testing.assert_allclose(np.abs(pattern(w, g, freqs, (30, 20))), 1.0, rtol=1e-12)


def test_response_toward_one_direction_per_bin():
    g = ak.ArrayGeometry.circular(6, 0.04)
    freqs = np.array([500.0, 1000.0, 3000.0])
    w = delay_and_sum(g, (10, 0), freqs)
    dirs = np.array([(0.0, 0.0), (90.0, 10.0), (200.0, -5.0)])
    B = pattern(w, g, freqs, dirs)
    np.testing.assert_allclose(response(w, g, freqs, dirs), np.diag(B), rtol=1e-12)
    np.testing.assert_allclose(response(w, g, freqs, (10, 0)), 1.0, rtol=1e-12)


def test_superdirective_trades_white_noise_gain_for_directivity():
    g = ak.ArrayGeometry.linear(4, 0.03)
    freqs = np.array([300.0, 1000.0, 3000.0])
    look = (0, 0)  # endfire
    das = delay_and_sum(g, look, freqs)
    sd = superdirective(g, look, freqs, loading=1e-4)
    assert np.all(directivity(sd, g, freqs, look) > directivity(das, g, freqs, look))
    assert np.all(white_noise_gain(sd, g, freqs, look) < white_noise_gain(das, g, freqs, look))
    # 2-D field: the delay-and-sum directivity factor of broadside half-wavelength arrays
    # is not N (J0 does not vanish at k d = pi), unlike the 3-D case
    f = [343.0 / 0.06]
    d3 = directivity(delay_and_sum(g, (90, 0), f), g, f, (90, 0), field="3d")[0]
    d2 = directivity(delay_and_sum(g, (90, 0), f), g, f, (90, 0), field="2d")[0]
    assert d3 == pytest.approx(4.0, rel=1e-12)
    assert abs(d2 - 4.0) > 0.1


def test_beamwidth_front_to_back_and_sidelobes_of_a_ring():
    g = ak.ArrayGeometry.circular(8, 0.05)
    freqs = np.array([1000.0, 2000.0, 4000.0])
    m = beam_metrics(delay_and_sum(g, (45, 0), freqs), g, freqs, (45, 0))
    assert np.all(np.diff(m.beamwidth) < 0)  # narrower with frequency
    assert np.all(m.front_to_back_db > 3.0)  # a ring tells front from back
    np.testing.assert_allclose(m.gain_db, 0.0, atol=1e-9)
    # check the beamwidth against the pattern itself: -3 dB at the edges
    half = m.beamwidth / 2
    for i, f in enumerate(freqs):
        r = np.abs(response(delay_and_sum(g, (45, 0), [f]), g, [f], (45 + half[i], 0)))[0]
        assert 20 * np.log10(r) == pytest.approx(-3.0, abs=0.02)
    # a line array: the mirror lobe is not a sidelobe, but front-to-back says 0 dB
    line = ak.ArrayGeometry.linear(8, 0.04)
    ml = beam_metrics(delay_and_sum(line, (60, 0), [3000.0]), line, [3000.0], (60, 0))
    assert ml.sidelobe_db[0] < -5.0
    assert ml.front_to_back_db[0] == pytest.approx(
        20
        * np.log10(
            1
            / np.abs(response(delay_and_sum(line, (60, 0), [3000.0]), line, [3000.0], (240, 0))[0])
        )
    )


def test_low_frequency_beam_has_no_beamwidth():
    g = ak.ArrayGeometry.linear(4, 0.01)
    m = beam_metrics(delay_and_sum(g, (90, 0), [100.0]), g, [100.0], (90, 0))
    assert np.isnan(m.beamwidth[0])  # never 3 dB down: omnidirectional at 100 Hz
    assert np.isnan(m.sidelobe_db[0])


def test_bad_weights_and_directions():
    g = ak.ArrayGeometry.linear(4, 0.05)
    with pytest.raises(ValueError, match=r"weights=.*must be \(F, M\) = \(2, 4\)"):
        pattern(np.ones((2, 3)), g, [1.0, 2.0], (0, 0))
    with pytest.raises(ValueError, match=r"directions=.*\(azimuth, elevation\)"):
        pattern(np.ones((1, 4)), g, [1.0], np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"direction=.*one pair or one per bin"):
        response(np.ones((1, 4)), g, [1.0], [(0, 0), (1, 0)])
    with pytest.raises(ValueError, match=r"weights=.*NaN"):
        white_noise_gain(np.full((1, 4), np.nan), g, [1.0], (0, 0))
    with pytest.raises(ValueError, match=r"field='4d'"):
        directivity(np.ones((1, 4)), g, [1.0], (0, 0), field="4d")
