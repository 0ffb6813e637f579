"""Validation on real measurements: the office-ula32 impulse responses (RS-MNMF, PoliMi).

Prints the markdown tables of the README section "Validation on real measurements":

1. calibration: channel latencies and loudspeaker positions fitted to the
   direct-path arrivals of the impulse responses (arraykit.datasets.calibrate);
2. GCC-PHAT delays of microphone pairs against the delays the geometry predicts;
3. far-field DOA on 4- and 8-microphone sub-arrays against the direction from
   each sub-array's centre to the loudspeaker;
4. near-field localization of the loudspeaker with the full 32-microphone array;
5. beamforming toward one of two loudspeakers playing at once (near-field
   steering at its position): SIR improvement over the reference microphone.

Each is run with the listed positions and raw channels (what a naive user gets) and
with the calibrated positions and latency-corrected channels.

Usage::

    .venv/bin/python benchmarks/validate_office.py [--root ../shared/data/office-ula32]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import arraykit as ak
from arraykit.datasets import (
    Calibration,
    OfficeULA32,
    calibrate,
    load_office_ula32,
    render_mixture,
    render_source,
)
from arraykit.stft import stft, stft_frequencies

ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "office-ula32"
CLIP = "female_1"
PAIRS = [(1, 9), (3, 7), (5, 1), (7, 3), (9, 5)]  # (target, interferer)


def table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# -------------------------------------------------------------------- calibration
def calibration_table(data: OfficeULA32, cal: Calibration, full: Calibration) -> str:
    rows = []
    for s, sid in enumerate(data.source_ids):
        lx, ly = data.listed_positions[s, :2]
        fx, fy = cal.positions[s, :2]
        rows.append(
            [
                str(sid),
                f"({lx:.3f}, {ly:.3f})",
                f"({fx:.3f}, {fy:.3f})",
                f"{100 * cal.range_change_m[s]:+.1f}",
                f"{100 * cal.shift_m[s]:.1f}",
                f"{cal.emission_s[s] * data.fs:.1f}",
                f"{cal.rms_samples[s]:.3f}",
                f"{np.max(np.abs(cal.residuals_samples[s])):.2f}",
                f"{full.rms_samples[s]:.3f}",
            ]
        )
    head = [
        "source",
        "listed (x, y) m",
        "fitted (x, y) m",
        "range change cm",
        "shift cm",
        "latency (samples)",
        "RMS residual (samples)",
        "max residual",
        "RMS, per-channel offsets",
    ]
    odd = -cal.channel_offsets_s[1] * data.fs
    step = (full.channel_offsets_s[1::2] - full.channel_offsets_s[0::2]) * data.fs
    note = (
        f"Odd channels lead the even ones by {odd:.2f} samples ({1e6 * odd / data.fs:.1f} µs) "
        f"(odd-even model; per-channel model: odd minus preceding even "
        f"{-step.max():.2f} to {-step.min():.2f} samples)."
    )
    return table(head, rows) + "\n\n" + note


# ---------------------------------------------------------------------- beamforming
def beamforming_table(data: OfficeULA32, cal: Calibration, *, fs: int = 16000) -> str:
    """SIR improvement (dB) over the reference microphone, for several target/interferer pairs."""
    nfft = 1024
    freqs = stft_frequencies(fs, nfft=nfft)
    g = data.geometry
    rows = []
    for tgt, intf in PAIRS:
        mix = render_mixture(
            data,
            tgt,
            intf,
            target_clip=CLIP,
            interferer_clip="male_1",
            fs=fs,
            seconds=3.0,
            start_seconds=0.5,
        )
        # A noise-only segment: the interferer alone, later in its clip (MVDR is
        # invariant to the scale of the noise covariance; the loading is relative).
        noise_only = render_source(data, intf, "male_1", fs=fs, seconds=2.0, start_seconds=5.0)
        cells = [str(tgt), str(intf)]
        for aligned, pos in (
            (False, data.listed_positions[data.index(tgt)]),
            (True, cal.positions[data.index(tgt)]),
        ):
            prep = (lambda x: cal.align(x, fs)) if aligned else (lambda x: x)
            XS = stft(prep(mix.target), fs, nfft=nfft)
            XI = stft(prep(mix.interferer), fs, nfft=nfft)
            XN = stft(prep(noise_only), fs, nfft=nfft)
            sir_in = _sir(XS[mix.reference], XI[mix.reference])
            Rn = ak.beamform.covariance(XN)
            Rx = ak.beamform.covariance(XS + XI)
            weights = {
                "das": ak.beamform.delay_and_sum(g, None, freqs, point=pos),
                "mvdr": ak.beamform.mvdr(
                    g, None, freqs, Rn, point=pos, loading=1e-3, loading_mode="trace"
                ),
                "mpdr": ak.beamform.mpdr(
                    g, None, freqs, Rx, point=pos, loading=1e-2, loading_mode="trace"
                ),
            }
            for w in weights.values():
                cells.append(f"{_sir(_apply(w, XS), _apply(w, XI)) - sir_in:+.1f}")
        rows.append(cells)
    head = ["target", "interferer"] + [
        f"{m} {k}" for k in ("listed/raw", "calibrated/aligned") for m in ("DAS", "MVDR", "MPDR")
    ]
    return table(head, rows)


def _apply(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    return np.einsum("fm,mft->ft", w.conj(), X)


def _sir(Ys: np.ndarray, Yi: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(np.abs(Ys) ** 2) / np.sum(np.abs(Yi) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args()
    t0 = time.perf_counter()
    data = load_office_ula32(args.root, rir_seconds=0.2)
    cal = calibrate(data)
    full = calibrate(data, offsets="per-channel")
    print("### Calibration from the direct-path arrivals\n")
    print(calibration_table(data, cal, full))
    print("\n### Beamforming toward one of two loudspeakers\n")
    print(beamforming_table(data, cal))
    print(f"\n(total {time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
