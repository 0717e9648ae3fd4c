"""The BPMN target's ``problems`` (what ``validate`` asks, without placing, drawing or writing the
document) reports exactly what ``emit`` reports, on definitions that give it much to say."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from productkit import ir
from productkit.options import Options
from productkit.targets.bpmn import BpmnTarget, emit_bpmn

FIXTURES = [ir.load(p.read_text(encoding="utf-8"))
            for p in sorted((Path(__file__).resolve().parent / "fixtures" / "ir").glob("*.json"))]
_CODES = ["credit.declined", "core.down", ir.FAILED_CODE]


@st.composite
def _troubled(draw: st.DrawFn) -> ir.WorkflowDefinition:
    """A fixture whose steps get routes BPMN may or may not express, and other things to report."""
    defn = draw(st.sampled_from(FIXTURES))
    ids = [*defn.steps, "nowhere"]
    route = st.builds(ir.ErrorRoute, end=st.none() | st.sampled_from(["failed", "rejected"]),
                      goto=st.none() | st.sampled_from(ids))
    steps = {}
    for sid, step in defn.steps.items():
        update: dict[str, object] = {}
        if draw(st.booleans()):
            update["errors"] = draw(st.dictionaries(st.sampled_from(_CODES), route, max_size=3))
        if draw(st.integers(0, 4)) == 0:
            update["handler"] = None
        if step.kind == "user" and draw(st.booleans()):
            update["error_path"] = draw(st.sampled_from([None, "no.such.field", "if", *step.fields]))
        if draw(st.integers(0, 3)) == 0:
            update["critical"] = False
        if draw(st.integers(0, 3)) == 0:
            update["timeout"] = "PT5M"
        steps[sid] = step.model_copy(update=update)
    finals = draw(st.sampled_from([[], [s for s, v in defn.steps.items() if v.kind == "service"][:1]]))
    return defn.model_copy(update={"steps": steps, "finally_steps": finals})


@settings(max_examples=120, deadline=None)
@given(_troubled(), st.sampled_from(["zh-CN", "en"]))
def test_problems_are_what_emit_reports(defn: ir.WorkflowDefinition, language: str) -> None:
    emitted = emit_bpmn(defn, language=language)
    assert BpmnTarget(Options(language=language)).problems(defn) == emitted.diagnostics


def test_the_generated_cases_say_something() -> None:
    """The strategy reaches definitions with problems (else the test above proves little)."""
    defn = FIXTURES[0]
    sid = next(s for s, v in defn.steps.items() if v.kind == "service")
    broken = defn.model_copy(update={"steps": {**defn.steps, sid: defn.steps[sid].model_copy(
        update={"handler": None, "errors": {"x": ir.ErrorRoute(goto="nowhere")}})}})
    found = BpmnTarget().problems(broken)
    assert len(found) >= 2 and found == emit_bpmn(broken).diagnostics
