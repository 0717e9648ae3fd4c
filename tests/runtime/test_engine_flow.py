"""The paths an application takes: approval, skips, parallel blocks, error routes, compensation,
waits, cancellation and version pinning."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from productkit import ir
from productkit.runtime import (
    Catalog,
    DefinitionChanged,
    Engine,
    InvalidState,
    MemoryStore,
    NotFound,
    SQLiteStore,
    Store,
)

from .buildfixture import definition, end, label, parallel, service, user, wait
from .conftest import FakeClock, MakeBuild, MakeEngine
from .products import APPLY, START, Recorder, fail_with, loan, loan_recorder


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "apps.db")


def test_approval_path(make_engine: MakeEngine, store: Store) -> None:
    rec = loan_recorder()
    engine = make_engine([loan()], rec.handlers, store)
    app = engine.start("loan.personal", "mobile", START)

    assert (app.status, app.version, app.pending) == ("awaiting_input", "1.0.0", ("apply",))
    screen = app.screen
    assert screen is not None
    assert (screen.step_id, screen.component, screen.title.en) == ("apply", "ui.apply@1.0.0", "apply screen")
    assert screen.form is not None and set(screen.form.schema["properties"]) == {"loan"}
    assert screen.values == {"loan.term_months": 12}  # the field's default, prefilled
    assert screen.shows == {"annual_rate": Decimal("4.35")}
    assert rec.steps() == ["kyc"]

    app = engine.submit(app.id, "apply", APPLY)
    assert (app.status, app.outcome, app.errors) == ("ended", "completed", ())
    assert rec.steps() == ["kyc", "aml", "score", "open", "notify"]
    assert app.data["loan.amount"] == Decimal("20000.00")
    assert app.data["loan.account"] == f"LN-{app.id[:6]}"
    assert app.data["credit.score"] == 700

    kyc = rec.calls[0]
    assert kyc.inputs == {"name": "Li Lei"}
    assert kyc.parameters == {"threshold": Decimal("0.85")}
    assert kyc.idempotency_key == f"{app.id}/kyc"
    assert [s.status for s in engine.steps(app.id)] == [
        "done", "done", "done", "done", "skipped", "done", "done"]
    events = engine.audit(app.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert (events[0].kind, events[-1].kind) == ("started", "ended")


def test_condition_false_skips_and_true_ends(make_engine: MakeEngine) -> None:
    rec = loan_recorder(score=550)
    engine = make_engine([loan()], rec.handlers)
    app = engine.submit(engine.start("loan.personal", "mobile", START).id, "apply", APPLY)

    assert (app.outcome, app.message) == ("rejected", label("Declined"))
    assert rec.steps() == ["kyc", "aml", "score"]  # open and notify never run
    decline = {r.step_id: r for r in engine.steps(app.id)}["decline"]
    assert (decline.status, decline.detail) == ("done", "outcome rejected")


def test_step_not_on_the_channel_is_skipped(make_engine: MakeEngine) -> None:
    steps = [service("a", "h.a"), service("b", "h.b", channels=["web"]), service("c", "h.c")]
    rec = Recorder().add("h.a", "h.b", "h.c")
    engine = make_engine([definition("p.chan", "1.0.0", steps)], rec.handlers)

    mobile = engine.start("p.chan", "mobile", {})
    assert rec.steps() == ["a", "c"]
    assert {r.step_id: r.detail for r in engine.steps(mobile.id)}["b"] == "not on channel mobile"
    engine.start("p.chan", "web", {})
    assert rec.steps()[2:] == ["a", "b", "c"]


def test_parallel_block_joins_before_the_next_step(make_engine: MakeEngine) -> None:
    steps = [user("ask", {"x.note": ir.FieldDef(type="string")}), service("s1", "h.s1"),
             service("s2", "h.s2"), service("after", "h.after")]
    flow: list[str | ir.Parallel] = [parallel(["ask"], ["s1", "s2"]), "after"]
    rec = Recorder().add("h.s1", "h.s2", "h.after")
    engine = make_engine([definition("p.par", "1.0.0", steps, flow)], rec.handlers)

    app = engine.start("p.par", "mobile", {})
    # The service branch runs to its end while the other branch waits for input ...
    assert rec.steps() == ["s1", "s2"]
    assert (app.status, app.pending) == ("awaiting_input", ("ask",))
    # ... and the step after the block waits for both.
    app = engine.submit(app.id, "ask", {"x": {"note": "hello"}})
    assert rec.steps() == ["s1", "s2", "after"]
    assert app.outcome == "completed"


def _chain(errors: dict[str, ir.ErrorRoute]) -> ir.WorkflowDefinition:
    steps = [service("a", "h.a", compensation=ir.Compensation(handler="h.a.undo")),
             service("b", "h.b", errors=errors), service("c", "h.c"), service("d", "h.d"),
             service("e", "h.e")]
    return definition("p.err", "1.0.0", steps)


def _chain_recorder() -> Recorder:
    return Recorder().add("h.a", "h.a.undo", "h.b", "h.c", "h.d", "h.e")


def test_business_error_routed_to_an_end(make_engine: MakeEngine) -> None:
    rec = _chain_recorder()
    rec.outputs["h.b"] = fail_with("b.refused")
    route = ir.ErrorRoute(end="rejected", message=label("Refused by b"))
    engine = make_engine([_chain({"b.refused": route})], rec.handlers)
    app = engine.start("p.err", "mobile", {})

    assert (app.outcome, app.message, app.reason) == (
        "rejected", label("Refused by b"), "business error b.refused at b")
    assert rec.steps() == ["a", "b", "a!undo"]


def test_business_error_routed_to_a_later_step(make_engine: MakeEngine) -> None:
    rec = _chain_recorder()
    rec.outputs["h.b"] = fail_with("b.soft")
    engine = make_engine([_chain({"b.soft": ir.ErrorRoute(goto="d")})], rec.handlers)
    app = engine.start("p.err", "mobile", {})

    assert app.outcome == "completed"
    assert rec.steps() == ["a", "b", "d", "e"]
    statuses = {r.step_id: r.status for r in engine.steps(app.id)}
    assert (statuses["b"], statuses["c"]) == ("error", "bypassed")


def test_unrouted_business_error_fails_and_compensates(make_engine: MakeEngine) -> None:
    rec = _chain_recorder()
    rec.outputs["h.b"] = fail_with("b.surprise")
    engine = make_engine([_chain({})], rec.handlers)
    app = engine.start("p.err", "mobile", {})

    assert app.outcome == "failed"
    assert app.reason == "step b raised undeclared business error b.surprise"
    assert rec.steps() == ["a", "b", "a!undo"]


def test_compensation_runs_newest_first_and_survives_a_failing_undo(make_engine: MakeEngine) -> None:
    steps = [service(s, f"h.{s}", compensation=ir.Compensation(handler=f"h.{s}.undo"))
             for s in ("s1", "s2", "s3")]
    steps.append(service("s4", "h.s4", errors={"no": ir.ErrorRoute(end="rejected")}))
    rec = Recorder().add(*(f"h.{s}" for s in ("s1", "s2", "s3", "s4")),
                         *(f"h.{s}.undo" for s in ("s1", "s2", "s3")))
    rec.outputs["h.s4"] = fail_with("no")
    rec.outputs["h.s1"] = lambda c: {"ref": "R1"}

    def broken(call: object) -> None:
        raise ConnectionError("core is down")

    rec.outputs["h.s2.undo"] = broken
    defn = definition("p.comp", "1.0.0", steps, data={"s1.ref": ir.FieldDef(type="string")})
    defn = defn.model_copy(update={"steps": {**defn.steps, "s1": steps[0].model_copy(
        update={"outputs": {"ref": "s1.ref"}})}})
    engine = make_engine([defn], rec.handlers)
    app = engine.start("p.comp", "mobile", {})

    assert rec.steps() == ["s1", "s2", "s3", "s4", "s3!undo", "s2!undo", "s1!undo"]
    assert (app.outcome, app.needs_attention) == ("rejected", True)
    undo_s1 = rec.calls[-1]
    assert (undo_s1.outputs, undo_s1.idempotency_key) == ({"ref": "R1"}, f"{app.id}/s1/compensate")
    undone = [(r.step_id, r.status) for r in engine.steps(app.id) if r.kind == "compensation"]
    assert undone == [("s3", "compensated"), ("s2", "compensation_failed"), ("s1", "compensated")]


def _cooling(interruptible: bool = True) -> ir.WorkflowDefinition:
    steps = [service("buy", "h.buy", compensation=ir.Compensation(handler="h.refund")),
             wait("cooling_off", "P1D", interruptible=interruptible), service("settle", "h.settle")]
    return definition("p.wait", "1.0.0", steps)


def test_wait_resumes_on_tick_when_due(make_engine: MakeEngine, clock: FakeClock) -> None:
    rec = Recorder().add("h.buy", "h.refund", "h.settle")
    engine = make_engine([_cooling()], rec.handlers)
    app = engine.start("p.wait", "mobile", {})
    assert (app.status, app.due) == ("waiting", clock.now + dt.timedelta(days=1))

    assert engine.tick(clock.advance(hours=23)) == []
    assert rec.steps() == ["buy"]
    advanced = engine.tick(clock.advance(hours=1))
    assert [a.outcome for a in advanced] == ["completed"]
    assert rec.steps() == ["buy", "settle"]


def test_calendar_month_wait_clamps_to_the_month_end(make_engine: MakeEngine, clock: FakeClock) -> None:
    clock.now = dt.datetime(2026, 1, 31, 10, 0, tzinfo=clock.now.tzinfo)
    steps = [wait("hold", "P1M"), end("done", "completed")]
    engine = make_engine([definition("p.month", "1.0.0", steps)], Recorder().handlers)
    app = engine.start("p.month", "web", {})
    assert app.due == dt.datetime(2026, 2, 28, 10, 0, tzinfo=clock.now.tzinfo)


def test_cancel_at_a_user_step_compensates_and_records(make_engine: MakeEngine) -> None:
    rec = loan_recorder()
    rec.handlers.add("kyc.undo", rec._make("kyc.undo"))
    defn = loan()
    kyc = defn.steps["kyc"].model_copy(update={"compensation": ir.Compensation(handler="kyc.undo")})
    engine = make_engine([defn.model_copy(update={"steps": {**defn.steps, "kyc": kyc}})], rec.handlers)
    app = engine.start("loan.personal", "web", START)

    app = engine.cancel(app.id, by="customer", reason="changed my mind")
    assert (app.outcome, app.reason) == ("cancelled", "cancelled by customer: changed my mind")
    assert rec.steps() == ["kyc", "kyc!undo"]
    cancelled = [e for e in engine.audit(app.id) if e.kind == "cancelled"]
    assert [dict(e.detail) for e in cancelled] == [{"by": "customer", "reason": "changed my mind"}]
    trail = engine.audit(app.id)
    with pytest.raises(InvalidState, match="only an application waiting"):
        engine.cancel(app.id, by="bank", reason="again")
    assert engine.get(app.id) == app and engine.audit(app.id) == trail  # a refused cancel records nothing


def test_cancel_during_a_wait(make_engine: MakeEngine) -> None:
    rec = Recorder().add("h.buy", "h.refund", "h.settle")
    engine = make_engine([_cooling(), _cooling(False).model_copy(update={"id": "p.locked"})],
                         rec.handlers)
    app = engine.cancel(engine.start("p.wait", "web", {}).id, by="bank", reason="fraud alert")
    assert (app.outcome, rec.steps()) == ("cancelled", ["buy", "buy!undo"])

    locked = engine.start("p.locked", "web", {})
    with pytest.raises(InvalidState, match="cannot be interrupted"):
        engine.cancel(locked.id, by="customer", reason="too late")
    assert engine.get(locked.id).status == "waiting"


def test_applications_stay_on_their_version(make_build: MakeBuild, clock: FakeClock,
                                            tmp_path: Path) -> None:
    rec = loan_recorder()
    rec.add("fraud.check")
    store = SQLiteStore(tmp_path / "apps.db")
    v1 = loan("1.0.0", effective_until="2026-03-01")
    old_engine = Engine(Catalog.load(make_build([v1])), handlers=rec.handlers, store=store,
                        clock=clock)
    clock.now = clock.now - dt.timedelta(days=1)  # on 2026-03-01, the last day of 1.0.0
    old = old_engine.start("loan.personal", "mobile", START)
    clock.advance(days=1)

    v2 = loan("2.0.0", effective_from="2026-03-02", extra=[service("fraud", "fraud.check")])
    engine = Engine(Catalog.load(make_build([v1, v2])), handlers=rec.handlers, store=store,
                    clock=clock)
    new = engine.start("loan.personal", "mobile", START)
    assert (old.version, new.version) == ("1.0.0", "2.0.0")

    engine.submit(old.id, "apply", APPLY)
    assert "fraud" not in [c.step_id for c in rec.calls if c.application_id == old.id]
    engine.submit(new.id, "apply", APPLY)
    assert "fraud" in [c.step_id for c in rec.calls if c.application_id == new.id]

    pending = engine.start("loan.personal", "mobile", START)  # on 2.0.0
    changed = v2.model_copy(update={"description": "edited without a new version"})
    with pytest.raises(DefinitionChanged, match=r"loan\.personal"):
        Engine(Catalog.load(make_build([changed])), store=store).get(pending.id)
    with pytest.raises(NotFound, match="no longer holds"):
        Engine(Catalog.load(make_build([v2])), store=store).get(old.id)


def _staff_product() -> ir.WorkflowDefinition:
    routes = {"aml.confirmed": ir.ErrorRoute(end="rejected", message=label("AML match"))}
    review = user("review", {
        "review.note": ir.FieldDef(type="string"),
        "review.error": ir.FieldDef(type="enum", values=sorted(routes), required=False),
    }, actor="staff", candidate_groups=["aml-officers"], errors=routes, error_path="review.error")
    steps = [service("open", "h.open", compensation=ir.Compensation(handler="h.close")), review,
             service("after", "h.after")]
    return definition("p.staff", "1.0.0", steps)


@pytest.mark.parametrize("how", ["field", "keyword"])
def test_a_staff_step_can_report_a_declared_business_error(make_engine: MakeEngine, how: str) -> None:
    rec = Recorder().add("h.open", "h.close", "h.after")
    engine = make_engine([_staff_product()], rec.handlers)
    app = engine.start("p.staff", "mobile", {})
    assert app.screen is not None and app.screen.form is not None  # the staff form
    assert (app.screen.actor, app.screen.candidate_groups) == ("staff", ("aml-officers",))

    bad = engine.submit(app.id, "review", {"review": {"error": "aml.unknown"}})
    assert {(e.path, e.code) for e in bad.errors} == {("review.error", "enum"),
                                                      ("review.note", "required")}
    if how == "field":  # the note is not required when declining
        app = engine.submit(app.id, "review", {"review": {"error": "aml.confirmed"}})
    else:
        app = engine.submit(app.id, "review", {"review": {"note": "same person"}}, error="aml.confirmed")
    assert (app.outcome, app.message) == ("rejected", label("AML match"))
    assert app.data["review.error"] == "aml.confirmed"
    assert rec.steps() == ["open", "open!undo"]
    assert {r.step_id: r.status for r in engine.steps(app.id)}["review"] == "error"


def test_a_staff_step_without_an_error_goes_on(make_engine: MakeEngine) -> None:
    rec = Recorder().add("h.open", "h.close", "h.after")
    engine = make_engine([_staff_product()], rec.handlers)
    app = engine.start("p.staff", "web", {})
    missing = engine.submit(app.id, "review", {})
    assert {(e.path, e.code) for e in missing.errors} == {("review.note", "required")}
    app = engine.submit(app.id, "review", {"review": {"note": "cleared"}})
    assert (app.outcome, rec.steps()) == ("completed", ["open", "after"])


def test_compensation_follows_the_definitions_outcomes(make_engine: MakeEngine) -> None:
    rec = _chain_recorder()
    rec.outputs["h.b"] = fail_with("b.refused")
    defn = _chain({"b.refused": ir.ErrorRoute(end="rejected")}).model_copy(
        update={"compensate_on": ["failed"]})
    app = make_engine([defn], rec.handlers).start("p.err", "mobile", {})
    assert (app.outcome, rec.steps()) == ("rejected", ["a", "b"])
