"""Suite-wide set-up."""

from __future__ import annotations

import shutil
import subprocess

from arraykit.hardware._backend import half_written_jack_db


def pytest_sessionstart(session: object) -> None:
    """Remove a half-written JACK metadata database before the suite starts.

    The fault-injection tests kill JACK clients on purpose, so a run must not inherit such
    a database from an earlier run (every later ``import sounddevice`` would hang on it).
    Removed only when no jackd is running (a live server's database is kept).
    """
    db = half_written_jack_db()
    if db is None:
        return
    running = (
        shutil.which("pgrep")
        and subprocess.run(["pgrep", "-x", "jackd"], capture_output=True, check=False).returncode
        == 0
    )
    if not running:
        shutil.rmtree(db, ignore_errors=True)
