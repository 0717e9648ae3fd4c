"""Scenario files, running: one scenario on a fresh in-memory engine with stubbed handlers and
a fake clock, and the comparison of what happened with what the scenario expects."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import ir
from ._scenario_compare import compare
from ._scenario_data import Record, ScenarioResult, norm, sample_value, values_of
from ._scenario_model import Scenario
from .diagnostics import Diagnostic, Location

__all__ = ["Confirm", "Prompt", "Record", "ScenarioResult", "run_scenario", "sample_value", "stub_handlers"]

# Asked for a screen's answers: gets the application (its screen, and the errors of the last
# answers when they were refused) and returns the fields to submit.
Prompt = Callable[[Any], Mapping[str, Any]]
# Makes the engine a scenario runs on from (catalog, handlers, clock); default: the embedded
# engine in memory. Another executor (Temporal) runs the same scenario through this.
EngineFactory = Callable[[Any, Any, Any], Any]
# Asked to confirm the sample outputs of a service step the scenario gives no result.
Confirm = Callable[[ir.Step, dict[str, Any]], dict[str, Any]]


# ----------------------------------------------------------------- running


class Clock:
    """The fake clock of a run: it moves only when the scenario says so or a wait is due."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


def _nine_am(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC)


def start_day(sc: Scenario, defn: ir.WorkflowDefinition) -> dt.date:
    """The date the application is made: the scenario's ``on``, else the product's first day."""
    if sc.on is not None:
        return sc.on
    if defn.effective.from_:
        return max(dt.date(2026, 12, 1), dt.date.fromisoformat(defn.effective.from_))
    return dt.date(2026, 12, 1)


@dataclass(slots=True)
class _Run:
    sc: Scenario
    defn: ir.WorkflowDefinition
    result: ScenarioResult
    clock: Clock
    generated: bool
    prompt: Prompt | None = None
    confirm: Confirm | None = None
    compensated: list[str] = field(default_factory=list)
    advanced: set[str] = field(default_factory=set)


def _missing_stub(run: _Run, step_id: str) -> Diagnostic:
    return Diagnostic(
        "PK701", f"scenario '{run.sc.id}' reaches service step '{step_id}' and gives it no result",
        run.result.location or Location(run.result.file),
        hint=f"add handlers: {{{step_id}: {{result: {{...}}}}}} (or error:/fail:), "
             "or write defaults: generated to let productkit invent sample outputs")


class _NoStub(Exception):
    """A strict scenario reached a service step it gives no stub."""


def _stub(run: _Run, call: Any) -> Mapping[str, object]:
    """A service step's stubbed answer: the scenario's result, error or failure, else (when
    allowed) sample outputs; a strict scenario without a stub fails the step (PK701)."""
    from .runtime import BusinessError

    defn = run.defn
    if call.compensating:
        run.compensated.append(call.step_id)
        return {}
    spec = run.sc.handlers.get(call.step_id)
    step = defn.steps[call.step_id]
    if spec is None:
        if not run.generated:
            problem = _missing_stub(run, call.step_id)
            if problem not in run.result.diagnostics:  # once, not once per retry
                run.result.diagnostics.append(problem)
            raise _NoStub(f"no stub for step {call.step_id}")
        fields = {c: defn.data[p] for c, p in step.outputs.items() if p in defn.data}
        samples = {c: sample_value(fd) for c, fd in fields.items() if fd.required}
        return run.confirm(step, samples) if run.confirm else samples
    if spec.result is not None:
        return values_of(spec.result, defn, {p: defn.data[p] for p in step.outputs.values() if p in defn.data})
    if spec.error is not None:
        raise BusinessError(spec.error)
    raise _Failure(spec.fail or "stubbed failure")


def _handlers(run: _Run) -> Any:
    from .runtime import Handlers

    handlers = Handlers()
    steps = run.defn.steps.values()
    names = {s.handler for s in steps if s.kind == "service" and s.handler}
    names |= {s.compensation.handler for s in steps if s.compensation}
    for name in sorted(names):
        handlers.register(name)(functools.partial(_stub, run))
    return handlers


def stub_handlers(defn: ir.WorkflowDefinition, sc: Scenario, compensated: list[str]) -> Any:
    """The scenario's stubs as a runtime ``Handlers`` (steps without a stub return samples);
    the steps undone are appended to ``compensated``."""
    result = ScenarioResult("", defn.id, sc.id, False)
    run = _Run(sc, defn, result, Clock(_nine_am(start_day(sc, defn))), True, None, None, compensated)
    return _handlers(run)


class _Failure(Exception):
    """A stubbed technical failure."""


def run_scenario(catalog: Any, sc: Scenario, product: str, version: str | None = None,
                 file: str = "", prompt: Prompt | None = None, *, generated: bool = False,
                 location: Location | None = None, confirm: Confirm | None = None,
                 engine: EngineFactory | None = None) -> ScenarioResult:
    """Run one scenario on a fresh in-memory engine over ``catalog`` (a runtime Catalog), or on
    the engine ``engine(catalog, handlers, clock)`` makes."""
    defn = _definition(catalog, sc, product, version)
    result = ScenarioResult(file, product, sc.id, False, channel=sc.channel or "", version=defn.version,
                            location=location)
    run = _Run(sc, defn, result, Clock(_nine_am(start_day(sc, defn))), generated, prompt, confirm)
    _execute(catalog, run, product, version, engine)
    compare(sc, result, defn)
    result.passed = not result.problems and not any(d.severity.value == "error" for d in result.diagnostics)
    return result


def _definition(catalog: Any, sc: Scenario, product: str, version: str | None) -> ir.WorkflowDefinition:
    """The definition a scenario runs: the version given, else the one on sale on its date."""
    from .runtime import NotOffered

    defn: ir.WorkflowDefinition = catalog.definition(product, version)
    if version is None and sc.on is not None:
        with contextlib.suppress(NotOffered):
            defn = catalog.current(product, sc.channel or "", sc.on).definition
    return defn


def _embedded(catalog: Any, handlers: Any, clock: Any) -> Any:
    from .runtime import Engine, MemoryStore

    return Engine(catalog, handlers=handlers, store=MemoryStore(), clock=clock, sleep=lambda seconds: None)


def _execute(catalog: Any, run: _Run, product: str, version: str | None,
             factory: EngineFactory | None = None) -> None:
    from .runtime import NotEligible, NotOffered

    result = run.result
    engine = (factory or _embedded)(catalog, _handlers(run), run.clock)
    try:
        app = engine.start(product, run.sc.channel or "", values_of(run.sc.context, run.defn),
                           version=version)
        app = _drive(engine, app, run)
    except NotOffered as exc:
        result.outcome, result.refused, result.message = "not-offered", True, (str(exc),)
        return
    except NotEligible as exc:  # refused at the door, before any step runs
        result.outcome, result.refused, result.rules = "rejected", True, exc.rules
        result.message = tuple(_eligibility_messages(run.defn, exc.rules))
        return
    except Exception as exc:  # every failure is a problem of the scenario, never a traceback
        result.problems.append(_plain_error(exc))
        return
    _collect(engine, app, run)


def _eligibility_messages(defn: ir.WorkflowDefinition, rules: tuple[str, ...]) -> list[str]:
    out = []
    for rule in defn.rules:
        if rule.id in rules:
            out += [rule.message.en, rule.message.zh_CN]
    return out


def _plain_error(exc: Exception) -> str:
    """An engine refusal in words a designer reads (no Python class names)."""
    from .runtime import InvalidContext

    if isinstance(exc, InvalidContext):
        return "the context does not fit the product: " + "; ".join(str(e) for e in exc.errors)
    return f"the engine refused the scenario: {exc}"


def _collect(engine: Any, app: Any, run: _Run) -> None:
    result = run.result
    result.outcome = app.outcome
    result.data = {k: norm(v) for k, v in app.data.items()}
    if app.message is not None:
        result.message = (app.message.en, app.message.zh_CN)
    records = engine.steps(app.id)
    result.records = [Record(r.step_id, str(r.kind), str(r.status), r.detail or "", dict(r.outputs))
                      for r in records]
    result.steps = [r.step_id for r in records
                    if r.kind == "step" and r.status in ("done", "failed", "error")]
    result.compensated = run.compensated
    result.trace = [f"{r.kind:<12} {r.step_id:<24} {r.status:<10} {r.detail or ''}".rstrip()
                    for r in records]


def _paused_at(app: Any) -> str | None:
    if app.screen is not None:
        return str(app.screen.step_id)
    return str(app.pending[0]) if app.pending else None


def _drive(engine: Any, app: Any, run: _Run) -> Any:
    """Answer screens, move the clock, cancel where told, until the application ends."""
    sc = run.sc
    for _ in range(500):
        if app.ended:
            return app
        at = _paused_at(app)
        if at is not None and at in sc.advance and at not in run.advanced:
            app = _advance(engine, app, run, at)
        elif sc.cancel is not None and (at == sc.cancel.at or sc.cancel.at in app.pending):
            reason = sc.cancel.reason or f"scenario {sc.id} cancels at {sc.cancel.at}"
            return engine.cancel(app.id, sc.cancel.by, reason)
        elif app.screen is not None:
            app, stop = _answer(engine, app, run)
            if stop:
                return app
        elif app.due is not None:
            run.clock.now = max(run.clock.now, app.due)
            engine.tick(run.clock.now)
            app = engine.get(app.id)
        else:
            run.result.problems.append(f"the application stopped in state {app.status}")
            return app
    run.result.problems.append("the application did not end within 500 steps")
    return app


def _advance(engine: Any, app: Any, run: _Run, at: str) -> Any:
    from .runtime._durations import add

    run.advanced.add(at)
    run.clock.now = add(run.clock.now, run.sc.advance[at])
    engine.tick(run.clock.now)
    return engine.get(app.id)


def _answer(engine: Any, app: Any, run: _Run) -> tuple[Any, bool]:
    """Submit the scenario's (or the prompt's) answers at the screen; True when it must stop."""
    step = app.screen.step_id
    given = run.sc.inputs.get(step)
    if given is None and run.prompt is None:
        run.result.problems.append(f"the application waits for input at step '{step}', "
                                   "and the scenario gives none")
        return app, True
    data = dict(given) if given is not None else dict(run.prompt(app) if run.prompt else {})
    error = data.pop("error", None)
    app = engine.submit(app.id, step, values_of(data, run.defn, app.screen.fields),
                        **({"error": str(error)} if error else {}))
    if app.errors and given is None:
        return app, False  # asked again, with the errors
    if app.errors:
        run.result.problems += [f"step '{step}' refused the input: {e}" for e in app.errors]
        return app, True
    return app, False
