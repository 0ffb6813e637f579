"""Live direction finding on the simulated device, with the LED ring and on-chip DOA on a fake USB back end."""

from __future__ import annotations

import re

import numpy as np
from fake_usb import FakeBackend, FakeXVF3000

import arraykit as ak
from arraykit.cli import hardware as cli_hw
from arraykit.cli import main
from arraykit.live import LiveStats, track


def test_track_follows_a_moving_source():
    stats = LiveStats()
    with ak.hardware.open(
        "sim:respeaker-usb-4mic",
        azimuth=[30.0, 30.0, 210.0, 210.0],
        duration=2.0,
        rt60=0.0,
        blocksize=400,
    ) as dev:
        est = [
            e
            for _, e in zip(range(18), track(dev, block=0.1, memory=0.2, stats=stats), strict=False)
        ]
    az = np.array([e.azimuth[0] for e in est])
    assert np.all(np.abs(az[3:8] - 30.0) < 6), az
    assert np.all(np.abs(az[13:18] - 210.0) < 6), az
    assert stats.blocks == 18 and abs(stats.audio_seconds - 18 * 0.1) < 0.07
    assert 0 < stats.real_time_factor < 1
    assert est[-1].lost_frames == 0 and est[-1].onchip is None


def test_cli_live_with_led_and_onchip(monkeypatch, capsys):
    chip = FakeXVF3000()
    chip.set("DOAANGLE", 95)
    be = FakeBackend(chip)
    monkeypatch.setattr(cli_hw, "usb_backend", be)
    code = main(
        [
            "live",
            "--device",
            "sim:respeaker-usb-4mic",
            "--seconds",
            "0.5",
            "--led",
            "--compare-onchip",
        ]
    )
    assert code == 0
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 4  # 0.1 s blocks of whole 1024-frame device blocks: 0.128 s each
    assert all(
        re.fullmatch(
            r"\s*[\d.]+ s  az  (5[5-9]|6[0-5])\.\d° el\s+[\d.]+° conf 0\.\d\d  on-chip  95\.0°", x
        )
        for x in lines
    ), lines
    assert re.search(r"4 blocks, 0\.51 s of audio, real-time factor 0\.\d+; no frames lost", err)
    leds = [data for cmd, data in chip.leds if cmd == 6]
    assert len(leds) == 4
    ring = np.frombuffer(leds[-1], dtype=np.uint8).reshape(12, 4)
    assert np.flatnonzero(ring.any(axis=1)).tolist() == [2]  # 60 degrees -> LED 2
    assert be.opened == be.closed
    # The chip says 95 while arraykit says about 60: the fitted orientation reports it.
    m = re.search(r"azimuth = ([\d.]+) \+ \(\+1\) x on-chip angle", err)
    assert m and abs(float(m.group(1)) - (60 - 95) % 360) < 6, err


def _switch_lag(memory: float, method: str = "srp-phat") -> float:
    """Seconds after the talker jumps from 30 to 210 degrees until the estimate follows."""
    with ak.hardware.open(
        "sim:respeaker-usb-4mic",
        azimuth=[30.0, 30.0, 210.0, 210.0],  # the jump is at 1.0 s
        duration=2.0,
        rt60=0.0,
        blocksize=400,
        seed=3,
    ) as dev:
        est = [
            e
            for _, e in zip(
                range(40), track(dev, block=0.05, memory=memory, method=method), strict=False
            )
        ]
    t = np.array([e.time for e in est])
    az = np.array([e.azimuth[0] for e in est])
    near = np.abs((az - 210.0 + 180.0) % 360.0 - 180.0) < 8.0
    assert not near[t < 1.0].any(), az
    after = np.flatnonzero(t >= 1.0)
    k = after[np.argmax(near[after])]
    assert near[k:].all(), az  # once it follows, it stays
    return float(t[k] - 1.0)


def test_recursive_covariance_memory_sets_how_fast_the_estimate_follows():
    """The covariance forgets with time constant `memory`: a short memory follows a jump
    within a few blocks, a long one lags (the old talker keeps weight exp(-t / memory))."""
    short, long = _switch_lag(0.1), _switch_lag(0.4)
    assert short <= 0.2 and long > short, (short, long)
    assert _switch_lag(0.1, "music") <= 0.2


def test_digital_silence_gives_no_direction_until_sound_arrives(tmp_path):
    """A stream that starts with zeros: NaN directions (not a made-up 0°) until the talker."""
    from arraykit.io import write_audio
    from arraykit.sim import Source, simulate, speech_like

    g = ak.load_geometry("respeaker-usb-4mic")
    scene = simulate(g, [Source(speech_like(1.0, 16000, seed=2), azimuth=120.0)], 16000, seed=1)
    x = np.concatenate([np.zeros((4, 8000)), scene.signals], axis=1)
    wav = write_audio(tmp_path / "late.wav", x / np.abs(x).max() * 0.5, 16000)
    with ak.hardware.open(wav, geometry=g, blocksize=800) as dev:
        est = list(track(dev, block=0.1, memory=0.1))
    az = np.array([e.azimuth[0] for e in est])
    t = np.array([e.time for e in est])
    assert np.isnan(az[t <= 0.5]).all() and all(e.power[0] == 0 for e in est if e.time <= 0.5)
    late = az[t >= 0.9]
    assert late.size >= 5 and np.all(np.abs(late - 120.0) < 6), az


def test_live_on_a_file_without_geometry_names_the_flag(tmp_path, capsys):
    """Issue 12 item 20: the CLI user is told about --geometry, not only geometry=."""
    wav = tmp_path / "rec6.wav"
    ak.io.write_audio(wav, np.zeros((6, 3200)), 16000)
    assert main(["live", "--device", str(wav), "--seconds", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "no geometry known" in err and "--geometry NAME or FILE" in err
    assert len(err.strip().splitlines()) == 1


def test_live_bad_values_name_the_flag_the_user_gave(capsys):
    """New-user pass: ``--memory 1e-9`` said ``alpha=0.0`` (a name never given);
    ``--samplerate 6000`` named ``freq_range``, which ``live`` has no flag for; ``--led`` on
    ``sim:respeaker-6mic`` named the profile ``generic-uac``; ``--block 100`` with
    ``--seconds 0.5`` rendered and searched 100 s of audio."""
    sim = ["live", "--device", "sim:respeaker-6mic", "--seconds", "0.5"]
    cases = [
        (["--memory", "1e-9"], r"^arraykit: error: --memory=1e-09: leaves nothing to remember"),
        (["--memory", "1e300"], r"^arraykit: error: --memory=1e\+300: leaves nothing"),
        # new-user pass: named memory=, the library's word
        (["--memory", "0"], r"^arraykit: error: --memory=0.0: must be a finite number > 0"),
        (["--samplerate", "6000"], r"^arraykit: error: --samplerate=6000.0: .*fs >= 7000 Hz"),
        (["--led"], r"^arraykit: error: --led=.sim:respeaker-6mic.: has no USB vendor control"),
        (["--block", "100"], r"^arraykit: error: --block=100.0: is longer than --seconds 0.5"),
        # new-user pass: 10 MHz rendered for minutes (10 s: a 3 M-tap room response per
        # microphone), and SIGTERM waits for the render to end
        (
            ["--samplerate", "1e7"],
            r"^arraykit: error: --samplerate=10000000.0: is above the 384000 Hz",
        ),
    ]
    for extra, message in cases:
        assert main([*sim, *extra]) == 2
        out, err = capsys.readouterr()
        assert re.search(message, err), err
        assert len(err.strip().splitlines()) == 1 and out == ""


def test_live_says_no_directional_source_in_noise_then_follows_the_talker(tmp_path):
    """Sensor noise alone, then a talker at 120 degrees: no direction (and the reason) while
    only noise is heard, where the search gave a direction of noise with a confidence of
    0.95 before; the talker's direction with a confidence above 0.9 once the covariance
    holds it."""
    from arraykit.io import write_audio
    from arraykit.sim import Source, simulate, speech_like

    g = ak.load_geometry("respeaker-usb-4mic")
    scene = simulate(g, [Source(speech_like(1.0, 16000, seed=2), azimuth=120.0)], 16000, seed=1)
    talk = scene.signals[:, :16000]
    noise = 0.01 * np.std(talk) * np.random.default_rng(0).standard_normal((4, 32000))
    x = np.concatenate([np.zeros((4, 16000)), talk], axis=1) + noise
    wav = write_audio(tmp_path / "noise-then-talker.wav", x / np.abs(x).max() * 0.5, 16000)
    with ak.hardware.open(wav, geometry=g, blocksize=800) as dev:
        est = list(track(dev, block=0.1, memory=0.1))
    quiet = [e for e in est if 0.3 <= e.time <= 0.9]
    assert quiet and all(np.isnan(e.azimuth[0]) for e in quiet)
    assert all("no directional source" in str(e.no_source) for e in quiet)
    late = [e for e in est if e.time >= 1.4]
    assert late and all(e.no_source is None for e in late)
    assert all(abs(e.azimuth[0] - 120.0) < 6 and e.confidence[0] > 0.9 for e in late)


def _talker_wav(tmp_path, n: int, name: str = "talker.wav"):
    from arraykit.io import write_audio
    from arraykit.sim import Source, simulate, speech_like

    g = ak.load_geometry("respeaker-usb-4mic")
    scene = simulate(g, [Source(speech_like(1.0, 16000, seed=2), azimuth=120.0)], 16000, seed=1)
    x = scene.signals[:, 4000 : 4000 + n]
    return write_audio(tmp_path / name, x / np.abs(x).max() * 0.5, 16000), g


def test_a_file_shorter_than_a_block_is_searched_and_one_shorter_than_a_frame_refused(
    tmp_path, capsys
):
    """New-user pass: a file of 1000 samples (under one 0.1 s block) printed nothing and
    exited 0 ("0 blocks"), and a file's last samples short of a block were dropped. Now the
    last, shorter block is searched (the talker at 120 degrees), and a file shorter than
    one STFT frame is one line naming --device and why, exit 2."""
    wav, g = _talker_wav(tmp_path, 1000)
    assert main(["live", "--device", str(wav), "--geometry", "respeaker-usb-4mic"]) == 0
    out, err = capsys.readouterr()
    az = [float(m) for m in re.findall(r"az\s+([\d.]+)°", out)]
    assert len(az) == 1 and abs(az[0] - 120.0) < 6, out
    assert err.startswith("1 blocks, 0.06 s of audio"), err
    # every sample of a longer file is searched: 8000 samples in 800-sample device blocks
    # and 0.15 s blocks (2400): three whole blocks and the last 800 samples
    wav, g = _talker_wav(tmp_path, 8000, "longer.wav")
    stats = LiveStats()
    with ak.hardware.open(wav, geometry=g, blocksize=800) as dev:
        est = list(track(dev, block=0.15, stats=stats))
    assert [round(e.time, 3) for e in est] == [0.15, 0.3, 0.45, 0.5]
    assert stats.samples == 8000 and abs(stats.audio_seconds - 0.5) < 1e-9
    assert all(abs(e.azimuth[0] - 120.0) < 6 for e in est[1:]), [e.azimuth for e in est]
    wav, _ = _talker_wav(tmp_path, 300, "short.wav")
    assert main(["live", "--device", str(wav), "--geometry", "respeaker-usb-4mic"]) == 2
    out, err = capsys.readouterr()
    assert re.fullmatch(
        r"arraykit: error: --device='.*short\.wav': gave 300 samples \(0\.019 s\), fewer than "
        r"one STFT frame of 512 \(0\.032 s\): nothing to locate\n",
        err,
    ), err
    assert out == ""


def test_live_tells_why_no_direction_is_given_once(tmp_path, capsys):
    """New-user pass: a WAV whose channels are copies of one another printed "no
    directional source" block after block and never why (the check of the wiring was in
    LiveEstimate.no_source only). Now the reason goes to stderr once per kind (its
    numbers change every block), and stdout keeps one line per block."""
    from arraykit.io import read_audio, write_audio

    wav, _ = _talker_wav(tmp_path, 8000)
    y = read_audio(wav)[0]
    copies = write_audio(tmp_path / "copies.wav", np.repeat(y[:1], 4, axis=0), 16000)
    said = _no_direction_once(copies, capsys)
    assert said.startswith("arraykit live: no directional source on this grid: every channel")
    assert "Check the wiring and the channel map" in said


def _no_direction_once(path, capsys) -> str:
    """`live` on the 0.5 s WAV `path`: four blocks of "no directional source" on stdout,
    the reason once on stderr (returned) before the summary."""
    assert main(["live", "--device", str(path), "--geometry", "respeaker-usb-4mic"]) == 0
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 4 and all(s.endswith("s  no directional source") for s in lines)
    said = err.strip().splitlines()
    assert len(said) == 2 and said[1].startswith("4 blocks, 0.50 s"), err
    return said[0]


def test_live_names_a_dead_channel_once_and_one_channel_alone_gives_no_direction(tmp_path, capsys):
    """Fault injection: a WAV with channel 2 all zero gave `live` the right direction and
    never a word about the dead microphone (``arraykit doa`` names it); with one channel
    alone `live` blamed "noise, a diffuse field, or talkers who have stopped". Now the
    dead channel is named once on stderr, also when it dies during the run (its rows of
    the covariance are forgotten then, not left to decay), and one channel alone shows "no
    directional source" with its own reason once (a fixed count's NoSourceError is
    caught: no exit 2)."""
    from arraykit.io import read_audio, write_audio

    wav, _ = _talker_wav(tmp_path, 8000)
    y = read_audio(wav)[0]
    dead = y.copy()
    dead[2] = 0.0
    path = write_audio(tmp_path / "dead.wav", dead, 16000)
    assert main(["live", "--device", str(path), "--geometry", "respeaker-usb-4mic"]) == 0
    out, err = capsys.readouterr()
    az = [float(a) for a in re.findall(r"az +([\d.]+)°", out)]
    assert len(az) == 4 and all(abs(a - 120.0) < 8 for a in az[1:]), out
    said = err.strip().splitlines()
    assert len(said) == 2 and said[1].startswith("4 blocks, 0.50 s"), err
    assert said[0].startswith("arraykit live: warning: channel(s) 2 all zero"), err
    # a channel that dies during the run: its decaying past was never zero, never named
    dies = y.copy()
    dies[2, 3000:] = 0.0
    path = write_audio(tmp_path / "dies.wav", dies, 16000)
    assert main(["live", "--device", str(path), "--geometry", "respeaker-usb-4mic"]) == 0
    out, err = capsys.readouterr()
    said = err.strip().splitlines()
    assert len(said) == 2 and said[0].startswith("arraykit live: warning: channel(s) 2 all"), err
    lone = np.zeros_like(y)
    lone[1] = y[1]
    path = write_audio(tmp_path / "lone.wav", lone, 16000)
    said = _no_direction_once(path, capsys)
    assert said.startswith("arraykit live: one channel alone: only channel 1"), said


def test_live_names_a_second_channel_that_dies_later(tmp_path, capsys):
    """Fault injection: with channel 2 dying at 0.19 s and channel 3 at 0.44 s `live`
    named channel 2 and never channel 3 (the warning was told once per run, whatever
    died after it). Now each channel is named when it dies, the line listing every
    channel dead then; the direction stays the talker's (120 degrees)."""
    from arraykit.io import read_audio, write_audio

    wav, _ = _talker_wav(tmp_path, 12000)
    y = read_audio(wav)[0]
    y[2, 3000:] = 0.0
    y[3, 7000:] = 0.0
    path = write_audio(tmp_path / "two-die.wav", y, 16000)
    assert main(["live", "--device", str(path), "--geometry", "respeaker-usb-4mic"]) == 0
    out, err = capsys.readouterr()
    said = [s for s in err.strip().splitlines() if "all zero" in s]
    assert len(said) == 2, err
    assert said[0].startswith("arraykit live: warning: channel(s) 2 all zero"), err
    assert said[1].startswith("arraykit live: warning: channel(s) 2, 3 all zero"), err
    assert "located from the other 2" in said[1]
    az = [float(a) for a in re.findall(r"az +([\d.]+)°", out)]
    assert az and abs(az[0] - 120.0) < 8, out


def test_live_on_a_terminal_refreshes_lines_that_fit_and_scrolls_longer_ones(monkeypatch, capsys):
    """New-user pass: on a terminal every block was "\\r" + the line padded to 78 columns;
    three sources make a line of 99 characters, which wraps, and "\\r" then returns to
    the wrapped part only, so each refresh left a broken line behind. Now a line that fits
    the terminal refreshes in place (padded to its width) and a longer one scrolls."""
    import sys

    monkeypatch.setenv("COLUMNS", "80")
    sim = ["live", "--device", "sim:respeaker-6mic", "--seconds", "0.3"]
    for sources, refreshed in (("1", True), ("3", False)):
        monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
        assert main([*sim, "--sources", sources]) == 0
        out = capsys.readouterr().out
        if refreshed:
            parts = out.split("\r")[1:]
            assert len(parts) == 3 and all(len(p.rstrip("\n")) == 79 for p in parts), out
            assert out.endswith("\n") and out.count("\n") == 1
        else:
            lines = out.splitlines()
            assert "\r" not in out and len(lines) == 3 and all(len(s) > 80 for s in lines)


def test_live_lists_both_talkers_of_a_turn_taking_conversation(tmp_path):
    """Issue 13 item 4 for ``live``: A talks for 1 s from 40 degrees, then B for 1 s from
    200 degrees; each block's covariance (memory 0.25 s) hears one, and from B's turn on
    both are listed as talkers (A fades after about `talker_memory` seconds)."""
    from arraykit.doa.grids import angular_distance
    from arraykit.io import write_audio
    from arraykit.sim import Source, simulate, speech_like

    g = ak.load_geometry("respeaker-6mic")
    a, b, z = speech_like(1.0, 16000, seed=61), speech_like(1.0, 16000, seed=62), np.zeros(16000)
    srcs = [Source(np.r_[a, z], azimuth=40.0, distance=1.2),
            Source(np.r_[z, b], azimuth=200.0, distance=1.2)]  # fmt: skip
    x = simulate(g, srcs, 16000, rt60=0.3, snr_db=20, seed=4).signals[:, :32000]
    wav = write_audio(tmp_path / "turns.wav", x / np.abs(x).max() * 0.5, 16000)
    with ak.hardware.open(wav, geometry=g, blocksize=800) as dev:
        est = list(track(dev, block=0.1, memory=0.25))
    truth = np.array([[40.0, 0.0], [200.0, 0.0]])
    during_a = [e for e in est if 0.5 <= e.time <= 0.95]
    assert during_a and all(len(e.talkers) == 1 for e in during_a)
    assert all(angular_distance(e.talkers[0], truth[0]) < 8 for e in during_a)
    during_b = [e for e in est if e.time >= 1.6]
    assert during_b and all(abs(e.azimuth[0] - 200.0) < 8 for e in during_b)  # one per block
    for e in during_b:
        assert len(e.talkers) == 2, e.talkers
        assert np.all(angular_distance(e.talkers[:, None], truth[None]).min(axis=0) < 8)
