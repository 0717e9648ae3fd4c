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

    zh_cn: Text = Field(alias="zh-CN", description="Simplified Chinese text (required)", examples=["年利率"])
    en: Text = Field(description="English text (required)", examples=["Annual interest rate"])


class TypeSpec(Model):
    """A typed, constrained value: a parameter, an input, an output or a form field.

    Bounds, defaults and enum values are kept as written and read against ``type`` by the
    checks, so each gets its own located diagnostic.
    """

    type: ParamType | None = Field(None, description="value type; omit when `ref` names a dictionary parameter")
    ref: Name | None = Field(None, description="the parameter dictionary entry this declaration uses")
    items: TypeSpec | None = Field(None, description="element type of a list")
    key: TypeSpec | None = Field(None, description="key type of a table: integer, decimal, percent, money, "
                                                   "date (rows by band) or enum (a row per value)")
    cell: TypeSpec | None = Field(None, description="value type of a table's rows")
    title: Label | None = Field(None, description="bilingual title shown to people: {zh-CN: ..., en: ...}")
    description: Text | None = Field(None, description="what the value means, for people reading the catalogue")
    unit: Text | None = Field(None, description="unit shown to people: month, day, CNY, %")
    currency: Text | None = Field(None, description="ISO 4217 currency of a money value, e.g. CNY")
    scale: Int | None = Field(None, ge=0, le=8, description="decimal places of a decimal or percent")
    min: AnyValue = Field(None, description="smallest allowed value (inclusive)")
    max: AnyValue = Field(None, description="largest allowed value (inclusive)")
    step: AnyValue = Field(None, description="allowed values are min + k * step")
    min_length: Int | None = Field(None, ge=0, description="fewest characters of a string")
    max_length: Int | None = Field(None, ge=0, description="most characters of a string")
    pattern: Text | None = Field(None, description="regular expression a string must match")
    values: list[AnyValue] | None = Field(None, description="allowed values of an enum")
    labels: dict[str, Label] | None = Field(None, description="bilingual label per enum value")
    min_items: Int | None = Field(None, ge=0, description="fewest elements of a list")
    max_items: Int | None = Field(None, ge=0, description="most elements of a list")
    default: AnyValue = Field(None, description="value used when none is set")
    required: Bool = Field(True, description="a value must be present")


class Deprecation(Model):
    since: Date = Field(description="date from which the component is deprecated")
    replaced_by: Text | None = Field(None, description="reference to use instead, e.g. aml.screening@^2")
    reason: Text | None = Field(None, description="why, shown to users of the component")


class Header(Model):
    """Fields every document carries."""

    api_version: Literal["productkit/v1"] = Field(alias="apiVersion", description="the language version: productkit/v1")
    kind: str
    id: Id = Field(description="dotted, lowercase, unique per kind and version")
    version: SemVer = Field(description="semantic version of this document")
    owner: Text | None = Field(None, description="team that owns the document")
    description: Text | None = Field(None, description="what the document is for, for people reading the catalogue")
    tags: list[Text] = Field(default_factory=list, description="free keywords for search and grouping",
                             examples=[["deposit", "retail"]])

