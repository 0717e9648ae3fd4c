"""What the resolve and assemble stages and every check receive: the catalogue, the
parameter dictionary, the options, the cache, and which files a caller asked about."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

from .cache import Cache, digest
from .diagnostics import Diagnostic, Location, Related, Severity
from .model import ParameterDictionary, TypeSpec
from .options import Options
from .params import Problem, effective_spec
from .sources import Entry, SourceCatalog

__all__ = ["Context", "Key", "dictionary_names", "problem_diagnostic"]

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
        entries = catalog.kind("ParameterDictionary")
        for entry in entries:
            model = entry.model
            assert isinstance(model, ParameterDictionary)
            for name, spec in model.parameters.items():
                ctx.dictionary.setdefault(name, spec)
                ctx.dictionary_entries.setdefault(name, (entry, name))
        if cache is not None:
            _record_names(cache, catalog, entries)
        return ctx

    @classmethod
    def lazy(cls, catalog: SourceCatalog, options: Options, cache: Cache, names: Mapping[str, str],
             load: Callable[[str], Entry | None]) -> Self:
        """As :meth:`build`, with the parameter dictionary's ``names`` (parameter -> the file of
        its first declaration, in catalogue order: see :func:`dictionary_names`): a dictionary
        document is loaded when one of its parameters is first looked up."""
        ctx = cls(catalog, options, cache=cache)
        ctx.dictionary = _OnLookup(names, load, _declared)
        ctx.dictionary_entries = _OnLookup(names, load, lambda name, entry: (entry, name))
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


_NAMES = "dictionary-names"


def _names_key(files: Sequence[str], shas: Mapping[str, str]) -> str:
    return digest(*(f"{name}\0{shas.get(name, '')}" for name in files))


def _record_names(cache: Cache, catalog: SourceCatalog, entries: list[Entry]) -> None:
    """Remember which parameters each dictionary file declares (under the files and their bytes),
    for a later check of a few documents to load only the dictionaries it looks up."""
    files = [e.file for e in entries]
    if not files or any(name not in catalog.digests for name in files):
        return
    key = _names_key(files, catalog.digests)
    value = [[e.file, list(e.model.parameters)] for e in entries if isinstance(e.model, ParameterDictionary)]
    if len(value) == len(files) and cache.get(_NAMES, str(catalog.root), key) != value:
        cache.put(_NAMES, str(catalog.root), key, value)


def dictionary_names(cache: Cache, root: Any, files: Sequence[str], shas: Mapping[str, str]) -> dict[str, str] | None:
    """Parameter -> the dictionary file that declares it first (``files`` in catalogue order),
    as recorded when these files, with these bytes, were last checked; None if they were not."""
    value = cache.get(_NAMES, str(root), _names_key(files, shas))
    if not (isinstance(value, list) and [v[0] if isinstance(v, list) and v else None for v in value] == list(files)):
        return None
    names: dict[str, str] = {}
    for file, declared in value:
        if not (isinstance(declared, list) and all(isinstance(n, str) for n in declared)):
            return None
        for name in declared:
            names.setdefault(name, file)
    return names


_V = TypeVar("_V")


class _OnLookup(dict[str, _V]):
    """Every parameter name known from the start; its value made from the dictionary document
    declaring it when first looked up (a dict, as Context.dictionary is: only lookups and names
    are ever asked of it)."""

    def __init__(self, names: Mapping[str, str], load: Callable[[str], Entry | None],
                 make: Callable[[str, Entry], _V]) -> None:
        super().__init__(dict.fromkeys(names))  # type: ignore[arg-type]
        self._names, self._load, self._make = names, load, make

    def __getitem__(self, name: str) -> _V:
        found = super().__getitem__(name)
        if found is None:
            entry = self._load(self._names[name])
            if entry is None:
                raise KeyError(name)  # not as recorded: the file changed, which the loader reports
            found = self._make(name, entry)
            super().__setitem__(name, found)
        return found

    def get(self, name: str, default: Any = None) -> Any:
        if name in self:  # (dict.get would not load the document)
            return self[name]
        return default


def _declared(name: str, entry: Entry) -> TypeSpec:
    model = entry.model
    if not isinstance(model, ParameterDictionary) or name not in model.parameters:
        raise KeyError(name)  # not as recorded: the file changed, which the loader reports
    return model.parameters[name]


def problem_diagnostic(problem: Problem, entry: Entry, path: tuple[str | int, ...],
                       declared: Location | None = None, severity: Severity = Severity.ERROR) -> Diagnostic:
    """A params.Problem at ``path`` (the field at fault when it names one)."""
    at = path + (problem.field,) if problem.field and (path + (problem.field,)) in entry.doc.marks.values else path
    related = (Related(declared, "declared here"),) if declared is not None else ()
    return Diagnostic(problem.code, problem.message, entry.doc.loc(at), severity, related, problem.hint)
