"""Mutation score: change each product in one small way at a time (negate a ``when``, move a
parameter to a bound of its dictionary, drop an error route, swap an outcome, remove a
compensation), run the product's scenarios against the changed definition on the embedded
engine, and report the changes no scenario noticed, at the YAML line they changed.

The catalogue is never written: each mutant is a copy of the compiled definition in memory,
served by a copy of the loaded catalogue."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import ir
from ._scenario_check import expand
from ._scenario_run import run_scenario
from .diagnostics import Diagnostic, Location, Severity, render_text
from .loader import Document, load_file

__all__ = ["Mutant", "MutationReport", "mutants", "mutation_score"]

_SWAP = {"completed": "rejected", "rejected": "referred", "referred": "rejected",
         "failed": "rejected", "cancelled": "rejected"}
_NUMERIC = ("integer", "decimal", "money", "percent")


@dataclass(frozen=True, slots=True)
class Mutant:
    """One small change to a product: what it does, where in the YAML, and the changed definition."""

    product: str
    operator: str
    description: str
    location: Location
    definition: ir.WorkflowDefinition


@dataclass(slots=True)
class MutationReport:
    """Every mutant of every product, and which the scenarios killed (noticed)."""

    killed: list[Mutant] = dataclasses.field(default_factory=list)
    survived: list[Mutant] = dataclasses.field(default_factory=list)

    def score(self, product: str | None = None) -> float:
        """Killed mutants in percent (100 when there are none)."""
        k = [m for m in self.killed if product in (None, m.product)]
        s = [m for m in self.survived if product in (None, m.product)]
        return 100.0 * len(k) / (len(k) + len(s)) if k or s else 100.0

    def diagnostics(self) -> list[Diagnostic]:
        """Each surviving mutant as a located warning (PK705)."""
        return [Diagnostic("PK705", f"{m.description}: every scenario of {m.product} still passes",
                           m.location, Severity.WARNING,
                           hint="add a scenario whose expectation this change breaks")
                for m in self.survived]

    def render(self) -> str:
        """The report as text: the score per product, then each survivor at its YAML line."""
        products = sorted({m.product for m in self.killed + self.survived})
        lines = ["mutation score"]
        for pid in products:
            total = sum(m.product == pid for m in self.killed + self.survived)
            lines.append(f"  {pid}: {self.score(pid):.0f}% of {total} mutants killed")
        lines.append(f"  all: {self.score():.1f}% ({len(self.killed)} killed, {len(self.survived)} survived)")
        text = "\n".join(lines) + "\n"
        return text + (render_text(self.diagnostics(), show_source=False) if self.survived else "")

    def to_json(self) -> dict[str, object]:
        """The report as JSON data: the score, the killed count and each survivor located."""
        return {"score": round(self.score(), 1), "killed": len(self.killed),
                "survived": [d.to_json() for d in self.diagnostics()]}


# ----------------------------------------------------------------- locating


@dataclass(frozen=True, slots=True)
class _Source:
    """The product's YAML and its lines', to locate a mutant at the line it changes."""

    docs: tuple[Document, ...]
    file: str

    def step(self, step_id: str, *rest: str | int) -> Location:
        for doc in self.docs:
            steps = doc.data.get("steps") if isinstance(doc.data, dict) else None
            for index, item in enumerate(steps if isinstance(steps, list) else []):
                if isinstance(item, dict) and item.get("id") == step_id:
                    path: tuple[str | int, ...] = ("steps", index, *rest)
                    while path[2:] and not _has(doc.data, path):
                        path = path[:-1]
                    return doc.loc(path, key=len(path) > 2)
        return Location(self.file, 1, 1)


def _has(data: Any, path: Sequence[str | int]) -> bool:
    for part in path:
        try:
            data = data[part] if isinstance(data, dict | list) else None  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return False
        if data is None:
            return False
    return True


def _source(root: Path, defn: ir.WorkflowDefinition, lines: Mapping[str, Document]) -> _Source:
    doc, _ = load_file(root / defn.source) if defn.source else (None, [])
    docs = [doc] if doc is not None else []
    docs += [lines[ref] for ref in defn.lines if ref in lines]
    return _Source(tuple(docs), str(root / defn.source))


def _line_docs(root: Path) -> dict[str, Document]:
    """Every product line's document by ``id@version``, where inherited steps are declared."""
    out = {}
    for path in sorted((root / "products").rglob("*.yaml")):
        doc, _ = load_file(path)
        data = doc.data if doc is not None else None
        if doc is not None and isinstance(data, dict) and data.get("kind") == "ProductLine":
            out[f"{data.get('id')}@{data.get('version')}"] = doc
    return out


# ----------------------------------------------------------------- operators


def _replace_step(defn: ir.WorkflowDefinition, step: ir.Step, **changes: Any) -> ir.WorkflowDefinition:
    steps = dict(defn.steps)
    steps[step.id] = step.model_copy(update=changes)
    return defn.model_copy(update={"steps": steps})


def _negated(cond: ir.Condition) -> ir.Condition:
    return cond.model_copy(update={"cel": f"!({cond.cel})", "exec": f"!({cond.exec})"})


def _negations(defn: ir.WorkflowDefinition, src: _Source) -> Iterator[Mutant]:
    for step in defn.steps.values():
        if step.when is not None:
            yield Mutant(defn.id, "negate-when", f"negating the condition of step '{step.id}'",
                         src.step(step.id, "when"), _replace_step(defn, step, when=_negated(step.when)))


def _routes(defn: ir.WorkflowDefinition, src: _Source) -> Iterator[Mutant]:
    for step in defn.steps.values():
        for code, route in step.errors.items():
            if route.end == "failed" and route.goto is None:
                continue  # what an unrouted error does already: dropping it changes nothing
            errors = {**step.errors, code: ir.ErrorRoute(end="failed")}
            yield Mutant(defn.id, "drop-error-route", f"dropping the route of error {code} at step '{step.id}'",
                         src.step(step.id, "on_error", code), _replace_step(defn, step, errors=errors))


def _outcomes(defn: ir.WorkflowDefinition, src: _Source) -> Iterator[Mutant]:
    for step in defn.steps.values():
        if step.kind == "end" and step.outcome in _SWAP:
            other = _SWAP[step.outcome]
            yield Mutant(defn.id, "swap-outcome", f"ending step '{step.id}' {other} instead of {step.outcome}",
                         src.step(step.id, "end"), _replace_step(defn, step, outcome=other))
        for code, route in step.errors.items():
            if route.end in _SWAP and route.end != "failed":
                errors = {**step.errors, code: route.model_copy(update={"end": _SWAP[route.end]})}
                yield Mutant(defn.id, "swap-outcome",
                             f"ending error {code} at step '{step.id}' {_SWAP[route.end]} instead of {route.end}",
                             src.step(step.id, "on_error", code), _replace_step(defn, step, errors=errors))


def _compensations(defn: ir.WorkflowDefinition, src: _Source) -> Iterator[Mutant]:
    for step in defn.steps.values():
        if step.compensation is not None:
            yield Mutant(defn.id, "remove-compensation", f"removing the compensation of step '{step.id}'",
                         src.step(step.id, "use"), _replace_step(defn, step, compensation=None))


def _read_names(defn: ir.WorkflowDefinition) -> set[str]:
    names = {n for s in defn.steps.values() if s.when for n in s.when.names}
    names |= {n for r in defn.rules for n in r.condition.names}
    return names | {n for d in defn.derived.values() for n in d.condition.names}


def _parameters(defn: ir.WorkflowDefinition, bounds: Mapping[str, tuple[Any, Any]]) -> Iterator[Mutant]:
    read = _read_names(defn)
    for name, param in sorted(defn.parameters.items()):
        if name not in read or param.type not in _NUMERIC or param.locked:
            continue
        set_at = param.provenance[-1] if param.provenance else None
        where = Location(set_at.file, set_at.line, set_at.col) if set_at else Location(defn.source)
        for bound in bounds.get(name, ()):
            if bound is None or str(bound) == str(param.value):
                continue
            params = {**defn.parameters, name: param.model_copy(update={"value": _as_value(param, bound)})}
            yield Mutant(defn.id, "parameter-to-bound", f"moving {name} from {param.value} to its bound {bound}",
                         where, defn.model_copy(update={"parameters": params}))


def _as_value(param: ir.ParamValue, bound: Any) -> Any:
    return int(str(bound)) if param.type == "integer" else str(bound)


def mutants(defn: ir.WorkflowDefinition, root: Path,
            bounds: Mapping[str, tuple[Any, Any]] | None = None,
            lines: Mapping[str, Document] | None = None) -> list[Mutant]:
    """Every mutant of ``defn`` (``root`` is the catalogue, to locate them in the YAML)."""
    src = _source(root, defn, _line_docs(root) if lines is None else lines)
    return [*_negations(defn, src), *_parameters(defn, bounds or {}), *_routes(defn, src),
            *_outcomes(defn, src), *_compensations(defn, src)]


def dictionary_bounds(root: Path) -> dict[str, tuple[Any, Any]]:
    """Each dictionary parameter's declared (min, max)."""
    out: dict[str, tuple[Any, Any]] = {}
    for path in sorted((root / "components").rglob("*.yaml")):
        doc, _ = load_file(path)
        data = doc.data if doc is not None else None
        if not (isinstance(data, dict) and data.get("kind") == "ParameterDictionary"):
            continue
        for name, spec in (data.get("parameters") or {}).items():
            if isinstance(spec, dict):
                out[str(name)] = (spec.get("min"), spec.get("max"))
    return out


# ----------------------------------------------------------------- running


def _mutant_catalog(catalog: Any, mutant: Mutant) -> Any:
    """``catalog`` with the mutant in place of its product version."""
    return catalog.with_definition(mutant.definition, "mutant:" + str(id(mutant.definition)))


def _refused_by_constraints(defn: ir.WorkflowDefinition) -> bool:
    """Whether a constraint rule of ``defn`` fails on its parameters: the build refuses it."""
    from .runtime._expr import holds
    from .runtime._values import param_value
    from .runtime.errors import ConditionError

    params = {n: param_value(p) for n, p in defn.parameters.items()}
    for rule in defn.rules:
        if rule.kind == "constraint" and set(rule.condition.names) <= set(params):
            try:
                if not holds(rule.condition, params, defn.derived):
                    return True
            except ConditionError:
                continue
    return False


def _killed(catalog: Any, loaded: Sequence[Any], mutant: Mutant) -> bool:
    if mutant.operator == "parameter-to-bound" and _refused_by_constraints(mutant.definition):
        return True  # the build's own constraint rules refuse the change
    clone = _mutant_catalog(catalog, mutant)
    for item in loaded:
        spec = item.spec
        for sc in expand(spec):
            generated = (sc.defaults or spec.defaults) == "generated"
            if not run_scenario(clone, sc, spec.product, spec.version, generated=generated).passed:
                return True
    return False


def mutation_score(catalog: Any, files: Sequence[Any], root: Path) -> MutationReport:
    """Run each product's scenarios (``files``: loaded scenario files) against its mutants."""
    report = MutationReport()
    bounds, lines = dictionary_bounds(root), _line_docs(root)
    by_product: dict[str, list[Any]] = {}
    for item in files:
        by_product.setdefault(item.spec.product, []).append(item)
    for pid, loaded in sorted(by_product.items()):
        defn = catalog.definition(pid, loaded[0].spec.version)
        for mutant in mutants(defn, root, bounds, lines):
            (report.killed if _killed(catalog, loaded, mutant) else report.survived).append(mutant)
    return report
