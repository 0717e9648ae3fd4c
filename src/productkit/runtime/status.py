"""The words an application's rows use: statuses, outcomes, step results and audit kinds.

Each is a ``str``-valued :class:`enum.StrEnum`, so a member compares equal to its text and is
stored, encoded and shown exactly as the bare string was (``Status.ENDED == "ended"``).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ACTIVE",
    "PAUSED",
    "AttemptResult",
    "AuditKind",
    "Canceller",
    "Outcome",
    "RecordKind",
    "Status",
    "StepStatus",
]


class Status(StrEnum):
    """Where an application stands."""

    RUNNING = "running"
    AWAITING_INPUT = "awaiting_input"
    WAITING = "waiting"
    COMPENSATING = "compensating"
    FINISHING = "finishing"  # the outcome is reached: the finally steps run
    ENDED = "ended"


# Statuses a crash can leave an application in, in the middle of a step: recover() resumes them.
ACTIVE = (Status.RUNNING, Status.COMPENSATING, Status.FINISHING)
# Statuses of an application paused for input or time: tick() fires their due times.
PAUSED = (Status.AWAITING_INPUT, Status.WAITING)


class Outcome(StrEnum):
    """How an application ended."""

    COMPLETED = "completed"
    REJECTED = "rejected"
    REFERRED = "referred"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StepStatus(StrEnum):
    """The committed result of a step, or of undoing it."""

    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"
    ERROR = "error"  # a business error the step's routes handled
    BYPASSED = "bypassed"  # jumped over by a business error's goto
    ABANDONED = "abandoned"  # pending when the application ended
    COMPENSATED = "compensated"
    COMPENSATION_FAILED = "compensation_failed"


class RecordKind(StrEnum):
    """A step record is the step's own result or the result of undoing it."""

    STEP = "step"
    COMPENSATION = "compensation"


class AttemptResult(StrEnum):
    """How one call of a handler ended."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    BUSINESS = "business"


class AuditKind(StrEnum):
    """The kinds of line in an application's audit trail."""

    STARTED = "started"
    AWAITING_INPUT = "awaiting_input"
    WAITING = "waiting"
    WAIT_OVER = "wait_over"
    SUBMITTED = "submitted"
    NONCRITICAL_FAILURE = "noncritical_failure"
    GOTO = "goto"
    CANCELLED = "cancelled"
    ENDED = "ended"
    COMPENSATED = "compensated"
    COMPENSATION_FAILED = "compensation_failed"


class Canceller(StrEnum):
    """Who may cancel an application."""

    CUSTOMER = "customer"
    BANK = "bank"

