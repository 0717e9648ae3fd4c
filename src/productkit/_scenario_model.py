"""Scenario files, stage 1 and 2: the models of a ``<product>.scenario.yaml`` and its loading
with located diagnostics (did-you-mean from the fields allowed where the typo stands)."""

from __future__ import annotations

import datetime as dt
import difflib
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, Field, ValidationError, WithJsonSchema
from pydantic_core import ErrorDetails

from . import types as v
from .diagnostics import Diagnostic
from .loader import Document, load_file
from .model._types import Channel, Model, StepId, Text, _wrap

__all__ = ["OUTCOMES", "Cancel", "Expect", "Scenario", "ScenarioFile", "StepExpect", "Stub",
           "load_scenarios", "scenario_schema"]

# What a scenario can expect: the engine's outcomes, and "not-offered" (not on sale on that
# channel or that date: the application is never opened).
OUTCOMES = ("completed", "rejected", "referred", "failed", "cancelled", "not-offered")


def _date(raw: Any) -> dt.date:
    if isinstance(raw, dt.date):
        return raw
    text = str(raw) if isinstance(raw, str) else None
    try:
        return dt.date.fromisoformat(text or "")
    except ValueError:
        raise v.ValueProblem("PK108", f"'{raw}' is not a date",
                             "write the date as YYYY-MM-DD, e.g. 2026-12-08") from None


def _duration(raw: Any) -> str:
    if not isinstance(raw, str):
        raise v.ValueProblem("PK104", f"found {v.describe(raw)}, expected a duration")
    v.parse_duration(str(raw))  # raises a located PK108 for a bad duration
    return str(raw)


Date = Annotated[dt.date, BeforeValidator(_wrap(_date)),
                 WithJsonSchema({"type": "string", "format": "date", "examples": ["2026-12-08"]})]
Duration = Annotated[str, BeforeValidator(_wrap(_duration)),
                     WithJsonSchema({"type": "string", "pattern": "^P", "examples": ["PT24H", "P1D"]})]
Defaults = Literal["strict", "generated"]


class Stub(Model):
    """A stubbed service step: exactly one of a result, a business error, or a technical failure."""

    result: dict[str, Any] | None = Field(None, description="the step's outputs (product data paths)")
    error: Text | None = Field(None, description="a business error the component declares")
    fail: Text | None = Field(None, description="a technical failure: every attempt fails, so after its retries "
                              "the step takes its productkit.failed route, else fails")


class Cancel(Model):
    """Cancel the application when it pauses at a step (a screen or a wait)."""

    at: StepId
    by: Literal["customer", "bank"] = "customer"
    reason: Text | None = None


class StepExpect(Model):
    """What one step should have done."""

    status: Literal["done", "skipped", "failed", "error", "bypassed", "abandoned",
                    "compensated", "not-run"] | None = None
    outputs: dict[str, Any] = Field(default_factory=dict)
    error: Text | None = Field(None, description="the business error code the step ended with")


class Expect(Model):
    """The expected result of a scenario."""

    outcome: Literal["completed", "rejected", "referred", "failed", "cancelled", "not-offered"]
    steps: list[StepId] | None = Field(None, description="the steps taken, in order (free inside a parallel block)")
    data: dict[str, Any] = Field(default_factory=dict)
    compensated: list[StepId] | None = None
    message: Text | None = Field(None, description="the message the customer is shown (en or zh-CN text)")
    rule: Text | None = Field(None, description="the eligibility rule that refused the application")
    step: dict[StepId, StepExpect] = Field(default_factory=dict, description="per step: status, outputs, error")


class Scenario(Model):
    """One executable example of a product."""

    id: Text
    like: Text | None = Field(None, description="start from another scenario of the file; what is "
                              "given here replaces its context values, inputs and handlers per key")
    channel: Channel | None = Field(None, description="the channel applied on (required unless taken from like)")
    on: Date | None = Field(None, description="the date the application is made, application_date in "
                            "expressions (default: the product's effective date)")
    defaults: Defaults | None = Field(None, description="generated: service steps without a stub "
                                      "return sample outputs (default: strict, such a step fails)")
    context: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[StepId, dict[str, Any]] = Field(default_factory=dict)
    handlers: dict[StepId, Stub] = Field(default_factory=dict)
    advance: dict[StepId, Duration] = Field(default_factory=dict, description="when the application "
                                            "pauses at a step, the clock moves on by the duration first")
    cancel: Cancel | None = None
    expect: Expect


class ScenarioFile(Model):
    """A ``<product>.scenario.yaml`` file."""

    product: Text
    version: Text | None = None
    defaults: Defaults = "strict"
    scenarios: list[Scenario] = Field(min_length=1)


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of scenario files, for editors."""
    schema = ScenarioFile.model_json_schema(by_alias=True, mode="validation")
    example = {"product": "deposit.time-1y", "scenarios": [{
        "id": "approved", "channel": "mobile", "on": "2026-12-08",
        "inputs": {"amount": {"deposit.amount": "10000.00"}},
        "handlers": {"book": {"result": {"deposit.certificate_number": "TD20261201000123"}}},
        "expect": {"outcome": "completed", "steps": ["amount", "book"]}}]}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://productkit.dev/schemas/v1/Scenario.schema.json", **schema,
            "title": "productkit scenario file", "examples": [example]}


# ----------------------------------------------------------------- loading


def load_scenarios(path: Path) -> tuple[tuple[ScenarioFile, Document] | None, list[Diagnostic]]:
    """The scenario file at ``path`` and its document, or the located problems of its shape."""
    doc, problems = load_file(path)
    if doc is None:
        return None, problems
    try:
        return (ScenarioFile.model_validate(doc.data), doc), []
    except ValidationError as exc:
        return None, [_diagnostic(doc, err) for err in exc.errors(include_url=False)]


def _diagnostic(doc: Document, err: ErrorDetails) -> Diagnostic:
    from .shape import diagnostic_of

    found = diagnostic_of(doc, err)
    if err["type"] != "extra_forbidden":
        return found
    loc = tuple(err["loc"])
    word = str(loc[-1]) if loc else ""
    allowed = _fields_at(ScenarioFile, loc[:-1]) - {word}
    match = difflib.get_close_matches(word, sorted(allowed), n=1, cutoff=0.6)
    hint = f"did you mean '{match[0]}'?" if match else ("fields here: " + ", ".join(sorted(allowed))
                                                        if allowed else None)
    return Diagnostic(found.code, found.message, found.location, hint=hint)


def _fields_at(root: type[BaseModel], loc: tuple[Any, ...]) -> set[str]:
    """The field names of the model that ``loc`` (a pydantic error location) points into."""
    kind: Any = root
    for part in loc:
        kind = _step_into(kind, part)
        if kind is None:
            return set()
    model = _model_of(kind)
    return {info.alias or name for name, info in model.model_fields.items()} if model else set()


def _step_into(kind: Any, part: Any) -> Any:
    model = _model_of(kind)
    if model is not None:
        info = model.model_fields.get(str(part))
        return info.annotation if info else None
    args = [a for a in get_args(_unwrap(kind)) if a is not type(None)]
    return args[-1] if args else None  # list[X] -> X, dict[K, X] -> X


def _unwrap(kind: Any) -> Any:
    while get_origin(kind) is Annotated:
        kind = get_args(kind)[0]
    if get_origin(kind) in (Union, types.UnionType):
        inner = [a for a in get_args(kind) if a is not type(None)]
        return _unwrap(inner[0]) if len(inner) == 1 else kind
    return kind


def _model_of(kind: Any) -> type[BaseModel] | None:
    kind = _unwrap(kind)
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None
