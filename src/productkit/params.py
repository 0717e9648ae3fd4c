"""Typed parameter values: reading a raw value against its declaration, and checking bounds.

Used wherever a value is written: a dictionary default, a component default, a line's or
product's value, a per-step binding. Each problem is returned with the code, message and hint;
the caller adds both locations (the value's and the declaration's).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import patterns
from . import values as v
from .model import TypeSpec

__all__ = ["Problem", "Value", "check_spec", "coerce", "comparable", "effective_spec", "violations"]

Value = Any  # int | Decimal | Money | str | bool | date | Duration | tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem with a value or declaration; ``field`` names the part of the spec at fault."""

    code: str
    message: str
    hint: str | None = None
    field: str | None = None


_SCALAR_PARSERS = {
    "integer": v.parse_int,
    "decimal": v.parse_decimal,
    "percent": v.parse_percent,
    "boolean": v.parse_bool,
    "date": v.parse_date,
    "duration": v.parse_duration,
}


def effective_spec(spec: TypeSpec, dictionary: dict[str, TypeSpec]) -> TypeSpec:
    """``spec`` with the fields it leaves unset filled from the dictionary entry it refs."""
    if spec.ref is None or spec.ref not in dictionary:
        return spec
    base = dictionary[spec.ref]
    own = {k: getattr(spec, k) for k in spec.model_fields_set if k != "ref"}
    merged = {k: getattr(base, k) for k in TypeSpec.model_fields if k in base.model_fields_set}
    merged.update(own)
    merged["ref"] = spec.ref
    return TypeSpec.model_construct(_fields_set=set(merged), **merged)


def coerce(spec: TypeSpec, raw: Any) -> Value:
    """Read ``raw`` as a value of ``spec``'s type; raises :class:`values.ValueProblem`."""
    kind = spec.type
    if raw is None:
        raise v.ValueProblem("PK104", "found nothing (null), expected a value")
    if kind in _SCALAR_PARSERS:
        return _SCALAR_PARSERS[kind](raw)
    if kind == "money":
        return v.parse_money(raw, spec.currency)
    if kind in ("string", "enum"):
        if not isinstance(raw, str):
            raise v.ValueProblem("PK104", f"found {v.describe(raw)}, expected text")
        return str(raw)
    if kind == "list":
        if not isinstance(raw, list):
            raise v.ValueProblem("PK104", f"found {v.describe(raw)}, expected a list")
        item = spec.items or TypeSpec(type="string")
        return tuple(coerce(item, x) for x in raw)
    raise v.ValueProblem("PK102", "the declaration has no type", "add type: or ref: to the declaration")


def comparable(value: Value) -> Any:
    """A value as bounds compare it: money by amount, durations by (months, seconds)."""
    if isinstance(value, v.Money):
        return value.amount
    if isinstance(value, v.Duration):
        return value.sort_key()
    return value


def _bound(spec: TypeSpec, name: str) -> Value | None:
    raw = getattr(spec, name)
    if raw is None:
        return None
    if spec.type in ("string", "enum", "boolean", "list"):
        return None
    return coerce(spec, raw)


def violations(spec: TypeSpec, value: Value) -> list[Problem]:
    """Every constraint of ``spec`` that ``value`` breaks (value already coerced)."""
    if spec.type == "list":
        return _list_violations(spec, value)
    out: list[Problem] = []
    lo, hi = _safe_bound(spec, "min"), _safe_bound(spec, "max")
    cv = comparable(value)
    if lo is not None and cv < comparable(lo):
        out.append(Problem("PK111", f"{value} is below the minimum {lo}", field="min"))
    if hi is not None and cv > comparable(hi):
        out.append(Problem("PK111", f"{value} is above the maximum {hi}", field="max"))
    step = _safe_bound(spec, "step")
    if step is not None and isinstance(cv, int | Decimal) and comparable(step):
        base = comparable(lo) if lo is not None else 0
        if (cv - base) % comparable(step) != 0:
            out.append(Problem("PK111", f"{value} is not on the step {step} from {lo or 0}", field="step"))
    out.extend(_text_violations(spec, value))
    return out


def _safe_bound(spec: TypeSpec, name: str) -> Value | None:
    try:
        return _bound(spec, name)
    except v.ValueProblem:
        return None  # reported by check_spec at the declaration


def _text_violations(spec: TypeSpec, value: Value) -> list[Problem]:
    out: list[Problem] = []
    if spec.type == "enum" and spec.values is not None and value not in [str(x) for x in spec.values]:
        allowed = ", ".join(str(x) for x in spec.values)
        out.append(Problem("PK111", f"'{value}' is not one of {allowed}", field="values"))
    if spec.type == "string" and isinstance(value, str):
        if spec.min_length is not None and len(value) < spec.min_length:
            out.append(Problem("PK111", f"'{value}' is shorter than {spec.min_length}", field="min_length"))
        if spec.max_length is not None and len(value) > spec.max_length:
            out.append(Problem("PK111", f"'{value}' is longer than {spec.max_length}", field="max_length"))
        if spec.pattern and _compiles(spec.pattern) and not patterns.fullmatch(spec.pattern, value):
            out.append(Problem("PK111", f"'{value}' does not match {spec.pattern}", field="pattern"))
    return out


def _list_violations(spec: TypeSpec, value: Value) -> list[Problem]:
    out: list[Problem] = []
    if spec.min_items is not None and len(value) < spec.min_items:
        out.append(Problem("PK111", f"the list has {len(value)} items, fewer than {spec.min_items}",
                           field="min_items"))
    if spec.max_items is not None and len(value) > spec.max_items:
        out.append(Problem("PK111", f"the list has {len(value)} items, more than {spec.max_items}",
                           field="max_items"))
    item = spec.items or TypeSpec(type="string")
    for x in value:
        out.extend(violations(item, x))
    return out


def _compiles(pattern: str) -> bool:
    return patterns.problem(pattern) is None  # also: safe to run (see patterns.py)


def check_spec(spec: TypeSpec) -> list[Problem]:
    """Problems of a declaration itself: bounds of the wrong type, min > max, bad default."""
    if spec.type is None:
        if spec.ref is None:
            return [Problem("PK102", "the declaration has neither 'type' nor 'ref'",
                            "add type: integer (or another type) or ref: a dictionary parameter")]
        return []
    out = _bound_problems(spec)
    if spec.type == "enum" and not spec.values:
        out.append(Problem("PK102", "an enum declares its 'values'", field=None))
    if spec.type == "money" and spec.currency is not None and spec.currency not in v.CURRENCY_MINOR_UNITS:
        out.append(Problem("PK108", f"unknown currency '{spec.currency}'", "use an ISO 4217 code such as CNY",
                           field="currency"))
    why = patterns.problem(spec.pattern) if spec.pattern is not None else None
    if why is not None:
        out.append(Problem("PK108" if why.syntax else "PK112", f"pattern '{spec.pattern}' {why.message}",
                           field="pattern"))
    if spec.type == "list" and spec.items is not None:
        out.extend(check_spec(spec.items))
    if spec.default is not None:
        out.extend(_value_problems(spec, spec.default, "default"))
    return out


def _bound_problems(spec: TypeSpec) -> list[Problem]:
    out: list[Problem] = []
    for name in ("min", "max", "step"):
        try:
            _bound(spec, name)
        except v.ValueProblem as exc:
            out.append(Problem(exc.code, f"{name}: {exc.message}", exc.hint, field=name))
    lo, hi = _safe_bound(spec, "min"), _safe_bound(spec, "max")
    if lo is not None and hi is not None and comparable(lo) > comparable(hi):
        out.append(Problem("PK109", f"min {lo} is above max {hi}", field="min"))
    return out


def _value_problems(spec: TypeSpec, raw: Any, field: str) -> list[Problem]:
    try:
        value = coerce(spec, raw)
    except v.ValueProblem as exc:
        return [Problem(exc.code, exc.message, exc.hint, field=field)]
    return [Problem(p.code, p.message, p.hint, field=field) for p in violations(spec, value)]

