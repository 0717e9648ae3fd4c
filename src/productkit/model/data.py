"""DataDictionary: bank-wide data paths with their types and meanings, so a name means one thing."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._types import DataPath
from .common import Header, Label, TypeSpec

__all__ = ["DataDictionary", "DataEntry"]


class DataEntry(TypeSpec):
    """A bank-wide data path: its type and its meaning, with the other names it goes by."""

    title: Label = Field(description="bilingual title of the datum (required)",
                         examples=[{"zh-CN": "申请人年龄", "en": "Applicant's age"}])
    description: Label | None = Field(None, description="bilingual meaning: what the value is, where it comes from")  # type: ignore[assignment]
    aliases: list[DataPath] = Field(default_factory=list,
                                    description="other paths with the same meaning; using one is a warning "
                                                "naming this path", examples=[["applicant.mainland_resident"]])


class DataDictionary(Header):
    """A namespace of data path definitions (type, meaning, aliases)."""

    kind: Literal["DataDictionary"] = "DataDictionary"
    title: Label = Field(description="bilingual title: {zh-CN: ..., en: ...}")
    data: dict[DataPath, DataEntry] = Field(min_length=1, description="data path -> declaration of each datum")
