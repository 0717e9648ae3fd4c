"""Handlers registered inline: called on the caller's thread, with the step's timeout judged on
the answer (a late answer is a timeout, retried like any other), and the same records as a
handler run on a worker thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from productkit import ir
from productkit.runtime import Handlers, StepCall

from .buildfixture import definition, service
from .conftest import MakeEngine


def _product(timeout: str = "PT5S", attempts: int = 1) -> ir.WorkflowDefinition:
    steps = [service("one", "h.one", timeout=timeout, retry=ir.Retry(max_attempts=attempts),
                     outputs={"code": "one.code"}),
             service("two", "h.two", timeout=timeout)]
    defn = definition("p.inline", "1.0.0", steps)
    return defn.model_copy(update={"data": {**defn.data, "one.code": ir.FieldDef(type="string")}})


def _handlers(inline: bool, seen: list[tuple[str, int]], slow_first: float = 0.0) -> Handlers:
    handlers = Handlers()

    def one(call: StepCall) -> Mapping[str, object]:
        seen.append(("one", threading.get_ident()))
        if call.attempt == 1 and slow_first:
            time.sleep(slow_first)
        return {"code": f"c{call.attempt}"}

    def two(call: StepCall) -> None:
        seen.append(("two", threading.get_ident()))

    handlers.add("h.one", one, inline=inline)
    handlers.add("h.two", two, inline=inline)
    return handlers


def test_an_inline_handler_runs_on_the_callers_thread(make_engine: MakeEngine) -> None:
    seen: list[tuple[str, int]] = []
    app = make_engine([_product()], _handlers(True, seen)).start("p.inline", "web", {})
    assert app.outcome == "completed" and app.data["one.code"] == "c1"
    assert seen == [("one", threading.get_ident()), ("two", threading.get_ident())]


def test_a_plain_handler_with_a_timeout_runs_on_a_worker(make_engine: MakeEngine) -> None:
    seen: list[tuple[str, int]] = []
    app = make_engine([_product()], _handlers(False, seen)).start("p.inline", "web", {})
    assert app.outcome == "completed"
    assert {ident for _, ident in seen} and threading.get_ident() not in {i for _, i in seen}


def test_inline_and_worker_runs_record_the_same(make_engine: MakeEngine) -> None:
    def records(inline: bool) -> list[tuple[object, ...]]:
        engine = make_engine([_product()], _handlers(inline, []))
        app = engine.start("p.inline", "web", {})
        return [(r.step_id, r.kind, r.status, dict(r.inputs), dict(r.outputs),
                 [(a.number, a.result, a.error) for a in r.attempts]) for r in engine.steps(app.id)]

    assert records(True) == records(False)


def test_a_late_inline_answer_is_a_timeout_and_is_retried(make_engine: MakeEngine) -> None:
    seen: list[tuple[str, int]] = []
    engine = make_engine([_product(timeout="PT0.05S", attempts=2)], _handlers(True, seen, slow_first=0.1))
    app = engine.start("p.inline", "web", {})
    [record] = [r for r in engine.steps(app.id) if r.step_id == "one"]
    assert [a.result for a in record.attempts] == ["timeout", "ok"]
    assert record.attempts[0].error == "no answer within 0.05 s"
    assert app.outcome == "completed" and app.data["one.code"] == "c2"


def test_registering_again_without_inline_clears_it() -> None:
    handlers = Handlers()
    handlers.add("h", lambda call: None, inline=True)
    assert handlers.inline("h")
    handlers.add("h", lambda call: None, replace=True)
    assert not handlers.inline("h") and not handlers.inline("unknown")
