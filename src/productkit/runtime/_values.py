"""Typed values at run time: parameters as exact Python values, submitted and returned data
coerced to their declared types, and the exact field checks JSON Schema cannot do. What each
type accepts is its :class:`productkit.types.ValueType`'s business."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ..ir import FieldDef, ParamValue
from ..patterns import fullmatch
from ..types import DECIMAL_TYPES, FieldProblem, Money, get, schema_types

__all__ = ["DECIMAL_TYPES", "Problem", "check", "coerce", "param_value", "wire"]

Problem = FieldProblem  # a value that does not fit its declaration; ``code`` is the FieldError code
# The type of a name, looked up once per name (``get`` builds a new list type each time).
_kind = functools.lru_cache(maxsize=1024)(get)


def param_value(p: ParamValue, on: dt.date | None = None) -> object:
    """A resolved parameter as a Python value: Decimal for decimal, percent and money amounts;
    for an application started ``on`` a day, the value of the dated window it falls in."""
    kind = _kind(p.type)
    value = p.value_on(on.isoformat() if on is not None else None)
    return value if kind is None or value is None else kind.from_ir(value)


def coerce(fd: FieldDef, raw: object) -> object:
    """``raw`` as a value of ``fd.type``; Problem("type") when it cannot be read as one."""
    kind = _kind(fd.type)
    try:
        return raw if kind is None else kind.coerce(fd, raw)
    except Problem:
        raise
    except (ValueError, ArithmeticError) as exc:  # e.g. an integer of thousands of digits
        raise Problem("type", f"not a {fd.type} this product can hold ({type(exc).__name__})") from None


def check(fd: FieldDef, value: object) -> list[Problem]:
    """The exact checks of a coerced value against its declaration's bounds."""
    kind = _kind(fd.type)
    try:
        problems: list[Problem] = kind.check(fd, value) if kind is not None else []
    except (ValueError, ArithmeticError):  # too large to compare with its bounds or step exactly
        return [Problem("maximum", f"too large for a {fd.type} field")]
    if isinstance(value, str | list):
        problems += _length(fd, value)
    if isinstance(value, str) and fd.pattern and not _matches(fd.pattern, value):
        problems.append(Problem("pattern", f"'{value}' does not match {fd.pattern}"))
    return problems


def _matches(pattern: str, value: str) -> bool:
    """All of ``value`` matches, in linear time (RE2); a pattern the build would refuse matches nothing."""
    try:
        return fullmatch(pattern, value)
    except ValueError:
        return False


def _length(fd: FieldDef, value: str | list[Any]) -> list[Problem]:
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
        kinds = schema_types(schema)
        if "string" in kinds or not kinds & {"number", "integer"}:
            return str(value)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        items = schema.get("items") if schema else None
        return [wire(v, items if isinstance(items, Mapping) else None) for v in value]
    return value
