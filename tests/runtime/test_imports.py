"""The runtime's imports: no cycle inside ``productkit.runtime`` (function-level imports too),
no edge to a package ``__init__`` even for a checker that reads ``from . import x`` naively,
and nothing from the build side."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

RUNTIME = Path(__file__).resolve().parents[2] / "src" / "productkit" / "runtime"
# Build-side modules (tests/test_architecture.py lists the same): the runtime reads the build.
BUILD_SIDE = {"loader", "model", "shape", "resolve", "assemble", "checks", "compile", "targets",
              "build", "cache", "sources", "context", "validate", "params", "values", "expr",
              "forms", "refs", "scenarios", "simulate", "cli", "explain", "impact", "schema",
              "report"}
# Modules other engineers are changing at the moment; their imports are theirs to settle.
ELSEWHERE = {"catalog", "_values", "_durations"}
MODULES = sorted(p.stem for p in RUNTIME.glob("*.py") if p.stem != "__init__")


def _imports(name: str) -> list[tuple[int, str | None, list[str]]]:
    """(level, module, names) of every import in the module, at any depth."""
    tree = ast.parse((RUNTIME / f"{name}.py").read_text(encoding="utf-8"))
    out: list[tuple[int, str | None, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            out.append((node.level, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(0, a.name, []) for a in node.names]
    return out


def _targets(name: str) -> set[str]:
    """The runtime modules ``name`` imports."""
    found = set()
    for level, module, names in _imports(name):
        if level == 1:
            found |= {module.split(".")[0]} if module else set(names)
    return found & set(MODULES)


@pytest.mark.parametrize("name", [m for m in MODULES if m not in ELSEWHERE])
def test_no_import_names_a_package(name: str) -> None:
    naive = [(level, names) for level, module, names in _imports(name) if level and not module]
    assert naive == []  # `from . import x` reads as an edge to the package __init__


@pytest.mark.parametrize("name", [m for m in MODULES if m not in ELSEWHERE])
def test_nothing_from_the_build_side(name: str) -> None:
    parents = {module.split(".")[0] for level, module, _ in _imports(name) if level == 2 and module}
    absolute = {module.split(".")[1] for level, module, _ in _imports(name)
                if level == 0 and module and module.startswith("productkit.")}
    assert (parents | absolute) & BUILD_SIDE == set()


def test_no_cycle_inside_the_runtime() -> None:
    graph = nx.DiGraph()
    graph.add_nodes_from(MODULES)
    graph.add_edges_from((m, t) for m in MODULES for t in _targets(m))
    assert list(nx.simple_cycles(graph)) == []
    assert graph.has_edge("core", "_machine") and graph.has_edge("engine", "core")
