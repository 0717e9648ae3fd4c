"""Calling handlers: retries with backoff on the injected clock, timeouts, async handlers,
idempotency keys, and which handlers a channel still lacks (readiness)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping

import pytest

from productkit import ir
from productkit.runtime import StepCall

from .buildfixture import definition, service
from .conftest import FakeClock, MakeEngine
from .products import Recorder, loan, loan_recorder

RETRY = ir.Retry(max_attempts=4, backoff="PT1S", multiplier="2", max_backoff="PT3S")


def _product(**kw: object) -> ir.WorkflowDefinition:
    steps = [service("first", "h.first", compensation=ir.Compensation(handler="h.first.undo")),
             service("flaky", "h.flaky", **kw)]  # type: ignore[arg-type]
    return definition("p.calls", "1.0.0", steps)


def _flaky(failures: int) -> tuple[Recorder, list[StepCall]]:
    rec = Recorder().add("h.first", "h.first.undo")
    seen: list[StepCall] = []

    def flaky(call: StepCall) -> Mapping[str, object]:
        seen.append(call)
        if len(seen) <= failures:
            raise ConnectionError(f"attempt {call.attempt} refused")
        return {}

    rec.handlers.add("h.flaky", flaky)
    return rec, seen


def test_retries_back_off_exponentially_up_to_the_cap(make_engine: MakeEngine, clock: FakeClock) -> None:
    rec, seen = _flaky(failures=3)
    engine = make_engine([_product(retry=RETRY)], rec.handlers)
    app = engine.start("p.calls", "web", {})

    assert app.outcome == "completed"
    assert clock.sleeps == [1.0, 2.0, 3.0]  # 1 s, 2 s, then 4 s capped at 3 s
    assert [c.attempt for c in seen] == [1, 2, 3, 4]
    assert {c.idempotency_key for c in seen} == {f"{app.id}/flaky"}
    [record] = [r for r in engine.steps(app.id) if r.step_id == "flaky"]
    assert [a.result for a in record.attempts] == ["error", "error", "error", "ok"]
    assert record.attempts[0].error == "ConnectionError: attempt 1 refused"
    assert [a.started for a in record.attempts] == [clock.now.replace(second=s) for s in (0, 1, 3, 6)]


def test_exhausted_retries_fail_and_compensate(make_engine: MakeEngine, clock: FakeClock) -> None:
    rec, seen = _flaky(failures=10)
    engine = make_engine([_product(retry=RETRY)], rec.handlers)
    app = engine.start("p.calls", "web", {})

    assert (app.outcome, len(seen), clock.sleeps) == ("failed", 4, [1.0, 2.0, 3.0])
    assert app.reason == "step flaky failed: ConnectionError: attempt 4 refused"
    assert rec.steps() == ["first", "first!undo"]


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # let abandoned handler threads finish


def test_a_slow_plain_handler_times_out_and_is_retried(make_engine: MakeEngine,
                                                       release: threading.Event) -> None:
    calls: list[int] = []

    def slow_once(call: StepCall) -> Mapping[str, object]:
        calls.append(call.attempt)
        if call.attempt == 1:
            release.wait(5)
        return {}

    rec = Recorder().add("h.first", "h.first.undo")
    rec.handlers.add("h.flaky", slow_once)
    engine = make_engine([_product(timeout="PT0.05S", retry=ir.Retry(max_attempts=2))], rec.handlers)
    app = engine.start("p.calls", "web", {})

    assert (app.outcome, calls) == ("completed", [1, 2])
    [record] = [r for r in engine.steps(app.id) if r.step_id == "flaky"]
    assert [a.result for a in record.attempts] == ["timeout", "ok"]
    assert 0.04 < record.attempts[0].seconds < 1.0


def test_a_slow_async_handler_times_out(make_engine: MakeEngine) -> None:
    rec = Recorder().add("h.first", "h.first.undo")

    @rec.handlers.register("h.flaky")
    async def never(call: StepCall) -> Mapping[str, object]:
        await asyncio.sleep(30)
        return {}

    engine = make_engine([_product(timeout="PT0.05S")], rec.handlers)
    app = engine.start("p.calls", "web", {})
    assert (app.outcome, rec.steps()) == ("failed", ["first", "first!undo"])
    [record] = [r for r in engine.steps(app.id) if r.step_id == "flaky"]
    assert [a.result for a in record.attempts] == ["timeout"]


def test_async_handlers_run_and_return_outputs(make_engine: MakeEngine) -> None:
    rec = Recorder().add("h.first", "h.first.undo")

    @rec.handlers.register("h.flaky")
    async def answer(call: StepCall) -> Mapping[str, object]:
        await asyncio.sleep(0)
        return {"code": f"ok-{call.attempt}"}

    step = {"outputs": {"code": "flaky.code"}, "timeout": "PT5S"}
    engine = make_engine([_product(**step)], rec.handlers)
    assert engine.start("p.calls", "web", {}).data["flaky.code"] == "ok-1"


def test_a_handler_returning_a_wrong_type_for_an_output_fails(make_engine: MakeEngine) -> None:
    rec = Recorder().add("h.first", "h.first.undo", "h.flaky")
    rec.outputs["h.flaky"] = lambda c: {"n": "not a number"}
    defn = _product(outputs={"n": "flaky.n"})
    defn = defn.model_copy(update={"data": {**defn.data, "flaky.n": ir.FieldDef(type="integer")}})
    app = make_engine([defn], rec.handlers).start("p.calls", "web", {})
    assert app.outcome == "failed" and "not a whole number" in (app.reason or "")


def test_readiness_tells_configuration_only_from_new_code(make_engine: MakeEngine) -> None:
    card = definition("card.classic", "1.0.0", [service("kyc", "kyc.verify"),
                                                service("emboss", "card.emboss", channels=["web"])])
    rec = loan_recorder()
    engine = make_engine([loan(), card], rec.handlers)

    mobile = engine.readiness("mobile")
    assert mobile.ready and mobile.configuration_only() == ["card.classic@1.0.0", "loan.personal@1.0.0"]
    web = engine.readiness("web")
    assert (web.ready, web.needs_code(), web.missing) == (False, ["card.classic@1.0.0"], ("card.emboss",))
    [emboss] = [n for n in web.needs if not n.registered]
    assert (emboss.step_id, emboss.role) == ("emboss", "handler")
    roles = {(n.step_id, n.role) for n in engine.readiness("web", products=["loan.personal"]).needs}
    assert ("open", "compensation") in roles and len(roles) == 6


def test_a_non_critical_step_fails_alone(make_engine: MakeEngine, clock: FakeClock) -> None:
    rec, seen = _flaky(failures=10)
    steps = [service("first", "h.first", compensation=ir.Compensation(handler="h.first.undo")),
             service("flaky", "h.flaky", retry=RETRY, critical=False), service("last", "h.last")]
    rec.add("h.last")
    engine = make_engine([definition("p.calls", "1.0.0", steps)], rec.handlers)
    app = engine.start("p.calls", "web", {})

    assert app.outcome == "completed"
    assert len(seen) == 4  # every attempt was made before giving up on the step
    status = {r.step_id: r.status for r in engine.steps(app.id) if r.kind == "step"}
    assert status == {"first": "done", "flaky": "failed", "last": "done"}
    assert not [r for r in engine.steps(app.id) if r.kind == "compensation"]
    assert "noncritical_failure" in [e.kind for e in engine.audit(app.id)]
