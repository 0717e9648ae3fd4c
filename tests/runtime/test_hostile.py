"""Bad input at the engine's doors is refused with the documented exceptions and a field path,
never a raw Python error, and never leaves an application unreadable."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from productkit import ir
from productkit.runtime import (
    Catalog,
    CorruptApplication,
    Engine,
    HandlerMissing,
    Handlers,
    InvalidArgument,
    InvalidContext,
    InvalidState,
    SQLiteStore,
)

from .buildfixture import definition, field, service, user
from .conftest import FakeClock, MakeBuild
from .products import APPLY, LOAN_HANDLERS, START, Recorder, loan, loan_recorder

SURROGATE = "Li \ud800 Lei"
HUGE = 10**5000


@pytest.fixture
def engine(make_build: MakeBuild, tmp_path: Path, clock: FakeClock) -> Engine:
    """The loan product on SQLite: what it stores must encode as UTF-8 JSON."""
    return Engine(Catalog.load(make_build([loan(), _listed()])), handlers=loan_recorder().handlers,
                  store=SQLiteStore(tmp_path / "apps.db"), clock=clock, sleep=clock.sleep)


def _listed() -> ir.WorkflowDefinition:
    """A product whose context has a list without declared items, and a free-text screen."""
    return definition("p.listed", "1.0.0", [user("note", {"note.text": field("string")})],
                      context={"tags": field("list", required=False)})


def _codes(errors: object) -> set[tuple[str, str]]:
    return {(e.path, e.code) for e in errors}  # type: ignore[attr-defined]


@pytest.mark.parametrize(("loan_data", "expected"), [
    ({"amount": float("nan"), "term_months": 12}, {("loan.amount", "type")}),
    ({"amount": float("inf"), "term_months": 12}, {("loan.amount", "type")}),
    ({"amount": Decimal("NaN"), "term_months": 12}, {("loan.amount", "type")}),
    ({"amount": Decimal("sNaN"), "term_months": 12}, {("loan.amount", "type")}),
    ({"amount": {"amount": float("-inf"), "currency": "CNY"}, "term_months": 12}, {("loan.amount", "type")}),
    ({"amount": "20000.00", "term_months": float("nan")}, {("loan.term_months", "type")}),
    ({"amount": "20000.00", "term_months": float("inf")}, {("loan.term_months", "type")}),
    ({"amount": "20000.00", "term_months": HUGE}, {("loan.term_months", "type")}),
    ({"amount": HUGE, "term_months": 12}, {("loan.amount", "type")}),
    ({"amount": Decimal("1E+999999"), "term_months": 12}, {("loan.amount", "type")}),
    ({"amount": "20000.00", "term_months": 12, "purpose": SURROGATE}, {("loan.purpose", "type")}),
    ({"amount": "20000.00", "term_months": [[[12]]]}, {("loan.term_months", "type")}),
])
def test_hostile_values_are_field_errors(engine: Engine, loan_data: dict[str, object],
                                         expected: set[tuple[str, str]]) -> None:
    app = engine.start("loan.personal", "mobile", START)
    before = (engine.store.get(app.id), engine.audit(app.id), engine.steps(app.id))
    refused = engine.submit(app.id, "apply", {"loan": loan_data})
    assert _codes(refused.errors) == expected
    assert (engine.store.get(app.id), engine.audit(app.id), engine.steps(app.id)) == before
    assert engine.submit(app.id, "apply", APPLY).outcome == "completed"


@pytest.mark.parametrize("payload", [None, [], ["loan"], "loan", 12])
def test_a_submission_that_is_not_an_object(engine: Engine, payload: object) -> None:
    app = engine.start("loan.personal", "mobile", START)
    refused = engine.submit(app.id, "apply", payload)  # type: ignore[arg-type]
    [error] = refused.errors
    assert (error.path, error.code) == ("", "type") and "object of fields" in error.message
    assert engine.get(app.id).status == "awaiting_input"


def test_a_submission_nested_without_end(engine: Engine) -> None:
    app = engine.start("loan.personal", "mobile", START)
    deep: dict[str, object] = {}
    node = deep
    for _ in range(5000):
        node["x"] = node = {}
    assert _codes(engine.submit(app.id, "apply", deep).errors) == {("", "type")}


@pytest.mark.parametrize(("context", "expected"), [
    (None, {("", "type")}),
    ([START], {("", "type")}),
    ({"applicant": {"age": float("nan"), "name": "Li"}}, {("applicant.age", "type")}),
    ({"applicant": {"age": HUGE, "name": "Li"}}, {("applicant.age", "type")}),
    ({"applicant": {"age": 30, "name": SURROGATE}}, {("applicant.name", "type")}),
])
def test_hostile_start_contexts(engine: Engine, context: object,
                                expected: set[tuple[str, str]]) -> None:
    with pytest.raises(InvalidContext) as refused:
        engine.start("loan.personal", "mobile", context)  # type: ignore[arg-type]
    assert _codes(refused.value.errors) == expected
    assert engine.store.ids(["running", "awaiting_input", "ended"]) == []


@pytest.mark.parametrize(("tags", "problem"), [
    ([{"$date": "not-a-date"}], "single key '$date'"),
    ([{"$decimal": "1.5"}], "single key '$decimal'"),
    ([float("nan")], "not a finite number"),
    ([SURROGATE], "lone surrogate"),
    ([{1: "x"}], "object keys are text"),
    ([object()], "is not data"),
])
def test_a_list_without_declared_items_is_checked_before_it_is_stored(
        engine: Engine, tags: list[object], problem: str) -> None:
    with pytest.raises(InvalidContext) as refused:
        engine.start("p.listed", "web", {"tags": tags})
    [error] = refused.value.errors
    assert (error.path, error.code) == ("tags", "type") and problem in error.message


def test_a_list_of_plain_data_is_kept_as_it_is(engine: Engine) -> None:
    tags = [{"name": "vip", "since": "2020-01-01"}, "x", 3, Decimal("1.50"), None, [True]]
    app = engine.start("p.listed", "web", {"tags": tags})
    assert engine.get(app.id).data["tags"] == tags
    refused = engine.submit(app.id, "note", {"note": {"text": SURROGATE}})
    assert _codes(refused.errors) == {("note.text", "type")}
    assert engine.submit(app.id, "note", {"note": {"text": "fine"}}).outcome == "completed"


def test_bad_arguments_are_invalid_arguments(engine: Engine) -> None:
    app = engine.start("loan.personal", "mobile", START)
    trail = engine.audit(app.id)
    calls = [
        lambda: engine.cancel(app.id, by="hacker", reason="because"),
        lambda: engine.cancel(app.id, by="bank", reason=SURROGATE),
        lambda: engine.cancel(app.id, by=["bank"], reason="x"),  # type: ignore[arg-type]
        lambda: engine.tick(dt.datetime(2026, 3, 3, 9, 0)),
        lambda: engine.tick("2026-03-03"),  # type: ignore[arg-type]
        lambda: engine.submit(app.id, ["apply"], APPLY),  # type: ignore[arg-type]
        lambda: engine.submit(app.id, "apply", APPLY, error=["no"]),  # type: ignore[arg-type]
        lambda: engine.get(["id"]),  # type: ignore[arg-type]
        lambda: engine.get(SURROGATE),
        lambda: engine.start("loan.personal", "mobile", START, application_id=SURROGATE),
        lambda: engine.start(["loan.personal"], "mobile", START),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises(InvalidArgument):
            call()
    assert engine.audit(app.id) == trail
    with pytest.raises(ValueError, match="'customer' or 'bank'"):  # as before: a ValueError
        engine.cancel(app.id, by="hacker", reason="because")
    with pytest.raises(InvalidState):
        engine.submit(app.id, "kyc", APPLY)


def test_recover_skips_an_application_it_cannot_read_and_goes_on(
        make_build: MakeBuild, tmp_path: Path, clock: FakeClock,
        caplog: pytest.LogCaptureFixture) -> None:
    catalog, rec, db = Catalog.load(make_build([loan()])), loan_recorder(), tmp_path / "a.db"
    without = Handlers()  # a deployment without notify.send leaves applications running
    for name in LOAN_HANDLERS:
        if name != "notify.send":
            without.add(name, rec.handlers.get(name))  # type: ignore[arg-type]
    whole = Engine(catalog, handlers=rec.handlers, store=SQLiteStore(db), clock=clock)
    stuck = Engine(catalog, handlers=without, store=SQLiteStore(db), clock=clock)
    for app_id in ("A", "B", "C"):
        whole.start("loan.personal", "mobile", START, application_id=app_id)
        with pytest.raises(HandlerMissing):
            stuck.submit(app_id, "apply", APPLY)
    with sqlite3.connect(db) as raw:  # B's state is damaged on disk
        raw.execute("UPDATE applications SET state = '{\"id\": \"B\"' WHERE id = 'B'")

    fixed = Engine(catalog, handlers=rec.handlers, store=SQLiteStore(db), clock=clock)
    with caplog.at_level(logging.ERROR, logger="productkit.runtime"):
        resumed = fixed.recover()
    assert [(a.id, a.outcome) for a in resumed] == [("A", "completed"), ("C", "completed")]
    assert "cannot resume application B" in caplog.text
    with pytest.raises(CorruptApplication, match="application B"):
        fixed.get("B")


def test_a_handler_returning_what_cannot_be_stored_fails_the_step(
        make_build: MakeBuild, clock: FakeClock, tmp_path: Path) -> None:
    rec = Recorder().add("h.a")
    rec.outputs["h.a"] = lambda c: {"code": float("nan"), "note": SURROGATE}
    steps = [service("a", "h.a", outputs={"code": "a.code", "note": "a.note"})]
    defn = definition("p.out", "1.0.0", steps, data={"a.code": ir.FieldDef(type="integer")})
    engine = Engine(Catalog.load(make_build([defn])), handlers=rec.handlers,
                    store=SQLiteStore(tmp_path / "o.db"), clock=clock)
    app = engine.start("p.out", "web", {})
    assert app.outcome == "failed" and "not a finite number" in (app.reason or "")
    assert engine.get(app.id) == app
