"""The engine reads an application back from the state it committed last (RecentStates) instead
of decoding the row again: that state must equal the decoded row, whatever the handlers returned,
and every view, step record and audit event must be the same as with the row decoded each time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from productkit import ir
from productkit.runtime import Engine, Handlers, MemoryStore, StepCall
from productkit.runtime._state import AppState, RecentStates
from productkit.runtime.status import Status

from .buildfixture import definition, service, user
from .conftest import FakeClock, MakeEngine

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
_scalars = st.one_of(st.none(), st.booleans(), _text, st.integers(min_value=-(2**70), max_value=2**70),
                     st.floats(allow_nan=False, allow_infinity=False),
                     st.decimals(allow_nan=False, allow_infinity=False, places=3), st.dates())
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(_text.filter(lambda k: not k.startswith("$")), inner,
                                                 max_size=3)), max_leaves=8)
_answers = st.fixed_dictionaries({
    "amount": st.decimals(min_value=0, max_value=10**9, places=2),
    "count": st.integers(min_value=-(2**40), max_value=2**40),
    "day": st.dates(), "note": _text, "extra": _values})


def _product() -> ir.WorkflowDefinition:
    outputs = {"amount": "s.amount", "count": "s.count", "day": "s.day", "note": "s.note"}
    steps = [service("s", "h.s", outputs=outputs, timeout="PT5S", compensation=ir.Compensation(handler="h.undo")),
             user("confirm", {"confirm.ok": ir.FieldDef(type="boolean")}),
             service("t", "h.t", inputs={"amount": "s.amount", "note": "s.note"})]
    data = {"s.amount": ir.FieldDef(type="decimal"), "s.count": ir.FieldDef(type="integer"),
            "s.day": ir.FieldDef(type="date"), "s.note": ir.FieldDef(type="string", required=False)}
    return definition("p.recent", "1.0.0", steps, data=data)


class _Checking(MemoryStore):
    """After every commit: the state the engine will read back equals the decoded row."""

    engine: Engine | None = None
    hits = 0  # reads the engine's kept state answered

    def get(self, app_id: str) -> Any:
        row = super().get(app_id)
        if row is not None and self.engine is not None:
            cached = self.engine._recent.get(row)
            assert cached is None or cached == AppState.from_row(row)
            self.hits += cached is not None
        return row


def _journey(engine: Engine) -> list[object]:
    app = engine.start("p.recent", "web", {})
    seen: list[object] = [app]
    if app.screen is not None:
        seen.append(engine.submit(app.id, "confirm", {"confirm": {"ok": True}}))
        seen.append(engine.get(app.id))
    seen += [engine.steps(app.id), engine.audit(app.id)]
    return seen


def _handlers(answer: Mapping[str, Any], calls: list[StepCall]) -> Handlers:
    handlers = Handlers()
    handlers.add("h.s", lambda call: dict(answer), inline=True)
    handlers.add("h.t", calls.append, inline=True)
    handlers.add("h.undo", calls.append, inline=True)
    return handlers


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=_answers)
def test_the_state_read_back_is_the_state_decoded(make_engine: MakeEngine, clock: FakeClock,
                                                   answer: dict[str, Any]) -> None:
    runs = []
    for size in (4096, 0):  # size 0: nothing kept, every read decodes the row
        store, calls = _Checking(), list[StepCall]()
        engine = make_engine([_product()], _handlers(answer, calls), store)
        engine._recent = RecentStates(size)
        store.engine = engine
        clock.now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=clock.now.tzinfo)
        journey = _journey(engine)
        runs.append(([_plain(v) for v in journey], [(c.step_id, dict(c.inputs)) for c in calls]))
        read_back = len(journey) > 3  # it stopped at the screen: the submission read its state back
        assert store.hits > 0 if size and read_back else store.hits == 0  # kept and read, or not kept
    assert runs[0] == runs[1]


def _plain(value: object) -> object:
    """A view without the application id (new for each run)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "attempts"):  # a step record: the attempts' seconds are measured
        return {**{k: getattr(value, k) for k in ("step_id", "kind", "status", "at", "inputs", "outputs",
                                                   "detail")},
                "attempts": [(a.number, a.started, a.finished, a.result, a.error)
                             for a in value.attempts]}
    if hasattr(value, "id") and hasattr(value, "data"):
        return {**{k: getattr(value, k) for k in ("status", "outcome", "reason", "pending", "due")},
                "data": dict(value.data)}
    return value


def test_a_row_written_by_someone_else_is_decoded() -> None:
    recent = RecentStates()
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    state = AppState("A", "p", "1.0.0", "sha", "web", Status.RUNNING, at, at, data={"x": Decimal("1.50")})
    row = state.to_row()
    recent.put(row.state, state, row.revision)
    assert recent.get(row) is state
    later = row.__class__(**{**{f: getattr(row, f) for f in row.__dataclass_fields__}, "revision": 5})
    again = recent.get(later)
    assert again == state and again is not state and (again.revision, state.revision) == (5, 0)
    other = row.__class__(**{**{f: getattr(row, f) for f in row.__dataclass_fields__},
                             "state": row.state.replace("1.50", "2.50")})
    assert recent.get(other) is None
    recent.forget("A")
    assert recent.get(row) is None
