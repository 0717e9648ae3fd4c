"""A group transaction writes its Commits together (a few statements for the whole batch) and,
only when one of them fails, again one by one under savepoints, so the failing one alone is
refused and the rows of the others are exactly those of a clean batch."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
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


def test_a_caller_alone_never_waits_for_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SQLiteStore(tmp_path / "apps.db")
    clock: list[float] = []
    monotonic = sqlite_module.time.monotonic
    monkeypatch.setattr(sqlite_module.time, "monotonic", lambda: clock.append(0) or monotonic())
    for rev in range(5):
        store.commit(_commit("A", rev, f"s{rev}"))
    assert clock == [] and store._last_batch == 1  # the commit delay never started
    store.close()


def test_after_a_shared_transaction_the_leader_waits_only_while_commits_arrive(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "apps.db")
    store._last_batch = 8  # as after a transaction of eight callers; none of them comes back
    started = sqlite_module.time.monotonic()
    store.commit(_commit("A", 0, "s0"))
    waited = sqlite_module.time.monotonic() - started
    assert waited < sqlite_module._GATHER_SECONDS + 0.05  # the quiet window ended the wait
    assert store._last_batch == 1 and store._gathering is None
    store.close()


def test_the_caller_that_makes_half_the_last_batch_wakes_the_leader(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The leader sleeps on a lock, not in a loop: the caller whose Commit makes half of the last
    batch releases it, and the leader writes them together."""
    monkeypatch.setattr(sqlite_module, "_QUIET_SECONDS", 5.0)  # only the wake can end the wait
    monkeypatch.setattr(sqlite_module, "_GATHER_SECONDS", 10.0)
    store = SQLiteStore(tmp_path / "apps.db")
    store._last_batch = 6  # half: three Commits
    leader = threading.Thread(target=store.commit, args=(_commit("A", 0, "s0"),))
    leader.start()
    _until(lambda: store._gathering is not None)
    others = [threading.Thread(target=store.commit, args=(_commit(app, 0, "s0"),)) for app in "BC"]
    started = time.monotonic()
    for t in others:
        t.start()
    for t in [leader, *others]:
        t.join(5)
    assert time.monotonic() - started < 2.0  # woken by C, not by the five-second timeout
    assert store.stats().transactions == 1 and store.stats().largest_batch == 3
    store.close()


def _until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.001)
