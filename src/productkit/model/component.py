"""ProcessComponent: a reusable business step (service call, manual task or timed wait)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, model_validator

from ._types import Bool, DataPath, Dec, Duration, Id, Int, Model, Name, Text
from .common import Deprecation, Header, Label, TypeSpec

__all__ = ["BusinessError", "Compensation", "ProcessComponent", "Retry", "Wait"]


class BusinessError(Model):
    """A business outcome the handler may raise instead of returning (e.g. ``aml.hit``)."""

    code: Id
    title: Label | None = None
    description: Text | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        return {"code": raw} if isinstance(raw, str) else raw


class Retry(Model):
    """Retry policy for technical failures: attempts in all, first delay, growth factor."""

    max_attempts: Int = Field(3, ge=1, le=100)
    backoff: Duration | None = Field(None, description="delay before the second attempt, e.g. PT2S")
    multiplier: Dec = Field(default=Decimal("2"), description="each delay is the previous times this")
    max_backoff: Duration | None = None


class Compensation(Model):
    """How to undo the step when a later step fails or the application is cancelled."""

    handler: Id = Field(description="handler that reverses the step, e.g. core.account.close")
    description: Text | None = None


class Wait(Model):
    """A timer: a fixed or parameterised duration (cooling-off period, deadline)."""

    duration: Text = Field(description="an ISO 8601 duration or the name of a duration parameter")
    interruptible: Bool = Field(True, description="the customer may cancel while waiting")


class Assignment(Model):
    """Who works a manual task."""

    candidate_groups: list[Name] = Field(default_factory=list)
    due: Duration | None = None


class ProcessComponent(Header):
    """A reusable business step with typed inputs and outputs and its own parameters."""

    kind: Literal["ProcessComponent"] = "ProcessComponent"
    title: Label
    task: Literal["service", "manual", "wait"] = Field(
        "service", description="service: a handler call; manual: a bank employee's task; wait: a timer")
    handler: Id | None = Field(None, description="name the runtime binds to a function (service tasks)")
    parameters: dict[Name, TypeSpec] = Field(default_factory=dict)
    inputs: dict[DataPath, TypeSpec] = Field(default_factory=dict)
    outputs: dict[DataPath, TypeSpec] = Field(default_factory=dict)
    requires: list[Id] = Field(default_factory=list, description="capabilities needed before this step")
    provides: list[Id] = Field(default_factory=list, description="capabilities this step establishes")
    conflicts_with: list[Id] = Field(default_factory=list,
                                     description="components or capabilities that must not share a product")
    errors: list[BusinessError] = Field(default_factory=list)
    retry: Retry | None = None
    timeout: Duration | None = None
    compensation: Compensation | None = None
    wait: Wait | None = None
    assignment: Assignment | None = None
    deprecated: Deprecation | None = None
