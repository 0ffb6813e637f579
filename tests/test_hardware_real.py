"""Hardware in the loop: run with ``pytest -m hardware`` with an array plugged in.

Deselected by default (CI has no array); each test skips when its device is absent.
"""

from __future__ import annotations

import numpy as np
import pytest

import arraykit as ak

pytestmark = pytest.mark.hardware
hw = ak.hardware


def _ready():
    ready = [d for d in hw.list_devices() if d.usable]
    if not ready:
        pytest.skip("no microphone array plugged in (arraykit devices)")
    return ready[0]


def test_a_plugged_in_array_records_two_seconds_without_loss():
    info = _ready()
    with hw.open(info.index) as dev:
        x = dev.record(2.0)
    assert x.shape == (dev.geometry.n_mics, 2 * dev.fs)
    assert np.all(np.isfinite(x)) and np.all(np.abs(x) <= 1.0)
    assert np.all(x.std(axis=1) > 0), "a silent channel: run arraykit check"
    assert dev.overflows == []


def test_a_plugged_in_array_passes_the_self_check_for_liveness():
    info = _ready()
    from arraykit.hardware.check import check_signals

    with hw.open(info.index) as dev:
        x = dev.record(1.0)
    report = check_signals(x.astype(float), dev.fs, dev.geometry)
    assert not any(s.dead for s in report.channels), report.summary()


@pytest.mark.parametrize("cls", [hw.XVF3000, hw.XVF3800])
def test_a_plugged_in_xmos_array_answers(cls):
    try:
        chip = cls()
    except (hw.DeviceNotFoundError, hw.BackendMissingError) as exc:
        pytest.skip(str(exc))
    with chip:
        angle = chip.doa() if cls is hw.XVF3000 else chip.doa()[0]
        assert 0 <= angle < 360
        chip.led_point(0.0)
        chip.led_off()
        if cls is hw.XVF3800:
            assert len(chip.version()) == 3
            assert chip.mic_geometry().n_mics == 4
