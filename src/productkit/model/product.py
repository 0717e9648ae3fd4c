"""Product and ProductLine: what is sold, assembled from components, parameters and rules.

A ProductLine is a template: products (or narrower lines) ``extends`` it and inherit its
parameters, steps and rules. A line may lock a value or narrow a range; a child may narrow
further but never widen.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema, model_validator

from ..ir import FAILED_CODE
from ._types import AnyValue, Bool, Channel, DataPath, DerivedType, Expr, Id, Model, Name, Ref, StepId, Text
from .common import Header, Label, TypeSpec

__all__ = [
    "FAILED_CODE",
    "OUTCOMES",
    "ChannelPolicy",
    "ContextField",
    "Derived",
    "Effective",
    "ErrorRoute",
    "ParamSetting",
    "Product",
    "ProductLine",
    "Rule",
    "ScheduledValue",
    "Step",
    "StepAssignment",
    "StepRetry",
]

OUTCOMES = ("completed", "rejected", "referred", "failed", "cancelled")
Outcome = Literal["completed", "rejected", "referred", "failed", "cancelled"]


class ScheduledValue(Model):
    """A parameter's value over a window of application dates: a dated campaign."""

    from_: AnyValue = Field(alias="from", description="first application date the value applies to (YYYY-MM-DD)")
    until: AnyValue = Field(None, description="last application date it applies to (YYYY-MM-DD); open when absent")
    value: AnyValue = Field(description="the value in the window, checked like any value of the parameter")


class ParamSetting(TypeSpec):
    """A parameter as a line or product sets it: a value, a lock, narrower bounds, or a new
    declaration (with ``type`` or ``ref``). A bare value is shorthand for ``{value: ...}``."""

    value: AnyValue = Field(None, description="the value for this product")
    locked: Bool = Field(False, description="children may not change the value")
    required: Bool = Field(True, description="a value must be present")
    schedule: list[ScheduledValue] = Field(
        default_factory=list,
        description="values for windows of application dates (a dated campaign); an application takes the "
        "value of the window its application date falls in, else `value`. Windows may not overlap; a "
        "child's schedule replaces its line's",
        examples=[[{"from": "2027-01-01", "until": "2027-02-28", "value": 2.10}]])

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and "amount" not in raw:
            return raw
        return {"value": raw}




class ErrorRoute(Model):
    """Where a declared business error (or ``productkit.failed``, a technical failure after the
    retries) leads: end with an outcome, or go to a step."""

    end: Outcome | None = Field(None, description="end the application with this outcome")
    goto: StepId | None = Field(None, description="go on at this step")
    message: Label | None = Field(None, description="bilingual message shown when the error ends the application")

    @model_validator(mode="after")
    def _one_target(self) -> ErrorRoute:
        if (self.end is None) == (self.goto is None):
            raise ValueError("an error route has exactly one of 'end' or 'goto'")
        return self


# A value a step sets, or {param: NAME} binding a product parameter (checked at resolve). One
# schema with both types, not an anyOf: an editor would show each branch's title on hover.
_PARAM = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "description": "the product parameter bound"}


def _bindable(types: list[str], example: Any, **value: Any) -> WithJsonSchema:
    return WithJsonSchema({"type": [*types, "object"], **value, "properties": {"param": _PARAM},
                           "required": ["param"], "additionalProperties": False, "examples": [example]})


BindInt = Annotated[Any, _bindable(["integer"], 3, minimum=1, maximum=100)]
BindDec = Annotated[Any, _bindable(["number", "string"], 2, pattern=r"^\d+(\.\d+)?$")]
BindDuration = Annotated[Any, _bindable(["string"], "PT10S", pattern="^P")]
BindGroups = Annotated[Any, _bindable(["array"], ["credit_officers"],
                                      items={"type": "string", "pattern": "^[a-z][a-z0-9_]*$"})]


class StepRetry(Model):
    """A step's retry policy; each field it sets replaces the component's (a value or {param: NAME})."""

    max_attempts: BindInt = Field(None, description="attempts in all, the first included (1-100)")
    backoff: BindDuration = Field(None, description="delay before the second attempt, e.g. PT2S")
    multiplier: BindDec = Field(None, description="each delay is the previous times this (at least 1)")
    max_backoff: BindDuration = Field(None, description="the longest delay between attempts, e.g. PT30S")


class StepAssignment(Model):
    """Who works a staff task (task: manual) in this product; replaces the component's per field."""

    candidate_groups: BindGroups = Field(None, description="staff groups that may work the task")
    due: BindDuration = Field(None, description="when the task is due after it starts, e.g. P2D")


class Step(Model):
    """One step of the product: a component used, or an end reached under a condition."""

    id: StepId = Field(description="the step's id, unique in the product; a child's step with an "
                                    "inherited id replaces it")
    use: Ref | None = Field(None, description="component reference id@range")
    end: Outcome | None = Field(None, description="end the application with this outcome")
    title: Label | None = Field(None, description="bilingual title of the step")
    with_: dict[Name, AnyValue] = Field(default_factory=dict, alias="with",
                                        description="per-step parameter values; {param: NAME} binds one")
    when: Expr | None = Field(None, description="CEL condition; the step is skipped when false")
    after: list[StepId] = Field(default_factory=list, description="steps that must finish first")
    on_error: dict[Id, ErrorRoute] = Field(default_factory=dict,
                                           description="error code -> {end: outcome} or {goto: step}",
                                           examples=[{"aml.hit": {"end": "rejected"}}])
    channels: list[Channel] | None = Field(None, description="run only on these channels")
    inputs: dict[DataPath, DataPath] = Field(default_factory=dict,
                                             description="rename: component input <- product data path")
    outputs: dict[DataPath, DataPath] = Field(default_factory=dict,
                                              description="rename: component output -> product data path")
    message: Label | None = Field(None, description="shown when the step ends the application")
    critical: Bool = Field(True, description="false: a technical failure after the retries is recorded "
                           "and the application goes on (notifications, archiving)")
    locked: Bool = Field(False, description="on a line: members may not replace this step (a locked policy)")
    retry: StepRetry | None = Field(None, description="service steps: retries of technical failures, "
                                    "overriding the component's; values or {param: NAME}",
                                    examples=[{"max_attempts": {"param": "tax_service_attempts"}, "backoff": "PT2S"}])
    timeout: BindDuration = Field(None, description="service steps: the time budget across all attempts "
                                  "(ISO 8601 or {param: NAME}), overriding the component's")
    assignment: StepAssignment | None = Field(None, description="staff steps (task: manual): candidate groups "
                                              "and due time, overriding the component's",
                                              examples=[{"candidate_groups": ["sme_credit_officers"], "due": "P2D"}])
    finally_: Bool = Field(False, alias="finally", description="true: the step runs once when the application "
                           "reaches any outcome, before it ends; its when may read `outcome`")

    @model_validator(mode="after")
    def _use_or_end(self) -> Step:
        if (self.use is None) == (self.end is None):
            raise ValueError("a step has exactly one of 'use' (a component) or 'end' (an outcome)")
        return self


class Rule(Model):
    """A CEL rule: an eligibility check on customer data or a constraint between parameters."""

    id: StepId = Field(description="the rule's id, unique in the product")
    kind: Literal["eligibility", "constraint"] = Field(
        "constraint", description="eligibility: on customer data at the start; constraint: between parameters")
    expr: Expr = Field(description="CEL condition that must hold", examples=["applicant.age >= eligible_min_age"])
    message: Label = Field(description="bilingual message when the rule fails")
    locked: Bool = Field(False, description="on a line: members may not replace this rule (a locked policy)")


class Derived(Model):
    """A value computed by a CEL expression, from parameters (at build) or data (at run)."""

    type: DerivedType = Field(description="the value's type")
    expr: Expr = Field(description="CEL expression computing the value")
    title: Label | None = Field(None, description="bilingual title")
    currency: Text | None = Field(None, description="ISO 4217 currency of a money value")
    locked: Bool = Field(False, description="on a line: members may not redefine this value (a locked policy)")


class Effective(Model):
    """When the product is on sale: a date, or T+n (n business days after the release date)."""

    from_: AnyValue = Field(None, alias="from", description="YYYY-MM-DD or T+1")
    until: AnyValue = Field(None, description="last day on sale (YYYY-MM-DD)")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        return {"from": raw} if isinstance(raw, str) else raw


class ChannelPolicy(Model):
    """Channels a line or product must never launch on, and why; members inherit it."""

    forbid: list[Channel] = Field(min_length=1, description="channels no member may launch on",
                                  examples=[["open-api", "mini-program"]])
    reason: Label = Field(description="bilingual reason, shown when a member offers a forbidden channel")


class ContextField(TypeSpec):
    """Data the channel supplies at the start; with ``channels``, only those channels supply it."""

    channels: list[Channel] | None = Field(None, description="only these channels supply the value "
                                           "(required there, absent elsewhere)", examples=[["open-api"]])


class _Body(Header):
    name: Label = Field(description="bilingual name: {zh-CN: ..., en: ...}")
    extends: Ref | None = Field(None, description="the product line this inherits, id@range")
    channels: list[Channel] | None = Field(None, description="channels it launches on")
    parameters: dict[Name, ParamSetting] = Field(
        default_factory=dict, description="name: value, or {value, locked, min, max, values}, or a new declaration",
        examples=[{"annual_rate": 1.75, "term_months": {"value": 12, "locked": True}}])
    context: dict[DataPath, ContextField] = Field(default_factory=dict,
                                                  description="data the channel supplies when an application starts")
    steps: list[Step] = Field(default_factory=list, description="the assembly: components used and ends, in order")
    rules: list[Rule] = Field(default_factory=list, description="eligibility and constraint rules in CEL")
    derived: dict[Name, Derived] = Field(default_factory=dict, description="name: {type, expr} computed values")
    channel_policy: ChannelPolicy | None = Field(None, description="{forbid: [channel], reason: label}: channels "
                                                 "this product (or every member of this line) never launches on")
    effective: Effective | None = Field(None, description="{from: 2026-12-01 | T+1, until: 2027-12-31} or just T+1; "
                                        "on a line: every member's window lies inside it", examples=["T+1"])


class ProductLine(_Body):
    """A template for a family of products."""

    kind: Literal["ProductLine"] = "ProductLine"


class Product(_Body):
    """A sellable product version."""

    kind: Literal["Product"] = "Product"
