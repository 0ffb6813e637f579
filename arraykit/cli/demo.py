"""``arraykit demo``: the main job `make demo` runs.

A simulated room (6 × 5 × 3 m, RT60 0.3 s) with two talkers and sensor noise around
a ReSpeaker-like 6-microphone ring; every DOA method estimates both directions; the
command prints true against estimated directions with the error per method and
writes a picture of the spatial spectra with the estimates and the truth marked.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

DEFAULT_PLOT = "arraykit-demo-doa.png"
TALKERS = ((62.5, 0.0, 1.6), (208.3, 0.0, 1.3))  # azimuth, elevation (°), distance (m)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run the demonstration (what `make demo` does)",
        description=(
            "Two talkers and noise in a simulated room around a ReSpeaker-like array: "
            "true against estimated directions for every DOA method, and a picture of the maps."
        ),
    )
    p.add_argument(
        "--plot",
        default=DEFAULT_PLOT,
        metavar="PNG",
        help=f"where to write the picture (default ./{DEFAULT_PLOT})",
    )
    p.add_argument(
        "--geometry",
        default="respeaker-6mic",
        metavar="NAME",
        help="array (default respeaker-6mic)",
    )
    p.add_argument("--rt60", type=float, default=0.3, help="reverberation time, s (default 0.3)")
    p.add_argument("--snr", type=float, default=20.0, help="sensor SNR, dB (default 20)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from arraykit.doa import METHODS, locate
    from arraykit.doa.grids import angular_distance
    from arraykit.geometry import load_geometry
    from arraykit.sim import Source, simulate, speech_like

    fs = 16000
    g = load_geometry(args.geometry)
    sources = [
        Source(speech_like(2.0, fs, seed=args.seed + 1 + k), azimuth=a, elevation=e, distance=d)
        for k, (a, e, d) in enumerate(TALKERS)
    ]
    scene = simulate(g, sources, fs, rt60=args.rt60, snr_db=args.snr, seed=args.seed)
    truth = scene.directions
    print(
        f"Simulated room 6 × 5 × 3 m, RT60 {args.rt60:g} s, SNR {args.snr:g} dB, "
        f"{g.n_mics}-mic '{g.name}' ({g.layout}, aperture {g.aperture * 1000:.0f} mm), "
        f"{scene.signals.shape[1] / fs:.1f} s at {fs} Hz"
    )
    print("true talkers: " + ", ".join(f"azimuth {a:.1f}°" for a, _ in truth) + "\n")
    header = f"{'method':10s} {'estimates (azimuth °)':>24s} {'errors (°)':>16s} {'time (ms)':>10s}"
    print(header)
    print("-" * len(header))
    results = {}
    for method in METHODS:
        k = 1 if method == "tdoa-ls" else len(truth)
        t0 = time.perf_counter()
        res = locate(scene.signals, fs, g, method=method, num_sources=k, resolution=0.5)
        ms = (time.perf_counter() - t0) * 1e3
        results[method] = res
        errs = _errors(res.directions, truth[:k] if k == 1 else truth, angular_distance)
        if k == 1:  # one estimate: score it against the nearer talker
            errs = [min(float(angular_distance(res.directions[0], t)) for t in truth)]
        est = ", ".join(f"{a:.1f}" for a in res.azimuth)
        err = ", ".join(f"{e:.1f}" for e in errs)
        print(f"{method:10s} {est:>24s} {err:>16s} {ms:10.1f}")
    auto = locate(scene.signals, fs, g, num_sources="auto")
    print(f"\nnum_sources='auto' finds {auto.num_sources}: {auto.count_reason}")
    try:
        from arraykit.plot.doa import plot_doa_spectra
    except ImportError as exc:  # pragma: no cover - matplotlib missing
        print(f"(no picture: {exc})")
        return 0
    fig = plot_doa_spectra(
        results,
        truth=truth,
        title=f"Two talkers, RT60 {args.rt60:g} s: spatial spectra per method (× estimate, ○ truth)",
    )
    fig.savefig(args.plot, dpi=110, bbox_inches="tight")
    print(f"picture of the maps written to {args.plot}")
    return 0


def _errors(est: np.ndarray, truth: np.ndarray, dist) -> list[float]:
    """Per true talker, the error under the best pairing of estimates to talkers."""
    best = None
    for perm in itertools.permutations(range(len(est)), len(truth)):
        e = [float(dist(est[j], truth[i])) for i, j in enumerate(perm)]
        if best is None or sum(e) < sum(best):
            best = e
    return best or []
