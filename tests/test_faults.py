"""Fault injection through the real seams: a full disk, a kill, a refused stream, a frozen server.

Every scenario runs ``python -m arraykit`` (or a few lines of Python) in a subprocess
against real PortAudio: ALSA ``file`` devices replaying a raw file (not paced) or a
JACK ``dummy`` server (real-time paced). A full disk is a small file-size limit
(``RLIMIT_FSIZE``, with SIGXFSZ ignored so that the write fails with EFBIG, as on a
full disk); a frozen audio server is a jackd stopped with SIGSTOP. The rule under
test: one clear line and a non-zero exit; nothing already on disk lost; every frame
written readable by every WAV reader.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
import warnings
import wave
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile
import soundfile as sf
from alsa_support import (
    REPO,
    asound_home,
    cli,
    env_for,
    jack_server,
    require_portaudio,
    run_py,
    write_raw,
)

pytestmark = pytest.mark.slow  # real audio servers frozen, disks filled, processes killed

FS = 16000


@pytest.fixture(scope="module")
def alsa(tmp_path_factory):
    """An ALSA device named like a ReSpeaker (6 channels int16, 3 s) and its frames."""
    require_portaudio()
    tmp = tmp_path_factory.mktemp("faults")
    rng = np.random.default_rng(12)
    frames = rng.integers(-32768, 32767, size=(3 * FS, 6), dtype=np.int16)
    raw = write_raw(tmp / "respeaker.raw", frames)
    env = env_for(asound_home(tmp, {"ReSpeaker_4_Mic_Array_sim": raw}))
    # PortAudio's first start makes JACK's metadata database (/dev/shm/jack_db-*, 280 kB):
    # made by a child under the disk-full test's file-size limit it is left half-written
    # and every later client hangs on it (it did when this file ran alone)
    run_py("import sounddevice", env)
    return tmp, frames, env


def _limited(max_bytes: int):  # type: ignore[no-untyped-def]
    """preexec_fn: a file-size limit of `max_bytes`, SIGXFSZ ignored (writes fail, EFBIG)."""

    def setup() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return setup


def _run(args: list[str], env: dict[str, str], *, limit: int | None = None, timeout: float = 60):
    return cli(args, env, timeout, None if limit is None else _limited(limit))


def _all_readers(path: Path) -> tuple[int, int, int, np.ndarray]:
    """Frames as Python's wave, scipy and soundfile read them, and soundfile's samples."""
    with wave.open(str(path)) as w:
        n_wave = w.getnframes()
    with warnings.catch_warnings():  # scipy notes libsndfile's PAD chunk: not under test
        warnings.simplefilter("ignore", scipy.io.wavfile.WavFileWarning)
        _, data = scipy.io.wavfile.read(path)
    x, _ = sf.read(path, dtype="int16", always_2d=True)
    return n_wave, data.shape[0], x.shape[0], x


def _one_error_line(stderr: str) -> str:
    errors = [ln for ln in stderr.splitlines() if ln.startswith("arraykit: error:")]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr
    return errors[0]


# -- disk full ---------------------------------------------------------------------------


def test_disk_full_during_record_says_so_and_keeps_every_frame_written(alsa):
    tmp, frames, env = alsa
    wav = tmp / "full.wav"
    limit = 40_000  # bytes: about 5000 frames of 4 channels int16
    r = _run(
        ["record", "--device", "ReSpeaker 4 Mic Array", "--seconds", "2", str(wav)],
        env,
        limit=limit,
    )
    assert r.returncode == 2, r.stderr
    line = _one_error_line(r.stderr)
    assert "file-size limit was reached" in line
    kept = int(re.search(r"keeps the first (\d+) frames", line).group(1))
    assert re.search(rf"recorded {kept} frames \(", r.stderr), r.stderr
    assert wav.stat().st_size <= limit
    n_wave, n_scipy, n_sf, x = _all_readers(wav)
    assert n_wave == n_scipy == n_sf == kept > 4000  # every reader, every frame written
    assert np.array_equal(x, frames[:kept, 1:5])  # bit-exact, mics in geometry order


def test_disk_full_in_write_audio_leaves_the_existing_output_untouched(tmp_path):
    out = tmp_path / "enhanced.wav"
    sf.write(out, np.full((100, 1), 0.25), FS, subtype="FLOAT")
    before = out.read_bytes()
    code = (
        "import numpy as np, arraykit as ak\n"
        f"ak.io.write_audio({str(out)!r}, np.zeros((2, 50000)), {FS})\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        env=env_for(tmp_path),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limited(100_000),
    )
    assert r.returncode != 0
    assert "OutputError" in r.stderr and "file-size limit was reached" in r.stderr
    assert f"{out} was left as it was" in r.stderr
    assert out.read_bytes() == before  # not a truncated file that looks complete
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enhanced.wav"]  # no temporary left


def test_disk_full_in_beamform_leaves_no_truncated_output(tmp_path):
    rng = np.random.default_rng(3)
    wav_in = tmp_path / "in.wav"
    sf.write(wav_in, rng.standard_normal((FS, 6)) * 0.1, FS, subtype="PCM_16")
    out = tmp_path / "out.wav"
    args = ["beamform", str(wav_in), "--geometry", "respeaker-6mic", "--direction", "60"]
    r = _run([*args, "-o", str(out)], env_for(tmp_path), limit=40_000)
    assert r.returncode == 2, r.stderr
    assert "file-size limit was reached" in _one_error_line(r.stderr)
    assert not out.exists()  # nothing that looks like a result
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


# -- a stream that refuses to open over an existing take -------------------------------------


def test_refused_stream_leaves_the_existing_take_byte_for_byte(alsa):
    tmp, _frames, env = alsa
    take = tmp / "take.wav"
    sf.write(take, np.full((FS, 4), 1000, dtype=np.int16), FS, subtype="PCM_16")
    before = take.read_bytes()
    for args in (
        ["--profile", "generic-uac", "--channels", "300"],  # PortAudio refuses the stream
        ["--profile", "no-such-profile"],  # refused before a device is touched
        ["--samplerate", "0.4"],
    ):
        r = _run(["record", "--device", "ReSpeaker", *args, "--seconds", "1", str(take)], env)
        assert r.returncode == 2, (args, r.stderr)
        _one_error_line(r.stderr)
        assert take.read_bytes() == before, args


# -- JACK: a kill mid-recording, a rate the server does not run at, a frozen server -----------


def test_sigkill_during_record_leaves_every_frame_readable_by_every_reader(tmp_path):
    wav = tmp_path / "killed.wav"
    with jack_server(tmp_path) as env:
        p = subprocess.Popen(
            [sys.executable, "-m", "arraykit", "record", "--device", "system", str(wav)],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while not (wav.exists() and wav.stat().st_size > 44 + 12 * 8192):
            assert time.monotonic() < deadline and p.poll() is None, p.communicate()
            time.sleep(0.05)
        time.sleep(0.2)
        p.send_signal(signal.SIGKILL)  # no handler runs: what is on disk is what counts
        p.communicate(timeout=10)
    n_wave, n_scipy, n_sf, _ = _all_readers(wav)
    with wave.open(str(wav)) as w:
        frame_bytes = w.getnchannels() * w.getsampwidth()
    assert frame_bytes == 12
    on_disk = _data_chunk_bytes(wav) // frame_bytes  # frames actually in the data chunk
    assert n_wave == n_scipy == n_sf == on_disk > 8192


def _data_chunk_bytes(path: Path) -> int:
    """Bytes from the start of the data chunk's payload to the end of the file."""
    raw = path.read_bytes()
    at = raw.index(b"data") + 8
    return len(raw) - at


def test_samplerate_the_jack_server_does_not_run_at_is_an_error(tmp_path):
    wav = tmp_path / "rate.wav"
    with jack_server(tmp_path) as env:
        r = _run(
            ["record", "--device", "system", "--samplerate", "44100", "--seconds", "0.2", str(wav)],
            env,
        )
    assert r.returncode == 2, r.stderr
    line = _one_error_line(r.stderr)
    assert "44100 Hz" in line and "16000 Hz" in line  # asked for, and what the device runs at
    assert not wav.exists()


def test_frozen_jack_server_is_named_within_the_time_limit(tmp_path):
    with jack_server(tmp_path) as env:
        jackd = int(env["ARRAYKIT_JACKD_PID"])
        env = {**env, "ARRAYKIT_PORTAUDIO_TIMEOUT": "2"}
        os.kill(jackd, signal.SIGSTOP)
        try:
            for args in (["devices"], ["record", "--device", "system", str(tmp_path / "x.wav")]):
                t0 = time.monotonic()
                r = _run(args, env, timeout=30)
                took = time.monotonic() - t0
                assert r.returncode == 2, r.stderr
                line = _one_error_line(r.stderr)
                assert "PortAudio did not finish initialising within 2 s" in line
                assert "the JACK server 'arraykit-test-" in line and "did not answer" in line
                assert took < 15, took
            assert not (tmp_path / "x.wav").exists()
        finally:
            os.kill(jackd, signal.SIGCONT)


def test_track_play_to_a_server_that_freezes_stops_and_says_so(tmp_path):
    """``track --play system`` and the JACK server frozen (SIGSTOP) mid-run: PortAudio's
    write blocked forever, SIGTERM twice unheard (15 s and more), only SIGKILL ended it.
    Now the output is let go after 2.2 s without room, the run stops as Ctrl-C stops it
    (its files finished) and one line names --play; the track WAV reads in all readers."""
    out = tmp_path / "o"
    with jack_server(tmp_path) as env:
        jackd = int(env["ARRAYKIT_JACKD_PID"])
        cmd = [sys.executable, "-m", "arraykit", "track", "--device", "sim:respeaker-usb-4mic"]
        proc = subprocess.Popen(
            [*cmd, "-o", str(out), "--play", "system"],
            env=env,
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            jsonl = out / "tracks.jsonl"  # a few blocks played
            while time.monotonic() < deadline and (
                not jsonl.exists() or jsonl.read_text().count("\n") < 5
            ):
                time.sleep(0.02)
            os.kill(jackd, signal.SIGSTOP)
            t0 = time.monotonic()
            _, err = proc.communicate(timeout=30)
            took = time.monotonic() - t0
        finally:
            if proc.poll() is None:
                proc.kill()
            os.kill(jackd, signal.SIGKILL)  # frozen, it would take 5 s to stop (a name
            # the helper starts again reclaims its registry entry)
    assert proc.returncode == 2, err
    line = _one_error_line(err)
    assert line.startswith("arraykit: error: --play='system': the output took no samples for")
    assert f"{out} holds the run up to there" in line and took < 10, took
    lines = [json.loads(s) for s in (out / "tracks.jsonl").read_text().splitlines()]
    for wav in out.glob("track-*.wav"):  # finished: padded to the input read
        n_wave, n_scipy, n_sf, _ = _all_readers(wav)
        assert n_wave == n_scipy == n_sf and round(lines[-1]["t"] * FS) >= n_wave > 0


# -- bad output paths and options: one line each, nothing created (issue 12 items 10, 16) -----


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    (tmp_path / "adir").mkdir()
    return tmp_path


BAD_OUTPUTS = [
    ("nodir/o.wav", r"folder '.*nodir' does not exist"),
    ("adir", r"is a folder: give a file name"),
    ("adir/", r"is a folder: give a file name"),
    ("out.txt", r"unknown audio extension '\.txt'"),
    ("out", r"has no extension"),
]


@pytest.mark.parametrize(("name", "match"), BAD_OUTPUTS)
def test_write_audio_refuses_bad_paths_before_writing(out_dir: Path, name: str, match: str):
    import arraykit as ak

    with pytest.raises(ak.InvalidArgumentError, match=match):
        ak.io.write_audio(
            str(out_dir / name) + ("/" if name.endswith("/") else ""), np.zeros(8), FS
        )
    assert sorted(p.name for p in out_dir.iterdir()) == ["adir"]


@pytest.mark.parametrize(("name", "match"), BAD_OUTPUTS)
def test_record_refuses_bad_paths_in_one_line(out_dir: Path, name: str, match: str, capsys):
    from arraykit.cli import main

    target = str(out_dir / name) + ("/" if name.endswith("/") else "")
    args = ["record", "--device", "sim:respeaker-usb-4mic", "--seconds", "0.1", target]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert re.search(match, err) and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in out_dir.iterdir()) == ["adir"]


def test_sample_rates_that_are_not_whole_hertz_are_refused(tmp_path: Path, capsys):
    import arraykit as ak
    from arraykit.cli import main

    for rate in (0, 0.4, -16000, 44100.5):
        with pytest.raises(ValueError, match=r"samplerate="):
            ak.hardware.open("sim:respeaker-usb-4mic", samplerate=rate)
    out = tmp_path / "o.wav"
    args = ["record", "--device", "sim:respeaker-usb-4mic", "--samplerate", "0.4", str(out)]
    assert main([*args[:-1], "--seconds", "0.1", args[-1]]) == 2
    err = capsys.readouterr().err
    assert "samplerate=0.4: must be a whole number of Hz >= 1" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
    with pytest.raises(ValueError, match=r"fs=0\.4: must be at least 1 Hz"):
        ak.io.write_audio(tmp_path / "w.wav", np.zeros(8), 0.4)


def test_truncated_wav_is_read_with_a_warning(tmp_path: Path):
    import arraykit as ak

    p = tmp_path / "cut.wav"
    sf.write(p, np.zeros((16000, 2)), FS, subtype="PCM_16")
    size = p.stat().st_size
    with p.open("r+b") as fh:  # cut off mid-data, as a crash would
        fh.truncate(44 + (size - 44) // 2)
    with pytest.warns(ak.io.TruncatedAudioWarning, match=r"truncated: .* read 8000 frames"):
        x, _ = ak.io.read_audio(p)
    assert x.shape == (2, 8000)
    whole = tmp_path / "whole.wav"
    sf.write(whole, np.zeros((100, 2)), FS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ak.io.read_audio(whole)


def test_closed_pipe_ends_quietly(tmp_path: Path):
    p = subprocess.Popen(
        [sys.executable, "-m", "arraykit", "geometry", "--json"],
        env=env_for(tmp_path),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    p.stdout.close()  # the reader is gone before the first write (`| head -c 0`)
    err = p.communicate(timeout=60)[1].decode()
    assert err == "" and p.returncode == 0, err


def test_disk_full_in_a_figure_leaves_the_existing_picture_untouched(tmp_path):
    """New-user pass: figures were written in place by matplotlib: a full disk left a
    truncated PNG where the earlier picture was, and the error was numpy-free but
    flagless ('[Errno 27] File too large'). They are written beside and renamed over, as
    audio outputs are."""
    pic = tmp_path / "map.png"
    pic.write_bytes(b"an earlier picture")
    for args in (
        ["geometry", "respeaker-6mic", "--plot", str(pic)],
        ["pattern", "--geometry", "respeaker-6mic", "--direction", "60", "-o", str(pic)],
    ):
        r = _run(args, env_for(tmp_path), limit=2_000)
        assert r.returncode == 2, r.stderr
        line = _one_error_line(r.stderr)
        assert "file-size limit was reached" in line and f"{pic} was left as it was" in line
        assert pic.read_bytes() == b"an earlier picture"
        assert not list(tmp_path.glob("*part*"))  # no temporary left (HOME: matplotlib's)
