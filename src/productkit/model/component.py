"""ProcessComponent: a reusable business step (service call, manual task or timed wait)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, model_validator

from ._types import Bool, DataPath, Dec, Duration, Id, Int, Model, Name, Text
from .common import Deprecation, Header, Label, TypeSpec

__all__ = ["Assignment", "BusinessError", "Compensation", "ProcessComponent", "Retry", "Wait"]


class BusinessError(Model):
    """A business outcome the handler may raise instead of returning (e.g. ``aml.hit``)."""

    code: Id = Field(description="the error code the handler raises, dotted lowercase", examples=["aml.hit"])
    title: Label | None = Field(None, description="bilingual title of the error")
    description: Text | None = Field(None, description="when the handler raises it")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        return {"code": raw} if isinstance(raw, str) else raw


class Retry(Model):
    """Retry policy for technical failures: attempts in all, first delay, growth factor."""

    max_attempts: Int = Field(3, ge=1, le=100, description="attempts in all, the first included")
    backoff: Duration | None = Field(None, description="delay before the second attempt, e.g. PT2S")
    multiplier: Dec = Field(default=Decimal("2"), description="each delay is the previous times this")
    max_backoff: Duration | None = Field(None, description="the longest delay between attempts, e.g. PT30S")


class Compensation(Model):
    """How to undo the step when a later step fails or the application is cancelled."""

    handler: Id = Field(description="handler that reverses the step, e.g. core.account.close")
    description: Text | None = Field(None, description="what undoing the step does")


class Wait(Model):
    """A timer: a fixed or parameterised duration (cooling-off period, deadline)."""

    duration: Text = Field(description="an ISO 8601 duration or the name of a duration parameter")
    interruptible: Bool = Field(True, description="the customer may cancel while waiting")


class Assignment(Model):
    """Who works a manual task."""

    candidate_groups: list[Name] = Field(default_factory=list, description="staff groups that may work the task",
                                         examples=[["credit_officers"]])
    due: Duration | None = Field(None, description="when the task is due after it starts, e.g. P2D")


class ProcessComponent(Header):
    """A reusable business step with typed inputs and outputs and its own parameters."""

    kind: Literal["ProcessComponent"] = "ProcessComponent"
    title: Label = Field(description="bilingual title: {zh-CN: ..., en: ...}")
    task: Literal["service", "manual", "wait"] = Field(
        "service", description="service: a handler call; manual: a bank employee's task; wait: a timer")
    handler: Id | None = Field(None, description="name the runtime binds to a function (service tasks)")
    parameters: dict[Name, TypeSpec] = Field(default_factory=dict,
                                            description="the component's own typed parameters: name -> declaration")
    inputs: dict[DataPath, TypeSpec] = Field(default_factory=dict, description="typed data paths the step reads")
    outputs: dict[DataPath, TypeSpec] = Field(default_factory=dict, description="typed data paths the step writes")
    requires: list[Id] = Field(default_factory=list, description="capabilities needed before this step")
    provides: list[Id] = Field(default_factory=list, description="capabilities this step establishes")
    conflicts_with: list[Id] = Field(default_factory=list,
                                     description="components or capabilities that must not share a product")
    errors: list[BusinessError] = Field(default_factory=list, examples=[["aml.hit"]],
                                        description="declared business errors: `- code: aml.hit` or just the code")
    retry: Retry | None = Field(None, description="retries of technical failures",
                                examples=[{"max_attempts": 3, "backoff": "PT2S"}])
    timeout: Duration | None = Field(None, examples=["PT10S"],
                                     description="the step's time budget across all attempts, ISO 8601")
    compensation: Compensation | None = Field(None, description="how to undo the step: {handler: ...}")
    wait: Wait | None = Field(None, description="for task: wait, the timer")
    assignment: Assignment | None = Field(None, description="for task: manual, who works the task")
    deprecated: Deprecation | None = Field(None, description="users get a warning: {since, replaced_by, reason}")
