"""Stage 3, per step: the retry, timeout and staff assignment a step sets over its component's.

Each value is written in place or binds a product parameter with ``{param: NAME}`` (the shape a
step's ``with`` uses). A value is checked for its type and bounds where it is written, or, for a
binding, where the step binds it (PK411, naming the parameter). A setting on a step of the wrong
kind is PK412.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .diagnostics import Diagnostic, Location, Related
from .model import Assignment, ProcessComponent, Retry, TypeSpec
from .shape import did_you_mean
from .types import Duration, ValueProblem, parse_decimal, parse_duration, parse_int

__all__ = ["StepSettings", "step_settings"]

_MAX_ATTEMPTS = 100


@dataclass(frozen=True, slots=True)
class StepSettings:
    """What a step runs with: the component's settings with the step's over them."""

    retry: Retry | None = None
    timeout: Duration | None = None
    assignment: Assignment | None = None


@dataclass(frozen=True, slots=True)
class _Kind:
    """How one setting is read from YAML and checked: its parameter type and its bounds."""

    type: str
    parse: Callable[[Any], Any]
    check: Callable[[Any], str | None]


def _attempts(value: int) -> str | None:
    return None if 1 <= value <= _MAX_ATTEMPTS else f"{value} is outside 1..{_MAX_ATTEMPTS}"


def _span(value: Duration) -> str | None:
    if value.is_calendar:
        return f"{value.text} has years or months, whose length depends on the date"
    return None if value.fixed().total_seconds() > 0 else f"{value.text} is not longer than zero"


def _multiplier(value: Decimal) -> str | None:
    return None if 1 <= value <= 100 else f"{value} is outside 1..100"


def _groups(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list | tuple) or not all(isinstance(g, str) and g for g in raw):
        raise ValueProblem("PK104", "expected a list of staff group names")
    return tuple(str(g) for g in raw)


def _no_check(value: Any) -> str | None:
    return None


_KINDS = {
    "max_attempts": _Kind("integer", parse_int, _attempts),
    "backoff": _Kind("duration", parse_duration, _span),
    "max_backoff": _Kind("duration", parse_duration, _span),
    "multiplier": _Kind("decimal", parse_decimal, _multiplier),
    "timeout": _Kind("duration", parse_duration, _span),
    "due": _Kind("duration", parse_duration, _span),
    "candidate_groups": _Kind("list", _groups, _no_check),
}


class _Reader:
    """Reads the settings of one step, collecting located problems."""

    def __init__(self, loc: Callable[..., Location], params: dict[str, Any], out: list[Diagnostic]) -> None:
        self.loc, self.params, self.out = loc, params, out

    def value(self, name: str, raw: Any, *path: str) -> Any:
        """The setting's value, or None (reported) when it cannot be used."""
        kind, at = _KINDS[name], self.loc(*path)
        if isinstance(raw, dict):
            return self._bound(name, kind, raw, at, path)
        try:
            value = kind.parse(raw)
        except ValueProblem as exc:
            self.out.append(Diagnostic(exc.code, f"{name}: {exc.message}", at, hint=exc.hint))
            return None
        problem = kind.check(value)
        if problem is not None:
            self.out.append(Diagnostic("PK111", f"{name} = {problem}", at))
            return None
        return value

    def _bound(self, name: str, kind: _Kind, raw: dict[str, Any], at: Location, path: tuple[str, ...]) -> Any:
        if set(raw) != {"param"}:
            self.out.append(Diagnostic("PK104", f"{name}: found a mapping with {', '.join(sorted(map(str, raw)))}, "
                                       "expected a value or {param: NAME}", at))
            return None
        pname = str(raw["param"])
        param = self.params.get(pname)
        if param is None or param.value is None:
            self.out.append(Diagnostic("PK207", f"no product parameter '{pname}' with a value",
                                       self.loc(*path, "param"), hint=did_you_mean(pname, self.params)))
            return None
        related = tuple(Related(i.location, f"{pname} set here") for i in param.provenance[-1:])
        if param.schedule:
            self.out.append(Diagnostic("PK226", f"{name} binds parameter '{pname}', whose value changes with the "
                                       "application date (schedule:); a step's retries, time-out and assignment "
                                       "are fixed for the product version", self.loc(*path, "param"),
                                       related=(Related(param.schedule[0].at, "dated here"),)))
            return None
        ptype = _type(param.spec)
        if ptype != kind.type and not (kind.type == "list" and ptype == "list:string"):
            self.out.append(Diagnostic("PK411", f"{name} binds parameter '{pname}' of type {ptype}, "
                                       f"expected {'a list of text' if kind.type == 'list' else kind.type}",
                                       self.loc(*path, "param"), related=related))
            return None
        value = _groups(list(param.value)) if kind.type == "list" else param.value
        problem = kind.check(value)
        if problem is not None:
            self.out.append(Diagnostic("PK411", f"{name} binds parameter '{pname}' = {problem}",
                                       self.loc(*path, "param"), related=related))
            return None
        return value


def _type(spec: TypeSpec) -> str:
    if spec.type == "list":
        return "list:" + (_type(spec.items) if spec.items else "string")
    return spec.type or "string"


def step_settings(step: Any, comp: Any, loc: Callable[..., Location], params: dict[str, Any],
                  out: list[Diagnostic]) -> StepSettings:
    """The settings ``step`` runs with over component ``comp``; problems go to ``out``."""
    task = comp.task if isinstance(comp, ProcessComponent) else None
    base = StepSettings(comp.retry, comp.timeout, comp.assignment) if task else StepSettings()
    _misplaced(step, task, loc, out)
    if task is None:
        return base
    read = _Reader(loc, params, out)
    retry, timeout, assignment = base.retry, base.timeout, base.assignment
    if step.retry is not None and task == "service":
        retry = _retry(read, step.retry, retry)
    if step.timeout is not None and task == "service":
        timeout = read.value("timeout", step.timeout, "timeout") or timeout
    if step.assignment is not None and task == "manual":
        assignment = _assignment(read, step.assignment, assignment)
    return StepSettings(retry, timeout, assignment)


def _retry(read: _Reader, given: Any, base: Retry | None) -> Retry:
    update: dict[str, Any] = {}
    for name in ("max_attempts", "backoff", "multiplier", "max_backoff"):
        raw = getattr(given, name)
        if raw is not None and (value := read.value(name, raw, "retry", name)) is not None:
            update[name] = value
    return (base or Retry(max_attempts=1)).model_copy(update=update)  # no component retry: one attempt


def _assignment(read: _Reader, given: Any, base: Assignment | None) -> Assignment:
    update: dict[str, Any] = {}
    for name in ("candidate_groups", "due"):
        raw = getattr(given, name)
        if raw is not None and (value := read.value(name, raw, "assignment", name)) is not None:
            update[name] = list(value) if name == "candidate_groups" else value
    return (base or Assignment()).model_copy(update=update)


def _misplaced(step: Any, task: str | None, loc: Callable[..., Location], out: list[Diagnostic]) -> None:
    """PK412: retry and timeout on a step that calls no handler, assignment on one no employee works."""
    what = f"a {task} step" if task else ("an end step" if step.end else "a screen")
    for name in ("retry", "timeout"):
        if getattr(step, name) is not None and task != "service":
            out.append(Diagnostic("PK412", f"step '{step.id}' sets {name}, but it is {what}; only a service "
                                  "step (a handler call) retries and times out", loc(name, key=True)))
    if step.assignment is not None and task != "manual":
        out.append(Diagnostic("PK412", f"step '{step.id}' sets assignment, but it is {what}; only a staff "
                              "task (task: manual) is assigned", loc("assignment", key=True)))
