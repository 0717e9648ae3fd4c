"""The direct evaluator of simple conditions (productkit._celfast through cel.evaluate) gives
exactly what the official CEL evaluator gives, for every expression and every value: it either
agrees or declines (and the official evaluator answers)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from productkit import cel, expr
from productkit.ir import Condition

SCOPE = {"i.a": "integer", "i.b": "integer", "s.a": "string", "s.b": "string", "b.a": "boolean",
         "d.a": "decimal"}


def checked(text: str) -> Condition:
    cond = expr.check(text, SCOPE)
    assert isinstance(cond, Condition), cond
    return cond


def outcome(fn: object, cond: Condition, env: dict[str, object]) -> tuple[str, object]:
    try:
        return ("value", fn(cond, env))  # type: ignore[operator]
    except cel.ExprError as exc:
        return ("error", str(exc))


_INTS = st.one_of(st.integers(-5, 5), st.sampled_from([2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 10**30]))
_TEXTS = st.sampled_from(["", "hit", "clear", "Hit", "é", "hit "])
_DECIMALS = st.sampled_from([Decimal("1.5"), Decimal("0"), Decimal("-2.25"), Decimal("0.0000001"), Decimal("3")])


def _maybe(values: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.none(), values)


ENVS = st.fixed_dictionaries({"i.a": _maybe(_INTS), "i.b": _maybe(_INTS), "s.a": _maybe(_TEXTS),
                              "s.b": _maybe(_TEXTS), "b.a": _maybe(st.booleans()), "d.a": _maybe(_DECIMALS)})

_INT_TERMS = st.sampled_from(["i.a", "i.b", "0", "3", "-2", "9223372036854775807", "-9223372036854775808"])
_TEXT_TERMS = st.sampled_from(["s.a", "s.b", '"hit"', "'clear'", '""', '"é"', 'r"hit"'])
_ANY_TERMS = st.sampled_from(["i.a", "s.a", "b.a", "true", "1", '"x"', "d.a", "1.5", "null", "2u", "0x3"])
_ORDER = st.sampled_from(["<", "<=", ">", ">="])
_EQUAL = st.sampled_from(["==", "!="])


@st.composite
def _comparison(draw: st.DrawFn) -> str:
    shape = draw(st.integers(0, 4))
    if shape == 0:
        return f"{draw(_INT_TERMS)} {draw(st.one_of(_ORDER, _EQUAL))} {draw(_INT_TERMS)}"
    if shape == 1:
        return f"{draw(_TEXT_TERMS)} {draw(_EQUAL)} {draw(_TEXT_TERMS)}"
    if shape == 2:
        return f"d.a {draw(st.one_of(_ORDER, _EQUAL))} {draw(st.sampled_from(['1.5', '0.0', 'd.a', '-2.25']))}"
    if shape == 3:  # anything against anything: ill-typed ones are refused by the checker
        return f"{draw(_ANY_TERMS)} {draw(st.one_of(_ORDER, _EQUAL))} {draw(_ANY_TERMS)}"
    return draw(st.sampled_from(["b.a", "true", "false", "b.a == true", "b.a != b.a"]))


CONDITIONS = st.recursive(
    _comparison(),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["&&", "||"]), inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        inner.map(lambda t: f"!({t})"),
        inner.map(lambda t: f"({t})")),
    max_leaves=6)


@settings(max_examples=600, deadline=None)
@given(CONDITIONS, ENVS)
def test_direct_evaluation_agrees_with_the_official_evaluator(text: str, env: dict[str, object]) -> None:
    cond = expr.check(text, SCOPE)
    if not isinstance(cond, Condition):  # ill-typed: nothing is evaluated
        return
    present = {k: v for k, v in env.items() if v is not None}
    assert outcome(cel.evaluate, cond, present) == outcome(cel._official, cond, present)


@pytest.mark.parametrize(("text", "env", "want"), [
    ('s.a == "failed" || s.b == "hit" || b.a', {"s.a": "ok", "s.b": "hit", "b.a": False}, True),
    ('s.a == "failed" || s.b == "hit" || b.a', {"s.a": "ok", "s.b": "clear", "b.a": False}, False),
    ("i.a < i.b", {"i.a": 700, "i.b": 600}, False),
    ("i.a >= -3 && !(i.b == 2)", {"i.a": -3, "i.b": 5}, True),
    ("d.a > 1.5", {"d.a": Decimal("1.500001")}, True),
    ("b.a != true", {"b.a": False}, True),
])
def test_simple_guards_are_evaluated_directly(text: str, env: dict[str, object], want: bool) -> None:
    cond = checked(text)
    assert cel._quick(cond, env) is want  # taken by the direct evaluator ...
    assert cel.evaluate(cond, env) is want
    assert cel._official(cond, env) is want  # ... which agrees with the official one


@pytest.mark.parametrize(("text", "env"), [
    ('s.a == "hit"', {}),  # null: the official evaluator's semantics (false here)
    ("i.a > 5", {}),  # null > 5: an error, raised by the official evaluator
    ("i.a > 5", {"i.a": 2**63}),  # beyond 64 bits
    ('s.a == "\\u0068it"', {"s.a": "hit"}),  # an escape _celparse does not decode as CEL does
    ("i.a + 1 > 5", {"i.a": 5}),  # arithmetic
    ("i.a > 5 ? b.a : false", {"i.a": 6, "b.a": True}),  # a conditional
    ("d.a > 1.5", {"d.a": Decimal("0.0000001")}),  # a decimal beyond the scale: an error
    ('s.a in ["hit", "clear"]', {"s.a": "hit"}),
])
def test_what_the_direct_evaluator_declines(text: str, env: dict[str, object]) -> None:
    cond = checked(text)
    assert cel._quick(cond, env) is None
    assert outcome(cel.evaluate, cond, env) == outcome(cel._official, cond, env)


def test_an_expression_the_checker_refuses_for_the_values_is_declined() -> None:
    """``b.a || i.a > 1`` is read left to right and stops at ``true``; with ``i.a`` holding text
    the official evaluator refuses the whole expression, and so the direct one declines it."""
    cond = checked("b.a || i.a > 1")
    env: dict[str, object] = {"b.a": True, "i.a": "text"}
    assert cel._quick(cond, env) is None
    assert outcome(cel.evaluate, cond, env) == outcome(cel._official, cond, env)
    assert outcome(cel.evaluate, cond, env)[0] == "error"
