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
    "_cache": 0,
    "_data": 0,
    "_clipping": 0,
    "_channels": 0,
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
    "frontend": 6,
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


# -- no import circle between modules --------------------------------------------------


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py"}


def _resolve(me: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = me.split(".") if is_package else me.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports_of(name: str, path: Path) -> set[str]:
    """arraykit modules `name` imports (lazy ones too; ``TYPE_CHECKING`` blocks not)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for b in node.body for n in ast.walk(b))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(name, path.name == "__init__.py", node)
            for a in node.names:
                sub = f"{base}.{a.name}"
                targets.append(sub if sub in MODULES else base)
        for t in targets:
            while t and t not in MODULES:  # a name inside a module
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _is_parent_edge(a: str, b: str) -> bool:
    """A package's ``__init__`` importing its own submodules is how a package is built;
    a submodule importing its package's ``__init__`` back still closes a circle."""
    return b.startswith(a + ".")


def test_no_import_circle_between_modules() -> None:
    graph = {
        name: {t for t in _imports_of(name, path) if not _is_parent_edge(name, t)}
        for name, path in MODULES.items()
    }
    assert _cycles(graph) == [], "modules importing each other (directly or round a loop)"
