"""GCC-PHAT of a long pair: time and peak memory, arraykit against pyroomacoustics.

Run: ``.venv/bin/python benchmarks/bench_gcc.py [minutes]`` (default 10). Prints a
markdown table. One run per implementation on identical inputs (a white-noise pair at
16 kHz, the second delayed by 13 samples), each in its own process so that the peak
resident memory (``ru_maxrss``) is that implementation's alone; the input arrays
(float64) are counted in it.

- arraykit ``gcc_phat`` with its defaults (``max_tau=None``, ``interp=16``): inputs
  this long are frame-averaged over a ±``LONG_WINDOW`` lag window (bounded memory).
- pyroomacoustics ``experimental.localization.tdoa`` (``interp=1``, PHAT): one FFT
  of the whole pair (memory grows with the length).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

FS = 16000
DELAY = 13


def _one(which: str, minutes: float) -> dict:
    import numpy as np

    n = int(minutes * 60 * FS)
    ref = np.random.default_rng(0).standard_normal(n)
    sig = np.concatenate([np.zeros(DELAY), ref[:-DELAY]])
    if which == "arraykit":
        from arraykit.gcc import gcc_phat as run
    else:
        from pyroomacoustics.experimental.localization import tdoa as run
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    tau = run(sig, ref, fs=FS)
    tau = tau[0] if isinstance(tau, tuple) else tau
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MB (Linux: kB)
    return {
        "which": which,
        "seconds": seconds,
        "peak_mb": peak,
        "before_mb": before,
        "delay": float(tau * FS),
    }


def main() -> None:
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    if len(sys.argv) > 2:  # child
        print(json.dumps(_one(sys.argv[2], minutes)))
        return
    rows = []
    for which in ("arraykit", "pyroomacoustics"):
        out = subprocess.run(
            [sys.executable, __file__, str(minutes), which], capture_output=True, text=True
        )
        if out.returncode != 0:
            rows.append({"which": which, "error": out.stderr.strip().splitlines()[-1]})
        else:
            rows.append(json.loads(out.stdout))
    n = int(minutes * 60 * FS)
    print(
        f"GCC-PHAT of a {minutes:g}-minute pair at {FS} Hz ({n} samples each), true delay "
        f"{DELAY} samples; one run each\n"
    )
    print(
        "| implementation | time (s) | peak memory (MB) | of which before the call "
        "(imports, inputs) | delay found |"
    )
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['which']} | - | - | - | failed: {r['error']} |")
        else:
            print(
                f"| {r['which']} | {r['seconds']:.1f} | {r['peak_mb']:.0f} | "
                f"{r['before_mb']:.0f} | {r['delay']:.2f} |"
            )


if __name__ == "__main__":
    main()
