"""The one table of value types: a name in a declaration -> everything about that type.

Adding a type is one module (a :class:`ValueType` subclass) and one line here.
"""

from __future__ import annotations

from ._base import ValueType
from .boolean import BooleanType
from .dates import DateType
from .decimal import DecimalType, PercentType
from .duration import DurationType
from .integer import IntegerType
from .list import ListType
from .money import MoneyType
from .table import TableType
from .text import EnumType, StringType
from .time import TimeType

__all__ = ["DECIMAL_TYPES", "TYPES", "TYPE_NAMES", "get", "of"]

TYPES: dict[str, ValueType] = {}
TYPES.update({t.name: t for t in (
    IntegerType(),
    DecimalType(),
    PercentType(),
    MoneyType(),
    StringType(),
    EnumType(),
    BooleanType(),
    DateType(),
    DurationType(),
    ListType(TYPES),
    TimeType(),
    TableType(TYPES),
)})

TYPE_NAMES: tuple[str, ...] = tuple(TYPES)
DECIMAL_TYPES: frozenset[str] = frozenset(name for name, t in TYPES.items() if t.decimal)


def get(kind: str | None) -> ValueType | None:
    """The type named ``kind`` (``list:integer`` names a list of integers), or None."""
    if kind is None:
        return None
    found = TYPES.get(kind)  # the usual case: a plain type's name
    if found is not None:
        return found
    if kind.startswith("list:"):
        return ListType(TYPES, get(kind[5:]), named=True)
    if kind.startswith("table:"):
        key, _, cell = kind[6:].partition(":")
        return TableType(TYPES, TYPES.get(key), TYPES.get(cell))
    return TYPES.get(kind)


def of(kind: str | None) -> ValueType:
    """The type named ``kind``; KeyError for a name no type has."""
    found = get(kind)
    if found is None:
        raise KeyError(kind)
    return found
