"""Durable application state: the Store protocol the engine writes through, and MemoryStore.

A store keeps three kinds of rows: one per application (its state, as the engine encoded it),
the result of each finished step, and the audit trail. The engine hands over everything one
step produced as a single :class:`Commit`; a store applies it atomically or not at all, and
only if the application's revision is still the one the engine read (optimistic concurrency).
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from .errors import StaleApplication
from .status import ACTIVE, PAUSED

__all__ = ["ACTIVE", "AppRow", "AuditRow", "Commit", "MemoryStore", "StepRow", "Store"]


@dataclass(frozen=True, slots=True)
class AppRow:
    id: str
    product_id: str
    version: str
    channel: str
    status: str  # a Status
    due_at: int | None  # microseconds since the epoch of the earliest pending wait
    revision: int
    state: str  # the engine's JSON encoding of the whole application


@dataclass(frozen=True, slots=True)
class StepRow:
    app_id: str
    step_id: str
    kind: str  # a RecordKind: "step" or "compensation"
    status: str
    body: str


@dataclass(frozen=True, slots=True)
class AuditRow:
    app_id: str
    seq: int
    at: str
    kind: str
    step_id: str | None
    body: str


@dataclass(frozen=True, slots=True)
class Commit:
    """One step's worth of changes. ``expected`` is the revision read (0: a new application)."""

    app: AppRow
    expected: int
    steps: tuple[StepRow, ...] = ()
    audit: tuple[AuditRow, ...] = ()


class Store(Protocol):
    """Where applications live. Implementations must make :meth:`commit` atomic."""

    def commit(self, commit: Commit) -> None:
        """Apply all of ``commit`` or nothing; StaleApplication when the revision moved on."""

    def get(self, app_id: str) -> AppRow | None: ...

    def ids(self, statuses: Collection[str]) -> list[str]:
        """Ids of the applications in any of ``statuses``, oldest first."""

    def due(self, until: int) -> list[str]:
        """Ids of paused applications with a wait due at or before ``until`` (epoch micros)."""

    def steps(self, app_id: str) -> list[StepRow]: ...

    def audit(self, app_id: str) -> list[AuditRow]: ...

    def close(self) -> None: ...


class MemoryStore:
    """A Store in process memory, for tests and for channels that keep nothing."""

    def __init__(self) -> None:
        self._apps: dict[str, AppRow] = {}
        self._steps: dict[str, list[StepRow]] = {}
        self._audit: dict[str, list[AuditRow]] = {}
        self._lock = threading.Lock()

    def commit(self, commit: Commit) -> None:
        app = commit.app
        with self._lock:
            current = self._apps.get(app.id)
            revision = current.revision if current is not None else 0
            if revision != commit.expected:
                raise StaleApplication(f"application {app.id} is at revision {revision}, "
                                       f"not {commit.expected}")
            keys = {(s.step_id, s.kind) for s in self._steps.get(app.id, [])}
            for row in commit.steps:
                if (row.step_id, row.kind) in keys:
                    raise StaleApplication(f"step {row.step_id} of {app.id} is already recorded")
            self._apps[app.id] = AppRow(app.id, app.product_id, app.version, app.channel, app.status,
                                        app.due_at, commit.expected + 1, app.state)
            self._steps.setdefault(app.id, []).extend(commit.steps)
            self._audit.setdefault(app.id, []).extend(commit.audit)

    def get(self, app_id: str) -> AppRow | None:
        with self._lock:
            return self._apps.get(app_id)

    def ids(self, statuses: Collection[str]) -> list[str]:
        with self._lock:
            return [a.id for a in self._apps.values() if a.status in statuses]

    def due(self, until: int) -> list[str]:
        with self._lock:
            return [a.id for a in self._apps.values() if a.due_at is not None
                    and a.due_at <= until and a.status in PAUSED]

    def steps(self, app_id: str) -> list[StepRow]:
        with self._lock:
            return list(self._steps.get(app_id, []))

    def audit(self, app_id: str) -> list[AuditRow]:
        with self._lock:
            return list(self._audit.get(app_id, []))

    def close(self) -> None:
        """Nothing to release."""
