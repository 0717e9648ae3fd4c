"""CEL evaluated exactly: the part of productkit's expression language shared by the build
(constraint rules over parameters) and the runtime (conditions, rules and derived values).

An expression arrives checked (:mod:`productkit.expr`): its ``exec`` text has every decimal
literal scaled by 10^SCALE, and every decimal value is passed as an integer scaled the same way,
so ``+``, ``-`` and comparisons are exact integer operations; ``dec_mul``/``dec_div`` round half-even.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from cel_expr_python import cel

from . import _celfast
from .ir import Condition
from .types import SCALE, Duration, Money, get
from .types.table import Table

__all__ = ["FACTOR", "ExprError", "add_days", "add_months", "cel_type", "days_between", "evaluate", "functions"]

FACTOR = 10**SCALE

class ExprError(Exception):
    """An expression could not be evaluated (a missing value, an overflow, a bad argument)."""



_CEL_TYPES = {"int": "INT", "double": "DOUBLE", "string": "STRING", "bool": "BOOL",
              "timestamp": "TIMESTAMP", "duration": "DURATION"}


def cel_type(kind: str) -> Any:
    """The CEL type of a productkit type name (``list:integer`` included); dyn when unknown."""
    found = get(kind)
    return _cel_of(found.cel if found is not None else "dyn")


def _cel_of(name: str) -> Any:
    if name.startswith("list:"):
        return cel.Type.List(_cel_of(name[5:]))
    if name.startswith("table:"):
        key, _, value = name[6:].partition(":")
        return cel.Type.AbstractType("table", [_cel_of(key), _cel_of(value)])
    return getattr(cel.Type, _CEL_TYPES.get(name, "DYN"))


def functions(exec_mode: bool) -> list[Any]:
    t = cel.Type
    num = t.INT if exec_mode else t.DOUBLE

    def over(name: str, ret: Any, params: list[Any], impl: Any) -> Any:
        return cel.FunctionDecl(name, [cel.Overload(f"{name}_{len(params)}", ret, params, impl=impl)])

    return [
        over("dec_mul", num, [num, num], _dec_mul),
        over("dec_div", num, [num, num], _dec_div),
        over("dec", num, [t.INT], (lambda n: n * FACTOR) if exec_mode else float),
        over("date", t.TIMESTAMP, [t.STRING], _date_fn),
        over("days_between", t.INT, [t.TIMESTAMP, t.TIMESTAMP], days_between),
        over("add_days", t.TIMESTAMP, [t.TIMESTAMP, t.INT], add_days),
        over("add_months", t.TIMESTAMP, [t.TIMESTAMP, t.INT], add_months),
        *_table_functions(exec_mode),
    ]


_KEYS = ("int", "double", "string", "timestamp")  # CEL types of table keys, as checked
_CELLS = ("int", "double", "string", "bool", "timestamp")


def _table_functions(exec_mode: bool) -> list[Any]:
    """``lookup(table, key)`` and ``covers(table, key)``. Checked, a table is the abstract type
    ``table<K, V>``, so a key of another type or a result used as another type is a located
    type error. Executed, it is the list of its rows (see ``_runtime_value``)."""
    t = cel.Type
    if exec_mode:
        keys = [t.INT, t.STRING, t.TIMESTAMP]  # decimals run as scaled integers
        found = [cel.Overload(f"lookup_{k.name()}", t.DYN, [t.List(t.DYN), k], impl=_lookup) for k in keys]
        covers = [cel.Overload(f"covers_{k.name()}", t.BOOL, [t.List(t.DYN), k], impl=_covers) for k in keys]
        return [cel.FunctionDecl("lookup", found), cel.FunctionDecl("covers", covers)]
    found, covers = [], []
    for k in _KEYS:
        for v in _CELLS:
            table = _cel_of(f"table:{k}:{v}")
            found.append(cel.Overload(f"lookup_{k}_{v}", _cel_of(v), [table, _cel_of(k)]))
            covers.append(cel.Overload(f"covers_{k}_{v}", t.BOOL, [table, _cel_of(k)]))
    return [cel.FunctionDecl("lookup", found), cel.FunctionDecl("covers", covers)]


def _row_for(rows: list[Any], key: Any) -> Any:
    if isinstance(key, dt.datetime):
        key = key.date().isoformat()  # dates in rows are ISO text, which compares in date order
    for row in rows:
        if "key" in row:
            if row["key"] == key:
                return row
        elif (row["low"] is None or row["low"] <= key) and (row["high"] is None or key < row["high"]):
            return row
    return None


def _lookup(rows: list[Any], key: Any) -> Any:
    row = _row_for(rows, key)
    if row is None:
        name = rows[0]["table"] if rows else "?"
        shown = key.date().isoformat() if isinstance(key, dt.datetime) else key
        raise ExprError(f"no row of table '{name}' covers the key {shown}")
    if row.get("date"):
        return _date_fn(row["value"])
    return row["value"]


def _covers(rows: list[Any], key: Any) -> bool:
    return _row_for(rows, key) is not None


def days_between(a: dt.datetime, b: dt.datetime) -> int:
    """Whole days from ``a`` to ``b`` (negative when ``b`` is earlier)."""
    return (b.date() - a.date()).days


def add_days(d: dt.datetime, n: int) -> dt.datetime:
    return _midnight(d.date() + dt.timedelta(days=n))


def add_months(d: dt.datetime, n: int) -> dt.datetime:
    """``n`` calendar months later; a day the month lacks becomes its last day (Jan 31 + 1 = Feb 28)."""
    index = d.year * 12 + d.month - 1 + n
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise ExprError(f"add_months({d.date().isoformat()}, {n}) is outside the calendar")
    last = calendar.monthrange(year, month + 1)[1]
    return _midnight(dt.date(year, month + 1, min(d.day, last)))


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _dec_mul(a: int, b: int) -> int:
    return int((Decimal(a) * Decimal(b) / FACTOR).quantize(Decimal(1), ROUND_HALF_EVEN))


def _dec_div(a: int, b: int) -> int:
    if b == 0:
        raise ZeroDivisionError("dec_div by zero")
    return int((Decimal(a) * FACTOR / Decimal(b)).quantize(Decimal(1), ROUND_HALF_EVEN))


def _date_fn(text: str) -> dt.datetime:
    return _midnight(dt.date.fromisoformat(text))


@functools.lru_cache(maxsize=4096)
def _exec_program(text: str, kinds: tuple[tuple[str, str], ...]) -> Any:
    """``text`` compiled for values of these kinds, one variable per dotted name.

    Declared and checked, not left dynamic: the bindings accept timestamps and durations only
    for variables declared with those types (a date inside a nested map is refused).
    """
    variables = {name: cel_type(kind) for name, kind in kinds}
    return cel.NewEnv(variables=variables, functions=functions(True)).compile(text)



# ---------------------------------------------------------------- evaluation


def _scaled(name: str, value: Any) -> int:
    amount = value.amount if isinstance(value, Money) else Decimal(value)
    scaled = amount * FACTOR
    if scaled != scaled.to_integral_value():
        raise ExprError(f"{name} = {amount} has more than {SCALE} decimal places")
    return int(scaled)


def _runtime_value(name: str, value: Any, decimal: bool) -> Any:
    if decimal:
        return _scaled(name, value)
    if isinstance(value, Table):
        return [_runtime_row(name, row) for row in value.rows]
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, Duration):
        return value.to_timedelta()
    if isinstance(value, list | tuple):
        return [_runtime_value(name, v, False) for v in value]
    return value


def _runtime_row(name: str, row: Any) -> dict[str, Any]:
    """A table row as the executed program reads it: decimals scaled, dates as ISO text (the
    bindings refuse a timestamp inside a map; ``lookup`` turns a date cell back into one); the
    table's name travels with it for the message of a key no row covers."""
    def cell(v: Any) -> Any:
        if isinstance(v, Money | Decimal):
            return _scaled(name, v)
        if isinstance(v, dt.date):
            return v.isoformat()
        return v

    out = {"table": name, "value": cell(row.value), "date": isinstance(row.value, dt.date)}
    if row.key is not None:
        out["key"] = cell(row.key)
    else:
        out.update(low=cell(row.low), high=cell(row.high))
    return out


def _runtime_kind(value: Any) -> str:
    """The productkit type a run-time value is declared with in the executed program."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, list):
        return "list:" + (_runtime_kind(value[0]) if value else "dyn")
    return {int: "integer", str: "string", dt.datetime: "date", dt.timedelta: "duration"}.get(type(value), "dyn")


def evaluate(cond: Condition, env: Mapping[str, object]) -> object:
    """Evaluate a checked expression exactly; decimals come back as ``Decimal``."""
    if cond.type == "boolean":
        quick = _quick(cond, env)
        if quick is not None:
            return quick
    return _official(cond, env)


def _official(cond: Condition, env: Mapping[str, object]) -> object:
    """:func:`evaluate` by the official CEL evaluator alone."""
    decimals = set(cond.decimals)
    flat: dict[str, Any] = {}
    for name in cond.names:
        # Absent data reads as null, as in FEEL: `x == "hit"` is false; `x > 5` is an error.
        value = env.get(name)
        flat[name] = None if value is None else _runtime_value(name, value, name in decimals)
    try:
        kinds = tuple(sorted((name, _runtime_kind(value)) for name, value in flat.items()))
        result = _exec_program(cond.exec, kinds).eval(data=flat)
    except RuntimeError as exc:
        raise ExprError(str(exc)) from None
    if result.type().name() == "ERROR":
        raise ExprError(str(result.value()))
    value = result.value()
    if cond.type == "decimal" and isinstance(value, int):
        return Decimal(value) / FACTOR
    if isinstance(value, dt.datetime):
        return value.date()
    return value


# ---------------------------------------------------------------- the direct evaluator

_INT64 = 2**63
_QUICK_KINDS = {int: "integer", str: "string", bool: "boolean"}  # as _runtime_kind names them


def _quick(cond: Condition, env: Mapping[str, object]) -> bool | None:
    """A boolean condition's value from :mod:`productkit._celfast`, or None where it does not
    judge it (the official evaluator then does, and raises what it raises)."""
    values: dict[str, object] = {}
    types: list[type] = []
    decimals = cond.decimals
    for name in cond.names:
        value = env.get(name)
        if value is None:  # null: the official evaluator's semantics
            return None
        if decimals and name in decimals:
            try:
                value = _scaled(name, value)
            except Exception:  # its error, raised again by the official path
                return None
        kind = type(value)
        if kind is int:
            if not -_INT64 <= value < _INT64:  # type: ignore[operator]
                return None
        elif kind is not str and kind is not bool:
            return None
        values[name] = value
        types.append(kind)
    fast = _quick_program(cond.exec, tuple(cond.names), tuple(types))
    if fast is None:
        return None
    try:
        result = fast(values)
    except _celfast.Unsure:
        return None
    return result if type(result) is bool else None


@functools.lru_cache(maxsize=4096)
def _quick_program(text: str, names: tuple[str, ...], types: tuple[type, ...]) -> _celfast.Evaluator | None:
    """The direct evaluator of ``text`` for names holding values of ``types``, once the official
    checker accepted ``text`` for them (the program it compiles is the one the official
    evaluator would run); None when either declines."""
    fast = _celfast.evaluator(text, frozenset(names))
    if fast is None:
        return None
    try:
        _exec_program(text, tuple(sorted((n, _QUICK_KINDS[t]) for n, t in zip(names, types, strict=True))))
    except RuntimeError:
        return None
    return fast
