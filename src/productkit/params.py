"""Typed parameter values: reading a raw value against its declaration, and checking bounds.

Used wherever a value is written: a dictionary default, a component default, a line's or
product's value, a per-step binding. Each problem is returned with the code, message and hint;
the caller adds both locations (the value's and the declaration's). What each type accepts is
its :class:`productkit.types.ValueType`'s business; this module picks the type and reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import TypeSpec
from .types import Duration, Money, ValueProblem, ValueType, of, untyped

__all__ = ["Problem", "Value", "check_spec", "coerce", "comparable", "effective_spec", "violations"]

Value = Any  # int | Decimal | Money | str | bool | date | Duration | tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem with a value or declaration; ``field`` names the part of the spec at fault."""

    code: str
    message: str
    hint: str | None = None
    field: str | None = None
    where: tuple[str | int, ...] = ()  # the part of the value at fault (a table's row)


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


def _type(spec: TypeSpec) -> ValueType:
    if spec.type is None:
        raise ValueProblem("PK102", "the declaration has no type", "add type: or ref: to the declaration")
    return of(spec.type)


def coerce(spec: TypeSpec, raw: Any) -> Value:
    """Read ``raw`` as a value of ``spec``'s type; raises :class:`types.ValueProblem`."""
    if raw is None:
        raise ValueProblem("PK104", "found nothing (null), expected a value")
    return _type(spec).parse(raw, spec)


def comparable(value: Value) -> Any:
    """A value as bounds compare it: money by amount, durations by (months, seconds)."""
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, Duration):
        return value.sort_key()
    return value


def _problem(p: ValueProblem, field: str | None = None) -> Problem:
    return Problem(p.code, p.message, p.hint, field=p.field if field is None else field, where=p.where)


def violations(spec: TypeSpec, value: Value) -> list[Problem]:
    """Every constraint of ``spec`` that ``value`` breaks (value already coerced)."""
    return [_problem(p) for p in _type(spec).violations(spec, value)]


def check_spec(spec: TypeSpec) -> list[Problem]:
    """Problems of a declaration itself: bounds of the wrong type, min > max, bad default."""
    if spec.type is None:
        return [_problem(p) for p in untyped(spec)]
    return [_problem(p) for p in of(spec.type).check_decl(spec)]
