"""MemoryStore refuses a step recorded twice for an application (StaleApplication naming the
step), whether the records come as objects (``keep``) or as rows (``commit``), and records each
step of a commit that passes."""

from __future__ import annotations

import datetime as dt

import pytest

from productkit.runtime import AppRow, Commit, MemoryStore, StaleApplication, StepRow
from productkit.runtime._state import WRITER, AppState
from productkit.runtime.status import RecordKind, Status, StepStatus
from productkit.runtime.views import StepRecord

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
