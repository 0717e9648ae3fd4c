"""The decision core on its own: a pure, deterministic function of (definition, state, event)
whose events and commands are plain data, and which a recorded run replays exactly."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from productkit import ir
from productkit.runtime import InvalidState, _codec, _executor, core
from productkit.runtime.core import (
    CallHandler,
    Decision,
    HandlerAnswered,
    Program,
    RecordAudit,
    Resumed,
    Save,
    Started,
    StartTimer,
    TimerFired,
    TimerKind,
    decide,
    new_state,
)
from productkit.runtime.status import AttemptResult, Status
from productkit.runtime.views import Attempt

from .buildfixture import definition, service
from .conftest import CST, FakeClock, MakeEngine
from .products import APPLY, START, loan, loan_recorder

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=CST)
RETRY = ir.Retry(max_attempts=3, backoff="PT10S", multiplier="2")


def _program() -> Program:
    steps = [service("pay", "h.pay", retry=RETRY, timeout="PT1M"), service("tell", "h.tell")]
    return Program.of(definition("p.core", "1.0.0", steps))


def _answer(call: CallHandler, at: dt.datetime, result: AttemptResult,
            error: str | None = None) -> HandlerAnswered:
    attempt = Attempt(call.call.attempt, at, at, 0.01, result, error)
    return HandlerAnswered(at, call.call.step_id, call.call.compensating, attempt)


def _last(decision: Decision, kind: type[Any]) -> Any:
    [found] = [c for c in decision.commands if isinstance(c, kind)][-1:]
    return found


def test_a_failed_attempt_is_saved_with_its_due_retry_before_the_timer() -> None:
    program, state = _program(), new_state("A", "p.core", "1.0.0", "sha", "web", T0, {})
    first = decide(program, state, Started(T0))
    call = _last(first, CallHandler)
    assert (call.call.attempt, call.call.idempotency_key, call.timeout) == (1, "A/pay", 60.0)

    failed = decide(program, first.state, _answer(call, T0 + dt.timedelta(seconds=2),
                                                    AttemptResult.ERROR, "refused"))
    save, timer = failed.commands[-2:]
    assert isinstance(save, Save) and isinstance(timer, StartTimer)
    due = T0 + dt.timedelta(seconds=12)
    assert (timer.kind, timer.step_id, timer.due) == (TimerKind.RETRY, "pay", due)
    assert save.state.status == Status.RUNNING and save.state.calls["pay"]["due"] == due
    assert [a[0] for a in save.state.calls["pay"]["attempts"]] == [1]

    again = decide(program, failed.state, TimerFired(due, TimerKind.RETRY, "pay"))
    second = _last(again, CallHandler)
    assert (second.call.attempt, second.call.idempotency_key, second.timeout) == (2, "A/pay", 48.0)


def test_resuming_a_saved_retry_waits_what_is_left_then_makes_the_next_attempt() -> None:
    program, state = _program(), new_state("A", "p.core", "1.0.0", "sha", "web", T0, {})
    started = decide(program, state, Started(T0))
    failed = decide(program, started.state,
                    _answer(_last(started, CallHandler), T0, AttemptResult.ERROR, "refused"))
    saved = _last(failed, Save).state  # what a crash during the backoff leaves in the store

    early = decide(program, saved, Resumed(T0 + dt.timedelta(seconds=4)))
    assert early.commands == (StartTimer(TimerKind.RETRY, "pay", T0 + dt.timedelta(seconds=10)),)
    late = decide(program, saved, Resumed(T0 + dt.timedelta(seconds=30)))
    assert _last(late, CallHandler).call.attempt == 2


def test_the_core_changes_nothing_it_is_given_and_answers_alike() -> None:
    program, state = _program(), new_state("A", "p.core", "1.0.0", "sha", "web", T0, {"x": 1})
    before = dataclasses.replace(state)
    once, twice = decide(program, state, Started(T0)), decide(program, state, Started(T0))
    assert once == twice and state == before
    assert [type(c).__name__ for c in once.commands] == ["RecordAudit", "Save", "CallHandler"]


def test_an_answer_nobody_waits_for_is_refused() -> None:
    program, state = _program(), new_state("A", "p.core", "1.0.0", "sha", "web", T0, {})
    stray = HandlerAnswered(T0, "tell", False, Attempt(1, T0, T0, 0.0, AttemptResult.OK))
    with pytest.raises(InvalidState, match="awaits no answer"):
        decide(program, decide(program, state, Started(T0)).state, stray)


Recorded = list[tuple[core.AppState, core.Event, Decision]]


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorded]:
    """Every decision the embedded executor asks of the core, with its inputs."""
    seen: Recorded = []
    real: Callable[..., Decision] = _executor.decide

    def spy(program: Program, state: core.AppState, event: core.Event) -> Decision:
        decision = real(program, state, event)
        seen.append((state, event, decision))
        return decision

    monkeypatch.setattr(_executor, "decide", spy)
    yield seen


def test_a_recorded_run_replays_to_the_same_states_and_commands(
        make_engine: MakeEngine, recorded: Recorded) -> None:
    engine = make_engine([loan()], loan_recorder().handlers)
    app = engine.start("loan.personal", "mobile", START)
    engine.submit(app.id, "apply", APPLY)
    program = Program.of(engine.catalog.entry("loan.personal").definition)

    state = recorded[0][0]
    for given, event, decision in recorded:
        assert given == state  # each decision starts from the one before (or its stored copy)
        replayed = decide(program, state, event)
        assert replayed == decision
        state = replayed.state
    assert state.status == Status.ENDED and engine.get(app.id).outcome == "completed"
    kinds = {type(e).__name__ for _, e, _ in recorded}
    assert kinds == {"Started", "HandlerAnswered", "Submitted"}


def test_events_and_commands_are_plain_data(make_engine: MakeEngine, recorded: Recorded) -> None:
    engine = make_engine([loan()], loan_recorder().handlers)
    app = engine.start("loan.personal", "mobile", START)
    engine.submit(app.id, "apply", APPLY)

    for _, event, decision in recorded:
        for item in (event, *decision.commands):
            assert dataclasses.is_dataclass(item)
            text = _codec.encode(dataclasses.asdict(item))
            assert _codec.encode(_codec.decode(text)) == text  # a stable round trip
    audits = [c for _, _, d in recorded for c in d.commands if isinstance(c, RecordAudit)]
    assert [a.event.kind for a in audits] == [e.kind for e in engine.audit(app.id)]


def test_the_clock_is_read_by_the_executor_only(make_engine: MakeEngine, clock: FakeClock,
                                               recorded: Recorded) -> None:
    engine = make_engine([loan()], loan_recorder().handlers)
    app = engine.start("loan.personal", "mobile", START)
    clock.advance(minutes=5)
    engine.submit(app.id, "apply", APPLY)
    saves = [c.state for _, _, d in recorded for c in d.commands if isinstance(c, Save)]
    assert {s.updated for s in saves} == {T0, T0 + dt.timedelta(minutes=5)}
    assert saves[-1].updated == engine.get(app.id).updated
