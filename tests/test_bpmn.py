"""The BPMN target, checked from outside the code that wrote it.

Every workflow definition in ``tests/fixtures/ir/`` is emitted and checked against the OMG
BPMN 2.0 XSD, Camunda's linter rules for 8.6 (bpmnlint), its golden file and itself (same bytes
twice, and under another hash seed), then run on a second engine (SpiffWorkflow, see
``bpmn_support``) along every path listed in ``tests/fixtures/bpmn/<name>.paths.json``.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from bpmn_meaning import meaning, meaning_text
from bpmn_support import (
    BusinessError,
    Evaluate,
    HarnessError,
    Job,
    Run,
    bpmn_schema,
    bpmnlint,
    conditions_of,
    feel,
    productkit_worker,
    run_bpmn,
)
from casekit import GoldenCheck
from productkit import ir
from productkit.runtime._flow import walk
from productkit.targets import TARGETS, EmitContext, Emitted, Target, emit, register
from productkit.targets.bpmn import FAILED_ERROR, BpmnTarget, emit_bpmn, form_reference, process_id

HERE = Path(__file__).parent
IR_DIR = HERE / "fixtures" / "ir"
BPMN_DIR = HERE / "fixtures" / "bpmn"
FIXTURES = sorted(p.stem for p in IR_DIR.glob("*.json"))
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC",
      "di": "http://www.omg.org/spec/DD/20100524/DI",
      "zeebe": "http://camunda.org/schema/zeebe/1.0"}

# A stand-in for productkit.expr.evaluate, keyed by the CEL text of each fixture condition.
STAND_IN: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    'channel in ["mobile"]': lambda env: env["channel"] in ["mobile"],
    'channel in ["mobile", "web"]': lambda env: env["channel"] in ["mobile", "web"],
    'channel in ["counter"]': lambda env: env["channel"] in ["counter"],
    "credit.score < 500": lambda env: env["credit"]["score"] < 500,
    "credit.score < 600": lambda env: env["credit"]["score"] < 600,
    "credit.score < 650": lambda env: env["credit"]["score"] < 650,
    "risk.level < product_risk": lambda env: env["risk"]["level"] < env["product_risk"],
    "applicant.withdrawn == true": lambda env: env["applicant"]["withdrawn"] is True,
}


def load(name: str) -> ir.WorkflowDefinition:
    return ir.load((IR_DIR / f"{name}.json").read_text(encoding="utf-8"))


@functools.cache
def emitted(name: str) -> bytes:
    result = emit_bpmn(load(name))
    assert result.content is not None, result.diagnostics
    return result.content


def tree(name: str) -> etree._Element:
    return etree.fromstring(emitted(name))


def one(root: etree._Element, xpath: str) -> etree._Element:
    found = root.xpath(xpath, namespaces=NS)
    assert len(found) == 1, f"{xpath}: {len(found)} matches"
    element: etree._Element = found[0]
    return element


# outside checks ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", FIXTURES)
def test_valid_against_the_bpmn_xsd(name: str) -> None:
    schema = bpmn_schema()
    assert schema.validate(tree(name)), schema.error_log


@pytest.mark.parametrize("name", FIXTURES)
def test_matches_golden(name: str, golden: GoldenCheck) -> None:
    golden(BPMN_DIR / f"{name}.bpmn", emitted(name).decode("utf-8"))


@pytest.mark.parametrize("name", FIXTURES)
def test_means_what_its_golden_meaning_says(name: str, golden: GoldenCheck) -> None:
    """The process, ids and drawing aside (see ``bpmn_meaning``): what is reachable from the
    start, along which flows, and how it ends. Written from the goldens before the error routes
    shared their end tails; a change of layout or ids leaves it as it is."""
    golden(BPMN_DIR / f"{name}.meaning.json", meaning_text(emitted(name)))


def test_the_meaning_sees_a_route_that_ends_otherwise() -> None:
    defn = _with_route("error_routes", "kyc", "kyc.blacklisted", ir.ErrorRoute(end="failed"))
    changed = emit_bpmn(defn).content or b""
    assert meaning(changed) != meaning(emitted("error_routes"))
    swapped = emitted("compensation").replace(b'activityRef="Task_open"', b'activityRef="Task_hold"', 1)
    assert meaning(swapped) != meaning(emitted("compensation"))
    renamed = (emitted("sequential").replace(b"Task_kyc", b"Task_x")
               .replace(b'"F3"', b'"F99"').replace(b">F3<", b">F99<"))
    assert meaning(renamed) == meaning(emitted("sequential"))


def test_deterministic_across_runs_and_hash_seeds() -> None:
    paths = [str(IR_DIR / f"{n}.json") for n in FIXTURES]
    here = {p: hashlib.sha256(emit_bpmn(ir.load(Path(p).read_text("utf-8"))).content or b"")
            .hexdigest() for p in paths}
    assert here == {p: hashlib.sha256(emitted(Path(p).stem)).hexdigest() for p in paths}
    code = ("import hashlib, json, sys, pathlib\nfrom productkit import ir\n"
            "from productkit.targets.bpmn import emit_bpmn\n"
            "print(json.dumps({p: hashlib.sha256(emit_bpmn(ir.load(pathlib.Path(p).read_text("
            "'utf-8'))).content).hexdigest() for p in sys.argv[1:]}))")
    for seed in ("1", "4242"):
        out = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True,
                             env={**os.environ, "PYTHONHASHSEED": seed}, check=True)
        assert json.loads(out.stdout) == here


def test_bpmnlint_with_camunda_8_6_rules_finds_nothing(tmp_path: Path) -> None:
    files = []
    for name in FIXTURES:
        files.append(tmp_path / f"{name}.bpmn")
        files[-1].write_bytes(emitted(name))
    out = bpmnlint(files, "--max-warnings=0")
    assert out.returncode == 0 and "problem" not in out.stdout, out.stdout + out.stderr


def test_bpmnlint_does_see_zeebe_problems(tmp_path: Path) -> None:
    """The linter reads zeebe:* elements (moddle extension); without that, it would pass
    things it cannot see. A service task without a job type must be an error."""
    broken = emitted("sequential").replace(b'<zeebe:taskDefinition type="risk.kyc.verify-identity"',
                                           b'<zeebe:taskDefinition')
    (tmp_path / "broken.bpmn").write_bytes(broken)
    out = bpmnlint([tmp_path / "broken.bpmn"])
    assert out.returncode != 0 and "Task_kyc" in out.stdout, out.stdout + out.stderr


# the second engine ------------------------------------------------------------------------

def path_spec(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((BPMN_DIR / f"{name}.paths.json").read_text("utf-8"))
    return spec


PATHS = [pytest.param(n, c, id=f"{n}-{c}") for n in FIXTURES for c in path_spec(n)["cases"]]


def stand_in(defn: ir.WorkflowDefinition, seen: set[tuple[str, bool]]) -> Evaluate:
    params = {name: p.value for name, p in defn.parameters.items()}

    def evaluate(cond: ir.Condition, data: Mapping[str, Any]) -> bool:
        result = STAND_IN[cond.cel]({**params, **data})
        seen.add((cond.cel, result))
        return result

    return evaluate


def run_case(name: str, case: str, seen: set[tuple[str, bool]] | None = None
             ) -> tuple[Run, dict[str, Job]]:
    """Run a case of ``<name>.paths.json``: ``errors`` (job type -> business error code) and
    ``failures`` (job types whose every attempt fails) over the shared ``results``."""
    spec, defn = path_spec(name), load(name)
    c = spec["cases"][case]
    results = {**spec.get("results", {}), **c.get("results", {})}
    errors: dict[str, str] = c.get("errors", {})
    failures: list[str] = c.get("failures", [])
    jobs: dict[str, Job] = {}

    def handler(job_type: str) -> Callable[[Job], Mapping[str, Any]]:
        def run(job: Job) -> Mapping[str, Any]:
            jobs[job_type] = job
            if job_type in errors:
                raise BusinessError(errors[job_type])
            if job_type in failures:
                raise ConnectionError(f"{job_type} is down")
            return dict(results.get(job_type, {}))
        return run

    types = {s.handler for s in defn.steps.values() if s.handler}
    types |= {s.compensation.handler for s in defn.steps.values() if s.compensation}
    run = run_bpmn(emitted(name), process_id(defn), {t: handler(t) for t in sorted(types)},
                   {**spec["inputs"], **c.get("inputs", {})}, stand_in(defn, seen if seen is not None else set()),
                   conditions=conditions_of(defn),
                   user_data={**spec.get("users", {}), **c.get("users", {})},
                   timeouts=c.get("timeouts", ()), order=flow_order(defn))
    return run, jobs


def flow_order(defn: ir.WorkflowDefinition) -> list[str]:
    """The step ids in flow order (the branches of a parallel block one after the other)."""
    return [step for step, _ in walk(defn.flow)]


def get_path(data: Mapping[str, Any], path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, Mapping) or part not in data:
            raise KeyError(path)
        data = data[part]
    return data


@pytest.mark.parametrize(("name", "case"), PATHS)
def test_runs_on_a_second_engine(name: str, case: str) -> None:
    expected = path_spec(name)["cases"][case]
    run, jobs = run_case(name, case)
    assert run.steps == expected["steps"]
    assert run.compensated == expected.get("compensated", [])
    assert run.outcome == expected["outcome"]
    assert run.data["outcome"] == expected["outcome"]
    if "end" in expected:  # an end event, or the route (boundary, gateway:flow) leading to one
        assert run.end == end_of(tree(name), expected["end"])
    for path, value in expected.get("data", {}).items():
        assert get_path(run.data, path) == value, path
    for path in expected.get("absent", []):
        with pytest.raises(KeyError):
            get_path(run.data, path)
    for job_type, variables in expected.get("jobs", {}).items():
        for path, value in variables.items():
            assert get_path(jobs[job_type].variables, path) == value, (job_type, path)


@pytest.mark.parametrize("name", FIXTURES)
def test_paths_cover_every_branch(name: str) -> None:
    """The listed paths take every condition both ways, every error route (raised by a job
    or submitted by an employee), every timeout, every end step, every compensation, and the
    technical failure of every step that is not critical (the way on after it)."""
    spec = path_spec(name)
    defn, cases = load(name), spec["cases"]
    seen: set[tuple[str, bool]] = set()
    reached: set[str] = set()
    undone: set[str] = set()
    for case in cases:
        run = run_case(name, case, seen)[0]
        reached |= set(run.steps)
        undone |= set(run.compensated)
    raised = {(job, code) for c in cases.values() for job, code in c.get("errors", {}).items()}
    for c in cases.values():
        users = {**spec.get("users", {}), **c.get("users", {})}
        raised |= {(step, data[defn.steps[step].error_path or ""]) for step, data in users.items()
                   if (defn.steps[step].error_path or "") in data}
    timed_out = {s for c in cases.values() for s in c.get("timeouts", ())}
    failed = {job for c in cases.values() for job in c.get("failures", ())}
    assert failed, "no path fails a job technically"
    for step in defn.steps.values():
        if step.when is not None:
            assert {(step.when.cel, True), (step.when.cel, False)} <= seen, step.id
        raiser = step.id if step.error_path else step.handler
        assert {(raiser, code) for code in step.errors} <= raised, step.id
        assert not step.timeout or step.id in timed_out, step.id
        assert step.kind != "end" or step.id in reached, step.id
        assert step.compensation is None or step.id in undone, step.id
        assert step.critical or step.handler in failed, step.id


def test_harness_never_evaluates_condition_text() -> None:
    defn = load("conditional")
    hostile = emitted("conditional").replace(
        b'=(list contains(["mobile"], channel))', b"=__import__('os').getcwd()")
    with pytest.raises(HarnessError, match="unknown condition"):
        run_bpmn(hostile, process_id(defn), {}, {"channel": "mobile"}, stand_in(defn, set()),
                 conditions=conditions_of(defn), user_data={"apply": {"applicant.income": "1"}})


def test_an_undeclared_business_error_is_not_caught() -> None:
    defn = load("sequential")

    def fail(job: Job) -> Mapping[str, Any]:
        raise BusinessError("kyc.undeclared")

    with pytest.raises(HarnessError, match=r"uncaught errors: \['kyc.undeclared'\]"):
        run_bpmn(emitted("sequential"), process_id(defn), {"risk.kyc.verify-identity": fail},
                 {"channel": "web"}, stand_in(defn, set()), conditions=conditions_of(defn))


def _run_compensation(xml: bytes, case: str) -> Run:
    spec, defn = path_spec("compensation"), load("compensation")
    c = spec["cases"][case]
    results = spec["results"]

    def handler(job_type: str) -> Callable[[dict[str, Any]], Mapping[str, Any]]:
        def run(job: Job) -> Mapping[str, Any]:
            if job_type in c.get("errors", {}):
                raise BusinessError(c["errors"][job_type])
            return dict(results.get(job_type, {}))
        return run

    return run_bpmn(xml, process_id(defn), {t: handler(t) for t in results},
                    {**spec["inputs"], **c.get("inputs", {})}, stand_in(defn, set()),
                    conditions=conditions_of(defn), user_data=spec["users"],
                    order=flow_order(defn))


def test_harness_runs_a_process_wide_compensation_last_completed_first() -> None:
    """Without activityRef a throw event compensates every completed activity; the harness
    undoes them newest first (in the order SpiffWorkflow completed the parallel open and
    limit), and the throw events after it find nothing left to undo."""
    wide = emitted("compensation").replace(
        b'<compensateEventDefinition activityRef="Task_limit"/>',
        b"<compensateEventDefinition/>")
    assert bpmn_schema().validate(etree.fromstring(wide))
    run = _run_compensation(wide, "charge_fails_and_compensates_last_first")
    assert sorted(run.steps[2:4]) == ["limit", "open"]
    assert run.compensated == [*reversed(run.steps[2:4]), "hold"]
    assert _run_compensation(emitted("compensation"),
                             "charge_fails_and_compensates_last_first").compensated == [
        "limit", "open", "hold"]


def test_harness_refuses_a_compensation_boundary_with_two_handlers() -> None:
    broken = emitted("compensation").replace(b'sourceRef="Compensation_open"',
                                             b'sourceRef="Compensation_hold"')
    with pytest.raises(HarnessError, match="Compensation_hold: 2 associations"):
        _run_compensation(broken, "happy")


def returning(result: Mapping[str, Any]) -> Callable[[Job], Mapping[str, Any]]:
    return lambda job: dict(result)


def _sequential(handlers: Mapping[str, Callable[[Job], Mapping[str, Any]]],
                xml: bytes | None = None) -> Run:
    spec, defn = path_spec("sequential"), load("sequential")
    plain = {t: returning(r) for t, r in spec["results"].items()}
    return run_bpmn(xml or emitted("sequential"), process_id(defn), {**plain, **handlers},
                    spec["inputs"], stand_in(defn, set()), conditions=conditions_of(defn),
                    user_data=spec["users"], order=flow_order(defn))


def test_harness_retries_a_failing_job_and_then_throws_productkit_failed() -> None:
    """A technical failure is retried (kyc: retries="3"); a job that recovers completes; one
    whose last attempt fails ends as the worker's productkit.failed, caught by the task."""
    seen: list[tuple[str | None, int]] = []

    def flaky(job: Job) -> Mapping[str, Any]:
        seen.append((job.step, job.retries))
        if job.retries > 1:
            raise TimeoutError("identity service did not answer")
        return {"kyc.status": "passed"}

    run = _sequential({"risk.kyc.verify-identity": flaky})
    assert (run.outcome, seen) == ("completed", [("kyc", 3), ("kyc", 2), ("kyc", 1)])

    def down(job: Job) -> Mapping[str, Any]:
        seen.append((job.step, job.retries))
        raise ConnectionError("identity service down")

    seen.clear()
    run = _sequential({"risk.kyc.verify-identity": down})
    assert len(seen) == 3
    assert (run.outcome, run.end, run.steps) == (
        "failed", end_of(tree("sequential"), "Failed_kyc"), ["kyc"])


def test_jobs_carry_the_step_and_the_headers() -> None:
    jobs: dict[str, Job] = {}

    def keep(job: Job) -> Mapping[str, Any]:
        jobs[job.type] = job
        return {"kyc.status": "passed"} if job.step == "kyc" else {}

    run = _sequential({t: keep for t in path_spec("sequential")["results"]})
    assert run.outcome == "completed"
    assert {t: j.step for t, j in jobs.items()} == {
        "risk.kyc.verify-identity": "kyc", "core.deposit.book": "open", "notify.sms.send": "notify"}
    kyc = jobs["risk.kyc.verify-identity"]
    assert (kyc.element, kyc.retries, kyc.compensating) == ("Task_kyc", 3, False)
    assert json.loads(kyc.headers["productkit.param.min_age"]) == {"type": "integer", "value": 18}


def test_a_failing_compensation_job_is_an_incident() -> None:
    spec, defn = path_spec("compensation"), load("compensation")
    results = spec["results"]

    def handler(job_type: str) -> Callable[[Job], Mapping[str, Any]]:
        def run(job: Job) -> Mapping[str, Any]:
            if job_type == "payment.fee.charge":
                raise BusinessError("payment.insufficient")
            if job.compensating and job.step == "open":
                raise ConnectionError("core banking down")
            return dict(results.get(job_type, {}))
        return run

    with pytest.raises(HarnessError, match="incident: Undo_open failed 1 times"):
        run_bpmn(emitted("compensation"), process_id(defn), {t: handler(t) for t in results},
                 spec["inputs"], stand_in(defn, set()), conditions=conditions_of(defn),
                 user_data=spec["users"], order=flow_order(defn))


def test_the_worker_runs_embedded_engine_handlers() -> None:
    """``productkit_worker`` calls a runtime handler with the step, its parameters, inputs
    under the component's names and the attempt; it keeps only the declared outputs, and an
    undeclared business error fails the step."""
    from productkit import runtime

    calls: list[runtime.StepCall] = []
    handlers = runtime.Handlers()

    @handlers.register("core.deposit.book")
    def book(call: runtime.StepCall) -> Mapping[str, object]:
        calls.append(call)
        return {"account.number": "6222000012345678", "extra": "dropped"}

    @handlers.register("risk.kyc.verify-identity")
    def kyc(call: runtime.StepCall) -> Mapping[str, object]:
        return {"kyc.status": "passed"}

    @handlers.register("notify.sms.send")
    def notify(call: runtime.StepCall) -> Mapping[str, object]:
        raise runtime.BusinessError("sms.undeclared")

    defn = load("sequential")
    run = _sequential(productkit_worker(defn, handlers))
    (call,) = calls
    assert (call.step_id, call.attempt, call.compensating) == ("open", 1, False)
    assert call.parameters == {"annual_rate": Decimal("1.75"), "term_months": 12}
    assert call.inputs == {"deposit.principal": "10000.00", "deposit.term_months": 12}
    assert get_path(run.data, "deposit.account_number") == "6222000012345678"
    assert "extra" not in run.data
    assert (run.outcome, run.end) == ("failed", end_of(tree("sequential"),
                                                        "Failed_notify"))


def test_conditions_can_be_evaluated_as_feel() -> None:
    """With ``feel``, the harness evaluates each condition as written in the BPMN (here by
    feelin), staff decisions too; a condition that is not true or false is an incident."""
    spec, defn = path_spec("compensation"), load("compensation")
    interpreter = feel()
    results = spec["results"]

    def run(users: Mapping[str, Any], xml: bytes = emitted("compensation")) -> Run:
        return run_bpmn(xml, process_id(defn), {t: returning(r) for t, r in results.items()},
                        spec["inputs"], feel=interpreter, user_data={**spec["users"], **users},
                        order=flow_order(defn))

    assert run({}).outcome == "completed"
    declined = run({"review": {"review.error": "review.declined"}})
    assert (declined.outcome, declined.compensated) == ("rejected", ["limit", "open", "hold"])
    assert run({"review": {"review.error": "review.more-info"}}).steps[-1] == "notify"
    unknown = emitted("compensation").replace(b"=(applicant.withdrawn = true)",
                                              b"=(applicant.risk_score > 3)")
    with pytest.raises(HarnessError, match=r"Gateway_withdrawn_when: .* gave None"):
        run({}, unknown)  # no such variable: null > 3 is null


def test_every_service_task_names_its_step_and_catches_technical_failures() -> None:
    for name in FIXTURES:
        defn, root = load(name), tree(name)
        for task in root.xpath("//bpmn:serviceTask", namespaces=NS):
            headers = {h.get("key"): h.get("value")
                       for h in task.xpath(".//zeebe:header", namespaces=NS)}
            step = headers["productkit.step"]
            assert task.get("id") in (f"Task_{step}", f"Undo_{step}"), (name, task.get("id"))
            assert (task.get("isForCompensation") == "true") == ("productkit.compensates" in headers)
            if task.get("isForCompensation") == "true":
                continue
            catch = one(root, f"//bpmn:boundaryEvent[@id='Failed_{step}']")
            assert catch.get("attachedToRef") == f"Task_{step}"
            ref = one(catch, "bpmn:errorEventDefinition").get("errorRef")
            assert one(root, f"bpmn:error[@id='{ref}']").get("errorCode") == FAILED_ERROR
            first = one(root, f"bpmn:process/bpmn:sequenceFlow[@sourceRef='{catch.get('id')}']")
            if defn.steps[step].critical:
                row = route(root, catch.get("id"))
                assert row[0].get("id").startswith("Outcome__failed_"), row[0].get("id")
                assert row[-1].get("name") == "failed"
            else:
                assert first.get("targetRef") == f"Gateway_{step}_continue"


def test_a_step_that_is_not_critical_goes_on_after_its_timeout_too() -> None:
    defn = _with_step("sequential", "notify", critical=False, timeout="PT10S")
    result = emit_bpmn(defn)
    assert result.content is not None and not result.diagnostics
    root = etree.fromstring(result.content)
    for boundary in ("Timeout_notify", "Failed_notify"):
        flow = one(root, f"bpmn:process/bpmn:sequenceFlow[@sourceRef='{boundary}']")
        assert flow.get("targetRef") == "Gateway_notify_continue"
    assert bpmn_schema().validate(root)
    spec = path_spec("sequential")
    run = run_bpmn(result.content, process_id(defn),
                   {t: returning(r) for t, r in spec["results"].items()},
                   spec["inputs"], stand_in(defn, set()), conditions=conditions_of(defn),
                   user_data=spec["users"], timeouts=["notify"], order=flow_order(defn))
    assert (run.outcome, run.steps) == ("completed", ["kyc", "amount", "open", "notify"])


def test_a_routed_technical_failure_and_the_timeout_follow_the_route() -> None:
    defn = _with_route("sequential", "kyc", FAILED_ERROR, ir.ErrorRoute(end="rejected"))
    defn = defn.model_copy(update={"steps": {**defn.steps, "kyc": defn.steps["kyc"].model_copy(
        update={"timeout": "PT10S"})}})
    result = emit_bpmn(defn)
    assert result.content is not None and not result.diagnostics
    root = etree.fromstring(result.content)
    rows = [route(root, boundary) for boundary in ("Failed_kyc", "Timeout_kyc")]
    assert rows[0][-1].get("name") == "rejected"
    assert rows[0] == rows[1]  # both end alike: one shared tail
    assert bpmn_schema().validate(root)


# what the document says -------------------------------------------------------------------

def test_definitions_declare_camunda_8_6() -> None:
    root = tree("sequential")
    modeler = "{http://camunda.org/schema/modeler/1.0}"
    assert root.get(f"{modeler}executionPlatform") == "Camunda Cloud"
    assert root.get(f"{modeler}executionPlatformVersion") == "8.6.0"
    assert root.nsmap["zeebe"] == NS["zeebe"]
    process = one(root, "bpmn:process")
    assert (process.get("id"), process.get("isExecutable")) == ("deposit.time-1y_v1.0.0", "true")
    assert one(process, "bpmn:extensionElements/zeebe:versionTag").get("value") == "1.0.0"
    assert len(process.xpath("bpmn:startEvent[not(*[local-name()!='outgoing'])]",
                             namespaces=NS)) == 1


def test_service_task_job_retries_headers_and_mappings() -> None:
    root = tree("sequential")
    task = one(root, "//bpmn:serviceTask[@id='Task_kyc']")
    definition = one(task, ".//zeebe:taskDefinition")
    assert (definition.get("type"), definition.get("retries")) == ("risk.kyc.verify-identity", "3")
    headers = {h.get("key"): h.get("value") for h in task.xpath(".//zeebe:header", namespaces=NS)}
    assert headers["productkit.retry.backoff"] == "PT2S"
    assert json.loads(headers["productkit.param.min_age"]) == {"type": "integer", "value": 18}
    assert not task.xpath(".//zeebe:input", namespaces=NS)  # same names: nothing to map
    book = one(root, "//bpmn:serviceTask[@id='Task_open']")
    pairs = [(m.get("source"), m.get("target")) for m in book.xpath(".//zeebe:ioMapping/*",
                                                                     namespaces=NS)]
    assert pairs == [("=deposit.amount", "deposit.principal"),
                     ("=account.number", "deposit.account_number")]
    assert one(book, ".//zeebe:taskDefinition").get("retries") == "1"


def test_user_tasks_are_camunda_user_tasks_with_forms_and_groups() -> None:
    defn, root = load("wait_manual"), tree("wait_manual")
    sign = one(root, "//bpmn:userTask[@id='Task_sign']")
    one(sign, ".//zeebe:userTask")
    assert one(sign, ".//zeebe:formDefinition").get("externalReference") == \
        '="productkit:form:wealth.steady-90d@1.0.0:sign:" + channel'
    counter = one(root, "//bpmn:userTask[@id='Task_counter_sign']")
    assert one(counter, ".//zeebe:formDefinition").get("externalReference") == \
        form_reference(defn, defn.steps["counter_sign"]) == \
        "productkit:form:wealth.steady-90d@1.0.0:counter_sign:counter"
    assert one(counter, ".//zeebe:assignmentDefinition").get("candidateGroups") == "tellers"
    outputs = [(m.get("source"), m.get("target")) for m in sign.xpath(".//zeebe:output",
                                                                      namespaces=NS)]
    assert outputs == [("=contract.signature", "contract.signature")]


def test_conditions_gateways_and_end_steps() -> None:
    root = tree("conditional")
    split = one(root, "//bpmn:exclusiveGateway[@id='Gateway_face_when']")
    flows = {f.get("id"): f for f in root.xpath("//bpmn:sequenceFlow", namespaces=NS)}
    default = flows[split.get("default")]
    assert default.get("targetRef") == "Gateway_face_skip"
    cond = one(root, "//bpmn:sequenceFlow[@sourceRef='Gateway_face_when']/bpmn:conditionExpression")
    assert cond.text == '=(list contains(["mobile"], channel))'
    assert cond.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "bpmn:tFormalExpression"
    # the end step's split jumps to the shared tail of its outcome: the outcome event, the end
    setter, end = route(root, "Gateway_reject_when:yes")
    assert end.get("name") == "rejected"
    one(end, "bpmn:terminateEventDefinition")
    assert etree.QName(setter).localname == "intermediateThrowEvent"
    mapping = one(setter, ".//zeebe:output")
    assert (mapping.get("source"), mapping.get("target")) == ('="rejected"', "outcome")
    assert one(root, "//bpmn:sequenceFlow[@sourceRef='Gateway_reject_when']/bpmn:conditionExpression"
               ).text == "=(credit.score < 600)"


def test_errors_timeouts_and_jumps() -> None:
    root = tree("error_routes")
    error = one(root, "bpmn:error[@errorCode='kyc.blacklisted']")
    catch = one(root, "//bpmn:boundaryEvent[@id='Catch_kyc_kyc.blacklisted']")
    assert catch.get("attachedToRef") == "Task_kyc"
    assert one(catch, "bpmn:errorEventDefinition").get("errorRef") == error.get("id")
    jump = one(root, "//bpmn:sequenceFlow[@sourceRef='Catch_kyc_kyc.service-unavailable']")
    assert jump.get("targetRef") == "Gateway_manual_goto"
    timeout = one(root, "//bpmn:boundaryEvent[@id='Timeout_kyc']")
    assert timeout.get("cancelActivity") in (None, "true")
    assert one(timeout, ".//bpmn:timeDuration").text == "PT10S"
    assert route(root, "Timeout_kyc")[-1].get("name") == "failed"
    wait = one(tree("wait_manual"), "//bpmn:intermediateCatchEvent[@id='Wait_cooling_off']")
    assert one(wait, ".//bpmn:timeDuration").text == "PT24H"


def test_parallel_blocks_fork_and_join() -> None:
    root = tree("parallel")
    fork = one(root, "//bpmn:parallelGateway[@id='Fork_kyc']")
    assert len(fork.xpath("bpmn:outgoing", namespaces=NS)) == 2
    assert len(one(root, "//bpmn:parallelGateway[@id='Join_aml']")
               .xpath("bpmn:incoming", namespaces=NS)) == 2


def test_compensable_steps_have_a_boundary_an_association_and_a_handler() -> None:
    root = tree("compensation")
    expected = {"hold": ("core.funds.release", "3", [("=loan.amount", "hold.amount"),
                                                     ("=funds.hold_id", "hold.id")]),
                "open": ("core.loan-account.close", "1", [("=loan.account_number",
                                                           "account.number")]),
                "limit": ("core.limit.reset", "1", [("=loan.amount", "limit.amount")])}
    for step, (job_type, retries, inputs) in expected.items():
        boundary = one(root, f"//bpmn:boundaryEvent[@id='Compensation_{step}']")
        assert boundary.get("attachedToRef") == f"Task_{step}"
        assert [etree.QName(c).localname for c in boundary] == ["compensateEventDefinition"]
        link = one(root, f"bpmn:process/bpmn:association[@sourceRef='Compensation_{step}']")
        assert (link.get("id"), link.get("targetRef")) == (f"Association_{step}_undo",
                                                            f"Undo_{step}")
        handler = one(root, f"bpmn:process/bpmn:serviceTask[@id='Undo_{step}']")
        assert handler.get("isForCompensation") == "true"
        assert not handler.xpath("bpmn:incoming|bpmn:outgoing", namespaces=NS)
        definition = one(handler, ".//zeebe:taskDefinition")
        assert (definition.get("type"), definition.get("retries")) == (job_type, retries)
        headers = {h.get("key"): h.get("value")
                   for h in handler.xpath(".//zeebe:header", namespaces=NS)}
        assert headers["productkit.compensates"] == step
        assert [(m.get("source"), m.get("target"))
                for m in handler.xpath(".//zeebe:input", namespaces=NS)] == inputs
    assert not root.xpath("//bpmn:boundaryEvent[@attachedToRef='Task_charge']"
                          "[bpmn:compensateEventDefinition]", namespaces=NS)


def row_after(root: etree._Element, first: str) -> list[etree._Element]:
    """The nodes from ``first`` along single outgoing flows to an end event."""
    nodes = [one(root, f"bpmn:process/*[@id='{first}']")]
    while etree.QName(nodes[-1]).localname != "endEvent":
        flow = one(nodes[-1], "bpmn:outgoing").text
        target = one(root, f"bpmn:process/bpmn:sequenceFlow[@id='{flow}']").get("targetRef")
        nodes.append(one(root, f"bpmn:process/*[@id='{target}']"))
    return nodes


def compensations(row: list[etree._Element]) -> list[str]:
    return [d.get("activityRef") for n in row
            for d in n.xpath("bpmn:compensateEventDefinition", namespaces=NS)]


def route(root: etree._Element, source: str) -> list[etree._Element]:
    """The nodes an error route leads through to its end event: from the boundary event, or
    the flow ``<gateway>:<flow name>``, ``source``, past the merge gateway of a shared tail."""
    node, _, name = source.partition(":")
    flows = [f for f in root.xpath(f"bpmn:process/bpmn:sequenceFlow[@sourceRef='{node}']",
                                   namespaces=NS) if not name or f.get("name") == name]
    assert len(flows) == 1, source
    first = one(root, f"bpmn:process/*[@id='{flows[0].get('targetRef')}']")
    if etree.QName(first).localname == "exclusiveGateway":
        assert len(first.xpath("bpmn:outgoing", namespaces=NS)) == 1  # a merge
        return row_after(root, first.get("id"))[1:]
    return row_after(root, first.get("id"))


def end_of(root: etree._Element, source: str) -> str:
    """The end event ``source`` names, or the one its route (see :func:`route`) ends at."""
    found = root.xpath(f"bpmn:process/bpmn:endEvent[@id='{source}']", namespaces=NS)
    return str(found[0].get("id") if found else route(root, source)[-1].get("id"))


def test_routes_that_end_alike_share_one_tail() -> None:
    """One outcome event, compensation chain and terminate end per way of ending (outcome and
    message), reached through a merge gateway by every route that ends so."""
    root = tree("compensation")
    failed = {route(root, b)[0].get("id") for b in (
        "Failed_hold", "Timeout_hold", "Failed_open",
        "Failed_limit", "Failed_charge", "Timeout_review")}
    assert failed == {"Outcome__failed_1"}
    rejected = {route(root, b)[0].get("id") for b in (
        "Catch_open_core.customer-restricted", "Gateway_review_decision:review.declined")}
    assert len(rejected) == 2  # each with its own message
    ends = root.xpath("bpmn:process/bpmn:endEvent[bpmn:terminateEventDefinition]", namespaces=NS)
    tails = [e for e in ends if e.get("id").startswith("EndEvent__")]
    assert len(tails) == 4 and ends == tails  # the end step withdrawn's split jumps to the fourth
    for merge in root.xpath("bpmn:process/bpmn:exclusiveGateway[starts-with(@id, 'Gateway__')]",
                            namespaces=NS):
        assert len(merge.xpath("bpmn:incoming", namespaces=NS)) > 1
        assert len(merge.xpath("bpmn:outgoing", namespaces=NS)) == 1


def test_a_later_failure_compensates_the_completed_steps_last_first() -> None:
    root = tree("compensation")
    row = route(root, "Catch_charge_payment.insufficient")
    tail = row[0].get("id")[len("Outcome_"):]
    assert [n.get("id") for n in row] == [
        f"Outcome_{tail}", f"Compensate_{tail}_limit", f"Compensate_{tail}_open",
        f"Compensate_{tail}_hold", f"EndEvent_{tail}"]
    assert compensations(row) == ["Task_limit", "Task_open", "Task_hold"]
    assert all(etree.QName(n).localname == "intermediateThrowEvent" for n in row[1:-1])
    assert not root.xpath("//bpmn:compensateEventDefinition[@waitForCompletion='false']",
                          namespaces=NS)
    one(row[-1], "bpmn:terminateEventDefinition")
    # a shared tail throws for every compensable step, last first: a throw for a step that did
    # not complete (the failing one, a later one, one jumped over, one still running) does
    # nothing, so an end undoes the steps completed by then (the runs in paths.json:
    # open_restricted_rejects undoes hold, hold_timeout_fails_with_nothing_to_undo nothing)
    assert compensations(route(root, "Catch_open_core.customer-restricted")) == [
        "Task_limit", "Task_open", "Task_hold"]
    assert compensations(route(root, "Timeout_hold")) == ["Task_limit", "Task_open", "Task_hold"]
    # an end step throws only for the steps that may have completed before it
    assert compensations(route(root, "Gateway_withdrawn_when:yes")) == [
        "Task_limit", "Task_open", "Task_hold"]
    assert [n.get("id") for n in row_after(root, "Task_notify")] == [  # completed: none
        "Task_notify", "Gateway_notify_continue", "EndEvent_completed"]


def test_compensate_on_decides_which_ends_compensate() -> None:
    defn = load("compensation")
    result = emit_bpmn(defn.model_copy(update={"compensate_on": ["failed", "completed"]}))
    assert result.content is not None and not result.diagnostics
    root = etree.fromstring(result.content)
    assert compensations(route(root, "Gateway_review_decision:review.declined")) == []  # rejected
    assert compensations(route(root, "Timeout_review")) == [
        "Task_limit", "Task_open", "Task_hold"]
    assert [n.get("id") for n in row_after(root, "Task_notify")] == [
        "Task_notify", "Gateway_notify_continue", "Compensate_completed_limit", "Compensate_completed_open",
        "Compensate_completed_hold", "EndEvent_completed"]
    nothing = emit_bpmn(defn.model_copy(update={"compensate_on": []})).content or b""
    assert b"<intermediateThrowEvent id=\"Compensate_" not in nothing
    assert nothing.count(b"<compensateEventDefinition/>") == 3  # the boundaries stay


def test_staff_decisions_route_the_submitted_error_code() -> None:
    root = tree("compensation")
    gateway = one(root, "//bpmn:exclusiveGateway[@id='Gateway_review_decision']")
    assert gateway.get("name") == "review.error"
    flows = {f.get("id"): f for f in root.xpath("//bpmn:sequenceFlow", namespaces=NS)}
    assert [flows[i.text].get("sourceRef") for i in gateway.xpath("bpmn:incoming",
                                                                  namespaces=NS)] == ["Task_review"]
    assert flows[gateway.get("default")].get("targetRef") == "Task_charge"
    out = {flows[o.text].get("name"): flows[o.text]
           for o in gateway.xpath("bpmn:outgoing", namespaces=NS) if o.text != gateway.get("default")}
    assert sorted(out) == ["review.declined", "review.more-info"]
    assert one(out["review.declined"], "bpmn:conditionExpression").text == \
        '=review.error = "review.declined"'
    declined = route(root, "Gateway_review_decision:review.declined")
    assert declined[0].get("name") == "outcome: rejected"
    assert out["review.more-info"].get("targetRef") == "Gateway_notify_goto"
    assert one(out["review.more-info"], "bpmn:conditionExpression").text == \
        '=review.error = "review.more-info"'
    assert not root.xpath("bpmn:error[starts-with(@errorCode, 'review.')]", namespaces=NS)
    assert declined[-1].get("name") == "rejected"


@pytest.mark.parametrize("name", FIXTURES)
def test_diagram_draws_everything_orthogonally(name: str) -> None:
    root = tree(name)
    process = one(root, "bpmn:process")
    shapes = {s.get("bpmnElement"): s for s in root.xpath("//bpmndi:BPMNShape", namespaces=NS)}
    edges = {e.get("bpmnElement"): e for e in root.xpath("//bpmndi:BPMNEdge", namespaces=NS)}
    nodes = [el for el in process if el.get("id") and etree.QName(el).localname != "sequenceFlow"]
    nodes = [el for el in nodes if etree.QName(el).localname != "association"]
    assert sorted(shapes) == sorted(el.get("id") for el in nodes)
    assert sorted(edges) == sorted(process.xpath("bpmn:sequenceFlow/@id|bpmn:association/@id",
                                                 namespaces=NS))
    for flow_id, edge in edges.items():
        points = [(float(p.get("x")), float(p.get("y"))) for p in edge.xpath("di:waypoint",
                                                                             namespaces=NS)]
        assert len(points) >= 2
        for (x1, y1), (x2, y2) in itertools.pairwise(points):
            assert x1 == x2 or y1 == y2, f"{flow_id}: diagonal segment"


# problems are reported ----------------------------------------------------------------------

def codes(result: Emitted) -> list[tuple[str, str, tuple[str | int, ...]]]:
    return [(d.code, d.severity.value, d.location.path) for d in result.diagnostics]


def test_a_condition_without_feel_is_reported_not_emitted() -> None:
    defn = load("conditional")
    face = defn.steps["face"]
    steps = {**defn.steps, "face": face.model_copy(  # an index has no FEEL translation
        update={"when": face.when.model_copy(update={"cel": 'applicant.tags[0] == "vip"'}) if face.when else None})}
    result = emit_bpmn(defn.model_copy(update={"steps": steps}))
    assert result.content is None
    assert codes(result) == [("PK501", "error", ("steps", "face", "when"))]
    assert result.diagnostics[0].location.file == "products/card/gold.yaml"


def _with_route(name: str, step: str, code: str, route: ir.ErrorRoute) -> ir.WorkflowDefinition:
    defn = load(name)
    changed = defn.steps[step].model_copy(update={"errors": {code: route}})
    return defn.model_copy(update={"steps": {**defn.steps, step: changed}})


@pytest.mark.parametrize(("name", "step", "target"), [
    ("parallel", "kyc", "decide"),  # out of a parallel branch
    ("error_routes", "open", "kyc"),  # backwards
    ("parallel", "kyc", "fraud"),  # from one parallel branch into another
])
def test_a_jump_bpmn_cannot_express_is_reported(name: str, step: str, target: str) -> None:
    result = emit_bpmn(_with_route(name, step, "x.failed", ir.ErrorRoute(goto=target)))
    assert result.content is None
    assert codes(result) == [("PK501", "error", ("steps", step, "errors", "x.failed", "goto"))]


def test_steps_after_an_unconditional_end_are_reported() -> None:
    defn = load("conditional")
    reject = defn.steps["reject"].model_copy(update={"when": None})
    result = emit_bpmn(defn.model_copy(update={"steps": {**defn.steps, "reject": reject}}))
    assert result.content is None
    assert [c[2] for c in codes(result)] == [("flow", 4), ("flow", 5), ("flow", 6)]


def test_problems_inside_parallel_branches_carry_their_path() -> None:
    defn = load("parallel")
    end = defn.steps["low_credit"].model_copy(update={"when": None})
    flow = ["apply", ir.Parallel(parallel=[["low_credit", "kyc", "face"],
                                           ["credit", ir.Parallel(parallel=[["aml"], ["fraud"]])]]),
            "decide", "disburse"]
    result = emit_bpmn(defn.model_copy(update={"steps": {**defn.steps, "low_credit": end},
                                               "flow": flow}))
    assert [c[2] for c in codes(result)] == [("flow", 1, "parallel", 0, 1),
                                             ("flow", 1, "parallel", 0, 2)]


def test_interruptible_waits_and_compensated_user_steps_are_reported() -> None:
    assert codes(emit_bpmn(load("wait_manual"))) == [
        ("PK501", "info", ("steps", "cooling_off", "interruptible"))]
    defn = load("error_routes")
    manual = defn.steps["manual"].model_copy(update={"compensation": ir.Compensation(handler="x")})
    result = emit_bpmn(defn.model_copy(update={"steps": {**defn.steps, "manual": manual}}))
    assert result.content is not None and b"compensateEventDefinition" not in result.content
    assert codes(result) == [("PK501", "warning", ("steps", "manual", "compensation"))]


def _with_step(name: str, step: str, **update: Any) -> ir.WorkflowDefinition:
    defn = load(name)
    changed = defn.steps[step].model_copy(update=update)
    return defn.model_copy(update={"steps": {**defn.steps, step: changed}})


def test_user_step_errors_need_an_error_path_that_is_a_form_field() -> None:
    result = emit_bpmn(_with_step("compensation", "review", error_path=None))
    assert result.content is None
    assert codes(result) == [("PK501", "error", ("steps", "review", "errors"))]
    result = emit_bpmn(_with_step("compensation", "review", error_path="review.reason"))
    assert codes(result) == [("PK501", "error", ("steps", "review", "error_path"))]
    review = load("compensation").steps["review"]
    fields = {**review.fields, "review.if": review.fields["review.error"]}
    result = emit_bpmn(_with_step("compensation", "review", error_path="review.if", fields=fields))
    assert codes(result) == [("PK501", "error", ("steps", "review", "error_path"))]
    assert "not a data path FEEL can read" in result.diagnostics[0].message


def test_error_codes_and_field_values_that_disagree_are_reported() -> None:
    review = load("compensation").steps["review"]
    field = review.fields["review.error"].model_copy(
        update={"values": ["review.declined", "review.on-hold"]})
    result = emit_bpmn(_with_step("compensation", "review",
                                  fields={**review.fields, "review.error": field}))
    assert result.content is not None
    assert codes(result) == [
        ("PK501", "warning", ("steps", "review", "errors", "review.more-info")),
        ("PK501", "warning", ("steps", "review", "error_path"))]


def test_a_staff_jump_bpmn_cannot_express_is_reported() -> None:
    review = load("compensation").steps["review"]
    errors = {**review.errors, "review.more-info": ir.ErrorRoute(goto="hold")}
    result = emit_bpmn(_with_step("compensation", "review", errors=errors))
    assert codes(result) == [("PK501", "error",
                              ("steps", "review", "errors", "review.more-info", "goto"))]


# the target registry ----------------------------------------------------------------------

def test_registry_finds_bpmn_by_name() -> None:
    assert TARGETS["bpmn"] is BpmnTarget
    assert emit(load("sequential"), "bpmn") == emit_bpmn(load("sequential"))
    assert emit_bpmn(load("sequential"), language="en").content != emitted("sequential")
    with pytest.raises(KeyError, match="no target 'dot'"):
        emit(load("sequential"), "dot")


def test_a_target_without_a_handler_reports_the_node(monkeypatch: pytest.MonkeyPatch) -> None:
    class Outline(Target[EmitContext, str]):
        """Lists service steps; knows nothing else."""

        name, suffix = "outline", ".txt"

        def emit(self, defn: ir.WorkflowDefinition) -> Emitted:
            ctx = EmitContext(defn, self.name)
            lines = [self.node(item, ctx) for item in defn.flow]
            return ctx.finish("\n".join(line for line in lines if line).encode())

        def step_service(self, step: ir.Step, ctx: EmitContext) -> str:
            return step.id

    monkeypatch.setitem(TARGETS, "outline", Outline)
    assert register(Outline) is Outline
    result = emit(load("parallel"), "outline")
    assert result.content is None
    assert codes(result) == [("PK501", "error", ("steps", "apply")), ("PK501", "error", ("flow",))]
    assert "cannot express step 'apply' of kind 'user'" in result.diagnostics[0].message
