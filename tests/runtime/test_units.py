"""The small pieces: flow frontier and precedence, ISO durations, exact JSON storage."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from productkit import ir
from productkit.runtime import _codec, _durations, _flow

from .buildfixture import parallel

FLOW: list[str | ir.Parallel] = ["a", parallel(["b1", "b2"], ["c1", parallel(["d"], ["e"])]), "z"]


@pytest.mark.parametrize(("finished", "expected"), [
    (set(), ["a"]),
    ({"a"}, ["b1", "c1"]),
    ({"a", "b1", "c1"}, ["b2", "d", "e"]),
    ({"a", "b1", "b2", "c1", "d"}, ["e"]),
    ({"a", "b1", "b2", "c1", "d", "e"}, ["z"]),
    ({"a", "b1", "b2", "c1", "d", "e", "z"}, []),
])
def test_frontier(finished: set[str], expected: list[str]) -> None:
    assert _flow.frontier(FLOW, finished) == expected


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("a", "z", True), ("b1", "b2", True), ("b1", "z", True), ("b1", "c1", False),
    ("c1", "b2", False), ("d", "e", False), ("c1", "e", True), ("z", "a", False), ("a", "a", False),
])
def test_precedes(a: str, b: str, expected: bool) -> None:
    where = _flow.positions(FLOW)
    assert _flow.precedes(where[a], where[b]) is expected


def test_durations() -> None:
    assert _durations.seconds("PT1H30M") == 5400
    assert _durations.seconds("PT0.25S") == 0.25
    start = dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.UTC)
    assert _durations.add(start, "P1M") == dt.datetime(2024, 2, 29, 12, 0, tzinfo=dt.UTC)
    assert _durations.add(start, "P1Y1DT1H") == dt.datetime(2025, 2, 1, 13, 0, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="no fixed length"):
        _durations.seconds("P1M")
    with pytest.raises(ValueError, match="not an ISO 8601 duration"):
        _durations.parse("3 days")


def test_codec_keeps_exact_values() -> None:
    value = {"amount": Decimal("0.10"), "day": dt.date(2026, 3, 2),
             "at": dt.datetime(2026, 3, 2, 9, 0, 0, 5, tzinfo=dt.UTC), "n": [1, "x", None]}
    back = _codec.decode(_codec.encode(value))
    assert back == value and str(back["amount"]) == "0.10"
    moment = dt.datetime(2026, 3, 2, 9, 0, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert _codec.from_micros(_codec.micros(moment)) == moment
