"""Retries are timers kept with the application: a process that dies during a backoff resumes
with the next attempt (same idempotency key, the attempts so far kept), not with the first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import pytest

from productkit import ir
from productkit.runtime import Catalog, Engine, SQLiteStore, StepCall

from .buildfixture import definition, service
from .conftest import FakeClock, MakeBuild
from .products import Recorder


class Crash(BaseException):
    """The process dies (nothing in the engine may catch it)."""


def _die(seconds: float) -> None:
    raise Crash()


def _fails_once(seen: list[StepCall]) -> object:
    def handler(call: StepCall) -> Mapping[str, object]:
        seen.append(call)
        if call.attempt == 1:
            raise ConnectionError("refused")
        return {}

    return handler


def _product(first: ir.Retry | None = None, flaky: ir.Retry | None = None) -> ir.WorkflowDefinition:
    steps = [service("first", "h.first", compensation=ir.Compensation(handler="h.undo"), retry=first),
             service("flaky", "h.flaky", retry=flaky), service("last", "h.last")]
    return definition("p.retry", "1.0.0", steps)


def test_a_crash_during_the_backoff_resumes_with_the_next_attempt(
        make_build: MakeBuild, tmp_path: Path, clock: FakeClock) -> None:
    seen: list[StepCall] = []
    rec = Recorder().add("h.first", "h.undo", "h.last")
    rec.handlers.add("h.flaky", _fails_once(seen))  # type: ignore[arg-type]
    defn = _product(flaky=ir.Retry(max_attempts=3, backoff="PT10S"))
    catalog, db, t0 = Catalog.load(make_build([defn])), tmp_path / "apps.db", clock.now
    dying = Engine(catalog, handlers=rec.handlers, store=SQLiteStore(db), clock=clock, sleep=_die)
    with pytest.raises(Crash):
        dying.start("p.retry", "web", {}, application_id="A")

    left = Engine(catalog, store=SQLiteStore(db))
    assert left.get("A").status == "running"
    assert [r.step_id for r in left.steps("A")] == ["first"]  # flaky is not finished ...
    clock.advance(seconds=4)  # ... and its retry is due 10 s after the failed attempt
    revived = Engine(catalog, handlers=rec.handlers, store=SQLiteStore(db), clock=clock,
                     sleep=clock.sleep)
    [app] = revived.recover()

    assert app.outcome == "completed"
    assert clock.sleeps == [6.0]  # only what was left of the backoff
    assert [(c.attempt, c.idempotency_key) for c in seen] == [(1, "A/flaky"), (2, "A/flaky")]
    assert rec.steps() == ["first", "last"]  # nothing committed ran again
    [record] = [r for r in revived.steps("A") if r.step_id == "flaky"]
    assert [(a.number, a.result, a.started) for a in record.attempts] == [
        (1, "error", t0), (2, "ok", t0 + dt.timedelta(seconds=10))]
    assert record.attempts[0].error == "ConnectionError: refused"


def test_a_crash_during_the_backoff_of_a_compensation(make_build: MakeBuild, tmp_path: Path,
                                                      clock: FakeClock) -> None:
    seen: list[StepCall] = []
    rec = Recorder().add("h.first", "h.last")
    rec.handlers.add("h.undo", _fails_once(seen))  # type: ignore[arg-type]
    rec.handlers.add("h.flaky", _raise)
    defn = _product(first=ir.Retry(max_attempts=2, backoff="PT5S"))  # also undoing first
    catalog, db = Catalog.load(make_build([defn])), tmp_path / "apps.db"
    dying = Engine(catalog, handlers=rec.handlers, store=SQLiteStore(db), clock=clock, sleep=_die)
    with pytest.raises(Crash):  # flaky fails: first is undone, which fails once, then backs off
        dying.start("p.retry", "web", {}, application_id="B")
    assert Engine(catalog, store=SQLiteStore(db)).get("B").status == "compensating"

    clock.advance(seconds=2)
    revived = Engine(catalog, handlers=rec.handlers, store=SQLiteStore(db), clock=clock,
                     sleep=clock.sleep)
    [app] = revived.recover()
    assert (app.outcome, app.needs_attention, clock.sleeps) == ("failed", False, [3.0])
    assert [(c.attempt, c.idempotency_key) for c in seen] == [(1, "B/first/compensate"),
                                                              (2, "B/first/compensate")]
    [undo] = [r for r in revived.steps("B") if r.kind == "compensation"]
    assert (undo.status, [a.result for a in undo.attempts]) == ("compensated", ["error", "ok"])


def _raise(call: StepCall) -> None:
    raise RuntimeError("down")


def test_rows_without_a_call_under_way_are_as_before(make_build: MakeBuild, tmp_path: Path,
                                                    clock: FakeClock) -> None:
    rec = Recorder().add("h.first", "h.undo", "h.flaky", "h.last")
    store = SQLiteStore(tmp_path / "apps.db")
    engine = Engine(Catalog.load(make_build([_product()])), handlers=rec.handlers, store=store,
                    clock=clock)
    app = engine.start("p.retry", "web", {})
    row = store.get(app.id)
    assert row is not None and app.outcome == "completed"
    assert '"calls"' not in row.state and '"status":"ended"' in row.state
