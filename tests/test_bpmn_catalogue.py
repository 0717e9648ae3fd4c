"""Every product of the repository's catalogue, compiled and emitted as BPMN, checked from
outside: the emitter says everything (no PK501 error or warning), the document is valid
against the OMG BPMN 2.0 XSD, bpmnlint with Camunda's 8.6 rules finds nothing (one batch run
for the whole catalogue), and SpiffWorkflow parses the process (as ``bpmn_support`` runs it).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from bpmn_support import bpmn_schema, bpmnlint, parse_bpmn
from productkit import ir
from productkit.compile import compile_product
from productkit.diagnostics import Severity
from productkit.targets import Emitted
from productkit.targets.bpmn import emit_bpmn, process_id
from productkit.validate import validate

REPO = Path(__file__).parent.parent


@dataclass(frozen=True)
class Product:
    key: str  # id@version
    defn: ir.WorkflowDefinition
    emitted: Emitted

    @property
    def content(self) -> bytes:
        assert self.emitted.content is not None, f"{self.key}: {self.emitted.diagnostics}"
        return self.emitted.content


@functools.cache
def catalogue() -> tuple[Product, ...]:
    result = validate([REPO])
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    assert not errors, f"the catalogue does not validate: {errors[:5]}"
    assert result.context is not None
    products = []
    for key in sorted(result.context.assemblies):
        defn = compile_product(result.context.assemblies[key])
        products.append(Product(f"{defn.id}@{defn.version}", defn, emit_bpmn(defn)))
    assert products, "the catalogue has no product"
    return tuple(products)


def test_every_product_is_emitted_without_pk501_errors_or_warnings() -> None:
    problems = [f"{p.key}: {d.severity.value} {d.code} {d.message}" for p in catalogue()
                for d in p.emitted.diagnostics if d.severity is not Severity.INFO]
    assert not problems, "\n".join(problems)
    assert all(p.emitted.ok for p in catalogue())


def test_every_product_is_valid_against_the_bpmn_xsd() -> None:
    schema = bpmn_schema()
    invalid = {p.key: str(schema.error_log) for p in catalogue()
               if not schema.validate(etree.fromstring(p.content))}
    assert not invalid, invalid


def test_bpmnlint_with_camunda_8_6_rules_finds_nothing_in_the_catalogue(tmp_path: Path) -> None:
    files = []
    for product in catalogue():
        files.append(tmp_path / f"{product.key}.bpmn")
        files[-1].write_bytes(product.content)
    out = bpmnlint(files, "--max-warnings=0")
    assert out.returncode == 0 and "problem" not in out.stdout, out.stdout + out.stderr


def test_spiffworkflow_parses_every_process() -> None:
    for product in catalogue():
        spec = parse_bpmn(product.content, process_id(product.defn))
        tasks = {t.bpmn_id for t in spec.task_specs.values()}
        runnable = {f"Task_{s}" for s, step in product.defn.steps.items()
                    if step.kind in ("service", "user") and s not in product.defn.finally_steps}
        runnable |= {f"Finally__completed_{s}" for s in product.defn.finally_steps}
        assert runnable <= tasks, (product.key, sorted(runnable - tasks))


_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
       "zeebe": "http://camunda.org/schema/zeebe/1.0"}


def _tail(root: etree._Element, source: str) -> list[etree._Element]:
    """The nodes the route from the boundary event ``source`` runs through, past the merge
    gateway of a shared tail (and past the finally steps, along their skip flows), to its end
    event."""
    nodes: list[etree._Element] = []
    here = source
    while True:
        flows = root.xpath(f"bpmn:process/bpmn:sequenceFlow[@sourceRef='{here}']", namespaces=_NS)
        if len(flows) > 1:  # a finally step's condition: its default flow skips it
            (default,) = root.xpath(f"bpmn:process/*[@id='{here}']/@default", namespaces=_NS)
            flows = [f for f in flows if f.get("id") == default]
        assert len(flows) == 1, (source, here)
        here = flows[0].get("targetRef")
        (node,) = root.xpath(f"bpmn:process/*[@id='{here}']", namespaces=_NS)
        if etree.QName(node).localname == "endEvent":
            return [*nodes, node]
        if etree.QName(node).localname != "exclusiveGateway":
            nodes.append(node)


def _expected_end(defn: ir.WorkflowDefinition, step: ir.Step, code: str) -> tuple[str, str] | None:
    """(outcome, message in zh-CN) a route of ``step`` for ``code`` ends with; None: no end."""
    route = step.errors.get(code if code != "timeout" else "productkit.failed")
    if route is not None and route.goto is not None:
        return None
    if route is None and step.kind == "service" and not step.critical:
        return None
    message = route.message.zh_CN if route is not None and route.message else ""
    return (route.end or "failed") if route is not None else "failed", message


def test_every_error_route_ends_in_the_shared_tail_of_its_outcome_and_message() -> None:
    """For every boundary event of every product: the tail it reaches sets the outcome the
    route declares, documents its message, throws compensation for every compensable step
    (last first) when the outcome compensates, and ends with a terminate end of that outcome."""
    checked = 0
    for product in catalogue():
        defn, root = product.defn, etree.fromstring(product.content)
        flow = [s for s in _flow_order(defn.flow)]
        compensable = [s for s in reversed(flow) if defn.steps[s].kind == "service"
                       and defn.steps[s].compensation is not None]
        for boundary in root.xpath("//bpmn:boundaryEvent[bpmn:errorEventDefinition or "
                                   "bpmn:timerEventDefinition][starts-with(@id, 'Catch_') or "
                                   "starts-with(@id, 'Failed_') or starts-with(@id, 'Timeout_')]", namespaces=_NS):
            step_id = boundary.get("attachedToRef").removeprefix("Task_")
            if step_id not in defn.steps:
                continue  # a finally step's copy: it goes on
            step = defn.steps[step_id]
            code = ("timeout" if boundary.get("id").startswith("Timeout_")
                    else boundary.get("name") if boundary.get("name") != "technical failure"
                    else "productkit.failed")
            expected = _expected_end(defn, step, code)
            if expected is None:
                continue
            outcome, message = expected
            row = _tail(root, boundary.get("id"))
            setter, *rest = row
            mapping = setter.xpath(".//zeebe:output[@target='outcome']/@source", namespaces=_NS)
            assert mapping == [f'="{outcome}"'], (product.key, boundary.get("id"))
            assert (setter.findtext("bpmn:documentation", namespaces=_NS) or "") == message
            refs = [r for n in rest for r in n.xpath("bpmn:compensateEventDefinition/@activityRef",
                                                     namespaces=_NS)]
            undo = compensable if outcome in defn.compensate_on else []
            assert refs == [f"Task_{s}" for s in undo], (product.key, boundary.get("id"))
            assert rest[-1].get("name") == outcome and rest[-1].xpath(
                "bpmn:terminateEventDefinition", namespaces=_NS)
            key = setter.get("id").removeprefix("Outcome_")
            for sid in defn.finally_steps:
                assert root.xpath(f"bpmn:process/bpmn:serviceTask[@id='Finally_{key}_{sid}']",
                                  namespaces=_NS), (product.key, key, sid)
            checked += 1
    assert checked >= 100, checked


def _flow_order(flow: ir.Flow) -> list[str]:
    out: list[str] = []
    for item in flow:
        if isinstance(item, str):
            out.append(item)
        else:
            for branch in item.parallel:
                out.extend(_flow_order(branch))
    return out
