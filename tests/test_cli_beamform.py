"""``arraykit beamform`` and ``arraykit pattern`` end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

import arraykit as ak
from arraykit.cli import main
from arraykit.io import read_audio, write_audio
from arraykit.metrics import si_sdr

pytest.importorskip("pyroomacoustics", reason="room simulation needs the 'sim' extra")
from arraykit import sim

FS = 16000


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A talker at 60 degrees and an interferer at 150 degrees around a 6-mic ring."""
    g = ak.load_geometry("respeaker-6mic")
    target = np.concatenate([np.zeros(FS // 4), sim.speech_like(0.5, FS, seed=1)])
    scene = sim.simulate(
        g,
        [
            sim.Source(target, azimuth=60.0, distance=1.0),
            sim.Source(sim.speech_like(0.75, FS, seed=2), azimuth=150.0, distance=1.0),
        ],
        FS,
        room_dim=(4.0, 4.0, 3.0),
        rt60=0.2,
        snr_db=30.0,
        seed=0,
    )
    path = tmp_path_factory.mktemp("bf") / "mix.wav"
    write_audio(path, scene.signals, FS)
    return path, scene


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_beamform_command_enhances_the_look_direction(recording, tmp_path, capsys):
    path, scene = recording
    ref = scene.images[0, 0]
    scores = {}
    for name, args in {
        "toward": ["--direction", "60"],
        "away": ["--direction", "150"],
        "lcmv": ["--direction", "60,0", "--method", "lcmv", "--null", "150", "--noise", "0:0.2"],
    }.items():
        out_path = tmp_path / f"{name}.wav"
        code, out, err = run(
            capsys,
            "beamform",
            str(path),
            "--geometry",
            "respeaker-6mic",
            *args,
            "--ref-mic",
            "0",
            "-o",
            str(out_path),
        )
        assert code == 0, err
        assert "wrote" in out
        y, fs = read_audio(out_path)
        assert fs == FS
        assert y.shape == (1, scene.signals.shape[1])
        scores[name] = si_sdr(ref, y[0])
    assert scores["toward"] > scores["away"] + 1.0  # a 9 cm ring: a broad beam
    assert scores["lcmv"] > scores["toward"] + 2.0  # the null removes the interferer


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--direction", "60", "--method", "mvdr", "--noise", "5:6"],
            r"noise=\(5.0, 6.0\): lies outside the signal",
        ),
        (["--direction", "60", "--method", "lcmv"], r"needs at least one --null"),
        (["--direction", "60", "--point", "1,0,0"], r"exactly one of --direction and --point"),
        (["--direction", "sixty"], r"--direction='sixty'"),
        (["--direction", "60", "--geometry", "uma-16"], r"16"),
        # a flag the method does not read is refused, not ignored (it ran as plain das,
        # mpdr, superdirective, even with an inverted range; gev printed "toward azimuth
        # 60" while ignoring it)
        (
            ["--direction", "60", "--null", "150"],
            r"--null=\['150'\]: only --method lcmv places nulls",
        ),
        (
            ["--direction", "60", "--method", "mpdr", "--noise", "0:0.2"],
            r"--noise='0:0.2': method mpdr reads no noise-only .*mvdr, lcmv, gev",
        ),
        (
            ["--direction", "60", "--method", "superdirective", "--noise", "5:1"],
            r"--noise='5:1': method superdirective reads no",
        ),
        (
            ["--method", "gev", "--direction", "60", "--noise", "0:0.2"],
            r"--direction='60': method gev is blind",
        ),
        (["--method", "gev", "--point", "1,0,0"], r"--point='1,0,0': method gev is blind"),
    ],
)
def test_beamform_command_bad_input_is_one_line_exit_2(recording, tmp_path, capsys, args, message):
    path, _ = recording
    argv = [
        "beamform",
        str(path),
        "--geometry",
        "respeaker-6mic",
        "-o",
        str(tmp_path / "o.wav"),
        *args,
    ]
    code, _out, err = run(capsys, *argv)
    assert code == 2
    assert not (tmp_path / "o.wav").exists()
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("arraykit: error:")
    assert pytest.importorskip("re").search(message, err), err


def test_pattern_command_prints_the_analytic_metrics(capsys):
    f_half = 343.0 / 0.08  # half-wavelength for 40 mm spacing
    code, out, err = run(
        capsys,
        "pattern",
        "--geometry",
        "linear-4-40mm",
        "--direction",
        "90",
        "--freqs",
        f"1000,{f_half}",
        "--json",
    )
    assert code == 0, err
    rows = json.loads(out)["metrics"]
    assert rows[1]["wng_db"] == pytest.approx(10 * np.log10(4), abs=1e-9)
    assert rows[1]["di_db"] == pytest.approx(10 * np.log10(4), abs=1e-9)
    assert rows[1]["sidelobe_db"] == pytest.approx(-11.30, abs=0.005)
    assert rows[1]["front_to_back_db"] == pytest.approx(0.0, abs=1e-6)
    code, out, err = run(
        capsys,
        "pattern",
        "--geometry",
        "linear-4-40mm",
        "--direction",
        "90",
        "--method",
        "superdirective",
        "--freqs",
        "1000",
    )
    assert code == 0
    assert "WNG dB" in out


def test_pattern_command_lcmv_puts_its_nulls_where_asked(capsys):
    code, out, err = run(
        capsys, "pattern", "--geometry", "respeaker-6mic", "--direction", "30",
        "--method", "lcmv", "--null", "150", "--null", "250", "--freqs", "1000,2000", "--json",
    )  # fmt: skip
    assert code == 0, err
    rows = json.loads(out)["metrics"]
    g = ak.load_geometry("respeaker-6mic")
    f = np.array([1000.0, 2000.0])
    w_mvdr = ak.beamform.mvdr(g, (30, 0), f, ak.beamform.diffuse_coherence(g, f) + np.eye(6))
    for i, r in enumerate(rows):
        assert len(r["null_db"]) == 2 and max(r["null_db"]) < -100  # exact nulls
        # the same design without the null constraints hears those directions
        mvdr_db = [
            20 * np.log10(abs(ak.beamform.response(w_mvdr[i : i + 1], g, f[i : i + 1], d)[0]))
            for d in (150, 250)
        ]
        assert min(mvdr_db) > -40, mvdr_db
    # in text, an exact null is said to be one, not shown as a made-up depth
    code, out, _ = run(
        capsys, "pattern", "--geometry", "respeaker-6mic", "--direction", "30",
        "--method", "lcmv", "--null", "150", "--freqs", "1000",
    )  # fmt: skip
    assert code == 0 and "<= -120 (exact null)" in out and "-300" not in out
    code, out, _ = run(
        capsys, "pattern", "--geometry", "respeaker-6mic", "--direction", "30",
        "--method", "lcmv", "--null", "150", "--freqs", "1000",
    )  # fmt: skip
    assert code == 0 and "at the nulls dB" in out
    for extra, message in (
        (["--method", "lcmv"], "--null=[]: method lcmv needs"),
        (["--null", "150"], "only --method lcmv places nulls"),
    ):
        code, _, err = run(
            capsys, "pattern", "--geometry", "respeaker-6mic", "--direction", "30", *extra
        )
        assert code == 2 and err.count("\n") == 1 and message in err, err


def test_pattern_command_draws_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "p.png"
    code, _out, _ = run(
        capsys, "pattern", "--geometry", "respeaker-6mic", "--direction", "30", "-o", str(png)
    )
    assert code == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    code, _, err = run(
        capsys, "pattern", "--geometry", "respeaker-6mic", "--direction", "30", "--freqs", "0,100"
    )
    assert code == 2
    assert "--freqs='0,100'" in err


def test_beamform_command_direction_auto_uses_the_doa_estimate(recording, tmp_path, capsys):
    doa = pytest.importorskip("arraykit.doa")
    if not hasattr(doa, "locate"):
        pytest.skip("arraykit.doa.locate is not available")
    path, scene = recording
    out_path = tmp_path / "auto.wav"
    code, out, err = run(
        capsys, "beamform", str(path), "--geometry", "respeaker-6mic", "--direction", "auto",
        "-o", str(out_path),
    )  # fmt: skip
    assert code == 0, err
    az = float(out.split("azimuth ")[1].split(",")[0])
    # the strongest source over the whole recording is the longer one, at 150 degrees
    assert abs(az - 150.0) < 5.0
    y, _ = read_audio(out_path)
    assert y.shape == (1, scene.signals.shape[1])


def test_direction_auto_from_one_channel_alone_is_refused(recording, tmp_path, capsys):
    """Fault injection: with every channel but one all zero, ``--direction auto`` steered
    at "the strongest source at azimuth 0.0" (the grid's first point of a flat map) and
    wrote the file. No pair of channels gives a direction: refused in one line naming
    the flag and why, and nothing is written."""
    _, scene = recording
    lone = scene.signals.copy()
    lone[1:] = 0.0
    write_audio(tmp_path / "lone.wav", lone, FS)
    out_path = tmp_path / "auto.wav"
    code, out, err = run(
        capsys, "beamform", str(tmp_path / "lone.wav"), "--geometry", "respeaker-6mic",
        "--direction", "auto", "-o", str(out_path),
    )  # fmt: skip
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("arraykit: error: --direction='auto': found")
    assert "only channel 0 holds anything" in err
    assert not out_path.exists()


def test_no_direction_says_what_to_give(recording, tmp_path, capsys):
    """New-user pass: `beamform IN.wav -o OUT.wav` without a direction said
    "--direction=None: give exactly one of --direction and --point", a value never typed."""
    path, _ = recording
    code, out, err = run(
        capsys, "beamform", str(path), "--geometry", "respeaker-6mic", "-o",
        str(tmp_path / "o.wav"),
    )  # fmt: skip
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "das needs a look direction: give --direction AZ[,EL] (or auto)" in err
    assert "None" not in err and not (tmp_path / "o.wav").exists()


def test_beamform_refuses_to_write_over_its_input(recording, tmp_path, capsys):
    """Issue 12 item 2: ``-o`` naming the input (however spelled) is refused; the input survives."""
    path, _ = recording
    copy = tmp_path / "take.wav"
    copy.write_bytes(path.read_bytes())
    before = copy.read_bytes()
    (tmp_path / "sub").mkdir()
    for out in (str(copy), str(tmp_path / "sub" / ".." / "take.wav")):
        code, _out, err = run(
            capsys, "beamform", str(copy), "--geometry", "respeaker-6mic", "--direction", "60",
            "-o", out,
        )  # fmt: skip
        assert code == 2
        assert len(err.strip().splitlines()) == 1
        assert "is the input recording" in err and "would destroy it" in err, err
        assert copy.read_bytes() == before


def test_beamform_command_gev_needs_no_direction(recording, tmp_path, capsys):
    """The registry's GEV design through the CLI: blind, from the noise-only lead-in."""
    path, scene = recording
    ref = scene.images[0, 0]
    out_path = tmp_path / "gev.wav"
    code, out, err = run(
        capsys, "beamform", str(path), "--geometry", "respeaker-6mic", "--method", "gev",
        "--noise", "0:0.2", "-o", str(out_path),
    )  # fmt: skip
    assert code == 0, err
    assert "blind" in out
    y, _ = read_audio(out_path)
    das = ak.beamform.beamform(
        scene.signals, FS, ak.load_geometry("respeaker-6mic"), (60, 0), ref=0
    )
    # GEV removes the interferer that delay-and-sum on this small ring lets through
    assert si_sdr(ref, y[0]) > si_sdr(ref, das) + 2.0


def test_pattern_lcmv_main_lobe_peak_is_not_a_sidelobe(capsys):
    """Issue 12 item 26: an adaptive beam that leans away from the look direction.

    LCMV toward 60° with a null at 150° on the 6-mic ring peaks at 28.9° (500 Hz),
    0.87 dB above the look response: that is the main lobe, not a sidelobe "as loud as
    the look direction". The sidelobe is the highest peak beyond the main lobe's
    troughs; the squint is reported on its own line.
    """
    code, out, err = run(
        capsys, "pattern", "--geometry", "respeaker-6mic", "--direction", "60",
        "--method", "lcmv", "--null", "150", "--freqs", "500,1000", "--json",
    )  # fmt: skip
    assert code == 0, err
    rows = json.loads(out)["metrics"]
    for r in rows:
        assert r["sidelobe_db"] < -3.0, r  # a real sidelobe, well below the look response
        assert r["main_peak_db"] > 0.1
        assert r["sidelobe_kind"] == "sidelobe"
    assert rows[0]["main_peak_azimuth_deg"] == pytest.approx(28.9, abs=1.0)
    code, out, _ = run(
        capsys, "pattern", "--geometry", "respeaker-6mic", "--direction", "60",
        "--method", "lcmv", "--null", "150", "--freqs", "500",
    )  # fmt: skip
    assert "main lobe peaks at azimuth 28.9°, +0.87 dB above the look direction" in out
    assert "not a sidelobe" in out


def test_beam_metrics_names_a_grating_lobe():
    """A line with 8 cm spacing at 6 kHz (d > lambda): the alias lobe is called a grating lobe."""
    g = ak.ArrayGeometry.linear(4, 0.08)
    f = [6000.0]
    m = ak.beamform.beam_metrics(ak.beamform.delay_and_sum(g, (90, 0), f), g, f, (90, 0))
    assert m.sidelobe_kind == ("grating",)
    assert m.sidelobe_db[0] > -1.0


@pytest.mark.parametrize("command", ["beamform", "diagnose"])
def test_a_silent_recording_is_refused_in_the_users_words(capsys, tmp_path, command) -> None:
    """An all-zero take: one line naming the file (not an internal frame-index array)."""
    zeros = tmp_path / "zeros.wav"
    write_audio(zeros, np.zeros((4, 16000)), 16000)
    args = [command, str(zeros), "--geometry", "respeaker-usb-4mic", "--method", "mvdr"]
    if command == "beamform":
        args += ["--direction", "30", "--noise", "0:0.3", "-o", str(tmp_path / "o.wav")]
    else:
        args += ["--direction", "30", "--noise", "0:0.3"]
    code, _, err = run(capsys, *args)
    assert code == 2
    assert "is all zero (silence): nothing to" in err and "array(" not in err
    assert len(err.strip().splitlines()) == 1


def test_pattern_names_its_flags(capsys: pytest.CaptureFixture[str]) -> None:
    """New-user pass: ``pattern --direction nan`` said 'direction=(nan, 0.0)', ``--freqs nan``
    'freqs=array(shape=(1,), dtype=float64)', ``--loading -1`` 'loading=-1.0': the
    library's names; now the flags."""
    base = ["pattern", "--geometry", "respeaker-6mic"]
    cases = [
        (["--direction", "nan"], "--direction=(nan, 0.0): contains NaN"),
        (["--direction", "60", "--freqs", "nan"], "--freqs=array(shape=(1,), dtype=float64): "),
        (["--direction", "60", "--loading", "-1"], "--loading=-1.0: must be a finite number"),
    ]
    for extra, start in cases:
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("arraykit: error: " + start), err


def test_beamform_warns_of_a_clipped_channel(recording, tmp_path, capsys):
    """Fault injection: a channel 26 dB hot and clipped reached the output with no word
    (``doa`` names it; the beamformer weighs it as any other: delay-and-sum 10 dB louder,
    SI-SDR 5.3 dB against the clean run's output on the 6-mic circle). Now one stderr line
    names it and says what to do; a clean recording gets none."""
    path, scene = recording
    x = scene.signals / np.abs(scene.signals).max() * 0.3
    x[1] = np.clip(x[1] * 20.0, -1.0, 1.0)
    hot = write_audio(tmp_path / "hot.wav", x, FS)
    for src, said in ((hot, True), (path, False)):
        code, out, err = run(capsys, "beamform", str(src), "--geometry", "respeaker-6mic",
                             "--direction", "60", "-o", str(tmp_path / f"{said}.wav"))  # fmt: skip
        assert code == 0 and "wrote" in out
        lines = [s for s in err.splitlines() if "clip" in s]
        if said:
            assert len(lines) == 1 and lines[0].startswith(
                "arraykit beamform: warning: channel(s) 1 clip"
            ), err
            assert "arraykit check" in lines[0]
        else:
            assert not lines, err


def test_noise_help_names_every_design_that_reads_it(capsys: pytest.CaptureFixture[str]) -> None:
    """``beamform --help`` said --noise was "for mvdr/lcmv" while gev reads it too (and
    the refusal of ``--noise`` with das said so): the help now lists them from the registry."""
    with pytest.raises(SystemExit) as stop:
        main(["beamform", "--help"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "noise-only time range in seconds (read by mvdr, lcmv, gev), or 'auto'" in text
