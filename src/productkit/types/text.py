"""``string`` and ``enum``: text taken as written (``yes`` stays the text ``yes``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .. import ir
from ..patterns import fullmatch
from ._base import Decl, FieldProblem, ValueProblem, ValueType, compiles, describe

__all__ = ["EnumType", "StringType", "parse_text"]

_WIDGET_FORMAT = {"date": "date", "email": "email"}


def parse_text(raw: Any) -> str:
    """Text as written, plain or quoted; PK104 for anything else."""
    if not isinstance(raw, str):
        raise ValueProblem("PK104", f"found {describe(raw)}, expected text")
    return str(raw)


class StringType(ValueType):
    name = "string"
    cel = "string"
    sample = "hello"

    def parse(self, raw: Any, decl: Decl | None = None) -> str:
        return parse_text(raw)

    def violations(self, decl: Decl, value: Any) -> list[ValueProblem]:
        out: list[ValueProblem] = []
        if decl.min_length is not None and len(value) < decl.min_length:
            out.append(ValueProblem("PK111", f"'{value}' is shorter than {decl.min_length}", field="min_length"))
        if decl.max_length is not None and len(value) > decl.max_length:
            out.append(ValueProblem("PK111", f"'{value}' is longer than {decl.max_length}", field="max_length"))
        if decl.pattern and compiles(decl.pattern) and not fullmatch(decl.pattern, value):
            out.append(ValueProblem("PK111", f"'{value}' does not match {decl.pattern}", field="pattern"))
        return out

    def json_schema(self, fd: ir.FieldDef) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string"}
        # The runtime reads "" as absent: a required field needs at least one character.
        least = max(fd.min_length or 0, 1 if fd.required and not fd.readonly else 0)
        if least:
            out["minLength"] = least
        if fd.max_length is not None:
            out["maxLength"] = fd.max_length
        if fd.pattern:
            out["pattern"] = fd.pattern if _anchored(fd.pattern) else f"^(?:{fd.pattern})$"
        if fd.widget in _WIDGET_FORMAT:
            out["format"] = _WIDGET_FORMAT[fd.widget]
        return out


class EnumType(ValueType):
    name = "enum"
    cel = "string"
    derivable = False
    sample = "retail"
    sample_decl: ClassVar[Mapping[str, Any]] = {"values": ["retail", "private"]}

    @property
    def expr_kind(self) -> str:
        return "string"

    def parse(self, raw: Any, decl: Decl | None = None) -> str:
        return parse_text(raw)

    def own_decl_problems(self, decl: Decl) -> list[ValueProblem]:
        return [] if decl.values else [ValueProblem("PK102", "an enum declares its 'values'")]

    def violations(self, decl: Decl, value: Any) -> list[ValueProblem]:
        if decl.values is not None and value not in [str(x) for x in decl.values]:
            allowed = ", ".join(str(x) for x in decl.values)
            return [ValueProblem("PK111", f"'{value}' is not one of {allowed}", field="values")]
        return []

    def json_schema(self, fd: ir.FieldDef) -> dict[str, Any]:
        # Each value with its (English) title; the i18n table has both languages.
        labels = fd.value_labels or {}
        return {"type": "string", "oneOf": [
            {"const": v, "title": labels[v].en if v in labels else v} for v in fd.values or []]}

    def check(self, fd: ir.FieldDef, value: Any) -> list[FieldProblem]:
        if fd.values is not None and value not in fd.values:
            return [FieldProblem("enum", f"'{value}' is not one of {', '.join(fd.values)}")]
        return []


def _anchored(pattern: str) -> bool:
    """Whether a JSON Schema (search) pattern already matches only whole values."""
    return pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$")
