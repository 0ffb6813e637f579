"""Validation on real measurements: the office-ula32 impulse responses (../shared/data).

The data set is not part of the repository (GPL-3.0, 15 MB); every test here skips
with a message when it is absent. The bounds are the errors measured by
``benchmarks/validate_office.py`` (tables in the README) with a safety margin.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arraykit.datasets import (
    calibrate,
    direct_path_onsets,
    load_office_ula32,
    render_mixture,
    render_source,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "office-ula32"

pytestmark = pytest.mark.skipif(
    not (DATA / "sources.csv").is_file(),
    reason=f"office-ula32 measurements not found at {DATA} (they live beside the repo, in ../shared)",
)


@pytest.fixture(scope="module")
def data():
    return load_office_ula32(DATA, rir_seconds=0.1)


@pytest.fixture(scope="module")
def cal(data):
    return calibrate(data)


# ----------------------------------------------------------------------- loading
def test_loader_reads_the_layout(data):
    assert data.source_ids == (1, 3, 5, 7, 9)
    assert data.rirs.shape == (5, 32, 4800)
    assert data.fs == 48000
    assert data.dry_fs == 16000
    assert data.geometry.n_mics == 32
    assert np.allclose(data.geometry.positions[:, 1], 0.03 * np.arange(32))
    assert data.listed_positions.shape == (5, 3)
    assert np.allclose(data.listed_positions[0], [0.331099, 0.086288, 0.0])
    assert {"female_1", "male_1", "music_1"} <= set(data.dry)
    assert data.dry["female_1"].shape == (160000,)
    assert not data.rirs.flags.writeable


def test_loader_subset_and_bad_input(tmp_path):
    sub = load_office_ula32(DATA, sources=[9, 1], rir_seconds=0.01)
    assert sub.source_ids == (9, 1)
    assert sub.rirs.shape == (2, 32, 480)
    assert sub.index(1) == 1
    with pytest.raises(ValueError, match="source=4"):
        sub.index(4)
    with pytest.raises(ValueError, match="sources="):
        load_office_ula32(DATA, sources=[2])
    with pytest.raises(ValueError, match=r"no sources\.csv"):
        load_office_ula32(tmp_path)


# ------------------------------------------------------------------- calibration
def test_odd_channels_arrive_one_sample_early(data, cal):
    """The README's quirk, measured: odd channels lead the even ones by ~1 sample."""
    odd_lead = -cal.channel_offsets_s[1] * data.fs
    assert 0.9 < odd_lead < 1.2  # measured 1.07 samples
    assert np.all(cal.channel_offsets_s[::2] == 0.0)
    assert np.allclose(cal.channel_offsets_s[1::2], cal.channel_offsets_s[1])


def test_point_source_fits_the_arrivals_to_a_fraction_of_a_sample(data, cal):
    """With the odd/even latency removed a point source explains all 32 arrivals."""
    assert np.all(cal.rms_samples < 0.2)  # measured 0.09-0.14 sample
    assert np.max(np.abs(cal.residuals_samples)) < 0.4  # measured 0.26
    uncorrected = calibrate(data, offsets="none")
    assert np.all(uncorrected.rms_samples > 0.45)  # measured 0.54: the quirk is real


def test_true_sources_are_nearer_than_listed(cal):
    """The README's second quirk: 3 to 10 cm nearer the array than sources.csv says."""
    assert np.all(cal.range_change_m < -0.03)  # measured -4.6 to -8.8 cm
    assert np.all(cal.range_change_m > -0.12)
    assert np.all(cal.shift_m < 0.12)


def test_per_channel_offsets_agree_with_the_odd_even_model(data, cal):
    full = calibrate(data, offsets="per-channel")
    assert np.all(full.rms_samples < 0.06)  # measured 0.02-0.035 sample
    step = (full.channel_offsets_s[1::2] - full.channel_offsets_s[0::2]) * data.fs
    assert np.all((-1.6 < step) & (step < -0.6))  # every odd channel ~1 sample early
    assert np.max(np.linalg.norm(full.positions - cal.positions, axis=1)) < 0.04


def test_common_latency_model_agrees_within_a_few_centimetres(cal, data):
    common = calibrate(data, latency="common")
    assert np.all(common.rms_samples < 0.25)  # measured 0.12-0.18 sample
    assert np.ptp(common.emission_s) == 0.0
    assert np.max(np.linalg.norm(common.positions - cal.positions, axis=1)) < 0.05  # 3.3 cm
    assert np.all(common.range_change_m < -0.03)


def test_align_removes_the_fitted_latency(data, cal):
    onsets = direct_path_onsets(data.rirs[:, :, :1000], data.fs)
    aligned = np.stack([cal.align(h, data.fs) for h in data.rirs[:, :, :1000]])
    after = direct_path_onsets(aligned, data.fs)
    moved = (after - onsets) * data.fs
    assert np.allclose(moved[:, 1::2], 1.07, atol=0.05)
    assert np.allclose(moved[:, 0::2], 0.0, atol=0.05)


def test_calibration_bad_input(data):
    with pytest.raises(ValueError, match="offsets='odd'"):
        calibrate(data, offsets="odd")
    with pytest.raises(ValueError, match="per-channel"):
        calibrate(load_office_ula32(DATA, sources=[1], rir_seconds=0.01), offsets="per-channel")
    with pytest.raises(ValueError, match="rirs="):
        direct_path_onsets(np.zeros((2, 100)), 48000.0)


# ---------------------------------------------------------------------- mixtures
def test_render_source_resamples_consistently(data):
    """The same clip at 16 kHz and at 48 kHz gives the same microphone images."""
    lo = render_source(data, 5, "female_1", fs=16000, seconds=0.25, start_seconds=1.0)
    hi = render_source(data, 5, "female_1", fs=48000, seconds=0.25, start_seconds=1.0)
    assert lo.shape == (32, 4000)
    assert hi.shape == (32, 12000)
    back = hi[:, ::3]
    err = np.linalg.norm(back[:, 200:] - lo[:, 200:]) / np.linalg.norm(lo[:, 200:])
    assert err < 0.05


def test_mixture_sets_the_input_sir(data):
    mix = render_mixture(data, 3, 7, seconds=0.5, sir_db=-3.0, reference=16)
    ref = mix.reference
    sir = 10 * np.log10(np.mean(mix.target[ref] ** 2) / np.mean(mix.interferer[ref] ** 2))
    assert sir == pytest.approx(-3.0, abs=1e-9)
    assert np.allclose(mix.signals, mix.target + mix.interferer)
    with pytest.raises(ValueError, match="interferer=3"):
        render_mixture(data, 3, 3)
    with pytest.raises(ValueError, match="clip='nope'"):
        render_source(data, 3, "nope")
