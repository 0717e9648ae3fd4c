"""Durable application state: the Store protocol the engine writes through, and MemoryStore.

A store keeps three kinds of rows: one per application (its state, as the engine encoded it),
the result of each finished step, and the audit trail. The engine hands over everything one
step produced as a single :class:`Commit`; a store applies it atomically or not at all, and
only if the application's revision is still the one the engine read (optimistic concurrency).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ._slots import filler
from .errors import StaleApplication
from .status import ACTIVE, PAUSED

__all__ = ["ACTIVE", "AppRow", "AuditRow", "Commit", "Kept", "MemoryStore", "StepRow", "Store", "Writer",
           "make_app_row", "make_audit_row", "make_step_row"]


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


# The rows are made at every Commit, a few per step: through their classes' fillers, as the
# engine's records are (see ._slots); tests/runtime/test_store.py checks each builder makes what
# its class makes.
_APP_ROW_FILLER, _STEP_ROW_FILLER, _AUDIT_ROW_FILLER = filler(AppRow), filler(StepRow), filler(AuditRow)


def make_app_row(id: str, product_id: str, version: str, channel: str, status: str, due_at: int | None,
                 revision: int, state: str) -> AppRow:
    """``AppRow(...)``, made faster (see above)."""
    r = _APP_ROW_FILLER()
    r.id = id
    r.product_id = product_id
    r.version = version
    r.channel = channel
    r.status = status
    r.due_at = due_at
    r.revision = revision
    r.state = state
    r.__class__ = AppRow
    row: AppRow = r
    return row


def make_step_row(app_id: str, step_id: str, kind: str, status: str, body: str) -> StepRow:
    """``StepRow(...)``, made faster (see above)."""
    r = _STEP_ROW_FILLER()
    r.app_id = app_id
    r.step_id = step_id
    r.kind = kind
    r.status = status
    r.body = body
    r.__class__ = StepRow
    row: StepRow = r
    return row


def make_audit_row(app_id: str, seq: int, at: str, kind: str, step_id: str | None, body: str) -> AuditRow:
    """``AuditRow(...)``, made faster (see above)."""
    r = _AUDIT_ROW_FILLER()
    r.app_id = app_id
    r.seq = seq
    r.at = at
    r.kind = kind
    r.step_id = step_id
    r.body = body
    r.__class__ = AuditRow
    row: AuditRow = r
    return row


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


class Writer(Protocol):
    """How the engine writes its objects as rows: a store that keeps the objects themselves
    (:class:`MemoryStore`) writes them only when they are read as rows."""

    def app_row(self, state: Any, revision: int) -> AppRow: ...

    def step_row(self, app_id: str, record: Any) -> StepRow: ...

    def audit_row(self, app_id: str, event: Any) -> AuditRow: ...


class Kept(Protocol):
    """An application's state as :meth:`MemoryStore.keep` takes it: never changed once kept."""

    @property
    def id(self) -> str: ...

    @property
    def status(self) -> str: ...

    def due_at(self) -> int | None:
        """The row's ``due_at``: epoch microseconds of the earliest pending wait."""


# An application in a MemoryStore: (revision, status, due_at, its row, or the state it was kept
# as, written as a row the first time it is read as one, with the writer). A tuple: one is made
# at every commit.
_App = tuple[int, str, "int | None", "AppRow | None", "Kept | None", "Writer | None"]


class _Batch:
    """Step records or audit events kept with a function to write them other than the one the
    application's first ones were kept with (the engine's is always the same: see :meth:`keep`)."""

    __slots__ = ("objects", "write")

    def __init__(self, write: Callable[[str, Any], Any], objects: Sequence[Any]) -> None:
        self.write, self.objects = write, objects


class MemoryStore:
    """A Store in process memory, for tests and for channels that keep nothing.

    The engine hands it what a step produced as the objects themselves (:meth:`keep`), not as
    encoded rows: nothing is encoded that nobody reads. The objects are never changed once
    kept (the engine decides on copies, and every value it keeps is its own), and everything
    read as rows (:meth:`get`, :meth:`steps`, :meth:`audit`) is written from them then, so it
    reads exactly as the rows a durable store keeps. A subclass that changes :meth:`commit` or
    :meth:`get` is given rows (:meth:`commit`), as any other store is."""

    def __init__(self) -> None:
        self._apps: dict[str, _App] = {}
        # Rows and kept records (or events), in order, and how an application's kept ones are
        # written as rows: each one is held in the list itself, not in a list of its own per
        # commit (what stays in memory per application is what the collector goes through).
        self._steps: dict[str, list[Any]] = {}
        self._keys: dict[str, set[str]] = {}  # "kind step-id" recorded, per application (text: no
        # container of its own for the collector to go through)
        self._audit: dict[str, list[Any]] = {}
        self._writes: dict[tuple[str, bool], Callable[[str, Any], Any]] = {}  # (app, audit?) -> write
        self._lock = threading.Lock()

    def commit(self, commit: Commit) -> None:
        app = commit.app
        with self._lock:
            self._check(app.id, commit.expected, [f"{s.kind} {s.step_id}" for s in commit.steps])
            revision = commit.expected + 1
            self._apps[app.id] = (revision, app.status, app.due_at,
                                  make_app_row(app.id, app.product_id, app.version, app.channel, app.status,
                                               app.due_at, revision, app.state), None, None)
            self._steps.setdefault(app.id, []).extend(commit.steps)
            self._audit.setdefault(app.id, []).extend(commit.audit)

    def keep(self, state: Kept, expected: int, steps: Sequence[Any], audit: Sequence[Any],
             writer: Writer) -> None:
        """:meth:`commit` for the engine's objects (see the class): the application's state, its
        step records (each with ``step_id`` and ``kind``) and audit events, none of which anyone
        changes from now on, and how to write each as a row when it is read as one."""
        app_id, due_at = state.id, state.due_at()
        with self._lock:
            current = self._apps.get(app_id)
            if current is None or current[0] != expected:
                self._check(app_id, expected, ())  # a new application, or StaleApplication
            if steps:
                self._recorded(app_id, [f"{r.kind} {r.step_id}" for r in steps])
                self._hold(self._steps, app_id, False, writer.step_row, steps)
            self._apps[app_id] = (expected + 1, state.status, due_at, None, state, writer)
            if audit:
                self._hold(self._audit, app_id, True, writer.audit_row, audit)

    def _hold(self, lists: dict[str, list[Any]], app_id: str, audit: bool,
              write: Callable[[str, Any], Any], objects: Sequence[Any]) -> None:
        """Add kept ``objects`` to the application's list; each is written with ``write`` when read."""
        held = lists.get(app_id)
        if held is None:
            held = lists[app_id] = []
        first = self._writes.setdefault((app_id, audit), write)
        if write == first:  # the same function (a bound method each time: equal, not identical)
            held.extend(objects)
        else:
            held.append(_Batch(write, objects))

    def _check(self, app_id: str, expected: int, steps: Sequence[str]) -> None:
        """StaleApplication unless the application is at revision ``expected`` and none of
        ``steps`` is recorded yet; records them as recorded."""
        current = self._apps.get(app_id)
        revision = current[0] if current is not None else 0
        if revision != expected:
            raise StaleApplication(f"application {app_id} is at revision {revision}, not {expected}")
        if steps:
            self._recorded(app_id, steps)

    def _recorded(self, app_id: str, steps: Sequence[str]) -> None:
        """StaleApplication if any of ``steps`` ("kind step-id": a kind has no space) is recorded
        already; records them."""
        keys = self._keys.get(app_id)
        if keys is None:
            keys = self._keys[app_id] = set()
        elif not keys.isdisjoint(steps):
            [first] = [key for key in steps if key in keys][:1]
            raise StaleApplication(f"step {first.partition(' ')[2]} of {app_id} is already recorded")
        keys.update(steps)

    def kept(self, app_id: str) -> tuple[Kept, int] | None:
        """The state an application was last kept with (:meth:`keep`) and its revision; None when
        it is unknown or was committed as a row."""
        with self._lock:
            app = self._apps.get(app_id)
        if app is None or app[4] is None:
            return None
        return app[4], app[0]

    def get(self, app_id: str) -> AppRow | None:
        with self._lock:
            app = self._apps.get(app_id)
            if app is None:
                return None
            revision, status, due_at, row, state, writer = app
            if row is None:  # kept as an object: written now, and kept written
                assert writer is not None
                row = writer.app_row(state, revision)
                self._apps[app_id] = (revision, status, due_at, row, state, writer)
            return row

    def ids(self, statuses: Collection[str]) -> list[str]:
        with self._lock:
            return [i for i, a in self._apps.items() if a[1] in statuses]

    def due(self, until: int) -> list[str]:
        with self._lock:
            return [i for i, (_, status, due_at, *_rest) in self._apps.items()
                    if due_at is not None and due_at <= until and status in PAUSED]

    def steps(self, app_id: str) -> list[StepRow]:
        with self._lock:
            held = list(self._steps.get(app_id, []))
            write = self._writes.get((app_id, False))
        return _rows(app_id, held, StepRow, write)

    def audit(self, app_id: str) -> list[AuditRow]:
        with self._lock:
            held = list(self._audit.get(app_id, []))
            write = self._writes.get((app_id, True))
        return _rows(app_id, held, AuditRow, write)

    def close(self) -> None:
        """Nothing to release."""


def _rows(app_id: str, held: list[Any], kind: type[Any], write: Callable[[str, Any], Any] | None) -> list[Any]:
    """Rows committed as rows, and the objects kept written as rows (with ``write``, the
    application's, or their batch's own), in order."""
    out = []
    for item in held:
        if type(item) is kind:
            out.append(item)
        elif type(item) is _Batch:
            out += [item.write(app_id, o) for o in item.objects]
        else:
            assert write is not None  # an object is held only once its write is known
            out.append(write(app_id, item))
    return out
