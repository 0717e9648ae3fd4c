"""productkit.expr on its own: checking, exact fixed-point evaluation, names, FEEL translation.

Evaluation results are compared with Python's ``decimal`` module (an oracle outside the code
under test); FEEL translations are compared with the expected FEEL text of each operator form.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from productkit import expr
from productkit.compile import json_value
from productkit.ir import Condition, ParamValue
from productkit.targets.feel import FeelScope
from productkit.types import Money, parse_duration

SCOPE = {
    "applicant.age": "integer",
    "applicant.name": "string",
    "applicant.resident": "boolean",
    "applicant.birth_date": "date",
    "applicant.tags": "list:string",
    "kyc.status": "enum",
    "deposit.amount": "money",
    "annual_rate": "percent",
    "max_amount": "money",
    "min_amount": "money",
    "rate.value": "decimal",
    "start_date": "date",
    "cooling_off": "duration",
    "term_months": "integer",
}
MICRO = Decimal("0.000001")


def checked(text: str, want: str | None = "boolean") -> Condition:
    result = expr.check(text, SCOPE, want)
    assert isinstance(result, Condition), result
    return result


def problems(text: str, want: str | None = "boolean") -> list[tuple[str, int]]:
    result = expr.check(text, SCOPE, want)
    assert isinstance(result, list), f"{text!r} type-checks"
    return [(p.code, p.offset) for p in result]


def cny(amount: str) -> Money:
    return Money(Decimal(amount), "CNY")


# ------------------------------------------------------------------ checking


@pytest.mark.parametrize(("text", "want", "code", "offset"), [
    ("applicant.age >= 18 &&", "boolean", "PK301", 22),
    ("applicant.age >= (18", "boolean", "PK301", 20),
    ("applicant.agee >= 18", "boolean", "PK302", 0),
    ("applicant.age >= 18 && anual_rate > 1.0", "boolean", "PK302", 23),
    ("annual_rate >= 2", "boolean", "PK303", 12),
    ("deposit.amount == 50000", "boolean", "PK303", 15),
    ("kyc.status == 1", "boolean", "PK303", 11),
    ("deposit.amount < 0.0000001", "boolean", "PK303", 17),
    ("deposit.amount < 1.5e3", "boolean", "PK303", 17),
    # durations travel as ISO text: compared as text at run time, so refused here
    ("applicant.age > 1 && cooling_off == null", "boolean", "PK303", 21),
    ('date("2026-01-01") + duration("P1D") > date("2026-01-01")', "boolean", "PK303", 21),
    ("applicant.age > 1", "decimal", "PK303", 0),
    ("applicant.age + 1", "boolean", "PK304", 0),
    ("applicant.name", "boolean", "PK304", 0),
    ("deposit.amount * 2.0 > 1.0", "boolean", "PK305", 15),
    ("dec_div(deposit.amount, 3.0) / 2.0 > 1.0", "boolean", "PK305", 29),
    ("annual_rate % 2 > 1.0", "boolean", "PK303", 12),  # a decimal remainder takes a decimal
    ("has(annual_rate)", "boolean", "PK307", 4),  # a parameter is never absent
    ("annual_rate == null", "boolean", "PK307", 0),
    ("double(applicant.age) > 1.0", "boolean", "PK305", 0),
])
def test_problems_have_a_code_and_an_offset(text: str, want: str, code: str, offset: int) -> None:
    assert problems(text, want) == [(code, offset)]


def test_unknown_name_suggests_the_nearest() -> None:
    result = expr.check("applicant.agee >= 18", SCOPE)
    assert isinstance(result, list)
    assert result[0].hint is not None and "applicant.age" in result[0].hint


def test_integer_compared_with_decimal_hints_at_dec() -> None:
    result = expr.check("annual_rate >= 2", SCOPE)
    assert isinstance(result, list) and result[0].hint is not None
    assert "dec(n)" in result[0].hint


@pytest.mark.parametrize(("text", "want", "kind"), [
    ("applicant.age >= 18", "boolean", "boolean"),
    ("applicant.age + term_months", "integer", "integer"),
    ("deposit.amount + 1.5", "money", "decimal"),
    ("dec_mul(annual_rate, 2.0)", "percent", "decimal"),
    ('kyc.status == "passed" ? "ok" : "no"', "enum", "string"),
    ('date("2026-01-01")', "date", "date"),
    ('date("2026-01-01") + duration("24h")', "date", "date"),
])
def test_result_types(text: str, want: str, kind: str) -> None:
    assert checked(text, want).type == kind


def test_decimal_literals_are_scaled_in_the_executed_text_only() -> None:
    cond = checked('deposit.amount >= 50000.25 && kyc.status != "1.5"')
    assert cond.cel == 'deposit.amount >= 50000.25 && kyc.status != "1.5"'
    assert cond.exec == 'deposit.amount >= 50000250000 && kyc.status != "1.5"'
    assert cond.scale == expr.SCALE == 6


# ------------------------------------------------------------------ names


@pytest.mark.parametrize(("text", "names", "decimals"), [
    ("applicant.age >= 18 && annual_rate > 1.0", ["annual_rate", "applicant.age"], ["annual_rate"]),
    ('channel == "web" || applicant.resident', ["applicant.resident", "channel"], []),
    ('applicant.name.startsWith("Li") && size(applicant.tags) > 0', ["applicant.name", "applicant.tags"], []),
    ("dec_mul(deposit.amount, annual_rate) <= max_amount && deposit.amount >= min_amount",
     ["annual_rate", "deposit.amount", "max_amount", "min_amount"],
     ["annual_rate", "deposit.amount", "max_amount", "min_amount"]),
    ("applicant.age > 1 ? rate.value : dec(term_months)", ["applicant.age", "rate.value", "term_months"],
     ["rate.value"]),
    ("true", [], []),
    ('applicant.tags.exists(t, t == "vip") && applicant.tags.all(t, size(t) > 0)', ["applicant.tags"], []),
])
def test_names_are_the_parameters_and_paths_read(text: str, names: list[str], decimals: list[str]) -> None:
    cond = checked(text, None)
    assert cond.names == names
    assert cond.decimals == decimals


def test_a_name_is_the_longest_declared_prefix() -> None:
    scope = {"applicant": "string", "applicant.address.city": "string"}
    cond = expr.check('applicant.address.city == "Wuhan"', scope)
    assert isinstance(cond, Condition)
    assert cond.names == ["applicant.address.city"]


# ------------------------------------------------------------------ evaluation


def test_point_one_plus_point_two_is_point_three() -> None:
    assert expr.evaluate(checked("0.1 + 0.2 == 0.3"), {}) is True
    assert expr.evaluate(checked("rate.value + 0.2 == 0.3"), {"rate.value": Decimal("0.1")}) is True
    assert expr.evaluate(checked("0.1 + 0.2", "decimal"), {}) == Decimal("0.3")


def test_amount_equal_to_max_amount_is_at_the_edge() -> None:
    eq, le, lt = checked("deposit.amount == max_amount"), checked("deposit.amount <= max_amount"), \
        checked("deposit.amount < max_amount")
    at = {"deposit.amount": cny("50000.00"), "max_amount": cny("50000.00")}
    above = {"deposit.amount": cny("50000.01"), "max_amount": cny("50000.00")}
    assert [expr.evaluate(c, at) for c in (eq, le, lt)] == [True, True, False]
    assert [expr.evaluate(c, above) for c in (eq, le, lt)] == [False, False, False]


def test_trailing_zeros_do_not_matter() -> None:
    cond = checked("deposit.amount == max_amount")
    assert expr.evaluate(cond, {"deposit.amount": cny("1.1"), "max_amount": cny("1.100000")}) is True
    assert expr.evaluate(checked("rate.value == 1.10"), {"rate.value": Decimal("1.1")}) is True


@pytest.mark.parametrize(("text", "result"), [
    ("dec_mul(0.000001, 0.5)", "0"),            # 0.0000005: half to even, down to 0
    ("dec_mul(0.000003, 0.5)", "0.000002"),     # 0.0000015: half to even, up to 2
    ("dec_mul(0.000005, 0.5)", "0.000002"),     # 0.0000025: half to even, down to 2
    ("dec_mul(0.000007, 0.5)", "0.000004"),     # 0.0000035: half to even, up to 4
    ("dec_mul(-0.000005, 0.5)", "-0.000002"),   # symmetric for negatives
    ("dec_mul(0.000001, 0.6)", "0.000001"),     # above half: up
    ("dec_mul(1234.56, 1.75)", "2160.48"),
    ("dec_div(1.0, 3.0)", "0.333333"),
    ("dec_div(2.0, 3.0)", "0.666667"),
    ("dec_div(0.000001, 2.0)", "0"),            # 0.0000005: half to even, down
    ("dec_div(0.000003, 2.0)", "0.000002"),     # 0.0000015: half to even, up
    ("dec_div(-0.000003, 2.0)", "-0.000002"),
    ("dec(7) + 0.5", "7.5"),
])
def test_dec_mul_and_dec_div_round_half_even(text: str, result: str) -> None:
    assert expr.evaluate(checked(text, "decimal"), {}) == Decimal(result)


def test_integer_arithmetic_stays_integer() -> None:
    assert expr.evaluate(checked("applicant.age / 2", "integer"), {"applicant.age": 7}) == 3
    assert expr.evaluate(checked("applicant.age * 2 + 1", "integer"), {"applicant.age": 7}) == 15


def test_evaluation_problems_raise_expr_error() -> None:
    with pytest.raises(expr.ExprError, match="dec_div"):
        expr.evaluate(checked("dec_div(rate.value, 0.0) > 1.0"), {"rate.value": Decimal(1)})
    with pytest.raises(expr.ExprError, match="null"):  # absent data is null; null > 1.0 has no meaning
        expr.evaluate(checked("rate.value > 1.0"), {})
    assert expr.evaluate(checked('applicant.name == "Li"'), {}) is False  # null == "Li", as in FEEL
    with pytest.raises(expr.ExprError, match=re.escape("rate.value")):
        expr.evaluate(checked("rate.value > 1.0"), {"rate.value": Decimal("0.0000001")})


def test_macro_variables_are_not_inputs() -> None:
    cond = checked('applicant.tags.exists(t, t == "vip") && applicant.age > 1')
    assert expr.evaluate(cond, {"applicant.tags": ("new", "vip"), "applicant.age": 2}) is True
    assert expr.evaluate(cond, {"applicant.tags": ("new",), "applicant.age": 2}) is False


def test_dates_durations_lists_and_channel() -> None:
    env: dict[str, object] = {"applicant.birth_date": dt.date(2000, 5, 1), "applicant.tags": ("vip", "new"),
                              "channel": "web", "cooling_off": parse_duration("P14D")}
    assert expr.evaluate(checked('applicant.birth_date < date("2000-05-02")'), env) is True
    assert expr.evaluate(checked('"vip" in applicant.tags && channel == "web"'), env) is True
    assert expr.evaluate(checked('date("2026-01-01")', "date"), {}) == dt.date(2026, 1, 1)
    assert expr.evaluate(checked('applicant.birth_date + duration("336h") == date("2000-05-15")'), env) is True
    # a duration-typed name travels as ISO text at run time: refused by the checker (PK303)
    assert [p.code for p in expr.check('cooling_off > duration("336h")', SCOPE)] == ["PK303"]  # type: ignore[union-attr]


DECIMALS = st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=6,
                       allow_nan=False, allow_infinity=False)
ADD = checked("rate.value + dec_mul(deposit.amount, 1.0)", "decimal")
LESS = checked("rate.value < deposit.amount")
EQUAL = checked("rate.value == deposit.amount")
MUL = checked("dec_mul(rate.value, deposit.amount)", "decimal")
DIV = checked("dec_div(rate.value, deposit.amount)", "decimal")


@settings(max_examples=60, deadline=None)
@given(DECIMALS, DECIMALS)
def test_fixed_point_agrees_with_python_decimal(a: Decimal, b: Decimal) -> None:
    env = {"rate.value": a, "deposit.amount": Money(b, "CNY")}
    assert expr.evaluate(ADD, env) == a + b
    assert expr.evaluate(LESS, env) is (a < b)
    assert expr.evaluate(EQUAL, env) is (a == b)
    assert expr.evaluate(MUL, env) == (a * b).quantize(MICRO, ROUND_HALF_EVEN)
    if b != 0:
        assert expr.evaluate(DIV, env) == (a / b).quantize(MICRO, ROUND_HALF_EVEN)


# ------------------------------------------------------------------ FEEL


PARAMS: dict[str, object] = {"annual_rate": Decimal("1.75"), "max_amount": cny("50000.00"),
                             "start_date": dt.date(2026, 1, 1), "term_months": 12}


def _feel(cond: Condition) -> str | None:
    params = {n: ParamValue(type=SCOPE[n], value=json_value(v)) for n, v in PARAMS.items()}
    return FeelScope(SCOPE, params).of(cond)


@pytest.mark.parametrize(("text", "feel"), [
    ("applicant.age == 18", "(applicant.age = 18)"),
    ("applicant.age != 18", "(applicant.age != 18)"),
    ("applicant.age < 18", "(applicant.age < 18)"),
    ("applicant.age <= 18", "(applicant.age <= 18)"),
    ("applicant.age > 18", "(applicant.age > 18)"),
    ("applicant.age >= 18", "(applicant.age >= 18)"),
    ("applicant.resident && applicant.age > 1", "(applicant.resident and (applicant.age > 1))"),
    ("applicant.resident || applicant.age > 1", "(applicant.resident or (applicant.age > 1))"),
    ("!applicant.resident", "not(applicant.resident)"),
    ("-applicant.age < 0", "((-applicant.age) < 0)"),
    ("applicant.age + 1 - 2 > 0", "(((applicant.age + 1) - 2) > 0)"),
    ("applicant.age * 2 > 0", "((applicant.age * 2) > 0)"),
    ("applicant.age >= 0x10", "(applicant.age >= 16)"),
    ('kyc.status in ["passed", "manual"]', '(list contains(["passed", "manual"], kyc.status))'),
    ("applicant.age > 60 ? applicant.resident : false",
     "(if (applicant.age > 60) = true then applicant.resident "
     "else if (applicant.age > 60) = false then false else null)"),
    ('kyc.status == "say \\"hi\\""', '(kyc.status = "say \\"hi\\"")'),
    ("dec_mul(deposit.amount, 2.0) > 1.5", "(decimal(number(deposit.amount) * 2.0, 6) > 1.5)"),
    ("dec_div(deposit.amount, 4.0) > 1.5", "(decimal(number(deposit.amount) / 4.0, 6) > 1.5)"),
    ("applicant.age / 2 == 3",
     "(if (if (applicant.age / 2) >= 0 then floor((applicant.age / 2)) else ceiling((applicant.age / 2))) = null"
     " then null else ((if (applicant.age / 2) >= 0 then floor((applicant.age / 2))"
     " else ceiling((applicant.age / 2))) = 3))"),
    ("dec(applicant.age) > 1.5", "(applicant.age > 1.5)"),
    ("size(applicant.tags) > 1", "(count(applicant.tags) > 1)"),
    ("size(applicant.name) > 1", "(string length(applicant.name) > 1)"),
    ("applicant.name.size() > 1", "(string length(applicant.name) > 1)"),
    ('applicant.name.startsWith("Li")', 'starts with(applicant.name, "Li")'),
    ('applicant.name.endsWith("i")', 'ends with(applicant.name, "i")'),
    ('applicant.name.contains("i")', 'contains(applicant.name, "i")'),
    ('applicant.name.matches("^L")', 'matches(applicant.name, "^L")'),
    ('applicant.birth_date < date("2000-01-01")', '(date(applicant.birth_date) < date("2000-01-01"))'),
    ('channel == "web"', '(channel = "web")'),
    # parameters are inlined as exact literals
    ("deposit.amount <= max_amount", "(number(deposit.amount) <= 50000.00)"),
    ("annual_rate > 1.5", "(1.75 > 1.5)"),
    ("applicant.birth_date < start_date", '(date(applicant.birth_date) < date("2026-01-01"))'),
    ("term_months >= 12", "(12 >= 12)"),
    ("applicant.age % 2 > 0",
     "((if modulo(applicant.age, 2) != 0 and applicant.age * 2 < 0 then modulo(applicant.age, 2) - 2"
     " else modulo(applicant.age, 2)) > 0)"),
    ("has(applicant.birth_date)", "(applicant.birth_date != null)"),
    ("null == applicant.birth_date", "(applicant.birth_date = null)"),
    ("days_between(applicant.birth_date, application_date) > 365",
     "(((date(application_date)) - (date(applicant.birth_date))).days > 365)"),
])
def test_feel_translation_of_each_form(text: str, feel: str) -> None:
    assert _feel(checked(text, None)) == feel


@pytest.mark.parametrize("text", [
    'applicant.tags[0] == "vip"',      # no index translation
    "applicant.age >= 16u",            # (does not check: uint against int)
])
def test_what_feel_cannot_say_is_none_not_a_guess(text: str) -> None:
    result = expr.check(text, SCOPE, None)
    if isinstance(result, Condition):
        assert _feel(result) is None
    else:
        assert result[0].code == "PK303"


# ------------------------------------------------------------------ issue 14: %, dates, absence


@pytest.mark.parametrize(("text", "env", "want"), [
    ("deposit.amount % 10000.0", {"deposit.amount": cny("30000.00")}, Decimal(0)),
    ("deposit.amount % 10000.0", {"deposit.amount": cny("-25000.50")}, Decimal("-5000.5")),
    ("deposit.amount % -10000.0", {"deposit.amount": cny("25000.50")}, Decimal("5000.5")),
    ("rate.value % 0.25", {"rate.value": Decimal("1.30")}, Decimal("0.05")),
    ("applicant.age % -3", {"applicant.age": -7}, -1),
])
def test_remainder_is_exact_and_takes_the_sign_of_the_dividend(text: str, env: dict[str, object],
                                                                want: object) -> None:
    assert expr.evaluate(checked(text, None), env) == want


@pytest.mark.parametrize(("text", "want"), [
    ("add_months(applicant.birth_date, 1)", dt.date(2024, 2, 29)),   # clamped to the month's end
    ("add_months(applicant.birth_date, 13)", dt.date(2025, 2, 28)),
    ("add_months(applicant.birth_date, -2)", dt.date(2023, 11, 30)),
    ("add_days(applicant.birth_date, -31)", dt.date(2023, 12, 31)),
    ("days_between(applicant.birth_date, application_date)", 366 + 365 - 30),
    ("days_between(application_date, applicant.birth_date)", -(366 + 365 - 30)),
])
def test_date_functions_are_calendar_exact(text: str, want: object) -> None:
    env = {"applicant.birth_date": dt.date(2024, 1, 31), "application_date": dt.date(2026, 1, 1)}
    assert expr.evaluate(checked(text, None), env) == want


@pytest.mark.parametrize(("text", "env", "want"), [
    ("has(applicant.birth_date)", {}, False),
    ("has(applicant.birth_date)", {"applicant.birth_date": dt.date(2024, 1, 31)}, True),
    ("deposit.amount == null", {}, True),
    ("deposit.amount != null", {"deposit.amount": cny("1.00")}, True),
    ("!has(applicant.age) || applicant.age >= 18", {}, True),
    ("!has(applicant.age) || applicant.age >= 18", {"applicant.age": 17}, False),
])
def test_absent_data_reads_as_null(text: str, env: dict[str, object], want: bool) -> None:
    assert expr.evaluate(checked(text), env) is want


def test_a_table_key_named_like_a_row_entry_is_computed_outside_the_filter() -> None:
    """Inside FEEL's filter a row's entries (low, high, value) are names: the key is bound first,
    outside the filter, so a data path ``value.points`` is read from the data (feelin agrees: the
    table corpus of test_feel_agreement has such keys)."""
    scope = {"rates": "table:integer:percent", "value.points": "integer", "credit.score": "integer"}
    clash = expr.check("lookup(rates, value.points) > 1.0", scope)
    assert isinstance(clash, Condition)
    feel = FeelScope(scope).of(clash)
    assert feel is not None and "{_productkit_key: value.points," in feel
    assert "value.points" not in feel.split("_productkit_found:", 1)[1]  # not inside the filter
