"""``table``: rows that map a key to a value, e.g. a credit-score band to an annual rate.

Declared ``{type: table, key: <declaration>, cell: <declaration>}``. An ordered key (integer,
decimal, percent, money, date) is matched by bands, ``- {from: 300, to: 600, value: 6.5}``:
``from`` inclusive, ``to`` exclusive, the first row may omit ``from`` and the last ``to``; bands
follow each other without gap or overlap. An enum key has one row per value,
``- {key: gold, value: 1.2}``. Expressions read a table with ``lookup(table, key)`` and
``covers(table, key)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .. import ir
from ._base import Decl, FieldProblem, ValueProblem, ValueType, describe

__all__ = ["ORDERED_KEYS", "Row", "Table", "TableType"]

ORDERED_KEYS = ("integer", "decimal", "percent", "money", "date")
CELL_TYPES = ("integer", "decimal", "percent", "money", "string", "enum", "boolean", "date")


@dataclass(frozen=True, slots=True)
class Row:
    """One row: a band ``low <= key < high`` (None: open) or an enum ``key``, and its value."""

    value: Any
    low: Any = None
    high: Any = None
    key: Any = None


@dataclass(frozen=True, slots=True)
class Table:
    """A table's rows as written (bands in key order once checked)."""

    rows: tuple[Row, ...]
    keyed: bool  # an enum key: rows by ``key``, not by band

    def __str__(self) -> str:
        def show(r: Row) -> str:
            if self.keyed:
                return f"{r.key}: {r.value}"
            return f"{'' if r.low is None else r.low}..{'' if r.high is None else r.high}: {r.value}"

        return "[" + "; ".join(show(r) for r in self.rows) + "]"


def _decls(decl: Decl | None) -> tuple[Decl | None, Decl | None]:
    return getattr(decl, "key", None), getattr(decl, "cell", None)


class TableType(ValueType):
    """Tables; ``key_type`` and ``cell_type`` are known when named ``table:<key>:<cell>``."""

    name = "table"
    derivable = False
    data = False  # a table is a parameter: a product's constant, never sent or stored as data
    sample: Any = ({"to": "600", "value": "7.25"}, {"from": "600", "value": "5.5"})
    sample_decl: ClassVar[Mapping[str, Any]] = {"key": {"type": "integer"}, "cell": {"type": "percent"}}

    def __init__(self, registry: Mapping[str, ValueType], key_type: ValueType | None = None,
                 cell_type: ValueType | None = None) -> None:
        self.registry, self.key_type, self.cell_type = registry, key_type, cell_type

    @property
    def cel(self) -> str:  # type: ignore[override]
        """``table:<key cel>:<cell cel>`` when both types are known, dyn otherwise."""
        if self.key_type is None or self.cell_type is None:
            return "dyn"
        return f"table:{self.key_type.cel}:{self.cell_type.cel}"

    def _types(self, decl: Decl | None) -> tuple[ValueType, ValueType]:
        key, cell = _decls(decl)
        kt = self.registry.get(key.type or "") if key is not None else self.key_type
        ct = self.registry.get(cell.type or "") if cell is not None else self.cell_type
        if kt is None or ct is None or kt.name not in (*ORDERED_KEYS, "enum"):
            raise ValueProblem("PK114", "a table declares its key (an ordered type or an enum) and cell types",
                               "write {type: table, key: {type: integer}, cell: {type: percent}}")
        return kt, ct

    # ------------------------------------------------------------ source text

    def parse(self, raw: Any, decl: Decl | None = None) -> Table:
        if not isinstance(raw, list) or not raw:
            raise ValueProblem("PK104", f"found {describe(raw)}, expected a list of rows")
        kt, ct = self._types(decl)
        key, cell = _decls(decl)
        keyed = kt.name == "enum"
        rows = tuple(self._row(i, r, kt, ct, key, cell, keyed) for i, r in enumerate(raw))
        return Table(rows, keyed)

    @staticmethod
    def _row(i: int, raw: Any, kt: ValueType, ct: ValueType, key: Decl | None, cell: Decl | None,
             keyed: bool) -> Row:
        want = ("key", "value") if keyed else ("from", "to", "value")
        if not isinstance(raw, dict) or "value" not in raw or set(raw) - set(want) \
                or (keyed and "key" not in raw):
            shape = "{key: ..., value: ...}" if keyed else "{from: ..., to: ..., value: ...}"
            raise ValueProblem("PK116", f"row {i + 1}: found {describe(raw)} with keys "
                               f"{sorted(raw) if isinstance(raw, dict) else []}, expected {shape}", where=(i,))
        try:
            value = ct.parse(raw["value"], cell)
            if keyed:
                return Row(value, key=kt.parse(raw["key"], key))
            low = kt.parse(raw["from"], key) if raw.get("from") is not None else None
            high = kt.parse(raw["to"], key) if raw.get("to") is not None else None
        except ValueProblem as exc:
            raise exc.at(None, f"row {i + 1}: ", (i,)) from None
        return Row(value, low=low, high=high)

    def own_decl_problems(self, decl: Decl) -> list[ValueProblem]:
        key, cell = _decls(decl)
        if key is None or cell is None or key.type is None or cell.type is None:
            return [ValueProblem("PK114", "a table declares its key and cell types",
                                 "write {type: table, key: {type: integer}, cell: {type: percent}}",
                                 field="key" if key is None or key.type is None else "cell")]
        out = []
        if key.type not in (*ORDERED_KEYS, "enum"):
            out.append(ValueProblem("PK114", f"a table's key is {key.type}, expected one of "
                                    + ", ".join((*ORDERED_KEYS, "enum")), field="key"))
        if cell.type not in CELL_TYPES:
            out.append(ValueProblem("PK114", f"a table's cell is {cell.type}, expected one of "
                                    + ", ".join(CELL_TYPES), field="cell"))
        out += [p.at("key", "key: ") for p in self.registry[key.type].check_decl(key)]
        out += [p.at("cell", "cell: ") for p in self.registry[cell.type].check_decl(cell)]
        return out

    def violations(self, decl: Decl, value: Any) -> list[ValueProblem]:
        kt, ct = self._types(decl)
        key, cell = _decls(decl)
        out: list[ValueProblem] = []
        for i, row in enumerate(value.rows):
            bounds = [("key", row.key), ("from", row.low), ("to", row.high)]
            out += [p.at(None, f"row {i + 1}: {name} ", (i, name)) for name, v in bounds
                    if v is not None and key is not None for p in kt.violations(key, v)]
            if cell is not None:
                out += [p.at(None, f"row {i + 1}: value ", (i, "value")) for p in ct.violations(cell, row.value)]
        return out + (_keyed_problems(value, key) if value.keyed else _band_problems(value, kt))

    def to_json(self, value: Any) -> Any:
        kt, ct = self.key_type or self.registry["string"], self.cell_type or self.registry["string"]
        rows = []
        for r in value.rows:
            if value.keyed:
                rows.append({"key": kt.to_json(r.key), "value": ct.to_json(r.value)})
            else:
                rows.append({"from": None if r.low is None else kt.to_json(r.low),
                             "to": None if r.high is None else kt.to_json(r.high),
                             "value": ct.to_json(r.value)})
        return rows

    # ------------------------------------------------------------ expressions

    def feel_literal(self, value: Any) -> str:
        """A list of contexts ``{low, high, value}`` (or ``{key, value}``) that FEEL filters."""
        kt, ct = self.key_type or self.registry["string"], self.cell_type or self.registry["string"]

        def lit(kind: ValueType, v: Any) -> str:
            return "null" if v is None else kind.feel_literal(v)

        if value.keyed:
            rows = [f"{{key: {lit(kt, r.key)}, value: {lit(ct, r.value)}}}" for r in value.rows]
        else:
            rows = [f"{{low: {lit(kt, r.low)}, high: {lit(kt, r.high)}, value: {lit(ct, r.value)}}}"
                    for r in value.rows]
        return "[" + ", ".join(rows) + "]"

    # ------------------------------------------------------------ run time

    def from_ir(self, raw: Any) -> Any:
        if not isinstance(raw, list):
            return raw
        kt, ct = self.key_type or self.registry["string"], self.cell_type or self.registry["string"]
        keyed = kt.name == "enum"

        def read(kind: ValueType, v: Any) -> Any:
            return None if v is None else kind.from_ir(v)

        if keyed:
            return Table(tuple(Row(read(ct, r["value"]), key=read(kt, r["key"])) for r in raw), True)
        return Table(tuple(Row(read(ct, r["value"]), low=read(kt, r.get("from")), high=read(kt, r.get("to")))
                           for r in raw), False)

    def coerce(self, fd: ir.FieldDef, raw: object) -> Any:
        raise FieldProblem("type", "a table is a parameter, never submitted")

    def example(self, fd: ir.FieldDef) -> Any:
        return []


def _band_problems(table: Table, kt: ValueType) -> list[ValueProblem]:
    """PK115: bands in key order that leave no gap and do not overlap; open ends only first/last."""
    out: list[ValueProblem] = []
    rows = table.rows
    for i, row in enumerate(rows):
        where = f"row {i + 1}"
        if row.low is not None and row.high is not None and kt.key(row.low) >= kt.key(row.high):
            out.append(ValueProblem("PK115", f"{where}: from {row.low} is not below to {row.high}", where=(i,)))
        if row.low is None and i > 0:
            out.append(ValueProblem("PK115", f"{where} has no 'from': only the first row may be open below",
                                    where=(i,)))
        if row.high is None and i < len(rows) - 1:
            out.append(ValueProblem("PK115", f"{where} has no 'to': only the last row may be open above",
                                    where=(i,)))
    for i, (a, b) in enumerate(itertools.pairwise(rows)):
        if a.high is None or b.low is None:
            continue
        if kt.key(b.low) < kt.key(a.high):
            out.append(ValueProblem("PK115", f"row {i + 2} (from {b.low}) overlaps row {i + 1} (to {a.high})",
                                    where=(i + 1, "from")))
        elif kt.key(b.low) > kt.key(a.high):
            out.append(ValueProblem("PK115", f"rows {i + 1} and {i + 2} leave a gap from {a.high} to {b.low}",
                                    where=(i + 1, "from")))
    return out


def _keyed_problems(table: Table, key: Decl | None) -> list[ValueProblem]:
    """PK115: an enum-keyed table has exactly one row per value of the enum."""
    out: list[ValueProblem] = []
    seen: set[Any] = set()
    for i, row in enumerate(table.rows):
        if row.key in seen:
            out.append(ValueProblem("PK115", f"row {i + 1} repeats the key '{row.key}'", where=(i, "key")))
        seen.add(row.key)
    values = [str(v) for v in (key.values or [])] if key is not None else []
    missing = [v for v in values if v not in seen]
    if missing:
        out.append(ValueProblem("PK115", "no row for " + ", ".join(f"'{v}'" for v in missing),
                                "an enum-keyed table has one row per value"))
    return out
