"""Starting and submitting: context and eligibility at start, field-level errors at submit,
and nothing changed when a submission is rejected."""

from __future__ import annotations

from decimal import Decimal

import pytest

from productkit import ir
from productkit.runtime import InvalidContext, InvalidState, NotEligible, NotOffered, NotReady

from .conftest import MakeEngine
from .products import START, Recorder, loan, loan_recorder


def _codes(errors: object) -> set[tuple[str, str]]:
    return {(e.path, e.code) for e in errors}  # type: ignore[attr-defined]


@pytest.mark.parametrize(("loan_data", "expected"), [
    ({"amount": "abc", "term_months": 12}, {("loan.amount", "type")}),
    ({"amount": "20000.001", "term_months": 12}, {("loan.amount", "scale")}),
    ({"amount": "90000.00", "term_months": 12}, {("loan.amount", "maximum")}),
    ({"amount": "20000.00", "term_months": 7}, {("loan.term_months", "step")}),
    ({"amount": "20000.00", "term_months": 48}, {("loan.term_months", "maximum")}),
    ({"term_months": 12}, {("loan.amount", "required")}),
    ({"amount": "20000.00", "term_months": 12, "purpose": "boat"}, {("loan.purpose", "enum")}),
    ({"amount": "20000.00", "term_months": 12, "colour": "red"}, {("loan.colour", "unknown")}),
    ({"amount": 20000, "term_months": "twelve"}, {("loan.term_months", "type")}),
])
def test_submit_reports_field_errors_and_changes_nothing(
        make_engine: MakeEngine, loan_data: dict[str, object], expected: set[tuple[str, str]]) -> None:
    rec = loan_recorder()
    engine = make_engine([loan()], rec.handlers)
    app = engine.start("loan.personal", "mobile", START)
    before = (engine.store.get(app.id), len(engine.audit(app.id)), len(engine.steps(app.id)))

    rejected = engine.submit(app.id, "apply", {"loan": loan_data})
    assert _codes(rejected.errors) == expected
    assert rejected.status == "awaiting_input" and rejected.screen is not None
    assert (engine.store.get(app.id), len(engine.audit(app.id)), len(engine.steps(app.id))) == before
    assert rec.steps() == ["kyc"]


def test_a_rule_reading_a_field_reports_on_that_field(make_engine: MakeEngine) -> None:
    engine = make_engine([loan()], loan_recorder().handlers)
    app = engine.start("loan.personal", "mobile", START)
    # 60000.00 is inside the field's bounds but above the max_amount parameter (rule within_limit).
    rejected = engine.submit(app.id, "apply", {"loan": {"amount": "60000.00", "term_months": 12}})
    [error] = rejected.errors
    assert (error.path, error.code, error.rule) == ("loan.amount", "rule", "within_limit")
    assert error.label is not None and error.label.en == "The amount is above the product's maximum"


def test_every_problem_is_reported_at_once(make_engine: MakeEngine) -> None:
    engine = make_engine([loan()], loan_recorder().handlers)
    app = engine.start("loan.personal", "mobile", START)
    rejected = engine.submit(app.id, "apply", {"loan": {"amount": "1.5", "term_months": 5,
                                                        "purpose": "boat"}})
    assert _codes(rejected.errors) == {("loan.amount", "minimum"), ("loan.term_months", "minimum"),
                                       ("loan.term_months", "step"), ("loan.purpose", "enum")}


def test_flat_forms_and_flat_submissions(make_engine: MakeEngine) -> None:
    engine = make_engine([loan()], loan_recorder().handlers, form_style="flat")
    app = engine.start("loan.personal", "mobile", START)
    assert app.screen is not None and app.screen.form is not None
    assert "loan.amount" in app.screen.form.schema["properties"]
    bad = engine.submit(app.id, "apply", {"loan.amount": "x", "loan.term_months": 12})
    assert _codes(bad.errors) == {("loan.amount", "type")}
    done = engine.submit(app.id, "apply", {"loan.amount": Decimal("1500.50"), "loan.term_months": 6})
    assert (done.outcome, done.data["loan.amount"]) == ("completed", Decimal("1500.50"))


def test_submitting_a_step_that_is_not_shown(make_engine: MakeEngine) -> None:
    engine = make_engine([loan()], loan_recorder().handlers)
    app = engine.start("loan.personal", "mobile", START)
    with pytest.raises(InvalidState, match="pending: apply"):
        engine.submit(app.id, "kyc", {})


def test_start_checks_context_eligibility_channel_and_handlers(make_engine: MakeEngine) -> None:
    engine = make_engine([loan()], loan_recorder().handlers)
    with pytest.raises(NotEligible) as not_eligible:
        engine.start("loan.personal", "mobile", {"applicant": {"age": 16, "name": "Xiao Ming"}})
    assert not_eligible.value.rules == ("adult",)
    with pytest.raises(InvalidContext) as invalid:
        engine.start("loan.personal", "mobile", {"applicant": {"age": "old"}})
    assert _codes(invalid.value.errors) == {("applicant.age", "type"), ("applicant.name", "required")}
    with pytest.raises(NotOffered):
        engine.start("loan.personal", "counter", START)

    partial = make_engine([loan()], Recorder().add("kyc.verify").handlers)
    with pytest.raises(NotReady) as not_ready:
        partial.start("loan.personal", "mobile", START)
    assert "core.close-loan" in not_ready.value.missing
    assert engine.store.ids(["running", "awaiting_input", "ended"]) == []


def test_start_with_an_application_id_is_idempotent(make_engine: MakeEngine) -> None:
    rec = loan_recorder()
    engine = make_engine([loan()], rec.handlers)
    first = engine.start("loan.personal", "mobile", START, application_id="A-1")
    again = engine.start("loan.personal", "mobile", START, application_id="A-1")
    assert (first.id, again.id, again.status) == ("A-1", "A-1", "awaiting_input")
    assert rec.steps() == ["kyc"]
    with pytest.raises(InvalidState, match=r"exists for loan\.personal"):
        engine.start("card.other", "mobile", {}, application_id="A-1")


def test_context_declared_for_some_channels_is_required_there_and_refused_elsewhere(
        make_engine: MakeEngine) -> None:
    base = loan()
    partner = ir.FieldDef(type="string", channels=["web"])
    defn = base.model_copy(update={"context": {**base.context, "partner.id": partner}})
    engine = make_engine([defn], loan_recorder().handlers)
    with pytest.raises(InvalidContext) as missing:
        engine.start("loan.personal", "web", START)
    assert _codes(missing.value.errors) == {("partner.id", "required")}
    on_web = engine.start("loan.personal", "web", {**START, "partner": {"id": "P100231"}})
    assert on_web.data["partner.id"] == "P100231"
    on_mobile = engine.start("loan.personal", "mobile", START)
    assert "partner.id" not in on_mobile.data
    with pytest.raises(InvalidContext) as stray:
        engine.start("loan.personal", "mobile", {**START, "partner": {"id": "P100231"}})
    assert _codes(stray.value.errors) == {("partner.id", "unknown")}
