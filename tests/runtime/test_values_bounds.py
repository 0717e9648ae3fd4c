"""The runtime's value checks answer with a field problem, never a raw error, however large the
number a client sends."""

from __future__ import annotations

import pytest

from productkit.ir import FieldDef
from productkit.runtime import _values

HUGE = 10**5000


@pytest.mark.parametrize(("fd", "raw"), [
    (FieldDef(type="integer", max="10"), HUGE),
    (FieldDef(type="decimal", step="0.5"), HUGE),
    (FieldDef(type="decimal", step="0.5"), "1" * 5000),
    (FieldDef(type="money", currency="CNY", min="1.00"), -HUGE),
    (FieldDef(type="percent", scale=2), "9" * 400 + ".5"),
], ids=["integer", "decimal-step", "decimal-text", "money", "percent"])
def test_an_enormous_number_is_a_field_problem(fd: FieldDef, raw: object) -> None:
    try:
        value = _values.coerce(fd, raw)
    except _values.Problem as refused:
        assert refused.code == "type"
        return
    problems = _values.check(fd, value)
    assert problems and problems[0].code in {"maximum", "minimum", "scale", "step"}
