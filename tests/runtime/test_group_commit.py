"""SQLiteStore's group commit: Commits handed in together share one transaction, a stale one
fails alone, and nothing is acknowledged before it is durable: a writer process killed with
SIGKILL mid-run leaves every step it acknowledged in the database."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from productkit.runtime import AppRow, AuditRow, Commit, SQLiteStore, StaleApplication, StepRow
from productkit.runtime import sqlite as sqlite_module

THREADS = 8
STEPS = 5  # commits per application: revisions 1 .. STEPS

# The child: THREADS threads commit the steps of their applications as fast as they can, and
# print "app revision" for each Commit once SQLiteStore.commit returned (its acknowledgement).
CHILD = f"""
import os, sys, threading
from productkit.runtime import AppRow, AuditRow, Commit, SQLiteStore, StepRow

store = SQLiteStore(sys.argv[1], synchronous="FULL")
STEPS = {STEPS}

def work(t):
    i = 0
    while True:
        app, rev = f"t{{t}}-{{i // STEPS}}", i % STEPS
        row = AppRow(app, "p", "1.0.0", "web", "running", None, rev, '{{"n":%d}}' % rev)
        step = StepRow(app, f"s{{rev}}", "step", "done", "{{}}")
        audit = AuditRow(app, rev + 1, "2026-03-02T09:00:00+08:00", "submitted", f"s{{rev}}", "{{}}")
        store.commit(Commit(row, rev, (step,), (audit,)))
        os.write(1, f"{{app}} {{rev + 1}}\\n".encode())
        i += 1

os.write(1, b"ready\\n")
for t in range({THREADS}):
    threading.Thread(target=work, args=(t,), daemon=True).start()
threading.Event().wait()
"""


def _row(app: str, revision: int) -> AppRow:
    return AppRow(app, "p", "1.0.0", "web", "running", None, revision, '{"n":0}')


def _commit(app: str, expected: int, step: str) -> Commit:
    return Commit(_row(app, expected), expected, (StepRow(app, step, "step", "done", "{}"),),
                  (AuditRow(app, expected + 1, "2026-03-02T09:00:00+08:00", "started", None, "{}"),))


def test_a_process_killed_mid_run_kept_every_acknowledged_step(tmp_path: Path) -> None:
    db = tmp_path / "apps.db"
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, str(script), str(db)], stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == b"ready\n"
        acked = [proc.stdout.readline() for _ in range(600)]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        acked += proc.stdout.read().splitlines(keepends=True)  # printed before the kill landed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    acks = [line.decode().split() for line in acked if line.endswith(b"\n")]
    assert len(acks) >= 600

    con = sqlite3.connect(db)
    revisions = dict(con.execute("SELECT id, revision FROM applications").fetchall())
    steps = set(con.execute("SELECT app_id, step_id FROM steps").fetchall())
    audit = set(con.execute("SELECT app_id, seq FROM audit").fetchall())
    con.close()
    for app, revision in acks:
        rev = int(revision)
        assert revisions.get(app, 0) >= rev, (app, rev, revisions.get(app))
        assert (app, f"s{rev - 1}") in steps and (app, rev) in audit, (app, rev)


def test_commits_handed_in_together_share_a_transaction(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    store = SQLiteStore(tmp_path / "apps.db")
    sizes: list[int] = []
    write = sqlite_module.SQLiteStore._write

    def counted(self: SQLiteStore, batch: list[sqlite_module._Pending]) -> None:
        sizes.append(len(batch))
        write(self, batch)

    monkeypatch.setattr(sqlite_module.SQLiteStore, "_write", counted)

    def work(t: int) -> None:
        for a in range(10):
            for rev in range(STEPS):
                store.commit(_commit(f"t{t}-{a}", rev, f"s{rev}"))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sum(sizes) == THREADS * 10 * STEPS
    assert max(sizes) > 1 and len(sizes) < sum(sizes)  # some transactions held several commits
    for t in range(THREADS):
        for a in range(10):
            row = store.get(f"t{t}-{a}")
            assert row is not None and row.revision == STEPS
            assert [s.step_id for s in store.steps(row.id)] == [f"s{r}" for r in range(STEPS)]
            assert [e.seq for e in store.audit(row.id)] == list(range(1, STEPS + 1))
    store.close()


def test_a_stale_commit_fails_alone_in_its_batch(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "apps.db")
    store.commit(_commit("A", 0, "s0"))
    batch = [sqlite_module._Pending(c) for c in (
        _commit("B", 0, "s0"),
        _commit("A", 0, "s1"),  # A is at revision 1 already
        _commit("A", 1, "s0"),  # s0 of A is recorded already
        _commit("A", 1, "s1"),
    )]
    with store._lock:
        store._write(batch)

    assert all(p.done for p in batch)
    assert [type(p.error) for p in batch] == [type(None), StaleApplication, StaleApplication, type(None)]
    a, b = store.get("A"), store.get("B")
    assert a is not None and b is not None and (a.revision, b.revision) == (2, 1)
    assert [s.step_id for s in store.steps("A")] == ["s0", "s1"]
    assert [e.seq for e in store.audit("A")] == [1, 2]
    with pytest.raises(StaleApplication):
        store.commit(_commit("B", 0, "s9"))
    store.close()
