"""Fuzzing: the loader, the expression checker and the scenario reader return diagnostics for
any input and never raise. Bounded (a few seconds each) so the suite stays fast."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from productkit import expr
from productkit.diagnostics import CODES, Diagnostic
from productkit.loader import _decode, load_text
from productkit.scenarios import load_scenarios
from productkit.shape import to_model

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_YAMLISH = st.sampled_from([
    "apiVersion: productkit/v1\n", "kind: Product\n", "kind: ProcessComponent\n", "id: a.b\n",
    "version: 1.0.0\n", "steps:\n", "  - id: x\n", "    use: a@^1\n", "    when: ", "a > 1", "{", "}", "[", "]",
    ": ", "- ", "&a ", "*a", "!tag ", "<<: ", "'", '"', "\\", "\t", "\n", "  ", "%YAML 1.1\n", "---\n",
    "...\n", "? ", "|\n", ">-\n", "\x00", "\x1b", "\u2028", "\ufeff", "é", "1_000", "0x1F", "yes", "~",
    "title: {zh-CN: 演示, en: Demo}\n", "parameters:\n  rate: {type: percent, pattern: '^(a+)+$'}\n",
])


def _assert_diagnostics(found: list[Diagnostic]) -> None:
    for d in found:
        assert d.code in CODES and d.code != "PK900"
        assert isinstance(d.message, str) and d.location.file


@FUZZ
@given(st.binary(max_size=400))
def test_loader_on_arbitrary_bytes(raw: bytes) -> None:
    text, err = _decode("f.yaml", raw)
    if err is not None:
        _assert_diagnostics([err])
        return
    assert text is not None
    doc, problems = load_text(text, "f.yaml")
    _assert_diagnostics(problems)
    if doc is not None:
        _assert_diagnostics(to_model(doc)[1])


@FUZZ
@given(st.lists(_YAMLISH, max_size=40).map("".join))
def test_loader_on_yamlish_text(text: str) -> None:
    doc, problems = load_text(text, "f.yaml")
    _assert_diagnostics(problems)
    if doc is not None:
        _assert_diagnostics(to_model(doc)[1])


_ATOMS = st.sampled_from(["a", "applicant.age", "rate", "1", "1.5", "0x1F", "2u", "'s'", '"t"', "true",
                          "null", "[1, 2]", "dec(1)", "size(a)", "channel", "x.exists(y, y > 1)", "b'x'"])
_OPS = st.sampled_from([" && ", " || ", " == ", " < ", " + ", " * ", " in ", " ? ", " : ", ".", ", ", "/"])


@st.composite
def _cel(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.one_of(_ATOMS, _OPS, st.sampled_from(["(", ")", "!", "-", "[", "]", "{", "}"])),
                          max_size=30))
    depth = draw(st.integers(0, 400))
    wrap = draw(st.sampled_from(["(", "!", "-", "[", "f(", "a ? "]))
    return wrap * depth + "".join(parts) + draw(st.sampled_from([")", "]", "", " : 1"])) * depth


SCOPE = {"a": "integer", "applicant.age": "integer", "rate": "percent", "b": "boolean", "l": "list:integer"}


@FUZZ
@given(st.one_of(_cel(), st.text(max_size=200)))
def test_expression_checker_never_raises(text: str) -> None:
    result = expr.check(text, SCOPE)
    if isinstance(result, list):
        assert all(p.code in CODES and p.code.startswith("PK3") for p in result)
    assert isinstance(expr.names_in(text, SCOPE), list)


@FUZZ
@given(st.lists(st.one_of(_YAMLISH, st.sampled_from([
    "product: deposit.time-1y\n", "scenarios:\n", "  - id: s\n", "    channel: mobile\n",
    "    inputs: {a: {b: 1}}\n", "    handlers: {x: {result: {}}}\n", "    expect: {outcome: completed}\n",
    "    context: {", "    handlers: {x: {error: 1}}\n"])), max_size=30).map("".join))
def test_scenario_reader_never_raises(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.scenario.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        loaded, problems = load_scenarios(path)
    _assert_diagnostics(problems)
    assert loaded is not None or problems
