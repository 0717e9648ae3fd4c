"""Exact scalar values read from YAML source text: integers, decimals, money, dates, durations.

The readers live with their value types in :mod:`productkit.types`; this module keeps the
names the build side has always used. Every parser takes the text the loader kept (plain or
quoted) and either returns a typed value or raises :class:`ValueProblem` with a stable code
and a hint saying how to write it. Nothing goes through a binary float.
"""

from __future__ import annotations

import re
from typing import Any

from .types import (
    CURRENCY_MINOR_UNITS,
    Duration,
    Money,
    ValueProblem,
    describe,
    parse_bool,
    parse_date,
    parse_decimal,
    parse_duration,
    parse_int,
    parse_money,
    parse_percent,
)

__all__ = [
    "CURRENCY_MINOR_UNITS",
    "Duration",
    "Money",
    "ValueProblem",
    "describe",
    "parse_bool",
    "parse_date",
    "parse_decimal",
    "parse_duration",
    "parse_int",
    "parse_money",
    "parse_percent",
    "release_offset",
]

_RELEASE_OFFSET_RE = re.compile(r"T(?:\+([0-9]{1,2}))?")


def release_offset(raw: Any) -> int | None:
    """``T`` -> 0 and ``T+n`` -> n business days after the release date; None for anything else."""
    if not isinstance(raw, str):
        return None
    m = _RELEASE_OFFSET_RE.fullmatch(raw.strip())
    return None if m is None else int(m.group(1) or 0)
