"""``productkit test`` as a library call: run the scenarios, then optionally measure coverage
and the mutation score, and write the report as text or JSON."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .coverage import Coverage, coverage_of, render_coverage
from .diagnostics import Diagnostic, render_text
from .scenarios import Loaded, ScenarioResult, built_catalog, load_selected, run_file, unknown_products
from .sources import find_root

__all__ = ["RunReport", "RunRequest", "run_tests"]


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What ``productkit test`` was asked to do."""

    root: Path
    products: tuple[str, ...] = ()
    verbose: bool = False
    coverage: bool = False
    min_coverage: float | None = None
    mutate: bool = False
    format: str = "text"
    versions: tuple[tuple[str, str], ...] = ()  # (product id, version) pinned with id@version
    date: dt.date | None = None  # scenarios without their own date are made on this day


@dataclass(slots=True)
class RunReport:
    """The run's results, coverage and surviving mutants, and its exit code."""

    results: list[ScenarioResult] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    coverage: list[Coverage] = field(default_factory=list)
    mutation: Any = None
    usage: str | None = None
    exit_code: int = 0


def run_tests(request: RunRequest, out: TextIO) -> RunReport:
    """Run the request's scenarios and write the report to ``out``."""
    outcome = RunReport()
    unknown = unknown_products(request.root, request.products)
    if unknown:
        outcome.usage, outcome.exit_code = "; ".join(unknown), 2
        return outcome
    root = find_root(request.root.resolve())
    files, outcome.diagnostics = load_selected(root, request.products)
    with built_catalog(root) as (catalog, problems):
        outcome.diagnostics += problems
        if catalog is not None:
            _run(catalog, files, request, outcome)
    outcome.exit_code = _exit_code(request, outcome)
    (_write_json if request.format == "json" else _write_text)(request, outcome, out)
    return outcome


def _run(catalog: Any, files: list[Loaded], request: RunRequest, outcome: RunReport) -> None:
    by_product: dict[str, tuple[Any, list[ScenarioResult]]] = {}
    for loaded in (_pinned(f, request) for f in files):
        found, missing = run_file(catalog, loaded)
        outcome.results += found
        outcome.diagnostics += missing
        if found:
            defn = catalog.definition(loaded.spec.product, loaded.spec.version)
            by_product.setdefault(defn.id, (defn, []))[1].extend(found)
    if request.coverage:
        outcome.coverage = [coverage_of(defn, runs) for defn, runs in by_product.values()]
    if request.mutate:
        from .mutate import mutation_score

        outcome.mutation = mutation_score(catalog, files, root=find_root(request.root.resolve()))


def _pinned(loaded: Loaded, request: RunRequest) -> Loaded:
    """The file as the request wants it run: on the version named, on the date given."""
    spec = loaded.spec
    version = dict(request.versions).get(spec.product, spec.version)
    scenarios = spec.scenarios
    if request.date is not None:
        scenarios = [sc if sc.on is not None else sc.model_copy(update={"on": request.date}) for sc in scenarios]
    return Loaded(spec.model_copy(update={"version": version, "scenarios": scenarios}), loaded.doc)


def _exit_code(request: RunRequest, outcome: RunReport) -> int:
    if any(d.severity.value == "error" for d in outcome.diagnostics):
        return 1
    if not outcome.results or any(not r.passed for r in outcome.results):
        return 1
    low = request.min_coverage is not None and any(c.percent() < request.min_coverage for c in outcome.coverage)
    return 1 if low else 0


def _write_text(request: RunRequest, outcome: RunReport, out: TextIO) -> None:
    if outcome.diagnostics:
        out.write(render_text(outcome.diagnostics))
    for r in outcome.results:
        out.write(f"{'PASS' if r.passed else 'FAIL'}  {r.product}  {r.scenario}  ({r.outcome or 'no outcome'})\n")
        if r.diagnostics:
            out.write(render_text(r.diagnostics))
        for problem in r.problems:
            out.write("      " + problem.replace("\n", "\n      ") + "\n")
        if request.verbose:
            out.write("".join(f"      | {line}\n" for line in r.trace))
    failed = sum(not r.passed for r in outcome.results)
    out.write(f"{len(outcome.results) - failed} passed, {failed} failed\n")
    if outcome.coverage:
        out.write("\ncoverage\n" + render_coverage(outcome.coverage))
        _write_floor(request, outcome, out)
    if outcome.mutation is not None:
        out.write("\n" + outcome.mutation.render())


def _write_floor(request: RunRequest, outcome: RunReport, out: TextIO) -> None:
    if request.min_coverage is None:
        return
    for cov in outcome.coverage:
        if cov.percent() < request.min_coverage:
            out.write(f"{cov.product}: coverage {cov.percent():.1f}% is below --min-coverage "
                      f"{request.min_coverage:g}%\n")


def _write_json(request: RunRequest, outcome: RunReport, out: TextIO) -> None:
    data: dict[str, Any] = {
        "diagnostics": [d.to_json() for d in outcome.diagnostics],
        "results": [_result_json(r) for r in outcome.results],
        "passed": sum(r.passed for r in outcome.results),
        "failed": sum(not r.passed for r in outcome.results),
    }
    if request.coverage:
        data["coverage"] = [c.to_json() for c in outcome.coverage]
        data["min_coverage"] = request.min_coverage
    if outcome.mutation is not None:
        data["mutation"] = outcome.mutation.to_json()
    out.write(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def _result_json(r: ScenarioResult) -> dict[str, Any]:
    return {"file": r.file, "product": r.product, "scenario": r.scenario, "passed": r.passed,
            "outcome": r.outcome, "channel": r.channel, "problems": r.problems,
            "diagnostics": [d.to_json() for d in r.diagnostics], "steps": r.steps}
