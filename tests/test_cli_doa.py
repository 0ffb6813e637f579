"""`arraykit doa` end to end (the demo is in test_demo.py)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from arraykit import load_geometry
from arraykit.cli import main
from arraykit.io import write_audio
from arraykit.sim import Source, simulate, speech_like

FS = 16000


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory):
    g = load_geometry("respeaker-6mic")
    scene = simulate(
        g,
        [
            Source(speech_like(0.8, FS, seed=1), azimuth=75.0),
            Source(speech_like(0.8, FS, seed=2), azimuth=250.0, distance=1.2),
        ],
        FS,
        rt60=0.2,
        snr_db=25,
        seed=0,
    )
    path = tmp_path_factory.mktemp("doa") / "two.wav"
    x = scene.signals / np.max(np.abs(scene.signals)) * 0.8
    write_audio(path, x, FS)
    return path


def test_doa_json(wav, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["doa", str(wav), "--geometry", "respeaker-6mic", "--sources", "2", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    az = sorted(s["azimuth"] for s in out["sources"])
    assert az == pytest.approx([75.0, 250.0], abs=4.0)
    assert out["num_sources"] == 2 and out["method"] == "srp-phat"


def test_doa_text_auto_and_plot(wav, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "map.png"
    rc = main(
        [
            "doa",
            str(wav),
            "--geometry",
            "respeaker-6mic",
            "--method",
            "normmusic",
            "--sources",
            "auto",
            "--plot",
            str(png),
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "sources: 2 (auto (clean)" in out
    found = [float(a) for a in re.findall(r"azimuth\s+([\d.]+)°", out)]
    assert sorted(found) == pytest.approx([75.0, 250.0], abs=4.0)
    assert png.stat().st_size > 1000


def test_linear_array_prints_the_mirror(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    g = load_geometry("linear-4-40mm")
    scene = simulate(g, [Source(speech_like(0.5, FS, seed=3), azimuth=60.0)], FS, seed=0)
    path = tmp_path / "line.wav"
    write_audio(path, scene.signals / np.max(np.abs(scene.signals)) * 0.8, FS)
    assert main(["doa", str(path), "--geometry", "linear-4-40mm", "--resolution", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "or its mirror" in out


def test_channel_mismatch_is_one_line_exit_2(wav, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["doa", str(wav), "--geometry", "respeaker-usb-4mic"])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("arraykit: error:")
    assert "6" in err and "4" in err


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--method", "esprit"], "invalid choice"),
        (["--sources", "two"], "--sources='two'"),
        (["--sources", "9"], "num_sources=9"),
        (["--freq-range", "300", "9000"], "freq_range="),
    ],
)
def test_bad_options(wav, capsys: pytest.CaptureFixture[str], args: list[str], match: str) -> None:
    rc = main(["doa", str(wav), "--geometry", "respeaker-6mic", *args])
    assert rc == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1


def test_missing_file(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doa", str(tmp_path / "none.wav"), "--geometry", "respeaker-6mic"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
