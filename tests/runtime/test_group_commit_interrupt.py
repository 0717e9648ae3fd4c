"""An interrupt while SQLiteStore writes a group transaction: the thread it was delivered to
gets it, the other callers of the batch a WriteInterrupted, nothing of the batch is stored, and
the store goes on taking commits (the lead is not left with a thread that is gone). An interrupt
raised as the batch's statement returns finds the batch committed: the others are acknowledged."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from productkit.runtime import AppRow, AuditRow, Commit, SQLiteStore, StepRow, WriteInterrupted, _sqlite_batch
from productkit.runtime import sqlite as sqlite_module


def _commit(app: str, expected: int = 0) -> Commit:
    row = AppRow(app, "p", "1.0.0", "web", "running", None, expected, '{"n":0}')
    return Commit(row, expected, (StepRow(app, f"s{expected}", "step", "done", "{}"),),
                  (AuditRow(app, expected + 1, "2026-03-02T09:00:00+08:00", "started", None, "{}"),))


def _committing(store: SQLiteStore, outcome: dict[str, BaseException | None]) -> Callable[[str], None]:
    """A thread's work: commit one application's row, and record how that ended."""
    def commit(app: str) -> None:
        try:
            store.commit(_commit(app))
            outcome[app] = None
        except BaseException as exc:
            outcome[app] = exc

    return commit


def _until(condition: object, seconds: float = 5.0) -> None:
    end = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < end, "timed out"
        time.sleep(0.001)


def test_an_interrupted_write_reaches_its_thread_and_the_others_get_a_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SQLiteStore(tmp_path / "apps.db")
    main, hold = threading.get_ident(), threading.Event()
    write_together = sqlite_module.SQLiteStore._write_together

    def write_then_interrupt(self: SQLiteStore, batch: list[sqlite_module._Pending]) -> bool:
        if batch[0].commit.app.id == "first":
            hold.wait(5)  # the first leader keeps the lead until the others are queued
        elif threading.get_ident() == main:
            raise KeyboardInterrupt
        return write_together(self, batch)

    monkeypatch.setattr(sqlite_module.SQLiteStore, "_write_together", write_then_interrupt)
    outcome: dict[str, BaseException | None] = {}
    commit = _committing(store, outcome)

    first = threading.Thread(target=commit, args=("first",))
    first.start()
    _until(lambda: store._leading)
    others = [threading.Thread(target=commit, args=(f"other{i}",)) for i in range(3)]

    def queue_others_then_release() -> None:
        _until(lambda: len(store._queue) == 1)  # the main thread's commit waits first in line
        for t in others:
            t.start()
        _until(lambda: len(store._queue) == 4)
        hold.set()

    threading.Thread(target=queue_others_then_release).start()
    with pytest.raises(KeyboardInterrupt):
        store.commit(_commit("mine"))
    for t in [first, *others]:
        t.join(5)

    assert outcome["first"] is None
    for i in range(3):
        error = outcome[f"other{i}"]
        assert isinstance(error, WriteInterrupted) and "KeyboardInterrupt" in str(error)
    assert store.get("first") is not None
    assert [store.get(a) for a in ("mine", "other0", "other1", "other2")] == [None] * 4
    monkeypatch.setattr(sqlite_module.SQLiteStore, "_write_together", write_together)
    store.commit(_commit("other0"))  # the store goes on: no lead left behind, no transaction open
    row = store.get("other0")
    assert row is not None and row.revision == 1
    store.close()


def test_an_interrupted_batch_write_marks_every_commit_and_stores_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SQLiteStore(tmp_path / "apps.db")
    calls: list[str] = []
    write_app = sqlite_module.SQLiteStore._write_app

    def interrupt_on_second(self: SQLiteStore, app: AppRow, expected: int) -> None:
        calls.append(app.id)
        if len(calls) == 2:
            raise KeyboardInterrupt
        write_app(self, app, expected)

    monkeypatch.setattr(sqlite_module.SQLiteStore, "_write_app", interrupt_on_second)
    monkeypatch.setattr(sqlite_module.SQLiteStore, "_write_together", lambda self, batch: False)  # one by one
    batch = [sqlite_module._Pending(_commit(a)) for a in ("A", "B", "C")]
    with store._lock, pytest.raises(KeyboardInterrupt):
        store._write(batch)
    assert all(p.done and isinstance(p.error, WriteInterrupted) for p in batch)
    assert store.get("A") is None and not store._db.in_transaction
    store.close()


def test_an_interrupt_as_the_batch_statement_returns_acknowledges_the_batch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SQLiteStore(tmp_path / "apps.db")
    store.commit(_commit("A"))
    write_together = sqlite_module.SQLiteStore._write_together

    def committed_then_interrupted(self: SQLiteStore, batch: list[sqlite_module._Pending]) -> bool:
        values = _sqlite_batch.batch_rows([p.commit for p in batch])
        self._db.execute(_sqlite_batch.batch_sql(len(values) // _sqlite_batch.WIDTH), values)
        raise KeyboardInterrupt  # as Python raises it when the statement's call returns

    monkeypatch.setattr(sqlite_module.SQLiteStore, "_write_together", committed_then_interrupted)
    batch = [sqlite_module._Pending(c) for c in (_commit("A", 1), _commit("B"), _commit("C"))]
    with store._lock, pytest.raises(KeyboardInterrupt):
        store._write(batch)
    assert all(p.done and p.error is None for p in batch)
    assert [store.get(a).revision for a in "ABC"] == [2, 1, 1]  # type: ignore[union-attr]
    assert store.stats().transactions == 2

    # Not committed (a stale Commit refused the statement): the others are told so, nothing stored.
    monkeypatch.setattr(sqlite_module.SQLiteStore, "_write_together", write_together)
    interrupted_before = [sqlite_module._Pending(c) for c in (_commit("D"), _commit("A", 1))]

    def refused_then_interrupted(self: SQLiteStore, batch: list[sqlite_module._Pending]) -> bool:
        assert not write_together(self, batch)  # A is at revision 2: the statement was refused
        raise KeyboardInterrupt

    monkeypatch.setattr(sqlite_module.SQLiteStore, "_write_together", refused_then_interrupted)
    with store._lock, pytest.raises(KeyboardInterrupt):
        store._write(interrupted_before)
    assert all(isinstance(p.error, WriteInterrupted) for p in interrupted_before)
    assert store.get("D") is None and not store._db.in_transaction
    store.close()


def test_an_interrupt_while_the_leader_gathers_leaves_the_lead_to_the_others(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SQLiteStore(tmp_path / "apps.db")
    store._last_batch = 8  # the leader will wait for four callers
    gathering = threading.Event()
    gather = sqlite_module.SQLiteStore._gather

    def gather_until_others_queue(self: SQLiteStore) -> None:
        gathering.set()
        _until(lambda: len(self._queue) == 3)
        raise KeyboardInterrupt

    monkeypatch.setattr(sqlite_module.SQLiteStore, "_gather", gather_until_others_queue)
    outcome: dict[str, BaseException | None] = {}
    commit = _committing(store, outcome)

    others = [threading.Thread(target=commit, args=(app,)) for app in ("B", "C")]

    def queue_others() -> None:
        gathering.wait(5)
        monkeypatch.setattr(sqlite_module.SQLiteStore, "_gather", gather)  # the next leader gathers as usual
        for t in others:
            t.start()

    threading.Thread(target=queue_others).start()
    with pytest.raises(KeyboardInterrupt):
        store.commit(_commit("A"))
    for t in others:
        t.join(5)
    assert outcome == {"B": None, "C": None}  # written by the next leader, not left waiting
    assert store.get("A") is None and store.get("B") is not None and store.get("C") is not None
    store.close()
