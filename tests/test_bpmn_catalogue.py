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
