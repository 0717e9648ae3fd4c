"""The SQLite store's handle on the WAL index (``-shm``): SQLite's lock on it is never dropped
while a store is open (a descriptor of the file closed by the store would drop it: POSIX), and
the writer lock on it orders the leaders of stores in different processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from productkit.runtime import AppRow, Commit, SQLiteStore

pytestmark = pytest.mark.skipif(not Path("/proc/locks").exists(), reason="reads the kernel's lock table (Linux)")


def _shm_locks(db: Path) -> list[str]:
    """This process's POSIX locks on the database's WAL index, as /proc/locks lists them."""
    inode = os.stat(f"{db}-shm").st_ino
    mine = str(os.getpid())
    return [line for line in Path("/proc/locks").read_text().splitlines()
            if f":{inode} " in line and line.split()[4] == mine and "POSIX" in line]


def test_the_wal_index_stays_locked_while_a_store_is_open(tmp_path: Path) -> None:
    db = tmp_path / "apps.db"
    first = SQLiteStore(db)
    assert _shm_locks(db), "SQLite's lock on the WAL index is gone once the store opened"
    second = SQLiteStore(db)
    first.close()
    assert _shm_locks(db), "closing one of two stores on a file dropped the other's lock"
    second.commit(Commit(AppRow("a-1", "p", "1.0.0", "web", "running", None, 0, "{}"), 0, (), ()))
    assert second.get("a-1") is not None
    second.close()
    assert not Path(f"{db}-shm").exists(), "the last connection did not find the index its own to remove"


def test_another_process_opening_the_database_leaves_the_index_in_use(tmp_path: Path) -> None:
    """With its lock kept, a second process finds the index in use and joins it: the store's
    rows and its change counter stay right across the other process's commit."""
    db = tmp_path / "apps.db"
    store = SQLiteStore(db)
    try:
        store.commit(Commit(AppRow("a-1", "p", "1.0.0", "web", "running", None, 0, "{}"), 0, (), ()))
        script = textwrap.dedent(f"""
            import sqlite3
            db = sqlite3.connect({str(db)!r}, isolation_level=None)
            db.execute("UPDATE applications SET status = 'completed', revision = 2 WHERE id = 'a-1'")
            db.close()
        """)
        subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
        row = store.get("a-1")
        assert row is not None and (row.status, row.revision) == ("completed", 2)
        assert _shm_locks(db)
    finally:
        store.close()


def test_a_leader_waits_for_another_process_holding_the_writer_lock(tmp_path: Path) -> None:
    db = tmp_path / "apps.db"
    store = SQLiteStore(db)
    script = textwrap.dedent(f"""
        import sys, time
        from productkit.runtime import AppRow, Commit, SQLiteStore
        store = SQLiteStore({str(db)!r})
        print("open", flush=True)
        sys.stdin.readline()
        started = time.monotonic()
        store.commit(Commit(AppRow("b-1", "p", "1.0.0", "web", "running", None, 0, "{{}}"), 0, (), ()))
        print(f"{{time.monotonic() - started:.3f}}", flush=True)
        store.close()
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env=env)
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "open"
        with store._shm.writing():
            child.stdin.write("go\n")
            child.stdin.flush()
            time.sleep(0.5)
            assert child.poll() is None
            assert store.get("b-1") is None, "the other process wrote while this one held the writer lock"
        waited = float(child.stdout.readline())
        assert child.wait(timeout=60) == 0
    finally:
        if child.poll() is None:
            child.kill()
        store.close()
    assert waited >= 0.4, waited
    row = SQLiteStore(db)
    try:
        assert row.get("b-1") is not None
    finally:
        row.close()
