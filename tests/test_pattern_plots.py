"""Beam plots draw what the pattern functions compute."""

from __future__ import annotations

import numpy as np
import pytest

import arraykit as ak
from arraykit.beamform import delay_and_sum, superdirective

plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_polar_pattern_peaks_at_the_look_direction():
    g = ak.ArrayGeometry.circular(8, 0.05)
    freqs = np.linspace(0, 8000, 33)
    fig = ak.plot.plot_polar_pattern(
        delay_and_sum(g, (45, 0), freqs), g, freqs, direction=(45, 0), show=[1000, 4000]
    )
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_label().endswith("Hz")]
    assert [ln.get_label() for ln in lines] == ["1000 Hz", "4000 Hz"]
    for ln in lines:
        theta, r = ln.get_data()
        assert np.degrees(theta[np.argmax(r)]) == pytest.approx(45.0, abs=1.0)
        assert np.max(r) == pytest.approx(0.0, abs=1e-9)


def test_maps_and_metrics_figures():
    g = ak.load_geometry("uma-16")
    freqs = np.linspace(100, 8000, 40)
    w = delay_and_sum(g, (120, 30), freqs)
    fig = ak.plot.plot_pattern_map(w, g, freqs, elevation=30)
    data = fig.axes[0].collections[0].get_array().reshape(len(freqs), 360)
    assert np.argmax(data[-1]) == pytest.approx(120, abs=2)
    fig = ak.plot.plot_pattern_azel(w, g, freqs, 4000)
    data = fig.axes[0].collections[0].get_array().reshape(91, 180)
    # a planar array: the look direction and its mirror below the plane both peak at 0 dB
    assert data[(30 + 90) // 2, 60] == pytest.approx(0.0, abs=1e-9)
    assert data[(-30 + 90) // 2, 60] == pytest.approx(0.0, abs=1e-9)
    assert 2 * np.argmax(data[(30 + 90) // 2]) == 120
    assert data[(30 + 90) // 2, 150] < -3.0  # 180 degrees away in azimuth
    sd = superdirective(g, (120, 30), freqs)
    fig = ak.plot.plot_beam_metrics({"das": w, "superdirective": sd}, g, freqs, (120, 30))
    wng_das = fig.axes[0].get_lines()[0].get_ydata()
    np.testing.assert_allclose(wng_das, 10 * np.log10(16), atol=1e-9)
