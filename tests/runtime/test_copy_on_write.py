"""The decision core copies a state only before it changes it (productkit.runtime._machine.Machine):
over every scenario of the repository, no decision changes the state it was given, and no state a
Save holds (nor the one a decision returns) changes afterwards, through the rest of its decision,
the decisions that follow, or the executor."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from productkit import scenarios
from productkit.runtime import _executor
from productkit.runtime.core import (
    CallHandler,
    Decision,
    Event,
    HandlerAnswered,
    Program,
    Save,
    Started,
    decide,
    new_state,
)
from productkit.runtime.status import AttemptResult
from productkit.runtime.views import Attempt

from .conftest import CST
from .test_core import _last, _program

REPO = Path(__file__).resolve().parents[2]

# (state given, a deep copy of it taken before, decision, a deep copy of it taken at once)
Seen = list[tuple[Any, Any, Decision, Decision]]


def test_states_given_and_saved_are_never_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: Seen = []
    real: Callable[..., Decision] = decide

    def spy(program: Program, state: Any, event: Event) -> Decision:
        before = copy.deepcopy(state)
        decision = real(program, state, event)
        seen.append((state, before, decision, copy.deepcopy(decision)))
        return decision

    monkeypatch.setattr(_executor, "decide", spy)
    results, _ = scenarios.run_scenarios(REPO)
    assert results and len(seen) > 1000
    saves = 0
    for given, before, decision, at_once in seen:
        assert given == before  # decide() changed nothing it was given
        assert decision.state == at_once.state
        held = [c.state for c in decision.commands if isinstance(c, Save)]
        assert len({id(s) for s in held}) == len(held)  # each Save its own state
        for command, kept in zip(decision.commands, at_once.commands, strict=True):
            if isinstance(command, Save):
                saves += 1
                assert command.state == kept.state  # type: ignore[attr-defined]
    assert saves > 1000


def test_a_decision_with_two_saves_keeps_two_states() -> None:
    """A service step's answer, then the next step started: the first Save holds the step done
    and no call under way, the second (here the decision's state) the next call under way."""
    t0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=CST)
    program = _program()  # a retried service step "pay", then "tell"
    first = decide(program, new_state("A", "p.core", "1.0.0", "sha", "web", t0, {}), Started(t0))
    call = _last(first, CallHandler)
    attempt = Attempt(1, t0, t0, 0.01, AttemptResult.OK)
    answered = decide(program, first.state, HandlerAnswered(t0, call.call.step_id, False, attempt))
    saves = [c.state for c in answered.commands if isinstance(c, Save)]
    assert saves and saves[0].calls == {} and saves[0].finished == {"pay": "done"}
    assert set(answered.state.calls) == {"tell"} and answered.state is not saves[0]
    assert first.state.calls.keys() == {"pay"}  # the state given, as it was
