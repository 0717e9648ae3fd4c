"""Dated parameter values (a campaign's rate for applications started within its window): the
same value chosen by the engine, by the handlers' parameters, by screens and by Camunda's FEEL."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from productkit import expr
from productkit.build import build
from productkit.options import Options
from productkit.runtime import Catalog, Engine, Handlers, StepCall
from productkit.runtime._protocol import Program
from productkit.targets.feel import FeelScope
from test_feel_agreement import FEEL_DIR, _node

REPO = Path(__file__).resolve().parents[1]
PRODUCT = "deposit.time-1y"
TZ = dt.timezone(dt.timedelta(hours=8))
# (application date, annual rate, largest deposit): the Spring Festival campaign of the repo's
# 1-year deposit runs from 2027-01-01 through 2027-02-28.
DAYS = [(dt.date(2026, 12, 31), "1.20", "5000000.00"), (dt.date(2027, 1, 1), "1.45", "500000.00"),
        (dt.date(2027, 2, 28), "1.45", "500000.00"), (dt.date(2027, 3, 1), "1.20", "5000000.00")]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    out = tmp_path_factory.mktemp("dated") / "build"
    result = build([REPO], out, Options(release_date=dt.date(2026, 12, 1), cache=None), select=[PRODUCT])
    assert result.out is not None, [str(d) for d in result.diagnostics]
    return Catalog.load(out)


def test_the_definition_carries_the_schedule(catalog: Catalog) -> None:
    rate = catalog.definition(PRODUCT).parameters["annual_rate"]
    assert rate.value == "1.20"
    assert [(s.from_, s.until, s.value) for s in rate.schedule] == [("2027-01-01", "2027-02-28", "1.45")]


@pytest.mark.parametrize(("day", "rate", "cap"), DAYS)
def test_the_engine_and_the_catalogue_take_the_value_of_the_day(catalog: Catalog, day: dt.date, rate: str,
                                                                 cap: str) -> None:
    program = Program.of(catalog.definition(PRODUCT))
    on = program.parameters_on(day)
    assert str(on["annual_rate"]) == rate and str(on["max_deposit_amount"]).startswith(cap)
    assert str(catalog.parameters(PRODUCT, on=day)["annual_rate"]) == rate
    assert str(catalog.parameters(PRODUCT)["annual_rate"]) == "1.20"  # no date: the usual value


@pytest.mark.parametrize(("day", "rate", "cap"), DAYS)
def test_handlers_and_screens_get_the_value_of_the_application_date(catalog: Catalog, day: dt.date, rate: str,
                                                                   cap: str) -> None:
    seen: list[object] = []
    handlers = Handlers()
    for need in Engine(catalog).readiness("mobile", [PRODUCT]).needs:
        handlers.add(need.handler, lambda call: {})

    def book(call: StepCall) -> dict[str, object]:
        seen.append(call.parameters["annual_rate"])
        return {"deposit.certificate_number": "TD20270101000001"}

    handlers.add("core.deposit.open-time-deposit", book, replace=True)
    handlers.add("risk.fraud.score-transaction", lambda call: {"fraud.risk_level": "low"}, replace=True)
    engine = Engine(catalog, handlers=handlers, clock=lambda: dt.datetime.combine(day, dt.time(10), TZ))
    app = engine.start(PRODUCT, "mobile", {
        "application.id": "APP20270101000001", "customer.id": "C2027000101",
        "applicant.id_number": "110105199003071234", "applicant.mobile": "13812345678", "applicant.age": 36,
        "session.device_id": "dev-7f3a9c2e4b1d"})
    assert app.screen is not None and str(app.screen.shows["annual_rate"]) == rate  # the rate shown
    answers = {"amount": {"deposit.amount": "100000.00"}, "funding": {"funding.account_number": "6222021234567890123"},
               "terms": {"consent.terms_accepted": True}, "otp": {"otp.code": "384920"}}
    while app.screen is not None:
        app = engine.submit(app.id, app.screen.step_id, answers.get(app.screen.step_id, {}))
    assert app.outcome == "completed" and [str(r) for r in seen] == [rate]


def test_feel_chooses_the_same_value_as_the_engine(catalog: Catalog) -> None:
    """Camunda gets the dated value from the application date every process starts with:
    feelin evaluates the BPMN's FEEL on each side of both edges of the window."""
    node = _node()
    if node is None:
        pytest.skip("Node.js and npm are needed to run the FEEL interpreter")
    defn = catalog.definition(PRODUCT)
    text = "deposit.amount > max_deposit_amount && annual_rate > 1.3"
    cond = expr.check(text, {"deposit.amount": "money", "max_deposit_amount": "money", "annual_rate": "percent"})
    assert not isinstance(cond, list), cond
    feel = FeelScope.of_definition(defn).of(cond)
    assert feel is not None and "application_date" in feel
    items = []
    for day, *_ in DAYS:
        for amount in ("800000.00", "6000000.00"):
            env = {**Program.of(defn).parameters_on(day), "deposit.amount": Decimal(amount), "application_date": day}
            want = expr.evaluate(cond, env)
            items.append((want, {"expr": feel, "context": {"deposit": {"amount": amount},
                                                           "application_date": day.isoformat()}}))
    proc = subprocess.run([node, str(FEEL_DIR / "eval.js")], input="\n".join(json.dumps(c) for _, c in items),
                          text=True, capture_output=True, check=True, timeout=120)
    got = [json.loads(line).get("value") for line in proc.stdout.splitlines()]
    assert got == [want for want, _ in items]
    assert got == [False, False, True, True, True, True, False, False]  # over the campaign cap, in its window


def test_the_application_date_is_the_business_calendars_date(catalog: Catalog) -> None:
    """A service on UTC that starts an application at 23:30 UTC on 31 December starts it on
    1 January in Beijing: the campaign applies, as it would to a branch's customer that morning."""
    from productkit.ir import business_date

    late = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    defn = catalog.definition(PRODUCT)
    assert defn.utc_offset == "+08:00" and business_date(late, defn.utc_offset) == dt.date(2027, 1, 1)
    assert catalog.business_date(late) == dt.date(2027, 1, 1)
    handlers = Handlers()
    for need in Engine(catalog).readiness("mobile", [PRODUCT]).needs:
        handlers.add(need.handler, lambda call: {})
    app = Engine(catalog, handlers=handlers, clock=lambda: late).start(PRODUCT, "mobile", {
        "application.id": "APP20270101000002", "customer.id": "C2027000102",
        "applicant.id_number": "110105199003071234", "applicant.mobile": "13812345678", "applicant.age": 36,
        "session.device_id": "dev-7f3a9c2e4b1d"})
    assert app.screen is not None and str(app.screen.shows["annual_rate"]) == "1.45"
