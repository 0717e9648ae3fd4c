"""Same behaviour on Temporal: every scenario of every product in the repo's catalogue runs on
the embedded engine and on Temporal (a dev server started for the test session, an in-process
worker) with the same stub handlers, and they agree on the steps taken, the outcome, the steps
compensated and the final data (the comparison SpiffWorkflow passes, ``test_conformance``), and
on every step record. Waits are fired by ``advance`` at the scenario's clock (the embedded
engine's ``tick``), retry backoffs are not waited (``skip_backoff``, the embedded run's
``sleep``); nothing sleeps in real time.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import re
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from productkit.build import build
from productkit.diagnostics import Severity
from productkit.options import Options
from productkit.runtime import Catalog, Handlers, StepCall
from productkit.scenarios import ScenarioResult, run_scenario
from temporal_support import in_process_worker
from test_conformance import CASES, RELEASE, Case, differences, embedded_side

REPO = Path(__file__).resolve().parents[1]
QUEUE = "conformance"


class Routes:
    """The worker's handlers: each call goes to the stubs of the scenario that started its
    application (the worker is shared; the stubs are per scenario)."""

    def __init__(self) -> None:
        self.by_app: dict[str, Any] = {}
        self._lock = threading.Lock()

    def registry(self, catalog: Catalog) -> Handlers:
        handlers = Handlers()
        names = {h for pv in catalog for s in pv.definition.steps.values()
                 for h in (s.handler, s.compensation.handler if s.compensation else None) if h}
        for name in sorted(names):
            handlers.add(name, self._call)
        return handlers

    def _call(self, call: StepCall) -> Mapping[str, object] | None:
        with self._lock:
            stubs = self.by_app[call.application_id]
        fn = stubs.get(call.handler)
        assert fn is not None, call.handler
        return fn(call)  # type: ignore[no-any-return]


class OneApplication:
    """The engine a scenario runs on: the shared connection, with the scenario's clock and
    stubs; ``tick`` advances the scenario's one application."""

    def __init__(self, shared: Any, routes: Routes, handlers: Handlers, clock: Any) -> None:
        engine = copy.copy(shared)  # the same client and event loop; this scenario's clock
        engine._local = copy.copy(shared._local)
        engine.clock = engine._local.clock = clock
        self.engine, self.routes, self.handlers, self.app_id = engine, routes, handlers, ""

    def start(self, product_id: str, channel: str, context: Mapping[str, object],
              version: str | None = None) -> Any:
        import uuid

        self.app_id = uuid.uuid4().hex
        self.routes.by_app[self.app_id] = self.handlers
        return self.engine.start(product_id, channel, context, version, application_id=self.app_id)

    def tick(self, now: dt.datetime) -> list[Any]:
        return [self.engine.advance(self.app_id, now)]

    def __getattr__(self, name: str) -> Any:  # submit, cancel, get, steps, audit
        return getattr(self.engine, name)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    out = tmp_path_factory.mktemp("temporal-conformance") / "build"
    built = build([REPO], out, Options(release_date=RELEASE, targets=("forms",)))
    assert not built.failed(), [str(d) for d in built.diagnostics if d.severity is Severity.ERROR]
    return Catalog.load(out)


@pytest.fixture(scope="module")
def on_temporal(temporal_server: str, catalog: Catalog) -> Iterator[Any]:
    from productkit.runtime.temporal import TemporalEngine

    routes = Routes()
    workers = routes.registry(catalog)
    with in_process_worker(temporal_server, [catalog], workers, QUEUE):
        engine = TemporalEngine(catalog, address=temporal_server, task_queue=QUEUE, handlers=workers,
                                skip_backoff=True)

        def factory(_catalog: Any, handlers: Handlers, clock: Any) -> OneApplication:
            return OneApplication(engine, routes, handlers, clock)

        # The scenarios run side by side, each its own application, as on a channel service.
        with ThreadPoolExecutor(max_workers=16) as pool:
            runs = list(pool.map(lambda case: _run(catalog, case, factory), CASES))
        yield {case.key: run for case, run in zip(CASES, runs, strict=True)}
        engine.close()


def _run(catalog: Catalog, case: Case, engine: Any = None) -> ScenarioResult:
    return run_scenario(catalog, case.scenario, case.product, case.version, case.file, engine=engine)


_TIME = re.compile(r"\d{4}-\d\d-\d\dT[0-9:.]+(?:[+-]\d\d:\d\d|Z)?")


def _timeless(records: list[Any]) -> list[Any]:
    """Step records with the times in their details blanked: on Temporal the application's clock
    also runs while workers work (milliseconds); the scenario's fake clock stands still."""
    return [dataclasses.replace(r, detail=_TIME.sub("<time>", r.detail)) for r in records]


@pytest.mark.parametrize("case", CASES, ids=[c.key for c in CASES])
def test_temporal_runs_as_the_embedded_engine(case: Case, catalog: Catalog, on_temporal: Any) -> None:
    mine, theirs = _run(catalog, case), on_temporal[case.key]
    assert not theirs.problems, f"{case.key} on Temporal: {theirs.problems}"
    assert theirs.passed == mine.passed, (case.key, mine.problems, theirs.problems)
    defn = catalog.definition(case.product, case.version)
    problems = [p.replace("BPMN", "Temporal") for p in
                differences(defn, embedded_side(defn, mine), embedded_side(defn, theirs))]
    assert not problems, f"{case.key} runs differently on Temporal:\n" + "\n".join(problems)
    assert _timeless(theirs.records) == _timeless(mine.records), f"{case.key}: step records differ"
    assert (theirs.outcome, theirs.refused, theirs.message) == (mine.outcome, mine.refused, mine.message)
