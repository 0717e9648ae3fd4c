"""A group transaction is one statement for its whole batch, which commits itself (sqlite3 lets go
of the GIL around every statement, so each one costs the writing thread a hand-over under load,
and with one the callers of the next batch run while this one is written), and still writes
exactly what the same Commits write one by one."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from productkit.runtime import AppRow, AuditRow, Commit, SQLiteStore, StaleApplication, StepRow
from productkit.runtime import sqlite as sqlite_module


def _commit(app: str, expected: int, steps: int = 1, status: str = "running") -> Commit:
    row = AppRow(app, "p", "1.0.0", "web", status, expected or None, expected, f'{{"app":"{app}","n":{expected}}}')
    step_rows = tuple(StepRow(app, f"s{expected}-{i}", "step", "done", f'{{"i":{i}}}') for i in range(steps))
    audit = (AuditRow(app, 2 * expected + 1, "2026-03-02T09:00:00+08:00", "step", f"s{expected}-0", "{}"),
             AuditRow(app, 2 * expected + 2, "2026-03-02T09:00:01+08:00", "note", None, '{"x":null}'))
    return Commit(row, expected, step_rows, audit)


def _dump(store: SQLiteStore) -> list[object]:
    db = store._reader
    return [db.execute("SELECT id, product_id, version, channel, status, due_at, revision, state "
                       "FROM applications ORDER BY id").fetchall(),
            db.execute("SELECT app_id, step_id, kind, status, body FROM steps ORDER BY app_id, rowid").fetchall(),
            db.execute("SELECT app_id, seq, at, kind, step_id, body FROM audit ORDER BY app_id, seq").fetchall()]


def _write(store: SQLiteStore, commits: list[Commit]) -> list[sqlite_module._Pending]:
    batch = [sqlite_module._Pending(c) for c in commits]
    with store._lock:
        store._write(batch)
    return batch


class _Counted:
    """The store's writing connection, counting the calls into SQLite."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db, self.calls = db, 0

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self.calls += 1
        return self.db.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self.db, name)


def test_a_batch_is_one_statement_that_commits_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, reference = SQLiteStore(tmp_path / "apps.db"), SQLiteStore(tmp_path / "ref.db")
    for n in range(12):
        store.commit(_commit(f"A{n:02}", 0))
        reference.commit(_commit(f"A{n:02}", 0))
    counted = _Counted(store._db)
    monkeypatch.setattr(store, "_db", counted)
    commits = [_commit(f"A{n:02}", 1, steps=n % 3) for n in range(12)] + [_commit("B", 0, steps=2)]
    batch = _write(store, commits)
    assert all(p.error is None for p in batch)
    assert counted.calls == 1 and not counted.db.in_transaction
    for c in commits:
        reference.commit(c)
    assert _dump(store) == _dump(reference)
    assert store.stats().transactions == 13
    store.close()
    reference.close()


@pytest.mark.parametrize("max_rows", [None, 50])
def test_a_large_batch_stores_what_one_by_one_stores(tmp_path: Path, max_rows: int | None) -> None:
    """207 Commits in one statement, and (a limit of 50 rows per statement) beyond one statement's
    parameters, written one by one: the same rows either way."""
    size = 2 * sqlite_module._CHUNK + 7
    store, reference = SQLiteStore(tmp_path / "apps.db"), SQLiteStore(tmp_path / "ref.db")
    if max_rows is not None:
        store._max_rows = max_rows
    first = [_commit(f"A{n:03}", 0, steps=2) for n in range(size)]
    second = [_commit(f"A{n:03}", 1, steps=3, status="awaiting_input") for n in range(size)]
    for commits in (first, second):
        assert all(p.error is None for p in _write(store, commits))
        for c in commits:
            reference.commit(c)
    assert store.stats().largest_batch == size
    assert _dump(store) == _dump(reference)
    assert [r.step_id for r in store.steps("A007")] == ["s0-0", "s0-1", "s1-0", "s1-1", "s1-2"]
    store.close()
    reference.close()


def test_text_and_numbers_are_stored_as_given(tmp_path: Path) -> None:
    """What goes through the batch statement comes back exactly: NUL and other control
    characters, text beyond the basic plane, numbers as wide as SQLite's."""
    store, reference = SQLiteStore(tmp_path / "apps.db"), SQLiteStore(tmp_path / "ref.db")
    odd = "a\x00b\u2028\U0001F600\"q\"\n"
    row = AppRow("A", odd, "1.0.0", "web", "running", 2**63 - 1, 0, '{"s":"' + odd + '"}')
    commits = [Commit(row, 0, (StepRow("A", odd, "step", "done", odd),), (AuditRow("A", 1, odd, "k", None, odd),)),
               _commit("B", 0)]
    assert all(p.error is None for p in _write(store, commits))
    for c in commits:
        reference.commit(c)
    assert _dump(store) == _dump(reference)
    assert store.get("A") == AppRow("A", odd, "1.0.0", "web", "running", 2**63 - 1, 1, row.state)
    store.close()
    reference.close()


def test_a_stale_revision_in_a_batch_refuses_that_commit_alone(tmp_path: Path) -> None:
    store, reference = SQLiteStore(tmp_path / "apps.db"), SQLiteStore(tmp_path / "ref.db")
    for app in ("A", "B", "C"):
        store.commit(_commit(app, 0))
        reference.commit(_commit(app, 0))
    batch = _write(store, [_commit("A", 1), _commit("B", 2), _commit("C", 1)])  # B is at revision 1
    assert [type(p.error) for p in batch] == [type(None), StaleApplication, type(None)]
    for c in (_commit("A", 1), _commit("C", 1)):
        reference.commit(c)
    assert _dump(store) == _dump(reference)
    store.close()
    reference.close()


def test_the_same_application_twice_in_a_batch_is_written_once(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "apps.db")
    store.commit(_commit("A", 0))
    twin = Commit(_commit("A", 1).app, 1, (StepRow("A", "other", "step", "done", "{}"),))
    batch = _write(store, [_commit("A", 1), twin, _commit("B", 0)])
    assert [type(p.error) for p in batch] == [type(None), StaleApplication, type(None)]
    assert [r.step_id for r in store.steps("A")] == ["s0-0", "s1-0"]
    assert store.get("A") == AppRow("A", "p", "1.0.0", "web", "running", 1, 2, '{"app":"A","n":1}')
    store.close()


def test_statuses_and_kinds_are_stored_as_their_text(tmp_path: Path) -> None:
    """The batch binds a status or kind (a StrEnum member) as the plain text it equals and fills
    the columns a row leaves unused with 0: what is stored is what one by one stores, as text."""
    from productkit.runtime.status import AuditKind, RecordKind, Status, StepStatus

    def commit(app: str, expected: int, status: Status) -> Commit:
        row = AppRow(app, "p", "1.0.0", "web", status, None, expected, "{}")
        steps = (StepRow(app, f"s{expected}", RecordKind.COMPENSATION, StepStatus.FAILED, "{}"),)
        audit = (AuditRow(app, expected + 1, "2026-03-02T09:00:00+08:00", AuditKind.ENDED, None, "{}"),)
        return Commit(row, expected, steps, audit)

    store, reference = SQLiteStore(tmp_path / "apps.db"), SQLiteStore(tmp_path / "ref.db")
    for batch in ([commit("A", 0, Status.RUNNING), commit("B", 0, Status.AWAITING_INPUT)],
                  [commit("A", 1, Status.ENDED), commit("B", 1, Status.COMPENSATING)]):
        assert all(p.error is None for p in _write(store, batch))
        for c in batch:
            reference.commit(c)
    assert _dump(store) == _dump(reference)
    assert [r[4] for r in _dump(store)[0]] == ["ended", "compensating"]  # type: ignore[index]
    kinds = store._reader.execute("SELECT DISTINCT typeof(status), typeof(due_at) FROM applications UNION ALL "
                                  "SELECT DISTINCT typeof(kind), typeof(status) FROM steps UNION ALL "
                                  "SELECT DISTINCT typeof(kind), typeof(step_id) FROM audit").fetchall()
    assert kinds == [("text", "null"), ("text", "text"), ("text", "null")]
    store.close()
    reference.close()


def test_a_missing_due_time_or_step_id_is_null_and_nothing_else_is(tmp_path: Path) -> None:
    """The batch fills the columns a row leaves unused with 0: a due time or step id of None is
    stored as NULL, and one a row holds (0, a negative time, empty text, text "0") as it is."""
    store, reference = SQLiteStore(tmp_path / "apps.db"), SQLiteStore(tmp_path / "ref.db")
    commits = [Commit(AppRow(f"A{n}", "p", "1.0.0", "web", "running", due, 0, "{}"), 0, (),
                      (AuditRow(f"A{n}", 1, "2026-03-02T09:00:00+08:00", "note", step, "{}"),))
               for n, (due, step) in enumerate([(None, None), (0, ""), (-1, "0"), (2**63 - 1, " ")])]
    assert all(p.error is None for p in _write(store, commits))
    moved = [Commit(AppRow(c.app.id, "p", "1.0.0", "web", "ended", due, 1, "{}"), 1)
             for c, due in zip(commits, [0, None, None, -5], strict=True)]
    assert all(p.error is None for p in _write(store, moved))
    for c in commits + moved:
        reference.commit(c)
    assert _dump(store) == _dump(reference)
    assert [r[5] for r in _dump(store)[0]] == [0, None, None, -5]  # type: ignore[index]
    assert [r[4] for r in _dump(store)[2]] == [None, "", "0", " "]  # type: ignore[index]
    store.close()
    reference.close()
