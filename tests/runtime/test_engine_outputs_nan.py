"""A handler's answer that cannot be stored fails its step like any other bad output (the attempt
answered; the step fails with ``output ...``), wherever the bad value sits: under a declared output
or under a key its step does not declare, which the engine keeps for the step's compensation."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import pytest

from productkit import ir
from productkit.runtime import Handlers

from .buildfixture import definition, service
from .conftest import MakeEngine


def _product(compensated: bool = True) -> ir.WorkflowDefinition:
    undo = ir.Compensation(handler="h.unbook") if compensated else None
    steps = [service("book", "h.book", outputs={"ref": "book.ref"}, timeout="PT5S", compensation=undo)]
    defn = definition("p.nan", "1.0.0", steps)
    return defn.model_copy(update={"data": {**defn.data, "book.ref": ir.FieldDef(type="string")}})


def _handlers(answer: Mapping[str, object], inline: bool) -> Handlers:
    handlers = Handlers()
    handlers.add("h.book", lambda call: dict(answer), inline=inline)
    handlers.add("h.unbook", lambda call: None, inline=inline)
    return handlers


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), Decimal("NaN"), [1, {"x": float("-inf")}]])
@pytest.mark.parametrize("inline", [True, False])
def test_an_undeclared_output_that_cannot_be_stored_fails_the_step(
        make_engine: MakeEngine, bad: object, inline: bool) -> None:
    engine = make_engine([_product()], _handlers({"ref": "R1", "extra": bad}, inline))
    app = engine.start("p.nan", "web", {})  # no ValueError from the store's codec
    assert app.outcome == "failed"
    assert app.reason is not None and "'extra'" in app.reason and "not a finite number" in app.reason
    [record] = engine.steps(app.id)
    assert (record.status, [a.result for a in record.attempts]) == ("failed", ["ok"])
    assert "book.ref" not in app.data
    assert engine.get(app.id) == app


@pytest.mark.parametrize("inline", [True, False])
def test_it_fails_the_same_as_a_bad_declared_output(make_engine: MakeEngine, inline: bool) -> None:
    def ended(answer: Mapping[str, object]) -> tuple[object, ...]:
        engine = make_engine([_product()], _handlers(answer, inline))
        app = engine.start("p.nan", "web", {})
        [record] = engine.steps(app.id)
        return app.outcome, app.status, record.status, [a.result for a in record.attempts]

    assert ended({"ref": "R1", "extra": float("nan")}) == ended({"ref": float("nan")})


def test_a_storable_undeclared_output_is_kept_for_the_compensation(make_engine: MakeEngine) -> None:
    engine = make_engine([_product()], _handlers({"ref": "R1", "extra": 1.5}, True))
    app = engine.start("p.nan", "web", {})
    assert app.outcome == "completed" and app.data["book.ref"] == "R1"


def test_without_a_compensation_undeclared_outputs_are_not_kept(make_engine: MakeEngine) -> None:
    engine = make_engine([_product(compensated=False)], _handlers({"ref": "R1", "extra": float("nan")}, True))
    app = engine.start("p.nan", "web", {})
    assert app.outcome == "completed" and app.data["book.ref"] == "R1"
