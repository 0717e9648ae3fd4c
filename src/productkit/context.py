"""What the resolve and assemble stages and every check receive: the catalogue, the
parameter dictionary, the options, the cache, and which files a caller asked about."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

from .cache import Cache
from .diagnostics import Diagnostic, Location, Related, Severity
from .model import ParameterDictionary, TypeSpec
from .options import Options
from .params import Problem
from .sources import Entry, SourceCatalog

__all__ = ["Context", "Key", "problem_diagnostic"]

Key = tuple[str, str, str]  # (kind, id, version)


@dataclass(slots=True)
class Context:
    catalog: SourceCatalog
    options: Options
    dictionary: dict[str, TypeSpec] = field(default_factory=dict)
    dictionary_entries: dict[str, tuple[Entry, str]] = field(default_factory=dict)
    cache: Cache | None = None  # per-product results of check_products
    selected: frozenset[str] | None = None  # only these files' problems are wanted
    inputs: dict[Key, list[str]] = field(default_factory=dict)  # files each product depends on

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
