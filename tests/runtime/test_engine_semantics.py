"""Semantics shared with the BPMN twin (see tests/test_conformance.py): non-critical steps,
staff-task timeouts, absent data in conditions, and the step timeout as a budget."""

from __future__ import annotations

from collections.abc import Mapping

from productkit import ir
from productkit.runtime import BusinessError, StepCall

from .buildfixture import definition, end, service, user
from .conftest import FakeClock, MakeEngine
from .products import Recorder


def _raise(exc: Exception):  # type: ignore[no-untyped-def]
    def handler(call: StepCall) -> Mapping[str, object]:
        raise exc

    return handler


def test_an_undeclared_business_error_of_a_non_critical_step_fails_it_alone(make_engine: MakeEngine) -> None:
    rec = Recorder().add("h.first", "h.first.undo", "h.last")
    rec.handlers.add("h.sms", _raise(BusinessError("sms.undeclared")))
    steps = [service("first", "h.first", compensation=ir.Compensation(handler="h.first.undo")),
             service("notify", "h.sms", critical=False), service("last", "h.last")]
    engine = make_engine([definition("p.sem", "1.0.0", steps)], rec.handlers)
    app = engine.start("p.sem", "web", {})
    assert app.outcome == "completed"
    assert [r.step_id for r in engine.steps(app.id) if r.kind == "compensation"] == []


def _staff(critical: bool) -> ir.WorkflowDefinition:
    fields = {"review.note": ir.FieldDef(type="string", required=False)}
    steps = [service("first", "h.first", compensation=ir.Compensation(handler="h.first.undo")),
             user("review", fields, actor="staff", timeout="PT1H", critical=critical), service("last", "h.last")]
    return definition("p.sem", "1.0.0", steps)


def test_a_staff_task_not_done_in_time_fails_the_application(make_engine: MakeEngine, clock: FakeClock) -> None:
    rec = Recorder().add("h.first", "h.first.undo", "h.last")
    engine = make_engine([_staff(critical=True)], rec.handlers)
    app = engine.start("p.sem", "web", {})
    assert app.status == "awaiting_input" and app.due is not None
    assert engine.tick(clock.advance(minutes=59)) == []
    [after] = engine.tick(clock.advance(minutes=2))
    assert after.outcome == "failed"
    assert [r.step_id for r in engine.steps(app.id) if r.kind == "compensation"] == ["first"]


def test_a_staff_task_done_in_time_cancels_its_timer(make_engine: MakeEngine, clock: FakeClock) -> None:
    rec = Recorder().add("h.first", "h.first.undo", "h.last")
    engine = make_engine([_staff(critical=True)], rec.handlers)
    app = engine.start("p.sem", "web", {})
    done = engine.submit(app.id, "review", {})
    assert done.outcome == "completed"
    assert engine.tick(clock.advance(hours=2)) == []


def test_a_non_critical_staff_task_that_times_out_is_passed_over(make_engine: MakeEngine, clock: FakeClock) -> None:
    rec = Recorder().add("h.first", "h.first.undo", "h.last")
    engine = make_engine([_staff(critical=False)], rec.handlers)
    app = engine.start("p.sem", "web", {})
    assert app.status == "awaiting_input"
    [after] = engine.tick(clock.advance(hours=2))
    assert after.outcome == "completed"


def test_absent_data_reads_as_null_in_a_condition(make_engine: MakeEngine) -> None:
    rec = Recorder().add("h.aml", "h.last")
    steps = [service("aml", "h.aml", outputs={"aml.note": "aml.note"}),
             end("stop", "rejected", when=_cond('aml.note == "hit"', ["aml.note"])), service("last", "h.last")]
    defn = definition("p.sem", "1.0.0", steps).model_copy(
        update={"data": {"aml.note": ir.FieldDef(type="string", required=False)}})
    engine = make_engine([defn], rec.handlers)
    app = engine.start("p.sem", "web", {})
    assert app.outcome == "completed"  # null == "hit" is false, as in FEEL


def _cond(text: str, names: list[str]) -> ir.Condition:
    return ir.Condition(cel=text, exec=text, type="boolean", names=names)


def test_the_timeout_is_the_budget_of_every_attempt(make_engine: MakeEngine, clock: FakeClock) -> None:
    rec = Recorder()
    calls: list[int] = []

    def flaky(call: StepCall) -> Mapping[str, object]:
        calls.append(call.attempt)
        raise ConnectionError("refused")

    rec.handlers.add("h.flaky", flaky)
    retry = ir.Retry(max_attempts=5, backoff="PT1S", multiplier="2")
    engine = make_engine([definition("p.sem", "1.0.0", [service("flaky", "h.flaky", retry=retry, timeout="PT2S")])],
                         rec.handlers)
    app = engine.start("p.sem", "web", {})
    assert app.outcome == "failed"
    assert calls == [1, 2]  # at 0 s and 1 s; a third would start at 3 s, past the 2 s budget
    assert clock.sleeps == [1.0]


def test_handler_workers_are_reused_and_a_hung_call_blocks_nothing() -> None:
    import threading

    import pytest

    from productkit.runtime._call import HandlerTimeout, Workers

    workers, threads = Workers(), set()
    release = threading.Event()

    def ok(call: object) -> dict[str, object]:
        threads.add(threading.get_ident())
        return {"ok": True}

    def hang(call: object) -> dict[str, object]:
        release.wait(5)
        return {}

    for _ in range(5):
        assert workers.run(ok, None, 1.0) == {"ok": True}  # type: ignore[arg-type]
    assert len(threads) == 1
    with pytest.raises(HandlerTimeout):
        workers.run(hang, None, 0.05)  # type: ignore[arg-type]
    assert workers.run(ok, None, 1.0) == {"ok": True}  # type: ignore[arg-type]
    release.set()
