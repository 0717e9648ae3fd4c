"""The SQLite store's handle on the WAL index (``-shm``): SQLite's lock on it is never dropped
while a store is open (a descriptor of the file closed by the store would drop it: POSIX), the
handle is closed with the process's last store on the file; and the writer lock orders the
leaders of stores, in one process and in several."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from productkit.runtime import AppRow, Commit, SQLiteStore, _sqlite_shm

pytestmark = pytest.mark.skipif(not Path("/proc/locks").exists(), reason="reads the kernel's lock table (Linux)")


def _shm_locks(db: Path) -> list[str]:
    """This process's POSIX locks on the database's WAL index, as /proc/locks lists them."""
    inode = os.stat(f"{db}-shm").st_ino
    mine = str(os.getpid())
    return [line for line in Path("/proc/locks").read_text().splitlines()
            if f":{inode} " in line and line.split()[4] == mine and "POSIX" in line]


def _open_on(path: Path) -> list[str]:
    """This process's descriptors open on ``path`` (by name: /proc/self/fd)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                found.append(fd)
        except OSError:  # closed meanwhile (the listing's own descriptor)
            continue
    return found


def _commit(store: SQLiteStore, app: str) -> None:
    store.commit(Commit(AppRow(app, "p", "1.0.0", "web", "running", None, 0, "{}"), 0, (), ()))


def test_the_wal_index_stays_locked_while_a_store_is_open(tmp_path: Path) -> None:
    db = tmp_path / "apps.db"
    shm = tmp_path / "apps.db-shm"
    first = SQLiteStore(db)
    assert _shm_locks(db), "SQLite's lock on the WAL index is gone once the store opened"
    found = os.stat(shm)
    key = (found.st_dev, found.st_ino)
    assert _sqlite_shm._handles[key].users == 1
    second = SQLiteStore(db)
    assert len(_open_on(shm)) <= 3, "each store opened the index again"  # SQLite's, ours, the mapping's
    first.close()
    assert _shm_locks(db), "closing one of two stores on a file dropped the other's lock"
    _commit(second, "a-1")
    assert second.get("a-1") is not None
    second.close()
    assert not _open_on(shm), "the index is still open after the last store closed"
    assert key not in _sqlite_shm._handles  # (stores other tests left open keep theirs)


def test_another_process_opening_the_database_leaves_the_index_in_use(tmp_path: Path) -> None:
    """With its lock kept, a second process finds the index in use and joins it rather than
    resetting it: the change counter goes on from where it was, one up for its commit."""
    db = tmp_path / "apps.db"
    store = SQLiteStore(db)
    try:
        _commit(store, "a-1")
        counter = store._kept._counter
        before = counter.read()
        assert before is not None
        script = textwrap.dedent(f"""
            import sqlite3
            db = sqlite3.connect({str(db)!r}, isolation_level=None)
            db.execute("UPDATE applications SET status = 'ended', revision = 2 WHERE id = 'a-1'")
            db.close()
        """)
        subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
        assert counter.read() == before + 1
        row = store.get("a-1")
        assert row is not None and (row.status, row.revision) == ("ended", 2)
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
        store.commit(Commit(AppRow("b-1", "p", "1.0.0", "web", "running", None, 0, "{{}}"), 0, (), ()))
        print(time.monotonic(), flush=True)  # one clock for every process (CLOCK_MONOTONIC)
        store.close()
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env=env)
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "open"
        with store._writer.writing():
            child.stdin.write("go\n")
            child.stdin.flush()
            time.sleep(0.3)
            assert store.get("b-1") is None, "the other process wrote while this one held the writer lock"
            released = time.monotonic()
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        assert float(out) >= released, "the other process's commit returned before the lock was let go"
        assert store.get("b-1") is not None
    finally:
        if child.poll() is None:
            child.kill()
        store.close()


def test_two_stores_of_one_process_take_turns(tmp_path: Path) -> None:
    db = tmp_path / "apps.db"
    first, second = SQLiteStore(db), SQLiteStore(db)
    done: list[float] = []
    try:
        with first._writer.writing():
            writer = threading.Thread(target=lambda: (_commit(second, "b-1"), done.append(time.monotonic())))
            writer.start()
            time.sleep(0.3)
            assert not done and first.get("b-1") is None
            released = time.monotonic()
        writer.join(timeout=60)
        assert done and done[0] >= released
    finally:
        first.close()
        second.close()


def test_a_store_without_its_writer_file_still_writes(tmp_path: Path) -> None:
    """The writer lock is an aid: where its file cannot be made, SQLite alone orders the writers."""
    db = tmp_path / "apps.db"
    (tmp_path / "apps.db-writer").mkdir()  # in the way: the lock's file cannot be opened
    store = SQLiteStore(db)
    try:
        _commit(store, "a-1")
        assert store.get("a-1") is not None
    finally:
        store.close()


def test_a_forked_child_starts_without_the_parents_handles(tmp_path: Path) -> None:
    db = tmp_path / "apps.db"
    store = SQLiteStore(db)
    try:
        assert _sqlite_shm._handles
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through the pipe
            os.write(write, b"clear" if not _sqlite_shm._handles else b"kept")
            os._exit(0)
        os.close(write)
        told = os.read(read, 16)
        os.close(read)
        os.waitpid(pid, 0)
        assert told == b"clear"
        assert _shm_locks(db), "the child's close of its inherited descriptor dropped the parent's lock"
    finally:
        store.close()
