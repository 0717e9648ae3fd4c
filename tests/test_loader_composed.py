"""The composed path (libyaml's composer) loads exactly what the event builder loads.

load_text takes a text without anchors, aliases or tags through libyaml's own composer and
everything else through the event builder; the two must agree on the data (down to which
scalars are plain), every mark, and every diagnostic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from productkit.loader import _NODE_PROPERTY_RE, LoadLimits, _built, _composed, load_text
from productkit.types import Plain
from test_loader_properties import SETTINGS, any_text, documents, yamlish

CASES = Path(__file__).parent / "cases"


def _typed(value: Any) -> Any:
    """``value`` with the type of every scalar spelt out (Plain and str compare equal)."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


def _same(text: str, limits: LoadLimits = LoadLimits()) -> None:
    doc, found = load_text(text, "f.yaml", limits)
    if not text.isascii() and found and found[0].code == "PK004":  # refused before either path
        return
    ref, expected = _built(text, "f.yaml", limits)
    assert found == expected
    assert (doc is None) == (ref is None)
    if doc is None or ref is None:
        return
    assert _typed(doc.data) == _typed(ref.data)
    assert list(doc.marks.values.items()) == list(ref.marks.values.items())
    assert list(doc.marks.keys.items()) == list(ref.marks.keys.items())
    assert doc.marks.quoted == ref.marks.quoted
    assert doc.marks.block == ref.marks.block


@SETTINGS
@given(st.one_of(any_text, documents(), yamlish))
def test_load_text_agrees_with_the_event_builder(text: str) -> None:
    _same(text)


@SETTINGS
@given(st.one_of(documents(), yamlish), st.integers(1, 6), st.integers(1, 60))
def test_limits_agree(text: str, depth: int, nodes: int) -> None:
    _same(text, LoadLimits(max_depth=depth, max_nodes=nodes))


def test_catalogue_files_take_the_composed_path_and_agree() -> None:
    files = sorted(p for p in (CASES / "valid").rglob("*.yaml") if not p.name.startswith("."))
    assert len(files) > 50
    for path in files:
        text = path.read_text("utf-8")
        assert _composed(text, LoadLimits()) is not None, path
        _same(text)


@pytest.mark.parametrize("text", [
    'a: {"k":&x 1, "j": *x}\n',           # a JSON-like key: the anchor right after ':'
    "a: [?&x k : v, *x]\n",                # a flow key indicator right before the anchor
    "a: !!str 1\n", "a: ! 1\n", "a: !t 1\n", "a: !<tag:x> 1\n",
    "a: &x 1\nb: *x\n", "a:\n- &x 1\n- *x\n", "&r\na: 1\n", "!!map\na: 1\n",
    "\ufeff&x a: 1\n", "a: 1\r&x b: 2\n", "a: 1\x85&x b: 2\n", "a: 1\u2028b: &x 2\n",
])
def test_node_properties_anywhere_go_to_the_event_builder(text: str) -> None:
    assert _NODE_PROPERTY_RE.search(text) is not None
    _same(text)


@pytest.mark.parametrize("text", [
    "a: 1\na: 2\n", "~: 1\nnull: 2\n", "<<: {a: 1}\n", "? [a]\n: 1\n", "a: 1\n---\nb: 2\n",
    "- a\n", "plain\n", "", "a: [[[[1]]]]\n", "'<<': 1\n'': 2\n", "a: 'q'\nb: |\n  x\nc: >\n  y\n",
])
def test_refusals_and_edge_cases_agree(text: str) -> None:
    _same(text, LoadLimits(max_depth=3))


def test_plain_scalars_stay_plain_on_the_composed_path() -> None:
    composed = _composed("a: yes\nb: 'yes'\nc: ~\nd: \"\"\n", LoadLimits())
    assert composed is not None
    data, _ = composed
    assert type(data["a"]) is Plain and type(data["b"]) is str
    assert data["c"] is None and data["d"] == ""


@pytest.mark.parametrize("text", [
    "expr: applicant.resident || !residents_only\n", "expr: a * b > 1 && c\n",
    "title: {zh-CN: 甲 & 乙, en: A & B!}\n", "when: '!x'\n",
])
def test_operators_inside_a_scalar_keep_the_composed_path(text: str) -> None:
    assert _NODE_PROPERTY_RE.search(text) is None
    assert _composed(text, LoadLimits()) is not None
    _same(text)
