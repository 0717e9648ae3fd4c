"""Annotated scalar types that read YAML source text strictly (see :mod:`productkit.types`)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

import semantic_version
from pydantic import BaseModel as _BaseModel
from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from .. import types as v

__all__ = [
    "CHANNELS",
    "Bool",
    "Channel",
    "DataPath",
    "Date",
    "Dec",
    "DerivedType",
    "Duration",
    "Expr",
    "Id",
    "Int",
    "Model",
    "Name",
    "ParamType",
    "Ref",
    "SemVer",
    "Text",
]

CHANNELS = ("mobile", "web", "counter", "mini-program", "open-api")


class Model(_BaseModel):
    """Base of every document model: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              arbitrary_types_allowed=True)


def _wrap(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def validator(raw: Any) -> Any:
        try:
            return parse(raw)
        except v.ValueProblem as exc:
            ctx = {"hint": exc.hint or ""}
            raise PydanticCustomError(exc.code.lower(), exc.message, ctx) from None

    return validator


def _text(raw: Any) -> str:
    if isinstance(raw, str):
        return str(raw)
    raise v.ValueProblem("PK104", f"found {v.describe(raw)}, expected text")


def _pattern(name: str, regex: str, what: str, code: str = "PK106") -> Callable[[Any], str]:
    compiled = re.compile(regex)

    def parse(raw: Any) -> str:
        text = _text(raw)
        if not compiled.fullmatch(text):
            raise v.ValueProblem(code, f"{name} '{text}' is not valid: {what}")
        return text

    return parse


def _semver(raw: Any) -> str:
    text = _text(raw)
    try:
        semantic_version.Version(text)
    except ValueError:
        raise v.ValueProblem("PK107", f"version '{text}' is not semantic versioning",
                             "write MAJOR.MINOR.PATCH, e.g. 2.1.0 (quote it if YAML shortens it)") from None
    return text


def _ref(raw: Any) -> str:
    text = _text(raw)
    ident, _, rng = text.partition("@")
    if not _ID_RE.fullmatch(ident):
        raise v.ValueProblem("PK106", f"reference '{text}' does not start with a dotted id",
                             "write id@range, e.g. kyc.identity-verification@^2.1")
    if rng:
        try:
            semantic_version.NpmSpec(rng)
        except ValueError:
            raise v.ValueProblem("PK107", f"'{rng}' is not a version range",
                                 "use npm-style ranges: ^2.1, ~2.1.0, >=1.2 <2, 2.1.0") from None
    return text


def _channel(raw: Any) -> str:
    text = _text(raw)
    if text not in CHANNELS:
        raise v.ValueProblem("PK108", f"unknown channel '{text}'",
                             "channels are " + ", ".join(CHANNELS))
    return text


_ID_RE = re.compile(r"[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*")
_NAME_RE = r"[a-z][a-z0-9_]*"
_PATH_RE = r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+"

_STR: dict[str, Any] = {"type": "string"}

Text = Annotated[str, BeforeValidator(_wrap(_text)), WithJsonSchema(_STR)]
Int = Annotated[int, BeforeValidator(_wrap(v.parse_int)), WithJsonSchema({"type": "integer"})]
Dec = Annotated[Decimal, BeforeValidator(_wrap(v.parse_decimal)),
                WithJsonSchema({"type": ["number", "string"], "pattern": r"^-?\d+(\.\d+)?$"})]
Bool = Annotated[bool, BeforeValidator(_wrap(v.parse_bool)), WithJsonSchema({"type": "boolean"})]
Duration = Annotated[v.Duration, BeforeValidator(_wrap(v.parse_duration)),
                     WithJsonSchema({"type": "string", "pattern": "^P", "examples": ["PT24H", "P3M"]})]
Id = Annotated[str, BeforeValidator(_wrap(_pattern("id", _ID_RE.pattern,
                                                   "lowercase words joined by '.', e.g. kyc.face-match"))),
               WithJsonSchema({"type": "string", "pattern": f"^{_ID_RE.pattern}$"})]
Name = Annotated[str, BeforeValidator(_wrap(_pattern("name", _NAME_RE,
                                                     "lowercase letters, digits and '_', e.g. min_age"))),
                 WithJsonSchema({"type": "string", "pattern": f"^{_NAME_RE}$"})]
DataPath = Annotated[str, BeforeValidator(_wrap(_pattern(
    "data path", _PATH_RE, "dotted lowercase names such as applicant.birth_date"))),
    WithJsonSchema({"type": "string", "pattern": f"^{_PATH_RE}$"})]
StepId = Annotated[str, BeforeValidator(_wrap(_pattern(
    "step id", r"[a-z][a-z0-9_-]*", "lowercase letters, digits, '-' and '_'"))),
    WithJsonSchema({"type": "string", "pattern": "^[a-z][a-z0-9_-]*$"})]
SemVer = Annotated[str, BeforeValidator(_wrap(_semver)),
                   WithJsonSchema({"type": "string", "pattern": r"^\d+\.\d+\.\d+", "examples": ["1.0.0"]})]
Ref = Annotated[str, BeforeValidator(_wrap(_ref)),
                WithJsonSchema({"type": "string", "examples": ["kyc.identity-verification@^2.1"]})]
Channel = Annotated[str, BeforeValidator(_wrap(_channel)),
                    WithJsonSchema({"type": "string", "enum": list(CHANNELS)})]
Expr = Annotated[str, BeforeValidator(_wrap(_text)), Field(min_length=1),
                 WithJsonSchema({"type": "string", "description": "a CEL expression"})]
AnyValue = Annotated[Any, WithJsonSchema({})]
Date = Annotated[datetime.date, BeforeValidator(_wrap(v.parse_date)),
                 WithJsonSchema({"type": "string", "format": "date"})]

# The value type names, from the registry: adding a type there adds it to every declaration.
if TYPE_CHECKING:
    ParamType = str
    DerivedType = str
else:
    ParamType = Literal[v.TYPE_NAMES]
    DerivedType = Literal[tuple(name for name, t in v.TYPES.items() if t.derivable)]
