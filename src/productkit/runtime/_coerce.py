"""Values from outside (a start context, a submission, a handler's outputs) made safe to keep.

Everything the engine stores passes here first, so a hostile value is a :class:`Problem` (a
FieldError at the entry points), never a Python error later: not a number (NaN, infinities),
whole numbers too long to write, text with lone surrogates, data nested without end, and
mappings the store would read back as something else (``{"$date": ...}``).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Mapping
from decimal import Decimal

from ..ir import FieldDef
from ..types import Money
from ._codec import TAGS
from ._values import Problem, check, coerce

__all__ = ["MAX_DEPTH", "checked", "coerced", "owned", "owned_from", "payload_problem", "storable", "text_problem"]

MAX_DEPTH = 32  # nesting of a payload: far deeper than any form, far below the recursion limit
_MAX_INT_BITS = 13_000  # about 3,900 digits: writable (Python's limit is 4,300), far above any amount
_MAX_EXPONENT = 1_000  # decimal exponents beyond this are no amount either
_PLAIN = (str, bool, int, float, Decimal, dt.date, type(None))
_EXACT = frozenset({str, bool, int, float, Decimal, dt.date, dt.datetime, type(None)})  # no Mapping
_FROZEN = _EXACT | {Money}  # values nobody can change: kept and handed out as they are
_SCALARS = frozenset({str, bool, int, float, Decimal})  # the exact types of the scalars coerced() checks


def coerced(fd: FieldDef | None, raw: object) -> object:
    """``raw`` as a value of ``fd``'s type (as it is without a declaration), ready to store;
    Problem when it cannot be read as one, or could not be stored and read back as it is."""
    if type(raw) in _SCALARS or isinstance(raw, str | int | float | Decimal):
        _scalar(raw)  # before coercing: NaN, infinities and endless numbers trip the coercions
    value = raw
    if fd is not None:
        try:
            value = coerce(fd, raw)
        except Problem:
            raise
        except (ValueError, ArithmeticError, TypeError):
            raise Problem("type", f"{_show(raw)} cannot be read as {fd.type}") from None
    if value is raw and type(raw) in _EXACT:  # a plain value kept as it came: checked above
        return value
    storable(value)
    return value if type(value) in _FROZEN else copy.deepcopy(value)  # the sender may change its own


def owned(values: Mapping[str, object]) -> dict[str, object]:
    """``values`` as a dict of its own: a list or mapping among them is copied (deeply), so what
    the engine keeps and what it hands out (a view's data, a handler's inputs) change apart."""
    if _FROZEN.issuperset(map(type, values.values())):  # the usual data: asked without a Python loop
        return dict(values)
    return {k: v if type(v) in _FROZEN else copy.deepcopy(v) for k, v in values.items()}


def owned_from(data: Mapping[str, object], paths: Mapping[str, str]) -> dict[str, object]:
    """:func:`owned` of ``{key: data[path] for key, path in paths.items() if path in data}``, in
    one pass (a handler's inputs)."""
    return {key: v if type(v) in _FROZEN else copy.deepcopy(v)
            for key, path in paths.items() if path in data for v in (data[path],)}


def checked(fd: FieldDef, raw: object) -> tuple[object, list[Problem]]:
    """:func:`coerced`, and the problems of the declaration's exact checks (bounds, ...)."""
    value = coerced(fd, raw)
    try:
        return value, check(fd, value)
    except (ValueError, ArithmeticError, TypeError) as exc:
        return value, [Problem("type", f"{_show(value)} cannot be checked as {fd.type}: {exc}")]


def storable(value: object, depth: int = 0) -> None:
    """Problem unless ``value`` is data a store keeps exactly: text, booleans, finite numbers,
    dates, and lists and text-keyed mappings of those."""
    if depth > MAX_DEPTH:
        raise Problem("type", f"nested more than {MAX_DEPTH} levels deep")
    if type(value) in _EXACT:  # the common case, before the (slower) test for any Mapping
        _scalar(value)
    elif isinstance(value, Mapping):
        _mapping(value, depth)
    elif isinstance(value, list | tuple):
        for item in value:
            storable(item, depth + 1)
    elif not isinstance(value, _PLAIN):
        raise Problem("type", f"a {type(value).__name__} is not data (text, number, date, list, object)")
    else:
        _scalar(value)


def _mapping(value: Mapping[object, object], depth: int) -> None:
    if len(value) == 1 and next(iter(value)) in TAGS:
        raise Problem("type", f"an object with the single key {next(iter(value))!r} is not allowed")
    for key, item in value.items():
        if not isinstance(key, str):
            raise Problem("type", f"object keys are text, not {type(key).__name__}")
        _scalar(key)
        storable(item, depth + 1)


def _scalar(value: object) -> None:
    kind = type(value)  # the exact types first: one test each instead of the chain below
    if kind is str:
        if not value.isascii():  # type: ignore[attr-defined]
            _text(value)  # type: ignore[arg-type]
        return
    if kind is bool or (kind is int and value.bit_length() <= _MAX_INT_BITS):  # type: ignore[attr-defined]
        return
    if kind is Decimal and value.is_finite() and abs(value.adjusted()) <= _MAX_EXPONENT:  # type: ignore[attr-defined]
        return
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise Problem("type", problem)
    elif isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
        raise Problem("type", f"a whole number of {value.bit_length()} bits is too large")
    elif isinstance(value, float | Decimal) and not _finite(value):
        raise Problem("type", f"{value} is not a finite number")
    elif isinstance(value, Decimal) and abs(value.adjusted()) > _MAX_EXPONENT:
        raise Problem("type", f"a number with exponent {value.adjusted()} is out of range")


def _text(value: str) -> None:
    problem = text_problem(value)
    if problem:
        raise Problem("type", problem)


def _finite(value: float | Decimal) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (a lone surrogate is not Unicode text), or None."""
    if text.isascii():  # most text: no surrogate can be in it
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"text with the lone surrogate {text[exc.start]!r} at {exc.start} is not valid Unicode"
    return None


def payload_problem(payload: object) -> str | None:
    """Why a submission or start context is no object of fields, or None."""
    if type(payload) is not dict and not isinstance(payload, Mapping):
        return f"expected an object of fields, got {type(payload).__name__}"
    stack: list[tuple[Mapping[object, object], int]] = [(payload, 0)]
    while stack:  # without recursion: a payload nested without end must not exhaust the stack
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nested more than {MAX_DEPTH} levels deep"
        for v in node.values():
            if type(v) is dict or (type(v) not in _EXACT and isinstance(v, Mapping)):
                stack.append((v, depth + 1))
    return None


def _show(value: object) -> str:
    if isinstance(value, int) and value.bit_length() > 64:
        return f"a whole number of {value.bit_length()} bits"
    try:
        text = repr(value)
    except ValueError:  # a whole number too long to write, inside a container
        return f"a {type(value).__name__}"
    return text if len(text) <= 80 else text[:77] + "..."
