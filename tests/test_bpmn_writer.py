"""The BPMN writer's direct text path writes exactly the bytes of the lxml reference writer."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from productkit import ir
from productkit.targets import _bpmn_xml
from productkit.targets.bpmn import emit_bpmn

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ir"


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
