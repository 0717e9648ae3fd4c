"""Exact scalar values from YAML text: the YAML 1.1 surprises are refused with PK105."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from productkit import types as v
from productkit.loader import Plain

YAML11_BOOLEANS = ["y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
                   "on", "On", "ON", "off", "Off", "OFF", "True", "TRUE", "False", "FALSE"]


def code_of(parse: Any, raw: Any) -> str:
    with pytest.raises(v.ValueProblem) as info:
        parse(raw)
    return info.value.code


@pytest.mark.parametrize("word", YAML11_BOOLEANS)
def test_yaml11_booleans_are_refused(word: str) -> None:
    assert code_of(v.parse_bool, Plain(word)) == "PK105"


def test_booleans() -> None:
    assert v.parse_bool(Plain("true")) is True
    assert v.parse_bool(Plain("false")) is False
    assert code_of(v.parse_bool, "true") == "PK104"  # quoted: text, not a boolean
    assert code_of(v.parse_bool, Plain("1")) == "PK104"


@pytest.mark.parametrize("text", ["010", "+010", "1_000", "1:20", "190:20:30", "1e3", "1.0e+3"])
def test_yaml11_integers_are_refused(text: str) -> None:
    assert code_of(v.parse_int, Plain(text)) == "PK105"


@pytest.mark.parametrize("text", ["0x1F", "0o17", "twelve", "1.5", ".inf"])
def test_non_integers(text: str) -> None:
    assert code_of(v.parse_int, Plain(text)) == "PK104"


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("12", 12), ("-3", -3), ("+7", 7)])
def test_integers(text: str, value: int) -> None:
    assert v.parse_int(Plain(text)) == value


@pytest.mark.parametrize("text", ["0.1", "0.30", "-2.5", "10", "3.14159265358979323846"])
def test_decimals_are_exact(text: str) -> None:
    value = v.parse_decimal(Plain(text))
    assert type(value) is Decimal
    assert value.as_tuple() == Decimal(text).as_tuple()  # same digits, same exponent


def test_decimal_arithmetic_stays_exact() -> None:
    assert v.parse_decimal(Plain("0.1")) + v.parse_decimal(Plain("0.2")) == Decimal("0.3")


@pytest.mark.parametrize("text", ["1.0e+3", ".5", "5.", "007.5", "1_000.5", "1:30.5"])
def test_yaml11_decimals_are_refused(text: str) -> None:
    assert code_of(v.parse_decimal, Plain(text)) == "PK105"


def test_binary_floats_are_refused() -> None:
    assert code_of(v.parse_decimal, 0.1) == "PK104"


def test_percent() -> None:
    assert v.parse_percent("3.25%") == Decimal("3.25")
    assert v.parse_percent(Plain("1.75")) == Decimal("1.75")


def test_dates() -> None:
    assert v.parse_date(Plain("2024-01-31")) == dt.date(2024, 1, 31)
    assert v.parse_date("2024-02-29") == dt.date(2024, 2, 29)
    assert code_of(v.parse_date, Plain("2023-02-29")) == "PK108"
    assert code_of(v.parse_date, Plain("2024-1-31")) == "PK104"
    assert code_of(v.parse_date, Plain("31/01/2024")) == "PK104"


def test_durations() -> None:
    assert v.parse_duration(Plain("P3M")).is_calendar
    assert v.parse_duration(Plain("PT24H")).to_timedelta() == dt.timedelta(hours=24)
    assert v.parse_duration(Plain("P1W")).sort_key() == (0, 7 * 24 * 3600)
    for bad in ("P", "PT", "P3X", "3M", "PT1.5H"):
        assert code_of(v.parse_duration, Plain(bad)) == "PK108"


def test_money() -> None:
    assert v.parse_money(Plain("5000.00"), "CNY") == v.Money(Decimal("5000.00"), "CNY")
    assert v.parse_money("12.5 USD", None) == v.Money(Decimal("12.5"), "USD")
    assert v.parse_money({"amount": Plain("100"), "currency": "JPY"}, None).currency == "JPY"
    assert code_of(lambda raw: v.parse_money(raw, "CNY"), Plain("0.001")) == "PK111"
    assert code_of(lambda raw: v.parse_money(raw, "JPY"), Plain("1.5")) == "PK111"
    assert code_of(lambda raw: v.parse_money(raw, "XXX"), Plain("1")) == "PK108"
    assert code_of(lambda raw: v.parse_money(raw, None), {"amount": Plain("1"), "cents": 2}) == "PK104"


@pytest.mark.parametrize(("raw", "expected"), [
    (None, "nothing (null)"), ({}, "a mapping"), ([], "a list"), (Plain("yes"), "'yes'"),
    ("yes", 'the quoted string "yes"'),
])
def test_describe_tells_plain_from_quoted(raw: Any, expected: str) -> None:
    assert v.describe(raw) == expected


def test_durations_may_have_fractional_seconds() -> None:
    from decimal import Decimal

    from productkit.types import parse_duration

    half = parse_duration(Plain("PT0.5S"))
    assert half.seconds == Decimal("0.5") and half.to_timedelta().total_seconds() == 0.5
    assert parse_duration(Plain("P1DT1.25S")).sort_key() == (0, Decimal("86401.25"))
