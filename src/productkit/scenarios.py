"""Scenario files: a designer's executable examples of a product, run on the embedded engine.

A scenario file sits beside its product (``<product>.scenario.yaml``)::

    product: deposit.time-1y
    scenarios:
      - id: approved
        channel: mobile
        context: {applicant.age: 30}
        inputs:                     # per user step: what the customer (or employee) submits
          amount: {deposit.amount: "10000.00"}
          review: {error: approval.declined}   # a staff decline
        handlers:                   # per service step: a result, a business error, or a failure
          kyc: {result: {kyc.status: passed}}
          aml: {error: aml.hit}
          book: {fail: core system timeout}
        expect:
          outcome: completed
          steps: [amount, kyc, book]
          data: {deposit.account_number: "6222000000000001"}
          compensated: [book]

``productkit test`` builds the catalogue into a temporary folder, loads it as a channel service
would, runs every scenario with stubbed handlers, a fake clock (waits are fast-forwarded) and
no sleeping, and compares the path, the outcome and the data.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from . import ir
from .diagnostics import Diagnostic
from .loader import Document, Plain, load_file
from .model._types import Channel, Model, Text
from .sources import SCENARIO_SUFFIXES, SOURCE_DIRS, find_root, outside
from .types import get

__all__ = ["Scenario", "ScenarioFile", "ScenarioResult", "discover_scenarios", "load_scenarios",
           "run_scenario", "run_scenarios", "unknown_products"]


class Stub(Model):
    """A stubbed handler: exactly one of a result, a business error, or a technical failure."""

    result: dict[str, Any] | None = None
    error: Text | None = None
    fail: Text | None = None


class Expect(Model):
    outcome: Text
    steps: list[Text] | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    compensated: list[Text] | None = None


class Scenario(Model):
    id: Text
    channel: Channel
    context: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    handlers: dict[str, Stub] = Field(default_factory=dict)
    expect: Expect
    cancel_at: Text | None = Field(None, description="cancel (by the customer) when this step is reached")


class ScenarioFile(Model):
    product: Text
    version: Text | None = None
    scenarios: list[Scenario] = Field(min_length=1)


@dataclass(slots=True)
class ScenarioResult:
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


def discover_scenarios(root: Path) -> list[Path]:
    """Every scenario file below ``root``'s source folders that lies inside the catalogue
    (linked folders are not entered; a link leading out of the catalogue is left out)."""
    found: list[Path] = []
    for sub in SOURCE_DIRS:
        for dirpath, dirnames, filenames in os.walk(root / sub):
            dirnames[:] = sorted(d for d in dirnames if not (Path(dirpath) / d).is_symlink())
            found.extend(Path(dirpath) / f for f in filenames if f.endswith(SCENARIO_SUFFIXES))
    return sorted(p for p in found if not outside(p, root))


def load_scenarios(path: Path) -> tuple[tuple[ScenarioFile, Document] | None, list[Diagnostic]]:
    doc, problems = load_file(path)
    if doc is None:
        return None, problems
    try:
        return (ScenarioFile.model_validate(doc.data), doc), []
    except ValidationError as exc:
        from .shape import diagnostic_of

        return None, [diagnostic_of(doc, err) for err in exc.errors(include_url=False)]


# ----------------------------------------------------------------- values


_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")


def _typed(raw: Any, fd: ir.FieldDef | None) -> Any:
    """A scenario value as a channel would send it: JSON types, exact decimals as strings."""
    if isinstance(raw, dict):
        return {str(k): _typed(v, None) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_typed(v, fd.items if fd else None) for v in raw]
    if raw is None or not isinstance(raw, str):
        return raw
    kind = fd.type if fd else None
    if isinstance(raw, Plain) and raw in ("true", "false") and kind in (None, "boolean"):
        return raw == "true"
    if kind == "integer" or (kind is None and isinstance(raw, Plain) and _INT.match(raw)):
        return int(raw) if _INT.match(raw) else str(raw)
    return str(raw)


def _norm(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int | float):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _norm(v) for k, v in value.items()}
    return None if value is None else str(value)


def _values(raw: Mapping[str, Any], defn: ir.WorkflowDefinition,
            fields: Mapping[str, ir.FieldDef] | None = None) -> dict[str, Any]:
    out = {}
    for path, value in raw.items():
        fd = (fields or {}).get(path) or defn.data.get(path) or defn.context.get(path)
        out[str(path)] = _typed(value, fd)
    return out


def sample_value(fd: ir.FieldDef) -> Any:
    """A plausible value of a field: its default, its first allowed value, or its minimum."""
    if fd.default is not None:
        return fd.default
    if fd.values:
        return fd.values[0]
    kind = get(fd.type)
    return kind.example(fd) if kind is not None else "sample"


# ----------------------------------------------------------------- running


class _Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def _handlers(defn: ir.WorkflowDefinition, sc: Scenario, compensated: list[str]) -> Any:
    from .runtime import BusinessError, Handlers, StepCall

    handlers = Handlers()
    names = {s.handler for s in defn.steps.values() if s.kind == "service" and s.handler}
    names |= {s.compensation.handler for s in defn.steps.values() if s.compensation}

    def stub(call: StepCall) -> Mapping[str, object]:
        if call.compensating:
            compensated.append(call.step_id)
            return {}
        spec = sc.handlers.get(call.step_id)
        step = defn.steps[call.step_id]
        fields = {c: defn.data[p] for c, p in step.outputs.items() if p in defn.data}
        if spec is None:
            return {c: sample_value(fd) for c, fd in fields.items() if fd.required}
        if spec.result is not None:
            return _values(spec.result, defn, fields)
        if spec.error is not None:
            raise BusinessError(spec.error)
        raise RuntimeError(spec.fail or "stubbed failure")

    for name in sorted(names):
        handlers.register(name)(stub)
    return handlers


Prompt = Callable[[Any], Mapping[str, Any]]


def run_scenario(catalog: Any, sc: Scenario, product: str, version: str | None = None,
                 file: str = "", prompt: Prompt | None = None) -> ScenarioResult:
    """Run one scenario on a fresh in-memory engine over ``catalog`` (a runtime Catalog)."""
    from .runtime import Engine, MemoryStore, NotEligible

    defn = catalog.definition(product, version)
    compensated: list[str] = []
    clock = _Clock()
    engine = Engine(catalog, handlers=_handlers(defn, sc, compensated), store=MemoryStore(),
                    clock=clock, sleep=lambda seconds: None)
    result = ScenarioResult(file, product, sc.id, False)
    if defn.effective.from_:
        opens = dt.date.fromisoformat(defn.effective.from_)
        clock.now = max(clock.now, dt.datetime(opens.year, opens.month, opens.day, 9, tzinfo=dt.UTC))
    try:
        app = engine.start(product, sc.channel, _values(sc.context, defn), version=defn.version)
        app = _drive(engine, app, sc, defn, clock, result, prompt)
    except NotEligible as exc:
        # Refused at the door: an ineligible customer is rejected before any step runs.
        result.outcome, result.problems, result.refused = "rejected", [], True
        result.data = {"reason": str(exc)}
        _compare(sc, result, defn)
        result.passed = not result.problems
        return result
    except Exception as exc:  # a scenario reports every failure as a problem, never a traceback
        result.problems.append(f"{type(exc).__name__}: {exc}")
        return result
    result.outcome = app.outcome
    result.data = {k: _norm(v) for k, v in app.data.items()}
    result.steps = [r.step_id for r in engine.steps(app.id)
                    if r.kind == "step" and r.status in ("done", "failed", "error")]
    result.compensated = compensated
    result.trace = [f"{r.kind:<12} {r.step_id:<24} {r.status:<10} {r.detail or ''}".rstrip()
                    for r in engine.steps(app.id)]
    _compare(sc, result, defn)
    result.passed = not result.problems
    return result


def _drive(engine: Any, app: Any, sc: Scenario, defn: ir.WorkflowDefinition, clock: _Clock,
           result: ScenarioResult, prompt: Prompt | None = None) -> Any:
    for _ in range(500):
        if app.ended:
            return app
        if app.screen is not None:
            step = app.screen.step_id
            if sc.cancel_at == step:
                return engine.cancel(app.id, "customer", f"scenario {sc.id} cancels at {step}")
            if step not in sc.inputs and prompt is None:
                result.problems.append(f"the application waits for input at step '{step}', "
                                       "and the scenario gives none")
                return app
            data = dict(sc.inputs[step]) if step in sc.inputs else dict(prompt(app.screen) if prompt else {})
            error = data.pop("error", None)
            app = engine.submit(app.id, step, _values(data, defn, app.screen.fields),
                                **({"error": str(error)} if error else {}))
            if app.errors:
                result.problems += [f"step '{step}' rejected the input: {e}" for e in app.errors]
                return app
        elif app.due is not None:
            if sc.cancel_at is not None and sc.cancel_at in app.pending:
                return engine.cancel(app.id, "customer", f"scenario {sc.id} cancels while waiting")
            clock.now = max(clock.now, app.due)
            engine.tick(clock.now)
            app = engine.get(app.id)
        else:
            result.problems.append(f"the application stopped in state {app.status}")
            return app
    result.problems.append("the application did not end within 500 steps")
    return app


def _stages(defn: ir.WorkflowDefinition) -> dict[str, int]:
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


def _canonical(steps: Sequence[str], stages: Mapping[str, int]) -> list[str]:
    """Steps in an order that ignores what a parallel block leaves undefined."""
    return sorted(steps, key=lambda s: (stages.get(s, -1), s))


def _compare(sc: Scenario, result: ScenarioResult, defn: ir.WorkflowDefinition) -> None:
    want = sc.expect
    if result.outcome != want.outcome:
        result.problems.append(f"outcome: expected {want.outcome}, got {result.outcome}")
    stages = _stages(defn)
    if want.steps is not None and _canonical([str(s) for s in want.steps], stages) != _canonical(
            result.steps, stages):
        diff = difflib.unified_diff([str(s) for s in want.steps], result.steps, "expected steps",
                                    "steps taken", lineterm="", n=1)
        result.problems.append("steps differ:\n" + "\n".join(diff))
    for path, value in want.data.items():
        got = result.data.get(str(path))
        if _norm(_typed(value, None)) != got and str(value) != got:
            result.problems.append(f"data {path}: expected {value}, got {got}")
    if want.compensated is not None and list(want.compensated) != result.compensated:
        result.problems.append(f"compensated: expected {list(want.compensated)}, got {result.compensated}")


def unknown_products(root: Path, products: Sequence[str]) -> list[str]:
    """A message for each of ``products`` that has no scenario file below ``root``, naming the
    nearest product that has one (a typo must not read as "0 passed, 0 failed")."""
    from .shape import did_you_mean

    known = set()
    for path in discover_scenarios(find_root(root.resolve())):
        loaded, _ = load_scenarios(path)
        if loaded is not None:
            known.add(loaded[0].product)
    out = []
    for pid in products:
        if pid not in known:
            hint = did_you_mean(pid, known)
            out.append(f"no scenarios for product '{pid}'" + (f"; {hint}" if hint else ""))
    return out


def run_scenarios(root: Path, products: Sequence[str] = ()) -> tuple[list[ScenarioResult], list[Diagnostic]]:
    """Build the catalogue at ``root`` aside, then run every (selected) product's scenarios."""
    from .build import build
    from .options import Options
    from .runtime import Catalog

    root = find_root(root.resolve())
    diagnostics: list[Diagnostic] = []
    files = []
    for path in discover_scenarios(root):
        loaded, problems = load_scenarios(path)
        diagnostics += problems
        if loaded is not None and (not products or loaded[0].product in products):
            files.append(loaded)
    with tempfile.TemporaryDirectory(prefix="productkit-test-") as tmp:
        built = build([root], Path(tmp) / "build", Options(release_date=dt.date(2026, 11, 27), targets=("forms",)))
        if built.failed():
            return [], diagnostics + built.diagnostics
        catalog = Catalog.load(Path(tmp) / "build")
        results = []
        for spec, doc in files:
            try:
                catalog.definition(spec.product, spec.version)
            except Exception:
                diagnostics.append(Diagnostic("PK202", f"no built product '{spec.product}'",
                                              doc.loc(("product",))))
                continue
            results += [run_scenario(catalog, sc, spec.product, spec.version, doc.file) for sc in spec.scenarios]
    return results, diagnostics
