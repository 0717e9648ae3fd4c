"""Scenario files, judging a run: what happened against what the scenario expects."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

from . import ir
from ._scenario_data import ScenarioResult, norm, typed
from ._scenario_model import Scenario, StepExpect

__all__ = ["canonical", "compare", "stages"]


def stages(defn: ir.WorkflowDefinition) -> dict[str, int]:
    """Each step's position in the top-level sequence; steps of one parallel block share it."""
    out: dict[str, int] = {}

    def mark(item: str | ir.Parallel, index: int) -> None:
        if isinstance(item, str):
            out[item] = index
            return
        for branch in item.parallel:
            for sub in branch:
                mark(sub, index)

    for index, item in enumerate(defn.flow):
        mark(item, index)
    return out


def canonical(steps: Sequence[str], positions: Mapping[str, int]) -> list[str]:
    """Steps in an order that ignores what a parallel block leaves undefined."""
    return sorted(steps, key=lambda s: (positions.get(s, -1), s))


def compare(sc: Scenario, result: ScenarioResult, defn: ir.WorkflowDefinition) -> None:
    """Append to ``result.problems`` every way the run differs from ``sc.expect``."""
    want = sc.expect
    if result.outcome != want.outcome:
        result.problems.append(f"outcome: expected {want.outcome}, got {result.outcome or 'none'}")
    _compare_steps(sc, result, defn)
    for path, value in want.data.items():
        got = result.data.get(str(path))
        if norm(typed(value, None)) != got and str(value) != got:
            result.problems.append(f"data {path}: expected {value}, got {_shown(got)}")
    if want.compensated is not None and list(want.compensated) != result.compensated:
        result.problems.append(f"compensated: expected {list(want.compensated)}, got {result.compensated}")
    if want.message is not None and want.message not in result.message:
        shown = " / ".join(result.message) or "no message"
        result.problems.append(f"message: expected '{want.message}', got '{shown}'")
    if want.rule is not None and want.rule not in result.rules:
        got_rules = ", ".join(result.rules) or "no eligibility rule"
        result.problems.append(f"refusing rule: expected '{want.rule}', got {got_rules}")
    for step_id, expected in want.step.items():
        result.problems += _compare_step(step_id, expected, result)


def _shown(value: object) -> str:
    return "nothing" if value is None else str(value)


def _compare_steps(sc: Scenario, result: ScenarioResult, defn: ir.WorkflowDefinition) -> None:
    want = sc.expect.steps
    if want is None:
        return
    positions = stages(defn)
    if canonical([str(s) for s in want], positions) != canonical(result.steps, positions):
        diff = difflib.unified_diff([str(s) for s in want], result.steps, "expected steps",
                                    "steps taken", lineterm="", n=1)
        result.problems.append("steps differ:\n" + "\n".join(diff))


def _compare_step(step_id: str, want: StepExpect, result: ScenarioResult) -> list[str]:
    own = [r for r in result.records if r.step_id == step_id and r.kind == "step"]
    undone = any(r.step_id == step_id and r.kind == "compensation" and r.status == "compensated"
                 for r in result.records)
    status = "compensated" if undone else own[-1].status if own else "not-run"
    problems = []
    if want.status is not None and want.status != status:
        problems.append(f"step {step_id}: expected {want.status}, got {status}")
    if want.error is not None and (status != "error" or own[-1].detail != want.error):
        got = own[-1].detail if own and status == "error" else status
        problems.append(f"step {step_id}: expected business error {want.error}, got {got}")
    outputs = {str(k): norm(v) for k, v in (own[-1].outputs if own else {}).items()}
    for path, value in want.outputs.items():
        found = outputs.get(str(path))
        if norm(typed(value, None)) != found and str(value) != found:
            problems.append(f"step {step_id} output {path}: expected {value}, got {_shown(found)}")
    return problems
