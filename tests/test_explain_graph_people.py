"""``explain`` and ``graph`` for people, on the repo catalogue: the graph is the transitive
reduction (same orders, fewest edges) with error routes, compensations and channels; explain
takes a product line and a --channel."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from typer.testing import CliRunner

from productkit.assemble import START
from productkit.cli import app
from productkit.explain import explain_channel_text, graph_source, line_text, reduced_edges
from productkit.options import Options
from productkit.validate import validate
from productkit.versions import parse_ref

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def result() -> Any:
    found = validate([ROOT], Options())
    assert found.context is not None
    return found


def _asm(result: Any, key: str) -> Any:
    pid, version = key.split("@")
    return result.context.assemblies[("Product", pid, version)]


def _orders(graph: nx.DiGraph) -> set[tuple[str, str]]:
    return set(nx.transitive_closure_dag(graph).edges())


def test_the_reduction_keeps_every_order_with_the_fewest_edges(result: Any) -> None:
    for key, asm in result.context.assemblies.items():
        if key[0] != "Product":
            continue
        full = nx.DiGraph(asm.graph.to_networkx().subgraph([n for n in asm.graph if n != START]))
        reduced = nx.DiGraph(reduced_edges(asm))
        reduced.add_nodes_from(full)
        assert _orders(reduced) == _orders(full), key
        for a, b in reduced.edges():  # no edge is implied by a longer path
            assert not nx.has_path(nx.restricted_view(reduced, [], [(a, b)]), a, b), (key, a, b)


def test_a_24_step_product_draws_about_one_edge_per_step(result: Any) -> None:
    asm = _asm(result, "card.travel-platinum@1.0.0")
    steps = len(asm.order)
    assert steps >= 24
    assert len(asm.graph.edges()) > 2 * steps  # what the unreduced graph drew
    assert len(reduced_edges(asm)) <= steps + 5


def test_graph_shows_error_routes_compensations_and_channels(result: Any) -> None:
    out = graph_source(_asm(result, "card.travel-platinum@1.0.0"), "mermaid")
    assert '  s_aml -.->|"aml.sanctions-hit"| o_rejected\n' in out
    assert '  o_rejected(("rejected"))\n' in out
    assert '  cs_issue[/"undo: card.account.cancel"/]\n' in out and "  s_issue -.- cs_issue\n" in out
    assert re.search(r'  s_id_hscan\["id-scan<br/>when [^"]*<br/>on counter"\]\n', out)


def test_graph_of_one_channel_keeps_the_orders_through_steps_left_out(result: Any) -> None:
    asm = _asm(result, "card.travel-platinum@1.0.0")
    out = graph_source(asm, "mermaid", "mobile")
    assert "s_id_hscan" not in out and "s_face" in out
    mobile = nx.DiGraph(reduced_edges(asm, "mobile"))
    full = nx.transitive_closure_dag(nx.DiGraph(asm.graph.to_networkx().subgraph([n for n in asm.graph if n != START])))
    assert _orders(mobile) == {(a, b) for a, b in full.edges() if a in mobile and b in mobile}


def test_explain_of_a_channel_lists_its_steps_screens_and_conditions(result: Any) -> None:
    out = explain_channel_text(_asm(result, "card.travel-platinum@1.0.0"), "counter")
    steps = re.findall(r"^ +\d+\. (\S+)", out, re.M)
    assert "id-scan" in steps and "chip-verify" in steps and "face" not in steps and "push" not in steps
    assert re.search(r"^not on counter: .*face \(on mobile, mini-program\)", out, re.M)
    screens = re.findall(r"^  (\S+): .* / ", out.split("screens on counter, in order:")[1], re.M)
    assert screens == ["id-scan", "employment", "card-options", "credit-consent", "terms", "sign", "result"]
    assert "eligibility age-band: applicant.age ≥ eligible_min_age and applicant.age ≤ eligible_max_age" in out
    assert "        on aml.sanctions-hit: ends rejected" in out


def test_explain_of_a_line_shows_its_parameters_steps_and_members(result: Any) -> None:
    out = line_text(result.context, result.catalog, parse_ref("deposit.time"))
    assert out is not None and out.startswith("ProductLine deposit.time 1.0.0: ")
    assert "  term_months = (set by each product)" in out
    assert out.rstrip().endswith("members: deposit.time-1y@1.0.0, deposit.time-3m@1.0.0, deposit.time-3y@1.0.0")
    assert line_text(result.context, result.catalog, parse_ref("deposit.nothing")) is None


def test_cli_explain_line_channel_and_family() -> None:
    runner = CliRunner()
    line = runner.invoke(app, ["explain", "deposit.time", str(ROOT)])
    assert line.exit_code == 0 and "members: deposit.time-1y@1.0.0" in line.stdout
    family = runner.invoke(app, ["explain", "deposit.large-cd", str(ROOT)])
    assert family.exit_code == 2
    assert "products whose id starts with it: deposit.large-cd-2026-01, deposit.large-cd-2026-02" in family.stderr
    wrong = runner.invoke(app, ["graph", "card.travel-platinum", str(ROOT), "--channel", "open-api"])
    assert wrong.exit_code == 2 and "is on mobile, mini-program, counter" in wrong.stderr
