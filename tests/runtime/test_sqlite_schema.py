"""The SQLite store's tables: a file of version 1 is brought up to date on open with every row
kept in its order; a newer file is refused untouched; concurrent applications' rows share the
index pages, so a group transaction writes few pages to the log."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from productkit.runtime import AppRow, AuditRow, Commit, SQLiteStore, StaleApplication, StepRow
from productkit.runtime import sqlite as sqlite_module
from productkit.runtime._sqlite_schema import SCHEMA_VERSION

# Version 1 as SQLiteStore wrote it (the tables a deployed file holds).
_VERSION_1 = """
CREATE TABLE applications (
  id TEXT PRIMARY KEY, product_id TEXT NOT NULL, version TEXT NOT NULL, channel TEXT NOT NULL,
  status TEXT NOT NULL, due_at INTEGER, revision INTEGER NOT NULL, state TEXT NOT NULL,
  created_seq INTEGER NOT NULL
);
CREATE INDEX applications_status ON applications (status, created_seq);
CREATE INDEX applications_due ON applications (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX applications_created ON applications (created_seq);
CREATE TABLE steps (
  app_id TEXT NOT NULL, step_id TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
  body TEXT NOT NULL, PRIMARY KEY (app_id, step_id, kind)
);
CREATE TABLE audit (
  app_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL,
  step_id TEXT, body TEXT NOT NULL, PRIMARY KEY (app_id, seq)
);
PRAGMA user_version = 1;
"""


def _version_1(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(_VERSION_1)
    for seq, app in enumerate(("B", "A"), start=1):
        db.execute("INSERT INTO applications VALUES (?, 'p', '1.0.0', 'web', 'running', 5, 3, ?, ?)",
                   (app, f'{{"app":"{app}"}}', seq))
    # written out of key order: a read gives them back in the order they were written
    for app, step in (("A", "zeta"), ("B", "one"), ("A", "alpha"), ("A", "mid")):
        db.execute("INSERT INTO steps VALUES (?, ?, 'step', 'done', ?)", (app, step, f'{{"s":"{step}"}}'))
    for app, seq in (("A", 2), ("B", 1), ("A", 1)):
        db.execute("INSERT INTO audit VALUES (?, ?, '2026-03-02T09:00:00+08:00', 'step', NULL, '{}')", (app, seq))
    db.close()


def test_a_version_1_file_is_brought_up_to_date_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _version_1(path)
    store = SQLiteStore(path)
    assert [r.step_id for r in store.steps("A")] == ["zeta", "alpha", "mid"]
    assert store.steps("B") == [StepRow("B", "one", "step", "done", '{"s":"one"}')]
    assert [(r.app_id, r.seq) for r in store.audit("A")] == [("A", 1), ("A", 2)]
    assert store.get("A") == AppRow("A", "p", "1.0.0", "web", "running", 5, 3, '{"app":"A"}')
    assert store.ids(["running"]) == ["B", "A"]

    again = Commit(AppRow("A", "p", "1.0.0", "web", "ended", None, 3, "{}"), 3,
                   (StepRow("A", "alpha", "step", "done", "{}"),))
    with pytest.raises(StaleApplication):  # the step is recorded: the key came over
        store.commit(again)
    store.commit(Commit(again.app, 3, (StepRow("A", "end", "step", "done", "{}"),)))
    assert [r.step_id for r in store.steps("A")] == ["zeta", "alpha", "mid", "end"]
    tables = {r[0] for r in store._reader.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"applications", "steps", "audit"}
    assert store._reader.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    store.close()
    assert [r.step_id for r in SQLiteStore(path).steps("A")] == ["zeta", "alpha", "mid", "end"]


def test_a_file_of_a_newer_version_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(sqlite3.DatabaseError, match="newer productkit"):
        SQLiteStore(path)
    db = sqlite3.connect(path)
    assert db.execute("SELECT name FROM sqlite_master").fetchall() == []
    assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION + 1,)
    db.close()


def _commit(app: str, expected: int) -> Commit:
    row = AppRow(app, "p", "1.0.0", "web", "running", None, expected, f'{{"n":{expected},"pad":"{"x" * 600}"}}')
    return Commit(row, expected, (StepRow(app, f"s{expected}", "step", "done", "{}"),),
                  (AuditRow(app, expected + 1, "2026-03-02T09:00:00+08:00", "step", None, "{}"),))


def _write(store: SQLiteStore, commits: list[Commit]) -> None:
    batch = [sqlite_module._Pending(c) for c in commits]
    with store._lock:
        store._write(batch)
    assert all(p.error is None for p in batch)


def test_a_group_transaction_writes_few_pages(tmp_path: Path) -> None:
    """Twenty applications started together (random ids, as the engine gives them) each take a
    step: their step and audit keys share pages; keyed by id they took about two pages each."""
    store = SQLiteStore(tmp_path / "apps.db")
    ids = [uuid.uuid4().hex for _ in range(400)]
    for start in range(0, len(ids), 20):
        for revision in range(3):
            _write(store, [_commit(app, revision) for app in ids[start:start + 20]])
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _write(store, [_commit(app, 3) for app in ids[-20:]])
    busy, frames, _ = store._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0 and frames <= 16  # version 1: 37 pages
    store.close()
