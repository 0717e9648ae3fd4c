"""What goes in and out of the decision core (see :mod:`productkit.runtime.core`): the events
it takes, the commands it gives, and the definition and state it reads."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel

from ..ir import Retry, Step, WorkflowDefinition
from ._durations import seconds
from ._flow import Position, frontier, positions
from ._slots import FRESH, filler, new, setters
from ._state import AppState
from ._values import param_value
from .errors import InvalidState
from .handlers import StepCall
from .status import Canceller, Outcome, Status
from .views import Attempt, AuditEvent, StepRecord

__all__ = [
    "AwaitInput",
    "CallHandler",
    "CancelRequested",
    "CancelTimer",
    "Command",
    "Decision",
    "End",
    "Event",
    "HandlerAnswered",
    "Policy",
    "Program",
    "RecordAudit",
    "RecordStep",
    "Resumed",
    "Save",
    "StartTimer",
    "Started",
    "Submitted",
    "Ticked",
    "TimerFired",
    "TimerKind",
    "awaiting",
    "call_key",
    "new_state",
]


class TimerKind(StrEnum):
    WAIT = "wait"  # a wait step's duration
    DUE = "due"  # the time a user (staff) step must be done by
    RETRY = "retry"  # the backoff before the next attempt of a handler call


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class Started:
    """A new application (see :func:`new_state`) was opened."""

    at: dt.datetime


@dataclass(frozen=True, slots=True)
class Resumed:
    """Go on with an application a crash left running or compensating."""

    at: dt.datetime


@dataclass(frozen=True, slots=True, init=False)
class Submitted:
    """A user step's checked values; ``error`` is a declared business error it reports."""

    at: dt.datetime
    step_id: str
    values: Mapping[str, object]
    error: str | None = None

    def __init__(self, at: dt.datetime, step_id: str, values: Mapping[str, object],
                 error: str | None = None) -> None:
        s = _SUBMITTED  # the slots' setters (see ._slots)
        s[0](self, at)
        s[1](self, step_id)
        s[2](self, values)
        s[3](self, error)


@dataclass(frozen=True, slots=True)
class Ticked:
    """The executor's clock reached ``until``: every wait and due time at or before it fires."""

    at: dt.datetime
    until: dt.datetime


@dataclass(frozen=True, slots=True)
class TimerFired:
    """One timer a :class:`StartTimer` asked for came due."""

    at: dt.datetime
    kind: TimerKind
    step_id: str
    compensating: bool = False


@dataclass(frozen=True, slots=True, init=False)
class HandlerAnswered:
    """How one attempt of a :class:`CallHandler` ended; ``code`` and ``message`` are those of
    a business error, ``outputs`` the handler's (component paths) when it succeeded."""

    at: dt.datetime
    step_id: str
    compensating: bool
    attempt: Attempt
    outputs: Mapping[str, object] = field(default_factory=dict)
    code: str | None = None
    message: str | None = None

    def __init__(self, at: dt.datetime, step_id: str, compensating: bool, attempt: Attempt,
                 outputs: Mapping[str, object] = FRESH, code: str | None = None,
                 message: str | None = None) -> None:
        s = _HANDLER_ANSWERED  # the slots' setters (see ._slots): one per handler call
        s[0](self, at)
        s[1](self, step_id)
        s[2](self, compensating)
        s[3](self, attempt)
        s[4](self, {} if outputs is FRESH else outputs)
        s[5](self, code)
        s[6](self, message)


@dataclass(frozen=True, slots=True)
class CancelRequested:
    at: dt.datetime
    by: Canceller
    reason: str


Event = Started | Resumed | Submitted | Ticked | TimerFired | HandlerAnswered | CancelRequested


# ---------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True, init=False)
class RecordStep:
    record: StepRecord

    def __init__(self, record: StepRecord) -> None:
        _RECORD_STEP[0](self, record)  # the slot's setter (see ._slots): one per step


@dataclass(frozen=True, slots=True, init=False)
class RecordAudit:
    event: AuditEvent

    def __init__(self, event: AuditEvent) -> None:
        _RECORD_AUDIT[0](self, event)  # the slot's setter (see ._slots)


@dataclass(frozen=True, slots=True, init=False)
class Save:
    """Commit ``state`` with the rows recorded since the last Save, in one transaction."""

    state: AppState

    def __init__(self, state: AppState) -> None:
        _SAVE[0](self, state)  # the slot's setter (see ._slots): one or two per step


@dataclass(frozen=True, slots=True, init=False)
class CallHandler:
    call: StepCall
    timeout: float | None  # seconds this attempt may take: what is left of the step's budget

    def __init__(self, call: StepCall, timeout: float | None) -> None:
        s = _CALL_HANDLER  # the slots' setters (see ._slots)
        s[0](self, call)
        s[1](self, timeout)


@dataclass(frozen=True, slots=True)
class AwaitInput:
    step_id: str
    actor: str | None


@dataclass(frozen=True, slots=True)
class StartTimer:
    kind: TimerKind
    step_id: str
    due: dt.datetime
    compensating: bool = False


@dataclass(frozen=True, slots=True)
class CancelTimer:
    kind: TimerKind
    step_id: str


@dataclass(frozen=True, slots=True)
class End:
    outcome: Outcome
    reason: str | None


Command = (RecordStep | RecordAudit | Save | CallHandler | AwaitInput | StartTimer | CancelTimer
           | End)


@dataclass(frozen=True, slots=True, init=False)
class Decision:
    state: AppState
    commands: tuple[Command, ...]

    def __init__(self, state: AppState, commands: tuple[Command, ...]) -> None:
        s = _DECISION  # the slots' setters (see ._slots): one per event
        s[0](self, state)
        s[1](self, commands)


_SUBMITTED = setters(Submitted)
_HANDLER_ANSWERED = setters(HandlerAnswered)
_RECORD_STEP = setters(RecordStep)
_RECORD_AUDIT = setters(RecordAudit)
_SAVE = setters(Save)
_CALL_HANDLER = setters(CallHandler)
_DECISION = setters(Decision)

# The builders of the events and commands made on every step (see ._slots): every field, in order.
_SUBMITTED_FILLER = filler(Submitted)
_HANDLER_ANSWERED_FILLER = filler(HandlerAnswered)
_RECORD_STEP_FILLER = filler(RecordStep)
_RECORD_AUDIT_FILLER = filler(RecordAudit)
_SAVE_FILLER = filler(Save)
_CALL_HANDLER_FILLER = filler(CallHandler)
_DECISION_FILLER = filler(Decision)


def build_submitted(at: dt.datetime, step_id: str, values: Mapping[str, object],
                    error: str | None) -> Submitted:
    e = _SUBMITTED_FILLER()
    e.at = at
    e.step_id = step_id
    e.values = values
    e.error = error
    e.__class__ = Submitted
    made: Submitted = e
    return made


def build_handler_answered(at: dt.datetime, step_id: str, compensating: bool, attempt: Attempt,
                           outputs: Mapping[str, object], code: str | None,
                           message: str | None) -> HandlerAnswered:
    e = _HANDLER_ANSWERED_FILLER()
    e.at = at
    e.step_id = step_id
    e.compensating = compensating
    e.attempt = attempt
    e.outputs = outputs
    e.code = code
    e.message = message
    e.__class__ = HandlerAnswered
    made: HandlerAnswered = e
    return made


def build_record_step(record: StepRecord) -> RecordStep:
    c = _RECORD_STEP_FILLER()
    c.record = record
    c.__class__ = RecordStep
    made: RecordStep = c
    return made


def build_record_audit(event: AuditEvent) -> RecordAudit:
    c = _RECORD_AUDIT_FILLER()
    c.event = event
    c.__class__ = RecordAudit
    made: RecordAudit = c
    return made


def build_save(state: AppState) -> Save:
    c = _SAVE_FILLER()
    c.state = state
    c.__class__ = Save
    made: Save = c
    return made


def build_call_handler(call: StepCall, timeout: float | None) -> CallHandler:
    c = _CALL_HANDLER_FILLER()
    c.call = call
    c.timeout = timeout
    c.__class__ = CallHandler
    made: CallHandler = c
    return made


def build_decision(state: AppState, commands: tuple[Command, ...]) -> Decision:
    d = _DECISION_FILLER()
    d.state = state
    d.commands = commands
    d.__class__ = Decision
    made: Decision = d
    return made


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class Program:
    """A workflow definition with what the core derives from it once: parameter values and
    the position of every step in the flow."""

    definition: WorkflowDefinition
    parameters: Mapping[str, object]
    positions: Mapping[str, Position]
    # Derived once per definition, not per step: each step's retry policy, the steps in
    # document order, the parameters with a dated value, and the values by day (filled lazily).
    policies: Mapping[str, Policy] = field(default_factory=dict)
    order: Mapping[str, int] = field(default_factory=dict)
    scheduled: tuple[str, ...] = ()
    _by_day: dict[dt.date, Mapping[str, object]] = field(default_factory=dict, compare=False)
    _fronts: dict[tuple[str, ...], list[str]] = field(default_factory=dict, compare=False)
    _step_params: dict[tuple[str, dt.date], Mapping[str, object]] = field(default_factory=dict, compare=False)
    _zone: list[dt.tzinfo] = field(default_factory=list, compare=False)
    # The last business date worked out, with the time it is of: an application's start time is
    # one object, shared by its states, read at every decision and view.
    _last_day: list[tuple[dt.datetime, dt.date]] = field(default_factory=list, compare=False)
    # The definition as the core reads it: see :meth:`plain`.
    _plain: list[WorkflowDefinition] = field(default_factory=list, compare=False)
    _budgets: dict[str, dt.timedelta | None] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, definition: WorkflowDefinition) -> Program:
        params = {n: param_value(p) for n, p in definition.parameters.items()}
        where = positions(definition.flow)
        return cls(definition, params, where,
                   _policies(definition),
                   {sid: i for i, sid in enumerate(where)},
                   tuple(n for n, p in definition.parameters.items() if p.schedule))

    def plain(self) -> WorkflowDefinition:
        """The definition and its steps as plain objects with the same fields holding the same
        values (:func:`plain_copy`): the core reads hundreds of their fields per application, and
        a field of a pydantic model costs several times a plain slot (its class's ``__getattr__``
        makes every read take the slow path). The steps' conditions and the data fields too (a
        handler's outputs are coerced to their types). Only read, never changed, like the
        definition."""
        if not self._plain:
            defn = self.definition
            steps = {sid: plain_copy(step, when=plain_copy(step.when) if step.when is not None else None)
                     for sid, step in defn.steps.items()}
            data = {path: plain_copy(fd) for path, fd in defn.data.items()}  # the outputs' types
            self._plain.append(plain_copy(defn, steps=steps, data=data))
        return self._plain[0]

    def parameters_on(self, day: dt.date) -> Mapping[str, object]:
        """Parameter values for an application started on ``day``: a dated value (a campaign's
        rate) in place of the usual one within its window."""
        if not self.scheduled:
            return self.parameters
        values = self._by_day.get(day)
        if values is None:
            params = self.definition.parameters
            dated = {n: param_value(params[n], day) for n in self.scheduled}
            values = self._by_day[day] = {**self.parameters, **dated}
        return values

    def step_parameters(self, step: Step, day: dt.date) -> dict[str, object]:
        """The values of ``step``'s parameters for an application started on ``day``, converted
        once per step and day; each call gets its own copy, lists and tables too (a handler may
        change what it is given, and no other application may see that)."""
        if not step.parameters:
            return {}
        key = (step.id, day)
        values = self._step_params.get(key)
        if values is None:
            values = {n: param_value(p, day) for n, p in step.parameters.items()}
            if len(self._step_params) < _STEP_PARAMS:
                self._step_params[key] = values
        return {n: copy.deepcopy(v) if isinstance(v, list | dict) else v for n, v in values.items()}

    def frontier(self, finished: Mapping[str, object]) -> list[str]:
        """:func:`frontier` of the flow (a new list), remembered by the steps finished so far in
        the order they finished (one entry per way through the flow, at most _FRONTS)."""
        key = tuple(finished)
        front = self._fronts.get(key)
        if front is None:
            front = frontier(self.definition.flow, finished)
            if len(self._fronts) < _FRONTS:
                self._fronts[key] = front
        return list(front)

    def business_date(self, at: dt.datetime) -> dt.date:
        """:func:`productkit.ir.business_date` of ``at`` on the definition's clock, with the
        clock's zone read from its offset once."""
        last = self._last_day
        if last and last[0][0] is at:
            return last[0][1]
        if not self._zone:
            self._zone.append(_zone(self.definition.utc_offset))
        day = at.astimezone(self._zone[0]).date()
        self._last_day[:] = [(at, day)]
        return day

    def budget(self, step: Step) -> dt.timedelta | None:
        """``timedelta(seconds=policy(step).timeout)``, the step's time budget (None: no timeout),
        made once per step (the same value each time: it depends on the timeout alone)."""
        try:
            return self._budgets[step.id]
        except KeyError:
            timeout = self.policy(step).timeout
            budget = self._budgets[step.id] = dt.timedelta(seconds=timeout) if timeout is not None else None
            return budget

    def policy(self, step: Step) -> Policy:
        """The step's retry policy (worked out once per definition)."""
        policy = self.policies.get(step.id)
        return policy if policy is not None else Policy.of(step)


T = TypeVar("T", bound=BaseModel)


def plain_copy(model: T, **fields: object) -> T:
    """An object with the fields of the pydantic ``model`` as plain slots, holding the same values
    (the same objects: nothing is copied), or the ones given in ``fields``. It has the fields
    only: no methods, no validation; typed as the model for the code that reads its fields."""
    kind = type(model)
    found = _PLAIN_CLASSES.get(kind)
    if found is None:
        names = tuple(kind.model_fields)
        found = _PLAIN_CLASSES[kind] = (type(f"Plain{kind.__name__}", (), {"__slots__": names}), names)
    made = new(found[0])
    for name in found[1]:
        setattr(made, name, fields[name] if name in fields else getattr(model, name))
    copied: T = made
    return copied


_PLAIN_CLASSES: dict[type, tuple[type, tuple[str, ...]]] = {}  # a model class -> its plain class, fields

_FRONTS = 4096  # frontiers a Program remembers; past that it works them out each time
_STEP_PARAMS = 65536  # steps' parameter values by day a Program remembers (days x service steps)


def _zone(utc_offset: str) -> dt.tzinfo:
    """The fixed zone of a business calendar's UTC offset, as :func:`productkit.ir.business_date`
    reads it."""
    sign = -1 if utc_offset.startswith("-") else 1
    hours, minutes = (int(x) for x in utc_offset.lstrip("+-").split(":"))
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def _policies(definition: WorkflowDefinition) -> dict[str, Policy]:
    """The retry policy of every service step whose policy can be worked out up front."""
    out = {}
    for sid, step in definition.steps.items():
        if step.kind == "service":
            try:
                out[sid] = Policy.of(step)
            except ValueError:  # left to Policy.of at the call, which raises as it always did
                continue
    return out


@dataclass(frozen=True, slots=True)
class Policy:
    """Attempts, backoff and timeout of a step, in seconds."""

    attempts: int = 1
    backoff: float = 0.0
    multiplier: float = 2.0
    max_backoff: float | None = None
    timeout: float | None = None

    @classmethod
    def of(cls, step: Step) -> Policy:
        r = step.retry or Retry()
        return cls(attempts=max(1, r.max_attempts),
                   backoff=seconds(r.backoff) if r.backoff else 0.0,
                   multiplier=float(r.multiplier),
                   max_backoff=seconds(r.max_backoff) if r.max_backoff else None,
                   timeout=seconds(step.timeout) if step.timeout else None)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        wait = self.backoff * self.multiplier ** (attempt - 1)
        return min(wait, self.max_backoff) if self.max_backoff is not None else wait


def new_state(app_id: str, product_id: str, version: str, digest: str, channel: str,
              at: dt.datetime, data: Mapping[str, object]) -> AppState:
    """The state of an application about to be :class:`Started`."""
    return AppState(app_id, product_id, version, digest, channel, _RUNNING, at, at,
                    data=dict(data))


# Bound once: a member read through its enum class costs a call of the metaclass's hook.
_RUNNING, _AWAITING_INPUT = Status.RUNNING, Status.AWAITING_INPUT


def call_key(step_id: str, compensating: bool) -> str:
    """The call's name in ``AppState.calls`` and in its idempotency key (``app/<key>``)."""
    return f"{step_id}/compensate" if compensating else step_id


def awaiting(definition: WorkflowDefinition, state: AppState, step_id: str) -> Step:
    """The user step ``step_id`` when the application waits for it; InvalidState otherwise."""
    step = definition.steps.get(step_id)
    if state.status != _AWAITING_INPUT or step is None or step.kind != "user" \
            or step_id not in state.entered or step_id in state.finished:  # not pending()
        raise InvalidState(f"application {state.id} is {state.status} and does not wait for "
                           f"step {step_id!r} (pending: {', '.join(state.pending()) or 'none'})")
    return step
