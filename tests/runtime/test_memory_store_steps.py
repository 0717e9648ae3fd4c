"""MemoryStore refuses a step recorded twice for an application (StaleApplication naming the
step), whether the records come as objects (``keep``) or as rows (``commit``), and records each
step of a commit that passes; what it holds reads back in order, each object written by the
writer it was kept with."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from productkit.runtime import AppRow, AuditRow, Commit, MemoryStore, StaleApplication, StepRow
from productkit.runtime._state import WRITER, AppState, audit_row, step_row
from productkit.runtime.status import AuditKind, RecordKind, Status, StepStatus
from productkit.runtime.views import AuditEvent, StepRecord

T = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _state(app_id: str = "A") -> AppState:
    return AppState(app_id, "p", "1.0.0", "sha", "web", Status.RUNNING, T, T)


def _record(step_id: str, kind: RecordKind = RecordKind.STEP) -> StepRecord:
    return StepRecord(step_id, kind, StepStatus.DONE, T)


def test_a_kept_step_kept_again_is_refused_by_name() -> None:
    store = MemoryStore()
    store.keep(_state(), 0, [_record("a"), _record("b")], [], WRITER)
    store.keep(_state(), 1, [_record("a", RecordKind.COMPENSATION)], [], WRITER)  # another kind
    with pytest.raises(StaleApplication, match="step b of A is already recorded"):
        store.keep(_state(), 2, [_record("c"), _record("b"), _record("a")], [], WRITER)
    store.keep(_state(), 2, [_record("c")], [], WRITER)  # the refused commit left nothing behind
    assert [r.step_id for r in store.steps("A")] == ["a", "b", "a", "c"]
    store.keep(_state("B"), 0, [_record("b")], [], WRITER)  # another application's steps are its own


def test_a_committed_step_row_committed_again_is_refused() -> None:
    store = MemoryStore()
    row = AppRow("A", "p", "1.0.0", "web", "running", None, 0, "{}")
    store.commit(Commit(row, 0, (StepRow("A", "a", "step", "done", "{}"),)))
    with pytest.raises(StaleApplication, match="step a of A is already recorded"):
        store.commit(Commit(row, 1, (StepRow("A", "a", "step", "done", "{}"),)))


class _Marked:
    """A writer whose rows say it wrote them."""

    def app_row(self, state: Any, revision: int) -> AppRow:
        return WRITER.app_row(state, revision)

    def step_row(self, app_id: str, record: Any) -> StepRow:
        return StepRow(app_id, record.step_id, record.kind, record.status, "marked")

    def audit_row(self, app_id: str, event: Any) -> AuditRow:
        return AuditRow(app_id, event.seq, "marked", event.kind, event.step_id, "{}")


def test_held_objects_read_in_order_each_with_its_writer() -> None:
    store = MemoryStore()
    events = [AuditEvent(n, T, AuditKind.STARTED, None, {}) for n in (1, 2, 3)]
    store.keep(_state(), 0, [_record("a"), _record("b")], events[:1], WRITER)
    store.keep(_state(), 1, [_record("c")], events[1:2], _Marked())
    store.keep(_state(), 2, [_record("d")], events[2:], WRITER)
    assert [(r.step_id, r.body == "marked") for r in store.steps("A")] == \
        [("a", False), ("b", False), ("c", True), ("d", False)]
    assert store.steps("A")[0] == step_row("A", _record("a"))
    assert [(e.seq, e.at == "marked") for e in store.audit("A")] == [(1, False), (2, True), (3, False)]
    assert store.audit("A")[2] == audit_row("A", events[2])
