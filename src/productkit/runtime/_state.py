"""An application's state while the engine works on it, and its rows in a store."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from ._codec import decode, encode, micros, tagged
from .status import AttemptResult, AuditKind, Outcome, RecordKind, Status, StepStatus
from .store import AppRow, AuditRow, StepRow, make_app_row, make_audit_row, make_step_row
from .views import Attempt, AuditEvent, StepRecord

_new = object.__new__

__all__ = ["WRITER", "AppState", "RecentStates", "attempt_of", "attempt_row", "audit_event", "audit_row", "step_record",
           "step_row"]


@dataclass(slots=True)
class AppState:
    """Everything needed to continue an application; what a store keeps per application."""

    id: str
    product_id: str
    version: str
    digest: str
    channel: str
    status: Status
    created: dt.datetime
    updated: dt.datetime
    data: dict[str, object] = field(default_factory=dict)
    finished: dict[str, StepStatus] = field(default_factory=dict)  # step id -> done, skipped, ...
    completed: list[str] = field(default_factory=list)  # service steps done, in order
    compensated: list[str] = field(default_factory=list)
    entered: list[str] = field(default_factory=list)  # user and wait steps now pending
    timers: dict[str, dt.datetime] = field(default_factory=dict)
    undo: dict[str, dict[str, Any]] = field(default_factory=dict)  # inputs, outputs to undo
    outcome: Outcome | None = None
    message: dict[str, str] | None = None
    reason: str | None = None
    attention: bool = False
    # The store's revision this state was read at: the executor's bookkeeping, not state.
    revision: int = field(default=0, compare=False)
    seq: int = 0  # number of audit events written
    # Handler calls under way, by call key ("step" or "step/compensate"): the attempts made
    # (as attempt_row lists), the step's deadline and the due time of the next attempt.
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)

    def pending(self) -> list[str]:
        return [s for s in self.entered if s not in self.finished]

    def due(self) -> dt.datetime | None:
        if not self.timers:  # most states: no wait or staff step under way
            return None
        times = [self.timers[s] for s in self.pending() if s in self.timers]
        return min(times) if times else None

    def copy(self) -> AppState:
        """A copy whose containers can change without touching this one (values are shared).

        Field by field rather than through ``__init__`` (half the time; the core copies a state
        a couple of times per step); tests/runtime/test_state_copy.py checks it misses none."""
        c: AppState = _new(AppState)  # one statement per field: no tuple built and unpacked
        c.id = self.id
        c.product_id = self.product_id
        c.version = self.version
        c.digest = self.digest
        c.channel = self.channel
        c.status = self.status
        c.created = self.created
        c.updated = self.updated
        c.data = self.data.copy()
        c.finished = self.finished.copy()
        c.completed = self.completed.copy()
        c.compensated = self.compensated.copy()
        c.entered = self.entered.copy()
        c.timers = self.timers.copy()
        c.undo = self.undo.copy()
        c.outcome = self.outcome
        c.message = self.message
        c.reason = self.reason
        c.attention = self.attention
        c.revision = self.revision
        c.seq = self.seq
        calls = self.calls
        c.calls = {k: v.copy() for k, v in calls.items()} if calls else {}
        return c

    def to_row(self, revision: int | None = None) -> AppRow:
        """The state as a store's row, at ``revision`` (default: the one it was read at)."""
        body = {"id": self.id, "product_id": self.product_id, "version": self.version,
                "digest": self.digest, "channel": self.channel, "status": self.status,
                "created": _created_tag(self.created), "updated": tagged(self.updated), "data": self.data,
                "finished": self.finished, "completed": self.completed,
                "compensated": self.compensated, "entered": self.entered, "timers": self.timers,
                "undo": self.undo, "outcome": self.outcome, "message": self.message,
                "reason": self.reason, "attention": self.attention, "seq": self.seq}
        if self.calls:  # rows without a call under way stay as they always were
            body["calls"] = self.calls
        # Only data, undo and calls can hold a float: the other fields are text, whole numbers,
        # times and flags by their types.
        nulls = (self.outcome is None) + (self.message is None) + (self.reason is None)
        text = encode(body, (self.data, self.undo, self.calls), nulls, (self.data,))
        return make_app_row(self.id, self.product_id, self.version, self.channel, self.status,
                            self.due_at(), self.revision if revision is None else revision, text)

    def due_at(self) -> int | None:
        """:meth:`due` as a row's ``due_at`` (epoch microseconds)."""
        due = self.due()
        return micros(due) if due is not None else None

    @classmethod
    def from_row(cls, row: AppRow) -> AppState:
        body = decode(row.state)
        state = cls(**body, revision=row.revision)
        state.status = Status(state.status)
        state.outcome = Outcome(state.outcome) if state.outcome is not None else None
        state.finished = {k: StepStatus(v) for k, v in state.finished.items()}
        return state


_FIELDS = tuple(AppState.__dataclass_fields__)


def _created_tag(moment: dt.datetime) -> object:
    """:func:`tagged` for an application's start time, kept apart from the one :func:`tagged`
    keeps: every row of an application writes the same start time (the same object, which the
    copies of its state share) between the step times :func:`tagged` sees."""
    global _last_created
    last = _last_created
    if last[0] is moment:
        return last[1]
    tag = tagged(moment)
    _last_created = (moment, tag)
    return tag


_last_created: tuple[object, object] = (None, None)


class RecentStates:
    """The state each application was last committed with by this engine, with the text it was
    stored as (at most ``size`` applications, the oldest forgotten first).

    Reading an application back whose row holds that same text gives a copy of the state instead
    of decoding the text again; a row written by anyone else (another process, a restored
    database) holds other text and is decoded as before. The two are equal (the codec reads back
    what it wrote, tests/runtime/test_recent_states.py), except that a tuple a handler returned
    for its compensation stays a tuple rather than reading back as a list."""

    def __init__(self, size: int = 4096) -> None:
        self._states: dict[str, tuple[str, AppState]] = {}
        self._size = size
        self._lock = threading.Lock()

    def put(self, text: str, state: AppState, revision: int) -> None:
        """``state`` was committed as ``text`` at ``revision``; nobody changes it any more."""
        state.revision = revision
        with self._lock:
            self._states.pop(state.id, None)
            self._states[state.id] = (text, state)
            if len(self._states) > self._size:
                del self._states[next(iter(self._states))]

    def get(self, row: AppRow) -> AppState | None:
        """The state ``row`` was committed with, or None when this engine did not commit it.
        It is shared: the engine only reads it (the core decides on a copy)."""
        hit = self._states.get(row.id)
        if hit is None or (hit[0] is not row.state and hit[0] != row.state):
            return None
        state = hit[1]
        if state.revision != row.revision:  # the same text written again later
            state = state.copy()
            state.revision = row.revision
        return state

    def forget(self, app_id: str) -> None:
        with self._lock:
            self._states.pop(app_id, None)


def attempt_row(a: Attempt) -> list[object]:
    return [a.number, a.started, a.finished, a.seconds, a.result, a.error]


def attempt_of(row: Sequence[Any]) -> Attempt:
    number, started, finished, seconds, result, error = row
    return Attempt(number, started, finished, seconds, AttemptResult(result), error)


def step_row(app_id: str, rec: StepRecord) -> StepRow:
    attempts = [[a.number, tagged(a.started), tagged(a.finished), a.seconds, a.result, a.error]
                for a in rec.attempts]  # attempt_row's, with the times written up front
    inputs, outputs = rec.inputs, rec.outputs
    if type(inputs) is not dict or type(outputs) is not dict:  # a record's are dicts already
        inputs, outputs = _plain_dict(inputs), _plain_dict(outputs)
    body = {"at": tagged(rec.at), "inputs": inputs, "outputs": outputs, "detail": rec.detail,
            "attempts": attempts}
    # The time is a datetime and the detail text: the floats can only be in the other three.
    nulls = int(rec.detail is None)
    if attempts:
        nulls += len([a for a in rec.attempts if a.error is None])
    text = encode(body, (inputs, outputs, attempts), nulls, (inputs, outputs))
    return make_step_row(app_id, rec.step_id, rec.kind, rec.status, text)


def _plain_dict(values: Mapping[str, object]) -> dict[str, object]:
    """``values`` as a dict orjson writes (a record's are dicts already)."""
    return values if type(values) is dict else dict(values)


def step_record(row: StepRow) -> StepRecord:
    body = decode(row.body)
    attempts = tuple(attempt_of(a) for a in body["attempts"])
    return StepRecord(row.step_id, RecordKind(row.kind), StepStatus(row.status), body["at"],
                      body["inputs"], body["outputs"], attempts, body["detail"])


def audit_row(app_id: str, event: AuditEvent) -> AuditRow:
    detail = dict(event.detail)
    return make_audit_row(app_id, event.seq, _iso(event.at), event.kind, event.step_id,
                          encode(detail, None, 0, (detail,)))


def _iso(moment: dt.datetime) -> str:
    """``moment.isoformat()``, from the tag :func:`tagged` keeps when it is the time the rows
    of this step were just written with (an event's time is its decision's)."""
    tag = tagged(moment)
    return cast(dict[str, str], tag)["$datetime"] if type(tag) is dict else moment.isoformat()


def audit_event(row: AuditRow) -> AuditEvent:
    detail = cast(Mapping[str, object], decode(row.body))
    return AuditEvent(row.seq, dt.datetime.fromisoformat(row.at), AuditKind(row.kind), row.step_id,
                      detail)


class _Writer:
    """The rows of :class:`AppState`, :class:`StepRecord` and :class:`AuditEvent`, for a store
    that keeps those objects and writes them only when read (:class:`~.store.Writer`)."""

    @staticmethod
    def app_row(state: AppState, revision: int) -> AppRow:
        return state.to_row(revision)

    step_row = staticmethod(step_row)
    audit_row = staticmethod(audit_row)


WRITER = _Writer()
