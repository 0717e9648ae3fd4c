"""``date``: a calendar day ``YYYY-MM-DD`` between 1900-01-01 and 9799-12-31.

The upper end leaves two centuries of headroom, so a date plus the longest duration (100 years
of months and 100 years of days) is still a date every consumer (Python, CEL, FEEL) can hold.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from .. import ir
from ._base import BOUNDS, Decl, FieldProblem, ValueProblem, ValueType, describe, runtime_bounds
from ._read import text_of
from ._regex import fixed_range

__all__ = ["MAX_DATE", "MIN_DATE", "DateType", "parse_date"]

MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(9799, 12, 31)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RELEASE_OFFSET_RE = re.compile(r"T(?:\+([0-9]{1,2}))?")


def release_offset(raw: Any) -> int | None:
    """``T`` -> 0 and ``T+n`` -> n business days after the release date; None for anything else."""
    if not isinstance(raw, str):
        return None
    m = _RELEASE_OFFSET_RE.fullmatch(raw.strip())
    return None if m is None else int(m.group(1) or 0)


def _in_range(day: dt.date) -> dt.date:
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValueProblem("PK108", f"{day.isoformat()} is outside the dates productkit accepts "
                           f"({MIN_DATE.isoformat()} to {MAX_DATE.isoformat()})")
    return day


def parse_date(raw: Any) -> dt.date:
    """A date ``YYYY-MM-DD`` from source text, within MIN_DATE..MAX_DATE."""
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return _in_range(raw)
    text = text_of(raw, "a date (YYYY-MM-DD)")
    if _DATE_RE.match(text):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError as exc:
            raise ValueProblem("PK108", f"'{text}' is not a calendar date: {exc}") from None
        return _in_range(day)
    raise ValueProblem("PK104", f"found {describe(raw)}, expected a date (YYYY-MM-DD)")


class DateType(ValueType):
    name = "date"
    cel = "timestamp"
    bounded = BOUNDS
    sample = "2026-12-01"

    def parse(self, raw: Any, decl: Decl | None = None) -> dt.date:
        return parse_date(raw)

    def to_json(self, value: Any) -> Any:
        return value.isoformat()

    def feel_literal(self, value: Any) -> str:
        return f'date("{value.isoformat()}")'

    def feel_name(self, path: str) -> str:
        return f"date({path})"

    def json_schema(self, fd: ir.FieldDef) -> dict[str, Any]:
        # Dates of one shape compare as text: the pattern holds the bounds, the format the calendar.
        lo, hi = fd.min or MIN_DATE.isoformat(), fd.max or MAX_DATE.isoformat()
        return {"type": "string", "format": "date", "pattern": "^" + fixed_range(lo, hi) + "$"}

    def from_ir(self, raw: Any) -> Any:
        return None if raw is None else dt.date.fromisoformat(str(raw))

    def coerce(self, fd: ir.FieldDef, raw: object) -> dt.date:
        if isinstance(raw, dt.datetime):
            raise FieldProblem("type", f"{raw!r} is a moment, expected a date")
        day: dt.date | None = raw if isinstance(raw, dt.date) else None
        if isinstance(raw, str):
            try:
                day = dt.date.fromisoformat(raw.strip())
            except ValueError:
                day = None
        if day is None:
            raise FieldProblem("type", f"{raw!r} is not a date (YYYY-MM-DD)")
        try:
            return _in_range(day)
        except ValueProblem as exc:
            raise FieldProblem("type", exc.message) from None

    def check(self, fd: ir.FieldDef, value: Any) -> list[FieldProblem]:
        return runtime_bounds(fd, value, dt.date.fromisoformat)

    def encode(self, value: Any) -> Any:
        return value.isoformat()

    def decode(self, obj: Any) -> Any:
        return dt.date.fromisoformat(obj)

    def example(self, fd: ir.FieldDef) -> Any:
        return "2026-12-01"
