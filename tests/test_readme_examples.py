"""The README's first examples, as a newcomer runs them: the install lines' extras, the
Geometry, Direction of arrival and Diagnostics blocks as written (each checked against
what its comments say), and the command that makes the examples' recording."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import arraykit as ak
from arraykit.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _block(heading: str, lang: str = "python") -> str:
    """The first ``lang`` code block after the README heading `heading`."""
    section = README.split(f"\n{heading}\n", 1)[1]
    code = re.search(rf"```{lang}\n(.*?)```", section, re.S)
    assert code is not None, f"no {lang} block under {heading!r}"
    return code.group(1)


def test_install_lines_install_this_checkout_with_extras_it_has() -> None:
    """``pip install arraykit`` installed another project of that name; the install block
    installs the checkout (``.``), and every extra it names is one pyproject.toml has."""
    block = _block("## Install", "console")
    pip = [line.split("#")[0].split() for line in block.splitlines() if line.startswith("pip")]
    assert pip and all(words[:2] == ["pip", "install"] for words in pip)
    targets = [words[2].strip("\"'") for words in pip]
    assert all(t == "." or t.startswith(".[") for t in targets), targets
    extras = {t[2:-1] for t in targets if t != "."}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert extras and extras <= set(project["optional-dependencies"])


def test_geometry_block_runs_and_says_what_its_comments_say(capsys) -> None:
    ns: dict = {}
    exec(
        compile(_block("## Geometry: which layouts can tell left from right"), "README", "exec"), ns
    )
    line, ring, cross = ns["line"], ns["ring"], ns["cross"]
    assert line.resolves((60, 0), (300, 0)) is False
    assert line.mirror((60, 0)) == (300.0, 0.0)
    np.testing.assert_allclose(line.mirrors([(60, 0), (100, 10)]), [[300, 0], [260, 10]])
    assert ring.resolves((60, 0), (300, 0)) is True
    assert ring.mirror((60, 30)) == (60.0, -30.0)
    assert cross.n_mics == 9  # "plus-shaped, 9 mics"
    assert "respeaker-usb-4mic" in capsys.readouterr().out


def test_doa_block_runs_and_finds_both_talkers() -> None:
    ns: dict = {}
    exec(
        compile(
            _block("## Direction of arrival: GCC-PHAT, SRP-PHAT, MUSIC, TOPS"), "README", "exec"
        ),
        ns,
    )
    res = ns["res"]
    found = sorted(float(a) for a in res.azimuth)
    assert found == pytest.approx([62.5, 208.3], abs=3.0)  # measured 64.0 and 208.3
    assert ns["pairs"] is not None and np.all(np.isfinite(ns["taus"]))


def test_diagnostics_block_gives_the_issues_numbers() -> None:
    code = _block("## Diagnostics: how much of the talker a steering error costs")
    ns: dict = {}
    exec(compile(code, "README", "exec"), ns)
    # the block's own comments: [-0.24] dB and [-14.74] dB
    assert re.findall(r"# \[(-?\d+\.\d+)\] dB", code) == ["-0.24", "-14.74"]
    line = ns["line"]
    loss = ak.diagnostics.steering_loss
    das = loss(line, 3430.0, method="das", look=(70, 0), source=(68, 0))
    mpdr = loss(line, 3430.0, method="mpdr", look=(70, 0), source=(68, 0), snr_db=10)
    assert round(float(das[0]), 2) == -0.24 and round(float(mpdr[0]), 2) == -14.74


def test_the_examples_recording_is_made_as_the_readme_says(tmp_path, monkeypatch) -> None:
    """The Quick start's command for the examples' ``meeting.wav``, run as written: 6
    channels at 16 kHz, one talker at azimuth 60°."""
    command = re.search(r"`(arraykit record --device sim:\S+ --seconds \d+ meeting\.wav)`", README)
    assert command is not None
    monkeypatch.chdir(tmp_path)
    assert main(command.group(1).split()[1:]) == 0
    x, fs = sf.read(tmp_path / "meeting.wav")
    assert fs == 16000 and x.shape == (5 * 16000, 6)
    res = ak.doa.locate(x.T, fs, ak.load_geometry("respeaker-6mic"))
    assert abs(res.azimuth[0] - 60.0) < 3.0
