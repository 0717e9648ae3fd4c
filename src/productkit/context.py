"""What the resolve and assemble stages and every check receive: the catalogue, the
parameter dictionary, the options, the cache, and which files a caller asked about."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self

from .cache import Cache
from .diagnostics import Diagnostic, Location, Related, Severity
from .model import ParameterDictionary, TypeSpec
from .options import Options
from .params import Problem, effective_spec
from .sources import Entry, SourceCatalog

__all__ = ["Context", "Key", "problem_diagnostic"]

Key = tuple[str, str, str]  # (kind, id, version)

_REF_ONLY = frozenset({"ref"})


@dataclass(slots=True)
class Context:
    catalog: SourceCatalog
    options: Options
    dictionary: dict[str, TypeSpec] = field(default_factory=dict)
    dictionary_entries: dict[str, tuple[Entry, str]] = field(default_factory=dict)
    cache: Cache | None = None  # per-product results of check_products
    selected: frozenset[str] | None = None  # only these files' problems are wanted
    inputs: dict[Key, list[str]] = field(default_factory=dict)  # files each product depends on
    # id(declaration) -> (the declaration, kept alive so that its id is not reused; its effective
    # spec); the name for a declaration that is only a ref (all of those complete alike)
    effective_specs: dict[int | str, tuple[TypeSpec, TypeSpec]] = field(default_factory=dict)
    # ids of a chain of lines -> (the lines, the parameters they set, their problems): see resolve
    line_params: dict[tuple[int, ...], Any] = field(default_factory=dict)
    # id(component entry) -> (the entry, its parameters with their defaults): see resolve
    component_params: dict[int, Any] = field(default_factory=dict)
    # name -> a dictionary parameter as a level that sets it without declaring it starts it
    dictionary_params: dict[str, Any] = field(default_factory=dict)
    # ids of a chain of lines -> (the lines, the steps they declare, their problems): see resolve
    line_steps: dict[tuple[int, ...], Any] = field(default_factory=dict)

    @classmethod
    def build(cls, catalog: SourceCatalog, options: Options, cache: Cache | None = None,
              selected: frozenset[str] | None = None) -> Self:
        ctx = cls(catalog, options, cache=cache, selected=selected)
        for entry in catalog.kind("ParameterDictionary"):
            model = entry.model
            assert isinstance(model, ParameterDictionary)
            for name, spec in model.parameters.items():
                ctx.dictionary.setdefault(name, spec)
                ctx.dictionary_entries.setdefault(name, (entry, name))
        return ctx

    def effective(self, spec: TypeSpec) -> TypeSpec:
        """:func:`params.effective_spec` of ``spec`` against this context's dictionary, worked out
        once per declaration: every product using a component completes the same declarations."""
        if spec.ref is None:
            return spec
        key: int | str = spec.ref if spec.model_fields_set == _REF_ONLY else id(spec)
        found = self.effective_specs.get(key)
        if found is None or (type(key) is int and found[0] is not spec):
            found = (spec, effective_spec(spec, self.dictionary))
            self.effective_specs[key] = found
        return found[1]

    def dictionary_loc(self, name: str) -> Location | None:
        found = self.dictionary_entries.get(name)
        if found is None:
            return None
        entry, key = found
        return entry.doc.loc(("parameters", key), key=True)


def problem_diagnostic(problem: Problem, entry: Entry, path: tuple[str | int, ...],
                       declared: Location | None = None, severity: Severity = Severity.ERROR) -> Diagnostic:
    """A params.Problem at ``path`` (the field at fault when it names one)."""
    at = path + (problem.field,) if problem.field and (path + (problem.field,)) in entry.doc.marks.values else path
    related = (Related(declared, "declared here"),) if declared is not None else ()
    return Diagnostic(problem.code, problem.message, entry.doc.loc(at), severity, related, problem.hint)
