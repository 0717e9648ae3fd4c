"""Issue 14 on the embedded engine: a table key no row covers is a named failure of the
application, never a silent value; the application date is the day the application started,
fixed for it."""

from __future__ import annotations

import datetime as dt

from productkit import ir

from .buildfixture import cond, definition, end, field, label, param, service
from .conftest import FakeClock, MakeEngine
from .products import Recorder

SCOPE = {"credit.score": "integer", "rate_by_score": "table:integer:percent", "risk.assessed_on": "date"}
BANDS = [{"from": None, "to": "600", "value": "7.50"}, {"from": "600", "to": "800", "value": "5.20"}]


def priced() -> ir.WorkflowDefinition:
    steps = [service("score", "credit.score", outputs={"score": "credit.score"}),
             end("dear", "referred", when=cond("lookup(rate_by_score, credit.score) > 7.0", SCOPE),
                 message=label("Priced above 7%"))]
    return definition("loan.banded", "1.0.0", steps, ["score", "dear"],
                      parameters={"rate_by_score": param("table:integer:percent", BANDS)},
                      data={"credit.score": ir.FieldDef(type="integer")})


def test_a_key_in_a_band_gives_its_value(make_engine: MakeEngine) -> None:
    rec = Recorder(score=599).add("credit.score")
    app = make_engine([priced()], rec.handlers).start("loan.banded", "mobile", {})
    assert app.outcome == "referred"
    rec = Recorder(score=600).add("credit.score")
    app = make_engine([priced()], rec.handlers).start("loan.banded", "mobile", {})
    assert app.outcome == "completed"


def test_a_key_no_row_covers_fails_the_application_naming_it(make_engine: MakeEngine) -> None:
    rec = Recorder(score=850).add("credit.score")
    engine = make_engine([priced()], rec.handlers)
    app = engine.start("loan.banded", "mobile", {})
    assert app.outcome == "failed"
    details = " ".join(str(r.detail) for r in engine.steps(app.id)) + " " + str(engine.get(app.id).reason)
    assert "no row of table 'rate_by_score' covers the key 850" in details


def stale() -> ir.WorkflowDefinition:
    steps = [end("redo", "referred",
                 when=cond("days_between(risk.assessed_on, application_date) > 365", SCOPE))]
    return definition("wealth.dated", "1.0.0", steps, ["redo"],
                      context={"risk.assessed_on": field("date")})


def test_the_application_date_is_the_day_it_started(make_engine: MakeEngine, clock: FakeClock) -> None:
    engine = make_engine([stale()], Recorder().handlers)
    today = clock().date()
    def assessed(days_ago: int) -> dict[str, object]:
        return {"risk": {"assessed_on": (today - dt.timedelta(days=days_ago)).isoformat()}}

    fresh = engine.start("wealth.dated", "mobile", assessed(365))
    old = engine.start("wealth.dated", "mobile", assessed(366))
    assert (fresh.outcome, old.outcome) == ("completed", "referred")
