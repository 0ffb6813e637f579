"""Run a campaign: every scene a task, every method on it, rows appended as scenes finish.

Where the scenes run:

- ``workers=0``: serially in this process;
- default: an embedded ``distributed.LocalCluster``, one single-threaded worker
  process per core (``workers=N`` for N of them);
- ``scheduler="tcp://HOST:8786"`` (or ``client=``): an existing Dask cluster.

Each scene is one task (``client.submit``); results come back in completion order
(``as_completed``); the rows of every scene finished by then are written to the
table as one part file before the next results are taken (one scene per file while
they trickle in, larger batches when they arrive faster than a file is written). Only the rows missing from the table are computed,
so a rerun of a finished campaign does nothing, an interrupted one resumes, and a
spec with a method added computes only that method's rows. Scenes are
deterministic (see :mod:`arraykit.campaign.scene`), so a serial run and a Dask run
write the same rows; only the times differ (``TIMING_COLUMNS``). Bit-identical
floats across processes assume the same BLAS threading: Dask's workers use one
thread (its ``pre-spawn-environ`` sets ``OPENBLAS_NUM_THREADS=1``); run a serial
campaign under ``OPENBLAS_NUM_THREADS=1`` to compare with them.

A scene that raises (a cell that cannot be rendered, a method that fails) becomes
rows with ``status="failed"`` and the error's message, and the campaign goes on;
failed rows count as done (the failure is deterministic). A worker that dies takes
its running task with it; the scheduler reruns it on another worker.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from arraykit import _validate as v
from arraykit._validate import fail
from arraykit.campaign._deps import need
from arraykit.campaign.scene import SceneParams, draw, render
from arraykit.campaign.spec import Spec, load_spec
from arraykit.campaign.table import ResultTable
from arraykit.doa.peers import PYROOMACOUSTICS
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry

__all__ = ["PEER_NAMES", "RunSummary", "expected_methods", "local_cluster", "run", "scene_rows"]

logger = logging.getLogger(__name__)

# arraykit DOA method -> pyroomacoustics' name for the same algorithm
PEER_NAMES = PYROOMACOUSTICS
Job = tuple[str, str, str]  # (kind, library, method)


@dataclass(frozen=True)
class RunSummary:
    """What a :func:`run` did.

    Attributes
    ----------
    scenes : int
        Scenes in the spec.
    skipped : int
        Scenes already complete in the table.
    computed : int
        Scenes computed (and written) by this run.
    failed_rows : int
        Rows of this run with ``status="failed"``.
    lost : int
        Scenes whose task could not finish (e.g. it killed every worker it ran on);
        nothing is written for them, so a rerun retries them.
    seconds : float
        Wall-clock time of the run.
    """

    scenes: int
    skipped: int
    computed: int
    failed_rows: int
    lost: int
    seconds: float


def expected_methods(spec: Spec) -> tuple[Job, ...]:
    """The (kind, library, method) rows every scene of `spec` has."""
    jobs: list[Job] = [("doa", "arraykit", m) for m in spec.doa]
    if "pyroomacoustics" in spec.peers:
        jobs += [("doa", "pyroomacoustics", m) for m in spec.doa if m in PEER_NAMES]
    jobs += [("beamformer", "arraykit", b) for b in spec.beamformers]
    return tuple(jobs)


def _errors(est: np.ndarray, truth: np.ndarray, g: ArrayGeometry) -> list[float]:
    """Per true talker, the angular error (°) under the best pairing with the estimates.

    A linear array's mirror counts as right (it cannot tell them apart); a talker
    left unfound (fewer estimates than talkers) counts 180°.
    """
    from arraykit.doa.grids import angular_distance

    K = len(truth)
    if len(est) < K:
        est = np.concatenate([est, np.full((K - len(est), 2), np.nan)])
    d = np.full((len(est), K), 180.0)
    for j, k in itertools.product(range(len(est)), range(K)):
        if np.isnan(est[j, 0]):
            continue
        d[j, k] = float(angular_distance(est[j], truth[k]))
        if g.layout == "linear":
            m = g.mirror((float(truth[k, 0]), float(truth[k, 1])))
            if m is not None:
                d[j, k] = min(d[j, k], float(angular_distance(est[j], m)))
    best = min(
        itertools.permutations(range(len(est)), K),
        key=lambda p: sum(d[j, k] for k, j in enumerate(p)),
    )
    return [float(d[j, k]) for k, j in enumerate(best)]


def _peer_locate(x: np.ndarray, g: ArrayGeometry, spec: Spec, method: str, k: int) -> np.ndarray:
    """pyroomacoustics' own method on its own STFT, on arraykit's 1° grid; (K, 2) degrees."""
    import pyroomacoustics as pra

    from arraykit.doa.grids import layout_grid

    grid = layout_grid(g, "azimuth", 1.0)[:, 0]
    doa = pra.doa.algorithms[PEER_NAMES[method]](
        g.positions[:, :2].T,
        spec.fs,
        spec.nfft,
        c=SPEED_OF_SOUND,
        num_src=k,
        azimuth=np.radians(grid),
    )
    X = pra.transform.stft.analysis(x.T, spec.nfft, spec.nfft // 2).transpose(2, 1, 0)
    doa.locate_sources(X, freq_range=list(spec.band))
    az = np.degrees(np.atleast_1d(doa.azimuth_recon)) % 360
    return np.stack([az, np.zeros_like(az)], axis=1)


def _doa(
    x: np.ndarray, g: ArrayGeometry, spec: Spec, library: str, method: str, k: int
) -> np.ndarray:
    if library == "pyroomacoustics":
        return _peer_locate(x, g, spec, method, k)
    from arraykit.doa import locate

    res = locate(x, spec.fs, g, method=method, num_sources=k, freq_range=spec.band, nfft=spec.nfft)
    return np.asarray(res.directions)


@functools.cache
def library_version(library: str) -> str | None:
    """The version of `library` that computes a row here: arraykit's with its git commit
    when it runs from a checkout (``"0.1.0+g87d0637"``, ``".dirty"`` with uncommitted
    changes); a peer's ``__version__``; None when it is not installed. Computed once per
    process (on the worker that renders the scene)."""
    if library == "arraykit":
        from arraykit import __version__

        root = Path(__file__).resolve().parents[2]
        if not (root / ".git").exists():
            return __version__
        try:
            git = ["git", "-C", str(root)]
            head = subprocess.run(
                [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
            )
            dirty = subprocess.run(
                [*git, "status", "--porcelain", "--untracked-files=no", "--", "arraykit"],
                capture_output=True,
                text=True,
                timeout=10,
            )
        except (OSError, subprocess.SubprocessError):
            return __version__
        if head.returncode != 0:
            return __version__
        return f"{__version__}+g{head.stdout.strip()}" + (".dirty" if dirty.stdout.strip() else "")
    try:
        module = __import__(library)
    except ImportError:
        return None
    return str(getattr(module, "__version__", None) or "") or None


def scene_rows(
    spec: Spec, cell_index: int, index: int, jobs: tuple[Job, ...]
) -> list[dict[str, Any]]:
    """Render scene `index` of cell `cell_index` and run `jobs` on it: one row per job.

    Never raises for a scene's own failure: a scene that cannot be rendered gives a
    failed row per job, a job that raises a failed row with its error.
    """
    cell = spec.cells[cell_index]
    base: dict[str, Any] = {
        "campaign": spec.name,
        "cell": cell.id,
        "geometry": cell.geometry.label,
        "condition": cell.condition,
        "sources": cell.sources,
        "scene": index,
        "seed": f"{spec.scene_seed(cell, index):032x}",
        "room_dim": list(cell.room_dim),
    }
    t0 = time.perf_counter()
    try:
        g = cell.geometry.build()
        params: SceneParams = draw(spec, cell, index, g)
        base.update(rt60=params.rt60, snr_db=params.snr_db, distance=params.distance)
        scene = render(spec, cell, params, g)
    except Exception as exc:  # the cell cannot be rendered: record it, go on
        render_s = time.perf_counter() - t0
        msg = _message(exc)
        return [
            {**base, "kind": kind, "library": lib, "method": m, "version": library_version(lib),
             "status": "failed", "error": msg, "render_s": render_s}
            for kind, lib, m in jobs
        ]  # fmt: skip
    render_s = time.perf_counter() - t0
    truth = np.asarray(scene.directions)
    base.update(
        true_azimuth=truth[:, 0].tolist(), true_elevation=truth[:, 1].tolist(), render_s=render_s
    )
    x = np.asarray(scene.signals)
    rows = []
    for kind, lib, m in jobs:
        row = {**base, "kind": kind, "library": lib, "method": m, "version": library_version(lib)}
        t1 = time.perf_counter()
        try:
            if kind == "doa":
                est = _doa(x, g, spec, lib, m, cell.sources)
                errs = _errors(est, truth, g)
                row.update(
                    est_azimuth=est[:, 0].tolist(),
                    est_elevation=est[:, 1].tolist(),
                    errors_deg=errs,
                    error_deg=float(np.mean(errs)),
                )
            else:
                row.update(_beamformer(x, scene, g, spec, m))
            row["status"] = "ok"
        except Exception as exc:  # one method failing does not stop the others
            row.update(status="failed", error=_message(exc))
        row["method_s"] = time.perf_counter() - t1
        rows.append(row)
    return rows


def _beamformer(
    x: np.ndarray, scene: Any, g: ArrayGeometry, spec: Spec, method: str
) -> dict[str, float]:
    """SNR and SI-SDR gains toward talker 0 at its true direction (the others are the noise)."""
    from arraykit.beamform import compare_methods

    nulls = np.asarray(scene.directions)[1:]
    if method == "lcmv" and len(nulls) == 0:
        raise ValueError("lcmv needs an interferer to null (a scene with one talker has none)")
    (score,) = compare_methods(
        x,
        spec.fs,
        g,
        np.asarray(scene.directions)[0],
        target_image=np.asarray(scene.images)[0],
        methods=(method,),
        nulls=nulls,
        nfft=spec.nfft,
    )
    return {"snr_gain_db": score.snr_gain_db, "si_sdr_gain_db": score.si_sdr_gain_db}


def _message(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _todo(spec: Spec, table: ResultTable) -> tuple[list[tuple[int, int, tuple[Job, ...]]], int]:
    """The scenes with rows missing, each with the jobs it still needs; and how many are done."""
    have = table.keys()
    jobs = expected_methods(spec)
    todo = []
    # scene-major: a run cut short leaves every cell with (nearly) as many scenes
    for i in range(spec.seeds):
        for ci, cell in enumerate(spec.cells):
            missing = tuple(j for j in jobs if (cell.id, i, *j) not in have)
            if missing:
                todo.append((ci, i, missing))
    return todo, spec.n_scenes - len(todo)


def _refuse_changed_cells(spec: Spec, table: ResultTable) -> None:
    """A spec cell whose labels (geometry, condition, talkers) the table holds under
    another cell id was drawn from other settings (the spec's rooms, a condition or the
    geometry changed since): its scenes would be pooled with the old ones in the report."""
    held: dict[tuple[str, str, int], set[str]] = {}
    for cid, geometry, condition, sources in table.cells():
        held.setdefault((geometry, condition, sources), set()).add(cid)
    for cell in spec.cells:
        label = (cell.geometry.label, cell.condition, cell.sources)
        if held.get(label, set()) - {cell.id}:
            why = (
                f"holds scenes of {label[0]} / {label[1]} / {label[2]} talker(s) drawn from "
                "other settings (the spec's rooms, conditions or geometry changed since); "
                "the report would pool them with this spec's: write to a new table"
            )
            raise fail("output", str(table.path), why)


def run(
    spec: Spec | str | Path,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    progress: bool = False,
    compact: bool = True,
) -> RunSummary:
    """Run the campaign `spec` into the table at `out`, computing only the missing rows.

    Parameters
    ----------
    spec : Spec or path
        A spec from :func:`~arraykit.campaign.spec.load_spec`, or its TOML file.
    out : path
        The result table (a directory of Parquet parts; created if absent).
    workers : int, optional
        0: serial, in this process. Otherwise the number of worker processes of an
        embedded ``LocalCluster`` (default: one per core), one thread each.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://HOST:8786``); not with `workers`
        or `client`.
    client : distributed.Client, optional
        An existing client to run on (instead of `workers` / `scheduler`).
    progress : bool
        Show a tqdm progress bar on stderr (scenes done, rate, time left).
    compact : bool
        Merge the table's part files into one at the end of a complete run.
    """
    need("pyarrow")
    tqdm = need("tqdm").tqdm
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 0
    ):
        raise fail("workers", workers, "must be an integer >= 0 (0: serial)")
    if scheduler is not None and (workers is not None or client is not None):
        why = "names an existing cluster; workers= (0: serial) and client= run elsewhere"
        raise fail("scheduler", scheduler, f"{why}: give one of them")
    table = ResultTable(out)
    if not table.path.exists() and not table.path.absolute().parent.is_dir():
        where = str(table.path.parent)
        raise fail("output", str(out), f"its folder {where!r} does not exist: create it first")
    _refuse_changed_cells(spec, table)
    # the list of scenes to do: (cell, scene, jobs) tuples of about 200 bytes
    what = f"the list of {spec.n_scenes:.3g} scenes ({spec.seeds} seeds x {len(spec.cells)} cells)"
    v.fits("campaign.seeds", spec.seeds, 200.0 * spec.n_scenes, what, "use fewer seeds")
    table.check_writable()
    todo, skipped = _todo(spec, table)
    t0 = time.perf_counter()
    bar = tqdm(total=len(todo), unit="scene", disable=not progress, smoothing=0.05)
    state = {"computed": 0, "failed": 0, "lost": 0}

    def take(scenes: int, rows: list[dict[str, Any]]) -> None:
        table.append(rows)
        state["computed"] += scenes
        state["failed"] += sum(r["status"] != "ok" for r in rows)
        bar.update(scenes)

    try:
        if not todo:
            pass
        elif workers == 0 and client is None and scheduler is None:
            for ci, i, jobs in todo:
                take(1, scene_rows(spec, ci, i, jobs))
        else:
            with _client(client, scheduler, workers) as cl:
                for scenes, rows in _stream(cl, spec, todo, state):
                    take(scenes, rows)
    finally:
        bar.close()
    if compact and state["lost"] == 0:
        table.compact()
    return RunSummary(
        scenes=spec.n_scenes,
        skipped=skipped,
        computed=state["computed"],
        failed_rows=state["failed"],
        lost=state["lost"],
        seconds=time.perf_counter() - t0,
    )


def _stream(
    client: Any, spec: Spec, todo: list[tuple[int, int, tuple[Job, ...]]], state: dict[str, int]
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    distributed = need("distributed")
    futures = [
        client.submit(
            scene_rows, spec, ci, i, jobs, key=f"scene-{spec.cells[ci].id}-{i}", pure=False
        )
        for ci, i, jobs in todo
    ]
    try:
        # every result ready at the same moment is written as one part file: one
        # file per scene while scenes trickle in, fewer and larger ones at scale
        for batch in distributed.as_completed(futures).batches():
            rows: list[dict[str, Any]] = []
            done = 0
            for fut in batch:
                try:
                    rows += fut.result()
                    done += 1
                except Exception as exc:  # the task itself died (e.g. KilledWorker): retry next run
                    logger.warning("scene task %s lost: %s", fut.key, _message(exc))
                    state["lost"] += 1
                finally:
                    fut.release()
            if done:
                yield done, rows
    finally:
        client.cancel(futures)


def local_cluster(n_workers: int) -> Any:
    """The embedded cluster: `n_workers` processes, one thread each, BLAS on one thread.

    Dask's defaults are tuned for interactive work; for these long numeric tasks on a
    few cores (the scheduler shares them, in this process) they cost time, measured on
    the accuracy campaign's own scenes (`benchmarks/bench_campaign.py --spec`):

    - its nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in the workers, which fixes glibc's
      mmap threshold at 128 KiB, so every array above it is mapped and unmapped afresh, page
      faults and all: a scene took 1.75 times the CPU of a plain process (0.53 s against
      0.30 s). Workers keep glibc's adaptive default, as the serial run does;
    - its periodic callbacks (the event-loop tick every 20 ms, the system monitor every
      0.5 s, the memory monitor every 0.1 s, in the scheduler and in every worker) and the
      statistical profiler (a stack sample every 10 ms): slowed to 0.5 s / 5 s / 1 s and
      off, 2 workers went from 1.66x to 1.85x serial (worker CPU per scene 2.62 s -> 2.33 s,
      the client's 0.12 s -> 0.03 s).
    """
    dask = need("dask")
    distributed = need("distributed")
    one_thread = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    config = {
        "distributed.worker.profile.enabled": False,
        "distributed.nanny.pre-spawn-environ": one_thread,
        "distributed.admin.tick.interval": "500ms",
        "distributed.admin.system-monitor.interval": "5s",
        "distributed.admin.system-monitor.gil.enabled": False,
        "distributed.worker.memory.monitor-interval": "1s",
    }
    with dask.config.set(config):
        return distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
        )


class _client:
    """A context giving a client: the one passed, one to a scheduler, or an embedded cluster."""

    def __init__(self, client: Any, scheduler: str | None, workers: int | None) -> None:
        self.given, self.scheduler, self.workers = client, scheduler, workers
        self.own: list[Any] = []

    def __enter__(self) -> Any:
        if self.given is not None:
            return self.given
        distributed = need("distributed")
        if self.scheduler is not None:
            try:
                cl = distributed.Client(self.scheduler)
            except (OSError, ValueError, TypeError) as exc:  # a bad address, none answering
                raise fail("scheduler", self.scheduler, f"cannot connect: {exc}") from None
            self.own.append(cl)
            return cl
        cluster = local_cluster(self.workers or os.cpu_count() or 1)
        cl = distributed.Client(cluster)
        self.own += [cl, cluster]
        return cl

    def __exit__(self, *exc: object) -> None:
        for obj in self.own:
            obj.close()
