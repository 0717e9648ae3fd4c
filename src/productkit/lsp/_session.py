"""The catalogue as an editor holds it, checked incrementally in memory.

The whole catalogue is loaded once (through the cache, as ``validate`` loads it) and every check's
findings are kept by where they come from (:class:`~productkit.findings.Findings`). An edit
re-parses only the buffer, replaces its document, and re-runs the checks whose findings it can
change: the document and product checks of the file itself and of every file that references an
id the file defined before or defines now, and the id checks of those ids. A dictionary edit
(parameters or data) can change every document and every product, so it re-runs them all. The
findings equal what ``validate`` reports for the same files on disk (tests/test_lsp_session.py
compares them after each edit of a sequence).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from ..cache import Cache, open_cache
from ..checks import CheckContext
from ..diagnostics import Diagnostic, Location, sort_diagnostics
from ..findings import Findings
from ..loader import LoadLimits, load_text
from ..options import Options
from ..recheck import DICTIONARY_KINDS, recheck
from ..resolve import ResolvedProduct, resolve_product
from ..shape import to_model
from ..sources import SCENARIO_SUFFIXES, SOURCE_DIRS, Entry, SourceCatalog, display_name, load_catalog

__all__ = ["Session"]


class Session:
    """One catalogue root in memory: its documents, and every check's findings by origin."""

    def __init__(self, root: Path, options: Options = Options()) -> None:
        self.root = root
        self.options = options
        self.limits = LoadLimits(options.max_file_bytes, options.max_depth)
        self.cache: Cache | None = open_cache(options.cache)
        self.order: list[str] = []  # every file name, in discovery order
        self.entries: dict[str, Entry] = {}
        self.digests: dict[str, str] = {}
        self.findings = Findings()
        self.catalog = SourceCatalog(root=root)
        self.ctx = CheckContext.build(self.catalog, options)

    @property
    def loaded(self) -> dict[str, list[Diagnostic]]:
        return self.findings.loaded

    @property
    def products(self) -> dict[str, list[Diagnostic]]:
        return self.findings.products

    @property
    def refs(self) -> dict[str, frozenset[str]]:
        return self.findings.refs

    # ------------------------------------------------------------------ loading and editing

    def load(self) -> None:
        """Load the catalogue from disk and run every check once."""
        catalog, found = load_catalog(self.root, self.options, None, self.cache)
        self.order = list(catalog.files)
        self.digests = dict(catalog.digests)
        self.entries = {e.file: e for e in catalog.entries}
        self.findings.loaded = Findings.of_load(self.order, found).loaded
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
        dictionaries = any(e is not None and e.key[0] in DICTIONARY_KINDS for e in (before, after))
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
        """Re-run the per-file checks of ``files``, the id checks of ``groups`` (None: all)."""
        recheck(self.findings, self.ctx, files, groups)

    # ------------------------------------------------------------------ reading the findings

    def diagnostics(self) -> list[Diagnostic]:
        """Every finding, as ``validate`` sorts them."""
        return sort_diagnostics(list(self.findings.all()))

    def by_file(self) -> dict[str, list[Diagnostic]]:
        """Every finding by the file it is located in, each file's sorted."""
        out: dict[str, list[Diagnostic]] = defaultdict(list)
        for d in self.findings.all():
            out[d.location.file].append(d)
        return {name: sort_diagnostics(found) for name, found in out.items()}

    def resolved(self, name: str) -> ResolvedProduct | None:
        """The product of file ``name``, resolved (for hover)."""
        entry = self.entries.get(name)
        if entry is None or entry.key[0] != "Product":
            return None
        return resolve_product(self.ctx, entry)

    def name_of(self, path: Path) -> str:
        """How ``validate`` names ``path`` in its diagnostics."""
        return display_name(path)

