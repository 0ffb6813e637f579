"""`arraykit geometry` through the real console entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from arraykit.cli import main


def test_table_lists_every_array_with_its_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["geometry"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "ps3-eye" in rows and "180° az" in rows["ps3-eye"] and "linear" in rows["ps3-eye"]
    assert "360° az; above = below" in rows["uma-16"] and "16" in rows["uma-16"].split()[1]
    assert "4083 Hz" in rows["uma-16"]  # 343 / (2 * 0.042)


def test_one_geometry_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["geometry", "respeaker-6mic", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_mics"] == 6 and doc["layout"] == "planar" and doc["azimuth_coverage_deg"] == 360
    assert doc["aperture_m"] == pytest.approx(2 * 0.0463, rel=1e-4)


def test_plot_writes_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "g.png"
    assert main(["geometry", "ps3-eye", "--plot", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000
    assert "two sides of its line" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        # named as the usage line names it (load_geometry's parameter, name_or_path, before)
        (["geometry", "no-such-array"], "NAME_OR_PATH='no-such-array': unknown geometry"),
        (["geometry", "missing.xml"], "NAME_OR_PATH='missing.xml': no such file"),
        (["geometry", "--bogus"], "unrecognized arguments: --bogus"),
        (["no-such-command"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], match: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err and "Traceback" not in err


def test_console_script_exit_status() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "arraykit", "geometry", "nope"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.startswith("arraykit: error: NAME_OR_PATH='nope'")
        and proc.stderr.count("\n") == 1
    )


def test_plot_without_a_name_is_refused_not_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """New-user pass: ``arraykit geometry --plot all.png`` printed the table, drew nothing
    and exited 0; the picture is of one array, so a name is asked for."""
    out = tmp_path / "all.png"
    assert main(["geometry", "--plot", str(out)]) == 2
    stdout, err = capsys.readouterr()
    assert stdout == "" and err.count("\n") == 1
    assert err.startswith("arraykit: error: --plot=") and "give NAME_OR_PATH" in err
    assert not out.exists()


@pytest.mark.filterwarnings("default")  # shown, as outside the suite (which makes them errors)
def test_a_warning_is_one_line_in_the_commands_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """New-user pass: a file in millimetres read as metres warned in Python's format, over
    two lines, the second a line of arraykit's source (``g = load_geometry(args.name)``)."""
    far = tmp_path / "far.toml"
    far.write_text("positions = [[0, 0, 0], [50, 0, 0]]\n")
    assert main(["geometry", str(far)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("arraykit: warning: geometry file") and 'units = "mm"' in err


def test_help_names_the_odas_cfg_it_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``geometry --help`` named .toml and .xml only, while an ODAS .cfg loads as well."""
    with pytest.raises(SystemExit) as stop:
        main(["geometry", "--help"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "a named geometry or a .toml / acoular .xml / ODAS .cfg file" in text
    cfg = tmp_path / "ring.cfg"
    cfg.write_text(
        "general: { mics = ( { mu = (0.0, 0.0, 0.0); }, { mu = (0.04, 0.0, 0.0); } ); };"
    )
    assert main(["geometry", str(cfg)]) == 0
    assert "Linear array 'ring' of 2 microphones (aperture 40 mm)" in capsys.readouterr().out
