"""What the open API keeps beside the engine's applications: which partner owns which
application, and the requests made with an Idempotency-Key.

Both are written (and, on SQLite, committed) before the engine acts, so a server killed in the
middle of a request leaves a record the partner's retry finds: an application is never started
twice for one key, and never lost for its owner.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["KEEP_KEYS", "ApiStore", "Owner", "Remembered"]

KEEP_KEYS = 24 * 3600.0  # seconds an Idempotency-Key is remembered (retries come well within it)
_SWEEP_EVERY = 256  # new keys between two removals of expired ones

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_owner (
  app_id TEXT PRIMARY KEY, partner TEXT NOT NULL, product TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_idempotency (
  partner TEXT NOT NULL, key TEXT NOT NULL, request TEXT NOT NULL, app_id TEXT,
  status INTEGER, body BLOB, at REAL NOT NULL DEFAULT 0, PRIMARY KEY (partner, key));
CREATE INDEX IF NOT EXISTS api_idempotency_at ON api_idempotency (at);
"""


@dataclass(frozen=True, slots=True)
class Owner:
    partner: str
    product: str


@dataclass(frozen=True, slots=True)
class Remembered:
    """A request made earlier with the same key: its fingerprint, the application it concerns and,
    once it finished, its response."""

    request: str
    app_id: str | None
    status: int | None
    body: bytes | None


class ApiStore:
    """SQLite (``path``) or in memory (``":memory:"``); safe to share between threads."""

    def __init__(self, path: str = ":memory:", *, synchronous: str = "FULL", keep_keys: float = KEEP_KEYS,
                 clock: Callable[[], float] = time.time) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._lock = threading.Lock()
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'FULL' else 'NORMAL'}")
        self.keep_keys, self._clock, self._writes = keep_keys, clock, 0
        with self._lock:
            self._db.executescript(_SCHEMA)

    def own(self, app_id: str, partner: str, product: str) -> None:
        """Record that ``partner`` owns ``app_id`` (kept if it is already recorded)."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO api_owner VALUES (?, ?, ?)", (app_id, partner, product))

    def disown(self, app_id: str) -> None:
        """Forget an owner recorded for an application that was never started (refused)."""
        with self._lock:
            self._db.execute("DELETE FROM api_owner WHERE app_id = ?", (app_id,))

    def owner(self, app_id: str) -> Owner | None:
        with self._lock:
            row = self._db.execute("SELECT partner, product FROM api_owner WHERE app_id = ?", (app_id,)).fetchone()
        return Owner(row[0], row[1]) if row else None

    def remember(self, partner: str, key: str, request: str, app_id: str | None) -> Remembered | None:
        """Record a new request under ``key``; the earlier one when the key was used before."""
        with self._lock:
            row = self._db.execute("SELECT request, app_id, status, body FROM api_idempotency "
                                   "WHERE partner = ? AND key = ?", (partner, key)).fetchone()
            if row is not None:
                return Remembered(row[0], row[1], row[2], row[3])
            now = self._clock()
            self._db.execute("INSERT INTO api_idempotency VALUES (?, ?, ?, ?, NULL, NULL, ?)",
                             (partner, key, request, app_id, now))
            self._writes += 1
            if self._writes % _SWEEP_EVERY == 0:  # keys are kept for a day: a retry comes within it
                self._db.execute("DELETE FROM api_idempotency WHERE at < ?", (now - self.keep_keys,))
        return None

    def answer(self, partner: str, key: str, status: int, body: bytes) -> None:
        """Keep the response to the request made with ``key``, for its retries."""
        with self._lock:
            self._db.execute("UPDATE api_idempotency SET status = ?, body = ? WHERE partner = ? AND key = ?",
                             (status, body, partner, key))

    def close(self) -> None:
        with self._lock:
            self._db.close()
