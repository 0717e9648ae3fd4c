"""A group transaction writes its Commits together (a few statements for the whole batch) and,
only when one of them fails, again one by one under savepoints, so the failing one alone is
refused and the rows of the others are exactly those of a clean batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from productkit.runtime import AppRow, AuditRow, Commit, SQLiteStore, StaleApplication, StepRow
from productkit.runtime import sqlite as sqlite_module


def _commit(app: str, expected: int, step: str) -> Commit:
    row = AppRow(app, "p", "1.0.0", "web", "running", None, expected, f'{{"n":{expected}}}')
    return Commit(row, expected, (StepRow(app, step, "step", "done", f'{{"s":"{step}"}}'),),
                  (AuditRow(app, expected + 1, "2026-03-02T09:00:00+08:00", "started", None, "{}"),))


def _dump(store: SQLiteStore) -> list[object]:
    db = store._reader
    return [db.execute("SELECT id, revision, state FROM applications ORDER BY id").fetchall(),
            db.execute("SELECT * FROM steps ORDER BY app_id, rowid").fetchall(),
            db.execute("SELECT * FROM audit ORDER BY app_id, seq").fetchall()]


@pytest.fixture
def one_by_one(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    applied: list[str] = []
    apply = sqlite_module.SQLiteStore._apply

    def counted(self: SQLiteStore, pending: sqlite_module._Pending) -> None:
        applied.append(pending.commit.app.id)
        apply(self, pending)

    monkeypatch.setattr(sqlite_module.SQLiteStore, "_apply", counted)
    return applied


def test_a_clean_batch_is_written_together(tmp_path: Path, one_by_one: list[str]) -> None:
    store = SQLiteStore(tmp_path / "apps.db")
    store.commit(_commit("A", 0, "s0"))
    batch = [sqlite_module._Pending(c) for c in (_commit("A", 1, "s1"), _commit("B", 0, "s0"),
                                                  _commit("C", 0, "s0"))]
    with store._lock:
        store._write(batch)
    assert one_by_one == [] and all(p.done and p.error is None for p in batch)

    reference = SQLiteStore(tmp_path / "ref.db")
    for c in (_commit("A", 0, "s0"), _commit("A", 1, "s1"), _commit("B", 0, "s0"), _commit("C", 0, "s0")):
        reference.commit(c)
    assert _dump(store) == _dump(reference)
    store.close()
    reference.close()


def test_a_failing_commit_sends_the_batch_one_by_one(tmp_path: Path, one_by_one: list[str]) -> None:
    store = SQLiteStore(tmp_path / "apps.db")
    store.commit(_commit("A", 0, "s0"))
    batch = [sqlite_module._Pending(c) for c in (_commit("B", 0, "s0"), _commit("A", 0, "s1"),
                                                  _commit("C", 0, "s0"))]
    with store._lock:
        store._write(batch)
    assert one_by_one == ["B", "A", "C"]
    assert [type(p.error) for p in batch] == [type(None), StaleApplication, type(None)]
    apps = {row[0]: row[1] for row in _dump(store)[0]}  # type: ignore[attr-defined]
    assert apps == {"A": 1, "B": 1, "C": 1}
    store.close()


def test_a_leader_never_sleeps_for_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No commit delay: a leader writes at once what is queued (the batches overlap with their
    callers' work instead)."""
    store = SQLiteStore(tmp_path / "apps.db")
    slept: list[float] = []
    monkeypatch.setattr(sqlite_module.time, "sleep", slept.append)
    for rev in range(5):
        store.commit(_commit("A", rev, f"s{rev}"))
    assert slept == [] and store.stats().transactions == 5
    store.close()
