"""``duration``: ISO 8601 (``PT24H``, ``P14D``, ``P3M``), at most 100 years.

The calendar part (years and months, at most ``MAX_MONTHS``) and the fixed part (weeks to
seconds, at most ``MAX_DAYS`` days) are each bounded, so a duration the build accepts can always
be added to a date (at most 9799-12-31) or a moment at run time.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .. import ir
from ._base import BOUNDS, Decl, FieldProblem, ValueProblem, ValueType
from ._read import text_of

__all__ = ["MAX_DAYS", "MAX_MONTHS", "Duration", "DurationType", "parse_duration"]

MAX_MONTHS = 100 * 12
MAX_DAYS = 36500  # 100 years of 365 days
_MAX_DIGITS = 9  # no component needs more; longer digit strings are refused before int()

_DURATION_RE = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


@dataclass(frozen=True, slots=True)
class Duration:
    """An ISO 8601 duration such as ``P3M`` or ``PT24H``, kept with its source text."""

    text: str
    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: Decimal = Decimal(0)  # may carry a fraction: PT0.5S

    @property
    def is_calendar(self) -> bool:
        """True when the duration has years or months, whose length depends on the date."""
        return bool(self.years or self.months)

    def to_timedelta(self) -> dt.timedelta:
        """The length of a calendar-free duration."""
        if self.is_calendar:
            raise ValueError(f"{self.text} has years or months and no fixed length")
        return self.fixed()

    @property
    def months_total(self) -> int:
        return self.years * 12 + self.months

    def fixed(self) -> dt.timedelta:
        """The calendar-free part (weeks, days, hours, minutes, seconds)."""
        return dt.timedelta(weeks=self.weeks, days=self.days, hours=self.hours,
                            minutes=self.minutes, seconds=float(self.seconds))

    def fixed_seconds(self) -> Decimal:
        """The calendar-free part in seconds, exactly."""
        return ((self.weeks * 7 + self.days) * 24 + self.hours) * 3600 + self.minutes * 60 + self.seconds

    def sort_key(self) -> tuple[int, Decimal]:
        """Months and seconds: comparable when both are calendar-free or both day-free."""
        return (self.years * 12 + self.months, self.fixed_seconds())

    def __str__(self) -> str:
        return self.text


def _too_long(text: str) -> ValueProblem:
    return ValueProblem("PK108", f"'{text}' is longer than 100 years",
                        f"durations are at most 100 years ({MAX_MONTHS} months or {MAX_DAYS} days)")


def parse_duration(raw: Any) -> Duration:
    """An ISO 8601 duration from source text, at most 100 years in each part."""
    if isinstance(raw, Duration):
        return raw
    text = text_of(raw, "an ISO 8601 duration")
    m = _DURATION_RE.match(text)
    if not m:
        raise ValueProblem("PK108", f"'{text}' is not an ISO 8601 duration",
                           "write e.g. PT24H (24 hours), P14D (14 days), P3M (3 months)")
    found = {k: v for k, v in m.groupdict().items() if v is not None}
    if any(len(v.partition(".")[0].lstrip("0")) > _MAX_DIGITS for v in found.values()):
        raise _too_long(text)
    parts: dict[str, Any] = {k: int(v) for k, v in found.items() if k != "seconds"}
    if "seconds" in found:
        parts["seconds"] = Decimal(found["seconds"])
    duration = Duration(text, **parts)
    if duration.months_total > MAX_MONTHS or duration.fixed_seconds() > MAX_DAYS * 86400:
        raise _too_long(text)
    return duration


class DurationType(ValueType):
    name = "duration"
    cel = "duration"
    bounded = BOUNDS
    sample = "P3M"

    def parse(self, raw: Any, decl: Decl | None = None) -> Duration:
        return parse_duration(raw)

    def key(self, value: Any) -> Any:
        return value.sort_key()

    def to_json(self, value: Any) -> Any:
        return value.text

    def feel_literal(self, value: Any) -> str:
        """A parsed duration, or one read from a definition (its ISO text)."""
        return f'duration("{value.text if isinstance(value, Duration) else value}")'

    def feel_name(self, path: str) -> str:
        # Process variables hold durations as ISO text, as they hold dates.
        return f"duration({path})"

    def json_schema(self, fd: ir.FieldDef) -> dict[str, Any]:
        return {"type": "string", "format": "duration"}

    def check(self, fd: ir.FieldDef, value: Any) -> list[FieldProblem]:
        if isinstance(value, str):
            try:
                parse_duration(value)
            except ValueProblem as exc:
                return [FieldProblem("type", exc.message)]
        return []

    def example(self, fd: ir.FieldDef) -> Any:
        return "P1D"
