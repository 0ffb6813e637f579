"""Diagnostics plots draw what the diagnostics compute."""

from __future__ import annotations

import numpy as np
import pytest

import arraykit as ak
from arraykit.diagnostics import sweep, tolerance

plt = pytest.importorskip("matplotlib.pyplot")
LINE8 = ak.ArrayGeometry.linear(8, 0.05)
FREQS = np.linspace(200, 4000, 20)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_sweep_heat_map_holds_the_gains():
    s = sweep(LINE8, FREQS, method="mpdr", source=(70, 0), errors=np.arange(0, 5.5, 0.5), snr_db=10)
    fig = ak.plot.plot_steering_sweep(s, floor_db=-40)
    mesh = fig.axes[0].collections[0]
    np.testing.assert_allclose(
        np.asarray(mesh.get_array()).reshape(s.gain_db.shape), np.maximum(s.gain_db, -40)
    )
    assert "steering error in azimuth" in fig.axes[0].get_ylabel()


def test_tolerance_curves_and_report():
    t = tolerance(LINE8, FREQS, method="das", source=(90, 0), max_error=40)
    fig = ak.plot.plot_tolerance(t)
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == ["1 dB loss", "3 dB loss", "6 dB loss"]
    np.testing.assert_allclose(lines[1].get_ydata(), t.errors[1])
    s = sweep(LINE8, FREQS, method="das", source=(90, 0), errors=[0, 5, 10])
    fig2 = ak.plot.plot_steering_report(s, t, title="x")
    assert len([a for a in fig2.axes if a.get_xlabel()]) == 2


def test_predicted_vs_measured_and_loading_tradeoff():
    fig = ak.plot.plot_predicted_vs_measured(
        [0, 5], {"das": [0, -1], "mpdr": [0, -5]}, {"das": [0.1, -1.1]}
    )
    labels = [ln.get_label() for ln in fig.axes[0].get_lines()]
    assert labels == ["das predicted", "das measured", "mpdr predicted"]
    fig = ak.plot.plot_loading_tradeoff([0.1, 1, 10], [-9, -3, -1], [2, 8, 12], [20, 19, 15])
    ln = fig.axes[0].get_lines()
    np.testing.assert_allclose(ln[1].get_ydata(), [2, 8, 12])
    assert len(ln) == 3
