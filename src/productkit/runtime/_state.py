"""An application's state while the engine works on it, and its rows in a store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from . import _codec
from .store import AppRow, AuditRow, StepRow
from .views import Attempt, AuditEvent, Status, StepRecord

__all__ = ["AppState", "audit_event", "audit_row", "step_record", "step_row"]


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
    finished: dict[str, str] = field(default_factory=dict)  # step id -> done, skipped, ...
    completed: list[str] = field(default_factory=list)  # service steps done, in order
    compensated: list[str] = field(default_factory=list)
    entered: list[str] = field(default_factory=list)  # user and wait steps now pending
    timers: dict[str, dt.datetime] = field(default_factory=dict)
    undo: dict[str, dict[str, Any]] = field(default_factory=dict)  # inputs, outputs to undo
    outcome: str | None = None
    message: dict[str, str] | None = None
    reason: str | None = None
    attention: bool = False
    revision: int = 0
    seq: int = 0  # number of audit events written

    def pending(self) -> list[str]:
        return [s for s in self.entered if s not in self.finished]

    def due(self) -> dt.datetime | None:
        times = [self.timers[s] for s in self.pending() if s in self.timers]
        return min(times) if times else None

    def to_row(self) -> AppRow:
        body = {name: getattr(self, name) for name in _FIELDS if name != "revision"}
        due = self.due()
        return AppRow(self.id, self.product_id, self.version, self.channel, self.status,
                      _codec.micros(due) if due is not None else None, self.revision,
                      _codec.encode(body))

    @classmethod
    def from_row(cls, row: AppRow) -> AppState:
        body = _codec.decode(row.state)
        return cls(**body, revision=row.revision)


_FIELDS = tuple(AppState.__dataclass_fields__)


def step_row(app_id: str, rec: StepRecord) -> StepRow:
    body = {"at": rec.at, "inputs": dict(rec.inputs), "outputs": dict(rec.outputs),
            "detail": rec.detail,
            "attempts": [[a.number, a.started, a.finished, a.seconds, a.result, a.error]
                         for a in rec.attempts]}
    return StepRow(app_id, rec.step_id, rec.kind, rec.status, _codec.encode(body))


def step_record(row: StepRow) -> StepRecord:
    body = _codec.decode(row.body)
    attempts = tuple(Attempt(*a) for a in body["attempts"])
    kind: Literal["step", "compensation"] = (
        "compensation" if row.kind == "compensation" else "step")
    return StepRecord(row.step_id, kind, row.status, body["at"], body["inputs"], body["outputs"],
                      attempts, body["detail"])


def audit_row(app_id: str, event: AuditEvent) -> AuditRow:
    return AuditRow(app_id, event.seq, event.at.isoformat(), event.kind, event.step_id,
                    _codec.encode(dict(event.detail)))


def audit_event(row: AuditRow) -> AuditEvent:
    detail = cast(Mapping[str, object], _codec.decode(row.body))
    return AuditEvent(row.seq, dt.datetime.fromisoformat(row.at), row.kind, row.step_id, detail)
