"""The catalogue as an editor holds it, checked incrementally in memory.

The whole catalogue is loaded once (through the cache, as ``validate`` loads it). Every check's
findings are kept by where they come from:

* load and shape problems, by file;
* the checks of one document (declarations, dates, step ids, names, references, its lines'
  windows), by the document's file, run on a one-document slice of the catalogue that still
  resolves references against the whole catalogue;
* ``check_products``, by product file, run for one product at a time (with the cache);
* the data dictionary check, split in the dictionary's own findings and each file's data paths
  (its run with the dictionaries and the file, less its run with the dictionaries alone);
* the checks that compare the documents sharing an id (duplicates, case collisions, version
  overlaps), by case-folded id, run over that id's documents;
* the checks that look at one kind (dictionary names, extends cycles among lines), over that kind;
* any check this module does not know, over the whole catalogue.

An edit re-parses only the buffer, replaces its document, and re-runs the document checks and
the product checks of the files whose findings it can change: the file itself, and every file
that references an id the file defined before or defines now (a product that uses a component,
a member of a line, directly or through its chain), and the id checks of the ids it defined or
defines. A dictionary edit (parameters or data) can change every document and every product, so
it re-runs them all. The findings equal what ``validate`` reports for the same files on disk
(tests/test_lsp_session.py compares them after each edit of a sequence).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..cache import Cache, open_cache
from ..checks import CHECKS, Check, CheckContext
from ..checks.data import check_data_dictionary
from ..checks.dates import check_line_windows, check_version_overlaps
from ..checks.documents import (
    check_declarations,
    check_dictionary_names,
    check_duplicates,
    check_effective,
    check_step_ids,
)
from ..checks.limits import check_case_collisions, check_name_lengths
from ..checks.products import check_line_cycles, check_products
from ..checks.references import check_references
from ..diagnostics import Diagnostic, Location, sort_diagnostics
from ..loader import LoadLimits, load_text
from ..model import ProcessComponent, Product, ProductLine, UIComponent
from ..options import Options
from ..refs import split_ref
from ..resolve import ResolvedProduct, extends_chain, resolve_product
from ..shape import to_model
from ..sources import SCENARIO_SUFFIXES, SOURCE_DIRS, Entry, SourceCatalog, display_name, load_catalog

__all__ = ["DOCUMENT_CHECKS", "GROUP_CHECKS", "KIND_CHECKS", "Session"]

# The checks whose findings about a document depend only on it and on what it references.
DOCUMENT_CHECKS: tuple[Check, ...] = (check_declarations, check_effective, check_step_ids, check_name_lengths,
                                      check_references, check_line_windows)
# The checks that compare documents sharing an id (up to case) and nothing else.
GROUP_CHECKS: tuple[Check, ...] = (check_duplicates, check_case_collisions, check_version_overlaps)
# The checks that look at the documents of one kind only.
KIND_CHECKS: dict[Check, str] = {check_dictionary_names: "ParameterDictionary", check_line_cycles: "ProductLine"}
_DICTIONARY = "ParameterDictionary"
_DATA = "DataDictionary"


class Session:
    """One catalogue root in memory: its documents, and every check's findings by origin."""

    def __init__(self, root: Path, options: Options = Options()) -> None:
        self.root = root
        self.options = options
        self.limits = LoadLimits(options.max_file_bytes, options.max_depth)
        self.cache: Cache | None = open_cache(options.cache)
        split = (*DOCUMENT_CHECKS, *GROUP_CHECKS, *KIND_CHECKS, check_products, check_data_dictionary)
        self.global_checks = tuple(c for c in CHECKS if c not in split)  # any other: the whole catalogue
        self.group_checks = tuple(c for c in GROUP_CHECKS if c in CHECKS)
        self.kind_checks = tuple(c for c in KIND_CHECKS if c in CHECKS)
        self.data_check = (check_data_dictionary,) if check_data_dictionary in CHECKS else ()
        self.order: list[str] = []  # every file name, in discovery order
        self.entries: dict[str, Entry] = {}
        self.digests: dict[str, str] = {}
        self.loaded: dict[str, list[Diagnostic]] = {}
        self.documents: dict[str, list[Diagnostic]] = {}
        self.products: dict[str, list[Diagnostic]] = {}
        self.data: dict[str, list[Diagnostic]] = {}  # each file's data paths against the data dictionary
        self.data_base: list[Diagnostic] = []  # the data dictionary's own findings
        self.across: list[Diagnostic] = []
        self.groups: dict[str, list[Diagnostic]] = {}  # case-folded id -> what GROUP_CHECKS find among its documents
        self.refs: dict[str, frozenset[str]] = {}  # file -> the ids its findings depend on
        self.catalog = SourceCatalog(root=root)
        self.dictionaries: list[Entry] = []
        self.ctx = CheckContext.build(self.catalog, options)

    # ------------------------------------------------------------------ loading and editing

    def load(self) -> None:
        """Load the catalogue from disk and run every check once."""
        catalog, found = load_catalog(self.root, self.options, None, self.cache)
        self.order = list(catalog.files)
        self.digests = dict(catalog.digests)
        self.entries = {e.file: e for e in catalog.entries}
        self.loaded = {name: [] for name in self.order}
        for d in found:  # a refused file (a link leading out, a bad name) is not in catalog.files
            self.loaded.setdefault(d.location.file, []).append(d)
        self._rebuild()
        self._recheck(set(self.order), None)

    def change(self, name: str, text: str | None) -> None:
        """File ``name`` now holds ``text`` (None: it is gone); check what the change can affect."""
        self._changed(name, lambda: self._replace(name, text))

    def reread(self, name: str) -> None:
        """File ``name`` changed on disk (or is no longer open): read it as ``validate`` does."""
        self._changed(name, lambda: self._reread(name))

    def _changed(self, name: str, replace: Callable[[], None]) -> None:
        known = name in self.loaded
        before = self.entries.get(name)
        replace()
        after = self.entries.get(name)
        ids = {e.key[1] for e in (before, after) if e is not None}
        dictionaries = any(e is not None and e.key[0] in (_DICTIONARY, _DATA) for e in (before, after))
        if known and before is not None and after is not None and before.key == after.key and not dictionaries:
            self._swap(name, before, after)
        else:
            self._rebuild()
        touched = {name} | {f for f, refs in self.refs.items() if not refs.isdisjoint(ids)}
        self._recheck(set(self.order) if dictionaries else touched, {i.casefold() for i in ids})

    def knows(self, name: str) -> bool:
        """True when ``name`` is (or would be) one of this catalogue's documents."""
        if name in self.loaded:
            return True
        path = Path(name).absolute()
        inside = any(path.is_relative_to((self.root / d).absolute()) for d in SOURCE_DIRS)
        return inside and path.suffix in (".yaml", ".yml") and not path.name.endswith(SCENARIO_SUFFIXES)

    def _replace(self, name: str, text: str | None) -> None:
        self.entries.pop(name, None)
        self.digests.pop(name, None)
        if text is None:
            self.loaded.pop(name, None)
            self.order = [f for f in self.order if f != name]
            return
        self._place(name)
        entry, self.loaded[name] = self._parse(name, text)
        self.digests[name] = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        if entry is not None:
            self.entries[name] = entry

    def _reread(self, name: str) -> None:
        path = Path(name)
        if not (path.exists() or path.is_symlink()):
            self._replace(name, None)
            return
        catalog, found = load_catalog(self.root, self.options, [path], self.cache)
        self._place(name)
        self.loaded[name] = found
        self.entries.pop(name, None)
        self.digests.pop(name, None)
        self.entries.update((e.file, e) for e in catalog.entries)
        self.digests.update(catalog.digests)

    def _place(self, name: str) -> None:
        if name not in self.loaded:
            self.order = sorted([*self.order, name], key=lambda f: Path(f).absolute())

    def _parse(self, name: str, text: str) -> tuple[Entry | None, list[Diagnostic]]:
        """Stages 1 and 2 for a buffer, as load_catalog does them for a file."""
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > self.limits.max_bytes:
            return None, [Diagnostic("PK003", f"file is {size} bytes, above the limit of {self.limits.max_bytes}",
                                     Location(name))]
        doc, problems = load_text(text.removeprefix("\ufeff"), name, self.limits)
        if doc is None:
            return None, problems
        model, more = to_model(doc)
        return (Entry(doc, model, bool(more)) if model is not None else None), problems + more

    def _rebuild(self) -> None:
        """The catalogue index from the current documents, in discovery order."""
        catalog = SourceCatalog(root=self.root, files=list(self.order), digests=dict(self.digests))
        for name in self.order:
            entry = self.entries.get(name)
            if entry is not None:
                catalog.add(entry)
        self.catalog = catalog
        self.dictionaries = catalog.kind(_DICTIONARY)
        self.ctx = CheckContext.build(catalog, self.options, self.cache)

    def _swap(self, name: str, before: Entry, after: Entry) -> None:
        """The index with ``after`` in the place of ``before`` (same key, same file): no rebuild."""
        catalog = self.catalog
        at = next(i for i, e in enumerate(catalog.entries) if e is before)
        catalog.entries[at] = after
        group = catalog.by_id[(after.key[0], after.key[1])]
        group[next(i for i, e in enumerate(group) if e is before)] = after
        catalog.digests[name] = self.digests[name]

    # ------------------------------------------------------------------ checking

    def _recheck(self, files: set[str], groups: set[str] | None) -> None:
        """Re-run the per-file checks of ``files``, the group checks of ``groups`` (None: all)."""
        for name in files - self.entries.keys():
            for part in (self.documents, self.products, self.data, self.refs):
                part.pop(name, None)
        data = self.catalog.kind(_DATA)
        self.data_base = self._run(self.data_check, data)
        for name in sorted(files & self.entries.keys()):
            entry = self.entries[name]
            self.documents[name] = self._run(DOCUMENT_CHECKS, [entry])
            self.data[name] = self._data_uses(entry, data)
            self.refs[name] = self._references(entry)
            if entry.key[0] == "Product":
                self.products[name] = self._run((check_products,), [*self.dictionaries, entry])
            else:
                self.products.pop(name, None)
        self._regroup(groups)
        self.across = [*self._run(self.global_checks, self.catalog.entries),
                       *(d for check, kind in KIND_CHECKS.items() if check in self.kind_checks
                         for d in self._run((check,), self.catalog.kind(kind)))]

    def _regroup(self, groups: set[str] | None) -> None:
        members: dict[str, list[Entry]] = defaultdict(list)
        for entry in self.catalog.entries:
            folded = entry.key[1].casefold()
            if groups is None or folded in groups:
                members[folded].append(entry)
        for folded in groups if groups is not None else set(self.groups):
            self.groups.pop(folded, None)
        for folded, entries in members.items():
            self.groups[folded] = self._run(self.group_checks, entries)

    def _data_uses(self, entry: Entry, data: list[Entry]) -> list[Diagnostic]:
        """What the data check finds in ``entry``'s uses: its run with the data dictionaries and
        ``entry``, less its run with the dictionaries alone (their own findings)."""
        if not data or entry.key[0] == _DATA:
            return []
        found = Counter(self._run(self.data_check, [*data, entry]))
        found.subtract(self.data_base)
        return [d for d, n in found.items() for _ in range(n)]

    def _run(self, checks: tuple[Check, ...], entries: list[Entry]) -> list[Diagnostic]:
        """``checks`` over ``entries``, references resolving against the whole catalogue."""
        whole = self.catalog
        part = whole if entries is whole.entries else SourceCatalog(
            root=whole.root, entries=entries, files=whole.files, digests=whole.digests, by_id=whole.by_id)
        ctx = dataclasses.replace(self.ctx, catalog=part)
        return [d for check in checks for d in check(ctx)]

    def _references(self, entry: Entry) -> frozenset[str]:
        """The ids whose documents can change ``entry``'s findings: the lines of its chain and
        every id its levels (or a component's replacement) name."""
        model = entry.model
        if isinstance(model, ProcessComponent | UIComponent):
            rep = model.deprecated.replaced_by if model.deprecated is not None else None
            return frozenset([split_ref(rep)[0]] if rep else [])
        if not isinstance(model, Product | ProductLine):
            return frozenset()
        ids: set[str] = set()
        for level in (entry, *extends_chain(self.ctx, entry, [])):
            assert isinstance(level.model, Product | ProductLine)
            ids.add(level.key[1])
            ids.update(_named(level.model))
        return frozenset(ids)

    # ------------------------------------------------------------------ reading the findings

    def diagnostics(self) -> list[Diagnostic]:
        """Every finding, as ``validate`` sorts them."""
        return sort_diagnostics(list(self._all()))

    def by_file(self) -> dict[str, list[Diagnostic]]:
        """Every finding by the file it is located in, each file's sorted."""
        out: dict[str, list[Diagnostic]] = defaultdict(list)
        for d in self._all():
            out[d.location.file].append(d)
        return {name: sort_diagnostics(found) for name, found in out.items()}

    def _all(self) -> Iterator[Diagnostic]:
        for part in (self.loaded, self.documents, self.products, self.data):
            for found in part.values():
                yield from found
        yield from self.data_base
        for found in self.groups.values():
            yield from found
        yield from self.across

    def resolved(self, name: str) -> ResolvedProduct | None:
        """The product of file ``name``, resolved (for hover)."""
        entry = self.entries.get(name)
        if entry is None or entry.key[0] != "Product":
            return None
        return resolve_product(self.ctx, entry)

    def name_of(self, path: Path) -> str:
        """How ``validate`` names ``path`` in its diagnostics."""
        return display_name(path)


def _named(model: Product | ProductLine) -> Iterable[str]:
    if model.extends is not None:
        yield split_ref(model.extends)[0]
    for step in model.steps:
        if step.use is not None:
            yield split_ref(step.use)[0]
