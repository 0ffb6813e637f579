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

ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "office-ula32"
CLIP = "male_1"  # played from each loudspeaker for delays and directions
START, SECONDS = 0.5, 2.0  # the part of the clip, s
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


# ------------------------------------------------------------------------- GCC-PHAT
def _conditions(data: OfficeULA32, cal: Calibration, s: int, x: np.ndarray, fs: int):
    """(label, signals, source position): the naive and the calibrated evaluation."""
    return (
        ("listed / raw", x, data.listed_positions[s]),
        ("calibrated / aligned", cal.align(x, fs), cal.positions[s]),
    )


def predicted_delays(geometry: ak.ArrayGeometry, position: np.ndarray, pairs: np.ndarray):
    """Near-field delay of microphone ``i`` relative to ``j`` for each pair ``(i, j)``, s."""
    r = np.linalg.norm(geometry.positions - position, axis=1)
    return (r[pairs[:, 0]] - r[pairs[:, 1]]) / ak.SPEED_OF_SOUND


def gcc_table(data: OfficeULA32, cal: Calibration, *, fs: int = 16000) -> str:
    """GCC-PHAT delay errors of neighbouring (3 cm) and 4-apart (12 cm) pairs, µs.

    Whole band as the naive user runs it, then (calibrated) restricted to 300-6000 Hz
    with ``freq_range``, which keeps the clip's nearly empty top bins out of PHAT.
    """
    from arraykit.gcc import gcc_phat_pairs

    g = data.geometry
    pairs = {k: np.array([(m + k, m) for m in range(g.n_mics - k)]) for k in (1, 4)}
    rows = []
    for s, sid in enumerate(data.source_ids):
        x = render_source(data, sid, CLIP, fs=fs, seconds=SECONDS, start_seconds=START)
        cells = [str(sid)]
        runs = [(sig, pos, None) for _label, sig, pos in _conditions(data, cal, s, x, fs)]
        runs.append((runs[-1][0], runs[-1][1], (300.0, 6000.0)))
        for sig, pos, band in runs:
            for pr in pairs.values():
                taus, _ = gcc_phat_pairs(sig, fs, pairs=pr, geometry=g, freq_range=band)
                err = np.abs(taus - predicted_delays(g, pos, pr)) * 1e6
                p90 = np.percentile(err, 90)
                cells.append(f"{np.median(err):.1f} / {p90:.1f} / {np.max(err):.1f}")
        rows.append(cells)
    head = ["source"] + [
        f"{label}, {k}"
        for label in ("listed / raw", "calibrated / aligned", "calibrated, 300–6000 Hz")
        for k in ("3 cm", "12 cm")
    ]
    return table(head, rows)


# ------------------------------------------------------------------- sub-array DOA
# the methods the README's office-ula32 tables were measured with: a deliberate subset of
# ak.doa.METHODS (CSSM and WAVES, added later, have not been validated on these data yet)
DOA_METHODS = ("srp-phat", "music", "normmusic", "tops", "tdoa-ls")
assert set(DOA_METHODS) <= set(ak.doa.METHODS), "a validated method left the registry"
DOA_BAND = (300.0, 5500.0)


def subarray_doa_errors(data: OfficeULA32, cal: Calibration, *, fs: int = 16000) -> dict:
    """Far-field DOA error (degrees) of every sub-array, method and condition.

    Returns ``{(n_mics, method, condition): (S, n_subarrays) array}``. The truth is
    the direction from each sub-array's centre to the loudspeaker; a line array
    cannot tell its two sides apart, so the nearer of the estimate and its mirror
    counts.
    """
    from arraykit.doa.grids import angular_distance

    g = data.geometry
    # the loudspeakers' side of the array (x > 0), every 0.25 degree
    az = np.arange(-90.0, 90.0 + 1e-9, 0.25)
    grid = np.stack([np.mod(az, 360.0), np.zeros_like(az)], axis=1)
    out: dict = {}
    for s, sid in enumerate(data.source_ids):
        x = render_source(data, sid, CLIP, fs=fs, seconds=SECONDS, start_seconds=START)
        for label, sig, pos in _conditions(data, cal, s, x, fs):
            for n in (4, 8):
                for k0 in range(0, g.n_mics, n):
                    idx = list(range(k0, k0 + n))
                    sub = g.subarray(idx)
                    rel = pos - sub.centroid
                    truth = [np.degrees(np.arctan2(rel[1], rel[0])), 0.0]
                    for method in DOA_METHODS:
                        res = ak.doa.locate(
                            sig[idx], fs, sub, method=method, freq_range=DOA_BAND,
                            grid=None if method == "tdoa-ls" else grid,
                        )  # fmt: skip
                        est = [res.azimuth[0], res.elevation[0]]
                        err = float(angular_distance(est, truth))
                        if np.all(np.isfinite(res.mirror[0])):
                            err = min(err, float(angular_distance(res.mirror[0], truth)))
                        out.setdefault((n, method, label), []).append((s, err))
    return {
        key: np.array([e for _, e in val]).reshape(data.n_sources, -1) for key, val in out.items()
    }


def doa_tables(data: OfficeULA32, errors: dict) -> str:
    rows = []
    for s, sid in enumerate(data.source_ids):
        cells = [str(sid)]
        for label in ("listed / raw", "calibrated / aligned"):
            for n in (4, 8):
                e = errors[(n, "srp-phat", label)][s]
                cells.append(f"{np.median(e):.1f} / {np.max(e):.1f}")
        rows.append(cells)
    head = ["source"] + [
        f"{label}, {n} mics" for label in ("listed / raw", "calibrated / aligned") for n in (4, 8)
    ]
    per_source = "SRP-PHAT, median / max over the sub-arrays:\n\n" + table(head, rows)
    rows = []
    for method in DOA_METHODS:
        cells = [method]
        for label in ("listed / raw", "calibrated / aligned"):
            for n in (4, 8):
                e = errors[(n, method, label)].ravel()
                cells.append(f"{np.median(e):.1f} / {np.percentile(e, 90):.1f} / {np.max(e):.1f}")
        rows.append(cells)
    head = ["method"] + [
        f"{label}, {n} mics" for label in ("listed / raw", "calibrated / aligned") for n in (4, 8)
    ]
    every = "Every method, median / 90th percentile / max over all sources and sub-arrays:"
    return per_source + "\n\n" + every + "\n\n" + table(head, rows)


# -------------------------------------------------------------------- near field
def locate_near(signals: np.ndarray, fs: int, geometry: ak.ArrayGeometry) -> np.ndarray:
    """SRP-PHAT over candidate positions: 2 cm over the room's half-plane, refined to 2.5 mm."""
    from arraykit.doa.grids import plane_points

    coarse = plane_points((0.05, 1.25), (-0.3, 1.2), 0.02)
    return ak.doa.locate(
        signals,
        fs,
        geometry,
        freq_range=DOA_BAND,
        points=coarse,
        point_resolution=0.0025,
        srp_kernel="lookup",
    ).positions[0]


def nearfield_table(data: OfficeULA32, cal: Calibration, *, fs: int = 16000) -> str:
    rows = []
    for s, sid in enumerate(data.source_ids):
        x = render_source(data, sid, CLIP, fs=fs, seconds=SECONDS, start_seconds=START)
        cells = [str(sid)]
        for label, sig, _ in _conditions(data, cal, s, x, fs):
            p = locate_near(sig, fs, data.geometry)
            if label.startswith("calibrated"):
                cells.insert(1, f"({p[0]:.3f}, {p[1]:.3f})")
            cells.append(f"{100 * np.linalg.norm(p - data.listed_positions[s]):.1f}")
            cells.append(f"{100 * np.linalg.norm(p - cal.positions[s]):.1f}")
        rows.append(cells)
    head = [
        "source",
        "found (x, y) m, aligned",
        "raw: cm from listed",
        "raw: cm from calibrated",
        "aligned: cm from listed",
        "aligned: cm from calibrated",
    ]
    return table(head, rows)


# ---------------------------------------------------------------------- beamforming
# delay-and-sum against the two designs that use the recording's statistics (a subset of
# the registry: the README's table compares exactly these)
BF_METHODS = ("das", "mvdr", "mpdr")
LEAD = 1.0  # seconds of interferer alone: MVDR's noise-only segment


def beamforming_table(data: OfficeULA32, cal: Calibration, *, fs: int = 16000) -> str:
    """SNR (here SIR) and SI-SDR improvement over the reference microphone, dB."""
    g = data.geometry
    rows = []
    for tgt, intf in PAIRS:
        mix = render_mixture(
            data, tgt, intf, target_clip="female_1", interferer_clip="male_1", fs=fs,
            seconds=3.0, start_seconds=START, lead_seconds=LEAD,
        )  # fmt: skip
        cells = [str(tgt), str(intf)]
        s = data.index(tgt)
        for aligned, pos in ((False, data.listed_positions[s]), (True, cal.positions[s])):
            prep = (lambda z: cal.align(z, fs)) if aligned else (lambda z: z)
            scores = ak.beamform.compare_methods(
                prep(mix.signals), fs, g, None, target_image=prep(mix.target),
                methods=BF_METHODS, noise=(0.0, LEAD - 0.05), point=pos, ref=mix.reference,
                nfft=1024,
            )  # fmt: skip
            cells += [f"{sc.snr_gain_db:+.1f} / {sc.si_sdr_gain_db:+.1f}" for sc in scores]
        rows.append(cells)
    head = ["target", "interferer"] + [
        f"{m.upper()} {k}" for k in ("listed / raw", "calibrated / aligned") for m in BF_METHODS
    ]
    return table(head, rows)


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
    print("\n### GCC-PHAT delays against the prediction (error median / 90th pct / max, µs)\n")
    print(gcc_table(data, cal))
    print("\n### Far-field DOA on sub-arrays (error in degrees)\n")
    print(doa_tables(data, subarray_doa_errors(data, cal)))
    print("\n### Near-field localization with the full array (SRP-PHAT)\n")
    print(nearfield_table(data, cal))
    print("\n### Beamforming toward one of two loudspeakers (SNR / SI-SDR gain, dB)\n")
    print(beamforming_table(data, cal))
    print(f"\n(total {time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
