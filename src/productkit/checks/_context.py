"""What every check receives: the catalogue, the dictionary, the options."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._cache import Cache
from ..catalog import Catalog, Entry
from ..diagnostics import Diagnostic, Location, Related, Severity
from ..model import ParameterDictionary, TypeSpec
from ..options import Options
from ..params import Problem

__all__ = ["Assemblies", "Context", "problem_diagnostic"]

Key = tuple[str, str, str]


class Assemblies(Mapping[Key, Any]):
    """Product key -> its Assembly, built on first use: a product whose checks came from the
    cache is resolved and assembled again only if something (compile, explain) asks for it."""

    def __init__(self, make: Callable[[Entry], Any]) -> None:
        self._make = make
        self._entries: dict[Key, Entry] = {}
        self._built: dict[Key, Any] = {}

    def add(self, entry: Entry, assembly: Any | None = None) -> None:
        self._entries[entry.key] = entry
        self._built.pop(entry.key, None)
        if assembly is not None:
            self._built[entry.key] = assembly

    def __getitem__(self, key: Key) -> Any:
        if key not in self._built:
            self._built[key] = self._make(self._entries[key])
        return self._built[key]

    def __iter__(self) -> Iterator[Key]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(slots=True)
class Context:
    catalog: Catalog
    options: Options
    dictionary: dict[str, TypeSpec] = field(default_factory=dict)
    dictionary_entries: dict[str, tuple[Entry, str]] = field(default_factory=dict)
    assemblies: Assemblies = field(init=False)
    cache: Cache | None = None  # per-product results of check_products
    selected: frozenset[str] | None = None  # only these files' problems are wanted
    inputs: dict[Key, list[str]] = field(default_factory=dict)  # files each product depends on

    def __post_init__(self) -> None:
        self.assemblies = Assemblies(self._assemble)

    def _assemble(self, entry: Entry) -> Any:
        from ..assemble import assemble
        from ..resolve import resolve_product

        return assemble(self, resolve_product(self, entry))

    @classmethod
    def build(cls, catalog: Catalog, options: Options, cache: Cache | None = None,
              selected: frozenset[str] | None = None) -> Context:
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
