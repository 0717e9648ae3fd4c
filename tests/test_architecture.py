"""The import graph of src/productkit: no cycles (function-level imports included), and the
runtime imports nothing from the build side."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "productkit"

# What only the build side may import: the runtime reads what `build` wrote, never the YAML.
BUILD_SIDE = ("loader", "model", "shape", "resolve", "assemble", "checks", "compile", "targets", "build",
              "cache", "sources", "context", "validate", "params", "expr", "forms", "refs",
              "scenarios", "simulate", "cli", "explain", "impact", "schema", "report", "docs", "lsp")


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str, modules: set[str], naive: bool = False) -> set[str]:
    """Every module ``path`` imports, at any depth of its syntax tree. ``naive``: ``from P import
    m`` also counts as importing the package ``P`` (as simple checkers count it)."""
    found: set[str] = set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            mod = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                found.add(sub if sub in modules else mod)
                if naive:
                    found.add(mod)
    return {m for m in found if m in modules and m != name}


def import_graph(naive: bool = False) -> nx.DiGraph:
    files = {_module(p): p for p in SRC.rglob("*.py")}
    graph = nx.DiGraph()
    for name, path in files.items():
        graph.add_node(name)
        graph.add_edges_from((name, target) for target in _imports(path, name, set(files), naive))
    return graph


@pytest.mark.parametrize("naive", [False, True], ids=["submodules", "packages-too"])
def test_the_import_graph_has_no_cycle(naive: bool) -> None:
    graph = import_graph(naive)
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert cycles == []
    assert graph.number_of_edges() > 100  # the walk really saw the package's imports


def test_the_runtime_imports_nothing_from_the_build_side() -> None:
    graph = import_graph()
    runtime = [m for m in graph if m == "productkit.runtime" or m.startswith("productkit.runtime.")]
    reached = set().union(*(nx.descendants(graph, m) for m in runtime)) - set(runtime)
    build_side = {m for m in reached if m.removeprefix("productkit.").split(".")[0] in BUILD_SIDE}
    assert build_side == set()
    assert "productkit.ir" in reached and "productkit.types" in reached  # what it does share
