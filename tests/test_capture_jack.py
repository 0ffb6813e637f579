"""Real-time pacing through real PortAudio on a JACK ``dummy`` server (16 kHz, 6 channels).

A deliberately slow consumer must produce counted, time-stamped overflows; an
interrupted recording (SIGINT) and a server that vanishes mid-stream must leave a
valid WAV holding every frame captured.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import soundfile as sf
from alsa_support import REPO, jack_server, run_py

SLOW = r"""
import json, time, warnings, numpy as np, arraykit as ak
hw = ak.hardware
out = {}
with hw.open("system", blocksize=256, queue_blocks=4) as d:
    out["fs"], out["channels"], out["profile"] = d.fs, d.channels, d.profile.name
    n = 0
    for block in d.blocks():          # 50 ms of work per 16 ms block
        time.sleep(0.05)
        n += 1
        if n == 12:
            break
    out["queue"] = [[o.time, o.frame, o.frames, o.source] for o in d.overflows]
    out["captured"] = d.frames_captured
    out["report"] = d.loss_report()

with hw.open("system", blocksize=256, queue_blocks=4) as d:
    d.start()
    time.sleep(0.4)                   # nobody reads: the queue fills, blocks are dropped
    try:
        d.record(0.5)
    except hw.FramesLostError as e:
        out["raised"] = [str(e), len(e.overflows), list(e.signals.shape)]
    time.sleep(0.4)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        d.record(0.5, on_loss="warn")
        out["warned"] = [str(x.category.__name__) for x in w]

calls = []
def slow_callback(block, first):  # streaming by callback, slower than real time
    calls.append((first, block.shape))
    time.sleep(0.03)
with hw.open("system", blocksize=256, queue_blocks=4, callback=slow_callback) as d:
    time.sleep(0.6)
out["cb"] = [[o.source, o.frames] for o in d.overflows]
out["cb_calls"] = [[f, list(s)] for f, s in calls[:2]]
out["cb_total"] = len(calls)
out["cb_captured"] = d.frames_captured

# Starve PortAudio's thread: the main thread keeps the GIL for up to 1 s at a time,
# so the stream callback cannot run and JACK reports overruns (input overflow flags).
import sys
with hw.open("system", blocksize=256, queue_blocks=1000) as d:
    time.sleep(0.2)
    sys.setswitchinterval(0.5)
    t = time.monotonic()
    while time.monotonic() - t < 1.0:
        pass
    sys.setswitchinterval(0.005)
    time.sleep(0.2)
out["pa"] = [o.source for o in d.overflows]
print(json.dumps(out))
"""


def test_slow_consumer_overflows_are_counted_with_times(tmp_path):
    with jack_server(tmp_path) as env:
        r = run_py(SLOW, env, timeout=60)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert (out["fs"], out["channels"], out["profile"]) == (16000, 6, "generic-uac")
    q = out["queue"]
    assert len(q) >= 10, out
    assert all(src == "queue" and frames == 256 and frame % 256 == 0 for _, frame, frames, src in q)
    times = [t for t, *_ in q]
    assert times == sorted(times) and 0 < times[0] < times[-1] < 2.0
    assert abs(times[0] - q[0][1] / 16000) < 1e-9
    assert f"{len(q)} queue overflow(s) dropping {256 * len(q)} frames" in out["report"]
    msg, n_events, shape = out["raised"]
    assert "frames lost while recording 0.5 s" in msg and n_events >= 1 and shape == [6, 8000]
    assert "FrameLossWarning" in out["warned"]
    assert out["cb"] and {src for src, _ in out["cb"]} == {"queue"}
    assert all(frames == 256 for _, frames in out["cb"])
    assert out["cb_calls"] == [[0, [6, 256]], [256, [6, 256]]]
    # every block was either delivered to the callback or counted as dropped
    assert 256 * (out["cb_total"] + len(out["cb"])) == out["cb_captured"]
    assert "portaudio" in out["pa"], out["pa"]


def _frames_reported(stderr: str) -> tuple[int, int]:
    m = re.search(r"recorded (\d+) frames .* captured (\d+) frames", stderr)
    assert m, stderr
    return int(m.group(1)), int(m.group(2))


def _recording(wav, env) -> subprocess.Popen:
    """``arraykit record`` of 30 s into `wav`, returned once the file holds 4096 frames."""
    cmd = ["record", "--device", "system", "--seconds", "30", str(wav)]
    p = subprocess.Popen(
        [sys.executable, "-m", "arraykit", *cmd],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell's background job ignores SIGINT, and a child would inherit that
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 20
    while not (wav.exists() and wav.stat().st_size > 44 + 6 * 2 * 4096):
        assert time.monotonic() < deadline and p.poll() is None, p.communicate()
        time.sleep(0.05)
    return p


def _stderr_at_exit(p: subprocess.Popen, timeout: float) -> str:
    """The recorder's stderr once it exits; kill it and fail if it hangs."""
    try:
        return p.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        pytest.fail(f"arraykit record did not exit within {timeout} s; stderr:\n{err}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_recording_keeps_every_captured_frame(tmp_path, sig):
    wav = tmp_path / "interrupted.wav"
    with jack_server(tmp_path) as env:
        p = _recording(wav, env)
        time.sleep(0.3)
        p.send_signal(sig)
        err = _stderr_at_exit(p, 20)
    assert p.returncode == 130, err
    written, captured = _frames_reported(err)
    info = sf.info(wav)
    assert (info.samplerate, info.channels, info.subtype) == (16000, 6, "PCM_16")
    assert info.frames == written == captured  # every frame captured is in the file
    assert 4096 < written < 16000 * 20
    assert "no frames lost" in err


def test_server_vanishing_mid_stream_stops_cleanly_and_keeps_the_file(tmp_path):
    wav = tmp_path / "unplugged.wav"
    with jack_server(tmp_path) as env:
        p = _recording(wav, env)
        os.kill(int(env["ARRAYKIT_JACKD_PID"]), signal.SIGKILL)  # the "device" is gone
        err = _stderr_at_exit(p, 30)
    assert p.returncode == 2, err
    assert "was the device unplugged?" in err and "the file keeps what was recorded" in err
    written, captured = _frames_reported(err)
    assert sf.info(wav).frames == written == captured > 4096
