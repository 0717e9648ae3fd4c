"""ISO 8601 durations at run time: backoffs and timeouts in seconds, due times of waits."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass

__all__ = ["Span", "add", "parse", "seconds"]

_RE = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?$"
)


@dataclass(frozen=True, slots=True)
class Span:
    """A duration split into calendar months and a fixed length."""

    months: int
    fixed: dt.timedelta


@functools.lru_cache(maxsize=1024)
def parse(text: str) -> Span:
    """``P3M``, ``PT24H``, ``PT0.5S`` (a fraction is allowed on seconds); ValueError otherwise."""
    m = _RE.match(text.strip())
    if not m:
        raise ValueError(f"'{text}' is not an ISO 8601 duration")
    g = {k: (v or "0").replace(",", ".") for k, v in m.groupdict().items()}
    fixed = dt.timedelta(weeks=int(g["weeks"]), days=int(g["days"]), hours=int(g["hours"]),
                         minutes=int(g["minutes"]), seconds=float(g["seconds"]))
    return Span(int(g["years"]) * 12 + int(g["months"]), fixed)


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
