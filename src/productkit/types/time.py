"""``time``: a time of day ``HH:MM`` (24-hour clock), e.g. a cut-off time ``15:30``.

Values are kept as their canonical text (two digits each), so text order is time order: CEL
compares them as strings, FEEL receives them as strings, forms check them with a pattern.
Unquoted ``15:30`` is fine in YAML here (YAML 1.1 would read it as the base-60 number 930).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from .. import ir
from ._base import Decl, FieldProblem, ValueProblem, ValueType, runtime_bounds
from ._read import text_of
from ._regex import fixed_range

__all__ = ["TimeType", "parse_time"]

_TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_LOOSE_RE = re.compile(r"^([0-9]{1,2}):([0-9]{1,2})(:[0-9]{2})?$")


def parse_time(raw: Any) -> str:
    """A time of day ``HH:MM`` from source text."""
    text = text_of(raw, "a time of day (HH:MM)")
    if _TIME_RE.match(text):
        return text
    loose = _LOOSE_RE.match(text)
    hint = "write HH:MM on a 24-hour clock, from 00:00 to 23:59"
    if loose and int(loose.group(1)) < 24 and int(loose.group(2)) < 60 and not loose.group(3):
        hint = f"write {int(loose.group(1)):02d}:{int(loose.group(2)):02d}"
    raise ValueProblem("PK108", f"'{text}' is not a time of day (HH:MM)", hint)


class TimeType(ValueType):
    name = "time"
    cel = "string"
    bounded = ("min", "max")
    sample = "15:30"

    @property
    def expr_kind(self) -> str:
        return "string"

    def parse(self, raw: Any, decl: Decl | None = None) -> str:
        return parse_time(raw)

    def own_decl_problems(self, decl: Decl) -> list[ValueProblem]:
        if decl.step is not None:
            return [ValueProblem("PK109", "a time of day has no step; declare min and max",
                                 field="step")]
        return []

    def json_schema(self, fd: ir.FieldDef) -> dict[str, Any]:
        if fd.min is None and fd.max is None:
            return {"type": "string", "pattern": _TIME_RE.pattern}
        within = fixed_range(fd.min or "00:00", fd.max or "23:59")
        return {"type": "string", "pattern": "^(?=" + within + "$)" + _TIME_RE.pattern.removeprefix("^")}

    def coerce(self, fd: ir.FieldDef, raw: object) -> str:
        if isinstance(raw, dt.time) and not raw.second and not raw.microsecond:
            return raw.strftime("%H:%M")
        if isinstance(raw, str) and _TIME_RE.match(raw.strip()):
            return raw.strip()
        raise FieldProblem("type", f"{raw!r} is not a time of day (HH:MM)")

    def check(self, fd: ir.FieldDef, value: Any) -> list[FieldProblem]:
        return runtime_bounds(fd, value, str)

    def example(self, fd: ir.FieldDef) -> Any:
        return fd.min if fd.min is not None else "09:00"
