"""Stage 2: the document kinds of the productkit language (pydantic models)."""

from __future__ import annotations

from ._types import CHANNELS
from .common import PARAM_TYPES, Deprecation, Header, Label, TypeSpec
from .component import Assignment, BusinessError, Compensation, ProcessComponent, Retry, Wait
from .data import DataDictionary, DataEntry
from .dictionary import DictionaryEntry, ParameterDictionary
from .product import (
    FAILED_CODE,
    OUTCOMES,
    ChannelPolicy,
    ContextField,
    Derived,
    Effective,
    ErrorRoute,
    ParamSetting,
    Product,
    ProductLine,
    Rule,
    Step,
)
from .ui import WIDGETS, UIComponent, UIField

__all__ = [
    "CHANNELS",
    "FAILED_CODE",
    "KINDS",
    "OUTCOMES",
    "PARAM_TYPES",
    "WIDGETS",
    "Assignment",
    "BusinessError",
    "ChannelPolicy",
    "Compensation",
    "ContextField",
    "DataDictionary",
    "DataEntry",
    "Deprecation",
    "Derived",
    "DictionaryEntry",
    "Document",
    "Effective",
    "ErrorRoute",
    "Header",
    "Label",
    "ParamSetting",
    "ParameterDictionary",
    "ProcessComponent",
    "Product",
    "ProductLine",
    "Retry",
    "Rule",
    "Step",
    "TypeSpec",
    "UIComponent",
    "UIField",
    "Wait",
]

Document = ProcessComponent | UIComponent | Product | ProductLine | ParameterDictionary | DataDictionary

KINDS: dict[str, type[Header]] = {
    "ProcessComponent": ProcessComponent,
    "UIComponent": UIComponent,
    "Product": Product,
    "ProductLine": ProductLine,
    "ParameterDictionary": ParameterDictionary,
    "DataDictionary": DataDictionary,
}
