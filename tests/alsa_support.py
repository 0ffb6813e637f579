"""Helpers for capture tests without a sound card: ALSA ``file`` devices and a JACK dummy server.

sounddevice initialises PortAudio when it is imported, and PortAudio reads the ALSA
configuration (``$HOME/.asoundrc``) and looks for a JACK server then, so every
scenario runs in a fresh Python subprocess with its own HOME (and its own JACK
server name): robust and isolated from the test process and from each other.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def require_portaudio() -> None:
    """Skip (naming the package) only when the PortAudio library is truly missing."""
    if ctypes.util.find_library("portaudio") is None:
        pytest.skip("PortAudio is not installed: apt-get install libportaudio2")


def require_jackd() -> None:
    require_portaudio()
    if shutil.which("jackd") is None:
        pytest.skip("the JACK server is not installed: apt-get install jackd2")


def write_raw(path: Path, frames: np.ndarray) -> Path:
    """Write ``(N, C)`` int16 frames as the interleaved raw file ALSA's file plugin replays."""
    np.ascontiguousarray(frames, dtype="<i2").tofile(path)
    return path


def asound_home(tmp: Path, devices: dict[str, Path]) -> Path:
    """A HOME whose ``.asoundrc`` declares one capture device per name, replaying a raw file."""
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    lines = ["pcm.arraykit_null { type null }"]
    for name, raw in devices.items():
        lines.append(
            f'pcm.{name} {{ type file; slave.pcm "arraykit_null"; file "/dev/null"; '
            f'infile "{raw}"; format "raw" }}'
        )
    (home / ".asoundrc").write_text("\n".join(lines) + "\n")
    return home


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["HOME"] = str(home)
    env["PYTHONPATH"] = str(REPO)
    env.pop("JACK_DEFAULT_SERVER", None)
    env.update(extra)
    return env


def run_py(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run Python `code` in a subprocess; fail the test with its output if it fails."""
    r = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert r.returncode == 0, f"subprocess failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r


def cli(
    args: list[str],
    env: dict[str, str],
    timeout: float = 60,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess:
    """Run ``python -m arraykit ARGS`` in a subprocess (`preexec_fn` runs in it first)."""
    return subprocess.run(
        [sys.executable, "-m", "arraykit", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


@contextlib.contextmanager
def jack_server(
    tmp: Path, *, rate: int = 16000, period: int = 256, channels: int = 6
) -> Iterator[dict[str, str]]:
    """A JACK ``dummy`` server (real-time paced, silent), under a test server name.

    Yields the environment a client needs (HOME without ALSA devices, the server name).
    """
    require_jackd()
    home = tmp / "jack-home"
    home.mkdir(exist_ok=True)
    proc, env = None, {}
    # A few fixed server names, not fresh ones: JACK keeps at most 8 servers in its
    # shared-memory registry and reclaims an entry whose server died (the vanishing-
    # server test kills one) only when a server of the same name starts again.
    for slot in range(4):
        name = f"arraykit-test-{slot}"
        env = env_for(home, JACK_DEFAULT_SERVER=name, JACK_NO_AUDIO_RESERVATION="1")
        proc = _start_jackd(tmp, name, env, rate, period, channels)
        if proc is not None:
            break
    if proc is None:
        pytest.fail(
            "no JACK dummy server could start (names arraykit-test-0..3 in use, or the "
            "registry full of dead servers: with no jackd running, rm /dev/shm/jack*): "
            + (tmp / "jackd.log").read_text()
        )
    try:
        time.sleep(0.3)
        env["ARRAYKIT_JACKD_PID"] = str(proc.pid)
        yield env
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _start_jackd(
    tmp: Path, name: str, env: dict[str, str], rate: int, period: int, channels: int
) -> subprocess.Popen | None:
    """jackd ``dummy`` under `name`, once it serves; None if it exits (name in use)."""
    cmd = ["jackd", "-n", name, "--no-realtime", "-d", "dummy"]
    cmd += ["-r", str(rate), "-p", str(period), "-C", str(channels), "-P", "2"]
    started = time.time()
    with open(tmp / "jackd.log", "w") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    socket = Path("/dev/shm") / f"jack_{name}_{os.getuid()}_0"  # the server's, made anew
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        try:
            if socket.stat().st_mtime >= started - 1e-3:  # not a dead server's
                return proc
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    pytest.fail(f"jackd did not come up in 10 s: {(tmp / 'jackd.log').read_text()}")
