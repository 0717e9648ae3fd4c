"""The BPMN writer's direct text path writes exactly the bytes of the lxml reference writer, and
the build's compact form with numbered flows means exactly what the earlier pretty one did."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from casekit import GoldenCheck
from productkit import ir
from productkit.targets import _bpmn_xml, bpmn
from productkit.targets.bpmn import emit_bpmn

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ir"
PRETTY = Path(__file__).resolve().parent / "fixtures" / "bpmn_pretty"


def _emit(defn: ir.WorkflowDefinition) -> bytes | str | None:
    try:
        return emit_bpmn(defn).content
    except ValueError as exc:  # text XML cannot hold (a control character): both must refuse it
        return f"ValueError: {exc}"


def _both(defn: ir.WorkflowDefinition, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    fast = _emit(defn)
    with monkeypatch.context() as m:
        def refuse(self: object, doc: object) -> str:
            raise _bpmn_xml._Unusual("use the reference writer")

        m.setattr(_bpmn_xml._Writer, "document", refuse)
        reference = _emit(defn)
    return fast, reference


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_fixtures_are_written_as_the_reference_writes_them(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, reference = _both(ir.load(path.read_text(encoding="utf-8")), monkeypatch)
    assert isinstance(fast, bytes) and fast == reference


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20))
def test_awkward_names_are_written_as_the_reference_writes_them(name: str) -> None:
    defn = ir.load((FIXTURES / "sequential.json").read_text(encoding="utf-8"))
    renamed = defn.model_copy(update={"name": ir.Label(**{"zh-CN": name, "en": name}), "description": name})
    with pytest.MonkeyPatch.context() as mp:
        fast, reference = _both(renamed, mp)
    assert fast == reference


# The build's form (compact, flows numbered) against the earlier one (pretty, flows named after
# their ends): the same elements, attributes, texts and waypoints once flow ids are mapped.

def _earlier(defn: ir.WorkflowDefinition) -> bytes | None:
    with pytest.MonkeyPatch.context() as m:
        m.setattr(bpmn, "_numbered", lambda edges: edges)
        m.setattr(bpmn, "write", functools.partial(_bpmn_xml.write, pretty=True))
        return emit_bpmn(defn).content


def _meaning(text: bytes) -> bytes:
    """The document with whitespace between elements dropped and each flow id replaced by its
    source, target and rank among the flows between the same two nodes."""
    root = etree.fromstring(text, etree.XMLParser(remove_blank_text=True))
    names: dict[str, str] = {}
    for flow in root.iter(f"{{{_bpmn_xml.NS['bpmn']}}}sequenceFlow"):
        pair = f"{flow.get('sourceRef')}->{flow.get('targetRef')}"
        names[flow.get("id") or ""] = f"{pair}#{sum(v.startswith(pair + '#') for v in names.values())}"
    names.update({f"{k}_di": f"{v}_di" for k, v in list(names.items())})
    for el in root.iter():
        for key, value in el.attrib.items():
            el.set(key, names.get(value, value))
        if el.text in names:
            el.text = names[el.text]
    return bytes(etree.tostring(root, method="c14n"))


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_the_earlier_form_is_what_the_earlier_writer_wrote(path: Path, golden: GoldenCheck) -> None:
    """Pretty and unnumbered, the writer still gives the bytes the goldens had before the build
    went compact (``tests/fixtures/bpmn_pretty``); the compact file means the same."""
    defn = ir.load(path.read_text(encoding="utf-8"))
    earlier = _earlier(defn)
    assert earlier is not None
    golden(PRETTY / f"{path.stem}.bpmn", earlier.decode("utf-8"))
    now = emit_bpmn(defn).content
    assert now is not None and _meaning(now) == _meaning((PRETTY / f"{path.stem}.bpmn").read_bytes())


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_the_compact_numbered_form_means_what_the_earlier_one_did(path: Path) -> None:
    defn = ir.load(path.read_text(encoding="utf-8"))
    now, earlier = emit_bpmn(defn).content, _earlier(defn)
    assert now is not None and earlier is not None
    assert len(now) * 10 < len(earlier) * 8
    assert b"\n" not in now.rstrip(b"\n").split(b"\n", 1)[1]
    assert _meaning(now) == _meaning(earlier)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(FIXTURES.glob("*.json"))),
       st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12))
def test_compact_parses_to_what_pretty_did(path: Path, name: str) -> None:
    defn = ir.load(path.read_text(encoding="utf-8"))
    defn = defn.model_copy(update={"name": ir.Label(**{"zh-CN": name, "en": name}), "description": name})
    now, earlier = emit_bpmn(defn).content, _earlier(defn)
    assert now is not None and earlier is not None
    assert _meaning(now) == _meaning(earlier)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(bpmn, "write", functools.partial(_bpmn_xml.write, pretty=True))
        pretty = emit_bpmn(defn).content
    assert pretty is not None and len(pretty) > len(now) and _meaning(pretty) == _meaning(now)


# The shortened text (the model and DI namespaces the default ones, values with double quotes
# between single quotes) against what libxml2 writes for the same tree: the same XML.

def _infoset(el: etree._Element) -> tuple[object, ...]:
    """An element as namespace URIs, attributes, texts and children: prefixes aside."""
    return (el.tag, sorted(el.attrib.items()), el.text, el.tail, [_infoset(c) for c in el])


def _libxml2(defn: ir.WorkflowDefinition) -> bytes:
    """What libxml2 writes for the document, unshortened (the direct writer writes the
    shortened text itself: the lxml writer is made to write it)."""
    def refuse(self: object, doc: object) -> str:
        raise _bpmn_xml._Unusual("use the reference writer")

    with pytest.MonkeyPatch.context() as m:
        m.setattr(_bpmn_xml._Writer, "document", refuse)
        m.setattr(_bpmn_xml, "_shortened", lambda text: text)
        written = emit_bpmn(defn).content
    assert written is not None and b"<bpmn:definitions " in written
    return written


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(FIXTURES.glob("*.json"))),
       st.lists(st.sampled_from(["\"", "'", "<", "&", ">", "=", " ", "a", "bpmn:", "<bpmn:x>", "é", "&quot;"]),
                min_size=1, max_size=12).map("".join))
def test_the_shortened_text_is_the_same_xml(path: Path, name: str) -> None:
    defn = ir.load(path.read_text(encoding="utf-8"))
    defn = defn.model_copy(update={"name": ir.Label(**{"zh-CN": name, "en": name}), "description": name})
    now, plain = emit_bpmn(defn).content, _libxml2(defn)
    assert now is not None and len(now) < len(plain) and b"<bpmn:" not in now and b"<bpmndi:" not in now
    assert _infoset(etree.fromstring(now)) == _infoset(etree.fromstring(plain))


def test_parameter_headers_are_sorted_compact_json_without_absent_fields() -> None:
    """A parameter header: type, value, currency, unit and dated values (an open window
    without ``until``), sorted keys, no whitespace, text as it is; nothing absent is written."""
    from productkit.targets._zeebe import _param_text
    scheduled = ir.ParamValue(type="money", value="1.00", currency="CNY", unit="CNY", schedule=[
        ir.Scheduled.model_validate({"from": "2026-01-01", "until": None, "value": "2.00"}),
        ir.Scheduled.model_validate({"from": "2026-02-01", "until": "2026-03-01", "value": "3.00"})])
    assert _param_text(scheduled) == (
        '{"currency":"CNY","schedule":[{"from":"2026-01-01","value":"2.00"},'
        '{"from":"2026-02-01","until":"2026-03-01","value":"3.00"}],"type":"money","unit":"CNY","value":"1.00"}')
    assert _param_text(ir.ParamValue(type="list", value=["a", "中文"])) == '{"type":"list","value":["a","中文"]}'
    assert _param_text(ir.ParamValue(type="integer", value=None, unit="month")) == '{"type":"integer","unit":"month"}'
