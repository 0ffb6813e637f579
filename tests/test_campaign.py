"""Campaigns: deterministic, resumable, the same on Dask as serially, and robust to faults.

Small specs of short anechoic / lightly reverberant scenes on a 4-mic array, so that
the whole file stays within seconds; one real ``LocalCluster`` (two worker processes)
is shared by the Dask tests. Rows are compared as the exact ``repr`` of every value,
the wall-clock columns (``TIMING_COLUMNS``) excepted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

import arraykit as ak
from arraykit.campaign import TIMING_COLUMNS, ResultTable, expected_methods, load_spec
from arraykit.campaign import run as run_campaign
from arraykit.campaign.table import schema
from arraykit.cli import main as cli_main
from arraykit.errors import InvalidArgumentError

pytestmark = pytest.mark.slow  # a real Dask LocalCluster, worker kills and a CLI interrupted

ROOT = Path(__file__).resolve().parents[1]
SPEC = """
[campaign]
name = "tiny"
seeds = {seeds}
geometries = ["respeaker-usb-4mic"]
doa = ["srp-phat", "normmusic"]
beamformers = ["das"]
peers = ["pyroomacoustics"]
duration = 0.3

[rooms]
sources = [1]

[conditions.anechoic]
rt60 = 0
snr_db = 30

[conditions.small-room]
rt60 = [0.15, 0.25]
snr_db = [15, 25]
room_dim = [4, 3.5, 2.6]

[conditions.far]          # a talker 10 m away in a 6 x 5 m room: cannot be rendered
distance = 10
"""


def spec_text(seeds: int) -> str:
    return SPEC.format(seeds=seeds)


def rows(path: Path, *, below: int | None = None) -> list[str]:
    """Every row as the repr of its values (timings dropped), in the table's order."""
    t = ResultTable(path).read().drop_columns(list(TIMING_COLUMNS))
    out = t.to_pylist()
    if below is not None:
        out = [r for r in out if r["scene"] < below]
    return [repr(r) for r in out]


def raw_row_count(path: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.read_metadata(p).num_rows for p in ResultTable(path).parts())


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny campaign run serially: 3 cells × 4 scenes."""
    out = tmp_path_factory.mktemp("ref") / "results.parquet"
    s = run_campaign(load_spec(spec_text(4)), out, workers=0)
    assert (s.scenes, s.skipped, s.computed, s.lost) == (12, 0, 12, 0)
    return out


@pytest.fixture(scope="module")
def client():
    """The embedded cluster the CLI starts (`local_cluster`), with 2 workers."""
    distributed = pytest.importorskip("distributed")
    from arraykit.campaign.run import local_cluster

    cluster = local_cluster(2)
    cl = distributed.Client(cluster)
    yield cl
    cl.close()
    cluster.close()


def test_bad_spec_one_line_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cases = {
        "campaign.doa[1]": spec_text(2).replace('"normmusic"]', '"nosuch"]'),
        "campaign.seeds": spec_text(2).replace("seeds = 2", "seeds = 0"),
        "campaign.sedes": spec_text(2).replace("seeds = 2", "sedes = 2"),
        "campaign.beamformers[0]": spec_text(2).replace('["das"]', '["dsa"]'),
        "conditions.small-room.rt60": spec_text(2).replace("[0.15, 0.25]", "[0.25, 0.15]"),
        "rooms.sources[0]": spec_text(2).replace("sources = [1]", "sources = [0]"),
    }
    for key, text in cases.items():
        with pytest.raises(InvalidArgumentError) as err:
            load_spec(text)
        assert str(err.value).startswith(key), (key, str(err.value))
    bad = tmp_path / "bad.toml"
    bad.write_text(cases["campaign.doa[1]"])
    assert cli_main(["campaign", str(bad), "-o", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "campaign.doa[1]" in lines[0] and "srp-phat" in lines[0]
    assert not (tmp_path / "out").exists()
    # nine talkers at the default 50 deg apart: it named a key the spec did not set and
    # said neither the count nor what would fit
    with pytest.raises(InvalidArgumentError) as err:
        load_spec(spec_text(2).replace("sources = [1]", "sources = [1, 9]"))
    msg = str(err.value)
    assert msg.startswith("rooms.min_separation=50.0: ") and "9 talkers" in msg
    assert "rooms.sources" in msg and "below 22.5" in msg


def test_a_geometry_file_beside_the_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ODAS .cfg named in the spec was looked up from the working folder, not beside the
    spec as a .toml / .xml is; a bad name's message named the value twice."""
    from test_geometry_files import ODAS_CFG

    (tmp_path / "odas.cfg").write_text(ODAS_CFG)
    spec = tmp_path / "rooms.toml"
    spec.write_text(spec_text(1).replace('["respeaker-usb-4mic"]', '["odas.cfg"]'))
    monkeypatch.chdir(ROOT)
    cell = load_spec(spec).cells[0]
    assert cell.geometry.label == "odas.cfg"
    assert cell.geometry.build() == ak.load_geometry(tmp_path / "odas.cfg")
    spec.write_text(spec_text(1).replace('["respeaker-usb-4mic"]', '["nosuch"]'))
    with pytest.raises(InvalidArgumentError) as err:
        load_spec(spec)
    assert str(err.value).startswith("campaign.geometries[0]='nosuch': unknown geometry")


def test_methods_are_validated_against_the_libraries_lists() -> None:
    spec = load_spec(spec_text(1))
    assert set(spec.doa) <= set(ak.doa.METHODS)
    assert set(spec.beamformers) <= set(ak.beamform.METHODS)
    jobs = expected_methods(spec)
    assert ("doa", "pyroomacoustics", "srp-phat") in jobs and len(jobs) == 5


def test_scenes_are_deterministic_and_a_failing_cell_is_recorded(reference: Path) -> None:
    t = ResultTable(reference).read().to_pylist()
    assert len(t) == 12 * 5 == raw_row_count(reference)
    far = [r for r in t if r["condition"] == "far"]
    assert len(far) == 4 * 5 and all(r["status"] == "failed" for r in far)
    assert all("outside the room" in r["error"] for r in far)
    ok = [r for r in t if r["condition"] != "far"]
    assert all(r["status"] == "ok" for r in ok)
    # every scene has its own seed; the drawn ranges are respected
    assert len({r["seed"] for r in t}) == 12
    small = [r for r in ok if r["condition"] == "small-room"]
    assert all(0.15 <= r["rt60"] <= 0.25 and 15 <= r["snr_db"] <= 25 for r in small)
    assert len({r["rt60"] for r in small}) == 4
    # the same spec rendered again in this process: bit-identical rows
    spec = load_spec(spec_text(4))
    again = ak.campaign.scene_rows(spec, 1, 2, expected_methods(spec))
    mine = [r for r in t if r["condition"] == "small-room" and r["scene"] == 2]
    names = [n for n in schema().names if n not in TIMING_COLUMNS]

    def strip(rs: list[dict]) -> list[str]:
        return sorted(repr({n: r.get(n) for n in names}) for r in rs)

    assert strip(again) == strip(mine)


def test_accuracy_number_anechoic_srp_phat(reference: Path) -> None:
    """The numbers themselves: SRP-PHAT within 1° in quiet anechoic scenes; DAS gains SNR."""
    t = ResultTable(reference).read().to_pylist()
    srp = [
        r["error_deg"]
        for r in t
        if r["condition"] == "anechoic" and r["method"] == "srp-phat" and r["library"] == "arraykit"
    ]
    assert len(srp) == 4 and np.median(srp) < 1.0, srp
    das = [r["snr_gain_db"] for r in t if r["condition"] == "anechoic" and r["method"] == "das"]
    # 4 mics against white sensor noise: delay-and-sum gains close to 10 log10(4) = 6 dB
    assert all(4.0 < g < 7.0 for g in das), das
    rep = ak.campaign.report(reference)
    (s,) = [
        x
        for x in rep.doa
        if x.condition == "anechoic" and x.method == "srp-phat" and x.library == "arraykit"
    ]
    assert (
        s.median == pytest.approx(np.median(srp)) and s.median_ci[0] <= s.median <= s.median_ci[1]
    )
    assert "anechoic" in rep.markdown() and "outside the room" in rep.markdown()


def test_resume_computes_only_the_missing_rows(reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    first = run_campaign(load_spec(spec_text(2)), out, workers=0)
    assert first.computed == 6
    second = run_campaign(load_spec(spec_text(4)), out, workers=0)
    assert (second.skipped, second.computed) == (6, 6)
    assert rows(out) == rows(reference)
    third = run_campaign(load_spec(spec_text(4)), out, workers=0)
    assert (third.skipped, third.computed) == (12, 0)
    # a method added to the spec: only its rows are computed
    more = spec_text(4).replace('["srp-phat", "normmusic"]', '["srp-phat", "normmusic", "music"]')
    fourth = run_campaign(load_spec(more), out, workers=0)
    assert fourth.computed == 12 and raw_row_count(out) == 12 * 7
    assert [r for r in rows(out) if "'music'" not in r] == rows(reference)


def test_dask_equals_serial_row_for_row(reference: Path, tmp_path: Path, client) -> None:
    out = tmp_path / "d.parquet"
    # through the scheduler's address, as `--scheduler tcp://HOST:8786` does
    s = run_campaign(load_spec(spec_text(4)), out, scheduler=client.scheduler.address)
    assert (s.computed, s.lost) == (12, 0)
    assert rows(out) == rows(reference)


def test_workers_keep_the_adaptive_malloc_and_one_blas_thread(client) -> None:
    """Dask's default MALLOC_TRIM_THRESHOLD_ pins glibc's mmap threshold (scenes 1.75x slower)."""
    env = client.run(
        lambda: {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "OPENBLAS_NUM_THREADS")}
    )
    assert len(env) == 2
    for worker_env in env.values():
        assert worker_env == {"MALLOC_TRIM_THRESHOLD_": None, "OPENBLAS_NUM_THREADS": "1"}
    # the quieter periodic callbacks reach the workers too (they cost ~10 % CPU a scene)
    ticks = client.run(lambda: __import__("dask").config.get("distributed.admin.tick.interval"))
    assert set(ticks.values()) == {"500ms"}


def test_worker_killed_mid_campaign(reference: Path, tmp_path: Path, client) -> None:
    out = tmp_path / "k.parquet"
    spec = load_spec(spec_text(8))
    box: dict = {}
    worker = threading.Thread(
        target=lambda: box.update(s=run_campaign(spec, out, client=client, compact=False))
    )
    worker.start()
    while not ResultTable(out).parts():
        time.sleep(0.02)
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    assert worker.is_alive(), "the campaign finished before a worker could be killed"
    os.kill(victim, signal.SIGKILL)
    worker.join(120)
    s = box["s"]
    assert (s.computed, s.lost) == (24, 0)
    assert victim not in client.run(os.getpid).values()  # it really died (and was replaced)
    # every row once: as many rows in the part files as distinct keys, all expected ones
    assert raw_row_count(out) == 24 * 5 == len(ResultTable(out).keys())
    assert rows(out, below=4) == rows(reference)


def test_interrupted_cli_keeps_every_finished_scene(reference: Path, tmp_path: Path) -> None:
    spec_file = tmp_path / "tiny.toml"
    spec_file.write_text(spec_text(4).replace("duration = 0.3", "duration = 0.6"))
    out = tmp_path / "i.parquet"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "arraykit", "campaign", str(spec_file), "-o", str(out)]
    proc = subprocess.Popen(
        [*cmd, "--workers", "0", "--no-progress"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        # a shell's background job (CI under nohup) ignores SIGINT, and a child would
        # inherit that and finish the run instead
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 300  # a busy machine starts the CLI slowly
        while len(ResultTable(out).parts()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "arraykit: interrupted"
    table = ResultTable(out)
    done = table.read().to_pylist()
    scenes = {(r["cell"], r["scene"]) for r in done}
    assert 2 <= len(scenes) < 12
    assert len(done) == 5 * len(scenes) == raw_row_count(out)  # whole scenes, none twice
    # the rerun completes it; same scenes, same rows as a run that was never interrupted
    s = run_campaign(load_spec(spec_file), out, workers=0)
    assert (s.skipped, s.computed) == (len(scenes), 12 - len(scenes))
    ref = ResultTable(out).read().to_pylist()
    assert (
        len(ref) == 60
        and len({(r["cell"], r["scene"], r["method"], r["library"]) for r in ref}) == 60
    )


def test_report_cli_and_cdf_plot(
    reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    png = tmp_path / "cdf.png"
    assert cli_main(["campaign", "report", str(reference), "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    assert "| anechoic | srp-phat | 4 |" in text and "95% CI" in text
    assert png.stat().st_size > 10_000


def test_a_bad_plot_path_is_one_line_before_any_table(
    reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """``report --plot`` into a missing folder or with a spec's name printed every table,
    then failed in matplotlib's words (``[Errno 2] ...``, no flag named); ``--plot`` on a
    run was silently ignored. Now one line naming --plot, before anything is read."""
    spec = tmp_path / "rooms.toml"
    spec.write_text(spec_text(1))
    for bad, why in [(tmp_path / "nodir" / "cdf.png", "does not exist"), (spec, "extension")]:
        assert cli_main(["campaign", "report", str(reference), "--plot", str(bad)]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1
        assert err.startswith("arraykit: error: --plot=") and why in err
    assert spec.read_text() == spec_text(1)
    assert cli_main(["campaign", str(spec), "-o", str(tmp_path / "t"), "--plot", "x.png"]) == 2
    err = capsys.readouterr().err
    assert "--plot" in err and "report" in err and not (tmp_path / "t").exists()


def test_scheduler_errors_name_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """``--scheduler nonsense`` was distributed's "missing port number in address" with no
    flag named; ``--workers 0 --scheduler ADDR`` silently went to the scheduler."""
    spec = tmp_path / "rooms.toml"
    spec.write_text(spec_text(1))
    out = tmp_path / "t"
    cases = [
        (["--scheduler", "nonsense"], "cannot connect"),
        (["--workers", "0", "--scheduler", "tcp://127.0.0.1:1"], "give one of them"),
    ]
    for flags, why in cases:
        assert cli_main(["campaign", str(spec), "-o", str(out), "--no-progress", *flags]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("arraykit: error: --scheduler=")
        assert why in err and not out.exists()


def test_a_changed_cell_is_not_pooled_with_its_old_scenes(reference: Path, tmp_path: Path) -> None:
    """The spec's small room edited (RT60 0.15-0.25 s -> 0.5-0.6 s) and rerun into the same
    table added a new cell under the same labels; the report then pooled both rooms in one
    row (8 scenes of a 4-seed campaign). Now refused before anything is computed."""
    import shutil

    table = tmp_path / "t.parquet"
    shutil.copytree(reference, table)
    before = rows(table)
    edited = spec_text(4).replace("rt60 = [0.15, 0.25]", "rt60 = [0.5, 0.6]")
    with pytest.raises(InvalidArgumentError, match=r"^output=.*small-room.*new table"):
        run_campaign(load_spec(edited), table, workers=0)
    assert rows(table) == before
    s = run_campaign(load_spec(spec_text(4)), table, workers=0)  # the same spec: all there
    assert (s.skipped, s.computed) == (12, 0)


def test_a_table_in_a_missing_folder_is_refused(tmp_path: Path, capsys) -> None:
    """``-o typo/rooms.parquet`` made the folders silently (every other command refuses an
    output whose folder does not exist)."""
    spec = tmp_path / "rooms.toml"
    spec.write_text(spec_text(1))
    out = tmp_path / "nodir" / "rooms.parquet"
    assert cli_main(["campaign", str(spec), "-o", str(out), "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("arraykit: error: -o=") and "does not exist" in err
    assert not (tmp_path / "nodir").exists()


def test_rows_say_which_code_computed_them(reference: Path, tmp_path: Path) -> None:
    """Every row names its library's version (arraykit's with the checkout's commit); a
    table written before the column existed still reads, its rows "unrecorded"."""
    import pyarrow.parquet as pq
    import pyroomacoustics as pra

    from arraykit.campaign.run import library_version

    t = ResultTable(reference).read().to_pylist()
    ours = library_version("arraykit")
    assert ours is not None and ours.startswith(ak.__version__)
    if (ROOT / ".git").exists():  # a checkout: the commit, as git names it
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        assert f"+g{head}" in ours
    assert {r["version"] for r in t if r["library"] == "arraykit"} == {ours}
    assert {r["version"] for r in t if r["library"] == "pyroomacoustics"} == {pra.__version__}
    text = ak.campaign.report(reference).markdown()
    n_ours = sum(r["library"] == "arraykit" for r in t)
    assert f"| arraykit | {ours} | {n_ours} |" in text
    old = tmp_path / "old"
    old.mkdir()
    pq.write_table(ResultTable(reference).read().drop_columns(["version"]), old / "part-0.parquet")
    again = ResultTable(old).read().to_pylist()
    assert len(again) == len(t) and {r["version"] for r in again} == {None}
    assert f"| arraykit | unrecorded | {n_ours} |" in ak.campaign.report(old).markdown()


def test_missing_dependency_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from arraykit.campaign._deps import MissingDependencyError, need

    monkeypatch.setitem(sys.modules, "tqdm", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'arraykit\[campaign\]'"):
        need("tqdm")


def test_an_output_that_cannot_hold_the_table_is_refused_before_any_scene(
    tmp_path: Path, capsys
) -> None:
    """New-user pass: ``-o`` a folder holding other files (keep.txt, a track's WAVs) got
    the table's parts among them; ``-o /proc/x.parquet`` said '[Errno 2] No such file or
    directory' (no flag) after a scene was computed; ``seeds = 1000000000`` listed the
    scenes to do until memory ran out."""
    spec = tmp_path / "rooms.toml"
    spec.write_text(spec_text(1))
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    argv = ["campaign", str(spec), "--workers", "0", "-o"]
    assert cli_main([*argv, str(other)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"arraykit: error: -o='{other}': holds keep.txt, not a campaign "), err
    assert [p.name for p in other.iterdir()] == ["keep.txt"]
    assert cli_main([*argv, "/proc/arraykit-campaign.parquet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("arraykit: error: -o='/proc/arraykit-campaign.parquet': cannot be"), err
    spec.write_text(spec_text(10**9))
    assert cli_main([*argv, str(tmp_path / "big.parquet")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("arraykit: error: campaign.seeds=1000000000: would need about"), err
    assert "3e+09 scenes" in err and not (tmp_path / "big.parquet").exists()


def test_a_file_is_no_table_and_a_missing_folder_has_no_parts(tmp_path: Path) -> None:
    """One look at the path (``stat``): a file is refused by name; a folder not there yet
    (or made and removed again by a run's writability check) is an empty table."""
    f = tmp_path / "x.parquet"
    f.write_text("not a table")
    with pytest.raises(InvalidArgumentError, match="exists and is not a directory"):
        ResultTable(f)
    assert ResultTable(tmp_path / "new.parquet").parts() == []
