"""UIComponent: a reusable cross-channel screen part that collects and shows data."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._types import Bool, Channel, DataPath, Text
from .common import Deprecation, Header, Label, TypeSpec

__all__ = ["WIDGETS", "UIComponent", "UIField"]

WIDGETS = ("text", "textarea", "number", "money", "percent", "select", "radio", "checkbox",
           "switch", "date", "otp", "id-scan", "camera", "signature", "phone", "email",
           "account", "slider", "consent")
Widget = Literal["text", "textarea", "number", "money", "percent", "select", "radio", "checkbox",
                 "switch", "date", "otp", "id-scan", "camera", "signature", "phone", "email",
                 "account", "slider", "consent"]


class UIField(TypeSpec):
    """One collected field: its type and bounds, bilingual label and widget hint."""

    label: Label = Field(description="bilingual label of the field (required)")
    widget: Widget | None = Field(None, description="rendering hint; a sensible one is chosen by type")
    placeholder: Label | None = Field(None, description="bilingual hint shown in an empty field")
    help: Label | None = Field(None, description="bilingual help text shown with the field")
    channels: list[Channel] | None = Field(None, description="only on these channels (default: all of the component's)")
    readonly: Bool = Field(False, description="shown but not editable")


class UIComponent(Header):
    """A screen part used on one or more channels."""

    kind: Literal["UIComponent"] = "UIComponent"
    title: Label = Field(description="bilingual title: {zh-CN: ..., en: ...}")
    channels: list[Channel] = Field(min_length=1, description="channels the screen part is used on")
    fields: dict[DataPath, UIField] = Field(default_factory=dict, description="data the customer enters")
    shows: list[Text] = Field(default_factory=list, description="data paths or parameters displayed read-only")
    deprecated: Deprecation | None = Field(None, description="users get a warning: {since, replaced_by, reason}")
