"""SQLiteStore: the durable Store on the standard library's sqlite3.

WAL journal; each Commit is applied whole (the application row, the step results and the audit
rows) or not at all, so a process killed at any moment leaves every application at its last
committed step. ``synchronous=FULL`` (the default) also survives a power cut; ``NORMAL``
survives a crash of the process only, and is faster.

Group commit: the Commits that threads hand in while a transaction is being written wait, and
the first of them is then handed the lead and writes them all in one transaction, in a single
statement that is its own transaction (see _sqlite_batch: sqlite3 lets go of the GIL once for
the whole batch, so the callers of the next batch run while it is written and synced); when one
of them is stale, the batch is written again one by one, each under a savepoint of its own: the
stale one is rolled back alone and raises StaleApplication to its caller only. The leader waits
for half of the last batch's callers (see _gather): the other half work while it writes.
Every caller returns only after the transaction holding its Commit was committed (made durable,
under FULL), so nothing is acknowledged before it is on disk; one thread alone still writes one
transaction per Commit. A waiting caller sleeps on a lock of its own until its Commit is
written or it is handed the lead: only one thread wakes per transaction to write, not every
waiter in turn. Reads go through connections of their own, so they never wait for a commit's
sync; a read takes an idle reading connection (opening another when none is), so reads run
side by side and hold no lock while they run. ``get`` answers a row the store committed itself
without a query while no other connection has committed since (see _sqlite_rows).

A KeyboardInterrupt (or SystemExit) while a transaction is written reaches the thread it was
delivered to; when the transaction was not committed, the other callers of the batch get
WriteInterrupted (an interrupt delivered as the batch's statement returns finds it committed:
the others are acknowledged).

Stores in different processes on one file (a channel service's worker processes, one per core)
each group their own threads' Commits; their leaders take turns through a writer lock (a file
beside the database, ``<database>-writer``) that wakes the next one as soon as a write is done
(see _sqlite_shm), and SQLite's own locks still decide who writes. The process's handle on
the WAL index is shared by its stores and kept open while their connections are: a descriptor
of the index closed early would drop SQLite's lock on it, and another process would then take
the index for unused and reset it.

``stats()`` says what was written: the Commits acknowledged and the transactions (under FULL,
syncs of the log) that held them, the largest batch and the time spent committing.
"""

from __future__ import annotations

import _thread
import contextlib
import functools
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal

from ._sqlite_batch import WIDTH, batch_rows, batch_sql, install
from ._sqlite_rows import KeptRows
from ._sqlite_schema import prepare
from ._sqlite_shm import CLOSE_FIRST, ShmFile, WriterLock
from .errors import StaleApplication, WriteInterrupted
from .status import PAUSED
from .store import AppRow, AuditRow, Commit, StepRow

__all__ = ["SQLiteStore", "WriteStats"]

_APP_COLUMNS = "id, product_id, version, channel, status, due_at, revision, state"
_INSERT_APP = (f"INSERT INTO applications ({_APP_COLUMNS}, created_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
               "(SELECT COALESCE(MAX(created_seq), 0) + 1 FROM applications))")
_UPDATE_APP = ("UPDATE applications SET product_id = ?, version = ?, channel = ?, status = ?, "
               "due_at = ?, revision = ?, state = ? WHERE id = ? AND revision = ?")
_CHUNK = 100  # rows of one table at most per statement, one by one
_APP_SEQ = "(SELECT created_seq FROM applications WHERE id = ?)"
# Commit delay (see _gather): how long a leader waits at most for the callers of the last
# transaction, and how long the queue may stay the same before it stops waiting.
_GATHER_SECONDS = 0.002
_QUIET_SECONDS = 0.0003
_PAUSED = ", ".join(f"'{s}'" for s in PAUSED)


@functools.cache
def _insert_sql(table: str, width: int, rows: int) -> str:
    """``rows`` rows of ``width`` values each, the last of them the application id whose
    ``created_seq`` keys the row (see _sqlite_schema)."""
    row = "(" + "?, " * (width - 1) + _APP_SEQ + ")"
    return f"INSERT INTO {table} VALUES " + ", ".join([row] * rows)


def _stored(commit: Commit) -> AppRow:
    """The application row as ``commit`` leaves it in the database."""
    app = commit.app
    return AppRow(app.id, app.product_id, app.version, app.channel, app.status, app.due_at,
                  commit.expected + 1, app.state)


def _interrupted(what: str = "KeyboardInterrupt") -> WriteInterrupted:
    return WriteInterrupted(f"the transaction holding this commit was interrupted ({what}) in "
                            "another thread and rolled back: nothing of it was stored")


@dataclass(frozen=True, slots=True)
class WriteStats:
    """What a store wrote since it was opened: ``commits`` acknowledged Commits in
    ``transactions`` durable transactions (one sync of the log each under FULL), the most Commits
    one transaction held, and the seconds spent in the statements that committed them: a batch
    written together is one statement that writes its rows and commits (under FULL: syncs), one
    by one it is the COMMIT alone."""

    commits: int = 0
    transactions: int = 0
    largest_batch: int = 0
    commit_seconds: float = 0.0


class _Pending:
    """One caller's Commit waiting for the transaction that holds it."""

    __slots__ = ("commit", "done", "error", "lead", "wake")

    def __init__(self, commit: Commit) -> None:
        self.commit = commit
        self.done = False
        self.lead = False  # handed the lead: write what is queued
        self.error: BaseException | None = None
        self.wake = _thread.allocate_lock()  # held until done or handed the lead
        self.wake.acquire()


class SQLiteStore:
    """A Store in one SQLite file, shared by the threads of a process (and by processes)."""

    def __init__(self, path: str | os.PathLike[str], *,
                 synchronous: Literal["FULL", "NORMAL"] = "FULL", timeout: float = 30.0) -> None:
        self.path = os.fspath(path)
        self._db = self._connect(timeout)
        self._lock = threading.Lock()  # the writing connection: one transaction at a time
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._leading = False  # a caller is writing, or was handed the lead
        self._last_batch = 0  # Commits in the last transaction: how many callers are about
        # A leader gathering Commits (see _gather): the queue length it waits for and the lock it
        # sleeps on, released by the caller whose Commit makes the queue that long.
        self._gathering: tuple[int, _thread.LockType] | None = None
        # WriteStats' fields, replaced under _lock after each transaction (a tuple: made for
        # every transaction, where a WriteStats costs a call per field)
        self._stats: tuple[int, int, int, float] = (0, 0, 0, 0.0)
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":  # pragma: no cover - only on file systems without WAL
            raise OSError(f"{self.path}: SQLite cannot use WAL here (journal mode {mode})")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        with self._lock:
            prepare(self._db, self.path)
        self._max_rows = install(self._db)  # rows of one batch statement at most
        # Reading connections, each used by one reader at a time: a read holds no lock while it
        # runs, so one reader waiting for the GIL after its query never holds up the others.
        self._timeout = timeout
        self._reader = self._connect(timeout)
        self._readers = [self._reader]
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._idle.put(self._reader)
        self._read_lock = threading.Lock()  # guards _readers and _closed, not the reads
        self._closed = False
        # This process's handle on the WAL index, shared with its other stores on the file and
        # never closed while their connections are open (see _sqlite_shm): the change counter
        # get() reads. The writer lock orders this store's leaders and other stores' (of any process).
        self._shm = ShmFile(self.path)
        self._writer = WriterLock(self.path)
        self._kept = KeptRows(self._shm)  # what get() answers without a query (see _sqlite_rows)

    def _connect(self, timeout: float) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                               check_same_thread=False, cached_statements=256)

    def commit(self, commit: Commit) -> None:
        mine = _Pending(commit)
        gathered = None
        with self._queue_lock:
            self._queue.append(mine)
            lead = not self._leading
            self._leading = True
            if self._gathering is not None and len(self._queue) >= self._gathering[0]:
                gathered, self._gathering = self._gathering[1], None
        if gathered is not None:
            gathered.release()
        if not lead:
            self._wait(mine)
        if not mine.done:
            self._lead(mine)
        if mine.error is not None:
            raise mine.error

    def _wait(self, mine: _Pending) -> None:
        """Sleep until ``mine`` is written or handed the lead."""
        try:
            mine.wake.acquire()
        except BaseException:  # interrupted while waiting: not acknowledged, and not left leading
            with self._queue_lock:
                if mine in self._queue:
                    self._queue.remove(mine)
                handed = mine.lead
            if handed:
                self._hand_over()
            raise

    def _lead(self, mine: _Pending) -> None:
        """Write everything queued in one transaction, wake its callers, pass the lead on."""
        batch: list[_Pending] = []
        try:
            self._gather()
            with self._lock:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                if mine not in batch:  # a writer was stopped between taking it and writing it
                    batch.append(mine)
                with self._writer.writing():
                    self._write(batch)
                self._last_batch = len(batch)
        finally:
            if not batch:  # interrupted while gathering: its own Commit goes unwritten, and the
                with self._queue_lock:  # lead to the next caller, not back to this one
                    self._gathering = None
                    if mine in self._queue:
                        self._queue.remove(mine)
            for pending in batch:
                if not pending.done:  # interrupted before the transaction began
                    pending.error, pending.done = pending.error or _interrupted(), True
                if pending is not mine:
                    pending.wake.release()
            self._hand_over()

    def _gather(self) -> None:
        """Commit delay: when the last transaction held several Commits, their callers, just
        woken, are about to hand in their next ones; wait until half of them have (at most
        _GATHER_SECONDS, and only while they keep coming) so one sync covers them too, while
        the other half work on during the write. The leader sleeps until the caller that makes
        the half wakes it, looking at the queue every _QUIET_SECONDS only: each look would take
        the GIL from a caller at work. A caller alone never waits."""
        want = self._last_batch // 2
        if want <= 1:
            return
        arrived = _thread.allocate_lock()
        arrived.acquire()
        with self._queue_lock:
            size = len(self._queue)
            if size >= want:
                return
            self._gathering = (want, arrived)
        deadline = time.monotonic() + _GATHER_SECONDS
        while not arrived.acquire(timeout=_QUIET_SECONDS):
            with self._queue_lock:
                grew, size = len(self._queue) > size, len(self._queue)
                if not grew or time.monotonic() >= deadline:
                    self._gathering = None  # a release under way goes to this lock alone
                    return

    def _hand_over(self) -> None:
        with self._queue_lock:
            if not self._queue:
                self._leading = False
                return
            nxt = self._queue[0]
            nxt.lead = True
        nxt.wake.release()

    def _write(self, batch: list[_Pending]) -> None:
        """One transaction for ``batch``: all its Commits together in one statement, or, when one
        of them fails, each under a savepoint of its own (only the failing one is refused)."""
        try:
            if not self._write_together(batch):
                self._write_each(batch)
        except Exception as exc:  # nothing of the batch was committed
            self._rolled_back(batch, exc)
        except BaseException as exc:  # an interrupt: it goes on in this thread only
            if not self._landed(batch):
                self._rolled_back(batch, _interrupted(type(exc).__name__))
            raise
        finally:
            for pending in batch:
                pending.done = True

    def _write_together(self, batch: list[_Pending]) -> bool:
        """The whole batch in its single statement (its own transaction); False, with nothing
        written, when a Commit is refused, when an application has two Commits in the batch (the
        second may hang on the first) or when the batch is too large for one statement."""
        commits = [p.commit for p in batch]
        if len({c.app.id for c in commits}) != len(commits):  # one after the other, in their order
            return False
        values = batch_rows(commits)
        rows = len(values) // WIDTH
        if rows > self._max_rows:
            return False
        before = self._kept.before_commit()
        started = time.perf_counter()
        try:
            self._db.execute(batch_sql(rows), values)
        except sqlite3.IntegrityError:  # a stale or doubled Commit: find it one by one
            return False
        self._count(batch, time.perf_counter() - started)
        self._kept.committed(before, [(c.app, c.expected + 1) for c in commits])
        return True

    def _write_each(self, batch: list[_Pending]) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if len(batch) == 1:  # alone: its failure rolls back the transaction
                self._apply_alone(batch[0])
            else:
                for pending in batch:
                    self._apply(pending)
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        before = self._kept.before_commit()
        started = time.perf_counter()
        db.execute("COMMIT")
        self._count(batch, time.perf_counter() - started)
        self._kept.committed(before, [(p.commit.app, p.commit.expected + 1) for p in batch if p.error is None])

    def _landed(self, batch: list[_Pending]) -> bool:
        """After an interrupt: whether the batch's transaction was committed (an interrupt is
        raised as the statement that committed it returns). The first Commit's row tells: a
        transaction holds all of the batch or nothing."""
        first = next((p.commit for p in batch if p.error is None), None)
        if first is None or self._db.in_transaction:  # not committed
            return False
        try:
            row = self._db.execute(f"SELECT {_APP_COLUMNS} FROM applications WHERE id = ?",
                                   (first.app.id,)).fetchone()
        except sqlite3.Error:
            return False
        if row is None or AppRow(*row) != _stored(first):
            return False
        self._kept.forget()
        self._count(batch, 0.0)
        return True

    def _count(self, batch: list[_Pending], seconds: float) -> None:
        commits, transactions, largest, spent = self._stats
        self._stats = (commits + len([p for p in batch if p.error is None]), transactions + 1,
                       max(largest, len(batch)), spent + seconds)

    def stats(self) -> WriteStats:
        """What this store wrote since it was opened (see :class:`WriteStats`)."""
        return WriteStats(*self._stats)

    def _rolled_back(self, batch: list[_Pending], error: BaseException) -> None:
        self._kept.forget()
        if self._db.in_transaction:  # COMMIT itself failed (busy, I/O): leave no transaction open
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
        for pending in batch:
            pending.error = pending.error or error

    def _apply_alone(self, pending: _Pending) -> None:
        try:
            self._rows(pending.commit)
        except sqlite3.IntegrityError as exc:
            pending.error = StaleApplication(f"application {pending.commit.app.id}: {exc}")
            raise
        except Exception as exc:
            pending.error = exc
            raise

    def _rows(self, commit: Commit) -> None:
        self._write_app(commit.app, commit.expected)
        self._insert_rows(commit.steps, commit.audit)

    def _insert_rows(self, steps: Collection[StepRow], audit: Collection[AuditRow]) -> None:
        """The step and audit rows, in their order, in one statement per table."""
        if steps:
            self._insert("steps", 6, [v for s in steps for v in (s.app_id, s.step_id, s.kind, s.status,
                                                                  s.body, s.app_id)])
        if audit:
            self._insert("audit", 7, [v for a in audit for v in (a.app_id, a.seq, a.at, a.kind,
                                                                  a.step_id, a.body, a.app_id)])

    def _insert(self, table: str, width: int, values: list[object]) -> None:
        step = width * _CHUNK
        for start in range(0, len(values), step):
            chunk = values[start:start + step]
            self._db.execute(_insert_sql(table, width, len(chunk) // width), chunk)

    def _apply(self, pending: _Pending) -> None:
        db, commit = self._db, pending.commit
        db.execute("SAVEPOINT one")
        try:
            self._rows(commit)
        except sqlite3.IntegrityError as exc:  # a step recorded twice: another writer was first
            db.execute("ROLLBACK TO one")
            pending.error = StaleApplication(f"application {commit.app.id}: {exc}")
        except Exception as exc:  # this Commit's own problem: the others of the batch go on
            db.execute("ROLLBACK TO one")
            pending.error = exc
        db.execute("RELEASE one")

    def _write_app(self, app: AppRow, expected: int) -> None:
        values = (app.product_id, app.version, app.channel, app.status, app.due_at,
                  expected + 1, app.state)
        if expected == 0:
            self._db.execute(_INSERT_APP, (app.id, *values))
            return
        cur = self._db.execute(_UPDATE_APP, (*values, app.id, expected))
        if cur.rowcount != 1:
            raise StaleApplication(f"application {app.id} is no longer at revision {expected}")

    def get(self, app_id: str) -> AppRow | None:
        kept = self._kept.get(app_id)
        if kept is not None:
            return kept
        rows = self._read(f"SELECT {_APP_COLUMNS} FROM applications WHERE id = ?", (app_id,))
        return AppRow(*rows[0]) if rows else None

    def ids(self, statuses: Collection[str]) -> list[str]:
        marks = ", ".join("?" * len(statuses))
        rows = self._read(f"SELECT id FROM applications WHERE status IN ({marks}) "
                          "ORDER BY created_seq", tuple(statuses))
        return [r[0] for r in rows]

    def due(self, until: int) -> list[str]:
        rows = self._read("SELECT id FROM applications WHERE due_at IS NOT NULL AND due_at <= ? "
                          f"AND status IN ({_PAUSED}) ORDER BY due_at", (until,))
        return [r[0] for r in rows]

    def steps(self, app_id: str) -> list[StepRow]:
        rows = self._read("SELECT app_id, step_id, kind, status, body FROM steps "
                          f"WHERE app_seq = {_APP_SEQ} AND app_id = ? ORDER BY rowid", (app_id, app_id))
        return [StepRow(*r) for r in rows]

    def audit(self, app_id: str) -> list[AuditRow]:
        rows = self._read("SELECT app_id, seq, at, kind, step_id, body FROM audit "
                          f"WHERE app_seq = {_APP_SEQ} AND app_id = ? ORDER BY seq", (app_id, app_id))
        return [AuditRow(*r) for r in rows]

    def _read(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        """The rows of one query, on an idle reading connection (a new one when none is idle)."""
        try:
            db = self._idle.get_nowait()
        except queue.Empty:
            db = self._connect(self._timeout)
            with self._read_lock:
                if self._closed:  # closed meanwhile: this connection would outlive the store
                    db.close()
                    raise sqlite3.ProgrammingError("Cannot operate on a closed database.") from None
                self._readers.append(db)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            self._idle.put(db)

    def close(self) -> None:
        with self._lock, self._read_lock:
            self._closed = True
            self._kept.close()
            if CLOSE_FIRST:  # Windows: SQLite may then remove the index after the last connection
                self._shm.close()
            for reader in self._readers:
                reader.close()
            self._db.close()
            self._shm.close()  # after the connections: its close may be the file's last here
            self._writer.close()
