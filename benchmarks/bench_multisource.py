"""Several talkers: peaks, counting, confidence and "no source" (issue 13; issue 12 item 8).

Run: ``.venv/bin/python benchmarks/bench_multisource.py [--rooms 32] [--cache DIR]
[--office ROOT] [--only PART,...]`` (``--help`` lists the parts). Prints markdown tables:

1. accuracy with 2 and 3 talkers (RT60 0.2-0.6 s, SNR 10-30 dB): arraykit, plain local
   maxima of arraykit's own map, and pyroomacoustics on the same STFT and 1-degree grid;
2. counting (``num_sources="auto"``, RT60 0.3 s / SNR 20 dB, plus noise-only scenes):
   confusion matrices of the default ``counting="tf"``, accuracy of every rule
   (``--only confusion --first 32``: confusion matrices of "tf" and "clean" on rooms
   32-63, which their thresholds were not tuned on, and the errors of the directions
   ``"auto"`` reports where it counted right, against a search given the true K);
3. "no directional source": false alarms on noise-only scenes, misses on talker scenes;
4. the confidence's reliability: estimates binned by confidence, the share within the
   array's resolution (the default ``min_separation``) of a talker; ``--only confidence``:
   the frame-whitened map's weights (``confidence.CONFIDENCE_WEIGHTS``) fitted on rooms 0
   to n/2 - 1, every method's reliability on the other rooms;
5. speed: one source, two sources and ``"auto"`` on the same map;
6. office-ula32 (real measured responses): 2 and 3 loudspeakers at once, 4- and 8-mic
   sub-arrays, calibrated and aligned; ``--only office-resolution``: every pair and triple,
   grouped by how far apart each sub-array can see them;
7. ``--only live``: a covariance alone, as ``arraykit live`` keeps it (recursive, a search
   every 0.1 s): its map's noise floor (``confidence.NO_SOURCE_Z``) and the confidence's
   weights fitted on rooms 0 to n/2 - 1 (``confidence.COV_CONFIDENCE_WEIGHTS``), their
   reliability on the other rooms.

Scenes come from ``multisource_scenes.py`` (seeded; ``--cache`` keeps the rendered rooms).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import functools
import itertools
import operator
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from bench_doa import PRA_NAMES, errors
from multisource_scenes import ARRAYS, FS, mixture, noise_only, room

import arraykit as ak
from arraykit.doa import extract
from arraykit.doa.grids import angular_distance
from arraykit.errors import NoSourceError

BAND = (300.0, 3500.0)
METHODS = ("srp-phat", "music", "normmusic", "tops")
FREQS = np.arange(10, 113) * FS / 512


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def mp(e: list[float]) -> str:
    return f"{np.median(e):.1f} / {np.percentile(e, 90):.1f}"


def local_maxima(spectrum: np.ndarray, grid: np.ndarray, K: int, closed: bool) -> np.ndarray:
    """Plain local maxima of a ring / arc map, the K highest (no threshold, no fill)."""
    left, right = np.roll(spectrum, 1), np.roll(spectrum, -1)
    lm = (spectrum >= left) & (spectrum > right)
    if not closed:
        lm[0], lm[-1] = spectrum[0] > spectrum[1], spectrum[-1] >= spectrum[-2]
    idx = np.flatnonzero(lm)
    return grid[idx[np.argsort(-spectrum[idx], kind="stable")][:K]]


def pra_on(X: np.ndarray, g: ak.ArrayGeometry, method: str, K: int, grid: np.ndarray):
    import pyroomacoustics as pra

    doa = pra.doa.algorithms[PRA_NAMES[method]](
        g.positions[:, :2].T, FS, 512, c=ak.SPEED_OF_SOUND, num_src=K,
        azimuth=np.radians(grid[:, 0]),
    )  # fmt: skip
    doa.locate_sources(X, freq_range=list(BAND))
    az = np.degrees(np.atleast_1d(doa.azimuth_recon)) % 360
    return np.stack([az, np.zeros_like(az)], axis=1)


# ------------------------------------------------------------------ 1. accuracy
def accuracy(n: int, cache: Path | None) -> str:
    cells: dict = {}
    for aname, g in ARRAYS.items():
        grid = ak.doa.grids.layout_grid(g, "azimuth", 1.0)
        closed = g.layout != "linear"
        for i in range(n):
            r = room(aname, "mixed", i, cache)
            for K in (2, 3):
                X = ak.stft.stft(mixture(r, K), FS, nfft=512)
                truth = r["directions"][:K]
                for m in METHODS:
                    key = (aname, K, m)
                    try:
                        res = ak.doa.locate_stft(X, FS, g, method=m, num_sources=K)
                        ours, lm = res.directions, local_maxima(res.spectrum, grid, K, closed)
                    except NoSourceError:
                        ours = lm = np.zeros((0, 2))
                    cells.setdefault((*key, "ours"), []).extend(errors(ours, truth, g))
                    cells.setdefault((*key, "lm"), []).extend(errors(lm, truth, g))
                    theirs = pra_on(X, g, m, K, grid)
                    cells.setdefault((*key, "pra"), []).extend(errors(theirs, truth, g))
    rows, worse = [], 0
    for aname, K, m in itertools.product(ARRAYS, (2, 3), METHODS):
        o, lm, p = (cells[(aname, K, m, w)] for w in ("ours", "lm", "pra"))
        flag = ""
        for ref in (lm, p):
            if (
                np.median(o) > np.median(ref) + 0.05
                or np.percentile(o, 90) > np.percentile(ref, 90) + 0.05
            ):
                flag = " ⚠"
        worse += bool(flag)
        rows.append([aname, str(K), m, mp(o) + flag, mp(lm), mp(p)])
    pooled = []
    for K, m in itertools.product((2, 3), METHODS):
        o, lm, p = (
            functools.reduce(operator.iadd, (cells[(a, K, m, w)] for a in ARRAYS), [])
            for w in ("ours", "lm", "pra")
        )
        pooled.append([str(K), m, mp(o), mp(lm), mp(p)])
    head = (
        f"{n} rooms per array, RT60 0.2-0.6 s and SNR 10-30 dB drawn per room, talkers at "
        "random azimuths at least 25° apart, 1.0-2.0 m away, 1 s of speech-like signal each; "
        "the same STFT (nfft 512) and 1° grid for all three; a talker left unfound counts "
        "180°, a line's mirror counts as right. ⚠: arraykit's median or p90 worse than "
        f"local maxima's or pyroomacoustics' ({worse} of {len(rows)} cells).\n\n"
    )
    cols = ["arraykit median / p90 (°)", "plain local maxima", "pyroomacoustics"]
    return (
        head
        + "Pooled over the 4 arrays:\n\n"
        + table(["K", "method", *cols], pooled)
        + "\n\nPer array:\n\n"
        + table(["array", "K", "method", *cols], rows)
    )


# --------------------------------------------------- 2-4. counting, no source, confidence
def counting(n: int, cache: Path | None) -> str:
    rules = ("tf", "clean", "peaks", "mdl")
    conf: dict = {}
    rel: dict = {}  # set -> list of (confidence, correct)
    for aname, g in ARRAYS.items():
        sep = extract.default_separation(g, FREQS, ak.SPEED_OF_SOUND)
        scenes = [(0, noise_only(g, i)[1], None, "noise") for i in range(n)]
        for s, i in itertools.product(("rt03", "mixed"), range(n)):
            r = room(aname, s, i, cache)
            scenes += [(k, mixture(r, k), r["directions"][:k], s) for k in (1, 2, 3)]
        for k, x, truth, s in scenes:
            X = ak.stft.stft(x, FS, nfft=512)
            if s != "mixed":
                for rule in rules:
                    got = ak.doa.locate_stft(X, FS, g, num_sources="auto", counting=rule)
                    conf.setdefault((aname, rule, k), []).append(got.num_sources)
            if truth is None:
                continue
            for m in METHODS:
                try:
                    res = ak.doa.locate_stft(X, FS, g, method=m, num_sources=k)
                except NoSourceError:
                    continue
                right = _judged(res, truth, g, sep)[1]
                rel.setdefault(s, []).extend(
                    zip(res.confidence.tolist(), right.tolist(), strict=True)
                )
    out = []
    for aname in ARRAYS:
        rows = []
        for k in range(4):
            got = np.array(conf[(aname, "tf", k)])
            counts = [int(np.sum(np.minimum(got, 4) == j)) for j in range(5)]
            rows.append([str(k), *map(str, counts), f"{100 * np.mean(got == k):.0f} %"])
        out.append(
            f'**{aname}** (counting="tf"; true K = 0: noise-only scenes, white / diffuse / '
            "diffuse + white):\n\n" + table(["true K", "0", "1", "2", "3", "≥4", "correct"], rows)
        )
    rows = []
    for aname, rule in itertools.product(ARRAYS, rules):
        rows.append(
            [aname, rule]
            + [f"{100 * np.mean(np.array(conf[(aname, rule, k)]) == k):.0f} %" for k in range(4)]
        )
    acc = table(["array", "counting", "K=0", "K=1", "K=2", "K=3"], rows)
    fa = np.mean([np.array(conf[(a, "tf", 0)]) > 0 for a in ARRAYS])
    fa_no_line = np.mean([np.array(conf[(a, "tf", 0)]) > 0 for a in ARRAYS if "line" not in a])
    miss = np.mean(
        np.concatenate([np.array(conf[(a, "tf", k)]) == 0 for a in ARRAYS for k in (1, 2, 3)])
    )
    nosrc = (
        f'No directional source (counting="tf", threshold 0.025 above the map\'s median): '
        f"false alarms on {4 * n} noise-only scenes {100 * fa:.1f} % "
        f"({100 * fa_no_line:.1f} % without the 4-mic line, whose map of a diffuse field peaks "
        f"at broadside like a talker); misses on {4 * 3 * n} talker scenes "
        f"(RT60 0.3 s / 20 dB) {100 * miss:.1f} %."
    )
    rel_rows = []
    for s in ("mixed", "rt03"):
        pairs = np.array(rel[s])
        rel_rows += reliability_rows(pairs[:, 0], pairs[:, 1].astype(bool), [s])
    reliability = (
        "Confidence reliability (every method, K = 1-3 talkers given, each estimate; "
        "'right' = within the array's resolution, the default min_separation, of a talker; "
        "the weights fitted as --only confidence prints):\n\n"
        + table(["set", "confidence", "estimates", "mean confidence", "right"], rel_rows)
    )
    return "\n\n".join([*out, "Every rule, share counted right:\n\n" + acc, nosrc, reliability])


def confusion(n: int, first: int, cache: Path | None) -> str:
    """Confusion matrices of ``counting="tf"`` (the default) and ``"clean"`` on rooms
    ``first .. first + n - 1`` (RT60 0.3 s / 20 dB) and as many noise-only scenes
    (``--first 32`` gives rooms the rules were not tuned on: they were tuned on rooms
    0-31), and the errors of the directions ``"auto"`` reports where it counted right,
    against the same search given the true K."""
    rules = ("tf", "clean")
    out, share, err = [], [], []
    for aname, g in ARRAYS.items():
        got: dict[tuple[str, int], list[int]] = {(r, k): [] for r in rules for k in range(4)}
        e_auto: list[float] = []
        e_known: list[float] = []
        for i in range(first, first + n):
            noise = noise_only(g, i)[1]
            r = room(aname, "rt03", i, cache)
            for rule in rules:
                res = ak.doa.locate(noise, FS, g, num_sources="auto", counting=rule)
                got[(rule, 0)].append(res.num_sources)
            for k in (1, 2, 3):
                x, truth = mixture(r, k), r["directions"][:k]
                for rule in rules:
                    res = ak.doa.locate(x, FS, g, num_sources="auto", counting=rule)
                    got[(rule, k)].append(res.num_sources)
                    if rule == "tf" and res.num_sources == k:
                        e_auto.extend(errors(res.directions, truth, g))
                        known = ak.doa.locate(x, FS, g, num_sources=k)
                        e_known.extend(errors(known.directions, truth, g))
        for rule in rules:
            rows = []
            for k in range(4):
                a = np.array(got[(rule, k)])
                counts = [int(np.sum(np.minimum(a, 4) == j)) for j in range(5)]
                rows.append([str(k), *map(str, counts), f"{100 * np.mean(a == k):.0f} %"])
            out.append(
                f'**{aname}**, counting="{rule}" (rooms {first}-{first + n - 1}; true K = 0: '
                "noise-only scenes, white / diffuse / diffuse + white):\n\n"
                + table(["true K", "0", "1", "2", "3", "≥4", "correct"], rows)
            )
            share.append(
                [aname, rule]
                + [f"{100 * np.mean(np.array(got[(rule, k)]) == k):.0f} %" for k in range(4)]
            )
        err.append([aname, str(len(e_auto)), mp(e_auto), mp(e_known)])
    return "\n\n".join(
        [
            "Share counted right:\n\n"
            + table(["array", "counting", "K=0", "K=1", "K=2", "K=3"], share),
            'Directions where "tf" counted right (K = 1-3 pooled; error per talker, median / '
            'p90, degrees), as `"auto"` reports them and as the search given the true K '
            "reports them:\n\n" + table(["array", "talkers", "auto (tf)", "given K"], err),
            *out,
        ]
    )


# ------------------------------------------------------------------------ 5. speed
def speed(cache: Path | None = None, rounds: int = 20) -> str:
    """One source, two given, ``"auto"`` by ``"tf"`` and by ``"clean"`` on the same
    scene, in CPU time (``time.process_time``: what other jobs on a shared machine take
    is not counted), the minimum over interleaved rounds, twice."""
    from bench_doa import best_times

    g = ARRAYS["circle 6 (46 mm)"]
    r = room("circle 6 (46 mm)", "rt03", 0, cache)
    x = mixture(r, 2)
    rows = []
    for m, run in itertools.product(("srp-phat", "normmusic"), (1, 2)):
        fns: dict = {
            k: (lambda k=k, m=m: ak.doa.locate(x, FS, g, method=m, num_sources=k)) for k in (1, 2)
        }
        for rule in ("tf", "clean"):
            fns[rule] = lambda m=m, rule=rule: ak.doa.locate(
                x, FS, g, method=m, num_sources="auto", counting=rule
            )
        t = best_times(fns, rounds, seconds=4.0, clock=time.process_time)
        rows.append(
            [m, str(run)] + [f"{1e3 * t[k]:.2f}" for k in (1, 2, "tf", "clean")]
            + [f"{t[k] / t[1]:.2f}×" for k in (2, "tf", "clean")]
        )  # fmt: skip
    head = ["K=1 (ms)", "K=2 (ms)", "auto tf (ms)", "auto clean (ms)", "K=2 / K=1"]
    return (
        "6-mic circle, 1.25 s, two talkers, end to end (STFT included), CPU time, minimum of "
        f"single calls over at least {rounds} interleaved rounds, two runs:\n\n"
        + table(["method", "run", *head, "tf / K=1", "clean / K=1"], rows)
    )


# ------------------------------------ 7. the confidence's weights; a covariance alone
def _judged(
    res, truth: np.ndarray | None, g: ak.ArrayGeometry, sep: float, sd: float | None = None
):
    """Each estimate of `res` judged: its confidence features ``(K, 4)`` (1, ln of its
    SRP-PHAT height above the map's median, over the noise's deviation `sd` when the map is
    a covariance's own, ln of its height relative to the top, on_peak) and whether it lies
    within `sep` degrees of a talker of `truth` ``(K_true, 2)`` (a line's mirror counts;
    None: noise only, all wrong)."""
    from arraykit.doa.confidence import map_floor

    floor = map_floor(np.asarray(res.spectrum))
    top = max(float(np.max(res.spectrum)) - floor, 1e-4)
    h = np.maximum(np.asarray(res.power) - floor, 1e-4)
    feats = np.stack([np.ones(len(h)), np.log(h if sd is None else h / sd),
                      np.log(np.clip(h / top, 1e-3, None)),
                      np.asarray(res.on_peak, float)], axis=1)  # fmt: skip
    right = np.zeros(len(h), dtype=bool)
    if truth is not None:
        d = angular_distance(res.directions[:, None], truth[None])
        if g.layout == "linear":
            mir = np.array([g.mirror(tuple(t)) for t in truth])
            d = np.minimum(d, angular_distance(res.directions[:, None], mir[None]))
        right = d.min(axis=1) <= sep
    return feats, right


def fit_logistic(X: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Logistic regression weights ``(D,)`` of features ``X`` ``(n, D)`` (a column of ones
    first) for the labels `right` ``(n,)``: the log-loss minimised by scipy's BFGS."""
    from scipy.optimize import minimize

    y = np.asarray(right, dtype=float)

    def loss(w: np.ndarray) -> float:
        z = X @ w
        return float(np.mean(np.logaddexp(0.0, z) - y * z))

    return np.asarray(minimize(loss, np.zeros(X.shape[1]), method="BFGS").x)


def reliability_rows(conf: np.ndarray, right: np.ndarray, label: list[str]) -> list[list[str]]:
    """Estimates binned by confidence: count, mean confidence, share right."""
    rows = []
    for lo, hi in ((0, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01)):
        sel = (conf >= lo) & (conf < hi)
        if sel.any():
            rows.append([*label, f"{lo:.1f}-{min(hi, 1.0):.1f}", str(int(sel.sum())),
                         f"{conf[sel].mean():.2f}", f"{100 * right[sel].mean():.0f} %"])  # fmt: skip
    return rows


def confidence_fit(n: int, cache: Path | None) -> str:
    """The frame-whitened map's confidence: weights fitted on SRP-PHAT's estimates (a
    given K = 1-3, rooms 0 to n/2 - 1 of both sets, and a noise-only scene's estimate, all
    wrong), and the library's confidence of every method on rooms n/2 to n - 1."""
    from arraykit.doa import confidence as cf

    feats, labels = [], []
    held: dict[str, list[tuple[float, bool]]] = {}
    for aname, g in ARRAYS.items():
        sep = extract.default_separation(g, FREQS, ak.SPEED_OF_SOUND)
        for i in range(n):
            scenes = [(1, noise_only(g, i)[1], None, "noise")]
            for s in ("rt03", "mixed"):
                r = room(aname, s, i, cache)
                # the true count, and one more asked (a source that is not there)
                scenes += [(k + extra, mixture(r, k), r["directions"][:k], s)
                           for k in (1, 2, 3) for extra in (0, 1) if k + extra <= 3]  # fmt: skip
            for k, x, truth, s in scenes:
                X = ak.stft.stft(x, FS, nfft=512)
                for m in METHODS if i >= n // 2 else ("srp-phat",):
                    res = ak.doa.locate_stft(X, FS, g, method=m, num_sources=k)
                    f, right = _judged(res, truth, g, sep)
                    if i >= n // 2:
                        held.setdefault(s, []).extend(zip(res.confidence, right, strict=True))
                    else:
                        feats.append(f)
                        labels.append(right)
    w = fit_logistic(np.concatenate(feats), np.concatenate(labels))
    rows = []
    for s in ("rt03", "mixed", "noise"):
        pairs = np.array(held.get(s, []), dtype=float)
        if len(pairs):
            rows += reliability_rows(pairs[:, 0], pairs[:, 1].astype(bool), [s])
    return (
        f"Weights fitted on SRP-PHAT's estimates of rooms 0-{n // 2 - 1} (both sets, K = 1-3 "
        f"talkers with their count given and with one more asked, and noise-only scenes): {tuple(round(float(x), 3) for x in w)}; the "
        f"library's {cf.CONFIDENCE_WEIGHTS}. Every method's estimates on rooms "
        f"{n // 2}-{n - 1} with the library's confidence:\n\n"
        + table(["set", "confidence", "estimates", "mean confidence", "right"], rows)
    )


def _live_blocks(x: np.ndarray, g: ak.ArrayGeometry, memory: float) -> Iterator[np.ndarray]:
    """The band's recursive covariance (memory `memory` s) after every 0.1 s block from
    0.2 s on, as :func:`arraykit.live.track` keeps it (nfft 512, 300-3500 Hz)."""
    from arraykit.beamform import RecursiveCovariance
    from arraykit.stft import StreamingSTFT

    sts = StreamingSTFT(FS, g.n_mics, nfft=512)
    X = sts.push(x)[:, 10:113, :]
    rc = RecursiveCovariance(X.shape[1], g.n_mics, alpha=float(np.exp(-256 / FS / memory)))
    for b in range(0, X.shape[2] - 5, 6):  # 6 frames of 16 ms: 0.1 s
        R = rc.update(X[:, :, b : b + 6])
        if b >= 6:
            yield R


def _live_rows(n: int, cache: Path | None) -> list[dict]:
    """Per block: array, room, K (0: noise only), the map's top height over the noise's
    standard deviation, each estimate's features and whether it is right."""
    from arraykit.doa.confidence import cov_noise_sd, map_floor

    out = []
    for aname, g in ARRAYS.items():
        sd = cov_noise_sd(FREQS.size, g.n_mics)
        sep = extract.default_separation(g, FREQS, ak.SPEED_OF_SOUND)
        for i in range(n):
            memory = (0.25, 0.5, 1.0)[i % 3]
            kind, xn = noise_only(g, i)
            scenes = [(0, xn, None, kind, "noise")]
            for s in ("rt03", "mixed"):
                r = room(aname, s, i, cache)
                scenes += [(k, mixture(r, k), r["directions"][:k], "", s) for k in (1, 2, 3)]
            for k, x, truth, kind, s in scenes:
                for R in _live_blocks(x, g, memory):
                    # the true count, and one more asked (a source that is not there:
                    # `live --sources 2` with one talker at a time)
                    for asked in range(max(k, 1), min(k + 1, 3) + 1):
                        res = ak.doa.locate_cov(R, FREQS, g, num_sources=asked, resolution=2.0)
                        feats, right = _judged(res, truth, g, sep, sd)
                        floor = map_floor(np.asarray(res.spectrum))
                        top = float(np.max(res.spectrum)) - floor
                        out.append({"a": aname, "i": i, "k": k, "asked": asked, "kind": kind,
                                    "set": s, "z": top / sd, "feats": feats, "right": right,
                                    "conf": np.asarray(res.confidence)})  # fmt: skip
    return out


def live(n: int, cache: Path | None) -> str:
    """The no-source floor and the confidence of a covariance alone (``locate_cov``)."""
    from arraykit.doa import confidence as cf

    rows = _live_rows(n, cache)
    blocks = [r for r in rows if r["asked"] == max(r["k"], 1)]  # each block once
    floor_rows = []
    for aname in ARRAYS:
        noise = [r for r in blocks if r["a"] == aname and r["k"] == 0]
        talk = [r for r in blocks if r["a"] == aname and r["k"] > 0]
        cells = [aname]
        for kind in ("white", "diffuse", "diffuse+white"):
            z = np.array([r["z"] for r in noise if r["kind"] == kind])
            cells.append(f"{z.max():.1f} / {np.percentile(z, 99):.1f}")
        for k in (1, 2, 3):
            z = np.array([r["z"] for r in talk if r["k"] == k])
            cells.append(f"{np.percentile(z, 1):.1f} / {np.percentile(z, 5):.1f}")
        fa = np.mean([r["z"] < cf.NO_SOURCE_Z for r in noise])
        lost = [r["z"] < cf.NO_SOURCE_Z for r in talk if r["right"][0]]
        cells += [f"{100 * (1 - fa):.1f} %", f"{100 * np.mean(lost):.1f} %"]
        floor_rows.append(cells)
    head = ["array", "white noise: max / p99", "diffuse", "diffuse + white",
            "K=1 talkers: p1 / p5", "K=2", "K=3",
            f"noise blocks with a top ≥ {cf.NO_SOURCE_Z}", "right talker blocks under it"]  # fmt: skip
    first = (
        "The map's top over the noise's standard deviation (1 / sqrt(2 F P)) per block: "
        f"{len(blocks)} blocks, rooms 0-{n - 1} (RT60 0.3 s / 20 dB and 0.2-0.6 s / 10-30 dB), "
        "memory 0.25 / 0.5 / 1 s in turn, a search every 0.1 s:\n\n" + table(head, floor_rows)
    )
    fit = [r for r in rows if r["i"] < n // 2]
    w = fit_logistic(
        np.concatenate([r["feats"] for r in fit]), np.concatenate([r["right"] for r in fit])
    )
    held = [r for r in rows if r["i"] >= n // 2]
    conf = np.concatenate([r["conf"] for r in held])
    right = np.concatenate([r["right"] for r in held])
    rel_rows = reliability_rows(conf, right, [])
    return (
        first
        + "\n\nConfidence on the held-out rooms "
        + f"{n // 2}-{n - 1} (every estimate, the count given and one more asked, noise-only "
        + "blocks included, all wrong), the "
        + f"library's weights {tuple(round(x, 3) for x in cf.COV_CONFIDENCE_WEIGHTS)}; "
        + f"fitted here on rooms 0-{n // 2 - 1}: {tuple(round(float(x), 3) for x in w)}:\n\n"
        + table(["confidence", "estimates", "mean confidence", "right"], rel_rows)
    )


# ------------------------------------------------------------------- 6. office-ula32
def _office_cases(root: Path, combos: dict[int, list[tuple[int, ...]]]) -> Iterator[tuple]:
    """Each set of loudspeakers of `combos` (K -> sets) playing at once (female_1, male_1,
    female_2 in turn; 2 s, 16 kHz, calibrated and aligned) on every 4- and 8-mic
    sub-array: ``(K, set, n mics, channel indices, sub-array, the whole mixture,
    loudspeaker positions)``."""
    from arraykit.datasets import calibrate, load_office_ula32, render_source

    data = load_office_ula32(root, rir_seconds=0.1)
    cal = calibrate(data)
    clips = ("female_1", "male_1", "female_2")
    for K, sets in combos.items():
        for combo in sets:
            x = sum(
                render_source(data, sid, clips[j], fs=16000, seconds=2.0, start_seconds=0.5)
                for j, sid in enumerate(combo)
            )
            x = cal.align(x, 16000)
            pos = [cal.positions[data.index(sid)] for sid in combo]
            for n in (4, 8):
                for k0 in range(0, data.geometry.n_mics, n):
                    idx = list(range(k0, k0 + n))
                    yield K, combo, n, idx, data.geometry.subarray(idx), x, pos


def office(root: Path) -> str:
    az = np.arange(-90.0, 90.0 + 1e-9, 0.25)
    grid = np.stack([np.mod(az, 360.0), np.zeros_like(az)], axis=1)
    combos = {
        2: [(1, 9), (3, 7), (5, 1), (7, 3), (9, 5)],
        3: [(1, 5, 9), (3, 5, 7), (1, 3, 9), (5, 7, 9), (1, 7, 3)],
    }
    err: dict = {}
    counted: dict = {}
    for K, _, n, idx, sub, x, pos in _office_cases(root, combos):
        truth = np.array([[np.degrees(np.arctan2(*(p - sub.centroid)[1::-1])), 0.0] for p in pos])
        for m in METHODS:
            res = ak.doa.locate(
                x[idx], 16000, sub, method=m, num_sources=K, grid=grid,
                freq_range=(300.0, 5500.0),
            )  # fmt: skip
            err.setdefault((n, K, m), []).extend(errors(res.directions, truth, sub))
            arc = ak.doa.locate(  # the line's own arc: the zones' atoms place K
                x[idx], 16000, sub, method=m, num_sources=K, resolution=0.25,
                freq_range=(300.0, 5500.0),
            )  # fmt: skip
            err.setdefault((n, K, m, "arc"), []).extend(errors(arc.directions, truth, sub))
        for rule in ("tf", "clean"):  # on the line's own arc ("tf" reads one)
            auto = ak.doa.locate(
                x[idx], 16000, sub, num_sources="auto", counting=rule,
                freq_range=(300.0, 5500.0),
            )  # fmt: skip
            counted.setdefault((rule, n, K), []).append(auto.num_sources)
    rows = []
    for K, m in itertools.product((2, 3), METHODS):
        keys = [(n, K, m) for n in (4, 8)] + [(n, K, m, "arc") for n in (4, 8)]
        rows.append([str(K), m] + [mp(err[k]) + f" / {max(err[k]):.1f}" for k in keys])
    cnt = [
        [rule, str(K)]
        + [f"{np.mean(np.array(counted[(rule, n, K)]) == K) * 100:.0f} % "
           f"(counts {np.bincount(counted[(rule, n, K)], minlength=K + 2).tolist()})"
           for n in (4, 8)]
        for rule in ("tf", "clean") for K in (2, 3)
    ]  # fmt: skip
    return (
        "Calibrated positions, latency-aligned channels, 300-5500 Hz, 0.25° half-plane grid; "
        "5 loudspeaker pairs and 5 triples (female_1, male_1, female_2), 2 s each; every "
        "sub-array (8 of 4 mics, 4 of 8 mics); error per loudspeaker, median / p90 / max; "
        "on that user grid the K highest peaks of the map, and on the line's own arc (1°, "
        "refined to 0.25°) the peaks near the zones' first K atoms (the default):\n\n"
        + table(
            ["K", "method", "4 mics", "8 mics", "4 mics, arc + atoms", "8 mics, arc + atoms"],
            rows,
        )
        + '\n\nnum_sources="auto" on each sub-array\'s own 1° arc, share counted right '
        "(counts 0, 1, 2, ...):\n\n" + table(["counting", "K", "4 mics", "8 mics"], cnt)
    )


def office_resolution(root: Path) -> str:
    """Every pair and every triple of the five loudspeakers on every sub-array, grouped by
    how far apart the array can see them: the smallest difference between two of them in
    the cosine of the angle from the line's axis (a line resolves evenly in it), in units
    of the sine of the array's half width at half height at broadside
    (:func:`arraykit.doa.extract.beamwidth`). ``num_sources="auto"`` and SRP-PHAT with the
    count given (the line's own arc, the default)."""
    band = (300.0, 5500.0)
    bins = ((0.0, 1.0), (1.0, 1.5), (1.5, np.inf))
    got: dict = {}
    every = {K: list(itertools.combinations((1, 3, 5, 7, 9), K)) for K in (2, 3)}
    for K, _, n, idx, sub, x, pos in _office_cases(root, every):
        rel = [p - sub.centroid for p in pos]
        cos = [float(r @ sub.axis) / float(np.linalg.norm(r)) for r in rel]
        half = np.sin(np.radians(extract.beamwidth(sub, np.linspace(*band, 50), 343.0)))
        apart = min(abs(a - b) for a, b in itertools.combinations(cos, 2)) / half
        truth = np.array([[np.degrees(np.arctan2(r[1], r[0])), 0.0] for r in rel])
        auto = ak.doa.locate(x[idx], 16000, sub, num_sources="auto", freq_range=band)
        given = ak.doa.locate(
            x[idx], 16000, sub, method="srp-phat", num_sources=K, resolution=0.25,
            freq_range=band,
        )  # fmt: skip
        b = next(i for i, (lo, hi) in enumerate(bins) if lo <= apart < hi)
        cell = got.setdefault((n, K, b), ([], []))
        cell[0].append(auto.num_sources)
        cell[1].extend(errors(given.directions, truth, sub))
    rows = []
    for n, K in itertools.product((4, 8), (2, 3)):
        for b, (lo, hi) in enumerate(bins):
            counts, errs = got.get((n, K, b), ([], []))
            span = f"{lo:g}-{hi:g}" if np.isfinite(hi) else f">= {lo:g}"
            if not counts:
                rows.append([str(n), str(K), span, "0", "—", "—"])
                continue
            right = np.mean(np.array(counts) == K) * 100
            rows.append(
                [str(n), str(K), span, str(len(counts)),
                 f"{right:.0f} % {np.bincount(counts, minlength=K + 2).tolist()}", mp(errs)]
            )  # fmt: skip
    return (
        "Every pair and triple of the 5 loudspeakers (10 + 10; female_1, male_1, female_2), "
        "2 s each, on every sub-array, by the smallest separation between two of them in "
        "the cosine of the angle from the line's axis, in units of the sine of the array's "
        'broadside half width at half height; `num_sources="auto"` (share counted right, '
        "counts 0, 1, 2, ...) and SRP-PHAT given K (median / p90 error per loudspeaker):\n\n"
        + table(["mics", "K", "separation", "sets", "counted right", "SRP-PHAT given K"], rows)
    )


PARTS = (
    "accuracy", "counting", "confusion", "speed", "confidence", "live", "office",
    "office-resolution",
)  # fmt: skip
"""What ``--only`` runs (in this order, whatever order it names them in)."""

DEFAULT_PARTS = "accuracy,counting,speed,office"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=f"--only parts: {', '.join(PARTS)} (default: {DEFAULT_PARTS}).",
    )
    parser.add_argument(
        "--rooms", type=int, default=32, help="rooms per set (default 32; each part's tables)"
    )
    parser.add_argument(
        "--cache", type=Path, default=None, help="folder that keeps the rendered rooms"
    )
    parser.add_argument(
        "--office",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared" / "data" / "office-ula32",
        help="office-ula32's root (default: ../shared/data/office-ula32)",
    )
    parser.add_argument(
        "--only",
        default=DEFAULT_PARTS,
        help="comma-separated parts to run (see below; each long on 32 rooms or more)",
    )
    parser.add_argument("--first", type=int, default=32, help="first room of --only confusion")
    args = parser.parse_args()
    unknown = sorted(set(args.only.split(",")) - set(PARTS))
    if unknown:  # a misspelt part ran nothing and printed only the time
        parser.error(
            f"--only {args.only!r}: unknown {', '.join(unknown)}; parts: {', '.join(PARTS)}"
        )
    fits = {"confidence", "live"} & set(args.only.split(","))
    if args.rooms < (2 if fits else 1):  # a fit reads rooms 0 to n/2 - 1, its check the rest
        why = f"at least 2 for --only {','.join(sorted(fits))} (half fit, half held out)"
        parser.error(f"--rooms {args.rooms}: {why if fits else 'at least 1'}")
    if args.cache is not None:
        args.cache.mkdir(parents=True, exist_ok=True)
    only = args.only.split(",")
    t0 = time.perf_counter()
    sections = {  # --only name: (title, table)
        "accuracy": ("Two and three talkers: arraykit, local maxima, pyroomacoustics",
                     lambda: accuracy(args.rooms, args.cache)),
        "counting": ("Counting, no source, confidence", lambda: counting(args.rooms, args.cache)),
        "confusion": (f"Counting on rooms {args.first}-{args.first + args.rooms - 1}",
                      lambda: confusion(args.rooms, args.first, args.cache)),
        "speed": ("Speed", lambda: speed(args.cache)),
        "confidence": ("The confidence's weights and reliability",
                       lambda: confidence_fit(args.rooms, args.cache)),
        "live": ("A covariance alone (locate_cov, arraykit live): no source, confidence",
                 lambda: live(args.rooms, args.cache)),
    }  # fmt: skip
    for name, (title, make) in sections.items():
        if name in only:
            print(f"\n## {title}\n")
            print(make())
    have_office = (args.office / "sources.csv").is_file()
    if {"office", "office-resolution"} & set(only) and not have_office:
        print(f"\n(office-ula32 not found at {args.office}: its tables skipped; --office ROOT)")
    if "office" in only and have_office:
        print("\n## office-ula32: several loudspeakers at once\n")
        print(office(args.office))
    if "office-resolution" in only and have_office:
        print("\n## office-ula32: by how far apart the sub-array sees the loudspeakers\n")
        print(office_resolution(args.office))
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
