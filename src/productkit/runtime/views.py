"""What the runtime hands to a channel service: immutable views of forms, screens,
applications, their audit trail, and handler readiness."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..ir import FieldDef, Label, WorkflowDefinition
from ._slots import FRESH, filler, setters
from .status import AttemptResult, AuditKind, Outcome, RecordKind, Status, StepStatus

__all__ = [
    "Application",
    "Attempt",
    "AuditEvent",
    "Deferred",
    "FieldError",
    "Form",
    "HandlerNeed",
    "ProductReadiness",
    "ProductVersion",
    "Readiness",
    "Screen",
    "Status",
    "StepRecord",
]

@dataclass(frozen=True, slots=True)
class Form:
    """A user step's form on one channel: JSON Schema (draft-07) of its data and its UI schemas."""

    schema: Mapping[str, Any]
    uischema: Mapping[str, Any]
    path: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


Content = tuple[WorkflowDefinition, Mapping[tuple[str, str], Form]]


class Deferred:
    """A product version's definition and forms, read and verified the first time they are
    needed (then kept): a build of a thousand products loads in the time of its manifest, and
    no file is used before its seal, digest and structure are checked. ``read`` raises
    CatalogError for a file that fails; the error is raised again on every later use."""

    __slots__ = ("_content", "_error", "_lock", "_read")

    def __init__(self, read: Callable[[], Content] | None = None, content: Content | None = None) -> None:
        self._read, self._content = read, content
        self._error: Exception | None = None
        self._lock = threading.Lock()

    def get(self) -> Content:
        if self._content is not None:
            return self._content
        with self._lock:
            if self._content is None:
                if self._error is not None:
                    raise self._error
                assert self._read is not None
                try:
                    self._content = self._read()
                except Exception as exc:
                    self._error = exc
                    raise
            return self._content

    @property
    def loaded(self) -> bool:
        return self._content is not None


@dataclass(frozen=True, slots=True)
class ProductVersion:
    """One product version of a build: its manifest entry, and its definition and forms, read
    and verified on first use (see :class:`Deferred`)."""

    id: str
    version: str
    name: Label
    channels: tuple[str, ...]
    effective_from: dt.date | None
    effective_until: dt.date | None
    digest: str
    components: Mapping[str, str]
    content: Deferred = field(repr=False, compare=False)

    @property
    def definition(self) -> WorkflowDefinition:
        return self.content.get()[0]

    @property
    def forms(self) -> Mapping[tuple[str, str], Form]:
        return self.content.get()[1]

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    def on_sale(self, on: dt.date) -> bool:
        """Effective on ``on``: from its first day through its last day (``until``) inclusive."""
        starts = self.effective_from is None or self.effective_from <= on
        return starts and (self.effective_until is None or on <= self.effective_until)


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one submitted field; ``path`` is the product data path."""

    path: str
    code: str
    message: str
    rule: str | None = None
    label: Label | None = None

    def __str__(self) -> str:
        return f"{self.path or '<form>'}: {self.message}"


@dataclass(frozen=True, slots=True, init=False)
class Screen:
    """A user step as a channel shows it: the UI component, the form, labels, current values."""

    step_id: str
    component: str | None
    title: Label
    actor: str | None
    candidate_groups: tuple[str, ...]
    form: Form | None
    fields: Mapping[str, FieldDef]
    values: Mapping[str, object]
    shows: Mapping[str, object]
    due_within: str | None = None  # a staff task: due this long (ISO 8601) after it starts

    def __init__(self, step_id: str, component: str | None, title: Label, actor: str | None,
                 candidate_groups: tuple[str, ...], form: Form | None, fields: Mapping[str, FieldDef],
                 values: Mapping[str, object], shows: Mapping[str, object],
                 due_within: str | None = None) -> None:
        s = _SCREEN  # the slots' setters (see ._slots): two screens per application
        s[0](self, step_id)
        s[1](self, component)
        s[2](self, title)
        s[3](self, actor)
        s[4](self, candidate_groups)
        s[5](self, form)
        s[6](self, fields)
        s[7](self, values)
        s[8](self, shows)
        s[9](self, due_within)


@dataclass(frozen=True, slots=True, init=False)
class Application:
    """One application as it stands after the last committed step."""

    id: str
    product_id: str
    version: str
    channel: str
    status: Status
    outcome: Outcome | None
    message: Label | None
    reason: str | None
    screen: Screen | None
    pending: tuple[str, ...]
    due: dt.datetime | None
    data: Mapping[str, object]
    created: dt.datetime
    updated: dt.datetime
    needs_attention: bool = False
    errors: tuple[FieldError, ...] = ()

    def __init__(self, id: str, product_id: str, version: str, channel: str, status: Status,
                 outcome: Outcome | None, message: Label | None, reason: str | None,
                 screen: Screen | None, pending: tuple[str, ...], due: dt.datetime | None,
                 data: Mapping[str, object], created: dt.datetime, updated: dt.datetime,
                 needs_attention: bool = False, errors: tuple[FieldError, ...] = ()) -> None:
        s = _APPLICATION  # the slots' setters (see ._slots): a view per engine call
        s[0](self, id)
        s[1](self, product_id)
        s[2](self, version)
        s[3](self, channel)
        s[4](self, status)
        s[5](self, outcome)
        s[6](self, message)
        s[7](self, reason)
        s[8](self, screen)
        s[9](self, pending)
        s[10](self, due)
        s[11](self, data)
        s[12](self, created)
        s[13](self, updated)
        s[14](self, needs_attention)
        s[15](self, errors)

    @property
    def ended(self) -> bool:
        return self.status == Status.ENDED


@dataclass(frozen=True, slots=True, init=False)
class Attempt:
    """One call of a handler: when, how long (wall seconds), and how it ended."""

    number: int
    started: dt.datetime
    finished: dt.datetime
    seconds: float
    result: AttemptResult
    error: str | None = None

    def __init__(self, number: int, started: dt.datetime, finished: dt.datetime, seconds: float,
                 result: AttemptResult, error: str | None = None) -> None:
        s = _ATTEMPT  # the slots' setters (see ._slots): one per handler call
        s[0](self, number)
        s[1](self, started)
        s[2](self, finished)
        s[3](self, seconds)
        s[4](self, result)
        s[5](self, error)


@dataclass(frozen=True, slots=True, init=False)
class StepRecord:
    """The committed result of a step (``kind="step"``) or of undoing it (``"compensation"``)."""

    step_id: str
    kind: RecordKind
    status: StepStatus
    at: dt.datetime
    inputs: Mapping[str, object] = field(default_factory=dict)
    outputs: Mapping[str, object] = field(default_factory=dict)
    attempts: tuple[Attempt, ...] = ()
    detail: str | None = None

    def __init__(self, step_id: str, kind: RecordKind, status: StepStatus, at: dt.datetime,
                 inputs: Mapping[str, object] = FRESH, outputs: Mapping[str, object] = FRESH,
                 attempts: tuple[Attempt, ...] = (), detail: str | None = None) -> None:
        s = _STEP_RECORD  # the slots' setters (see ._slots): one per step
        s[0](self, step_id)
        s[1](self, kind)
        s[2](self, status)
        s[3](self, at)
        s[4](self, {} if inputs is FRESH else inputs)
        s[5](self, {} if outputs is FRESH else outputs)
        s[6](self, attempts)
        s[7](self, detail)


@dataclass(frozen=True, slots=True, init=False)
class AuditEvent:
    """One line of an application's audit trail, numbered from 1."""

    seq: int
    at: dt.datetime
    kind: AuditKind
    step_id: str | None
    detail: Mapping[str, object]

    def __init__(self, seq: int, at: dt.datetime, kind: AuditKind, step_id: str | None,
                 detail: Mapping[str, object]) -> None:
        s = _AUDIT_EVENT  # the slots' setters (see ._slots): a few per step
        s[0](self, seq)
        s[1](self, at)
        s[2](self, kind)
        s[3](self, step_id)
        s[4](self, detail)


_SCREEN = setters(Screen)
_APPLICATION = setters(Application)
_ATTEMPT = setters(Attempt)
_STEP_RECORD = setters(StepRecord)
_AUDIT_EVENT = setters(AuditEvent)

# The builders of the views made on every step (see ._slots): every field, in order.
_SCREEN_FILLER = filler(Screen)
_APPLICATION_FILLER = filler(Application)
_ATTEMPT_FILLER = filler(Attempt)
_STEP_RECORD_FILLER = filler(StepRecord)
_AUDIT_EVENT_FILLER = filler(AuditEvent)


def build_screen(step_id: str, component: str | None, title: Label, actor: str | None,
                 candidate_groups: tuple[str, ...], form: Form | None, fields: Mapping[str, FieldDef],
                 values: Mapping[str, object], shows: Mapping[str, object],
                 due_within: str | None) -> Screen:
    s = _SCREEN_FILLER()
    s.step_id = step_id
    s.component = component
    s.title = title
    s.actor = actor
    s.candidate_groups = candidate_groups
    s.form = form
    s.fields = fields
    s.values = values
    s.shows = shows
    s.due_within = due_within
    s.__class__ = Screen
    made: Screen = s
    return made


def build_application(id: str, product_id: str, version: str, channel: str, status: Status,
                      outcome: Outcome | None, message: Label | None, reason: str | None,
                      screen: Screen | None, pending: tuple[str, ...], due: dt.datetime | None,
                      data: Mapping[str, object], created: dt.datetime, updated: dt.datetime,
                      needs_attention: bool, errors: tuple[FieldError, ...]) -> Application:
    a = _APPLICATION_FILLER()
    a.id = id
    a.product_id = product_id
    a.version = version
    a.channel = channel
    a.status = status
    a.outcome = outcome
    a.message = message
    a.reason = reason
    a.screen = screen
    a.pending = pending
    a.due = due
    a.data = data
    a.created = created
    a.updated = updated
    a.needs_attention = needs_attention
    a.errors = errors
    a.__class__ = Application
    made: Application = a
    return made


def build_attempt(number: int, started: dt.datetime, finished: dt.datetime, seconds: float,
                  result: AttemptResult, error: str | None) -> Attempt:
    a = _ATTEMPT_FILLER()
    a.number = number
    a.started = started
    a.finished = finished
    a.seconds = seconds
    a.result = result
    a.error = error
    a.__class__ = Attempt
    made: Attempt = a
    return made


def build_step_record(step_id: str, kind: RecordKind, status: StepStatus, at: dt.datetime,
                      inputs: Mapping[str, object], outputs: Mapping[str, object],
                      attempts: tuple[Attempt, ...], detail: str | None) -> StepRecord:
    r = _STEP_RECORD_FILLER()
    r.step_id = step_id
    r.kind = kind
    r.status = status
    r.at = at
    r.inputs = inputs
    r.outputs = outputs
    r.attempts = attempts
    r.detail = detail
    r.__class__ = StepRecord
    made: StepRecord = r
    return made


def build_audit_event(seq: int, at: dt.datetime, kind: AuditKind, step_id: str | None,
                      detail: Mapping[str, object]) -> AuditEvent:
    e = _AUDIT_EVENT_FILLER()
    e.seq = seq
    e.at = at
    e.kind = kind
    e.step_id = step_id
    e.detail = detail
    e.__class__ = AuditEvent
    made: AuditEvent = e
    return made


@dataclass(frozen=True, slots=True)
class HandlerNeed:
    """A handler a service step (or its compensation) calls, and whether it is registered."""

    product_id: str
    version: str
    step_id: str
    handler: str
    role: Literal["handler", "compensation"]
    registered: bool


@dataclass(frozen=True, slots=True)
class ProductReadiness:
    product_id: str
    version: str
    missing: tuple[str, ...]

    @property
    def configuration_only(self) -> bool:
        """True when every handler exists: the version ships by configuration alone."""
        return not self.missing


@dataclass(frozen=True, slots=True)
class Readiness:
    """Which handlers the products of a channel need, and which are registered."""

    channel: str
    needs: tuple[HandlerNeed, ...]
    products: tuple[ProductReadiness, ...]

    @property
    def ready(self) -> bool:
        return all(p.configuration_only for p in self.products)

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(sorted({n.handler for n in self.needs if not n.registered}))

    def needs_code(self) -> list[str]:
        """``id@version`` of the products that need new handler code before they can run."""
        return [f"{p.product_id}@{p.version}" for p in self.products if p.missing]

    def configuration_only(self) -> list[str]:
        """``id@version`` of the products that ship by configuration alone."""
        return [f"{p.product_id}@{p.version}" for p in self.products if not p.missing]
