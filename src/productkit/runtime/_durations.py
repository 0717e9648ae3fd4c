"""ISO 8601 durations at run time: backoffs and timeouts in seconds, due times of waits."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from dataclasses import dataclass

from ..types import ValueProblem, parse_duration

__all__ = ["Span", "add", "parse", "seconds"]

@dataclass(frozen=True, slots=True)
class Span:
    """A duration split into calendar months and a fixed length."""

    months: int
    fixed: dt.timedelta


@functools.lru_cache(maxsize=1024)
def parse(text: str) -> Span:
    """``P3M``, ``PT24H``, ``PT0.5S``; ValueError otherwise. One grammar and one range (at most
    100 years) with the compiler's, so a duration a build holds always adds to a moment."""
    try:
        d = parse_duration(text.strip())
    except ValueProblem as exc:
        raise ValueError(exc.message) from None
    return Span(d.months_total, d.fixed())


def seconds(text: str) -> float:
    """The length of a calendar-free duration in seconds."""
    span = parse(text)
    if span.months:
        raise ValueError(f"'{text}' has years or months, which have no fixed length")
    return span.fixed.total_seconds()


def add(moment: dt.datetime, text: str) -> dt.datetime:
    """``moment`` plus the duration: months on the calendar (day clamped), then the rest."""
    span = parse(text)
    if span.months:
        year, month0 = divmod(moment.month - 1 + span.months, 12)
        year += moment.year
        day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
        moment = moment.replace(year=year, month=month0 + 1, day=day)
    return moment + span.fixed
