"""The SQLite store's tables, and the upgrade of a file written by an earlier version.

Version 2 keys the step and audit rows by the application's ``created_seq`` (a number given in
the order applications start) rather than by its id: the ids are random, so each Commit of a
group transaction landed on a leaf page of its own in both indexes, and every such page is
written to the log again at each transaction. Applications under way together started close
together, so their rows now share the index pages at the end. The id stays in each row; reads
look the number up by id.
"""

from __future__ import annotations

import sqlite3

__all__ = ["SCHEMA_VERSION", "prepare"]

SCHEMA_VERSION = 2

_TABLES = (
    """CREATE TABLE IF NOT EXISTS applications (
  id TEXT PRIMARY KEY, product_id TEXT NOT NULL, version TEXT NOT NULL, channel TEXT NOT NULL,
  status TEXT NOT NULL, due_at INTEGER, revision INTEGER NOT NULL, state TEXT NOT NULL,
  created_seq INTEGER NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS applications_status ON applications (status, created_seq)",
    "CREATE INDEX IF NOT EXISTS applications_due ON applications (due_at) WHERE due_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS applications_created ON applications (created_seq)",
    """CREATE TABLE IF NOT EXISTS steps (
  app_id TEXT NOT NULL, step_id TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
  body TEXT NOT NULL, app_seq INTEGER NOT NULL, UNIQUE (app_seq, step_id, kind)
)""",
    """CREATE TABLE IF NOT EXISTS audit (
  app_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL,
  step_id TEXT, body TEXT NOT NULL, app_seq INTEGER NOT NULL, UNIQUE (app_seq, seq)
)""",
)

# Version 1 keyed steps by (app_id, step_id, kind) and audit by (app_id, seq): its tables step
# aside, the new ones are made, and the rows move over in their order (steps are read in the
# order they were written).
_ASIDE_1 = ("ALTER TABLE steps RENAME TO steps_1", "ALTER TABLE audit RENAME TO audit_1")
_MOVE_1 = (
    "INSERT INTO steps SELECT s.app_id, s.step_id, s.kind, s.status, s.body, a.created_seq "
    "FROM steps_1 AS s JOIN applications AS a ON a.id = s.app_id ORDER BY s.rowid",
    "INSERT INTO audit SELECT s.app_id, s.seq, s.at, s.kind, s.step_id, s.body, a.created_seq "
    "FROM audit_1 AS s JOIN applications AS a ON a.id = s.app_id ORDER BY s.rowid",
    "DROP TABLE steps_1",
    "DROP TABLE audit_1",
)


def prepare(db: sqlite3.Connection, path: str) -> None:
    """Create the tables of a new file, or bring an earlier version's up to date, in one
    transaction (another process opening the file at the same time waits for it)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"{path}: the store was written by a newer productkit (schema "
                                        f"version {version}; this one knows up to {SCHEMA_VERSION})")
        first = _is_version_1(db)
        for sql in (*(_ASIDE_1 if first else ()), *_TABLES, *(_MOVE_1 if first else ())):
            db.execute(sql)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _is_version_1(db: sqlite3.Connection) -> bool:
    """Whether the file holds version 1's step table (by its columns, not by user_version)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(steps)")}
    return bool(columns) and "app_seq" not in columns
