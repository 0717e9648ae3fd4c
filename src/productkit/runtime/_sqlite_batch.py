"""A whole group transaction in one SQLite statement.

sqlite3 lets go of the GIL around each statement it runs and takes it back after; with many
threads at work, each of those is a wait for the GIL in the middle of the writing thread's work,
so with a statement per table the callers of the next batch could hardly run while one was
written. The store therefore writes a batch as one multi-row INSERT into a
view of its connection's own (TEMP: nothing of it is in the file): one row per application
started, per application moved on, per step row and per audit row, in that order, and a trigger
per kind of row writes it instead. Without BEGIN, the statement is its own transaction, committed
(under FULL, synced) before it returns: one call into SQLite per batch.

A row of an application moved on that is no longer at the revision its Commit expects aborts
the statement, as does any row that breaks a constraint (an IntegrityError, nothing written);
the store then writes the batch again one by one to refuse the failing Commit alone.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence

from .status import AuditKind, RecordKind, Status, StepStatus
from .store import Commit

__all__ = ["WIDTH", "batch_rows", "batch_sql", "install"]

_NEW, _MOVED, _STEP, _AUDIT = 0, 1, 2, 3
WIDTH = 9  # the kind and eight values: the most a row holds (an application moved on)

# The plain text of every status and kind (a StrEnum member finds the text it equals).
_text = {str(m): str(m) for kind in (Status, StepStatus, RecordKind, AuditKind) for m in kind}.get

_VIEW = ("CREATE TEMP VIEW IF NOT EXISTS batch (kind, a, b, c, d, e, f, g, h) "
         "AS SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL")
_APP_SEQ = "(SELECT created_seq FROM applications WHERE id = NEW.a)"
_TRIGGERS = (
    # A new application takes the next created_seq (the rows come in their order).
    f"""CREATE TEMP TRIGGER IF NOT EXISTS batch_new INSTEAD OF INSERT ON batch WHEN NEW.kind = {_NEW} BEGIN
  INSERT INTO applications (id, product_id, version, channel, status, due_at, state, revision, created_seq)
  VALUES (NEW.a, NEW.b, NEW.c, NEW.d, NEW.e, NEW.f, NEW.g, 1,
          (SELECT COALESCE(MAX(created_seq), 0) + 1 FROM applications));
END""",
    f"""CREATE TEMP TRIGGER IF NOT EXISTS batch_moved INSTEAD OF INSERT ON batch WHEN NEW.kind = {_MOVED} BEGIN
  UPDATE applications SET product_id = NEW.b, version = NEW.c, channel = NEW.d, status = NEW.e,
    due_at = NEW.f, state = NEW.g, revision = NEW.h + 1 WHERE id = NEW.a AND revision = NEW.h;
  SELECT RAISE(ABORT, 'an application is no longer at the revision its commit expects') WHERE changes() = 0;
END""",
    f"""CREATE TEMP TRIGGER IF NOT EXISTS batch_step INSTEAD OF INSERT ON batch WHEN NEW.kind = {_STEP} BEGIN
  INSERT INTO steps VALUES (NEW.a, NEW.b, NEW.c, NEW.d, NEW.e, {_APP_SEQ});
END""",
    f"""CREATE TEMP TRIGGER IF NOT EXISTS batch_audit INSTEAD OF INSERT ON batch WHEN NEW.kind = {_AUDIT} BEGIN
  INSERT INTO audit VALUES (NEW.a, NEW.b, NEW.c, NEW.d, NEW.e, NEW.f, {_APP_SEQ});
END""",
)


def install(db: sqlite3.Connection) -> int:
    """The view and its triggers, on ``db`` alone; the most rows one statement can take (its
    parameters are limited)."""
    db.execute(_VIEW)
    for trigger in _TRIGGERS:
        db.execute(trigger)
    return db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // WIDTH


@functools.lru_cache(maxsize=128)  # batch sizes follow the callers' count; a text each, not one per size ever seen
def batch_sql(rows: int) -> str:
    """The INSERT of ``rows`` rows into the view."""
    return "INSERT INTO batch VALUES " + ", ".join(["(" + ", ".join("?" * WIDTH) + ")"] * rows)


def batch_rows(commits: Sequence[Commit]) -> list[object]:
    """The values of the view's rows for ``commits`` (no application twice), one after the
    other: the applications started, those moved on, the step rows, the audit rows.

    sqlite3 binds an exact str, int or float as it is, but looks anything else up as something
    to adapt (about 0.5 us each, through an AttributeError raised and cleared): the statuses and
    kinds, StrEnum members, go in as the plain text they equal, and the columns a kind of row
    leaves unused as 0 rather than None. The same text is stored either way."""
    new: list[object] = []
    moved: list[object] = []
    steps: list[object] = []
    audit: list[object] = []
    for c in commits:
        a = c.app
        if c.expected == 0:
            new += (_NEW, a.id, a.product_id, a.version, a.channel, _text(a.status, a.status), a.due_at, a.state, 0)
        else:
            moved += (_MOVED, a.id, a.product_id, a.version, a.channel, _text(a.status, a.status), a.due_at, a.state,
                      c.expected)
        for s in c.steps:
            steps += (_STEP, s.app_id, s.step_id, _text(s.kind, s.kind), _text(s.status, s.status), s.body, 0, 0, 0)
        for e in c.audit:
            audit += (_AUDIT, e.app_id, e.seq, e.at, _text(e.kind, e.kind), e.step_id, e.body, 0, 0)
    return new + moved + steps + audit
