"""AppState.copy copies field by field: it must carry every field, and give the state's
containers (and each call under way) copies of their own, sharing only the values."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from productkit.runtime._state import AppState
from productkit.runtime.status import Outcome, Status, StepStatus

T = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _full() -> AppState:
    """A state with a value other than its default in every field."""
    return AppState("A", "p", "1.0.0", "sha256:x", "web", Status.COMPENSATING, T, T + dt.timedelta(1),
                    data={"x": Decimal("1.50"), "l": [1, 2]}, finished={"s": StepStatus.DONE},
                    completed=["s"], compensated=["t"], entered=["u"], timers={"u": T},
                    undo={"s": {"inputs": {}, "outputs": {"r": 1}}}, outcome=Outcome.REJECTED,
                    message={"en": "no", "zh-CN": "否"}, reason="why", attention=True, revision=7, seq=9,
                    calls={"s/compensate": {"attempts": [[1]], "deadline": T, "due": None}})


def test_every_field_is_carried() -> None:
    early = T - dt.timedelta(days=30)
    state, defaults = _full(), AppState("", "", "", "", "", Status.RUNNING, early, early)
    for f in dataclasses.fields(AppState):
        assert getattr(state, f.name) != getattr(defaults, f.name), f"set {f.name} in _full()"
    copy = state.copy()
    assert [getattr(copy, f.name) for f in dataclasses.fields(AppState)] == \
        [getattr(state, f.name) for f in dataclasses.fields(AppState)]
    assert copy == state and type(copy) is AppState


def test_containers_are_its_own() -> None:
    state = _full()
    copy = state.copy()
    for f in dataclasses.fields(AppState):
        value = getattr(state, f.name)
        if isinstance(value, dict | list) and f.name != "message":  # a message is replaced, not changed
            assert getattr(copy, f.name) is not value, f.name
    assert copy.calls["s/compensate"] is not state.calls["s/compensate"]
    copy.data["y"], copy.calls["s/compensate"]["due"] = 1, T
    copy.finished["t"], copy.entered[:] = StepStatus.SKIPPED, []
    assert "y" not in state.data and state.calls["s/compensate"]["due"] is None
    assert "t" not in state.finished and state.entered == ["u"]
    assert copy.data["l"] is state.data["l"]  # values are shared, as before


def test_an_empty_calls_is_a_new_dict() -> None:
    state = AppState("A", "p", "1.0.0", "sha", "web", Status.RUNNING, T, T)
    copy = state.copy()
    copy.calls["s"] = {}
    assert state.calls == {}
