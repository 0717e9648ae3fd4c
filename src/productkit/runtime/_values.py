"""Typed values at run time: parameters as exact Python values, submitted and returned data
coerced to their declared types, and the exact field checks JSON Schema cannot do."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .. import ir
from ..values import CURRENCY_MINOR_UNITS, Money
from . import _durations

__all__ = ["DECIMAL_TYPES", "Problem", "check", "coerce", "param_value", "wire"]

DECIMAL_TYPES = frozenset({"decimal", "percent", "money"})
_INT = re.compile(r"^[-+]?\d+$")
_DEC = re.compile(r"^[-+]?\d+(\.\d+)?$")


class Problem(ValueError):
    """A value that does not fit its declaration; ``code`` is the FieldError code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def param_value(p: ir.ParamValue) -> object:
    """A resolved parameter as a Python value: Decimal for decimal, percent and money amounts."""
    return _exact(p.type, p.value)


def _exact(kind: str, raw: Any) -> object:
    if raw is None:
        return None
    if kind in DECIMAL_TYPES:
        return Decimal(str(raw))
    if kind == "integer":
        return int(raw)
    if kind == "date":
        return dt.date.fromisoformat(str(raw))
    if kind == "list" and isinstance(raw, list):
        return list(raw)
    return raw


def coerce(fd: ir.FieldDef, raw: object) -> object:
    """``raw`` as a value of ``fd.type``; Problem("type") when it cannot be read as one."""
    kind = fd.type
    if kind == "integer":
        return _integer(raw)
    if kind in DECIMAL_TYPES:
        return _decimal(fd, raw)
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        raise Problem("type", f"{raw!r} is not true or false")
    if kind == "date":
        return _date(raw)
    if kind == "list":
        if not isinstance(raw, list | tuple):
            raise Problem("type", f"{raw!r} is not a list")
        return [coerce(fd.items, x) for x in raw] if fd.items else list(raw)
    if kind in ("string", "enum", "duration"):
        if not isinstance(raw, str):
            raise Problem("type", f"{raw!r} is not text")
        return raw
    return raw


def _integer(raw: object) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and _INT.match(raw.strip()):
        return int(raw)
    if isinstance(raw, Decimal | float) and raw == int(raw):
        return int(raw)
    raise Problem("type", f"{raw!r} is not a whole number")


def _decimal(fd: ir.FieldDef, raw: object) -> Decimal:
    if fd.type == "money":
        raw = _money_amount(fd, raw)
    if isinstance(raw, bool):
        raise Problem("type", f"{raw!r} is not a number")
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise Problem("type", f"{raw} is not a finite number")
        return raw
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        # The shortest text that reads back as this float: what the JSON sender wrote.
        return Decimal(repr(raw))
    if isinstance(raw, str):
        text = raw.strip().removesuffix("%").strip() if fd.type == "percent" else raw.strip()
        if _DEC.match(text):
            try:
                return Decimal(text)
            except InvalidOperation:  # pragma: no cover - the pattern admits only valid text
                pass
    raise Problem("type", f"{raw!r} is not a decimal number")


def _money_amount(fd: ir.FieldDef, raw: object) -> object:
    amount: object = raw
    currency: object = None
    if isinstance(raw, Money):
        amount, currency = raw.amount, raw.currency
    elif isinstance(raw, Mapping) and "amount" in raw:
        amount, currency = raw["amount"], raw.get("currency")
    elif isinstance(raw, str) and re.fullmatch(r"\S+ [A-Z]{3}", raw.strip()):
        amount, currency = raw.strip().split(" ")
    if currency is not None and fd.currency is not None and currency != fd.currency:
        raise Problem("currency", f"amount is in {currency}, expected {fd.currency}")
    return amount


def _date(raw: object) -> dt.date:
    if isinstance(raw, dt.datetime):
        raise Problem("type", f"{raw!r} is a moment, expected a date")
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise Problem("type", f"{raw!r} is not a date (YYYY-MM-DD)")


def check(fd: ir.FieldDef, value: object) -> list[Problem]:
    """The exact checks of a coerced value against its declaration's bounds."""
    problems: list[Problem] = []
    if fd.type in DECIMAL_TYPES | {"integer", "date"}:
        problems += _bounds(fd, value)
    if fd.type in DECIMAL_TYPES and isinstance(value, Decimal):
        problems += _scale(fd, value)
    if isinstance(value, str | list):
        problems += _length(fd, value)
    if isinstance(value, str) and fd.pattern and not re.search(fd.pattern, value):
        problems.append(Problem("pattern", f"'{value}' does not match {fd.pattern}"))
    if fd.type == "enum" and fd.values is not None and value not in fd.values:
        problems.append(Problem("enum", f"'{value}' is not one of {', '.join(fd.values)}"))
    if fd.type == "duration" and isinstance(value, str):
        try:
            _durations.parse(value)
        except ValueError as exc:
            problems.append(Problem("type", str(exc)))
    return problems


def _bounds(fd: ir.FieldDef, value: object) -> list[Problem]:
    out: list[Problem] = []
    low = _exact(_bound_kind(fd), fd.min) if fd.min is not None else None
    high = _exact(_bound_kind(fd), fd.max) if fd.max is not None else None
    if low is not None and value < low:  # type: ignore[operator]
        out.append(Problem("minimum", f"{value} is below the minimum {low}"))
    if high is not None and value > high:  # type: ignore[operator]
        out.append(Problem("maximum", f"{value} is above the maximum {high}"))
    if fd.step is not None and isinstance(value, int | Decimal):
        step, base = Decimal(fd.step), Decimal(str(low)) if low is not None else Decimal(0)
        if step and (Decimal(value) - base) % step != 0:
            out.append(Problem("step", f"{value} is not {base} plus a multiple of {step}"))
    return out


def _bound_kind(fd: ir.FieldDef) -> str:
    return "decimal" if fd.type in DECIMAL_TYPES else fd.type


def _scale(fd: ir.FieldDef, value: Decimal) -> list[Problem]:
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    allowed = fd.scale
    if allowed is None and fd.type == "money" and fd.currency in CURRENCY_MINOR_UNITS:
        allowed = CURRENCY_MINOR_UNITS[fd.currency]
    if allowed is not None and places > allowed:
        return [Problem("scale", f"{value} has {places} decimal places, at most {allowed} allowed")]
    return []


def _length(fd: ir.FieldDef, value: str | list[Any]) -> list[Problem]:
    if fd.min_length is not None and len(value) < fd.min_length:
        return [Problem("length", f"{len(value)} long, at least {fd.min_length} needed")]
    if fd.max_length is not None and len(value) > fd.max_length:
        return [Problem("length", f"{len(value)} long, at most {fd.max_length} allowed")]
    return []


def wire(value: object, schema: Mapping[str, Any] | None) -> object:
    """A Python value as the JSON its form schema describes (for schema validation)."""
    if isinstance(value, Money):
        value = value.amount
    if isinstance(value, Decimal):
        kinds = _types(schema)
        if "string" in kinds or not kinds & {"number", "integer"}:
            return str(value)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        items = schema.get("items") if schema else None
        return [wire(v, items if isinstance(items, Mapping) else None) for v in value]
    return value


def _types(schema: Mapping[str, Any] | None) -> set[str]:
    kind = (schema or {}).get("type")
    if isinstance(kind, str):
        return {kind}
    return set(kind) if isinstance(kind, list) else set()
