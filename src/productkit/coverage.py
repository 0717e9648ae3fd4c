"""What a product's scenarios exercised: steps, condition branches (true and false), error
routes, compensations, channels and outcomes, as counted from the runs' step records."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from . import ir
from ._scenario_data import ScenarioResult

__all__ = ["CATEGORIES", "Coverage", "Item", "coverage_of", "possible_outcomes", "render_coverage"]

CATEGORIES = ("steps", "branches", "error routes", "compensations", "channels", "outcomes")


@dataclass(frozen=True, slots=True)
class Item:
    """One thing a product's scenarios may exercise."""

    category: str
    name: str
    covered: bool


@dataclass(frozen=True, slots=True)
class Coverage:
    """A product's coverage: every item, covered or not."""

    product: str
    items: tuple[Item, ...] = field(default_factory=tuple)

    def of(self, category: str) -> list[Item]:
        """The items of one category."""
        return [i for i in self.items if i.category == category]

    def percent(self, category: str | None = None) -> float:
        """Covered items in percent (100 when there is nothing to cover)."""
        items = self.of(category) if category else list(self.items)
        return 100.0 * sum(i.covered for i in items) / len(items) if items else 100.0

    def to_json(self) -> dict[str, object]:
        """The coverage as JSON data: percent overall and per category, covered and missed."""
        return {"product": self.product, "percent": round(self.percent(), 1),
                "categories": {c: {"percent": round(self.percent(c), 1),
                                   "covered": [i.name for i in self.of(c) if i.covered],
                                   "missed": [i.name for i in self.of(c) if not i.covered]}
                               for c in CATEGORIES}}


def possible_outcomes(defn: ir.WorkflowDefinition) -> set[str]:
    """The outcomes an application of ``defn`` can end with."""
    steps = defn.steps.values()
    out = {"completed"} | {s.outcome for s in steps if s.kind == "end" and s.outcome}
    out |= {r.end for s in steps for r in s.errors.values() if r.end}
    if any(s.kind == "service" and s.critical for s in steps):
        out.add("failed")  # a technical failure after the retries
    if any(s.kind == "user" or (s.kind == "wait" and s.interruptible) for s in steps):
        out.add("cancelled")
    if any(r.kind == "eligibility" for r in defn.rules):
        out.add("rejected")
    return out


def coverage_of(defn: ir.WorkflowDefinition, results: Sequence[ScenarioResult]) -> Coverage:
    """The coverage of ``defn`` by the runs of its scenarios."""
    items = [*_steps(defn, results), *_branches(defn, results), *_routes(defn, results),
             *_compensations(defn, results)]
    channels = {r.channel for r in results}
    items += [Item("channels", c, c in channels) for c in defn.channels]
    outcomes = {r.outcome for r in results}
    items += [Item("outcomes", o, o in outcomes) for o in sorted(possible_outcomes(defn))]
    return Coverage(defn.id, tuple(items))


def _statuses(results: Iterable[ScenarioResult], step_id: str) -> Iterator[tuple[str, str]]:
    for r in results:
        for rec in r.records:
            if rec.step_id == step_id and rec.kind == "step":
                yield rec.status, rec.detail


def _steps(defn: ir.WorkflowDefinition, results: Sequence[ScenarioResult]) -> Iterator[Item]:
    for sid in defn.steps:
        ran = any(s in ("done", "error", "failed") for s, _ in _statuses(results, sid))
        yield Item("steps", sid, ran)


def _branches(defn: ir.WorkflowDefinition, results: Sequence[ScenarioResult]) -> Iterator[Item]:
    for sid, step in defn.steps.items():
        if step.when is None:
            continue
        seen = list(_statuses(results, sid))
        true = any(s in ("done", "error", "failed") for s, _ in seen)
        false = any(s == "skipped" for s, _ in seen)  # the channel test is compiled into the condition
        yield Item("branches", f"{sid} when true", true)
        yield Item("branches", f"{sid} when false", false)


def _routes(defn: ir.WorkflowDefinition, results: Sequence[ScenarioResult]) -> Iterator[Item]:
    for sid, step in defn.steps.items():
        seen = list(_statuses(results, sid))
        codes = {d for s, d in seen if s == "error"} | {ir.FAILED_CODE for s, _ in seen if s == "failed"}
        for code in step.errors:
            yield Item("error routes", f"{sid}: {code}", code in codes)


def _compensations(defn: ir.WorkflowDefinition, results: Sequence[ScenarioResult]) -> Iterator[Item]:
    undone = {s for r in results for s in r.compensated}
    for sid, step in defn.steps.items():
        if step.compensation is not None:
            yield Item("compensations", sid, sid in undone)


def render_coverage(reports: Sequence[Coverage]) -> str:
    """Coverage as text: one block per product, what was missed listed by category."""
    lines = []
    for cov in reports:
        lines.append(f"{cov.product}: {cov.percent():.0f}%")
        for category in CATEGORIES:
            items = cov.of(category)
            if not items:
                continue
            hit = sum(i.covered for i in items)
            missed = [i.name for i in items if not i.covered]
            text = f"  {category:<14} {hit}/{len(items)}"
            lines.append(text + (f"  missed: {', '.join(missed)}" if missed else ""))
    return "\n".join(lines) + "\n"
