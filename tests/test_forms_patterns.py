"""The range patterns of exact decimals, checked against Decimal arithmetic on random ranges,
places and steps (and written values around them), in Python ``re``."""

from __future__ import annotations

import random
import re
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from productkit.ir import FieldDef, Label, Step, WorkflowDefinition
from productkit.types._regex import decimal_pattern, fixed_range, step_pattern

_CANONICAL = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")
_amounts = st.decimals(min_value=-10 ** 6, max_value=10 ** 6, places=3, allow_nan=False)


def _written(value: Decimal, extra: int) -> str:
    exponent = value.as_tuple().exponent
    places = max(0, -exponent if isinstance(exponent, int) else 0) + extra
    return format(value.quantize(Decimal(1).scaleb(-places)), "f")


@settings(max_examples=300, deadline=None)
@given(_amounts, _amounts, st.integers(0, 3), st.lists(st.tuples(_amounts, st.integers(0, 2)), min_size=20))
def test_decimal_pattern_is_the_range(a: Decimal, b: Decimal, places: int,
                                      values: list[tuple[Decimal, int]]) -> None:
    lo, hi = min(a, b), max(a, b)
    pattern = re.compile(decimal_pattern(lo, hi, places))
    for value, extra in [*values, (lo, 0), (hi, 0), (lo, 1), (hi, 1)]:
        text = _written(value, extra)
        written = len(text.partition(".")[2])
        expected = lo <= Decimal(text) <= hi and written <= places and bool(_CANONICAL.match(text))
        assert bool(pattern.match(text)) == expected, (pattern.pattern, text)


@settings(max_examples=200, deadline=None)
@given(st.integers(-10 ** 5, 10 ** 5), st.sampled_from([1, 2, 5, 10, 20, 25, 50, 100, 500, 1000, 10000]),
       st.lists(st.tuples(st.integers(-10 ** 6, 10 ** 6), st.integers(0, 2)), min_size=20))
def test_step_pattern_is_the_step(base: int, step: int, values: list[tuple[int, int]]) -> None:
    source = step_pattern(base, step, negative=True)
    assert source is not None
    pattern = re.compile(source)
    for value, zeros in [*values, (base, 0), (base + step, 1), (base - 1, 0)]:
        text = str(value) + ("." + "0" * zeros if zeros else "")
        assert bool(pattern.match(text)) == ((value - base) % step == 0), (source, text)


def test_fixed_range_keeps_separators() -> None:
    pattern = re.compile("^" + fixed_range("09:30", "17:05") + "$")
    inside = [f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)]
    assert [t for t in inside if pattern.match(t)] == [t for t in inside if "09:30" <= t <= "17:05"]


def test_steps_that_do_not_divide_a_power_of_ten_are_not_patterns() -> None:
    assert step_pattern(0, 3, negative=False) is None
    assert step_pattern(0, 7, negative=True) is None


def _money(**decl: str) -> dict[str, object]:
    from productkit.types import field_schema, of
    return field_schema(of("money"), FieldDef(type="money", currency="CNY", **decl))


def test_money_bounds_places_and_steps_are_in_the_schema() -> None:
    from jsonschema import Draft7Validator
    schema = Draft7Validator(_money(min="1000.00", max="1000000.00", step="100.00"))
    refused = ["999.99", "-100.00", "100.123", "1000.001", "1050", "1000000.01", "1000.", "+1000", "01000"]
    accepted = ["1000", "1000.0", "1000.00", "1100.00", "999900", "1000000.00"]
    assert [v for v in refused if schema.is_valid(v)] == []
    assert [v for v in accepted if not schema.is_valid(v)] == []
    assert "x-decimal" not in schema.schema and "minimum" not in schema.schema


def test_a_step_no_pattern_can_say_is_reported() -> None:
    from productkit.forms import gaps
    step = Step(id="amount", kind="user", title=Label(**{"zh-CN": "金额", "en": "Amount"}), channels=["web"],
                fields={"x.amount": FieldDef(type="decimal", min="0.5", step="0.25")})
    defn = WorkflowDefinition.model_construct(steps={"amount": step})
    assert [(s, p) for s, p, _ in gaps(defn)] == [("amount", "x.amount")]
    assert "(?=" not in str(_money(min="0.50", step="0.25")["pattern"])


def test_date_bounds_are_in_the_schema() -> None:
    from jsonschema import Draft7Validator

    from productkit.types import field_schema, of
    schema = Draft7Validator(field_schema(of("date"), FieldDef(type="date", min="2026-01-15", max="2027-03-01")),
                             format_checker=Draft7Validator.FORMAT_CHECKER)
    assert [d for d in ["2026-01-14", "2027-03-02", "2026-02-30", "20260301", "2026-1-20"] if schema.is_valid(d)] == []
    assert all(schema.is_valid(d) for d in ["2026-01-15", "2026-12-31", "2027-03-01"])


def test_the_forms_target_refuses_keywords_draft_07_does_not_define() -> None:
    import orjson

    from productkit.targets.forms import FormsTarget
    form = {"schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                       "properties": {"a": {"type": "string", "x-decimal": {"min": "1"}}}}}
    found = list(FormsTarget().verify({"forms/x.json": orjson.dumps(form)}))
    assert [(n, "x-decimal" in m) for n, m in found] == [("forms/x.json", True)]


def _range_cases(rng: random.Random) -> tuple[list[tuple[dict[str, object], str]], list[bool]]:
    """Random ranges (cents to hundreds of millions) and written values around their bounds,
    each with its verdict by Decimal arithmetic."""
    cases: list[tuple[dict[str, object], str]] = []
    verdicts: list[bool] = []
    for _ in range(150):
        places = rng.randint(0, 3)
        scale = 10 ** rng.randint(0, 9)
        a, b = (Decimal(rng.randint(-scale, scale)).scaleb(-rng.randint(0, 3)) for _ in range(2))
        lo, hi = min(a, b), max(a, b)
        schema = {"type": "string", "pattern": decimal_pattern(lo, hi, places)}
        near = [lo, hi, (lo + hi) / 2, lo - 1, hi + 1, Decimal(0), -hi, hi * 10]
        for value in near + [Decimal(rng.randint(-scale, scale)).scaleb(-rng.randint(0, 4)) for _ in range(8)]:
            text = _written(value.quantize(Decimal(1).scaleb(-4)).normalize(), rng.randint(0, 2))
            written = len(text.partition(".")[2])
            cases.append((schema, text))
            verdicts.append(lo <= Decimal(text) <= hi and written <= places and bool(_CANONICAL.match(text)))
    return cases, verdicts


def test_ajv_decides_the_range_patterns_as_decimal_arithmetic() -> None:
    """The real consumers' validator (the ajv JSON Forms and RJSF create) agrees with Decimal
    arithmetic on the range patterns, as Python ``re`` does."""
    from forms_support import node

    cases, verdicts = _range_cases(random.Random(20261207))
    assert [bool(re.match(str(s["pattern"]), v)) for s, v in cases] == verdicts
    ajv = node("validate.js", {"cases": cases})
    assert ajv["jsonforms"] == verdicts and ajv["rjsf"] == verdicts
    assert 0.1 < sum(verdicts) / len(verdicts) < 0.9


def test_a_money_range_pattern_is_short() -> None:
    """Whole numbers share one optional fraction: no alternative per number of places."""
    source = decimal_pattern(Decimal(1), Decimal(100000000), 2)
    assert source == r"^(?:[1-9][0-9]{0,7}(?:\.[0-9]{1,2})?|100000000(?:\.(?:0|00))?)$"


def test_the_forms_target_knows_draft_07_as_jsonschema_does() -> None:
    """The keywords the forms target accepts are draft-07's as jsonschema's validator lists them
    (with ``then`` and ``else``, which it reads with ``if``), and the meta-schema it checks forms
    with is jsonschema's draft-07 meta-schema, document for document."""
    from jsonschema import Draft7Validator

    from productkit.targets import forms

    assert frozenset(Draft7Validator.VALIDATORS) == forms._VALIDATED
    assert forms.draft_07_meta_schema() == Draft7Validator.META_SCHEMA
    conditional = {"type": "object", "if": {"required": ["a"]}, "then": {"required": ["b"]},
                   "else": {"required": ["c"]}, "writeOnly": True}
    assert forms._schema_problems(conditional) == []
    assert forms._schema_problems({"type": "string", "readOnly": "yes"}) != []
    assert [w for _, w in forms._unknown({"type": "object", "x-decimal": 1, "then": {}}, "#")] == ["x-decimal"]
