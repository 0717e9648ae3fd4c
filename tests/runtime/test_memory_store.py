"""MemoryStore keeps the engine's objects instead of encoded rows: everything it answers must be
what it answered when it was given rows, and nothing a caller or a handler does with what it was
given may change what was committed."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from productkit import ir
from productkit.runtime import BusinessError, Commit, Engine, Handlers, MemoryStore, StepCall, _call
from productkit.runtime._state import AppState

from .buildfixture import definition, service, user
from .conftest import FakeClock, MakeEngine
from .test_recent_states import _answers, _handlers, _product

APP = "app-1"


class _Rows(MemoryStore):
    """A MemoryStore given rows, as every durable store is (it changes how rows are committed)."""

    def commit(self, commit: Commit) -> None:
        super().commit(commit)


def _journey(engine: Engine) -> list[object]:
    app = engine.start("p.recent", "web", {}, application_id=APP)
    seen: list[object] = [app]
    if app.screen is not None:
        seen.append(engine.submit(APP, "confirm", {"confirm": {"ok": True}}))
        seen.append(engine.get(APP))
    return [*seen, engine.steps(APP), engine.audit(APP)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=_answers)
def test_kept_objects_read_as_the_rows_committed(make_engine: MakeEngine, clock: FakeClock,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  answer: dict[str, Any]) -> None:
    monkeypatch.setattr(_call, "time", SimpleNamespace(perf_counter=lambda: 0.0))  # attempts take 0 s
    runs = []
    for store in (MemoryStore(), _Rows()):
        calls: list[StepCall] = []
        engine = make_engine([_product()], _handlers(answer, calls), store)
        clock.now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=clock.now.tzinfo)
        journey = _journey(engine)
        assert (store.kept(APP) is not None) == (type(store) is MemoryStore)  # objects, or rows
        runs.append((journey, [(c.step_id, dict(c.inputs), dict(c.outputs)) for c in calls],
                     store.get(APP), store.steps(APP), store.audit(APP), store.ids(["ended"])))
    assert runs[0] == runs[1]  # the rows too, byte for byte


def _kept_product() -> ir.WorkflowDefinition:
    steps = [service("s", "h.s", outputs={"tags": "s.tags", "note": "s.note"}, timeout="PT5S",
                     compensation=ir.Compensation(handler="h.undo")),
             user("confirm", {"confirm.ok": ir.FieldDef(type="boolean")}, shows=["s.tags"]),
             service("t", "h.t", inputs={"tags": "s.tags"})]
    data = {"s.tags": ir.FieldDef(type="list", items=ir.FieldDef(type="string")),
            "s.note": ir.FieldDef(type="string")}
    return definition("p.kept", "1.0.0", steps, data=data)


def _meddling(answer: dict[str, Any], seen: list[StepCall]) -> Handlers:
    """Handlers that change what they were given, and ``h.t`` fails so that ``s`` is undone."""
    def t(call: StepCall) -> None:
        seen.append(call)
        call.inputs["tags"].append("changed by t")  # type: ignore[attr-defined]
        raise BusinessError("refused")

    def undo(call: StepCall) -> None:
        seen.append(call)
        call.outputs["extra"]["list"].append("changed by undo")  # type: ignore[index]
        call.inputs.clear()  # type: ignore[attr-defined]

    handlers = Handlers()
    handlers.add("h.s", lambda call: answer, inline=True)
    handlers.add("h.t", t, inline=True)
    handlers.add("h.undo", undo, inline=True)
    return handlers


def _committed(store: MemoryStore) -> tuple[object, ...]:
    return store.get(APP), tuple(store.steps(APP)), tuple(store.audit(APP))


def test_what_callers_and_handlers_change_is_not_what_was_committed(make_engine: MakeEngine) -> None:
    answer: dict[str, Any] = {"tags": ["a", "b"], "note": "n", "extra": {"list": [1, 2]}}
    store, seen = MemoryStore(), list[StepCall]()
    engine = make_engine([_kept_product()], _meddling(answer, seen), store)
    app = engine.start("p.kept", "web", {}, application_id=APP)
    before, view = _committed(store), engine.get(APP)
    kept = store.kept(APP)
    assert kept is not None and view.data["s.tags"] == ["a", "b"]

    answer["tags"].append("changed by s")  # the handler changes what it returned
    answer["extra"]["list"].append("changed by s")
    app.data["s.tags"].append("changed by the caller")  # type: ignore[attr-defined]
    assert app.screen is not None
    app.screen.shows["s.tags"].append("changed on the screen")  # type: ignore[attr-defined]
    engine.steps(APP)[0].outputs["s.tags"].append("changed in a record")  # type: ignore[attr-defined]
    assert _committed(store) == before and engine.get(APP) == view

    text = kept[0].to_row().state
    ended = engine.submit(APP, "confirm", {"confirm": {"ok": True}})  # later decisions, on copies
    assert kept[0].to_row().state == text
    assert ended.outcome == "failed" and [c.step_id for c in seen] == ["t", "s"]
    assert seen[0].inputs == {"tags": ["a", "b", "changed by t"]}  # its own copy, which it changed
    undo = seen[1]
    assert undo.outputs["extra"] == {"list": [1, 2, "changed by undo"]} and undo.inputs == {}
    state = AppState.from_row(_row(store))
    assert state.data["s.tags"] == ["a", "b"]
    assert state.undo["s"] == {"inputs": {}, "outputs": {"tags": ["a", "b"], "note": "n",
                                                          "extra": {"list": [1, 2]}}}
    [record] = [r for r in engine.steps(APP) if r.step_id == "t"]
    assert record.inputs == {"tags": ["a", "b"]}


def _row(store: MemoryStore) -> Any:
    row = store.get(APP)
    assert row is not None
    return row


def test_a_kept_state_is_written_as_a_row_once(make_engine: MakeEngine,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading a kept application as a row writes it the first time only; the engine's own reads
    never write it."""
    written: list[int] = []
    real = AppState.to_row

    def counting(self: AppState, revision: int | None = None) -> Any:
        written.append(revision or 0)
        return real(self, revision)

    monkeypatch.setattr(AppState, "to_row", counting)
    store = MemoryStore()
    engine = make_engine([_kept_product()], _meddling({"tags": [], "note": "n"}, []), store)
    engine.start("p.kept", "web", {}, application_id=APP)
    engine.get(APP)
    assert written == []
    assert store.get(APP) == store.get(APP) and len(written) == 1
    assert written == [_row(store).revision] and written[0] > 1  # the state of its last commit

