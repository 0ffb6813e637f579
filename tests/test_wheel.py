"""The built wheel carries geometries/ and hardware/ and works away from the checkout.

Builds the wheel with hatchling (no network), installs it into a fresh folder, and
runs the geometry tests in a subprocess whose import path holds only that folder
(plus the environment's third-party packages), from a directory outside the
repository: a missing force-include would fail here, not on a user's machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds the wheel and runs tests against it

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("hatchling", reason="building the wheel needs hatchling (the dev extra)")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("arraykit-*.whl")
    site = out / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-compile",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return site


def test_wheel_contains_the_data_folders(installed_wheel: Path) -> None:
    (wheel,) = installed_wheel.parent.glob("arraykit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for geometry in (REPO / "geometries").glob("*.toml"):
        assert f"arraykit/_data/geometries/{geometry.name}" in names
    for profile in (REPO / "hardware").iterdir():
        if profile.is_file():
            assert f"arraykit/_data/hardware/{profile.name}" in names
    assert "arraykit/py.typed" in names


def test_geometry_and_profile_tests_pass_against_the_installed_wheel(
    installed_wheel: Path, tmp_path: Path
) -> None:
    for name in ("test_geometry.py", "test_geometry_files.py", "test_hardware_profiles.py"):
        shutil.copy(REPO / "tests" / name, tmp_path / name)
    env = {**os.environ, "PYTHONPATH": str(installed_wheel)}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import arraykit, arraykit._data as d; print(arraykit.__file__); print(d.data_dir('geometries'))",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    module_file, data = probe.stdout.split()
    assert Path(module_file).is_relative_to(installed_wheel), module_file
    assert Path(data) == installed_wheel / "arraykit" / "_data" / "geometries"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            os.devnull,
            "-W",
            "error",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
