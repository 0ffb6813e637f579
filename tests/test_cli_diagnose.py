"""`arraykit diagnose`: predictions and recordings through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import arraykit as ak
from arraykit import sim
from arraykit.cli import main
from arraykit.diagnostics import steering_loss, sweep
from arraykit.io import write_audio

LINE4 = ak.load_geometry("linear-4-40mm")


def test_prediction_json_matches_library_and_dirichlet(capsys: pytest.CaptureFixture[str]):
    argv = ["diagnose", "--geometry", "linear-4-40mm", "--method", "das", "--direction", "90"]
    assert main([*argv, "--error", "0:6:2", "--fmin", "500", "--fmax", "4000", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    freqs = np.array(doc["freqs"])
    gain = np.array(doc["gain_db"])
    assert doc["errors"] == [0.0, 2.0, 4.0, 6.0]
    assert gain.shape == (4, 160)
    s = sweep(LINE4, freqs, method="das", source=(90, 0), errors=[0, 2, 4, 6])
    np.testing.assert_allclose(gain, s.gain_db, atol=1e-4)
    psi = 2 * np.pi * freqs * 0.04 * np.sin(np.radians(6.0)) / 343.0  # broadside Dirichlet
    np.testing.assert_allclose(
        gain[3], 20 * np.log10(np.abs(np.sin(2 * psi) / (4 * np.sin(psi / 2)))), atol=1e-4
    )
    assert set(doc["tolerance"]) == {"1", "3", "6"}


def test_prediction_text_and_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    png = tmp_path / "report.png"
    argv = ["diagnose", "--geometry", "linear-4-40mm", "--method", "mpdr", "--direction", "70"]
    assert main([*argv, "--error", "0:2:1", "--snr", "10", "--loading", "0.5", "-o", str(png)]) == 0
    out = capsys.readouterr().out
    assert png.stat().st_size > 10_000
    row = next(line for line in out.splitlines() if line.strip().startswith("2.00°"))
    at4k = float(row.split()[-1])
    expected = steering_loss(
        LINE4,
        [np.linspace(100, 8000, 160)[np.argmin(np.abs(np.linspace(100, 8000, 160) - 4000))]],
        method="mpdr",
        look=(72, 0),
        source=(70, 0),
        snr_db=10,
        loading=0.5,
    )[0]
    assert at4k == pytest.approx(expected, abs=0.006)
    assert "steering error (°, to either side) that costs" in out
    assert main([*argv, "--error", "0:3:1", "--snr", "10", "--compare"]) == 0
    out = capsys.readouterr().out
    cmp = ak.diagnostics.compare(
        LINE4, np.linspace(100, 8000, 160), source=(70, 0), error=3.0, snr_db=10
    )
    table = out.split("all beamformers at a 3° error")[1].splitlines()
    mpdr_row = next(line for line in table if line.startswith("mpdr "))
    assert f"{np.mean(cmp.gain_db[2]):.2f} dB" in mpdr_row


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        # --error named as the flag (parse_range's "error='5:0:1'" before)
        (["--error", "5:0:1", "--snr", "10"], "error: --error='5:0:1': is empty or inverted"),
        (["--error", "abc", "--snr", "10"], "error: --error='abc': must be START:STOP:STEP"),
        (["--error", "0:1:0.5"], "--snr=None: is needed by --method mpdr"),
        (["--snr", "nan"], "--snr=nan: contains NaN"),
        (["--snr", "10", "--loading", "-1"], "loading=-1.0: must be a number >= 0"),
        (["--snr", "10", "--direction", "north"], "--direction='north': must be AZ or AZ,EL"),
        (["--snr", "10", "--method", "beam"], "argument --method: invalid choice"),
        # a recording's flags, or nulls for a method without: refused, not ignored
        (["--snr", "10", "--noise", "0:1"], "--noise='0:1': applies to a recording (IN.wav)"),
        (["--snr", "10", "--no-doa"], "--no-doa=True: applies to a recording (IN.wav)"),
        (["--snr", "10", "--null", "150"], "--null=['150']: only --method lcmv places nulls"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(extra, message, capsys: pytest.CaptureFixture[str]):
    argv = ["diagnose", "--geometry", "linear-4-40mm", "--method", "mpdr", "--direction", "70"]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_recording_flags_mpdr_self_cancellation(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    fs = 16000
    g = ak.ArrayGeometry.linear(8, 0.04)
    x = np.concatenate([np.zeros(fs * 3 // 10), sim.speech_like(0.8, fs, seed=3)])  # 0.3 s pause
    scene = sim.simulate(
        g, [sim.Source(x, 70.0, 0.0, 2.0)], fs, room_dim=(6, 5, 3), snr_db=20, seed=4
    )
    wav = write_audio(tmp_path / "in.wav", scene.signals / np.abs(scene.signals).max() * 0.5, fs)
    geo = tmp_path / "line8.toml"
    geo.write_text(
        "positions = [" + ", ".join(f"[{p[0]:.4f}, 0.0, 0.0]" for p in g.positions) + "]\n"
    )
    base = ["diagnose", str(wav), "--geometry", str(geo), "--direction", "78", "--no-doa", "--json"]
    assert main([*base, "--method", "mpdr"]) == 0
    mpdr_doc = json.loads(capsys.readouterr().out)
    assert main([*base, "--method", "das"]) == 0
    das_doc = json.loads(capsys.readouterr().out)
    assert mpdr_doc["self_cancellation"] is True
    assert mpdr_doc["band_gain_db"] < das_doc["band_gain_db"] - 8.0
    assert -2.0 < das_doc["band_gain_db"] < 0.0
    assert any("noise-only covariance" in s for s in mpdr_doc["suggestions"])
    png = tmp_path / "rec.png"
    assert (
        main(
            [
                "diagnose",
                str(wav),
                "--geometry",
                str(geo),
                "--direction",
                "78",
                "--no-doa",
                "-o",
                str(png),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "SELF-CANCELLATION" in out and png.exists()
    assert main([*base, "--method", "mvdr", "--noise", "0:0.3"]) == 0
    assert json.loads(capsys.readouterr().out)["self_cancellation"] is False
    assert main([*base, "--method", "mvdr", "--noise", "0:9"]) == 2
    assert "noise=(0.0, 9.0): must be a time range" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra",
    [
        ["--fmin", "100", "--fmax", "50"],
        ["--snr", "10"],
        ["--error", "0:5:1"],
        ["--axis", "elevation"],
        ["--n-freqs", "5"],
        ["--compare"],
        ["--null", "150"],
    ],
)
def test_prediction_flags_with_a_recording_are_refused(
    extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """New-user pass: with IN.wav these were ignored (``--fmin 100 --fmax 50`` reported
    the gain over 300-4000 Hz, exit 0); now one line naming the flag, nothing written."""
    wav = write_audio(tmp_path / "in.wav", np.zeros((4, 1600)), 16000)
    png = tmp_path / "r.png"
    argv = ["diagnose", str(wav), "--geometry", "linear-4-40mm", "--direction", "70"]
    assert main([*argv, "--method", "das", "-o", str(png), *extra]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and out == "" and not png.exists()
    assert err.startswith(f"arraykit: error: {extra[0]}=") and "applies to a prediction" in err


def test_recording_without_a_talker_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """Stationary noise alone has no talker-dominated bins: one clear line, exit 2, no NaN."""
    noise = np.random.default_rng(0).standard_normal((4, 16000)) * 0.1
    wav = write_audio(tmp_path / "noise.wav", noise, 16000)
    argv = ["diagnose", str(wav), "--geometry", "respeaker-usb-4mic", "--direction", "70"]
    assert main([*argv, "--method", "mvdr"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds no talker" in err and " nan " not in err


def test_report_says_where_it_could_not_measure():
    """A low-SNR talker leaves the upper half of the band without talker-dominated bins:
    the summary says so instead of printing NaN."""
    g = ak.load_geometry("respeaker-4mic-linear")
    scene = sim.simulate(
        g, [sim.Source(sim.speech_like(1.5, 16000, seed=1), azimuth=70.0)], 16000, snr_db=10, seed=2
    )
    x = np.concatenate([scene.noise[:, :8000], scene.signals], axis=1)
    report = ak.diagnostics.diagnose_recording(
        x, 16000, g, (70, 0), method="mvdr", noise=(0, 0.5), locate=False
    )
    text = report.summary()
    assert "nan" not in text.lower().replace("dominance", "")
    assert "high half not measured (no talker-dominated bins)" in text


def _two_talkers(interferer_az: float, seed: int) -> tuple[ak.ArrayGeometry, np.ndarray]:
    """A talker at 70° and a second one, 1.5 m from a UMA-8 in a 0.3 s room."""
    fs = 16000
    g = ak.load_geometry("uma-8")
    t = np.concatenate([np.zeros(fs * 3 // 10), sim.speech_like(1.5, fs, seed=seed)])
    i = sim.speech_like(1.8, fs, seed=seed + 10)
    scene = sim.simulate(
        g,
        [sim.Source(t, 70.0, 0.0, 1.5), sim.Source(i, interferer_az, 0.0, 1.5)],
        fs,
        room_dim=(6, 5, 3),
        rt60=0.3,
        snr_db=25,
        seed=seed,
    )
    return g, scene.signals


def test_recording_advice_accounts_for_a_second_talker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """Issue 12 item 12: a talker at 70° (steered right) and one at 120° on a UMA-8.

    The single-source estimate is pulled toward the interferer (main advised "steer at
    97.0°"); the search now looks for two sources, finds the other inside the array's
    beamwidth, and says it is not sure instead of advising a wrong direction.
    """
    _g, x = _two_talkers(120.0, seed=1)
    wav = write_audio(tmp_path / "two.wav", x / np.abs(x).max() * 0.5, 16000)
    argv = ["diagnose", str(wav), "--geometry", "uma-8", "--direction", "70", "--method", "mvdr"]
    assert main([*argv, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert not any(s.startswith("steer at") for s in doc["suggestions"]), doc["suggestions"]
    assert any(s.startswith("not sure of the look direction") for s in doc["suggestions"])
    assert len(doc["doa_others"]) == 1 and doc["doa_spread"] is not None


def test_recording_advice_is_given_when_the_sources_are_apart():
    """The same talker, the other one at 250°: a 10° steering error is found and advised."""
    g, x = _two_talkers(250.0, seed=6)
    rep = ak.diagnostics.diagnose_recording(x, 16000, g, (80, 0), method="mvdr")
    steer = [s for s in rep.suggestions if s.startswith("steer at")]
    assert len(steer) == 1
    assert rep.doa_direction is not None and abs(rep.doa_direction[0] - 70.0) <= 3.0
    assert rep.doa_spread is not None and rep.doa_spread <= 5.0
    assert abs(rep.doa_others[0][0] - 250.0) <= 10.0


def test_work_that_cannot_fit_is_refused_before_allocating(capsys: pytest.CaptureFixture[str]):
    """Issue 12 item 15: ``--error 0:1e9:1e-9`` ended in a MemoryError traceback.

    It is refused before anything is allocated, with the size it would need; so is a
    sweep whose errors fit but whose per-error weights would not.
    """
    argv = ["diagnose", "--geometry", "uma-8", "--direction", "70", "--method", "das"]
    assert main([*argv, "--error", "0:1e9:1e-9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "would need about 8 EB of memory" in err, err
    assert main([*argv, "--error", "0:10:1e-6"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TB of memory for 10000001 errors x 160 frequencies" in err
    with pytest.raises(ValueError, match="would need about"):
        sweep(LINE4, np.linspace(100, 8000, 4000), method="das", source=(90, 0),
              errors=np.zeros(3_000_000))  # fmt: skip


def test_sizes_are_refused_naming_the_flag_that_sets_them(capsys: pytest.CaptureFixture[str]):
    """New-user pass: ``--n-freqs 10**12`` raised numpy's MemoryError in ``linspace`` (and
    ``10**9`` was killed for memory); ``10**8`` and ``--error 0:10:1e-6`` were refused as
    ``errors='... errors'``, a name the command has not got, and ``--error 0:1e5:1e4``
    (11 errors) as ``errors='4000001 errors'``: the tolerance search's 0.05° grid."""
    argv = ["diagnose", "--geometry", "uma-8", "--direction", "70", "--method", "das"]
    for n in (10**12, 10**10):
        assert main([*argv, "--n-freqs", str(n)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"arraykit: error: --n-freqs={n}:"), err
        assert f"{n} frequencies x 7 microphones" in err and "fewer" in err, err
    assert main([*argv, "--error", "0:10:1e-6"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("arraykit: error: --error='0:10:1e-6':"), err
    assert main([*argv, "--error", "0:1e5:1e4"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("arraykit: error: --error='0:1e5:1e4':"), err
    assert "tolerance" in err and "4000001" in err, err
    with pytest.raises(ValueError, match=r"^max_error/step=\(100000\.0, 0\.05\): .*4000001 errors"):
        ak.diagnostics.tolerance(
            LINE4, np.arange(1.0, 1001), method="das", source=(90, 0), max_error=1e5
        )


def test_an_snr_out_of_range_names_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """New-user pass: ``--snr 1e300`` overflowed 10**(snr/10) (RuntimeWarning, NaN gains)."""
    argv = ["diagnose", "--geometry", "uma-8", "--direction", "70", "--snr", "1e300"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("arraykit: error: --snr=1e+300: lies beyond")


def test_snr_help_names_every_design_that_needs_it(capsys: pytest.CaptureFixture[str]) -> None:
    """``diagnose --help`` said --snr was "needed by mpdr" while gev (its covariance holds
    the talker too) and --compare refuse to run without it: the list comes from the registry."""
    with pytest.raises(SystemExit) as stop:
        main(["diagnose", "--help"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "per-microphone SNR (needed by mpdr, gev and --compare)" in text
    for method in ("mpdr", "gev"):
        argv = ["diagnose", "--geometry", "uma-8", "--direction", "70", "--method", method]
        assert main(argv) == 2
        assert "--snr=None: is needed by --method" in capsys.readouterr().err
