"""The range patterns of exact decimals, checked against Decimal arithmetic on random ranges,
places and steps (and written values around them), in Python ``re``."""

from __future__ import annotations

import re
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

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
