"""Campaign throughput: scenes per second serially and on an embedded Dask cluster.

Run: ``.venv/bin/python benchmarks/bench_campaign.py [--scenes 24] [--workers 2]``.

The same small campaign (a 6-mic circle, RT60 0.3 s / 20 dB, one talker, 1 s of
speech-like signal; arraykit's SRP-PHAT, NormMUSIC, TOPS and delay-and-sum) runs
serially (``workers=0``) and on a ``LocalCluster`` of `--workers` single-threaded
processes (cluster start-up timed apart, then the campaign); both into fresh tables.
Prints scenes per second, the speed-up, the per-scene cost split (room render against
methods, in CPU seconds, which a busy machine does not inflate), the time to write one
scene's part file, and the machine's load average before and after (the machine may be
shared: say under what load a number was taken). On a busy machine the wall-clock
speed-up measures the share of the cores each run got; the CPU seconds per scene of the
serial process and of the Dask workers (``time.process_time`` in each) do not depend on
the load, and their ratio gives what the Dask run reaches on idle cores.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import arraykit as ak
from arraykit.campaign import ResultTable, load_spec
from arraykit.campaign.run import local_cluster

SPEC = """
[campaign]
name = "bench"
seeds = {seeds}
geometries = [{{ name = "circular-6", circular = [6, 0.0463] }}]
doa = ["srp-phat", "normmusic", "tops"]
beamformers = ["das"]
duration = 1.0
salt = {salt}
[rooms]
rt60 = 0.3
snr_db = 20
sources = [1]
"""


def cpu_split(spec: ak.campaign.Spec, n: int) -> tuple[float, dict[str, float]]:
    """Median CPU seconds of the render and of each method over `n` scenes (load-proof)."""
    import numpy as np

    from arraykit.campaign.run import _beamformer, _doa
    from arraykit.campaign.scene import draw, render

    cell = spec.cells[0]
    g = cell.geometry.build()
    renders: list[float] = []
    per: dict[str, list[float]] = {}
    for i in range(n):
        t = time.process_time()
        scene = render(spec, cell, draw(spec, cell, i, g), g)
        renders.append(time.process_time() - t)
        x = np.asarray(scene.signals)
        for kind, lib, m in ak.campaign.expected_methods(spec):
            t = time.process_time()
            if kind == "doa":
                _doa(x, g, spec, lib, m, cell.sources)
            else:
                _beamformer(x, scene, g, spec, m)
            per.setdefault(m, []).append(time.process_time() - t)
    return statistics.median(renders), {m: statistics.median(v) for m, v in per.items()}


def warm() -> None:
    """Import what a scene needs and run one tiny scene (in each Dask worker)."""
    import pyroomacoustics  # noqa: F401

    from arraykit.campaign.run import scene_rows

    spec = load_spec(SPEC.format(seeds=1, salt=5))
    scene_rows(spec, 0, 0, ak.campaign.expected_methods(spec))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=24, help="scenes per run (default 24)")
    parser.add_argument("--workers", type=int, default=2, help="Dask workers (default 2)")
    parser.add_argument(
        "--spec",
        help="time this campaign's own scenes instead (e.g. campaigns/accuracy.toml): "
        "--scenes per cell (salt + 1), the same scenes in both runs",
    )
    args = parser.parse_args()
    import distributed

    load0 = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="bench-campaign-"))
    # the same scenes in both runs: the workers are other processes, so neither run
    # can profit from the other's caches (the salt keeps them apart from warm()'s scene)
    if args.spec:
        base = load_spec(args.spec)
        spec = dataclasses.replace(base, seeds=args.scenes, salt=base.salt + 1)
    else:
        spec = load_spec(SPEC.format(seeds=args.scenes, salt=1))
    # warm-up: imports and steering caches, outside the timings
    warm()

    c0 = time.process_time()
    s_serial = ak.campaign.run(spec, tmp / "serial", workers=0)
    cpu_serial = time.process_time() - c0
    t0 = time.perf_counter()
    cluster = local_cluster(args.workers)
    client = distributed.Client(cluster)
    client.wait_for_workers(args.workers)
    client.run(warm)  # imports and first-call caches in every worker, outside the timing
    t_start = time.perf_counter() - t0
    w0 = sum(client.run(time.process_time).values())
    c0 = time.process_time()
    s_dask = ak.campaign.run(spec, tmp / "dask", client=client)
    cpu_client = time.process_time() - c0
    cpu_workers = sum(client.run(time.process_time).values()) - w0
    client.close()
    cluster.close()
    load1 = os.getloadavg()

    rate_s = s_serial.computed / s_serial.seconds
    rate_d = s_dask.computed / s_dask.seconds
    rows = ResultTable(tmp / "serial").read().to_pylist()
    t_render, methods = cpu_split(spec, min(spec.n_scenes, 6))
    per_scene_methods = sum(methods.values())
    table = ResultTable(tmp / "writes")
    scene = [r for r in rows if r["scene"] == 0]
    t1 = time.perf_counter()
    for _ in range(50):
        table.append(scene)
    t_write = (time.perf_counter() - t1) / 50

    print("| run | scenes | seconds | scenes/s |\n|---|---:|---:|---:|")
    print(
        f"| serial (`--workers 0`) | {s_serial.computed} | {s_serial.seconds:.1f} | {rate_s:.2f} |"
    )
    print(
        f"| LocalCluster, {args.workers} workers | {s_dask.computed} | {s_dask.seconds:.1f} | "
        f"{rate_d:.2f} |"
    )
    print(f"\nspeed-up {rate_d / rate_s:.2f}× (cluster start-up {t_start:.1f} s, not counted)")
    print(
        f"per scene, CPU seconds (medians of {min(spec.n_scenes, 6)} scenes): render "
        f"{t_render:.3f} s, methods {per_scene_methods:.3f} s ("
        + ", ".join(f"{m} {t:.3f}" for m, t in methods.items())
        + f"); one core: {1 / (t_render + per_scene_methods):.2f} scenes/s"
    )
    cpu_s, cpu_d = cpu_serial / s_serial.computed, cpu_workers / s_dask.computed
    print(
        f"CPU seconds per scene: serial {cpu_s:.3f}; Dask workers {cpu_d:.3f} "
        f"+ client (scheduling, receiving, writing) {cpu_client / s_dask.computed:.3f}; "
        f"on {args.workers} idle cores the Dask run would reach "
        f"{args.workers * cpu_s / cpu_d:.2f}× serial (CPU-bound estimate)"
    )
    big = rows * max(1, 2000 // len(rows))  # ~2000 rows: a batch of scenes in one part
    t1 = time.perf_counter()
    for _ in range(5):
        table.append(big)
    t_big = (time.perf_counter() - t1) / 5 / len(big)
    print(
        f"writing a batch as one part file: {t_big * 1e6:.0f} µs per row "
        f"({1 / (t_big * len(scene)):.0f} scenes/s of {len(scene)} rows from one client)"
    )
    print(f"writing one scene's part file ({len(scene)} rows): {t_write * 1e3:.1f} ms")
    print(
        f"load average before {load0[0]:.1f} / {load0[1]:.1f}, after {load1[0]:.1f} / "
        f"{load1[1]:.1f} (1 / 5 min) on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
