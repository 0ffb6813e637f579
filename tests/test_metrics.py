"""Signal metrics: SNR, SI-SDR and improvement."""

from __future__ import annotations

import numpy as np
import pytest

from arraykit.metrics import improvement, si_sdr, snr


def test_snr_is_the_power_ratio():
    rng = np.random.default_rng(0)
    s = rng.standard_normal(4000)
    n = rng.standard_normal(4000)
    assert snr(s, 0.1 * n) == pytest.approx(10 * np.log10(np.sum(s**2) / np.sum(0.01 * n**2)))
    assert snr(s, s / np.sqrt(10)) == pytest.approx(10.0)
    batched = snr(np.stack([s, s]), np.stack([n, 2 * n]))
    assert batched[0] - batched[1] == pytest.approx(20 * np.log10(2))


def test_si_sdr_known_values():
    rng = np.random.default_rng(1)
    r = rng.standard_normal(8000)
    r -= r.mean()
    e = rng.standard_normal(8000)
    e -= e.mean()
    e -= (e @ r) / (r @ r) * r  # orthogonal to the reference
    e *= np.linalg.norm(r) / np.linalg.norm(e) / np.sqrt(10)  # 10 dB below
    assert si_sdr(r, r + e) == pytest.approx(10.0, abs=1e-9)
    assert si_sdr(r, 3.0 * (r + e)) == pytest.approx(10.0, abs=1e-9)  # scale-invariant
    assert si_sdr(r, -(r + e)) == pytest.approx(10.0, abs=1e-9)
    assert improvement(r, r + e, r + 0.1 * e) == pytest.approx(20.0, abs=1e-9)


def test_bad_input():
    with pytest.raises(ValueError, match=r"estimate=.*same shape as reference \(5,\)"):
        si_sdr(np.ones(5), np.ones(4))
    with pytest.raises(ValueError, match=r"reference=.*all zeros"):
        si_sdr(np.zeros(5), np.ones(5), zero_mean=False)
    with pytest.raises(ValueError, match=r"metric='pesq'"):
        improvement(np.ones(5), np.ones(5), np.ones(5), metric="pesq")


def test_si_sdr_is_bss_evals_own():
    """Ours (a few lines, no dependency for the default install) against fast_bss_eval's
    (the field's package; the dev extra), batched, with and without the means."""
    fbe = pytest.importorskip("fast_bss_eval.numpy")
    rng = np.random.default_rng(2)
    r = rng.standard_normal((3, 4000)) + 0.2
    e = 0.5 * r + rng.standard_normal((3, 4000)) * np.array([[0.1], [1.0], [3.0]])
    for zero_mean in (True, False):
        ours = si_sdr(r, e, zero_mean=zero_mean)
        np.testing.assert_allclose(ours, fbe.si_sdr(r, e, zero_mean=zero_mean), atol=1e-8)
    assert np.all(np.diff(ours) < -5)  # 20, 0 and -9.5 dB apart by construction
