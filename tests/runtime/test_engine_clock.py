"""The engine's default clock reads the local time as ``datetime.now().astimezone()`` does."""

from __future__ import annotations

import datetime as dt

from productkit.runtime.engine import _LocalClock


def test_the_default_clock_agrees_with_astimezone() -> None:
    clock = _LocalClock()
    for _ in range(3):  # the first reading fills the zone, the next ones reuse it
        before = dt.datetime.now().astimezone()
        now = clock()
        after = dt.datetime.now().astimezone()
        assert now.utcoffset() == before.utcoffset() and now.tzname() == before.tzname()
        assert before - dt.timedelta(milliseconds=1) <= now <= after + dt.timedelta(milliseconds=1)
