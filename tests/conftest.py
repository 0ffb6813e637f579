"""Suite-wide set-up."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def pytest_sessionstart(session: object) -> None:
    """Remove a half-written JACK metadata database before the suite starts.

    A JACK client killed while it creates ``/dev/shm/jack_db-<uid>`` leaves an empty
    ``__db.001``; every JACK client after it (PortAudio's initialisation included, so
    every ``import sounddevice``) then waits on it for ever. The fault-injection tests
    kill JACK clients on purpose, so a run must not inherit one from an earlier run.
    Removed only when empty and no jackd is running (a live server's database is kept).
    """
    db = Path("/dev/shm") / f"jack_db-{os.getuid()}"
    first = db / "__db.001"
    if not (first.is_file() and first.stat().st_size == 0):
        return
    running = (
        shutil.which("pgrep")
        and subprocess.run(["pgrep", "-x", "jackd"], capture_output=True, check=False).returncode
        == 0
    )
    if not running:
        shutil.rmtree(db, ignore_errors=True)
