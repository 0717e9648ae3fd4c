"""ParameterDictionary: bank-wide parameter definitions, so a name means one thing everywhere."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._types import Name
from .common import Header, Label, TypeSpec

__all__ = ["DictionaryEntry", "ParameterDictionary"]


class DictionaryEntry(TypeSpec):
    title: Label


class ParameterDictionary(Header):
    """A namespace of parameter definitions (type, unit, bounds, meaning)."""

    kind: Literal["ParameterDictionary"] = "ParameterDictionary"
    title: Label
    parameters: dict[Name, DictionaryEntry] = Field(min_length=1)
