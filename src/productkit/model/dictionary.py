"""ParameterDictionary: bank-wide parameter definitions, so a name means one thing everywhere."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._types import Name
from .common import Header, Label, TypeSpec

__all__ = ["DictionaryEntry", "ParameterDictionary"]


class DictionaryEntry(TypeSpec):
    """A bank-wide parameter definition: type, bounds, unit and meaning."""

    title: Label = Field(description="bilingual title of the parameter (required)")


class ParameterDictionary(Header):
    """A namespace of parameter definitions (type, unit, bounds, meaning)."""

    kind: Literal["ParameterDictionary"] = "ParameterDictionary"
    title: Label = Field(description="bilingual title: {zh-CN: ..., en: ...}")
    parameters: dict[Name, DictionaryEntry] = Field(min_length=1, description="name -> declaration of each parameter")
