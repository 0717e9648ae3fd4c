"""Parts shared by several document kinds: labels, typed declarations, the document header."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..types import TYPE_NAMES
from ._types import AnyValue, Bool, Date, Id, Int, Model, Name, ParamType, SemVer, Text

__all__ = [
    "PARAM_TYPES",
    "Deprecation",
    "Header",
    "Label",
    "ParamType",
    "TypeSpec",
]

PARAM_TYPES: tuple[str, ...] = TYPE_NAMES


class Label(Model):
    """A text shown to people, in Simplified Chinese and English."""

    zh_cn: Text = Field(alias="zh-CN", description="Simplified Chinese")
    en: Text = Field(description="English")


class TypeSpec(Model):
    """A typed, constrained value: a parameter, an input, an output or a form field.

    Bounds, defaults and enum values are kept as written and read against ``type`` by the
    checks, so each gets its own located diagnostic.
    """

    type: ParamType | None = Field(None, description="value type; omit when `ref` names a dictionary parameter")
    ref: Name | None = Field(None, description="the parameter dictionary entry this declaration uses")
    items: TypeSpec | None = Field(None, description="element type of a list")
    title: Label | None = None
    description: Text | None = None
    unit: Text | None = Field(None, description="unit shown to people: month, day, CNY, %")
    currency: Text | None = Field(None, description="ISO 4217 currency of a money value, e.g. CNY")
    scale: Int | None = Field(None, ge=0, le=8, description="decimal places of a decimal or percent")
    min: AnyValue = Field(None, description="smallest allowed value (inclusive)")
    max: AnyValue = Field(None, description="largest allowed value (inclusive)")
    step: AnyValue = Field(None, description="allowed values are min + k * step")
    min_length: Int | None = Field(None, ge=0)
    max_length: Int | None = Field(None, ge=0)
    pattern: Text | None = Field(None, description="regular expression a string must match")
    values: list[AnyValue] | None = Field(None, description="allowed values of an enum")
    labels: dict[str, Label] | None = Field(None, description="bilingual label per enum value")
    min_items: Int | None = Field(None, ge=0)
    max_items: Int | None = Field(None, ge=0)
    default: AnyValue = Field(None, description="value used when none is set")
    required: Bool = Field(True, description="a value must be present")


class Deprecation(Model):
    since: Date = Field(description="date from which the component is deprecated")
    replaced_by: Text | None = Field(None, description="reference to use instead, e.g. aml.screening@^2")
    reason: Text | None = None


class Header(Model):
    """Fields every document carries."""

    api_version: Literal["productkit/v1"] = Field(alias="apiVersion")
    kind: str
    id: Id = Field(description="dotted, lowercase, unique per kind and version")
    version: SemVer = Field(description="semantic version of this document")
    owner: Text | None = Field(None, description="team that owns the document")
    description: Text | None = None
    tags: list[Text] = Field(default_factory=list)

