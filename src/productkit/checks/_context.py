"""What every check receives: the catalogue, the dictionary, the options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..catalog import Catalog, Entry
from ..diagnostics import Diagnostic, Location, Related, Severity
from ..model import ParameterDictionary, TypeSpec
from ..options import Options
from ..params import Problem

__all__ = ["Context", "problem_diagnostic"]


@dataclass(slots=True)
class Context:
    catalog: Catalog
    options: Options
    dictionary: dict[str, TypeSpec] = field(default_factory=dict)
    dictionary_entries: dict[str, tuple[Entry, str]] = field(default_factory=dict)
    assemblies: dict[tuple[str, str, str], Any] = field(default_factory=dict)

    @classmethod
    def build(cls, catalog: Catalog, options: Options) -> Context:
        ctx = cls(catalog, options)
        for entry in catalog.kind("ParameterDictionary"):
            model = entry.model
            assert isinstance(model, ParameterDictionary)
            for name, spec in model.parameters.items():
                ctx.dictionary.setdefault(name, spec)
                ctx.dictionary_entries.setdefault(name, (entry, name))
        return ctx

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
