"""``list``: a sequence of values of one declared item type (``items``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .. import ir
from ._base import Decl, FieldProblem, ValueProblem, ValueType, describe, field_schema, untyped

__all__ = ["ListType"]


class ListType(ValueType):
    """Lists; ``item`` is the element type when known from a type name like ``list:integer``,
    else the declaration's ``items`` says (looked up in ``registry``)."""

    name = "list"
    derivable = False
    sample: Any = ("1", "2")
    sample_decl: ClassVar[Mapping[str, Any]] = {"items": {"type": "integer"}}

    def __init__(self, registry: Mapping[str, ValueType], item: ValueType | None = None,
                 named: bool = False) -> None:
        self.registry, self.item, self.named = registry, item, named

    @property
    def cel(self) -> str:  # type: ignore[override]
        """``list:<item>`` for a list named with its items, dyn for a bare ``list``."""
        if not self.named:
            return "dyn"
        return "list:" + (self.item.cel if self.item is not None else "dyn")

    def item_type(self, items: Decl | ir.FieldDef | None) -> ValueType:
        """The element type: the declared ``items``, else ``item``, else string."""
        if items is not None:
            if items.type is None:
                raise ValueProblem("PK102", "the declaration has no type", "add type: or ref: to the declaration")
            return self.registry[items.type]
        return self.item or self.registry["string"]

    def parse(self, raw: Any, decl: Decl | None = None) -> tuple[Any, ...]:
        if not isinstance(raw, list):
            raise ValueProblem("PK104", f"found {describe(raw)}, expected a list")
        items = decl.items if decl is not None else None
        kind = self.item_type(items)
        return tuple(_element(kind, x, items) for x in raw)

    def own_decl_problems(self, decl: Decl) -> list[ValueProblem]:
        if decl.items is None or decl.items.type is None:
            return untyped(decl.items) if decl.items is not None else []
        return self.registry[decl.items.type].check_decl(decl.items)

    def violations(self, decl: Decl, value: Any) -> list[ValueProblem]:
        out: list[ValueProblem] = []
        if decl.min_items is not None and len(value) < decl.min_items:
            out.append(ValueProblem("PK111", f"the list has {len(value)} items, fewer than {decl.min_items}",
                                    field="min_items"))
        if decl.max_items is not None and len(value) > decl.max_items:
            out.append(ValueProblem("PK111", f"the list has {len(value)} items, more than {decl.max_items}",
                                    field="max_items"))
        items = decl.items
        kind = self.item_type(items)
        for x in value:
            out.extend(kind.violations(items, x) if items is not None else [])
        return out

    def to_json(self, value: Any) -> Any:
        kind = self.item or self.registry["string"]
        return [kind.to_json(x) for x in value]

    def feel_literal(self, value: Any) -> str:
        kind = self.item or self.registry["string"]
        return "[" + ", ".join(kind.feel_literal(x) for x in value) + "]"

    def json_schema(self, fd: ir.FieldDef) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
        if fd.items is not None:
            kind = self.registry.get(fd.items.type) or self.registry["string"]
            out["items"] = field_schema(kind, fd.items)
        # The runtime reads a list's size bounds from min_length and max_length.
        if fd.min_length is not None:
            out["minItems"] = fd.min_length
        if fd.max_length is not None:
            out["maxItems"] = fd.max_length
        return out

    def from_ir(self, raw: Any) -> Any:
        return list(raw) if isinstance(raw, list) else raw

    def coerce(self, fd: ir.FieldDef, raw: object) -> list[Any]:
        if not isinstance(raw, list | tuple):
            raise FieldProblem("type", f"{raw!r} is not a list")
        if fd.items is None:
            return list(raw)
        kind = self.registry.get(fd.items.type)
        return [kind.coerce(fd.items, x) if kind is not None else x for x in raw]

    def encode(self, value: Any) -> Any:
        kind = self.item or self.registry["string"]
        return [kind.encode(x) for x in value]

    def decode(self, obj: Any) -> Any:
        kind = self.item or self.registry["string"]
        return [kind.decode(x) for x in obj]

    def example(self, fd: ir.FieldDef) -> Any:
        return []


def _element(kind: ValueType, raw: Any, items: Decl | None) -> Any:
    if raw is None:
        raise ValueProblem("PK104", "found nothing (null), expected a value")
    return kind.parse(raw, items)
