"""Scenario files, the data of a run: results, step records and scenario values typed as a
channel would send them."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import ir
from .diagnostics import Diagnostic, Location
from .loader import Plain
from .types import get

__all__ = ["Record", "ScenarioResult", "norm", "sample_value", "typed", "values_of"]


@dataclass(frozen=True, slots=True)
class Record:
    """One step record of a run, as coverage and per-step expectations read it."""

    step_id: str
    kind: str
    status: str
    detail: str = ""
    outputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ScenarioResult:
    """What running one scenario gave, and the problems found comparing it with the expectation."""

    file: str
    product: str
    scenario: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    outcome: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    compensated: list[str] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)
    refused: bool = False  # not eligible: rejected at the start, before any step ran
    channel: str = ""
    version: str = ""
    location: Location | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    message: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()


# ----------------------------------------------------------------- values


_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")


def typed(raw: Any, fd: ir.FieldDef | None) -> Any:
    """A scenario value as a channel would send it: JSON types, exact decimals as strings."""
    if isinstance(raw, dict):
        return {str(k): typed(v, None) for k, v in raw.items()}
    if isinstance(raw, list):
        return [typed(v, fd.items if fd else None) for v in raw]
    if raw is None or not isinstance(raw, str):
        return raw
    kind = fd.type if fd else None
    if isinstance(raw, Plain) and raw in ("true", "false") and kind in (None, "boolean"):
        return raw == "true"
    if kind == "integer" or (kind is None and isinstance(raw, Plain) and _INT.match(raw)):
        return int(raw) if _INT.match(raw) else str(raw)
    return str(raw)


def norm(value: Any) -> Any:
    """A value as text, for comparing what a run wrote with what a scenario expects."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int | float):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [norm(v) for v in value]
    if isinstance(value, dict):
        return {str(k): norm(v) for k, v in value.items()}
    return None if value is None else str(value)


def values_of(raw: Mapping[str, Any], defn: ir.WorkflowDefinition,
              fields: Mapping[str, ir.FieldDef] | None = None) -> dict[str, Any]:
    """Scenario values typed by the fields (or the product's data and context) they fill."""
    out = {}
    for path, value in raw.items():
        fd = (fields or {}).get(path) or defn.data.get(path) or defn.context.get(path)
        out[str(path)] = typed(value, fd)
    return out


def sample_value(fd: ir.FieldDef) -> Any:
    """A plausible value of a field: its default, its first allowed value, or its minimum."""
    if fd.default is not None:
        return fd.default
    if fd.values:
        return fd.values[0]
    kind = get(fd.type)
    return kind.example(fd) if kind is not None else "sample"
