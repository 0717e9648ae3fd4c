"""Value types, each defined once: how a value is read from YAML source text, its bounds, its
JSON Schema, its CEL type, its FEEL literal, and how the runtime coerces and stores it.

``TYPES`` maps each type name to its :class:`ValueType`; every other module dispatches through
it. This package imports nothing from the build side, so the runtime may use it.
"""

from __future__ import annotations

from ._base import (
    Decl,
    FieldProblem,
    Plain,
    ValueProblem,
    ValueType,
    describe,
    field_schema,
    param_ref,
    places,
    schema_types,
    untyped,
)
from .boolean import parse_bool
from .dates import MAX_DATE, MIN_DATE, parse_date, release_offset
from .decimal import MAX_INTEGER_DIGITS, SCALE, parse_decimal, parse_percent
from .duration import MAX_DAYS, MAX_MONTHS, Duration, parse_duration
from .integer import parse_int
from .money import CURRENCY_MINOR_UNITS, Money, parse_money
from .registry import DECIMAL_TYPES, TYPE_NAMES, TYPES, get, of
from .time import parse_time

__all__ = [
    "CURRENCY_MINOR_UNITS",
    "DECIMAL_TYPES",
    "MAX_DATE",
    "MAX_DAYS",
    "MAX_INTEGER_DIGITS",
    "MAX_MONTHS",
    "MIN_DATE",
    "SCALE",
    "TYPES",
    "TYPE_NAMES",
    "Decl",
    "Duration",
    "FieldProblem",
    "Money",
    "Plain",
    "ValueProblem",
    "ValueType",
    "describe",
    "field_schema",
    "get",
    "of",
    "param_ref",
    "parse_bool",
    "parse_date",
    "parse_decimal",
    "parse_duration",
    "parse_int",
    "parse_money",
    "parse_percent",
    "parse_time",
    "places",
    "release_offset",
    "schema_types",
    "untyped",
]
