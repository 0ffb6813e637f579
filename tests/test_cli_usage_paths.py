"""CLI usage errors and figure paths: one line, exit status 2, before any work is done."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from arraykit.cli import main


def _wav(path: Path, frames: np.ndarray) -> Path:
    """A 16 kHz recording of `frames` ``(N, C)``."""
    sf.write(path, frames, 16000)
    return path


def _noise(n: int, channels: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, channels)) * 0.1


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (
            ["pattern", "--geometry", "uma-8", "--direction", "0", "-o", "{d}/nodir/p.png"],
            "--output",
        ),
        (["pattern", "--geometry", "uma-8", "--direction", "0", "-o", "{d}/p.txt"], "--output"),
        (["geometry", "uma-8", "--plot", "{d}/nodir/g.png"], "--plot"),
        (["geometry", "uma-8", "--plot", "{d}/g.txt"], "--plot"),
        (["demo", "--plot", "{d}/nodir/demo.png"], "--plot"),
        (
            [
                "track",
                "--device",
                "sim:uma-8",
                "--seconds",
                "1",
                "-o",
                "{d}/o",
                "--view-png",
                "{d}/x/v.png",
            ],
            "--view-png",
        ),
    ],
)
def test_bad_figure_path_is_refused_before_any_work(
    argv: list[str], flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.format(d=tmp_path) for a in argv]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""  # refused before the table, the geometry or the demo's scene
    assert err.count("\n") == 1 and err.startswith(f"arraykit: error: {flag}=")
    assert ("does not exist" in err) or ("figure extension" in err)
    assert list(tmp_path.iterdir()) == []


def test_usage_error_names_the_program_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doa", "x.wav", "--method", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("arraykit: error: doa: argument --method: invalid choice: 'nosuch'")
    assert err.count("arraykit") == 1


@pytest.mark.parametrize("argv", [["tune"], ["led", "trace", "on"]])
def test_tune_and_led_say_a_simulated_device_has_no_control_chip(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # before: "no XVF3000 (2886:0018) on USB; USB devices found: none" for a sim: device
    assert main([argv[0], "--device", "sim:respeaker-usb-4mic", *argv[1:]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is simulated: it has no control chip" in err
    assert "--device respeaker-usb-4mic" in err


@pytest.mark.parametrize("seconds", ["-1", "0", "nan"])
def test_live_refuses_a_duration_that_is_not_positive(
    seconds: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # before: --seconds -1 tracked one block and exited 0
    argv = ["live", "--device", "sim:respeaker-usb-4mic", "--seconds", seconds]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("arraykit: error: --seconds=") and "> 0" in err


def test_check_refuses_a_bad_duration_before_asking_for_a_sound(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # before: "recording 0 s from ...: play a sound now", then the error
    assert main(["check", "--device", "sim:respeaker-usb-4mic", "--seconds", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("arraykit: error: --seconds=0.0")


@pytest.mark.parametrize(
    "argv",
    [
        ["doa", "{f}", "--geometry", "respeaker-usb-4mic"],
        ["beamform", "{f}", "--geometry", "respeaker-usb-4mic", "--direction", "0", "-o", "{o}"],
        ["check", "{f}", "--geometry", "respeaker-usb-4mic"],
    ],
)
def test_a_wav_without_frames_is_named_not_a_numpy_error(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = _wav(tmp_path / "empty.wav", np.zeros((0, 4)))
    # before: "arraykit: error: need at least one array to concatenate"
    assert main([a.format(f=f, o=tmp_path / "o.wav") for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "empty.wav" in err and "no audio frames" in err
    assert not err.startswith("arraykit: error: path=")  # the command's name for it, not the API's
    assert not (tmp_path / "o.wav").exists()


def test_diagnose_default_method_says_how_to_give_the_snr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the simplest call fails (the default mpdr needs --snr): the line must say what to give
    assert main(["diagnose", "--geometry", "uma-8", "--direction", "70"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--snr DB" in err and "das" in err and "mvdr" in err
    assert main(["diagnose", "--geometry", "uma-8", "--direction", "70", "--snr", "10"]) == 0


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["record", "--device", "sim:respeaker-usb-4mic", "--seconds", "1", "{o}"], "OUT.wav"),
        (
            [
                "beamform",
                "{i}",
                "--geometry",
                "respeaker-usb-4mic",
                "--direction",
                "0",
                "-o",
                "{o}",
            ],
            "--output",
        ),
    ],
)
@pytest.mark.parametrize("out", ["nodir/o.wav", "o.txt", "o"])
def test_a_bad_audio_output_is_named_by_its_flag(
    argv: list[str], flag: str, out: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    i = _wav(tmp_path / "in.wav", _noise(4000, 4))
    # before: "path='nodir/o.wav': ..." (the API's parameter, not the command's flag)
    assert main([a.format(i=i, o=tmp_path / out) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"arraykit: error: {flag}=")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


def test_a_missing_channel_map_file_is_named_by_its_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # before: "arraykit: error: path='.../odas.cfg': no such file" (which option's path?)
    cfg = str(tmp_path / "odas.cfg")
    assert main(["doa", "x.wav", "--geometry", "respeaker-6mic", "--channel-map", cfg]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"arraykit: error: --channel-map={cfg!r}")
    assert "no such file" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["doa", "{i}"],
        ["beamform", "{i}", "--direction", "30", "-o", "{d}/y.wav"],
        ["diagnose", "--direction", "30"],
        ["pattern", "--direction", "30", "-o", "{d}/p.png"],
        ["track", "{i}", "-o", "{d}/tracks"],
        ["live", "--device", "sim:respeaker-6mic", "--seconds", "1"],
    ],
)
@pytest.mark.parametrize(
    ("geometry", "why"),
    [("respeaker-7mic", "unknown geometry"), ("{d}/mine.toml", "no such file")],
)
def test_a_bad_geometry_is_named_by_its_flag(
    argv: list[str], geometry: str, why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    i = _wav(tmp_path / "in.wav", _noise(4000, 6))
    # before: "name_or_path='respeaker-7mic': ..." (load_geometry's parameter, not the flag)
    g = geometry.format(d=tmp_path)
    assert main([a.format(i=i, d=tmp_path) for a in argv] + ["--geometry", g]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"arraykit: error: --geometry={g!r}: {why}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


@pytest.mark.parametrize(
    "argv",
    [
        ["doa", "{i}"],
        ["beamform", "{i}", "--direction", "30", "-o", "{d}/y.wav"],
        ["track", "{i}", "-o", "{d}/tracks"],
        ["check", "--device", "{i}"],
    ],
)
def test_an_unknown_profile_of_a_recording_is_named_by_its_flag(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    i = _wav(tmp_path / "in.wav", _noise(4000, 6))
    # before: "profile='respeaker-6mic': unknown device profile" (load_profile's parameter)
    assert main([a.format(i=i, d=tmp_path) for a in argv] + ["--profile", "respeaker-6mic"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("arraykit: error: --profile='respeaker-6mic': unknown device profile")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


def test_a_silent_recording_with_a_fixed_count_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    i = _wav(tmp_path / "silent.wav", np.zeros((8000, 6)))
    # before: "arraykit: error: silence: every sample is zero" (which file?)
    assert main(["doa", str(i), "--geometry", "respeaker-6mic", "--sources", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"arraykit: error: FILE={str(i)!r}: silence")
    assert main(["doa", str(i), "--geometry", "respeaker-6mic", "--sources", "auto"]) == 0
    assert "sources: 0" in capsys.readouterr().out  # "no source" is an answer


@pytest.mark.parametrize("command", ["track", "beamform", "diagnose", "check"])
def test_a_channel_map_naming_a_channel_twice_is_refused(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """New-user pass: ``--channel-map 0,0`` ran (track found a talker at broadside: two
    identical rows); one line naming the flag, nothing written."""
    wav = _wav(tmp_path / "two.wav", _noise(16000, 2))
    args = {
        "track": ["-o", str(tmp_path / "o")],
        "beamform": ["--direction", "60", "-o", str(tmp_path / "y.wav")],
        "diagnose": ["--direction", "60", "--method", "das"],
        "check": [],
    }[command]
    argv = [command, str(wav), "--geometry", "linear-4-40mm", "--channel-map", "0,1,1,0"]
    assert main([*argv, *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("arraykit: error: --channel-map='0,1,1,0': uses channel 1 for more")
    assert err.count("\n") == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["two.wav"]


@pytest.mark.parametrize(("command", "flag"), [("track", "IN.wav"), ("check", "FILE")])
def test_a_positional_file_that_is_not_audio_is_named_as_the_file(
    command: str, flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """New-user pass: ``arraykit track notes.txt ...`` looked for an audio input whose name
    contains 'notes.txt' (a file without an audio suffix was taken for a device name);
    beamform and doa said the file cannot be read as audio, as these now do."""
    notes = tmp_path / "notes.txt"
    notes.write_text("not audio\n")
    extra = ["-o", str(tmp_path / "o")] if command == "track" else []
    assert main([command, str(notes), "--geometry", "linear-4-40mm", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"arraykit: error: {flag}='{notes}': cannot be read as audio")
    assert err.count("\n") == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_record_refuses_a_duration_shorter_than_one_frame(tmp_path, capsys) -> None:
    """New-user pass: ``record --seconds 1e-9`` wrote a WAV of 0 frames ('recorded 0
    frames'), which every command then refuses as holding no audio."""
    out = tmp_path / "take.wav"
    argv = ["record", "--device", "sim:respeaker-6mic", "--seconds", "1e-9", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("arraykit: error: --seconds=1e-09: is less than one frame at 16000 Hz")
    assert not out.exists()


def test_record_refuses_a_take_larger_than_the_free_space(tmp_path, capsys) -> None:
    """New-user pass: ``record --seconds 1e9`` started a take of 384 TB (six float32
    channels at 16 kHz) that could only end when the disk was full; it is refused before
    the device starts, with the size, the free space and the folder; an existing file
    under that name is left as it was."""
    import shutil

    out = tmp_path / "take.wav"
    out.write_bytes(b"earlier take")
    free = shutil.disk_usage(tmp_path).free
    seconds = 2 * free / (16000 * 6 * 4)  # twice what fits
    argv = ["record", "--device", "sim:respeaker-6mic", "--seconds", f"{seconds:.6g}", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("arraykit: error: --seconds=") and err.count("\n") == 1
    assert "GB are free" in err and str(tmp_path) in err
    assert out.read_bytes() == b"earlier take"


def test_check_reads_a_recording_given_as_device_whole(tmp_path: Path, capsys) -> None:
    """``check --device take.wav`` (files are devices everywhere else): it said "play a
    sound now" and tried to record 3 s from the 1.58 s file: "seconds=3.0: only 1.579 s
    are left to replay", exit 2. Now the file is read whole, as ``check take.wav`` reads it."""
    import arraykit as ak

    g = ak.load_geometry("respeaker-6mic")
    sc = ak.sim.simulate(g, [ak.sim.Source(ak.sim.speech_like(1.5, 16000, seed=2), 40.0)],
                         16000, rt60=0.2, snr_db=30, seed=1, max_order=4)  # fmt: skip
    take = _wav(tmp_path / "take.wav", (sc.signals / np.abs(sc.signals).max() * 0.5).T)
    for argv in (["check", "--device", str(take)], ["check", str(take)]):
        assert main([*argv, "--geometry", "respeaker-6mic"]) == 0
        out, err = capsys.readouterr()
        assert "play a sound" not in err and "OK: channels alive" in out
        assert "best-fit direction 40 deg azimuth" in out


@pytest.mark.parametrize(
    ("argv", "name"),
    [(["track", "-o", "{d}/o"], "IN.wav"), (["check"], "FILE")],
)
def test_neither_a_recording_nor_a_device(
    argv: list[str], name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``arraykit track -o out/`` said "give --device NAME or a IN.wav": the recording
    (as the usage line names it) comes first, and the simulated arrays are named."""
    assert main([a.format(d=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"arraykit: error: --device=None: give a recording ({name}) or --device NAME "
        "(sim:NAME: a simulated array)\n"
    )
    assert list(tmp_path.iterdir()) == []
