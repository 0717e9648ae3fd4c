"""The Temporal executor's contract, on a real dev server: a refused screen leaves no trace in
the history, waits are durable timers and cancelling compensates, the channel service's API
answers as the embedded engine's does, the idempotency key is the same on every attempt, and
refusals are the embedded engine's errors."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from productkit.build import build
from productkit.options import Options
from productkit.runtime import (
    Catalog,
    Engine,
    Handlers,
    InvalidArgument,
    InvalidState,
    NotFound,
    StepCall,
)
from temporal_support import in_process_worker

REPO = Path(__file__).resolve().parents[1]
QUEUE = "contract"
DEPOSIT = "deposit.time-1y"
CONTEXT = {"application.id": "APP20261201000001", "customer.id": "C2026000101",
           "applicant.id_number": "110105199003071234", "applicant.mobile": "13812345678",
           "applicant.age": 36, "session.device_id": "dev-7f3a9c2e4b1d"}
ANSWERS = {"amount": {"deposit.amount": "100000.00"}, "funding": {"funding.account_number": "6222021234567890123"},
           "terms": {"consent.terms_accepted": True}, "otp": {"otp.code": "384920"}}


def _clock() -> dt.datetime:
    return dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


class Journal:
    """Handlers for every handler of the catalogue that write down each call; the fraud score
    fails its first attempt once per application."""

    def __init__(self) -> None:
        self.calls: list[StepCall] = []
        self.stubs: dict[str, Handlers] = {}  # a scenario's stubs, by the application they serve

    def handler(self, call: StepCall) -> Mapping[str, object] | None:
        self.calls.append(call)
        if call.application_id in self.stubs:
            fn = self.stubs[call.application_id].get(call.handler)
            assert fn is not None
            return fn(call)  # type: ignore[return-value]
        if call.step_id == "fraud" and call.attempt == 1:
            raise ConnectionError("the fraud service is restarting")
        if call.step_id == "book":
            return {"deposit.certificate_number": "TD20261201000123"}
        if call.step_id == "fraud":
            return {"fraud.risk_level": "low"}
        return {}

    def registry(self, catalog: Catalog) -> Handlers:
        handlers = Handlers()
        names = {h for pv in catalog for s in pv.definition.steps.values()
                 for h in (s.handler, s.compensation.handler if s.compensation else None) if h}
        for name in sorted(names):
            handlers.add(name, self.handler)
        return handlers


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    out = tmp_path_factory.mktemp("temporal-contract") / "build"
    assert not build([REPO], out, Options(release_date=dt.date(2026, 11, 27), targets=("forms",))).failed()
    return Catalog.load(out)


@pytest.fixture(scope="module")
def journal() -> Journal:
    return Journal()


@pytest.fixture(scope="module")
def engines(temporal_server: str, catalog: Catalog, journal: Journal) -> Iterator[tuple[Engine, Any]]:
    from productkit.runtime.temporal import TemporalEngine

    handlers = journal.registry(catalog)
    with in_process_worker(temporal_server, [catalog], handlers, QUEUE):
        remote = TemporalEngine(catalog, address=temporal_server, task_queue=QUEUE, handlers=handlers,
                                clock=_clock, skip_backoff=True)
        yield Engine(catalog, handlers=handlers, clock=_clock, sleep=lambda s: None), remote
        remote.close()


def _history(engine: Any, app_id: str) -> list[Any]:
    async def fetch() -> list[Any]:
        return [e async for e in engine.client.get_workflow_handle(app_id).fetch_history_events()]

    return engine._run(fetch())


def _walk(engine: Any, app: Any) -> Any:
    while app.screen is not None:
        app = engine.submit(app.id, app.screen.step_id, ANSWERS.get(app.screen.step_id, {}))
        assert not app.errors, app.errors
    return app


def test_a_refused_screen_changes_nothing_and_leaves_no_event(engines: tuple[Engine, Any]) -> None:
    local, remote = engines
    app = remote.start(DEPOSIT, "mobile", CONTEXT)
    before = _history(remote, app.id)
    refused = remote.submit(app.id, "amount", {"deposit.amount": "10.00"})
    expected = local.submit(local.start(DEPOSIT, "mobile", CONTEXT).id, "amount", {"deposit.amount": "10.00"})
    assert refused.errors == expected.errors and [e.code for e in refused.errors] == ["minimum"]
    assert refused.screen is not None and refused.screen.step_id == "amount"
    after = _history(remote, app.id)
    assert len(after) == len(before), [e.event_type for e in after[len(before):]]
    accepted = remote.submit(app.id, "amount", ANSWERS["amount"])
    assert accepted.screen is not None and accepted.screen.step_id == "funding"
    assert len(_history(remote, app.id)) > len(after)  # an accepted Update is history


def test_the_view_steps_and_audit_are_the_embedded_engines(engines: tuple[Engine, Any]) -> None:
    local, remote = engines
    mine = _walk(local, local.start(DEPOSIT, "mobile", CONTEXT))
    theirs = _walk(remote, remote.start(DEPOSIT, "mobile", CONTEXT))
    assert (theirs.outcome, theirs.status, dict(theirs.data)) == (mine.outcome, mine.status, dict(mine.data))
    assert theirs.outcome == "completed" and theirs.data["deposit.certificate_number"] == "TD20261201000123"
    assert [(r.step_id, r.kind, r.status, len(r.attempts)) for r in remote.steps(theirs.id)] == \
           [(r.step_id, r.kind, r.status, len(r.attempts)) for r in local.steps(mine.id)]
    assert [(a.kind, a.step_id) for a in remote.audit(theirs.id)] == \
           [(a.kind, a.step_id) for a in local.audit(mine.id)]
    assert remote.get(theirs.id) == remote.application(theirs.id)
    assert local.get(mine.id) == local.application(mine.id)
    assert remote.readiness("mobile", [DEPOSIT]) == local.readiness("mobile", [DEPOSIT])


def test_every_attempt_and_replay_carries_the_same_idempotency_key(engines: tuple[Engine, Any],
                                                                   journal: Journal) -> None:
    _local, remote = engines
    app = _walk(remote, remote.start(DEPOSIT, "mobile", CONTEXT))
    fraud = [c for c in journal.calls if c.application_id == app.id and c.step_id == "fraud"]
    assert [c.attempt for c in fraud] == [1, 2]  # the first attempt failed, the core retried
    assert {c.idempotency_key for c in fraud} == {f"{app.id}/fraud"}
    attempts = next(r for r in remote.steps(app.id) if r.step_id == "fraud").attempts
    assert [a.result for a in attempts] == ["error", "ok"]
    activities = [e for e in _history(remote, app.id) if e.HasField("activity_task_scheduled_event_attributes")]
    assert len(activities) == len([c for c in journal.calls if c.application_id == app.id])


def test_a_wait_is_a_durable_timer_and_cancelling_compensates(engines: tuple[Engine, Any],
                                                               catalog: Catalog, journal: Journal) -> None:
    from productkit.scenarios import expand, load_scenarios, run_scenario

    _local, remote = engines
    loaded, _ = load_scenarios(REPO / "products/wealth/steady-income-365.scenario.yaml")
    assert loaded is not None
    spec, _doc = loaded
    started: list[str] = []

    class Recording:
        """The remote engine on the scenario's clock, serving the scenario's stubs."""

        def __init__(self, stubs: Handlers, clock: Any) -> None:
            self.stubs, self.engine = stubs, copy.copy(remote)
            self.engine._local = copy.copy(remote._local)
            self.engine.clock = self.engine._local.clock = clock

        def start(self, *args: Any, **kwargs: Any) -> Any:
            started.append(f"cooling-off-{len(started)}")
            journal.stubs[started[-1]] = self.stubs
            return self.engine.start(*args, **kwargs, application_id=started[-1])

        def tick(self, now: dt.datetime) -> list[Any]:
            return [self.engine.advance(started[-1], now)]

        def __getattr__(self, name: str) -> Any:
            return getattr(self.engine, name)

    def factory(_catalog: Any, stubs: Handlers, clock: Any) -> Any:
        return Recording(stubs, clock)

    cancel = next(s for s in expand(spec) if s.id == "cancelled-by-customer-during-cooling-off")
    result = run_scenario(catalog, cancel, spec.product, engine=factory)
    assert result.outcome == "cancelled", result.problems
    app_id = started[-1]
    timers = [e.timer_started_event_attributes for e in _history(remote, app_id)
              if e.HasField("timer_started_event_attributes")]
    assert any(t.start_to_fire_timeout.ToTimedelta() > dt.timedelta(hours=23) for t in timers), timers
    undone = [c.step_id for c in journal.calls if c.application_id == app_id and c.compensating]
    assert undone == ["order", "hold"]  # newest first
    assert [r.step_id for r in remote.steps(app_id) if r.kind == "compensation"] == ["order", "hold"]


def test_refusals_are_the_embedded_engines_errors(engines: tuple[Engine, Any]) -> None:
    _local, remote = engines
    with pytest.raises(NotFound):
        remote.get("no-such-application")
    app = remote.start(DEPOSIT, "mobile", CONTEXT)
    with pytest.raises(InvalidState, match="does not wait for step 'otp'"):
        remote.submit(app.id, "otp", ANSWERS["otp"])
    with pytest.raises(InvalidArgument):
        remote.cancel(app.id, "robot", "why not")
    odd = remote.submit(app.id, "amount", {"deposit.amount": object()})
    assert [(e.path, e.code) for e in odd.errors] == [("", "type")] and odd.screen is not None
    again = remote.start(DEPOSIT, "mobile", CONTEXT, application_id=app.id)
    assert again.id == app.id and again.screen is not None and again.screen.step_id == "amount"
    cancelled = remote.cancel(app.id, "bank", "duplicate application")
    assert (cancelled.outcome, cancelled.reason) == ("cancelled", "cancelled by bank: duplicate application")
    with pytest.raises(InvalidState):
        remote.cancel(app.id, "bank", "twice")


def test_payloads_keep_exact_values_across_the_wire() -> None:
    """What travels through Temporal's payloads comes back exactly: decimals, dates, labels."""
    from decimal import Decimal

    from productkit.ir import Label
    from productkit.runtime import FieldError
    from productkit.runtime._call import attempt
    from productkit.runtime.temporal._wire import answer_of, answer_text, call_of, call_text, errors_of, errors_text

    call = StepCall("APP1", "loan.personal", "1.0.0", "web", "book", "core.loan.book", "loan.booking",
                    {"loan.amount": Decimal("182105.03"), "loan.first_due": dt.date(2027, 1, 5)},
                    {"annual_rate": Decimal("3.65")}, "APP1/book", 2, False, {})
    assert call_of(call_text(call, 9.5)) == (call, 9.5)
    answer = attempt(lambda c: {"loan.contract_amount": Decimal("182105.030000")}, call, None, _clock)
    back = answer_of(answer_text(answer))
    assert back == answer and back.outputs["loan.contract_amount"] == Decimal("182105.030000")
    errors = [FieldError("loan.amount", "minimum", "10 is below the minimum 1000.00", None,
                         Label(zh_CN="金额", en="Amount")), FieldError("", "type", "not an object")]
    assert errors_of(errors_text(errors)) == errors
