"""SQLiteStore.stats(): the Commits a store acknowledged and the durable transactions that held
them, so that a benchmark can say how many syncs an application cost."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from productkit.runtime import AppRow, AuditRow, Commit, SQLiteStore, StepRow
from productkit.runtime import sqlite as sqlite_module
from productkit.runtime.sqlite import WriteStats


def _commit(app: str, expected: int) -> Commit:
    row = AppRow(app, "p", "1.0.0", "web", "running", None, expected, '{"n":0}')
    return Commit(row, expected, (StepRow(app, f"s{expected}", "step", "done", "{}"),),
                  (AuditRow(app, expected + 1, "2026-03-02T09:00:00+08:00", "started", None, "{}"),))


def test_a_caller_alone_writes_one_transaction_per_commit(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "apps.db")
    assert store.stats() == WriteStats(0, 0, 0, 0.0)
    for rev in range(4):
        store.commit(_commit("A", rev))
    stats = store.stats()
    assert (stats.commits, stats.transactions, stats.largest_batch) == (4, 4, 1)
    assert stats.commit_seconds > 0
    store.close()


def test_a_batch_is_one_transaction_and_counts_only_what_it_stored(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "apps.db")
    store.commit(_commit("A", 0))
    batch = [sqlite_module._Pending(c) for c in (_commit("B", 0), _commit("A", 0), _commit("C", 0))]
    with store._lock:
        store._write(batch)
    assert [p.error is None for p in batch] == [True, False, True]  # A is at revision 1 already
    stats = store.stats()
    assert (stats.commits, stats.transactions, stats.largest_batch) == (3, 2, 3)
    store.close()


def test_a_transaction_that_failed_to_commit_is_not_counted(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    store = SQLiteStore(tmp_path / "apps.db")
    store.commit(_commit("A", 0))
    real = store._db

    class FailingCommit:  # the batch's statement commits it, one by one the COMMIT does
        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
            if sql == "COMMIT" or sql.startswith("INSERT INTO batch"):
                raise sqlite3.OperationalError("disk I/O error")
            return real.execute(sql, *args)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    monkeypatch.setattr(store, "_db", FailingCommit())
    with pytest.raises(sqlite3.OperationalError):
        store.commit(_commit("A", 1))
    monkeypatch.setattr(store, "_db", real)
    stats = store.stats()
    assert (stats.commits, stats.transactions) == (1, 1)
    row = store.get("A")
    assert row is not None and row.revision == 1
    store.close()
