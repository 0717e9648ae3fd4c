"""Property tests: whatever the bytes or text, loading and validating only ever report.

Every diagnostic has a known code and points inside the text it is about; nothing raises.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import orjson
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from productkit.diagnostics import CODES, Diagnostic
from productkit.loader import Document, load_file, load_text, pack_document, unpack_document
from productkit.model import KINDS
from productkit.shape import FIELD_NAMES
from productkit.validate import validate

# PRODUCTKIT_FUZZ_EXAMPLES=5000 pytest tests/test_loader_properties.py for a longer hunt.
SETTINGS = settings(max_examples=int(os.environ.get("PRODUCTKIT_FUZZ_EXAMPLES", "200")),
                    deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")

# Fragments that stress the strict loader when spliced into otherwise valid YAML.
HAZARDS = ["&a ", "*a", "!!python/object:os.system ", "!include ", "!!str ", "<<: ", "---\n",
           "...\n", "\t", ": ", "- ", "? ", "{", "}", "[", "]", ",", "'", '"', "#", "|", ">",
           "%YAML 1.1\n", "\x00", "\ufeff", "\r", "\r\n", "\x85", "\u2028", "\x07", "\ud800",
           "yes", "NO", "010", "1_000", "1:20", "1.10", "2024-02-30", "~", "\\", "é", "名字"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
                    st.floats(allow_nan=False), st.sampled_from(HAZARDS))
trees = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=5),
                               st.dictionaries(st.text(max_size=10), children, max_size=5)),
    max_leaves=30,
)


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    """A text with a few insertions, deletions and duplicated lines."""
    text = draw(base)
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "dup"]))
        if op == "insert":
            text = text[:at] + draw(st.sampled_from(HAZARDS)) + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 8)):]
        else:
            lines = text.splitlines(keepends=True) or [""]
            i = at % len(lines)
            text = "".join(lines[: i + 1] + lines[i:])
    return text


dumped = trees.map(lambda t: yaml.safe_dump(t, allow_unicode=True, default_flow_style=None))
yamlish = mutated(dumped)
any_text = st.one_of(st.text(), yamlish,
                     st.text(alphabet=st.characters(exclude_categories=())))  # with surrogates


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A document of a real kind with real field names and arbitrary values, then mutated."""
    body: dict[str, Any] = {"apiVersion": "productkit/v1",
                            "kind": draw(st.sampled_from(sorted(KINDS))),
                            "id": draw(st.sampled_from(["demo.x", "Bad_Id", "a.b-c"])),
                            "version": draw(st.sampled_from(["1.0.0", "1.10", "2"]))}
    names = st.sampled_from(sorted(FIELD_NAMES))
    body.update(draw(st.dictionaries(names, trees, max_size=6)))
    nested = draw(st.dictionaries(names, st.dictionaries(names, trees, max_size=4), max_size=3))
    body.update(nested)
    text = yaml.safe_dump(body, allow_unicode=True, sort_keys=False)
    return draw(st.one_of(st.just(text), mutated(st.just(text))))


def assert_well_formed(doc: Document | None, diagnostics: list[Diagnostic], text: str | None) -> None:
    assert (doc is None) == bool(diagnostics), "a document, or the reasons there is none"
    if doc is not None:
        assert isinstance(doc.data, dict)
    for d in diagnostics:
        assert d.code in CODES
        assert d.location.line >= 0 and d.location.col >= 0
        if text is not None and d.location.line:
            lines = _BREAKS.split(text)
            assert d.location.line <= len(lines), (d, len(lines))
            assert 1 <= d.location.col <= len(lines[d.location.line - 1]) + 1, d


@SETTINGS
@given(any_text)
def test_load_text_only_reports(text: str) -> None:
    doc, diagnostics = load_text(text, "fuzz.yaml")
    assert_well_formed(doc, diagnostics, text)


@SETTINGS
@given(st.one_of(st.binary(max_size=2000), yamlish.map(lambda t: t.encode("utf-8", "replace"))))
def test_load_file_only_reports(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yaml"
        path.write_bytes(raw)
        doc, diagnostics = load_file(path)
    text = raw.decode("utf-8", "ignore").removeprefix("\ufeff")
    plain = b"\x00" not in raw and raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "ignore") == text
    assert_well_formed(doc, diagnostics, text if plain else None)


@SETTINGS
@given(st.one_of(documents(), yamlish))
def test_validate_only_reports(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "products" / "fuzz.yaml"
        path.parent.mkdir()
        path.write_bytes(text.encode("utf-8", "replace"))
        result = validate([Path(tmp)])
    for d in result.diagnostics:
        assert d.code in CODES
        assert Path(d.location.file).name == "fuzz.yaml" or d.related
    assert result.ok == (not any(d.severity.value == "error" for d in result.diagnostics))


_PARTS = ("values", "keys", "quoted", "block")


@SETTINGS
@given(st.one_of(documents(), yamlish), st.permutations(_PARTS), st.integers(0, 4))
def test_cached_marks_give_back_every_part_in_any_order(text: str, order: list[str], asked: int) -> None:
    """A document's marks as the cache stores them and reads them back: each part is rebuilt
    when it is first asked for, whatever was asked before, and packing again after some parts
    were asked for gives the same marks."""
    doc, _ = load_text(text, "fuzz.yaml")
    if doc is None:
        return
    back = unpack_document(orjson.loads(orjson.dumps(pack_document(doc))))
    for part in order[:asked]:
        assert getattr(back.marks, part) == getattr(doc.marks, part), part
    again = unpack_document(orjson.loads(orjson.dumps(pack_document(back))))
    for part in order:
        assert getattr(again.marks, part) == getattr(doc.marks, part), part
        assert getattr(back.marks, part) == getattr(doc.marks, part), part
