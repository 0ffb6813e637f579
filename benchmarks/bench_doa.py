"""DOA: arraykit against pyroomacoustics on identical inputs (speed, memory, accuracy).

Run: ``.venv/bin/python benchmarks/bench_doa.py [--quick]``. Prints markdown tables:

1. end-to-end time (STFT included, each library its own STFT) on a 6-mic circular
   array, 2 s at 16 kHz, nfft 512, 300-3500 Hz, a 360-point azimuth grid, per method;
2. a 16-mic rectangular array searching azimuth × elevation at 1 degree: time, peak
   traced memory (tracemalloc) and error;
3. scaling with the array: 4, 16 and 64 microphones × a 360-point ring and a
   10,000-point sphere (pyroomacoustics' Fibonacci sphere, searched by both), the same
   1 s signal, every method, one BLAS thread;
4. accuracy over seeded simulated scenes: methods × arrays × conditions, median and
   90th-percentile azimuth error of both libraries on the same scenes.

Timings are the minimum of several runs (the machine is shared). BLAS runs on one
thread for both libraries (OPENBLAS_NUM_THREADS=1): with threads, tiny batched
products stall under load, which would measure the scheduler, not the code.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import itertools
import sys
import time
import tracemalloc
from collections.abc import Callable
from functools import partial

import numpy as np

import arraykit as ak
from arraykit.doa.grids import angular_distance
from arraykit.doa.peers import PYROOMACOUSTICS
from arraykit.sim import Source, simulate, speech_like

FS = 16000
BAND = (300.0, 3500.0)
PRA_NAMES = PYROOMACOUSTICS


def best_time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def best_times(
    fns: dict[str, Callable[[], object]],
    rounds: int,
    seconds: float = 0.0,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """Minimum time of each function over rounds that run them in turn.

    Interleaving puts both libraries under the same load on a shared machine (a busy
    moment slows both, not one); each round runs each function 3 times. At least
    `rounds` rounds, and more until `seconds` have passed (at most 10x `rounds`), so
    that a busy spell shorter than that does not set the minimum. `clock`: wall time by
    default; ``time.process_time`` counts this process's CPU time only.
    """
    best = dict.fromkeys(fns, np.inf)
    start = time.perf_counter()
    done = 0
    while done < rounds or (time.perf_counter() - start < seconds and done < 10 * rounds):
        done += 1
        for name, fn in fns.items():
            for _ in range(3):
                t0 = clock()
                fn()
                best[name] = min(best[name], clock() - t0)
    return best


def pra_stft(x: np.ndarray, nfft: int) -> np.ndarray:
    """pyroomacoustics' own STFT, as its DOA examples do it, to (M, F, T)."""
    import pyroomacoustics as pra

    return pra.transform.stft.analysis(x.T, nfft, nfft // 2).transpose(2, 1, 0)


def pra_locate(
    x: np.ndarray,
    g: ak.ArrayGeometry,
    method: str,
    *,
    nfft: int = 512,
    k: int = 1,
    azimuth: np.ndarray | None = None,
    n_grid: int | None = None,
    dim: int = 2,
) -> np.ndarray:
    """pyroomacoustics end to end; returns (K, 2) degrees (elevation 0 for 2-D)."""
    import pyroomacoustics as pra

    L = g.positions[:, :dim].T
    kwargs: dict = {"c": 343.0, "num_src": k}
    if azimuth is not None:
        kwargs["azimuth"] = np.radians(azimuth)
    if n_grid is not None:
        kwargs["n_grid"] = n_grid
    if dim == 3:
        kwargs["dim"] = 3
    doa = pra.doa.algorithms[PRA_NAMES[method]](L, FS, nfft, **kwargs)
    doa.locate_sources(pra_stft(x, nfft), freq_range=list(BAND))
    az = np.degrees(np.atleast_1d(doa.azimuth_recon)) % 360
    if dim == 3:
        el = 90.0 - np.degrees(np.atleast_1d(doa.colatitude_recon))
    else:
        el = np.zeros_like(az)
    return np.stack([az, el], axis=1)


def ours_locate(x: np.ndarray, g: ak.ArrayGeometry, method: str, **kw) -> np.ndarray:
    return ak.doa.locate(x, FS, g, method=method, freq_range=BAND, **kw).directions


def errors(est: np.ndarray, truth: np.ndarray, g: ak.ArrayGeometry) -> np.ndarray:
    """Per-true-source error (degrees) under the best assignment; a linear array's
    mirror counts as correct (it cannot tell them apart)."""
    K = len(truth)
    if len(est) < K:  # a source left unfound counts as 180 degrees
        est = np.concatenate([est, np.full((K - len(est), 2), np.nan)])
    best = None
    for perm in itertools.permutations(range(len(est)), K):
        e = []
        for k, j in enumerate(perm):
            if np.isnan(est[j, 0]):
                e.append(180.0)
                continue
            d = angular_distance(est[j], truth[k])
            if g.layout == "linear":
                m = g.mirror(tuple(truth[k]))
                d = min(d, angular_distance(est[j], m))
            e.append(float(d))
        if best is None or sum(e) < sum(best):
            best = e
    return np.array(best)


# ------------------------------------------------------------------- 1. speed
def speed_table(repeat: int) -> str:
    g = ak.ArrayGeometry.circular(6, 0.0463, name="circular-6")
    scene = simulate(
        g, [Source(speech_like(2.0, FS, seed=11), azimuth=61.4)], FS, rt60=0.3, snr_db=20, seed=3
    )
    x = np.array(scene.signals[:, : 2 * FS])
    truth = scene.directions
    grid = np.arange(360.0)
    X_ours = ak.stft.stft(x, FS, nfft=512)
    X_pra = pra_stft(x, 512)
    rows = [
        "| method | arraykit end to end (ms) | pyroomacoustics end to end (ms) | speed-up | "
        "DOA only, STFT given: arraykit / pyroomacoustics (ms) | "
        "speed-up, DOA only | arraykit error (°) | pyroomacoustics error (°) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rounds = 3 * repeat
    t_stft = best_times({"stft": lambda: ak.stft.stft(x, FS, nfft=512)}, rounds)["stft"]
    for method in ak.doa.METHODS:
        fns: dict[str, Callable[[], object]] = {
            "ours": lambda m=method: ours_locate(x, g, m),
            "core": lambda m=method: ak.doa.locate_stft(X_ours, FS, g, method=m, freq_range=BAND),
        }
        if method in PRA_NAMES:
            fns["pra"] = lambda m=method: pra_locate(x, g, m, azimuth=grid)
            fns["pra_core"] = lambda m=method: pra_locate_stft(X_pra, g, m, azimuth=grid)
        t = best_times(fns, rounds, seconds=8.0)
        t_ours, t_core = t["ours"], t["core"]
        e_ours = errors(ours_locate(x, g, method), truth, g)[0]
        if method not in PRA_NAMES:
            rows.append(
                f"| {method} | {t_ours * 1e3:.1f} | — | — | {t_core * 1e3:.1f} / — | — | "
                f"{e_ours:.2f} | — |"
            )
            continue
        t_pra, t_pra_core = t["pra"], t["pra_core"]
        est_p = pra_locate(x, g, method, azimuth=grid)
        rows.append(
            f"| {method} | {t_ours * 1e3:.1f} | {t_pra * 1e3:.1f} | {t_pra / t_ours:.1f}× | "
            f"{t_core * 1e3:.1f} / {t_pra_core * 1e3:.1f} | "
            f"{t_pra_core / t_core:.1f}× | {e_ours:.2f} | {errors(est_p, truth, g)[0]:.2f} |"
        )
    t_ref = best_times({"fine": lambda: ours_locate(x, g, "srp-phat", resolution=0.1)}, rounds)
    est = ours_locate(x, g, "srp-phat", resolution=0.1)
    rows.append(
        f"| srp-phat at 0.1° (coarse-to-fine) | {t_ref['fine'] * 1e3:.1f} | — | — | — | — | "
        f"{errors(est, truth, g)[0]:.2f} | — |"
    )
    head = (
        "6-mic circular (r = 46.3 mm), 2 s speech-like at 16 kHz, RT60 0.3 s, SNR 20 dB, "
        "nfft 512, 300–3500 Hz, 360-point azimuth grid, end to end (each library's own STFT "
        f"included); minimum of at least {3 * rounds} runs and 8 s, the libraries taking turns. From time "
        "signals arraykit transforms only the band's bins (and, for SRP-PHAT / tdoa-ls, "
        "accumulates the PHAT cross-spectra in single precision); the full "
        f"`ak.stft.stft` of this clip takes {t_stft * 1e3:.1f} ms. 'DOA only' starts from "
        "each library's full STFT.\n\n"
    )
    return head + "\n".join(rows)


def pra_locate_stft(
    X: np.ndarray, g: ak.ArrayGeometry, method: str, *, azimuth: np.ndarray
) -> None:
    import pyroomacoustics as pra

    doa = pra.doa.algorithms[PRA_NAMES[method]](
        g.positions[:, :2].T, FS, 512, c=343.0, num_src=1, azimuth=np.radians(azimuth)
    )
    doa.locate_sources(X, freq_range=list(BAND))


# --------------------------------------------------------- 2. azimuth × elevation
def sphere_table(repeat: int) -> str:
    g = ak.ArrayGeometry.rectangular(4, 4, 0.042, name="rect-16")
    scene = simulate(
        g,
        [Source(speech_like(2.0, FS, seed=12), azimuth=61.4, elevation=33.3)],
        FS,
        rt60=0.3,
        snr_db=20,
        seed=4,
    )
    x = scene.signals[:, : 2 * FS]
    truth = scene.directions

    def mirrored_error(est: np.ndarray) -> float:  # above == below for a planar array
        e = est[0].copy()
        e[1] = abs(e[1])
        return float(angular_distance(e, truth[0]))

    def measure(fn: Callable[[], np.ndarray]) -> tuple[float, float, np.ndarray]:
        t, est = best_time(fn, repeat)
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return t, peak / 2**20, est

    n_full = 41253  # points of a 1-degree sphere (pyroomacoustics' Fibonacci sphere)
    runs = [
        (
            "pyroomacoustics SRP, 1° sphere (41253 points)",
            lambda: pra_locate(x, g, "srp-phat", n_grid=n_full, dim=3),
        ),
        (
            "arraykit srp-phat, 1° hemisphere, exhaustive (20626 points)",
            lambda: ours_locate(x, g, "srp-phat", grid="sphere", resolution=1.0, coarse=1.0),
        ),
        (
            "arraykit srp-phat, 3° hemisphere then 1° refinement",
            lambda: ours_locate(x, g, "srp-phat", grid="sphere", resolution=1.0),
        ),
        (
            "arraykit srp-phat, 3° then 0.1° refinement",
            lambda: ours_locate(x, g, "srp-phat", grid="sphere", resolution=0.1),
        ),
    ]
    rows = [
        "| search | time (ms) | speed-up vs pyroomacoustics | peak traced memory (MiB) | estimate (az, el) | error (°) |",
        "|---|---:|---:|---:|---|---:|",
    ]
    results = [(name, *measure(fn)) for name, fn in runs]
    t_pra = results[0][1]
    for name, t, mem, est in results:
        rows.append(
            f"| {name} | {t * 1e3:.0f} | {t_pra / t:.1f}× | {mem:.1f} | "
            f"({est[0, 0]:.1f}°, {est[0, 1]:.1f}°) | {mirrored_error(est):.2f} |"
        )
    head = (
        "16-mic rectangular 4×4 (42 mm), source at (61.4°, 33.3°), 2 s speech-like, RT60 0.3 s, "
        f"SNR 20 dB, nfft 512, 300–3500 Hz; minimum of {repeat} runs; the error folds the "
        "planar array's up/down mirror.\n\n"
    )
    return head + "\n".join(rows)


# ------------------------------------------------------------------- 3. scaling
SCALING_MICS = (4, 16, 64)
SPHERE_POINTS = 10_000


def scaling_table(
    repeat: int,
    *,
    budget: float = 20.0,
    progress: bool = False,
    mics: tuple[int, ...] = SCALING_MICS,
) -> str:
    """Time per search against the array size and the grid, both libraries.

    Circular arrays of 4, 16, 64 microphones, 5 cm between neighbours (radius
    ``0.05 M / 2 pi``, at least 3 cm), one source at (61.4°, 20°), 1 s of speech-like
    signal, RT60 0.3 s, SNR 20 dB. Ring: 360 azimuths at 0°; sphere: pyroomacoustics'
    10,000-point Fibonacci sphere, given to arraykit as a user grid (the same points,
    no refinement). Each library from time signals (its own STFT). A pyroomacoustics
    run longer than `budget` seconds is timed once. `progress`: each row to stderr as
    it is measured.
    """
    import pyroomacoustics as pra

    sphere = pra.doa.GridSphere(n_points=SPHERE_POINTS)
    sphere_dirs = np.stack(
        [np.degrees(sphere.azimuth) % 360.0, 90.0 - np.degrees(sphere.colatitude)], axis=1
    )
    methods = [m for m in ak.doa.METHODS if m in PRA_NAMES]
    rows = [
        "| mics | grid | " + " | ".join(methods) + " |",
        "|---|---|" + "---:|" * len(methods),
    ]
    for M in mics:
        g = ak.ArrayGeometry.circular(M, max(0.03, 0.05 * M / (2 * np.pi)), name=f"circ-{M}")
        scene = simulate(
            g,
            [Source(speech_like(1.0, FS, seed=5), azimuth=61.4, elevation=20.0)],
            FS,
            rt60=0.3,
            snr_db=20,
            seed=5,
        )
        x = np.array(scene.signals[:, :FS])
        for grid_name in ("ring 360", f"sphere {SPHERE_POINTS}"):
            cells = []
            for method in methods:
                if grid_name.startswith("ring"):
                    ours = partial(ours_locate, x, g, method)
                    theirs = partial(pra_locate, x, g, method, azimuth=np.arange(360.0))
                else:
                    ours = partial(ours_locate, x, g, method, grid=sphere_dirs)
                    theirs = partial(pra_locate, x, g, method, n_grid=SPHERE_POINTS, dim=3)
                t_pra, _ = best_time(theirs, 1)
                if t_pra * repeat < budget:
                    t = best_times({"ours": ours, "pra": theirs}, max(1, repeat // 3))
                    t_ours, t_pra = t["ours"], min(t_pra, t["pra"])
                else:
                    t_ours = best_times({"ours": ours}, max(1, repeat // 3))["ours"]
                cells.append(f"{t_ours * 1e3:.0f} / {t_pra * 1e3:.0f} ms ({t_pra / t_ours:.1f}×)")
            rows.append(f"| {M} | {grid_name} | " + " | ".join(cells) + " |")
            if progress:
                print(rows[-1], file=sys.stderr, flush=True)
    head = (
        "Circular arrays (5 cm between neighbours), 1 s speech-like at 16 kHz, RT60 0.3 s, "
        "SNR 20 dB, nfft 512, 300–3500 Hz, one source; each cell arraykit / "
        "pyroomacoustics end to end (each its own STFT) and the speed-up; one BLAS thread; "
        f"minimum of {max(1, repeat // 3) * 3} runs, the libraries taking turns "
        f"(a pyroomacoustics run over {budget:.0f} s / {repeat} is timed once). The sphere "
        f"is pyroomacoustics' {SPHERE_POINTS}-point Fibonacci sphere, the same points for "
        "both.\n\n"
    )
    return head + "\n".join(rows)


# ------------------------------------------------------------------ 4. accuracy
ARRAYS = {
    "linear 6×40 mm": ak.ArrayGeometry.linear(6, 0.04),
    "circular 6 (46 mm)": ak.ArrayGeometry.circular(6, 0.0463),
    "rectangular 4×4 (42 mm)": ak.ArrayGeometry.rectangular(4, 4, 0.042),
    "cross 9 (30 mm)": ak.load_geometry("cross-9-30mm"),
}
CONDITIONS = {
    "anechoic": (0.0, None),
    "RT60 0.3 s / 20 dB": (0.3, 20.0),
    "RT60 0.6 s / 10 dB": (0.6, 10.0),
}


def scene_set(g: ak.ArrayGeometry, rt60: float, snr: float | None, n: int, k: int, seed: int):
    rng = np.random.default_rng(seed)
    for i in range(n):
        if g.layout == "linear":
            az = rng.uniform(25, 155, size=k)
        else:
            az = rng.uniform(0, 360, size=k)
        while k == 2 and angular_distance([az[0], 0], [az[1], 0]) < 50:
            az[1] = (az[0] + rng.uniform(50, 130) * rng.choice([-1, 1])) % 360
            if g.layout == "linear":
                az[1] = rng.uniform(25, 155)
        srcs = [
            Source(speech_like(1.0, FS, seed=100 * seed + 10 * i + j), azimuth=float(a))
            for j, a in enumerate(az)
        ]
        yield simulate(g, srcs, FS, rt60=rt60, snr_db=snr, seed=1000 * seed + i)


def accuracy_table(n: int, k: int) -> tuple[str, str]:
    """Per-cell table and a summary pooled over the arrays (per condition and method)."""
    methods = [m for m in ak.doa.METHODS if ak.doa.registry.get(m).max_sources(9) >= k]
    rows = [
        "| array | condition | method | arraykit median / p90 (°) | pyroomacoustics median / p90 (°) |",
        "|---|---|---|---:|---:|",
    ]
    pooled: dict = {}
    worse = 0
    for (aname, g), (cname, (rt, snr)) in itertools.product(ARRAYS.items(), CONDITIONS.items()):
        scenes = list(scene_set(g, rt, snr, n, k, seed=len(aname) + int(10 * rt)))
        grid = ak.doa.grids.layout_grid(g, "azimuth", 1.0)[:, 0]
        for method in methods:
            ours, theirs = [], []
            for sc in scenes:
                ours.extend(
                    errors(ours_locate(sc.signals, g, method, num_sources=k), sc.directions, g)
                )
                if method in PRA_NAMES:
                    est = pra_locate(sc.signals, g, method, k=k, azimuth=grid)
                    theirs.extend(errors(est, sc.directions, g))
            pooled.setdefault((cname, method), ([], []))
            pooled[(cname, method)][0].extend(ours)
            pooled[(cname, method)][1].extend(theirs)
            o = f"{np.median(ours):.1f} / {np.percentile(ours, 90):.1f}"
            t = f"{np.median(theirs):.1f} / {np.percentile(theirs, 90):.1f}" if theirs else "—"
            if theirs and (
                np.median(ours) > np.median(theirs) + 0.05
                or np.percentile(ours, 90) > np.percentile(theirs, 90) + 0.05
            ):
                worse += 1
                t += " ⚠"
            rows.append(f"| {aname} | {cname} | {method} | {o} | {t} |")
    head = (
        f"{n} seeded scenes per cell, {k} speech-like source(s) of 1 s at random off-grid azimuths "
        "1.5 m from the array in a 6 × 5 × 3 m room, 1° grids for both (a linear array's mirror "
        "counts as correct), nfft 512, 300–3500 Hz. ⚠ marks cells where arraykit's median or "
        f"90th percentile is worse than pyroomacoustics' ({worse} cells).\n\n"
    )
    summary = [
        "| condition | method | arraykit median / p90 (°) | pyroomacoustics median / p90 (°) |",
        "|---|---|---:|---:|",
    ]
    for (cname, method), (ours, theirs) in pooled.items():
        o = f"{np.median(ours):.1f} / {np.percentile(ours, 90):.1f}"
        t = f"{np.median(theirs):.1f} / {np.percentile(theirs, 90):.1f}" if theirs else "—"
        summary.append(f"| {cname} | {method} | {o} | {t} |")
    pooled_head = f"Pooled over the 4 arrays ({4 * n * k} errors per row), {k} source(s):\n\n"
    return head + "\n".join(rows), pooled_head + "\n".join(summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and scenes")
    parser.add_argument(
        "--only",
        choices=("speed", "multisource", "sphere", "scaling", "accuracy"),
        help="one table only",
    )
    parser.add_argument(
        "--mics", type=int, nargs="+", default=SCALING_MICS, help="scaling table: array sizes"
    )
    args = parser.parse_args()
    repeat = 3 if args.quick else 7
    n = 3 if args.quick else 8
    run = {args.only} if args.only else {"speed", "multisource", "sphere", "scaling", "accuracy"}
    if "speed" in run:
        print("## Speed: 6-mic circular, azimuth ring\n")
        print(speed_table(repeat))
    if "multisource" in run:
        from bench_multisource import speed  # it imports this module: not at the top

        print("\n## Several sources: one, two given and counted, on the same map\n")
        print(speed(rounds=3 if args.quick else 20))
    if "sphere" in run:
        print("\n## Speed and memory: 16-mic rectangular, azimuth × elevation at 1°\n")
        print(sphere_table(max(2, repeat // 2)))
    if "scaling" in run:
        print("\n## Scaling with the array: 4, 16, 64 microphones × ring and sphere\n")
        print(scaling_table(repeat, progress=True, mics=tuple(args.mics)))
    for k, n_k in ((1, n), (2, max(2, n // 2))) if "accuracy" in run else ():
        cells, pooled = accuracy_table(n_k, k)
        print(f"\n## Accuracy, {k} source(s), pooled\n")
        print(pooled)
        print(f"\n## Accuracy, {k} source(s), per array and condition\n")
        print(cells)


if __name__ == "__main__":
    main()
