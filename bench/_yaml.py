"""A small, deterministic YAML writer in the house style of the repo's catalogue.

Block mappings, steps as block sequences of mappings, short leaves in flow style
(``{zh-CN: ..., en: ...}``, ``[mobile, web]``). Strings are plain when that cannot change their
meaning and double-quoted (JSON escapes, valid YAML) otherwise; numbers are written from
``int``/``Decimal`` exactly as given, never through floats.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

__all__ = ["Raw", "dump"]


class Raw(str):
    """Text written as is (a number, a version, a duration the caller formatted)."""

    __slots__ = ()


_FIRST = re.compile(r"[A-Za-z0-9\u4e00-\u9fff\uff08]")
_RESERVED = re.compile(r"^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|"
                       r"on|On|ON|off|Off|OFF|[-+]?[0-9][0-9_.:eE+-]*)$")
_FLOW_WIDTH = 100


def _scalar(value: Any, flow: bool) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if value is None:
        return "null"
    text = str(value)
    return text if _plain_ok(text, flow) else json.dumps(text, ensure_ascii=False)


def _plain_ok(text: str, flow: bool) -> bool:
    """True when ``text`` reads back unchanged as a plain scalar."""
    if not text or not _FIRST.match(text) or _RESERVED.match(text) or text != text.strip():
        return False
    if ": " in text or " #" in text or text.endswith(":") or "\n" in text or "\t" in text or "  " in text:
        return False
    return not (flow and any(c in text for c in ",[]{}"))


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _flow(value: Any) -> str | None:
    """The flow form of a small leaf collection, or None when it should be a block."""
    if isinstance(value, dict):
        parts = []
        for k, v in value.items():
            inner = _scalar(v, True) if _is_scalar(v) else _flow(v)
            if inner is None:
                return None
            parts.append(f"{_scalar(k, True)}: {inner}")
        text = "{" + ", ".join(parts) + "}"
    elif isinstance(value, list):
        items = []
        for v in value:
            inner = _scalar(v, True) if _is_scalar(v) else _flow(v)
            if inner is None:
                return None
            items.append(inner)
        text = "[" + ", ".join(items) + "]"
    else:
        return _scalar(value, True)
    return text if len(text) <= _FLOW_WIDTH else None


def _inline(value: Any, force_block: bool) -> str | None:
    if _is_scalar(value):
        return _scalar(value, False)
    if not value:
        return "{}" if isinstance(value, dict) else "[]"
    if force_block:
        return None
    return _flow(value)


def _mapping(data: dict[str, Any], indent: int, out: list[str], depth: int) -> None:
    pad = " " * indent
    for key, value in data.items():
        # Top-level sections and lists of mappings always read better as blocks.
        force = depth == 0 and isinstance(value, dict | list) and key not in (
            "title", "name", "channels", "tags", "effective", "requires", "provides", "errors",
            "retry", "wait", "assignment", "deprecated", "conflicts_with", "shows", "compensation")
        force |= isinstance(value, list) and any(isinstance(v, dict) for v in value) and key != "errors"
        inline = _inline(value, force)
        if inline is not None:
            out.append(f"{pad}{_scalar(key, False)}: {inline}")
            continue
        out.append(f"{pad}{_scalar(key, False)}:")
        if isinstance(value, dict):
            _mapping(value, indent + 2, out, depth + 1)
        else:
            _sequence(value, indent + 2, out, depth + 1)


def _sequence(items: list[Any], indent: int, out: list[str], depth: int) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, dict) and item:
            sub: list[str] = []
            _mapping(item, indent + 2, sub, depth + 1)
            sub[0] = pad + "- " + sub[0][indent + 2:]
            out.extend(sub)
        else:
            inline = _inline(item, False)
            if inline is None:
                raise ValueError(f"cannot write {item!r} in a sequence")
            out.append(f"{pad}- {inline}")


def dump(doc: dict[str, Any]) -> str:
    """The YAML text of one document (a mapping)."""
    out: list[str] = []
    _mapping(doc, 0, out, 0)
    return "\n".join(out) + "\n"
