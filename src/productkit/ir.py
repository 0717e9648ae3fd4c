"""The workflow definition: productkit's canonical compiled artifact, one per product version.

Everything a runtime or a target emitter needs is here; nothing reads the YAML again.
The control flow is block-structured: a ``flow`` is a sequence whose items are step ids or
``Parallel`` blocks of branches (each branch again a sequence). A step with ``when`` is skipped
when its condition is false; an ``end`` step ends the whole application when reached (and, if it
has ``when``, only when the condition holds). Decimals are strings holding the exact value.

``dump`` writes compact JSON (sorted keys, UTF-8, no whitespace, every field equal to its default
left out but ``format``); ``load`` restores the defaults, so ``load(dump(d)) == d``. The
``digest`` is the sha256 of the canonical form, every field written out, without the digest: it
does not depend on how the file is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "APPLICATION_DATE_VARIABLE",
    "BUSINESS_UTC_OFFSETS",
    "CHANNEL_VARIABLE",
    "COMPENSATING_OUTCOMES",
    "FAILED_CODE",
    "FORMAT",
    "OUTCOME_VARIABLE",
    "Compensation",
    "Condition",
    "Derived",
    "Effective",
    "ErrorRoute",
    "FieldDef",
    "Flow",
    "Label",
    "Parallel",
    "ParamValue",
    "Provenance",
    "Retry",
    "Rule",
    "Scheduled",
    "Step",
    "WorkflowDefinition",
    "business_date",
    "canonical_bytes",
    "canonical_json",
    "compact_json",
    "dump",
    "expanded",
    "full_json",
    "load",
]

# 4: compact file, fields equal to their defaults left out; 3: tables, dated values, finally steps,
# failure routes; 2: CEL only
FORMAT = "productkit.workflow/4"
CHANNEL_VARIABLE = "channel"  # the application's channel, a start variable of every workflow
# The day the application started (ISO text), a start variable of every workflow; expressions
# read it as a date, fixed for the application so that a replay decides the same way.
APPLICATION_DATE_VARIABLE = "application_date"
OUTCOME_VARIABLE = "outcome"  # the outcome reached, which the conditions of finally steps read
COMPENSATING_OUTCOMES = ("rejected", "failed", "cancelled")
# A business calendar's clock: an application's date (application_date, a product's effective
# day, a campaign's window) is the date of its start time there, wherever the service runs.
# Calendars whose clock has no daylight saving time, so a fixed UTC offset is exact.
BUSINESS_UTC_OFFSETS = {"CN": "+08:00", "HK": "+08:00", "MO": "+08:00", "TW": "+08:00", "SG": "+08:00"}


def business_date(at: dt.datetime, utc_offset: str) -> dt.date:
    """The date of ``at`` (a time with its zone) on the business calendar's clock."""
    sign = -1 if utc_offset.startswith("-") else 1
    hours, minutes = (int(x) for x in utc_offset.lstrip("+-").split(":"))
    return at.astimezone(dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))).date()
# The technical failure every service step implicitly declares: its handler still fails after the
# step's retries, or the step's timeout runs out. Routed like a business error when on_error names it.
FAILED_CODE = "productkit.failed"


class _IR(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_IR):
    zh_CN: str = Field(alias="zh-CN")
    en: str

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Provenance(_IR):
    """Where a value was set; the chain of a parameter lists lowest precedence first."""

    source: str = Field(description="dictionary:<id> | component:<id> | line:<id> | product:<id> | step:<id>")
    file: str
    line: int
    col: int
    value: str | None = None


class Scheduled(_IR):
    """A parameter's value for applications started from ``from`` through ``until`` (inclusive)."""

    from_: str = Field(alias="from")
    until: str | None = None
    value: Any = Field(description="encoded as ParamValue.value is")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ParamValue(_IR):
    """A resolved parameter: type, the exact value as text, and how it came to be."""

    type: str
    value: Any = Field(description="decimals, money amounts and percents as strings; lists as lists")
    currency: str | None = None
    unit: str | None = None
    title: Label | None = None
    locked: bool = False
    provenance: list[Provenance] = Field(default_factory=list)
    schedule: list[Scheduled] = Field(default_factory=list, description="dated values (campaigns), by "
                                      "application date; `value` applies outside every window")

    def value_on(self, day: str | None) -> Any:
        """The encoded value for an application started on ``day`` (ISO date)."""
        if day is not None:
            for s in self.schedule:
                if s.from_ <= day and (s.until is None or day <= s.until):
                    return s.value
        return self.value


class FieldDef(_IR):
    """A typed datum: a context value, a form field, a component input or output."""

    type: str
    items: FieldDef | None = None
    required: bool = True
    currency: str | None = None
    scale: int | None = None
    min: str | None = None
    max: str | None = None
    step: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    values: list[str] | None = None
    value_labels: dict[str, Label] | None = None
    label: Label | None = None
    widget: str | None = None
    placeholder: Label | None = None
    help: Label | None = None
    channels: list[str] | None = None
    readonly: bool = False
    default: Any = None


class Condition(_IR):
    """A type-checked CEL expression and its fixed-point executable form. Targets translate the
    source (the BPMN target writes FEEL); the definition knows no target's language."""

    cel: str = Field(description="the expression as written")
    exec: str = Field(description="CEL evaluated at run time: decimals as integers scaled by 10^scale")
    scale: int = 6
    type: str = Field(description="the checked result type (bool for conditions)")
    names: list[str] = Field(description="parameters and data paths it reads")
    decimals: list[str] = Field(default_factory=list, description="names passed as scaled integers")


class Retry(_IR):
    max_attempts: int = 1
    backoff: str | None = None
    multiplier: str = "2"
    max_backoff: str | None = None


class ErrorRoute(_IR):
    """A declared business error's route: end with an outcome, or jump to a later step
    (the target's own ``when`` still applies). Every declared error has a route; the compiler
    gives unrouted ones ``end: failed``."""

    end: str | None = None
    goto: str | None = None
    message: Label | None = None


class Compensation(_IR):
    handler: str


class Step(_IR):
    """One node of the workflow. ``kind`` decides which fields apply."""

    id: str
    kind: Literal["service", "user", "wait", "end"]
    title: Label
    component: str | None = Field(None, description="id@version of the component used")
    when: Condition | None = None
    channels: list[str] = Field(description="channels on which the step runs")
    # service
    handler: str | None = None
    parameters: dict[str, ParamValue] = Field(default_factory=dict)
    inputs: dict[str, str] = Field(default_factory=dict, description="component path -> product data path")
    outputs: dict[str, str] = Field(default_factory=dict, description="component path -> product data path")
    retry: Retry | None = None
    # timeout: the step's time budget (ISO 8601), covering every attempt and the backoff between
    # them; a user step (a staff task) not done within it fails.
    timeout: str | None = None
    errors: dict[str, ErrorRoute] = Field(default_factory=dict, description="declared error -> route (unrouted: "
                                          "fail); productkit.failed routes a technical failure after the retries")
    error_path: str | None = Field(None, description="staff steps: the data path where the employee "
                                   "submits a declared error code (e.g. the decline of an approval)")
    compensation: Compensation | None = None
    critical: bool = Field(True, description="false: a technical failure after the retries is recorded "
                           "and the flow continues without the step's outputs")
    # user
    actor: Literal["customer", "staff"] | None = None
    candidate_groups: list[str] = Field(default_factory=list)
    due: str | None = Field(None, description="staff steps: when the task is due after it starts (ISO 8601); "
                            "shown to staff, it does not fail the task (timeout does)")
    fields: dict[str, FieldDef] = Field(default_factory=dict, description="product data path -> field")
    shows: list[str] = Field(default_factory=list)
    # wait
    duration: str | None = None
    interruptible: bool = True
    # end
    outcome: str | None = None
    message: Label | None = None


class Parallel(_IR):
    """Branches that run concurrently and join before the next item of the sequence."""

    parallel: list[list[str | Parallel]]


Flow = list[str | Parallel]


class Rule(_IR):
    id: str
    kind: Literal["eligibility", "constraint"]
    condition: Condition
    message: Label


class Derived(_IR):
    type: str
    condition: Condition
    currency: str | None = None


class Effective(_IR):
    from_: str | None = Field(None, alias="from")
    from_source: str | None = Field(None, description="as written, e.g. T+1")
    until: str | None = None
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class WorkflowDefinition(_IR):
    """The compiled product version."""

    format: Literal["productkit.workflow/4"] = "productkit.workflow/4"
    id: str
    version: str
    name: Label
    description: str | None = None
    lines: list[str] = Field(default_factory=list, description="product lines inherited, id@version, nearest first")
    channels: list[str]
    effective: Effective
    parameters: dict[str, ParamValue]
    context: dict[str, FieldDef] = Field(default_factory=dict)
    data: dict[str, FieldDef] = Field(default_factory=dict, description="every data path and its type")
    steps: dict[str, Step]
    flow: Flow
    journeys: dict[str, list[str]] = Field(description="channel -> user step ids in order")
    finally_steps: list[str] = Field(default_factory=list, description="service steps run once, in this order, "
                                     "when the application reaches any outcome (after its compensations); "
                                     "their conditions read `outcome`; they never change it")
    rules: list[Rule] = Field(default_factory=list)
    derived: dict[str, Derived] = Field(default_factory=dict)
    utc_offset: str = Field("+08:00", pattern=r"^[+-](0[0-9]|1[0-4]):[0-5][0-9]$",
                            description="the business calendar's clock: an application's date is the date of "
                            "its start time at this UTC offset")
    compensate_on: list[str] = Field(default_factory=lambda: list(COMPENSATING_OUTCOMES),
                                     description="outcomes that run compensations of completed steps, last first")
    components: dict[str, str] = Field(default_factory=dict, description="component id -> exact version used")
    source: str = Field("", description="the product file, relative to the catalogue root")
    digest: str = ""


def canonical_json(data: Any) -> str:
    """Sorted keys, no whitespace: the bytes a digest is taken of. For what definitions and
    manifests hold (text, integers, booleans, null: never a float) orjson writes exactly what the
    standard library's ``json.dumps`` would, several times faster; the tests compare them."""
    return canonical_bytes(data).decode("utf-8")


def canonical_bytes(data: Any) -> bytes:
    """:func:`canonical_json` as UTF-8 bytes, made as bytes (what a digest is taken of)."""
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):  # e.g. an integer beyond 64 bits
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _payload(defn: WorkflowDefinition) -> dict[str, Any]:
    return defn.model_dump(mode="json", by_alias=True, exclude_none=False)


class DumpedSteps:
    """The JSON of steps by identity and way of dumping (defaults written or left out), for the
    definitions of one build: compile gives the products of a line one frozen Step for each
    step they have alike, so a definition's digest and file reuse what an earlier definition
    dumped. A step is remembered the second time it is dumped (a product's own steps are not);
    an entry holds its step, so that its id is not reused while the entry lives."""

    def __init__(self, limit: int = 20_000) -> None:
        self._json: dict[tuple[int, bool], tuple[Step, dict[str, Any]]] = {}
        self._seen: set[tuple[int, bool]] = set()
        self._limit = limit  # each table is emptied when it fills

    def __call__(self, step: Step, defaults: bool) -> dict[str, Any]:
        """``step.model_dump`` as a definition's payload holds it (shared: never changed)."""
        key = (id(step), defaults)
        hit = self._json.get(key)
        if hit is not None and hit[0] is step:
            return hit[1]
        data = step.model_dump(mode="json", by_alias=True, exclude_defaults=not defaults)
        if key not in self._seen:
            if len(self._seen) >= self._limit:
                self._seen.clear()
            self._seen.add(key)
            return data
        if len(self._json) >= self._limit:
            self._json.clear()
        self._json[key] = (step, data)
        return data


def _dumped(defn: WorkflowDefinition, defaults: bool, steps: DumpedSteps | None) -> dict[str, Any]:
    """``defn.model_dump`` (defaults written or left out), its steps through ``steps`` when
    given: for the digest and the file, which only read it."""
    if steps is None:
        return defn.model_dump(mode="json", by_alias=True, exclude_defaults=not defaults)
    payload = defn.model_dump(mode="json", by_alias=True, exclude={"steps"}, exclude_defaults=not defaults)
    payload["steps"] = {sid: steps(step, defaults) for sid, step in defn.steps.items()}
    return payload


def with_digest(defn: WorkflowDefinition, steps: DumpedSteps | None = None) -> WorkflowDefinition:
    """``defn`` with its content digest set (sha256 of the canonical form sans digest);
    ``steps``: the JSON of steps other definitions of the build share."""
    payload = _dumped(defn, True, steps)
    payload["digest"] = ""
    digest = "sha256:" + hashlib.sha256(canonical_bytes(payload)).hexdigest()
    return defn.model_copy(update={"digest": digest})


def pretty_json(data: Any) -> str:
    """Sorted keys, two-space indent, UTF-8 text, final newline: for files people read.

    orjson writes exactly what ``json.dumps(..., sort_keys=True, indent=2, ensure_ascii=False)``
    writes (the tests compare them), twenty times faster: the standard library's indenting
    encoder is pure Python and was the largest single cost of a cold build."""
    try:
        return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode("utf-8") + "\n"
    except (orjson.JSONEncodeError, TypeError):  # e.g. an integer beyond 64 bits
        return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def compact_json(data: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text, final newline: what the build's machine-read files
    use (a third of the bytes of :func:`pretty_json`, which parses to the same value).

    orjson writes exactly what ``json.dumps(..., sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)`` writes (the tests compare them)."""
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode("utf-8") + "\n"
    except (orjson.JSONEncodeError, TypeError):  # e.g. an integer beyond 64 bits
        return canonical_json(data) + "\n"


def dump(defn: WorkflowDefinition, steps: DumpedSteps | None = None) -> str:
    """The definition file: compact JSON, sorted keys, final newline, fields equal to their
    defaults left out (``format`` is always written: an older runtime reads it to say rebuild);
    ``steps``: the JSON of steps other definitions of the build share."""
    payload = _dumped(defn, False, steps)
    payload["format"] = defn.format
    return compact_json(payload)


def full_json(defn: WorkflowDefinition) -> dict[str, Any]:
    """The definition as JSON data with every field written out, defaults included (what
    readers of the data, not the file, expect: ``steps[s]["fields"]`` is there when empty)."""
    return _payload(defn)


def expanded(data: Mapping[str, Any]) -> dict[str, Any]:
    """A definition file's JSON data with the fields it leaves out restored, as :func:`load`
    reads it (raises pydantic's ``ValidationError`` for what is not a definition)."""
    return _payload(WorkflowDefinition.model_validate(data))


def load(text: str | bytes) -> WorkflowDefinition:
    return WorkflowDefinition.model_validate_json(text)


def workflow_schema() -> dict[str, Any]:
    schema = WorkflowDefinition.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://productkit.dev/schemas/v1/WorkflowDefinition.schema.json", **schema}
