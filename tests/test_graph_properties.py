"""Property tests of the product graph on generated assemblies.

Hypothesis draws a DAG: N process components, each writing ``d<i>.out`` and reading the outputs
of some earlier ones, plus some explicit ``after`` edges; a product uses them all in a random
declared order. The model graph drawn here is the oracle:

* as drawn, validation reports no error at all, and the assembled order respects every edge;
* with one ``after`` edge added from a descendant back to an ancestor, exactly one PK401 is
  reported, and its related locations (one per edge, in cycle order) walk a cycle of the model
  graph through that edge: the path the drawing allows, exactly, when it allows only one;
* with the one step that writes a path removed, every step reading it, and no other, gets a
  PK402 located at its ``use`` and naming the path.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from productkit.diagnostics import Diagnostic, Location, Severity
from productkit.validate import ValidationResult, validate

SETTINGS = settings(max_examples=40, deadline=None)


@dataclass
class Drawn:
    n: int
    reads: dict[int, list[int]]  # node -> the nodes whose outputs it reads
    after: dict[int, list[int]]  # node -> nodes it is declared after
    declared: list[int]  # declaration order of the steps
    removed: set[int] = field(default_factory=set)

    def graph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        g.add_nodes_from(range(self.n))
        for i in range(self.n):
            g.add_edges_from((j, i) for j in self.reads[i] + self.after[i])
        return g

    def steps(self) -> list[int]:
        return [i for i in self.declared if i not in self.removed]


@st.composite
def dags(draw: st.DrawFn) -> Drawn:
    n = draw(st.integers(2, 7))
    reads: dict[int, list[int]] = {0: []}
    after: dict[int, list[int]] = {0: []}
    for i in range(1, n):
        earlier = list(range(i))
        reads[i] = sorted(set(draw(st.lists(st.sampled_from(earlier), max_size=3))) | ({0} if i == 1 else set()))
        after[i] = sorted(set(draw(st.lists(st.sampled_from(earlier), max_size=1))) - set(reads[i]))
    declared = draw(st.permutations(range(n)))
    return Drawn(n, reads, after, list(declared))


def _component(i: int, reads: list[int]) -> str:
    inputs = "".join(f"  d{j}.out: {{type: integer}}\n" for j in reads)
    return (f"apiVersion: productkit/v1\nkind: ProcessComponent\nid: demo.c{i}\nversion: 1.0.0\n"
            f"title: {{zh-CN: 组件{i}, en: Component {i}}}\nhandler: demo.c{i}\n"
            + (f"inputs:\n{inputs}" if inputs else "")
            + f"outputs:\n  d{i}.out: {{type: integer}}\n")


def _product(drawn: Drawn) -> str:
    lines = ["apiVersion: productkit/v1", "kind: Product", "id: demo.generated", "version: 1.0.0",
             "name: {zh-CN: 生成, en: Generated}", "channels: [web]", "steps:"]
    for i in drawn.steps():
        lines += [f"  - id: s{i}", f"    use: demo.c{i}@^1"]
        after = [j for j in drawn.after[i] if j not in drawn.removed]
        if after:
            lines.append("    after: [" + ", ".join(f"s{j}" for j in after) + "]")
    return "\n".join(lines) + "\n"


def _validate(drawn: Drawn) -> tuple[ValidationResult, Path]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "components").mkdir()
        (root / "products").mkdir()
        for i in range(drawn.n):
            (root / "components" / f"c{i}.yaml").write_text(_component(i, drawn.reads[i]), encoding="utf-8")
        (root / "products" / "generated.yaml").write_text(_product(drawn), encoding="utf-8")
        return validate([root]), root


def _step_at(drawn: Drawn, loc: Location) -> int:
    """The node whose step a location in the product lies in (path: steps, index, ...)."""
    assert loc.path[0] == "steps" and loc.file.endswith("generated.yaml"), loc
    index = loc.path[1]
    assert isinstance(index, int)
    return drawn.steps()[index]


def _errors(result: ValidationResult, code: str | None = None) -> list[Diagnostic]:
    return [d for d in result.diagnostics if d.severity is Severity.ERROR and code in (None, d.code)]


@SETTINGS
@given(dags())
def test_an_acyclic_assembly_is_clean_and_ordered(drawn: Drawn) -> None:
    result, _ = _validate(drawn)
    assert _errors(result) == []
    assert {d.code for d in result.diagnostics} <= {"PK408"}  # outputs nobody reads: warnings
    assert result.context is not None
    (asm,) = result.context.assemblies.values()
    position = {sid: k for k, sid in enumerate(asm.order)}
    for a, b in drawn.graph().edges:
        assert position[f"s{a}"] < position[f"s{b}"], f"s{a} must come before s{b}"


@SETTINGS
@given(dags(), st.data())
def test_a_back_edge_is_one_cycle_through_it(drawn: Drawn, data: st.DataObject) -> None:
    g = drawn.graph()
    pairs = sorted((a, d) for a in g for d in nx.descendants(g, a))
    ancestor, descendant = data.draw(st.sampled_from(pairs))
    drawn.after[ancestor] = [*drawn.after[ancestor], descendant]
    result, _ = _validate(drawn)
    (cycle,) = _errors(result, "PK401")
    assert {d.code for d in _errors(result)} == {"PK401"}
    walk = [_step_at(drawn, r.location) for r in cycle.related]  # each edge's target, in order
    assert len(walk) == len(set(walk)) >= 2
    edges = set(g.edges) | {(descendant, ancestor)}
    assert all((walk[k - 1], walk[k]) in edges for k in range(len(walk))), walk
    assert (descendant, ancestor) in {(walk[k - 1], walk[k]) for k in range(len(walk))}
    assert _step_at(drawn, cycle.location) == walk[-1], "located at the cycle's first step"
    paths = list(nx.all_simple_paths(g, ancestor, descendant))
    if len(paths) == 1:
        assert set(walk) == set(paths[0])


@SETTINGS
@given(dags(), st.data())
def test_a_missing_producer_is_reported_at_each_consumer(drawn: Drawn, data: st.DataObject) -> None:
    produced = sorted({j for i in range(drawn.n) for j in drawn.reads[i]})
    gone = data.draw(st.sampled_from(produced))
    drawn.removed.add(gone)
    result, _ = _validate(drawn)
    missing = _errors(result, "PK402")
    assert {d.code for d in _errors(result)} == {"PK402"}
    consumers = {i for i in range(drawn.n) if gone in drawn.reads[i]}
    assert {_step_at(drawn, d.location) for d in missing} == consumers
    assert len(missing) == len(consumers)
    for d in missing:
        assert d.location.path[2:] == ("use",)
        assert f"d{gone}.out" in d.message


@st.composite
def after_graphs(draw: st.DrawFn) -> Drawn:
    """Any ``after`` graph, cycles of every length and self-loops included; no data edges."""
    n = draw(st.integers(1, 7))
    after = {i: sorted(set(draw(st.lists(st.integers(0, n - 1), max_size=3)))) for i in range(n)}
    declared = draw(st.permutations(range(n)))
    return Drawn(n, {i: [] for i in range(n)}, after, list(declared))


@settings(max_examples=150, deadline=None)
@given(after_graphs())
def test_pk401_agrees_with_networkx_on_any_after_graph(drawn: Drawn) -> None:
    """One PK401 per cycle group (a strongly connected set of steps, or a step after itself), as
    networkx finds them, and none on an acyclic graph; each names steps of its group."""
    g = drawn.graph()
    groups = [c for c in nx.strongly_connected_components(g) if len(c) > 1 or g.has_edge(*[next(iter(c))] * 2)]
    result, _ = _validate(drawn)
    cycles = _errors(result, "PK401")
    assert len(cycles) == len(groups), ([d.message for d in cycles], list(nx.simple_cycles(g)))
    assert (not cycles) == nx.is_directed_acyclic_graph(g)
    for d in cycles:
        assert any(_step_at(drawn, d.location) in c for c in groups)
