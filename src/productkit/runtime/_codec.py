"""JSON that keeps exact values: Decimal, date and datetime survive a round trip through a store.

Writing goes through orjson (the store writes the whole state at every step); what orjson cannot
write (a whole number beyond 64 bits, a key that is not text) is written by the standard
library's encoder, which reads back the same. Both write sorted keys, no spaces, and text as it
is; numbers may be spelled differently (``1e-07`` and ``1e-7``) but read back equal.

NaN and the infinities (float or Decimal) are refused with a ValueError: JSON has no spelling
for them (orjson would write null, which reads back as a different value)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson

__all__ = ["TAGS", "decode", "encode", "from_micros", "micros", "tagged"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return {"$decimal": _decimal_text(value)}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"cannot store a value of type {type(value).__name__}: {value!r}")


_TAGS: dict[str, Any] = {"$decimal": Decimal, "$date": dt.date.fromisoformat,
                         "$datetime": dt.datetime.fromisoformat}
TAGS = frozenset(_TAGS)


def _hook(obj: dict[str, Any]) -> object:
    if len(obj) == 1:
        [(tag, text)] = obj.items()
        read = _TAGS.get(tag)
        if read is not None and isinstance(text, str):
            try:
                return read(text)
            except (ValueError, ArithmeticError):
                pass  # not one of ours (stored before entries were checked): keep it as it was
    return obj


_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _orjson_default(value: object) -> object:
    kind = type(value)
    if kind is dt.datetime:  # the commonest by far: every state and record has a few
        return {"$datetime": _datetime_text(value)}  # type: ignore[arg-type]
    if kind is Decimal:
        return {"$decimal": _decimal_text(value)}  # type: ignore[arg-type]
    if isinstance(value, str):  # a str subclass (a StrEnum): written as its text
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return _default(value)


def tagged(moment: dt.datetime) -> object:
    """A datetime as :func:`encode` writes it, made before the encoding: rows written at every
    step carry a few, and orjson calls back into Python for each one it meets. The last one made
    is kept: the records of one decision share its time (the tag is only read)."""
    global _last_tag
    last = _last_tag
    if last[0] is moment:
        return last[1]
    if type(moment) is not dt.datetime:
        return moment
    tag = {"$datetime": _datetime_text(moment)}
    _last_tag = (moment, tag)
    return tag


_last_tag: tuple[object, object] = (None, None)


def _datetime_text(moment: dt.datetime) -> str:
    """``moment.isoformat()`` of a datetime (not a subclass), written by orjson when it writes
    the same: with no zone or a fixed offset of whole minutes (the engine's clock gives one),
    in about a fifth of the instructions (isoformat formats through C's printf). Other offsets,
    which orjson rounds to the minute, and other zones go through isoformat."""
    zone = moment.tzinfo
    if zone is None or (type(zone) is dt.timezone and (_minutes.get(zone) or _whole_minutes(zone))):
        return _dumps(moment)[1:-1].decode()
    return moment.isoformat()


_dumps = orjson.dumps
_minutes: dict[dt.timezone, bool] = {}  # fixed offsets (equal when their offsets are) -> whole minutes


def _whole_minutes(zone: dt.timezone) -> bool:
    whole = zone.utcoffset(None) % dt.timedelta(minutes=1) == dt.timedelta(0)
    _minutes[zone] = whole
    return whole


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot store the number {value}: not finite")
    return str(value)


def encode(value: object, floats: tuple[object, ...] | None = None, nulls: int = 0,
           nones: tuple[Mapping[str, object], ...] = ()) -> str:
    """``value`` as JSON text; ValueError for NaN or an infinity, TypeError for what is no data.

    ``floats``: the parts of ``value`` that may hold a float, when the caller knows the rest
    holds none (its types say so); only they are searched for a NaN or an infinity. ``nulls``:
    how many Nones ``value`` holds for certain, and ``nones``: mappings of ``value`` whose
    None values it holds too, counted only when the text has more nulls than ``nulls`` (most
    rows have none there). Each None is written as one ``null``, so text with no more of them
    than that has no float written as null and is not searched at all (text or keys that spell
    "null" only make it search)."""
    try:
        out = orjson.dumps(value, default=_orjson_default, option=_OPTIONS)
    except (orjson.JSONEncodeError, TypeError) as exc:
        if isinstance(exc.__cause__, ValueError):  # a Decimal NaN or infinity, from the default
            raise exc.__cause__ from None
        return _json_encode(value)  # what orjson cannot write, or the same TypeError again
    written = out.count(b"null")  # orjson writes NaN as null: tell it from None (one scan)
    if written > nulls and written > nulls + sum([_nones(values) for values in nones]):
        _finite(value if floats is None else floats)
    return out.decode("utf-8")


def _nones(values: Mapping[str, object]) -> int:
    """How many of ``values`` are None (each is written as one ``null``)."""
    if not values:
        return 0
    return len([v for v in values.values() if v is None])  # "is": == would ask each value


def _json_encode(value: object) -> str:
    return json.dumps(value, default=_default, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False)


_LEAVES = frozenset({str, int, bool, type(None), Decimal, dt.datetime, dt.date})
_CONTAINERS = frozenset({dict, list, tuple})


def _finite(value: object) -> None:
    """ValueError if a float in ``value`` (nested in dicts, lists, tuples, sets) is not finite.

    A loop over a stack, not a call per value: it runs on every state written."""
    stack: list[Any] = [(value,)]
    while stack:
        node = stack.pop()
        for item in node.values() if isinstance(node, dict) else node:
            kind = type(item)
            if kind in _LEAVES:
                continue
            if kind in _CONTAINERS or isinstance(item, dict | list | tuple | set | frozenset):
                stack.append(item)
            elif isinstance(item, float) and item - item != 0.0:  # NaN, or inf - inf: NaN
                raise ValueError(f"cannot store the number {item}: not finite")


def decode(text: str) -> Any:
    return json.loads(text, object_hook=_hook)


def micros(moment: dt.datetime) -> int:
    """Microseconds since the epoch: an exact, sortable integer for due times."""
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


def from_micros(value: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=value)
