"""Handlers registered inline: called on the caller's thread, with the step's timeout judged on
the answer (a late answer is a timeout, retried like any other), and the same records as a
handler run on a worker thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

import pytest

from productkit import ir
from productkit.runtime import Commit, Handlers, MemoryStore, StepCall

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
    handlers.add("h", lambda call: None, replace=True, local=True)  # a local call runs inline
    assert handlers.inline("h") and handlers.local("h")
    handlers.add("h", lambda call: None, replace=True, inline=True)
    assert handlers.inline("h") and not handlers.local("h") and not handlers.local("unknown")


def test_an_inline_handler_cannot_be_timed_out_it_holds_its_caller(
        make_engine: MakeEngine, caplog: pytest.LogCaptureFixture) -> None:
    """The documented limit: a hung inline call is not given up at the step's timeout (the caller's
    thread runs it); once it answers, the late answer is a timeout, retried, and logged."""
    release, entered = threading.Event(), threading.Event()
    handlers = Handlers()

    def one(call: StepCall) -> Mapping[str, object]:
        if call.attempt == 1:
            entered.set()
            release.wait(10)
        return {"code": f"c{call.attempt}"}

    handlers.add("h.one", one, inline=True)
    handlers.add("h.two", lambda call: None, inline=True)
    engine = make_engine([_product(timeout="PT0.05S", attempts=2)], handlers)
    done: list[str] = []
    caller = threading.Thread(target=lambda: done.append(engine.start("p.inline", "web", {}).id))
    caller.start()
    assert entered.wait(5)
    caller.join(0.3)  # six times the step's timeout: still held by the hung call
    assert caller.is_alive() and done == []
    release.set()
    caller.join(5)
    [app_id] = done
    [record] = [r for r in engine.steps(app_id) if r.step_id == "one"]
    assert [a.result for a in record.attempts] == ["timeout", "ok"]
    assert engine.get(app_id).outcome == "completed"
    assert "inline handler 'h.one'" in caplog.text and "cannot be timed out" in caplog.text


def test_a_plain_handler_that_hangs_is_given_up_at_the_timeout(make_engine: MakeEngine) -> None:
    release = threading.Event()
    handlers = Handlers()

    def one(call: StepCall) -> Mapping[str, object]:
        if call.attempt == 1:
            release.wait(10)
        return {"code": f"c{call.attempt}"}

    handlers.add("h.one", one)
    handlers.add("h.two", lambda call: None)
    engine = make_engine([_product(timeout="PT0.2S", attempts=2)], handlers)
    started = time.perf_counter()
    app = engine.start("p.inline", "web", {})
    release.set()
    assert time.perf_counter() - started < 5
    [record] = [r for r in engine.steps(app.id) if r.step_id == "one"]
    assert [a.result for a in record.attempts] == ["timeout", "ok"]


class _CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.commits: list[list[str]] = []

    def commit(self, commit: Commit) -> None:
        super().commit(commit)
        self.commits.append([s.step_id for s in commit.steps])


@pytest.mark.parametrize(("modes", "commits", "seen_by_two"), [
    ({"h.one": "local", "h.two": "local"}, [["one", "two"]], None),
    ({"h.one": "local", "h.two": "worker"}, [["one"], ["two"]], ["one"]),
    ({"h.one": "inline", "h.two": "inline"}, [[], ["one"], ["two"]], ["one"]),
    ({"h.one": "worker", "h.two": "worker"}, [[], ["one"], ["two"]], ["one"]),
])
def test_only_local_calls_are_committed_with_the_next_durable_write(
        make_engine: MakeEngine, modes: dict[str, str], commits: list[list[str]],
        seen_by_two: list[str] | None) -> None:
    """A local call is made without committing first; any other call (inline or on a worker)
    only once all before it is committed; either way the caller gets its answer only once
    everything is committed."""
    store, seen = _CountingStore(), {}

    def two(call: StepCall) -> None:
        row = store.get(call.application_id)
        seen["two"] = None if row is None else [s.step_id for s in store.steps(call.application_id)]

    handlers = Handlers()
    for name, fn in (("h.one", lambda call: {"code": "c"}), ("h.two", two)):
        handlers.add(name, fn, inline=modes[name] == "inline", local=modes[name] == "local")
        assert handlers.inline(name) == (modes[name] != "worker") and handlers.local(name) == (modes[name] == "local")
    engine = make_engine([_product()], handlers, store)
    app = engine.start("p.inline", "web", {})
    assert store.commits == commits and seen["two"] == seen_by_two
    assert engine.get(app.id) == app and app.outcome == "completed"
