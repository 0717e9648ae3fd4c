"""``decimal`` and ``percent``: exact decimals, never binary floats.

Expressions run decimals in fixed point (integers scaled by 10^SCALE, held in 64 bits), so a
written decimal has at most ``SCALE`` places and ``MAX_INTEGER_DIGITS`` digits before the point;
anything beyond is reported where it is written, not when a rule first reads it.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from .. import ir
from ._base import BOUNDS, Decl, FieldProblem, Plain, ValueProblem, ValueType, describe, places, runtime_bounds
from ._read import number_hint, text_of
from ._regex import decimal_pattern, step_pattern

__all__ = ["MAX_INTEGER_DIGITS", "SCALE", "DecimalType", "PercentType", "exact_limits", "parse_decimal",
           "parse_percent", "read_decimal"]

SCALE = 6
MAX_INTEGER_DIGITS = 12
_LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS
_DEC_RE = re.compile(r"^[-+]?(0|[1-9][0-9]*)(\.[0-9]+)?$")
_LOOSE_DEC = re.compile(r"^[-+]?\d+(\.\d+)?$")


def parse_decimal(raw: Any) -> Decimal:
    """A decimal from source text, exactly as written (no limits on its digits)."""
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        return Decimal(raw)
    if isinstance(raw, float):
        raise ValueProblem("PK104", "binary floating-point values are not accepted; use a decimal")
    text = text_of(raw, "a decimal number")
    if _DEC_RE.match(text):
        try:
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - the regex admits only valid text
            pass
    hint = number_hint(text)
    raise ValueProblem("PK105" if hint else "PK104", f"found {describe(raw)}, expected a decimal number", hint)


def parse_percent(raw: Any) -> Decimal:
    """A percent, written ``3.25`` or ``"3.25%"``; the value is in percent units (3.25)."""
    if isinstance(raw, str) and raw.strip().endswith("%"):
        return parse_decimal(Plain(raw.strip()[:-1].strip()))
    return parse_decimal(raw)


def exact_limits(value: Decimal) -> str | None:
    """Why expressions cannot hold ``value`` exactly, or None."""
    if places(value) > SCALE:
        return f"{value} has {places(value)} decimal places; decimals keep at most {SCALE}"
    if abs(value) >= _LIMIT:
        return f"{value} has more than {MAX_INTEGER_DIGITS} digits before the decimal point"
    return None


def read_decimal(value: Decimal, decl: Decl | None) -> Decimal:
    """``value`` checked against the fixed-point limits (PK108) and the declared scale (PK111)."""
    problem = exact_limits(value)
    if problem is not None:
        raise ValueProblem("PK108", problem, f"write at most {MAX_INTEGER_DIGITS} digits before the "
                           f"decimal point and {SCALE} after it")
    scale = decl.scale if decl is not None else None
    if scale is not None and places(value) > scale:
        raise ValueProblem("PK111", f"{value} has {places(value)} decimal places; the declaration "
                           f"allows {scale} (scale)")
    return value


class DecimalType(ValueType):
    name = "decimal"
    cel = "double"
    decimal = True
    bounded = BOUNDS
    sample = "2.5"

    @property
    def expr_kind(self) -> str:
        return "decimal"

    def parse(self, raw: Any, decl: Decl | None = None) -> Any:
        return read_decimal(parse_decimal(raw), decl)

    def to_json(self, value: Any) -> Any:
        return str(value)

    def feel_literal(self, value: Any) -> str:
        return str(value)

    def feel_name(self, path: str) -> str:
        # Zeebe holds decimals as exact text (a JSON number would be a double): read it exactly.
        return f"number({path})"

    def json_schema(self, fd: ir.FieldDef) -> dict[str, Any]:
        # Exact decimals travel as text; one pattern says the range, the places and the step
        # exactly, so every standard validator decides what the runtime decides (no floats).
        places = self.form_places(fd)
        limit = _LIMIT - Decimal(1).scaleb(-places)
        lo = max(Decimal(fd.min), -limit) if fd.min is not None else -limit
        hi = min(Decimal(fd.max), limit) if fd.max is not None else limit
        pattern = decimal_pattern(lo, hi, places)
        steps = self.step_regex(fd, lo)
        if steps is not None:
            pattern = "^(?=" + steps.removeprefix("^") + ")" + pattern.removeprefix("^")
        return {"type": "string", "pattern": pattern}

    def form_places(self, fd: ir.FieldDef) -> int:
        """The decimal places a value may be written with: the declared ones, at most SCALE."""
        allowed = self.allowed_places(fd)
        return SCALE if allowed is None else min(allowed, SCALE)

    def step_regex(self, fd: ir.FieldDef, lo: Decimal) -> str | None:
        """The step as a pattern, when it and its base are whole numbers it can say."""
        if fd.step is None or not Decimal(fd.step):
            return None
        step, base = Decimal(fd.step), Decimal(fd.min) if fd.min is not None else Decimal(0)
        if step != step.to_integral_value() or base != base.to_integral_value():
            return None
        return step_pattern(int(base), int(step), lo < 0)

    def schema_gaps(self, fd: ir.FieldDef) -> list[str]:
        if fd.step is not None and Decimal(fd.step) and self.step_regex(fd, Decimal(0)) is None:
            return [f"the step {fd.step} (from {fd.min or 0}) is checked when the screen is submitted only"]
        return []

    def from_ir(self, raw: Any) -> Any:
        return None if raw is None else Decimal(str(raw))

    def coerce(self, fd: ir.FieldDef, raw: object) -> Decimal:
        if isinstance(raw, bool):
            raise FieldProblem("type", f"{raw!r} is not a number")
        if isinstance(raw, Decimal):
            if not raw.is_finite():
                raise FieldProblem("type", f"{raw} is not a finite number")
            return raw
        if isinstance(raw, int):
            return Decimal(raw)
        if isinstance(raw, float):
            # The shortest text that reads back as this float: what the JSON sender wrote.
            return Decimal(repr(raw))
        if isinstance(raw, str) and _LOOSE_DEC.match(self.strip(raw)):
            try:
                return Decimal(self.strip(raw))
            except InvalidOperation:  # pragma: no cover - the pattern admits only valid text
                pass
        raise FieldProblem("type", f"{raw!r} is not a decimal number")

    def strip(self, text: str) -> str:
        """Submitted text without what the type allows around the number."""
        return text.strip()

    def allowed_places(self, fd: ir.FieldDef) -> int | None:
        return fd.scale

    def check(self, fd: ir.FieldDef, value: Any) -> list[FieldProblem]:
        out = runtime_bounds(fd, value, Decimal)
        if not isinstance(value, Decimal):
            return out
        allowed = self.allowed_places(fd)
        if allowed is not None and places(value) > allowed:
            out.append(FieldProblem("scale", f"{value} has {places(value)} decimal places, "
                                    f"at most {allowed} allowed"))
        elif (problem := exact_limits(value)) is not None:
            out.append(FieldProblem("scale" if places(value) > SCALE else "maximum", problem))
        return out

    def encode(self, value: Any) -> Any:
        return str(value)

    def decode(self, obj: Any) -> Any:
        return Decimal(obj)

    def example(self, fd: ir.FieldDef) -> Any:
        return fd.min if fd.min is not None else "1.00"


class PercentType(DecimalType):
    name = "percent"
    sample = "1.75"

    def parse(self, raw: Any, decl: Decl | None = None) -> Any:
        return read_decimal(parse_percent(raw), decl)

    def strip(self, text: str) -> str:
        return text.strip().removesuffix("%").strip()
