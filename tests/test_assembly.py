"""What the graph of a valid case looks like: the orders, channels and conditions it settles.

The valid golden cases prove that no diagnostic is raised; these tests open their assemblies
and check the structure behind that silence.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from casekit import VALID, Case
from productkit import expr
from productkit._digraph import ancestors, has_path
from productkit.assemble import Assembly, write_channels
from productkit.types import Money
from productkit.validate import validate


def assembly(tmp_path: Path, case: str, product: str | None = None) -> Assembly:
    result = validate([Case(VALID / case).install(tmp_path)])
    assert result.diagnostics == []
    assert result.context is not None
    found = [a for key, a in result.context.assemblies.items() if product in (None, key[1])]
    assert len(found) == 1
    asm = found[0]
    assert isinstance(asm, Assembly)
    return asm


def test_independent_steps_stay_parallel(tmp_path: Path) -> None:
    g = assembly(tmp_path, "parallel_independent_steps").graph
    assert not has_path(g, "kyc", "aml") and not has_path(g, "aml", "kyc")
    assert {p for p in g.predecessors("open")} >= {"kyc", "aml"}


def test_a_consumer_under_its_producers_condition_follows_it(tmp_path: Path) -> None:
    asm = assembly(tmp_path, "conditional_producer_same_condition")
    assert asm.graph.has_edge("review", "offer")
    review, offer = asm.steps["review"].condition, asm.steps["offer"].condition
    assert review is not None and offer is not None and review.cel == offer.cel


def test_channel_specific_screens_write_the_same_path_on_disjoint_channels(tmp_path: Path) -> None:
    asm = assembly(tmp_path, "channel_specific_ui_same_path")
    writers = {c: [sid for sid, io in asm.steps.items()
                   if "applicant.name" in io.writes and c in write_channels(io, "applicant.name")]
               for c in asm.product.channels}
    assert writers == {"web": ["applicant-web"], "counter": ["applicant-counter"]}


def _cny(amount: str) -> Money:
    return Money(Decimal(amount), "CNY")


@pytest.mark.parametrize(("amount", "at_limit", "within"), [
    ("50000.00", True, True),
    ("50000.01", False, False),
    ("49999.99", False, True),
    ("50000", True, True),
])
def test_decimal_edges_are_exact(tmp_path: Path, amount: str, at_limit: bool, within: bool) -> None:
    asm = assembly(tmp_path, "decimal_edges")
    env = {**{n: p.value for n, p in asm.product.params.items()}, "deposit.amount": _cny(amount)}
    condition = asm.steps["at-limit"].condition
    assert condition is not None
    assert expr.evaluate(condition, env) is at_limit
    assert expr.evaluate(asm.conditions["derived:within_limit"], env) is within
    assert expr.evaluate(asm.conditions["rule:single-amount"], env) is True


def test_a_replaced_step_keeps_its_place(tmp_path: Path) -> None:
    asm = assembly(tmp_path, "inherited_step_replaced_in_place")
    assert asm.order == ["applicant", "open", "done"]
    assert asm.steps["open"].rs.origin.model.kind == "Product"


def test_declarations_by_ref_take_the_dictionary_type(tmp_path: Path) -> None:
    asm = assembly(tmp_path, "ref_only_declarations")
    assert asm.scope["deposit.rate"] == "percent"
    assert asm.steps["quote"].writes["deposit.rate"].type == "percent"


def test_an_end_without_condition_waits_for_the_steps_before_it(tmp_path: Path) -> None:
    asm = assembly(tmp_path, "inherited_step_replaced_in_place")
    assert ancestors(asm.graph, "done") >= {"applicant", "open"}


def test_a_screen_comes_after_the_step_whose_value_it_shows(tmp_path: Path) -> None:
    asm = assembly(tmp_path, "screen_shows_a_quote")
    assert asm.graph.has_edge("quote", "confirm")
    assert asm.order.index("quote") < asm.order.index("confirm")


def test_a_step_reached_only_by_an_error_route_follows_the_end_it_is_declared_after(tmp_path: Path) -> None:
    asm = assembly(tmp_path, "goto_only_step_after_end")
    assert asm.graph.has_edge("done", "review-declined")
    assert asm.graph.has_edge("kyc", "review-declined")


def test_asking_whether_an_assembly_is_known_does_not_build_it() -> None:
    from types import SimpleNamespace

    from productkit.assemble import Assemblies

    built: list[str] = []

    def make(entry: object) -> Assembly:
        built.append(str(entry))
        raise AssertionError("an assembly was built")

    assemblies = Assemblies(make)
    entry: object = SimpleNamespace(key=("Product", "p", "1.0.0"))
    assemblies.add(entry)  # type: ignore[arg-type]
    assert ("Product", "p", "1.0.0") in assemblies
    assert ("Product", "q", "1.0.0") not in assemblies
    assert built == []
    with pytest.raises(AssertionError):
        assemblies[("Product", "p", "1.0.0")]
    assert len(built) == 1
