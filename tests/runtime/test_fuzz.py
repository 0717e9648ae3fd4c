"""Hostile payloads thrown at Engine.start and Engine.submit (hypothesis): wrong types, NaN and
infinities, numbers too long to write, lone surrogates, nested lists and objects, None. Only
the documented outcomes may follow (field errors, InvalidContext, NotEligible), and the
application stays readable after every refused or accepted submission.

``PRODUCTKIT_FUZZ_EXAMPLES`` sets the number of cases per test (default 150)."""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from productkit import ir
from productkit.runtime import (
    Application,
    Catalog,
    Engine,
    InvalidContext,
    NotEligible,
    SQLiteStore,
)

from .buildfixture import definition, field, user, write_build
from .conftest import FakeClock
from .products import START, loan, loan_recorder

EXAMPLES = int(os.environ.get("PRODUCTKIT_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TEXT = st.text(st.characters(categories=("Cs", "Lu", "Ll", "Nd", "Po", "Zs")), max_size=6)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(),
    st.sampled_from([10**30, 2**63, -(2**64), 0, -1]),
    st.integers(4000, 6000).map(lambda digits: -(10**digits)),  # too long to write as text
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([Decimal("1E+999999"), Decimal("-1E-999999"), Decimal("sNaN")]),
    TEXT, st.dates(), st.datetimes(),
    st.sampled_from(["", " ", "20000.00", "20000.00 CNY", "12", "NaN", "1e5", "car", "\ud800",
                     "2026-01-01", "Infinity", "-0"]),
)
KEYS = st.one_of(st.sampled_from(["amount", "currency", "term_months", "purpose", "age", "name",
                                  "$date", "$decimal", "$datetime", "loan", "applicant"]), TEXT)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(KEYS, inner, max_size=3), max_leaves=8)
LOAN = st.fixed_dictionaries({}, optional={
    "amount": VALUES, "term_months": VALUES, "purpose": VALUES, "colour": VALUES})
SUBMISSIONS = st.one_of(VALUES, st.builds(lambda d: {"loan": d}, LOAN),
                        st.builds(lambda d: {"loan": {"amount": "20000.00", "term_months": 12, **d}},
                                  st.dictionaries(KEYS, VALUES, max_size=2)))
APPLICANT = st.fixed_dictionaries({}, optional={"age": VALUES, "name": VALUES})
CONTEXTS = st.one_of(VALUES, st.builds(lambda a: {"applicant": a}, APPLICANT),
                     st.builds(lambda a: {"applicant": {"age": 30, "name": "Li", **a}},
                               st.dictionaries(KEYS, VALUES, max_size=2)))


def _listed() -> ir.WorkflowDefinition:
    return definition("p.listed", "1.0.0", [user("note", {"note.text": field("string")})],
                      context={"tags": field("list", required=False),
                               "count": field("integer", required=False)})


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    clock = FakeClock()
    catalog = Catalog.load(write_build(tmp_path / "build", [loan(), _listed()]))
    return Engine(catalog, handlers=loan_recorder().handlers, clock=clock, sleep=clock.sleep,
                  store=SQLiteStore(tmp_path / "apps.db", synchronous="NORMAL"))


def _readable(engine: Engine, app_id: str) -> Application:
    """Everything a channel reads of an application still reads."""
    app = engine.get(app_id)
    engine.steps(app_id)
    engine.audit(app_id)
    return app


def test_hostile_submissions(engine: Engine) -> None:
    @FUZZ
    @given(payload=SUBMISSIONS)
    def run(payload: object) -> None:
        app = engine.start("loan.personal", "mobile", START)
        row = engine.store.get(app.id)
        answer = engine.submit(app.id, "apply", payload)  # type: ignore[arg-type]
        after = _readable(engine, app.id)
        if answer.errors:
            assert engine.store.get(app.id) == row and after == app
            assert all(isinstance(e.path, str) and e.code for e in answer.errors)
        else:
            assert after.status == "ended" and after == answer

    run()


def _start(engine: Engine, product: str, channel: str) -> Callable[[object], None]:
    def start(context: object) -> None:
        try:
            app = engine.start(product, channel, context)  # type: ignore[arg-type]
        except InvalidContext as exc:
            assert exc.errors and all(isinstance(e.path, str) for e in exc.errors)
            return
        except NotEligible as exc:
            assert exc.rules
            return
        assert _readable(engine, app.id) == app

    return start


def test_hostile_start_contexts(engine: Engine) -> None:
    given(context=CONTEXTS)(FUZZ(_start(engine, "loan.personal", "mobile")))()


def test_hostile_free_lists(engine: Engine) -> None:
    contexts = st.builds(lambda tags, count: {"tags": tags, "count": count}, VALUES, VALUES)
    given(context=contexts)(FUZZ(_start(engine, "p.listed", "web")))()

