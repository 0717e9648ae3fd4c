"""What travels between the channel service, the workflow and the activities: exact JSON text.

Temporal's payload converter knows no Decimal, money or dates, so every payload is the text the
store's codec writes (``productkit.runtime._codec``): a decimal or a date survives the trip."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from .._codec import decode, encode
from .._protocol import HandlerAnswered
from .._state import attempt_of, attempt_row
from ..handlers import StepCall
from ..store import AppRow, AuditRow, StepRow
from ..views import FieldError

__all__ = ["answer_of", "answer_text", "call_of", "call_text", "errors_of", "errors_text",
           "shifted", "view_of", "view_text"]


def call_text(call: StepCall, timeout: float | None) -> str:
    body = {name: getattr(call, name) for name in StepCall.__dataclass_fields__}
    return encode({"call": body, "timeout": timeout})


def call_of(text: str) -> tuple[StepCall, float | None]:
    body = decode(text)
    return StepCall(**body["call"]), body["timeout"]


def answer_text(answer: HandlerAnswered) -> str:
    return encode({"at": answer.at, "step_id": answer.step_id, "compensating": answer.compensating,
                   "attempt": attempt_row(answer.attempt), "outputs": dict(answer.outputs),
                   "code": answer.code, "message": answer.message})


def answer_of(text: str) -> HandlerAnswered:
    body = decode(text)
    return HandlerAnswered(body["at"], body["step_id"], body["compensating"],
                           attempt_of(body["attempt"]), body["outputs"], body["code"], body["message"])


def shifted(answer: HandlerAnswered, at: dt.datetime, offset: dt.timedelta) -> HandlerAnswered:
    """The answer as of the application's clock: the attempt's times moved by ``offset`` (the
    application clock's distance from the server's), the event at ``at``."""
    a = answer.attempt
    attempt = type(a)(a.number, a.started + offset, a.finished + offset, a.seconds, a.result, a.error)
    return HandlerAnswered(at, answer.step_id, answer.compensating, attempt, answer.outputs,
                           answer.code, answer.message)


def view_text(row: AppRow, steps: Sequence[StepRow], audit: Sequence[AuditRow]) -> str:
    """The application as a query returns it: its state row, step rows and audit rows."""
    return encode({"app": _row(row), "steps": [_row(s) for s in steps], "audit": [_row(a) for a in audit]})


def view_of(text: str) -> tuple[AppRow, list[StepRow], list[AuditRow]]:
    body = decode(text)
    return (AppRow(*body["app"]), [StepRow(*s) for s in body["steps"]],
            [AuditRow(*a) for a in body["audit"]])


def _row(row: Any) -> list[object]:
    return [getattr(row, name) for name in row.__dataclass_fields__]


def errors_text(errors: Sequence[FieldError]) -> str:
    return encode([[e.path, e.code, e.message, e.rule, e.label.model_dump(by_alias=True) if e.label else None]
                   for e in errors])


def errors_of(text: str) -> list[FieldError]:
    from ...ir import Label

    out = []
    for path, code, message, rule, label in decode(text):
        out.append(FieldError(path, code, message, rule, Label.model_validate(label) if label else None))
    return out
