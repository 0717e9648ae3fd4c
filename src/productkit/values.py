"""Exact scalar values read from YAML source text: integers, decimals, money, dates, durations.

Every parser takes the text the loader kept (plain or quoted) and either returns a typed value
or raises :class:`ValueProblem` with a stable code and a hint saying how to write it. Nothing
goes through a binary float.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .loader import Plain

__all__ = [
    "CURRENCY_MINOR_UNITS",
    "Duration",
    "Money",
    "ValueProblem",
    "describe",
    "parse_bool",
    "parse_date",
    "parse_decimal",
    "parse_duration",
    "parse_int",
    "parse_money",
    "parse_percent",
    "release_offset",
]


class ValueProblem(ValueError):
    """A value that cannot be read as the type asked for."""

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


# ISO 4217 minor units of the currencies a Chinese bank's catalogue meets.
CURRENCY_MINOR_UNITS: dict[str, int] = {
    "CNY": 2, "HKD": 2, "MOP": 2, "TWD": 2, "USD": 2, "EUR": 2, "GBP": 2, "AUD": 2, "CAD": 2,
    "SGD": 2, "CHF": 2, "NZD": 2, "JPY": 0, "KRW": 0,
}


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An exact amount in an ISO 4217 currency."""

    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


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
        if self.is_calendar:
            raise ValueError(f"{self.text} has years or months and no fixed length")
        return dt.timedelta(weeks=self.weeks, days=self.days, hours=self.hours,
                            minutes=self.minutes, seconds=float(self.seconds))

    @property
    def months_total(self) -> int:
        return self.years * 12 + self.months

    def fixed(self) -> dt.timedelta:
        """The calendar-free part (weeks, days, hours, minutes, seconds)."""
        return dt.timedelta(weeks=self.weeks, days=self.days, hours=self.hours,
                            minutes=self.minutes, seconds=float(self.seconds))

    def sort_key(self) -> tuple[int, Decimal]:
        """Months and seconds: comparable when both are calendar-free or both day-free."""
        secs = ((self.weeks * 7 + self.days) * 24 + self.hours) * 3600 + self.minutes * 60 + self.seconds
        return (self.years * 12 + self.months, secs)

    def __str__(self) -> str:
        return self.text


_YAML11_BOOLS = frozenset([
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON",
    "off", "Off", "OFF", "True", "TRUE", "False", "FALSE",
])
_INT_RE = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_DEC_RE = re.compile(r"^[-+]?(0|[1-9][0-9]*)(\.[0-9]+)?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def describe(raw: Any) -> str:
    """How a raw loaded value is named in a message."""
    if raw is None:
        return "nothing (null)"
    if isinstance(raw, dict):
        return "a mapping"
    if isinstance(raw, list):
        return "a list"
    if isinstance(raw, Plain):
        return f"'{raw}'"
    if isinstance(raw, str):
        return f'the quoted string "{raw}"'
    return repr(raw)


def _number_hint(text: str) -> str | None:
    if re.fullmatch(r"[-+]?0[0-9]+(\.[0-9]+)?", text):
        return f"'{text}' has a leading zero, which YAML 1.1 reads as octal; write it without the zero"
    if "_" in text and re.fullmatch(r"[-+]?[0-9_.]+", text):
        return f"digit separators are not allowed; write {text.replace('_', '')}"
    if re.fullmatch(r"[-+]?[0-9]+(:[0-5]?[0-9])+(\.[0-9]*)?", text):
        return f"'{text}' is a base-60 number in YAML 1.1; quote it if it is text"
    if re.fullmatch(r"[-+]?([0-9]*\.[0-9]+|[0-9]+\.?)[eE][-+]?[0-9]+", text):
        return "exponents are not allowed; write the number out in full"
    if re.fullmatch(r"[-+]?\.[0-9]+", text) or re.fullmatch(r"[-+]?[0-9]+\.", text):
        return "write a digit on both sides of the decimal point, e.g. 0.5"
    return None


def _text(raw: Any, expected: str) -> str:
    if isinstance(raw, bool | int | Decimal):
        return str(raw).lower() if isinstance(raw, bool) else str(raw)
    if not isinstance(raw, str):
        raise ValueProblem("PK104", f"found {describe(raw)}, expected {expected}")
    return raw.strip()


def parse_int(raw: Any) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    text = _text(raw, "an integer")
    if _INT_RE.match(text):
        return int(text)
    hint = _number_hint(text)
    code = "PK105" if hint else "PK104"
    raise ValueProblem(code, f"found {describe(raw)}, expected an integer", hint)


def parse_decimal(raw: Any) -> Decimal:
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        return Decimal(raw)
    if isinstance(raw, float):
        raise ValueProblem("PK104", "binary floating-point values are not accepted; use a decimal")
    text = _text(raw, "a decimal number")
    if _DEC_RE.match(text):
        try:
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - the regex admits only valid text
            pass
    hint = _number_hint(text)
    raise ValueProblem("PK105" if hint else "PK104",
                       f"found {describe(raw)}, expected a decimal number", hint)


def parse_percent(raw: Any) -> Decimal:
    """A percent, written ``3.25`` or ``"3.25%"``; the value is in percent units (3.25)."""
    if isinstance(raw, str) and raw.strip().endswith("%"):
        return parse_decimal(Plain(raw.strip()[:-1].strip()))
    return parse_decimal(raw)


def parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, Plain):
        if raw == "true":
            return True
        if raw == "false":
            return False
        if raw in _YAML11_BOOLS:
            want = "true" if raw.lower() in ("y", "yes", "on", "true") else "false"
            raise ValueProblem("PK105", f"'{raw}' is not a boolean here", f"write {want}")
    raise ValueProblem("PK104", f"found {describe(raw)}, expected true or false")


def parse_date(raw: Any) -> dt.date:
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    text = _text(raw, "a date (YYYY-MM-DD)")
    if _DATE_RE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError as exc:
            raise ValueProblem("PK108", f"'{text}' is not a calendar date: {exc}") from None
    raise ValueProblem("PK104", f"found {describe(raw)}, expected a date (YYYY-MM-DD)")


_RELEASE_OFFSET_RE = re.compile(r"T(?:\+([0-9]{1,2}))?")


def release_offset(raw: Any) -> int | None:
    """``T`` -> 0 and ``T+n`` -> n business days after the release date; None for anything else."""
    if not isinstance(raw, str):
        return None
    m = _RELEASE_OFFSET_RE.fullmatch(raw.strip())
    return None if m is None else int(m.group(1) or 0)


def parse_duration(raw: Any) -> Duration:
    if isinstance(raw, Duration):
        return raw
    text = _text(raw, "an ISO 8601 duration")
    m = _DURATION_RE.match(text)
    if not m:
        raise ValueProblem("PK108", f"'{text}' is not an ISO 8601 duration",
                           "write e.g. PT24H (24 hours), P14D (14 days), P3M (3 months)")
    parts: dict[str, Any] = {k: int(v) for k, v in m.groupdict().items() if v is not None and k != "seconds"}
    if m.group("seconds") is not None:
        parts["seconds"] = Decimal(m.group("seconds"))
    return Duration(text, **parts)


def parse_money(raw: Any, currency: str | None) -> Money:
    """Money: a number in the declared currency, ``"5000.00 CNY"``, or ``{amount, currency}``."""
    if isinstance(raw, Money):
        return raw
    if isinstance(raw, dict):
        extra = set(raw) - {"amount", "currency"}
        if extra or "amount" not in raw:
            raise ValueProblem("PK104", "money is written {amount: 5000.00, currency: CNY}")
        cur = raw.get("currency") or currency
        return _money(parse_decimal(raw["amount"]), cur)
    if isinstance(raw, str):
        parts = raw.split()
        if len(parts) == 2 and re.fullmatch(r"[A-Z]{3}", parts[1]):
            return _money(parse_decimal(Plain(parts[0])), parts[1])
    return _money(parse_decimal(raw), currency)


def _money(amount: Decimal, currency: Any) -> Money:
    if not isinstance(currency, str) or currency not in CURRENCY_MINOR_UNITS:
        raise ValueProblem("PK108", f"unknown or missing currency {describe(currency)}",
                           "declare the currency (ISO 4217, e.g. CNY) on the parameter")
    exponent = amount.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places > CURRENCY_MINOR_UNITS[currency]:
        raise ValueProblem("PK111", f"{amount} {currency} has {places} decimal places; "
                           f"{currency} has {CURRENCY_MINOR_UNITS[currency]}")
    return Money(amount, currency)
