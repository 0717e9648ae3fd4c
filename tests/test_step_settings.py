"""What a step sets over its component reaches the workflow definition: retry, timeout and
staff assignment (values or product parameters), the technical-failure route, finally steps."""

from __future__ import annotations

from pathlib import Path

from casekit import VALID, Case
from productkit import ir
from productkit.compile import compile_product
from productkit.validate import validate


def _definition(tmp_path: Path, case: str) -> ir.WorkflowDefinition:
    result = validate([Case(VALID / case).install(tmp_path)])
    assert result.diagnostics == []
    assert result.context is not None
    (asm,) = result.context.assemblies.values()
    return compile_product(asm)


def test_step_settings_bind_product_parameters_over_the_component(tmp_path: Path) -> None:
    defn = _definition(tmp_path, "technical_failure_route")
    kyc, review = defn.steps["kyc"], defn.steps["review"]
    # kyc.verify declares {max_attempts: 3, backoff: PT2S} and PT30S: the step's values win
    assert kyc.retry == ir.Retry(max_attempts=5, backoff="PT1S", multiplier="3", max_backoff="PT20S")
    assert kyc.timeout == "PT2M"
    assert kyc.errors[ir.FAILED_CODE] == ir.ErrorRoute(goto="review")
    assert kyc.errors["kyc.declined"] == ir.ErrorRoute(end="rejected")
    # approval.review declares [officers] and P1D
    assert (review.candidate_groups, review.due) == (["officers", "supervisors"], "PT4H")


def test_a_finally_step_is_outside_the_flow_and_never_fails_the_application(tmp_path: Path) -> None:
    defn = _definition(tmp_path, "finally_step_on_rejection")
    assert defn.finally_steps == ["tell-partner"]
    assert "tell-partner" not in str(defn.flow)
    tell = defn.steps["tell-partner"]
    assert (tell.kind, tell.critical, tell.errors) == ("service", False, {})
    assert tell.when is not None and tell.when.names == ["outcome"]
