"""``money``: an exact amount in an ISO 4217 currency, never more places than the currency has."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from .. import ir
from ._base import Decl, FieldProblem, Plain, ValueProblem, describe, places
from .decimal import DecimalType, parse_decimal, read_decimal

__all__ = ["CURRENCY_MINOR_UNITS", "Money", "MoneyType", "parse_money"]

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
    if places(amount) > CURRENCY_MINOR_UNITS[currency]:
        raise ValueProblem("PK111", f"{amount} {currency} has {places(amount)} decimal places; "
                           f"{currency} has {CURRENCY_MINOR_UNITS[currency]}")
    return Money(amount, currency)


class MoneyType(DecimalType):
    name = "money"
    sample = "5000.00"
    sample_decl: ClassVar[Mapping[str, Any]] = {"currency": "CNY"}

    def parse(self, raw: Any, decl: Decl | None = None) -> Any:
        money = parse_money(raw, decl.currency if decl is not None else None)
        read_decimal(money.amount, None)
        return money

    def key(self, value: Any) -> Any:
        return value.amount

    def to_json(self, value: Any) -> Any:
        return str(value.amount)

    def feel_literal(self, value: Any) -> str:
        """A parsed amount (Money) or one read from a definition (its Decimal amount)."""
        return str(value.amount if isinstance(value, Money) else value)

    def own_decl_problems(self, decl: Decl) -> list[ValueProblem]:
        if decl.currency is not None and decl.currency not in CURRENCY_MINOR_UNITS:
            return [ValueProblem("PK108", f"unknown currency '{decl.currency}'",
                                 "use an ISO 4217 code such as CNY", field="currency")]
        return []

    def coerce(self, fd: ir.FieldDef, raw: object) -> Decimal:
        return super().coerce(fd, _amount(fd, raw))

    def allowed_places(self, fd: ir.FieldDef) -> int | None:
        if fd.scale is None and fd.currency in CURRENCY_MINOR_UNITS:
            return CURRENCY_MINOR_UNITS[fd.currency]
        return fd.scale


def _amount(fd: ir.FieldDef, raw: object) -> object:
    """The amount of submitted money: a number, ``"5000.00 CNY"``, ``{amount, currency}``."""
    amount: object = raw
    currency: object = None
    if isinstance(raw, Money):
        amount, currency = raw.amount, raw.currency
    elif isinstance(raw, Mapping) and "amount" in raw:
        amount, currency = raw["amount"], raw.get("currency")
    elif isinstance(raw, str) and re.fullmatch(r"\S+ [A-Z]{3}", raw.strip()):
        amount, currency = raw.strip().split(" ")
    if currency is not None and fd.currency is not None and currency != fd.currency:
        raise FieldProblem("currency", f"amount is in {currency}, expected {fd.currency}")
    return amount
