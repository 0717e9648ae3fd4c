"""Scenario files, checking against the built product before running: every step id, stub,
stub result, error code and rule a scenario names must exist and fit what the product declares."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from typing import Any

from . import ir
from ._scenario_data import typed
from ._scenario_model import Scenario, ScenarioFile, Stub
from .diagnostics import Diagnostic
from .loader import Document

__all__ = ["check_file", "expand"]

Path_ = tuple[str | int, ...]


def _hint(word: str, choices: Iterable[str]) -> str | None:
    """'did you mean' the closest other choice (never the word itself)."""
    match = difflib.get_close_matches(word, sorted(set(choices) - {word}), n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else None


def expand(spec: ScenarioFile) -> list[Scenario]:
    """The file's scenarios with ``like`` applied (a base's values, then the scenario's own)."""
    by_id = {sc.id: sc for sc in spec.scenarios}
    return [_expanded(sc, by_id, set()) for sc in spec.scenarios]


def _expanded(sc: Scenario, by_id: dict[str, Scenario], seen: set[str]) -> Scenario:
    if sc.like is None or sc.like not in by_id or sc.id in seen:
        return sc
    base = _expanded(by_id[sc.like], by_id, seen | {sc.id})
    merged: dict[str, Any] = {name: getattr(base, name) for name in Scenario.model_fields}
    for name in sc.model_fields_set:
        mine = getattr(sc, name)
        merged[name] = {**merged[name], **mine} if name in _MERGED else mine
    merged["id"], merged["like"] = sc.id, None
    return Scenario.model_validate(merged)


_MERGED = ("context", "inputs", "handlers", "advance")


def check_file(spec: ScenarioFile, doc: Document, defn: ir.WorkflowDefinition) -> list[Diagnostic]:
    """Every problem of the file's scenarios against ``defn``, located."""
    ids = [sc.id for sc in spec.scenarios]
    out = []
    for index, sc in enumerate(spec.scenarios):
        at: Path_ = ("scenarios", index)
        if sc.like is not None and (sc.like not in ids or sc.like == sc.id):
            out.append(Diagnostic("PK704", f"scenario '{sc.like}' is not in this file", doc.loc(at + ("like",)),
                                  hint=_hint(sc.like, ids)))
        if sc.channel is None and sc.like is None:
            out.append(Diagnostic("PK102", "required field 'channel' is missing", doc.loc(at),
                                  hint="channels are " + ", ".join(defn.channels)))
        out += list(_check_scenario(sc, doc, at, defn))
    return out


def _check_scenario(sc: Scenario, doc: Document, at: Path_,
                    defn: ir.WorkflowDefinition) -> Iterator[Diagnostic]:
    steps = defn.steps
    service = [s for s, st in steps.items() if st.kind == "service"]
    users = [s for s, st in steps.items() if st.kind == "user"]
    for step_id, stub in sc.handlers.items():
        where = at + ("handlers", step_id)
        if step_id not in service:
            yield _unknown_step(doc, where, step_id, service, "service step", users)
        else:
            yield from _check_stub(stub, doc, where, steps[step_id], defn)
    for step_id in sc.inputs:
        if step_id not in users:
            yield _unknown_step(doc, at + ("inputs", step_id), step_id, users, "screen", service)
    yield from _check_names(sc, doc, at, list(steps))
    if sc.expect.rule is not None:
        rules = [r.id for r in defn.rules if r.kind == "eligibility"]
        if sc.expect.rule not in rules:
            yield Diagnostic("PK704", f"{defn.id} has no eligibility rule '{sc.expect.rule}'",
                             doc.loc(at + ("expect", "rule")),
                             hint=_hint(sc.expect.rule, rules) or "rules: " + ", ".join(rules))


def _check_names(sc: Scenario, doc: Document, at: Path_, steps: list[str]) -> Iterator[Diagnostic]:
    """Step ids named by advance, cancel and the expectation."""
    named: list[tuple[Path_, str, bool]] = [(at + ("advance", s), s, True) for s in sc.advance]
    if sc.cancel is not None:
        named.append((at + ("cancel", "at"), sc.cancel.at, False))
    for key in ("steps", "compensated"):
        named += [(at + ("expect", key, i), s, False) for i, s in enumerate(getattr(sc.expect, key) or [])]
    named += [(at + ("expect", "step", s), s, True) for s in sc.expect.step]
    for where, step_id, is_key in named:
        if step_id not in steps:
            yield Diagnostic("PK702", f"the product has no step '{step_id}'", doc.loc(where, key=is_key),
                             hint=_hint(step_id, steps))


def _unknown_step(doc: Document, where: Path_, step_id: str, choices: list[str], what: str,
                  other: list[str]) -> Diagnostic:
    if step_id in other:
        moved = "inputs" if what == "service step" else "handlers"
        return Diagnostic("PK702", f"step '{step_id}' is not a {what}", doc.loc(where, key=True),
                          hint=f"give it under {moved}")
    return Diagnostic("PK702", f"the product has no {what} '{step_id}'", doc.loc(where, key=True),
                      hint=_hint(step_id, choices) or f"{what}s: " + ", ".join(sorted(choices)))


def _check_stub(stub: Stub, doc: Document, where: Path_, step: ir.Step,
                defn: ir.WorkflowDefinition) -> Iterator[Diagnostic]:
    given = [k for k in ("result", "error", "fail") if getattr(stub, k) is not None]
    if len(given) != 1:
        yield Diagnostic("PK703", f"the stub of '{step.id}' gives {' and '.join(given) or 'nothing'}; "
                         "give exactly one of result, error or fail", doc.loc(where, key=True))
    if stub.error is not None and stub.error not in step.errors:
        yield Diagnostic("PK703", f"step '{step.id}' ({step.component}) declares no error '{stub.error}'",
                         doc.loc(where + ("error",)),
                         hint=_hint(stub.error, step.errors) or _listed("errors", step.errors))
    if stub.result is not None:
        yield from _check_result(stub.result, doc, where + ("result",), step, defn)


def _listed(what: str, names: Iterable[str]) -> str:
    names = sorted(names)
    return f"declared {what}: " + ", ".join(names) if names else f"it declares no {what}"


def _check_result(result: dict[str, Any], doc: Document, where: Path_, step: ir.Step,
                  defn: ir.WorkflowDefinition) -> Iterator[Diagnostic]:
    from .runtime._coerce import checked
    from .types import FieldProblem

    outputs = {dpath: cpath for cpath, dpath in step.outputs.items()}
    for key, raw in result.items():
        path = outputs.get(key, step.outputs.get(key))
        if path is None:
            yield Diagnostic("PK703", f"step '{step.id}' ({step.component}) has no output '{key}'",
                             doc.loc(where + (key,), key=True),
                             hint=_hint(key, outputs) or _listed("outputs", outputs))
            continue
        fd = defn.data.get(path)
        if fd is None:
            continue
        try:
            problems = checked(fd, typed(raw, fd))[1]
        except FieldProblem as exc:
            problems = [exc]
        for problem in problems:
            yield Diagnostic("PK703", f"{key} = {raw}: {_problem_text(problem, fd)}",
                             doc.loc(where + (key,)), hint=_value_hint(str(raw), fd))


def _problem_text(problem: Any, fd: ir.FieldDef) -> str:
    text = str(getattr(problem, "message", problem))
    if fd.values and "one of" not in text:
        return f"{text} (allowed: {', '.join(fd.values)})"
    return text


def _value_hint(raw: str, fd: ir.FieldDef) -> str | None:
    return _hint(raw, fd.values) if fd.values else None
