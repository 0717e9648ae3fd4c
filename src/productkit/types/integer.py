"""``integer``: a whole number, written without YAML 1.1's octal, separators or base 60."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from .. import ir
from ._base import BOUNDS, Decl, FieldProblem, ValueProblem, ValueType, describe, runtime_bounds
from ._read import number_hint, text_of

__all__ = ["IntegerType", "parse_int"]

_INT_RE = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_LOOSE_INT = re.compile(r"^[-+]?\d+$")
MAX_DIGITS = 18  # fits a 64-bit integer, as CEL and Zeebe hold it


def parse_int(raw: Any) -> int:
    """An integer from source text; PK105 with a hint for what YAML 1.1 would misread."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    text = text_of(raw, "an integer")
    if _INT_RE.match(text):
        return int(text)
    hint = number_hint(text)
    code = "PK105" if hint else "PK104"
    raise ValueProblem(code, f"found {describe(raw)}, expected an integer", hint)


class IntegerType(ValueType):
    name = "integer"
    cel = "int"
    bounded = BOUNDS
    sample = "12"

    def parse(self, raw: Any, decl: Decl | None = None) -> int:
        value = parse_int(raw)
        if len(str(abs(value))) > MAX_DIGITS:
            raise ValueProblem("PK108", f"{value} has more than {MAX_DIGITS} digits",
                               "integers are at most 18 digits long")
        return value

    def feel_literal(self, value: Any) -> str:
        return str(value)

    def json_schema(self, fd: ir.FieldDef) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer"}
        if fd.min is not None:
            out["minimum"] = int(fd.min)
        if fd.max is not None:
            out["maximum"] = int(fd.max)
        if self._multiple(fd) is not None:
            out["multipleOf"] = self._multiple(fd)
        return out

    def _multiple(self, fd: ir.FieldDef) -> int | None:
        """The step as ``multipleOf``: exact when the base (min, else 0) is on the step."""
        if fd.step is None or not int(Decimal(fd.step)):
            return None
        step, base = int(Decimal(fd.step)), int(fd.min) if fd.min is not None else 0
        return step if base % step == 0 else None

    def schema_gaps(self, fd: ir.FieldDef) -> list[str]:
        if fd.step is not None and int(Decimal(fd.step)) and self._multiple(fd) is None:
            return [f"the step {fd.step} from {fd.min} is checked when the screen is submitted only"]
        return []

    def from_ir(self, raw: Any) -> Any:
        return None if raw is None else int(raw)

    def coerce(self, fd: ir.FieldDef, raw: object) -> int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and _LOOSE_INT.match(raw.strip()):
            return int(raw)
        if isinstance(raw, Decimal | float) and math.isfinite(raw) and raw == int(raw):
            return int(raw)
        raise FieldProblem("type", f"{raw!r} is not a whole number")

    def check(self, fd: ir.FieldDef, value: Any) -> list[FieldProblem]:
        return runtime_bounds(fd, value, int)

    def example(self, fd: ir.FieldDef) -> Any:
        return int(fd.min) if fd.min is not None else 1
