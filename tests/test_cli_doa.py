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
    assert out["no_source"] is None
    assert out["dead_channels"] == out["clipped_channels"] == out["copied_channels"] == []


def test_doa_json_names_dead_clipped_and_copied_channels(
    wav, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    """New-user pass: channels left out (dead, clipped, copied) were named only inside
    count_reason's text; a script reading --json now gets them as lists."""
    from arraykit.io import read_audio

    x = read_audio(wav)[0]
    x[4] = 0.0  # dead
    x[1] = np.clip(x[1] * 30.0, -0.9, 0.9)  # clipped
    x[5] = x[3]  # a copy of channel 3
    path = write_audio(tmp_path / "faults.wav", x, FS)
    rc = main(["doa", str(path), "--geometry", "respeaker-6mic", "--sources", "auto", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dead_channels"] == [4] and out["clipped_channels"] == [1]
    assert out["copied_channels"] == [[5, 3]]


def test_doa_json_says_why_no_direction_is_a_measurement(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    """New-user pass: ``res.no_source`` (why nothing directional was heard) was not in
    ``--json``, so a script had to parse "warning:" out of count_reason. One channel
    copied to all six: with a given count the estimates come with the reason beside
    them, with "auto" 0 sources and the same reason."""
    x = np.repeat(speech_like(0.8, FS, seed=1)[None], 6, axis=0)
    path = write_audio(tmp_path / "copies.wav", x / np.abs(x).max() * 0.5, FS)
    for sources, n in (("2", 2), ("auto", 0)):
        argv = ["doa", str(path), "--geometry", "respeaker-6mic", "--sources", sources]
        assert main([*argv, "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["num_sources"] == n == len(out["sources"])
        assert "every channel is a copy of the first" in out["no_source"]
        assert "Check the wiring" in out["no_source"]


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
    assert "sources: 2 (auto (tf)" in out
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
        (["--sources", "9"], "--sources=9"),
        (["--freq-range", "300", "9000"], "--freq-range=(300.0, 9000.0)"),
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


# ---------------------------------------------------------------- issue 12, items 18 and 20
@pytest.fixture(scope="module")
def uma8_raw(tmp_path_factory: pytest.TempPathFactory):
    """A UMA-8's raw take: 8 channels, the 7 microphones on 0..6 (a talker at 120°)."""
    import arraykit as ak

    dev = ak.hardware.open("sim:uma-8", azimuth=120.0, duration=0.5, seed=2, all_channels=True)
    x = dev.record(0.5)
    assert x.shape[0] == 8
    path = tmp_path_factory.mktemp("uma8") / "uma8.wav"
    write_audio(path, x, dev.fs)
    return path


def test_doa_beamform_diagnose_read_a_device_raw_wav(uma8_raw, tmp_path, capsys) -> None:
    f = str(uma8_raw)
    # --geometry alone: one line that names the flag that reads it
    assert main(["doa", f, "--geometry", "uma-8"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "has 8 channel(s) but geometry 'uma-8' has 7 microphones: add --profile uma-8" in err
    for extra in (
        ["--profile", "uma-8"],
        ["--geometry", "uma-8", "--channel-map", "0,1,2,3,4,5,6"],
    ):
        assert main(["doa", f, *extra, "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert abs(out["sources"][0]["azimuth"] - 120) <= 3
    # the text's first line counts the microphones read (it said "7 channels" of this
    # 8-channel file)
    assert main(["doa", f, "--profile", "uma-8"]) == 0
    assert capsys.readouterr().out.startswith(f"{f}: 7 microphones, 0.50 s at 48000 Hz; srp-phat")
    out_wav = tmp_path / "enh.wav"
    assert (
        main(["beamform", f, "--profile", "uma-8", "--direction", "120", "-o", str(out_wav)]) == 0
    )
    assert "wrote" in capsys.readouterr().out
    from arraykit.io import read_audio

    y, fs = read_audio(out_wav)
    assert y.shape[0] == 1 and fs == 48000
    argv = ["diagnose", f, "--profile", "uma-8", "--direction", "120", "--method", "das", "--json"]
    assert main(argv) == 0
    rep = json.loads(capsys.readouterr().out)
    assert abs(rep["doa_direction"][0] - 120) <= 3


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--geometry", "uma-8", "--channel-map", "0,1,2,3,4,5,9"], "needs channel 9 but"),
        (["--geometry", "uma-8", "--channel-map", "0,1,2"], "--channel-map picks 3 channel(s)"),
        (["--channel-map", "0,x"], "must be channels like 1,2,3,4 or an ODAS .cfg"),
        ([], "no geometry known: give --geometry NAME or FILE (or --profile NAME"),
        (["--profile", "nosuch"], "nosuch"),
        (["--profile", "uma-8", "--plot", "nodir/m.png"], "folder 'nodir' does not exist"),
        (["--profile", "uma-8", "--plot", "map.txt"], "needs a figure extension"),
    ],
)
def test_input_errors_are_one_line_in_the_flags_words(uma8_raw, capsys, extra, match) -> None:
    assert main(["doa", str(uma8_raw), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err
    assert "channel_map=" not in err


@pytest.mark.parametrize("suffix", [".ogg", ".aiff", ".caf", ".w64", ".rf64"])
def test_every_audio_suffix_is_read_as_the_recording(
    wav, tmp_path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """New-user pass: ``arraykit doa take.ogg`` (or .aiff, .caf, .w64, .rf64: formats
    soundfile reads and the commands call audio) opened the name as a device, 'no audio
    input matches ... take.ogg'; the file device knew .wav and .flac only."""
    import soundfile as sf

    x, fs = sf.read(wav)
    path = tmp_path / f"take{suffix}"
    sf.write(path, x, fs)
    argv = ["doa", str(path), "--geometry", "respeaker-6mic", "--sources", "2", "--json"]
    assert main(argv) == 0
    az = sorted(s["azimuth"] for s in json.loads(capsys.readouterr().out)["sources"])
    assert abs(az[0] - 75.0) <= 3.0 and abs(az[1] - 250.0) <= 3.0, az


@pytest.mark.parametrize(
    ("scale", "bad", "match"),
    [
        (1e200, None, r"peak 1e\+200 lies beyond float32's range .*scale the recording"),
        (1e-300, None, r"peak 1e-300 lies below float32's smallest normal"),
        (1.0, np.nan, r"holds NaN or infinite samples \(the first at frame 100, channel 2\)"),
    ],
)
def test_a_float_recording_that_float32_cannot_hold_is_refused_naming_the_file(
    wav, tmp_path, scale: float, bad: float | None, match: str, capsys
) -> None:
    """New-user pass: a 64-bit float WAV of peak 1e200 printed numpy's 'overflow encountered
    in cast' and 'signals=array(...): contains NaN or infinite values'; one of peak 1e-300
    was called 'silence: every sample is zero'; a NaN sample named signals=array(...), not
    the file. Files replay as float32, as devices deliver: these are refused naming it."""
    import soundfile as sf

    x, fs = sf.read(wav)
    x = x / np.abs(x).max() * scale
    if bad is not None:
        x[100, 2] = bad
    path = tmp_path / "take.wav"
    sf.write(path, x, fs, subtype="DOUBLE")
    for flag, cmd in (
        ("FILE", ["doa"]),
        ("IN.wav", ["beamform", "--direction", "75", "-o", str(tmp_path / "y.wav")]),
    ):
        assert main([cmd[0], str(path), "--geometry", "respeaker-6mic", *cmd[1:]]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"arraykit: error: {flag}='{path}': "), err
        assert re.search(match, err), err
    assert not (tmp_path / "y.wav").exists()


def test_recordings_the_search_cannot_read_are_named_as_the_file(
    wav, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    """New-user pass: a 1-frame or 300-frame WAV was refused as 'signals=array(shape=(6, 1),
    dtype=float64): has 1 samples, fewer than nfft=512', in doa, beamform and diagnose alike
    (a name no command has; the file unnamed); a WAV whose header says 1 Hz as
    'freq_range=...' (doa's flag is --freq-range)."""
    import soundfile as sf

    x, fs = sf.read(wav)
    one, slow = tmp_path / "one.wav", tmp_path / "slow.wav"
    sf.write(one, x[:1], fs)
    sf.write(slow, x, 1)
    geo = ["--geometry", "respeaker-6mic"]
    cases = [
        (["doa", str(one), *geo], f"FILE='{one}': has 1 samples, fewer than nfft=512"),
        (
            ["beamform", str(one), *geo, "--direction", "60", "-o", str(tmp_path / "y.wav")],
            f"IN.wav='{one}': has 1 samples, fewer than nfft=512",
        ),
        (["diagnose", str(one), *geo, "--direction", "60"], f"IN.wav='{one}': has 1 samples"),
        (["doa", str(slow), *geo], r"--freq-range=(300.0, 3500.0): must be (low, high) Hz"),
        (
            ["diagnose", str(slow), *geo, "--direction", "60"],
            f"IN.wav='{slow}': sampled at 1 Hz, ",
        ),
    ]
    for argv, start in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("arraykit: error: " + start), err
    assert not (tmp_path / "y.wav").exists()
