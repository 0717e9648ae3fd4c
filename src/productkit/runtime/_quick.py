"""A compiled yes/no check of a form's JSON Schema (jsonschema-rs), asked before the full
validator: a valid submission (the common case) never walks the schema in Python, an invalid
one is still described by the Python validator, so the errors are the same as without it.

Used only for schemas where the compiled check cannot accept what the Python validator refuses:
no ``multipleOf`` with a fractional divisor (the Python validator's float division refuses
0.3 as a multiple of 0.1) and no ``format`` outside those both check alike."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jsonschema_rs

__all__ = ["QuickCheck", "quick_check"]

QuickCheck = Callable[[object], bool]

# Formats the draft-07 Python checker tests no more strictly than jsonschema-rs does.
_SAME_FORMATS = frozenset({"date", "email", "duration"})


def quick_check(schema: Mapping[str, Any]) -> QuickCheck | None:
    """``is_valid`` of the compiled schema, or None where it could disagree (or not compile)."""
    if not _agrees(schema):
        return None
    try:
        if "$schema" in schema:
            compiled = jsonschema_rs.validator_for(dict(schema), validate_formats=True)
        else:  # draft-07, the forms target's dialect and the Python validator's default
            compiled = jsonschema_rs.Draft7Validator(dict(schema), validate_formats=True)
    except Exception:  # a schema it cannot compile: the Python validator alone, as before
        return None
    is_valid: Callable[[object], bool] = compiled.is_valid

    def check(instance: object) -> bool:
        try:
            return is_valid(instance)
        except (ValueError, TypeError, OverflowError):  # e.g. a number beyond 64 bits
            return False  # let the Python validator say what it finds

    return check


def _agrees(node: object) -> bool:
    if isinstance(node, list):
        return all(_agrees(n) for n in node)
    if not isinstance(node, Mapping):
        return True
    step = node.get("multipleOf")
    if step is not None and (not isinstance(step, int) or isinstance(step, bool)):
        return False
    fmt = node.get("format")
    if isinstance(fmt, str) and fmt not in _SAME_FORMATS:
        return False
    return all(_agrees(v) for v in node.values())
