"""Where the shipped data folders (`geometries/`, `hardware/`) are.

In a built wheel they sit inside the package as ``arraykit/_data/<kind>`` (hatchling
force-includes them); in an editable install or a source checkout they are the
repository's top-level folders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

_PACKAGE = Path(__file__).resolve().parent


def data_dir(kind: Literal["geometries", "hardware"]) -> Path:
    """The folder holding the shipped `kind` files."""
    for candidate in (_PACKAGE / "_data" / kind, _PACKAGE.parent / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"arraykit's {kind!r} data folder is missing (looked in {_PACKAGE / '_data'} and "
        f"{_PACKAGE.parent}); reinstall arraykit"
    )
