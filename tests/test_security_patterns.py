"""Patterns from catalogues: refused when they could backtrack exponentially or mean different
things in JSON Schema, RE2 and Python; matched in linear time."""

from __future__ import annotations

import time

import pytest

from productkit import patterns
from productkit.model import TypeSpec
from productkit.params import check_spec

UNSAFE = [r"^(a+)+$", r"^(6|[0-9]+)+$", r"(a|a)*", r"(a*)*", r"(\w+\s?)+$", r"^(.*a){12}$", r"(x+x+)+y",
          r"^(\d+)+$", r"((ab)*)+$"]
UNPORTABLE = [r"(?=x)a", r"(?i)abc", r"(?P<n>a)", r"\Aabc", r"abc\z", r"(a)\1", r"\p{L}+", r"[[:alpha:]]"]
SAFE = [r"^C[0-9]{10}$", r"^[1-9][0-9]{16}[0-9X]$", r"^1[3-9][0-9]{9}$", r"^MKT-[0-9]{4}-[A-Z0-9]{3,12}$",
        r"^([a-z]+ )*[a-z]+$", r"^(\d{1,3},)*\d{1,3}$", r"^(ab|cd)+$", r"^([0-9]{2}){3}$", r"(\d|x)+", "é+"]


@pytest.mark.parametrize("pattern", UNSAFE)
def test_exponential_patterns_are_refused(pattern: str) -> None:
    why = patterns.problem(pattern)
    assert why is not None and not why.syntax and "exponential" in why.message
    with pytest.raises(ValueError, match="exponential"):
        patterns.search(pattern, "a" * 40)


@pytest.mark.parametrize("pattern", UNPORTABLE)
def test_unportable_patterns_are_refused(pattern: str) -> None:
    why = patterns.problem(pattern)
    assert why is not None and not why.syntax


@pytest.mark.parametrize("pattern", SAFE)
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    assert patterns.problem(pattern) is None


@pytest.mark.parametrize("pattern", ["(", "[a-", "a{2,1}", "*a", "x" * 2000])
def test_broken_or_huge_patterns_are_problems_not_exceptions(pattern: str) -> None:
    assert patterns.problem(pattern) is not None


def test_matching_is_linear_even_for_a_pattern_that_slipped_through() -> None:
    start = time.perf_counter()
    assert patterns._compiled(r"^(a+)+$").search("a" * 200_000 + "!") is None
    assert time.perf_counter() - start < 1.0


def test_dollar_is_the_end_of_the_text() -> None:
    # Python's re.search(r"^[0-9]+$", "123\n") matches; JSON Schema and RE2 do not.
    assert patterns.search(r"^[0-9]+$", "123")
    assert not patterns.search(r"^[0-9]+$", "123\n")
    assert patterns.fullmatch(r"[0-9]+", "123") and not patterns.fullmatch(r"[0-9]+", "123x")


def test_a_declaration_with_an_exponential_pattern_is_pk112_and_its_default_is_not_run() -> None:
    spec = TypeSpec(type="string", pattern=r"^(a+)+$", default="a" * 60 + "!")
    start = time.perf_counter()
    problems = check_spec(spec)
    assert time.perf_counter() - start < 1.0
    assert [p.code for p in problems] == ["PK112"]
    assert [p.code for p in check_spec(TypeSpec(type="string", pattern="("))] == ["PK108"]
