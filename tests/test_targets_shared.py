"""What the targets make once per process and reuse for the next product (a step's forms, a
form's verdict, a flow node's text) is exactly what they would make afresh for it."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from productkit import ir
from productkit.forms import forms_of
from productkit.targets import _bpmn_xml, forms
from productkit.targets.bpmn import emit_bpmn
from productkit.targets.forms import FormsTarget

FIXTURES = sorted((Path(__file__).resolve().parent / "fixtures" / "ir").glob("*.json"))


def _fresh_forms(defn: ir.WorkflowDefinition) -> dict[str, bytes]:
    folder = FormsTarget().location(defn)
    return {f"{folder}{sid}.{channel}.json": ir.compact_json(form).encode("utf-8")
            for sid, per_channel in forms_of(defn).items() for channel, form in per_channel.items()}


def _retitled(defn: ir.WorkflowDefinition, title: str) -> ir.WorkflowDefinition:
    steps = {sid: step.model_copy(update={"title": ir.Label(**{"zh-CN": title, "en": title})})
             if step.kind == "user" else step for sid, step in defn.steps.items()}
    return defn.model_copy(update={"steps": steps})


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_shared_forms_are_the_forms_made_afresh(path: Path) -> None:
    defn = ir.load(path.read_text(encoding="utf-8"))
    other = _retitled(defn, "another title")
    for made in (defn, other, defn, other):  # the second time of each from what was kept
        assert FormsTarget().emit(made).files == _fresh_forms(made)
    if any(step.kind == "user" for step in defn.steps.values()):
        assert FormsTarget().emit(defn).files != FormsTarget().emit(other).files


def test_a_forms_verdict_is_the_verdict_on_that_form() -> None:
    def form(keyword: str) -> bytes:
        return orjson.dumps({"schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                                        "properties": {"a": {"type": "string", keyword: {"min": "1"}}}}})

    target = FormsTarget()
    for _ in range(2):  # judged, then answered from what was kept
        found = list(target.verify({"forms/a.json": form("x-decimal"), "forms/b.json": form("x-money"),
                                    "forms/c.json": form("default"), "forms/d.json": b"[1]"}))
        assert [(name, next(w for w in ("x-decimal", "x-money", "not a JSON object") if w in m))
                for name, m in found] == [("forms/a.json", "x-decimal"), ("forms/b.json", "x-money"),
                                          ("forms/d.json", "not a JSON object")]
    assert forms._form_problems.cache_info().hits >= 4


def test_shared_node_text_is_the_text_written_afresh() -> None:
    """Every fixture written with the node texts of the others kept is written as with none kept."""
    warm = {path.stem: emit_bpmn(ir.load(path.read_text(encoding="utf-8"))).content for path in FIXTURES}
    assert _bpmn_xml._node_text.cache_info().currsize > 0
    _bpmn_xml._node_text.cache_clear()
    for path in reversed(FIXTURES):
        cold = emit_bpmn(ir.load(path.read_text(encoding="utf-8"))).content
        _bpmn_xml._node_text.cache_clear()
        assert cold == warm[path.stem]
