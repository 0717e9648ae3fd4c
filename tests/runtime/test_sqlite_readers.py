"""SQLiteStore reads: each read takes an idle reading connection and opens another when none is
idle, so a read under way (its thread waiting for the interpreter) never holds up the others;
close() closes every connection it opened. (The steps are read here: a row the store committed
itself may be answered without a query, see test_sqlite_kept_rows.py.)"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from productkit.runtime import AppRow, Commit, SQLiteStore, StepRow


def _store(tmp_path: Path) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "r.db")
    row = AppRow("A", "p", "1.0.0", "web", "running", None, 0, '{"n":1}')
    store.commit(Commit(row, 0, (StepRow("A", "s", "step", "done", "{}"),)))
    return store


def test_a_read_under_way_does_not_hold_up_another(tmp_path: Path) -> None:
    store = _store(tmp_path)
    busy = store._idle.get_nowait()  # a reader in the middle of its query
    try:
        done = threading.Event()
        worker = threading.Thread(target=lambda: (store.steps("A"), done.set()))
        worker.start()
        assert done.wait(5), "the read waited for the one under way"
        assert [s.step_id for s in store.steps("A")] == ["s"] and len(store._readers) == 2
    finally:
        store._idle.put(busy)
    assert [s.step_id for s in store.steps("A")] == ["s"] and store.ids(["running"]) == ["A"]
    store.close()


def test_reads_from_many_threads_agree_and_close_closes_every_connection(tmp_path: Path) -> None:
    store = _store(tmp_path)
    seen: list[object] = []
    barrier = threading.Barrier(8)

    def read() -> None:
        barrier.wait()
        for _ in range(50):
            seen.append(store.steps("A"))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 400 and len({repr(r) for r in seen}) == 1
    readers = list(store._readers)
    assert 1 <= len(readers) <= 8
    store.close()
    for db in readers:
        with pytest.raises(sqlite3.ProgrammingError):
            db.execute("SELECT 1")


def test_no_reading_connection_outlives_a_closed_store(tmp_path: Path) -> None:
    """A read that finds no idle connection once the store is closed opens none that would stay open."""
    store = _store(tmp_path)
    store.close()
    while not store._idle.empty():  # every reader busy: the read would open a new one
        store._idle.get_nowait()
    readers = list(store._readers)
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        store.get("A")
    assert store._readers == readers
