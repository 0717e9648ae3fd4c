"""What a Program works out once per definition (dated parameter values, retry policies, step
order, the business date's zone) equals what was worked out at every step before."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from productkit import ir
from productkit.runtime._flow import walk
from productkit.runtime._protocol import Policy, Program
from productkit.runtime._values import param_value

from .buildfixture import param, service
from .products import loan

_offsets = st.sampled_from(["+08:00", "-05:30", "+00:00", "-00:00", "+14:00", "-12:00", "+05:45"])
_zones = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8)), dt.timezone(dt.timedelta(hours=-11))])


# Moments an application can have: the first and last days datetime can hold cannot move into
# every zone (both ways of working out the date raise OverflowError there).
_moments = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=_zones)


@settings(max_examples=300, deadline=None)
@given(_moments, _offsets)
def test_the_business_date_is_the_irs(at: dt.datetime, offset: str) -> None:
    program = Program.of(loan(utc_offset=offset))
    assert program.business_date(at) == ir.business_date(at, offset)
    assert program.business_date(at) == ir.business_date(at, offset)  # and again, from the cache


def _campaign() -> ir.WorkflowDefinition:
    rate = param("percent", "4.35").model_copy(update={"schedule": [
        ir.Scheduled.model_validate({"from": "2026-03-01", "until": "2026-03-31", "value": "3.85"}),
        ir.Scheduled.model_validate({"from": "2026-06-01", "value": "3.60"})]})
    defn = loan()
    return defn.model_copy(update={"parameters": {**defn.parameters, "annual_rate": rate}})


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=dt.date(2025, 12, 1), max_value=dt.date(2026, 8, 1)))
def test_dated_parameters_are_those_of_the_day(day: dt.date) -> None:
    defn = _campaign()
    program = Program.of(defn)
    expected = {n: param_value(p, day) for n, p in defn.parameters.items()}
    assert dict(program.parameters_on(day)) == expected
    assert dict(program.parameters_on(day)) == expected  # and again, from the cache


def test_policies_and_order_are_those_of_each_step() -> None:
    retry = ir.Retry(max_attempts=3, backoff="PT1S", multiplier="3", max_backoff="PT5S")
    defn = loan(extra=[service("archive", "archive.put", retry=retry, timeout="PT30S")])
    program = Program.of(defn)
    for step in defn.steps.values():
        assert program.policy(step) == Policy.of(step) or step.kind != "service"
    assert program.policy(defn.steps["archive"]) == Policy(3, 1.0, 3.0, 5.0, 30.0)
    assert list(program.order) == [sid for sid, _ in walk(defn.flow)]
    assert program.parameters_on(dt.date(2026, 3, 2)) is program.parameters  # nothing dated


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dates(min_value=dt.date(2026, 2, 20), max_value=dt.date(2026, 6, 10)), min_size=1, max_size=6))
def test_a_steps_parameters_are_those_of_the_day_and_its_own(days: list[dt.date]) -> None:
    rate = _campaign().parameters["annual_rate"]
    step = service("price", "pricing.quote").model_copy(
        update={"parameters": {"annual_rate": rate, "fee": param("money", "12.50", "CNY"),
                               "terms": param("list", [6, 12])}})
    program = Program.of(loan(extra=[step]))
    for day in days:
        given_ = program.step_parameters(step, day)
        assert given_ == {n: param_value(p, day) for n, p in step.parameters.items()}
        given_["annual_rate"] = "changed by a handler"  # a handler's copy: the next call is not
        given_["terms"].append(24)  # type: ignore[attr-defined]  # nor what is inside it
    again = program.step_parameters(step, days[0])
    assert again["annual_rate"] == param_value(rate, days[0]) and again["terms"] == [6, 12]


_durations = st.builds(lambda d, h, m, s, frac: f"P{d}DT{h}H{m}M{s}{frac}S" if d else f"PT{h}H{m}M{s}{frac}S",
                       st.integers(0, 400), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59),
                       st.sampled_from(["", ".5", ".25", ".123456", ".1234567", ".999999"]))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), _durations))
def test_a_steps_budget_is_its_timeout_as_a_timedelta(timeout: str | None) -> None:
    step = service("archive", "archive.put", timeout=timeout)
    program = Program.of(loan(extra=[step]))
    seconds = program.policy(step).timeout
    expected = None if seconds is None else dt.timedelta(seconds=seconds)
    assert program.budget(step) == expected
    assert program.budget(step) == expected  # and again, from the cache
    for other in loan().steps.values():
        if other.kind == "service":
            assert program.budget(other) is None  # the product's steps have no timeout
