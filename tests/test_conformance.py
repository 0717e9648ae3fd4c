"""Same behaviour as a real BPMN engine: every scenario of every product runs twice, on
productkit's embedded engine from the workflow definition and on SpiffWorkflow from the
emitted BPMN (``bpmn_support``), with the same stub handlers (the scenario's, run on the BPMN
side the way productkit's Zeebe job worker runs them). The steps taken, the outcome, the
steps compensated and the final data must agree.

* Steps: the same steps, each side in an order the flow allows; steps of different parallel
  branches have no order between them. Compensations likewise, newest first.
* Data: the final value of every data path of the product (context and data), normalised by
  its declared type (decimals as exact strings, booleans, integers); absent equals null.
* Scenario data: the context is the process's start variables (with ``channel``), a user
  step's inputs complete its user task (a staff decline ``{error: code}`` is submitted at the
  step's ``error_path``), waits fire at once. The BPMN's conditions are evaluated as written,
  in FEEL (feelin), on the process variables, decimals as exact text (the Zeebe convention:
  the BPMN reads them through ``number()``).

Not BPMN runs, so skipped with the reason: a customer the eligibility rules refuse at the
start (the channel service never starts a process instance) and ``cancel`` scenarios (the
BPMN has no cancel event; cancelling a Zeebe instance is an operation on it, not a path).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from bpmn_support import Run, feel, productkit_worker, run_bpmn
from productkit import ir
from productkit._scenario_run import start_day
from productkit.build import build
from productkit.diagnostics import Severity
from productkit.options import Options
from productkit.runtime import Catalog, _flow, _values
from productkit.runtime.catalog import flatten
from productkit.scenarios import (
    Scenario,
    ScenarioResult,
    discover_scenarios,
    expand,
    load_scenarios,
    run_scenario,
    stub_handlers,
)
from productkit.scenarios import (
    norm as _norm,
)
from productkit.scenarios import (
    values_of as scenario_values,
)
from productkit.targets.bpmn import CHANNEL_VARIABLE, FAILED_ERROR, emit_bpmn, process_id
from productkit.types import Money

REPO = Path(__file__).resolve().parents[1]
RELEASE = dt.date(2026, 11, 27)  # as ``productkit test`` builds the catalogue


@dataclasses.dataclass(frozen=True)
class Case:
    product: str
    version: str | None
    scenario: Scenario
    file: str

    @property
    def key(self) -> str:
        return f"{self.product}/{self.scenario.id}"


def _cases() -> list[Case]:
    out = []
    for path in discover_scenarios(REPO):
        loaded, problems = load_scenarios(path)
        assert loaded is not None, problems
        spec, doc = loaded
        out += [Case(spec.product, spec.version, sc, doc.file) for sc in expand(spec)]
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    out = tmp_path_factory.mktemp("conformance") / "build"
    built = build([REPO], out, Options(release_date=RELEASE, targets=("forms",)))
    assert not built.failed(), [str(d) for d in built.diagnostics if d.severity is Severity.ERROR]
    return Catalog.load(out)


_EMITTED: dict[str, bytes] = {}


def _bpmn(defn: ir.WorkflowDefinition) -> bytes:
    key = f"{defn.id}@{defn.version} {defn.digest}"
    if key not in _EMITTED:
        emitted = emit_bpmn(defn)
        assert emitted.content is not None, [d.message for d in emitted.diagnostics]
        _EMITTED[key] = emitted.content
    return _EMITTED[key]


# the two runs -----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Side:
    """What one engine did: normalised so that the two can be compared."""

    outcome: str | None
    steps: list[str]
    compensated: list[str]
    data: dict[str, Any]


def _paths(defn: ir.WorkflowDefinition) -> dict[str, ir.FieldDef]:
    return {**defn.context, **defn.data}


def _normal(fd: ir.FieldDef | None, value: Any) -> Any:
    """A value as the embedded engine keeps it (coerced to its declared type), normalised as
    the scenario runner normalises it: decimals and integers as exact text, booleans as
    ``true``/``false``."""
    if value is None:
        return None
    if fd is not None:
        with contextlib.suppress(_values.Problem):  # else compared as it is: the difference shows
            value = _values.coerce(fd, value)
    return _norm(value)


def embedded(catalog: Catalog, case: Case) -> ScenarioResult:
    return run_scenario(catalog, case.scenario, case.product, case.version, case.file)


def embedded_side(defn: ir.WorkflowDefinition, result: ScenarioResult) -> Side:
    paths = _paths(defn)
    data = {p: v for p, v in result.data.items() if p in paths and v is not None}
    return Side(result.outcome, list(result.steps), list(result.compensated), data)


def _feel_value(value: Any) -> Any:
    """A typed value as a Zeebe process variable holds it: exact text for decimals (as forms send
    them and workers return them), ISO text for dates."""
    if isinstance(value, Money):
        value = value.amount
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_feel_value(v) for v in value]
    return value


def feel_context(defn: ir.WorkflowDefinition, data: Mapping[str, Any]) -> dict[str, Any]:
    """The process variables as Zeebe's FEEL sees them: every declared data path typed by its
    declaration (a decimal travels as exact text), the rest as it is."""
    context = copy.deepcopy(dict(data))
    flat = flatten(data, _paths(defn))
    for path, fd in _paths(defn).items():
        if flat.get(path) is None:
            continue
        try:
            value = _feel_value(_values.coerce(fd, flat[path]))
        except _values.Problem:
            continue
        node = context
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return context


def bpmn_run(catalog: Catalog, case: Case) -> Run:
    sc = case.scenario
    defn = catalog.definition(case.product, case.version)
    interpreter = feel()

    def evaluate(text: str, data: Mapping[str, Any]) -> Any:
        return interpreter(text, feel_context(defn, data))

    users: dict[str, dict[str, Any]] = {}
    for step_id, raw in sc.inputs.items():
        given = dict(raw)
        error = given.pop("error", None)
        step = defn.steps.get(step_id)
        fields = step.fields if step is not None else {}
        values = scenario_values(given, defn, fields)
        if error is not None:
            assert step is not None and step.error_path, f"{step_id}: a decline needs an error_path"
            values[step.error_path] = str(error)
        users[step_id] = values
    start = {**scenario_values(sc.context, defn), CHANNEL_VARIABLE: sc.channel,
             ir.APPLICATION_DATE_VARIABLE: start_day(sc, defn).isoformat()}
    stubs = stub_handlers(defn, sc, [])  # the scenario's stubs, as the embedded engine gets them
    return run_bpmn(_bpmn(defn), process_id(defn), productkit_worker(defn, stubs), start,
                    feel=evaluate, user_data=users,
                    order=[step for step, _ in _flow.walk(defn.flow)])


def bpmn_side(defn: ir.WorkflowDefinition, run: Run) -> Side:
    flat = flatten(run.data, _paths(defn))
    data = {p: _normal(fd, flat.get(p)) for p, fd in _paths(defn).items()}
    return Side(run.outcome, list(run.steps), list(run.compensated),
                {p: v for p, v in data.items() if v is not None})


# comparing --------------------------------------------------------------------------------

def _disorder(steps: Sequence[str], where: Mapping[str, _flow.Position], undo: bool
              ) -> list[str]:
    """The pairs of ``steps`` in an order the flow forbids: a step before one that must
    finish before it starts, or for compensations (``undo``), an earlier step undone before
    a later one."""
    out = []
    for i, a in enumerate(steps):
        for b in steps[i + 1:]:
            if a in where and b in where:
                first, then = (a, b) if undo else (b, a)
                if _flow.precedes(where[first], where[then]):
                    out.append(f"{a} before {b}")
    return out


def _canonical(steps: Sequence[str], where: Mapping[str, _flow.Position]) -> list[str]:
    """The steps in flow order (branches of a parallel block one after the other)."""
    return sorted(steps, key=lambda s: (where.get(s, ()), s))


def differences(defn: ir.WorkflowDefinition, mine: Side, theirs: Side) -> Iterator[str]:
    where = _flow.positions(defn.flow)
    if mine.outcome != theirs.outcome:
        yield f"outcome: embedded {mine.outcome}, BPMN {theirs.outcome}"
    if _canonical(mine.steps, where) != _canonical(theirs.steps, where):
        yield f"steps: embedded {mine.steps}\n       BPMN     {theirs.steps}"
    for name, side in (("embedded", mine), ("BPMN", theirs)):
        if bad := _disorder(side.steps, where, undo=False):
            yield f"steps out of flow order on {name}: {', '.join(bad)}"
        if bad := _disorder(side.compensated, where, undo=True):
            yield f"compensations out of order on {name}: {', '.join(bad)}"
    if sorted(mine.compensated) != sorted(theirs.compensated):
        yield f"compensated: embedded {mine.compensated}, BPMN {theirs.compensated}"
    for path in sorted(set(mine.data) | set(theirs.data)):
        if mine.data.get(path) != theirs.data.get(path):
            yield (f"data {path}: embedded {mine.data.get(path)!r}, "
                   f"BPMN {theirs.data.get(path)!r}")


def _report(case: Case, mine: Side, theirs: Side, problems: list[str]) -> str:
    lines = [f"{case.key} ({case.file}) runs differently on the two engines:"]
    lines += [f"  - {p}" for p in problems]
    for name, side in (("embedded", mine), ("BPMN", theirs)):
        lines.append(f"  {name}: outcome {side.outcome}; steps {side.steps}; "
                     f"compensated {side.compensated}")
    return "\n".join(lines)


def conform(catalog: Catalog, case: Case) -> None:
    """Run ``case`` on both engines and fail, showing both sides, where they differ."""
    result = embedded(catalog, case)
    if case.scenario.cancel is not None:
        # The BPMN has no cancel event: cancelling a Zeebe process instance is an operation on
        # it, not a path of the process. What both sides share is that it ends there.
        assert result.outcome == "cancelled", f"{case.key}: {result.outcome}: {result.problems}"
        return
    if result.refused:
        # Refused by the eligibility rules before any step: the channel service starts no
        # process instance, so there is nothing for the BPMN to run.
        assert result.steps == [], f"{case.key}: refused after steps {result.steps}"
        return
    assert result.outcome is not None, f"{case.key}: the embedded run did not end: {result.problems}"
    defn = catalog.definition(case.product, case.version)
    run = bpmn_run(catalog, case)  # HarnessError: the BPMN cannot run (a Zeebe incident)
    mine, theirs = embedded_side(defn, result), bpmn_side(defn, run)
    problems = list(differences(defn, mine, theirs))
    assert not problems, _report(case, mine, theirs, problems) + f"\n  BPMN end: {run.end}"


@pytest.mark.parametrize("case", CASES, ids=[c.key for c in CASES])
def test_the_bpmn_runs_as_the_embedded_engine(case: Case, catalog: Catalog) -> None:
    conform(catalog, case)


def test_a_staff_decline_given_as_error_is_submitted_at_the_error_path(catalog: Catalog) -> None:
    """``{error: code}`` in a scenario's inputs: the embedded engine's ``submit(error=...)``,
    the code at the step's ``error_path`` for the BPMN's decision gateway."""
    declines = [(c, step) for c in CASES for step, given in c.scenario.inputs.items()
                if (path := catalog.definition(c.product, c.version).steps[step].error_path)
                and path in given]
    assert declines, "no scenario declines at a staff step"
    for case, step in declines:
        path = catalog.definition(case.product, case.version).steps[step].error_path or ""
        given = {k: v for k, v in case.scenario.inputs[step].items() if k != path}
        code = case.scenario.inputs[step][path]
        inputs = {**case.scenario.inputs, step: {**given, "error": code}}
        changed = dataclasses.replace(case, scenario=case.scenario.model_copy(
            update={"inputs": inputs}))
        assert embedded(catalog, changed).outcome == embedded(catalog, case).outcome
        conform(catalog, changed)


def test_every_service_task_names_its_step_and_catches_technical_failures(
        catalog: Catalog) -> None:
    """What the workers of the catalogue's BPMN rely on: the ``productkit.step`` header on
    every service task and compensation handler, and the boundary event that catches the
    worker's ``productkit.failed`` on every service task."""
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
          "zeebe": "http://camunda.org/schema/zeebe/1.0"}
    for product, version in sorted({(c.product, c.version) for c in CASES}, key=str):
        defn = catalog.definition(product, version)
        root = etree.fromstring(_bpmn(defn))
        services = {s.id for s in defn.steps.values() if s.kind == "service"}
        named = {}
        for task in root.xpath("//bpmn:serviceTask", namespaces=ns):
            step = task.xpath("string(.//zeebe:header[@key='productkit.step']/@value)",
                              namespaces=ns)
            named[task.get("id")] = step
        finals = set(defn.finally_steps)
        copies = {t: s for t, s in named.items() if t.startswith("Finally_")}
        expected = {f"Task_{s}": s for s in services - finals}
        expected |= {f"Undo_{s}": s for s in services if defn.steps[s].compensation}
        assert {t: s for t, s in named.items() if t not in copies} == expected, product
        # a finally step: one copy per way the process ends, each named Finally_<end>_<step>
        assert set(copies.values()) == finals and all(t.endswith("_" + s) for t, s in copies.items())
        caught = set(root.xpath(f"//bpmn:boundaryEvent[bpmn:errorEventDefinition/@errorRef="
                                f"//bpmn:error[@errorCode='{FAILED_ERROR}']/@id]/@attachedToRef",
                                namespaces=ns))
        assert caught == {f"Task_{s}" for s in services - finals} | set(copies), product


def test_every_product_with_scenarios_is_checked() -> None:
    products = {c.product for c in CASES}
    assert len(products) >= 9 and len(CASES) >= 50, (len(products), len(CASES))
