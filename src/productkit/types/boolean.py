"""``boolean``: ``true`` or ``false`` only; YAML 1.1's ``yes``, ``on``, ``NO`` are refused."""

from __future__ import annotations

from typing import Any

from .. import ir
from ._base import Decl, FieldProblem, Plain, ValueProblem, ValueType, describe

__all__ = ["BooleanType", "parse_bool"]

_YAML11_BOOLS = frozenset([
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON",
    "off", "Off", "OFF", "True", "TRUE", "False", "FALSE",
])


def parse_bool(raw: Any) -> bool:
    """A boolean from source text: plain ``true`` or ``false``."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, Plain):
        if raw == "true":
            return True
        if raw == "false":
            return False
        if raw in _YAML11_BOOLS:
            want = "true" if raw.lower() in ("y", "yes", "on", "true") else "false"
            raise ValueProblem("PK105", f"'{raw}' is not a boolean here", f"write {want}")
    raise ValueProblem("PK104", f"found {describe(raw)}, expected true or false")


class BooleanType(ValueType):
    name = "boolean"
    cel = "bool"
    sample = "true"

    def parse(self, raw: Any, decl: Decl | None = None) -> bool:
        return parse_bool(raw)

    def feel_literal(self, value: Any) -> str:
        return "true" if value else "false"

    def json_schema(self, fd: ir.FieldDef) -> dict[str, Any]:
        # A consent is given or the screen is not done: only true is accepted.
        return {"type": "boolean", "const": True} if fd.widget == "consent" else {"type": "boolean"}

    def coerce(self, fd: ir.FieldDef, raw: object) -> bool:
        if isinstance(raw, bool):
            return raw
        raise FieldProblem("type", f"{raw!r} is not true or false")

    def check(self, fd: ir.FieldDef, value: Any) -> list[FieldProblem]:
        if fd.widget == "consent" and value is not True:
            return [FieldProblem("enum", "the consent must be given (true)")]
        return []

    def example(self, fd: ir.FieldDef) -> Any:
        return True
