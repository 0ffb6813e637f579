"""Imports run one way, like the data (DESIGN.md): no module imports one above it.

Every ``import`` of an arraykit module anywhere in a file counts, lazy imports
inside functions included: the hardware layer knows nothing of DOA or
beamforming, and they know nothing of devices.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "arraykit"

# Level of each top-level module/package of arraykit; a module may import its own
# level's private helpers and anything below.
LEVELS = {
    "errors": 0,
    "_validate": 0,
    "_lru": 0,
    "_data": 0,
    "geometry": 1,
    "stft": 1,
    "io": 1,
    "steering": 2,
    "gcc": 2,
    "sim": 2,
    "metrics": 2,
    "datasets": 2,
    "doa": 3,
    "beamform": 3,
    "hardware": 3,
    "diagnostics": 4,
    "plot": 5,
    "live": 6,
    "campaign": 6,
    "cli": 7,
}
# Peers on one level that must not know each other.
APART = [{"doa", "beamform", "hardware"}]


def _unit(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imported_units(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "arraykit":
                names = [f"arraykit.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "arraykit" and len(parts) > 1:
                found.add(parts[1])
    return found


FILES = sorted(p for p in PACKAGE.rglob("*.py") if _unit(p) not in ("__init__", "__main__"))


def test_every_module_has_a_level() -> None:
    units = {_unit(p) for p in FILES}
    assert units <= set(LEVELS), (
        f"give these a level in tests/test_layers.py: {sorted(units - set(LEVELS))}"
    )


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(PACKAGE)) for p in FILES])
def test_no_module_imports_one_above_it(path: Path) -> None:
    me = _unit(path)
    if me not in LEVELS:
        pytest.skip(f"{me} has no level yet")
    tree = ast.parse(path.read_text(), filename=str(path))
    for other in _imported_units(tree):
        if other not in LEVELS or other == me:
            continue
        assert LEVELS[other] <= LEVELS[me], (
            f"{me} (level {LEVELS[me]}) imports {other} (level {LEVELS[other]})"
        )
        for group in APART:
            assert not {me, other} <= group, (
                f"{me} must not import {other}: they are separate layers"
            )
