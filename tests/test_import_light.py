"""`import arraykit` stays light: the heavy default dependencies load only when used."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("matplotlib", "pyroomacoustics", "sounddevice", "usb")


def test_import_arraykit_loads_no_plotting_simulation_or_device_package() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import arraykit"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    # each stderr line: "import time: self [us] | cumulative | imported package"
    loaded = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "arraykit" in loaded
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert not heavy, f"import arraykit loads {heavy}"
