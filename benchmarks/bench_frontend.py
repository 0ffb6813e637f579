"""The live front end (``arraykit track``) against issue 14's targets.

    nice .venv/bin/python benchmarks/bench_frontend.py [--seeds 16] [--png docs/track_view.png]

1. Meetings (:func:`arraykit.frontend.scoring.meeting`): two talkers, one still and one
   walking a 90 degree arc at 30 degrees/s, turns, overlaps and a 2 s pause, 8 s,
   RT60 0.3 s (full image order), 20 dB SNR, on the 46 mm six-microphone circle and
   the four-microphone ReSpeaker USB array; `--seeds` scenes each (four layouts,
   the speech and noise differ with every seed). Tracking: matched azimuth errors,
   identity swaps, confirmation delays, false tracks, OSPA. Separation: per-track
   SIR gain and SI-SDR from the oracle images (MVDR and delay-and-sum per track), and
   BSS-eval's SDR / SIR / SAR (fast_bss_eval) of the two talkers' tracks.
2. Noise only: 60 s of a fan (a directional broadband noise with blade-pass
   harmonics, 1.5 m away) plus sensor noise; false tracks per minute for the WebRTC
   VAD and the energy detector.
3. office-ula32 (measured responses, ../shared/data): two loudspeakers at once, 8-mic
   sub-arrays; both tracked at their positions and each track's SIR gain. And the
   meetings again with real voices (the data's anechoic clips) as the talkers, for each
   activity detector (``speech``).
5. A small line (``line``): the 4-mic 40 mm line in 5 s scenes of level-modulated diffuse
   noise (false tracks per minute) and with two talkers (8 s, turns as the meetings',
   40 degrees or more apart in its half plane), without and with ``diffuse_floor``;
   noise seeds ``--line-first`` to ``--line-first + 2 * seeds - 1``, talkers
   ``--line-first`` to ``--line-first + seeds - 1`` (16 and 16 seeds held out; 0 and 16
   chose the floor).
4. Speed: CPU time per audio time (one thread) of the whole pipeline with two
   tracks, 6 mics at 16 kHz and 16 mics (uma-16) at 48 kHz, the defaults and the
   settings that trade quality for speed, interleaved block by block; algorithmic
   latency.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

import arraykit as ak
from arraykit.frontend import FrontendOptions, Pipeline, scoring

FS = 16000
OFFICE = Path(__file__).resolve().parents[2] / "shared" / "data" / "office-ula32"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _owner(reports: list, truth, tid: int) -> int:
    """The source a track followed most of its life."""
    votes = []
    for r in reports:
        for t in r.tracks:
            if t.id == tid:
                d = [abs((t.azimuth - a + 180) % 360 - 180) for a in truth(r.t)[:, 0]]
                votes.append(int(np.argmin(d)))
    return int(np.bincount(votes).argmax()) if votes else -1


def _followed(reports: list, truth, false_tracks) -> dict[int, int]:
    """``{track ID: source}``: each track that is not a false one, and the talker it
    followed most of its life (:func:`_owner`)."""
    ids = sorted({t.id for r in reports for t in r.tracks} - set(false_tracks))
    return {tid: k for tid in ids if (k := _owner(reports, truth, tid)) >= 0}


def meetings(
    name: str, seeds: int, cache: dict, args_activity: str = "auto", zones: bool | None = None
) -> dict:
    g = ak.load_geometry(name)
    out: dict = {"err": [], "swaps": 0, "delay": [], "false": 0, "ospa": [], "sep": [], "bss": []}
    for seed in range(seeds):
        m = scoring.meeting(g, seed, rir_cache=cache)
        runs = {}
        for key, sep, pf in (
            ("mvdr", None, True),  # the default (pipeline.default_separation)
            ("plain", "mvdr", False),
            ("das", "das", False),
        ):
            opts = FrontendOptions(
                activity=args_activity, separation=sep, postfilter=pf, zones=zones
            )
            pipe = Pipeline(g, FS, opts)
            runs[key] = (pipe, pipe.process(m.scene.signals) + pipe.finish())
        pipe, reps = runs["mvdr"]
        sc = scoring.track_errors(reps, m.truth, m.active, onsets=m.onsets, lag=0.05)
        out["err"].extend(sc.errors)
        out["swaps"] += sc.swaps
        out["delay"].append(sc.confirm_delays)
        out["false"] += len(sc.false_tracks)
        out["ospa"].append(sc.ospa)
        followed = _followed(reps, m.truth, sc.false_tracks)
        for tid, k in followed.items():
            s_in, s_out, sdr = scoring.sir_gain(pipe, reps, m.scene.images, tid, k)
            row = [s_out - s_in, sdr]
            for key in ("plain", "das"):  # the same tracks (tracking does not depend on it)
                ids = {t.id for r in runs[key][1] for t in r.tracks}
                d = scoring.sir_gain(*runs[key], m.scene.images, tid, k) if tid in ids else None
                row += [(d[1] - d[0]) if d else np.nan, d[2] if d else np.nan]
            out["sep"].append(row)
        owners = {k: tid for tid, k in followed.items()}
        if sorted(owners) == [0, 1]:  # both talkers tracked (the same tracks in each run)
            out["bss"].append([bss_eval(*runs[key], m.scene.images, owners) for key in runs])
        print(
            f"  {name} seed {seed}: median err {np.median(sc.errors):.1f}, swaps {sc.swaps}, "
            f"delays {np.round(sc.confirm_delays, 2)}, false {sc.false_tracks}",
            flush=True,
        )
    return out


def bss_eval(pipe: Pipeline, reps: list, images: np.ndarray, owners: dict[int, int]) -> np.ndarray:
    """BSS-eval (fast_bss_eval, a 512-tap distortion filter as BSS Eval's) of the talkers'
    tracks ``owners`` (source -> track ID) against the talkers' images at microphone 0:
    ``(K, 4)`` SDR, SIR, SAR in dB and whether the track went to its own talker, over
    the samples where every one of them exists, each output moved to microphone 0
    (``replay``'s ``ref_mic``)."""
    import fast_bss_eval

    mix = images.sum(axis=0)
    out = scoring.replay(pipe, reps, mix, ref_mic=0)
    est = np.stack([out[owners[k]] for k in range(len(owners))])
    both = np.flatnonzero(np.all(est != 0, axis=0))
    if both.size == 0:  # the two tracks never existed at once
        return np.full((len(owners), 4), np.nan)
    sl = slice(both[0], both[-1] + 1)
    # with BSS Eval's usual permutation search (compute_permutation=False fails under
    # NumPy 2 in fast_bss_eval 0.1.4); the last column says whether it paired each track
    # with its own talker
    sdr, sir, sar, perm = fast_bss_eval.bss_eval_sources(images[:, 0, sl], est[:, sl])
    own = np.asarray(perm) == np.arange(len(owners))
    return np.stack([sdr, sir, sar, own], axis=1)


SPEECH_DETECTORS = ("both", "webrtc", "energy", "silero", "silero+energy")


def real_speech(name: str, seeds: int, detectors: tuple[str, ...] = SPEECH_DETECTORS) -> list:
    """The meetings with real voices (office-ula32's anechoic clips,
    :func:`scoring.meeting_voices`) instead of the synthetic talkers, for each activity
    detector: one table row each (tracking and the default separation)."""
    from arraykit.datasets import load_office_ula32

    dry = load_office_ula32(OFFICE, rir_seconds=0.05).dry
    g = ak.load_geometry(name)
    cache: dict = {}
    scenes = [
        scoring.meeting(g, s, rir_cache=cache, speech=scoring.meeting_voices(dry, s))
        for s in range(seeds)
    ]
    rows = []
    for det in detectors:
        err, delays, false, swaps, gains, active = [], [], 0, 0, [], []
        for m in scenes:
            pipe = Pipeline(g, FS, FrontendOptions(activity=det))
            reps = pipe.process(m.scene.signals) + pipe.finish()
            active.append(np.mean([r.activity >= 0.5 for r in reps]))
            sc = scoring.track_errors(reps, m.truth, m.active, onsets=m.onsets, lag=0.05)
            err.extend(sc.errors)
            delays.append(sc.confirm_delays)
            false += len(sc.false_tracks)
            swaps += sc.swaps
            for tid, k in _followed(reps, m.truth, sc.false_tracks).items():
                s_in, s_out, _ = scoring.sir_gain(pipe, reps, m.scene.images, tid, k)
                gains.append(s_out - s_in)
        d = np.asarray(delays)
        rows.append([name, det, f"{np.median(err):.1f}", f"{np.percentile(err, 90):.1f}",
                     str(swaps), str(false),
                     f"{np.nanmedian(d):.2f}, {int(np.sum(~(d <= 0.3)))} of {d.size}",
                     f"{np.median(gains):+.1f} / {np.min(gains):+.1f}",
                     f"{100 * np.mean(active):.0f} %"])  # fmt: skip
        print("  speech", rows[-1], flush=True)
    return rows


def fan_noise(seconds: float, fs: int, seed: int) -> np.ndarray:
    """A fan: low-passed noise with blade-pass harmonics (about 120 Hz) and a slow wobble."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    n = round(seconds * fs)
    t = np.arange(n) / fs
    x = lfilter([1.0], [1.0, -0.95], rng.standard_normal(n))
    bpf = 120.0 * (1 + 0.01 * np.sin(2 * np.pi * 0.2 * t))
    for h in range(1, 6):
        x += 3.0 / h * np.sin(2 * np.pi * h * np.cumsum(bpf) / fs + rng.uniform(0, 6.3))
    return x / np.sqrt(np.mean(x**2))


NOISE_DETECTORS = ("webrtc", "energy", "both", "silero", "silero+energy")


def noise_only(name: str, seconds: float = 60.0) -> dict:
    g = ak.load_geometry(name)
    fan = ak.sim.Source(fan_noise(seconds, FS, 7), azimuth=230.0, distance=1.5)
    sc = ak.sim.simulate(g, [fan], FS, rt60=0.3, snr_db=20, seed=3)
    res = {}
    for act in NOISE_DETECTORS:
        pipe = Pipeline(g, FS, FrontendOptions(activity=act))
        reps = pipe.process(sc.signals) + pipe.finish()
        ids = {t.id for r in reps for t in r.tracks}
        active = np.mean([r.activity >= 0.5 for r in reps])
        res[act] = (len(ids) / (seconds / 60.0), active)
    return res


def office() -> list[list[str]]:
    from arraykit.datasets import calibrate, load_office_ula32, render_mixture

    data = load_office_ula32(OFFICE, rir_seconds=0.2)
    cal = calibrate(data)
    rows = []
    every: list[float] = []  # the gains unrounded (the table shows one decimal)
    for tgt, intf in [(1, 9), (3, 7), (5, 1), (7, 3), (9, 5)]:
        mix = render_mixture(data, tgt, intf, target_clip="female_1", interferer_clip="male_1",
                             fs=FS, seconds=4.0, start_seconds=0.5, sir_db=0.0)  # fmt: skip
        x = cal.align(mix.signals, FS)
        images = np.stack([cal.align(mix.target, FS), cal.align(mix.interferer, FS)])
        for k0 in (8, 16):
            idx = list(range(k0, k0 + 8))
            sub = data.geometry.subarray(idx)
            truth = []
            for s in (tgt, intf):
                rel = cal.positions[data.index(s)] - sub.centroid
                truth.append(np.degrees(np.arctan2(rel[1], rel[0])) % 360)
            pipe = Pipeline(sub, FS)
            reps = pipe.process(x[idx]) + pipe.finish()
            final = {t.id: t.azimuth for r in reps[-60:] for t in r.tracks}
            cells = [f"{tgt}+{intf}", f"{k0}-{k0 + 7}",
                     " / ".join(f"{a:.0f}" for a in truth)]  # fmt: skip
            found, gains = [], []
            for k, az in enumerate(truth):
                # the line (along y) cannot tell its sides apart: the mirror 180 - az counts
                d = {tid: min(abs((a - az + 180) % 360 - 180), abs((a + az) % 360 - 180))
                     for tid, a in final.items()}  # fmt: skip
                tid = min(d, key=d.get) if d else None
                if tid is None or d[tid] > 10:
                    found.append("—")
                    gains.append("—")
                    continue
                found.append(f"{final[tid]:.0f}")
                s_in, s_out, _ = scoring.sir_gain(pipe, reps, images[:, idx], tid, k)
                gains.append(f"{s_out - s_in:+.1f}")
                every.append(s_out - s_in)
            cells += [" / ".join(found), " / ".join(gains)]
            rows.append(cells)
            print("  office", cells, flush=True)
    g = np.array(every)
    print(
        f"  office: {g.size} tracked, SIR gain median {np.median(g):+.2f} dB, >= 10 dB for "
        f"{int(np.sum(g >= 10.0))} (unrounded), lowest {g.min():+.2f} dB",
        flush=True,
    )
    return rows


SPEED_SETTINGS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "zones=False (the default before on > 4 mics)": {"zones": False},
    "separation_nulls=0 (the default before)": {"separation_nulls": 0.0},
    "postfilter_leak=0 (the default before)": {"postfilter_leak": 0.0},
    "separation_group=1": {"separation_group": 1},
    "separation_group=4": {"separation_group": 4},
    "32 ms frames (the default before)": {"nfft": "32ms"},
    "separation_max_freq=4000": {"separation_max_freq": 4000.0},
    "separation_max_freq=1500": {"separation_max_freq": 1500.0},
    'separation="mvdr"': {"separation": "mvdr"},
    'separation="near"': {"separation": "near"},
    'separation="das"': {"separation": "das"},
    'separation="das", postfilter=False': {"separation": "das", "postfilter": False},
    'activity="silero"': {"activity": "silero"},
    "antipode=0 (the default before)": {"antipode": 0.0},
}


def _options(kw: dict[str, Any], fs: int) -> FrontendOptions:
    """A speed setting's options at `fs` (``nfft="32ms"``: the largest power of two within)."""
    if kw.get("nfft") == "32ms":
        kw = {**kw, "nfft": 2 ** math.floor(math.log2(0.032 * fs))}
    return FrontendOptions(**kw)


def speed(runs: int = 5) -> tuple[list[list[str]], list[list[str]]]:
    """Thread time per audio time of the whole pipeline, two talkers, per setting.

    The settings run in one process block by block in turn (each block's least thread
    time over `runs` runs), so that the machine's other load, which swings a best-of
    total by tens of percent on a shared machine, reaches all of them alike."""
    rows, opt_rows = [], {k: [k] for k in SPEED_SETTINGS}
    for name, fs in (("respeaker-6mic", 16000), ("uma-16", 48000)):
        g = ak.load_geometry(name)
        srcs = [ak.sim.Source(ak.sim.speech_like(6.0, fs, seed=1), 40.0),
                ak.sim.Source(ak.sim.speech_like(6.0, fs, seed=2), 160.0)]  # fmt: skip
        x = ak.sim.simulate(g, srcs, fs, rt60=0.3, snr_db=20, seed=1, max_order=10).signals
        best: dict[str, np.ndarray] = {}
        n_tr = 0
        for _ in range(runs):
            pipes = {k: Pipeline(g, fs, _options(kw, fs)) for k, kw in SPEED_SETTINGS.items()}
            n = pipes["defaults"].block_n
            times = {k: np.zeros(x.shape[1] // n) for k in pipes}
            for b in range(x.shape[1] // n):
                for k, pipe in pipes.items():
                    c0 = time.thread_time()
                    reps = pipe.process(x[:, b * n : (b + 1) * n])
                    times[k][b] = time.thread_time() - c0
                    if k == "defaults":
                        n_tr = max([n_tr, *(len(r.tracks) for r in reps)])
            best = {k: np.minimum(best[k], t) if k in best else t for k, t in times.items()}
        rtf = {k: float(np.mean(t)) / (n / fs) for k, t in best.items()}
        pipe = pipes["defaults"]
        rows.append([name, f"{g.n_mics}", f"{fs}", f"{pipe.nfft}", f"{n_tr}",
                     f"{rtf['defaults']:.3f}", f"{1e3 * pipe.latency:.0f}"])  # fmt: skip
        for k in SPEED_SETTINGS:
            opt_rows[k].append(f"{rtf[k]:.4f} ({1e3 * float(np.mean(best[k])):.2f})")
    return rows, list(opt_rows.values())


def _still(truth: np.ndarray):
    """`truth` ``(K, 2)`` at every time (talkers standing still)."""
    return lambda t: truth


def _speaking(first_at: dict[int, float], turns: tuple):
    """Which talkers a tracker should hold at `t`: from first sound to last offset."""
    return lambda t: np.array([first_at[k] <= t <= tt[-1][1] for k, tt in enumerate(turns)])


def line(first: int, seeds: int) -> list[list[str]]:
    """The 4-mic 40 mm line in diffuse noise and with two talkers, ``diffuse_floor`` off
    and at its default."""
    g = ak.ArrayGeometry.linear(4, 0.04)
    turns = (((0.3, 2.3), (4.3, 6.0), (6.8, 8.0)), ((2.0, 3.2), (3.6, 5.6), (6.5, 7.8)))
    talks = []
    for sd in range(first, first + seeds):
        rng = np.random.default_rng(1000 + sd)
        az = rng.uniform(20, 160)
        while abs((bz := rng.uniform(20, 160)) - az) < 40:
            pass
        xs = [ak.sim.talk(8.0, FS, tt, seed=1000 * (k + 1) + sd) for k, tt in enumerate(turns)]
        srcs = [
            ak.sim.Source(x, azimuth=a, distance=1.5) for x, a in zip(xs, (az, bz), strict=True)
        ]
        sc = ak.sim.simulate(g, srcs, FS, rt60=0.3, snr_db=20, seed=sd)
        onsets = tuple(
            (k, scoring.first_sound(x, FS, tt[0]))
            for k, (x, tt) in enumerate(zip(xs, turns, strict=True))
        )
        talks.append((sc.signals, np.array([[az, 0.0], [bz, 0.0]]), onsets))
    rows = []
    for floor in (0.0, FrontendOptions().diffuse_floor):
        opts = FrontendOptions(diffuse_floor=floor)
        started = 0
        for sd in range(first, first + 2 * seeds):
            pipe = Pipeline(g, FS, opts)
            reps = pipe.process(scoring.modulated_diffuse(g, 5.0, sd, FS)) + pipe.finish()
            started += len({t.id for r in reps for t in r.tracks})
        errs, swaps, false, delays = [], 0, 0, []
        for x, truth, onsets in talks:
            pipe = Pipeline(g, FS, opts)
            reps = pipe.process(x) + pipe.finish()
            sc_ = scoring.track_errors(
                reps, _still(truth), _speaking(dict(onsets), turns), onsets=onsets, lag=0.05
            )
            errs += list(sc_.errors)
            swaps += sc_.swaps
            false += len(sc_.false_tracks)
            delays += list(sc_.confirm_delays)
        e, d = np.array(errs), np.array(delays)
        minutes = 2 * seeds * 5.0 / 60.0
        rows.append([f"{floor:g}", f"{started} ({started / minutes:.2f} a minute)",
                     f"{np.median(e):.2f} / {np.percentile(e, 90):.2f}", str(swaps), str(false),
                     f"{np.nanmedian(d):.2f} / {np.nanmax(d):.2f}"])  # fmt: skip
        print("  line", rows[-1], flush=True)
    return rows


PARTS = ("speed", "meetings", "noise", "speech", "office", "line")
"""The parts :func:`main` runs, in order (``--skip`` names them)."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--png", type=Path, help="save a live-view frame of one meeting here")
    ap.add_argument(
        "--skip",
        default="",
        help=f"comma list of parts to skip: {', '.join(PARTS)}",
    )
    ap.add_argument("--arrays", default="respeaker-6mic,respeaker-usb-4mic")
    ap.add_argument("--line-first", type=int, default=16, help="first seed of the line part")
    ap.add_argument("--activity", default="auto", help="activity detector of the meetings")
    ap.add_argument(
        "--zones",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="meetings with the onset zones on / off (default: the pipeline's, on)",
    )
    args = ap.parse_args()
    skip = set(args.skip.split(",")) - {""}
    unknown = sorted(skip - set(PARTS))
    if unknown:  # a misspelt part skipped nothing and ran everything
        ap.error(f"--skip {args.skip!r}: unknown {', '.join(unknown)}; parts: {', '.join(PARTS)}")
    t0 = time.perf_counter()
    if "speed" not in skip:
        rows, opt_rows = speed()
        print(
            "### Speed (thread time / audio time; each block's best of 5, settings interleaved)\n"
        )
        print(table(["array", "mics", "fs", "nfft", "tracks", "RTF", "latency ms"], rows))
        print()
        print(table(["setting", "6 mics, 16 kHz: RTF (ms per block)",
                     "16 mics, 48 kHz: RTF (ms per block)"], opt_rows))  # fmt: skip
    if "meetings" not in skip:
        rows_t, rows_s, rows_b = [], [], []
        for name in args.arrays.split(","):
            r = meetings(name, args.seeds, {}, args.activity, args.zones)
            err = np.asarray(r["err"])
            delays = np.asarray(r["delay"])
            sep = np.asarray(r["sep"])
            rows_t.append([name, str(args.seeds), f"{np.median(err):.1f}",
                           f"{np.percentile(err, 90):.1f}", str(r["swaps"]),
                           f"{np.nanmedian(delays[:, 0]):.2f} / {np.nanmax(delays[:, 0]):.2f}",
                           f"{np.nanmedian(delays[:, 1]):.2f} / {np.nanmax(delays[:, 1]):.2f}",
                           str(r["false"]), f"{np.mean(r['ospa']):.1f}"])  # fmt: skip
            rows_s.append([name, str(len(sep)), f"{np.median(sep[:, 0]):+.1f}",
                           f"{np.min(sep[:, 0]):+.1f}", f"{np.median(sep[:, 1]):.1f}",
                           f"{np.nanmedian(sep[:, 2]):+.1f}", f"{np.nanmin(sep[:, 2]):+.1f}",
                           f"{np.nanmedian(sep[:, 3]):.1f}",
                           f"{np.nanmedian(sep[:, 4]):+.1f}", f"{np.nanmedian(sep[:, 5]):.1f}"])  # fmt: skip
            b = np.asarray(r["bss"])  # (meetings, runs, K, 4)
            if b.ndim != 4:  # no meeting had both talkers tracked
                rows_b.append([name, "0", "—", "—", "—"])
                continue
            rows_b.append([name, str(b.shape[0] * b.shape[2])] + [
                f"{np.nanmedian(b[:, i, :, 0]):.1f} / {np.nanmedian(b[:, i, :, 1]):.1f} / "
                f"{np.nanmedian(b[:, i, :, 2]):.1f} ({int(np.sum(b[:, i, :, 3] == 0))})"
                for i in range(b.shape[1])])  # fmt: skip
        print("\n### Tracking (meetings)\n")
        print(table(["array", "scenes", "az err median °", "p90 °", "swaps",
                     "confirm A (onset in silence) median / max s",
                     "confirm B (onset over A) median / max s", "false tracks",
                     "OSPA ° (c = 30)"], rows_t))  # fmt: skip
        print("\n### Separation per track (oracle images)\n")
        print(table(["array", "tracks", "MVDR + post-filter SIR gain median dB", "min",
                     "SI-SDR median dB", "MVDR alone SIR gain median dB", "min",
                     "SI-SDR median dB", "DAS SIR gain median dB", "DAS SI-SDR median dB"],
                    rows_s))  # fmt: skip
        print("\n### BSS-eval of the two talkers' tracks (fast_bss_eval; medians, dB)\n")
        print(table(["array", "tracks", "MVDR + post-filter SDR / SIR / SAR (paired with "
                     "the other talker)", "MVDR alone", "DAS"], rows_b))  # fmt: skip
    if "noise" not in skip:
        rows = []
        for name in args.arrays.split(","):
            res = noise_only(name)
            rows.append([name] + [f"{res[a][0]:.1f} ({100 * res[a][1]:.0f} %)"
                                  for a in NOISE_DETECTORS])  # fmt: skip
        print("\n### 60 s of fan noise: false tracks per minute (share of blocks active)\n")
        print(table(["array", "WebRTC VAD", "energy", "both (default)", "Silero",
                     "Silero and energy"], rows))  # fmt: skip
    if "speech" not in skip and OFFICE.is_dir():
        rows = []
        for name in args.arrays.split(","):
            rows += real_speech(name, args.seeds)
        print("\n### Meetings with real voices (office-ula32's dry clips), by activity detector\n")
        print(table(["array", "activity", "az err median °", "p90 °", "swaps", "false tracks",
                     "confirm median s, later than 0.3 s", "SIR gain median / lowest dB",
                     "blocks active"], rows))  # fmt: skip
    if "office" not in skip and OFFICE.is_dir():
        print("\n### office-ula32: two loudspeakers at once, 8-mic sub-arrays\n")
        print(table(["sources", "mics", "true az °", "tracked az °", "SIR gain dB"], office()))
    if "line" not in skip:
        print(f"\n### The 4-mic 40 mm line: {2 * args.seeds} diffuse-noise scenes of 5 s, "
              f"{args.seeds} two-talker scenes (seeds from {args.line_first})\n")  # fmt: skip
        print(table(["diffuse_floor", "false tracks in the noise", "two talkers: az err median "
                     "/ p90 °", "swaps", "false tracks", "confirm median / max s"],
                    line(args.line_first, args.seeds)))  # fmt: skip
    if args.png:
        from arraykit.frontend.view import LiveView

        g = ak.load_geometry("respeaker-6mic")
        m = scoring.meeting(g, 0, max_order=10)
        view = LiveView()
        for r in Pipeline(g, FS).process(m.scene.signals):
            view.add(r)
        view.save(args.png)
    print(f"\n({time.perf_counter() - t0:.0f} s; {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
