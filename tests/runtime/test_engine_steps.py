"""Technical-failure routes and finally steps on the embedded engine."""

from __future__ import annotations

from collections.abc import Mapping

from productkit import ir
from productkit.runtime import StepCall

from .buildfixture import cond, definition, end, service, user
from .conftest import FakeClock, MakeEngine
from .products import Recorder

RETRY = ir.Retry(max_attempts=4, backoff="PT1S", multiplier="2", max_backoff="PT3S")
FINAL_SCOPE = {"outcome": "string"}


def _recorder(failing: set[str]) -> tuple[Recorder, list[str]]:
    rec, calls = Recorder(), []
    for handler in ("h.first", "h.first.undo", "h.check", "h.after", "h.tell", "h.archive"):
        def answer(call: StepCall, handler: str = handler) -> Mapping[str, object]:
            calls.append(call.step_id + ("!undo" if call.compensating else ""))
            if handler in failing:
                raise ConnectionError(f"{handler} is down")
            return {}
        rec.handlers.add(handler, answer)
    return rec, calls


def _product(route: ir.ErrorRoute | None, *finals: ir.Step) -> ir.WorkflowDefinition:
    errors = {ir.FAILED_CODE: route} if route is not None else {}
    review = [end("review", "referred")] if route is not None and route.goto else []
    steps = [service("first", "h.first", compensation=ir.Compensation(handler="h.first.undo")),
             service("check", "h.check", retry=RETRY, errors=errors), service("after", "h.after"), *review]
    defn = definition("p.steps", "1.0.0", [*steps, *finals])
    flow: ir.Flow = [s.id for s in steps]
    return defn.model_copy(update={"flow": flow, "finally_steps": [s.id for s in finals]})


def test_a_routed_technical_failure_takes_its_route_after_every_attempt(make_engine: MakeEngine,
                                                                        clock: FakeClock) -> None:
    rec, calls = _recorder({"h.check"})
    engine = make_engine([_product(ir.ErrorRoute(goto="review"))], rec.handlers)
    app = engine.start("p.steps", "web", {})

    assert (app.outcome, calls) == ("referred", ["first", "check", "check", "check", "check"])
    assert clock.sleeps == [1.0, 2.0, 3.0]
    statuses = {r.step_id: r.status for r in engine.steps(app.id) if r.kind == "step"}
    assert statuses == {"first": "done", "check": "failed", "after": "bypassed", "review": "done"}
    gotos = [a for a in engine.audit(app.id) if a.kind == "goto"]
    assert [(a.step_id, a.detail["code"], a.detail["target"]) for a in gotos] == [
        ("check", ir.FAILED_CODE, "review")]


def test_an_end_route_of_a_technical_failure_sets_the_outcome(make_engine: MakeEngine) -> None:
    rec, calls = _recorder({"h.check"})
    route = ir.ErrorRoute(end="rejected", message=ir.Label(**{"zh-CN": "暂不可用", "en": "Unavailable"}))
    engine = make_engine([_product(route)], rec.handlers)
    app = engine.start("p.steps", "web", {})

    assert app.outcome == "rejected" and app.message is not None and app.message.en == "Unavailable"
    assert calls[-1] == "first!undo"  # rejected: compensated like any rejection


def test_finally_steps_run_after_the_compensations_and_keep_the_outcome(make_engine: MakeEngine) -> None:
    tell = service("tell", "h.tell", critical=False,
                   when=cond('outcome == "failed" || outcome == "rejected"', FINAL_SCOPE))
    archive = service("archive", "h.archive", critical=False)
    skipped = service("skipped", "h.tell", critical=False, when=cond('outcome == "completed"', FINAL_SCOPE))
    rec, calls = _recorder({"h.check", "h.archive"})
    engine = make_engine([_product(None, tell, archive, skipped)], rec.handlers)
    app = engine.start("p.steps", "web", {})

    assert app.outcome == "failed"  # the failing finally step (archive) changes nothing
    assert calls == ["first", "check", "check", "check", "check", "first!undo", "tell", "archive"]
    statuses = {r.step_id: r.status for r in engine.steps(app.id) if r.kind == "step"}
    assert (statuses["tell"], statuses["archive"], statuses["skipped"]) == ("done", "failed", "skipped")


def test_finally_steps_run_on_completion_too(make_engine: MakeEngine) -> None:
    tell = service("tell", "h.tell", critical=False, when=cond('outcome == "completed"', FINAL_SCOPE))
    rec, calls = _recorder(set())
    engine = make_engine([_product(None, tell)], rec.handlers)
    app = engine.start("p.steps", "web", {})

    assert (app.outcome, calls) == ("completed", ["first", "check", "after", "tell"])


def test_a_staff_task_shows_its_candidate_groups_and_due_time(make_engine: MakeEngine) -> None:
    review = user("review", {}, actor="staff", candidate_groups=["sme_credit_officers", "tax_data_desk"],
                  due="PT8H")
    defn = definition("p.staff", "1.0.0", [review])
    engine = make_engine([defn], Recorder().handlers)
    app = engine.start("p.staff", "web", {})

    assert app.screen is not None and app.screen.step_id == "review"
    assert (app.screen.candidate_groups, app.screen.due_within) == (("sme_credit_officers", "tax_data_desk"), "PT8H")
