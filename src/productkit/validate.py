"""``productkit validate``: load, check shape, resolve references, run every check."""

from __future__ import annotations

import functools
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ._gcpause import gc_paused
from .cache import Cache, digest, engine_digest, open_cache
from .checkindex import (
    MAX_CHANGED,
    ChangedDuringRun,
    Index,
    LazyEntry,
    LazyIds,
    Loader,
    Survey,
    Surveyed,
    now_ns,
    survey,
)
from .diagnostics import Diagnostic, Location, has_errors, sort_diagnostics
from .loader import LoadLimits
from .options import Options
from .sources import (
    SOURCE_DIRS,
    Entry,
    SourceCatalog,
    discover,
    discover_names,
    display_name,
    document_digest,
    load_catalog,
    path_order,
    root_of,
)

if TYPE_CHECKING:  # the checks are imported on a cache miss only: a replayed result starts fast
    from .checks import Check, CheckContext
    from .checks.base import Emit
    from .context import Key
    from .findings import Findings

__all__ = ["Summary", "ValidationResult", "index_context", "validate"]


@dataclass(slots=True)
class ValidationResult:
    """What a validation found: the catalogue (valid documents) and every diagnostic."""

    catalog: SourceCatalog
    diagnostics: list[Diagnostic] = field(default_factory=list)
    selected: frozenset[str] | None = None
    context: CheckContext | None = None
    replayed: Counter[str] | None = None  # documents per kind, when the result was replayed (no catalogue)
    summary: Summary | None = None  # when asked for

    @property
    def kinds(self) -> Counter[str]:
        """Documents per kind."""
        if self.replayed is not None:
            return self.replayed
        return Counter(e.model.kind for e in self.catalog.entries)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)

    def failed(self, strict: bool = False) -> bool:
        return has_errors(self.diagnostics, strict)


@dataclass(slots=True)
class Summary:
    """What a build needs to know of every document of a catalogue, loaded or not."""

    keys: dict[str, Key]  # file -> the key of its document
    inputs: dict[str, list[str]]  # product file -> the files it is made of (when its checks said)
    documents: dict[str, str]  # file -> the digest of its document's content
    load: Callable[[str], Entry | None]  # file -> its document (loaded on demand, once)
    shas: dict[str, str]  # file -> the sha256 of the bytes that were checked


def _group(paths: Sequence[Path]) -> dict[Path, list[Path] | None]:
    """Catalogue root -> the files chosen in it (None: the whole catalogue)."""
    groups: dict[Path, list[Path] | None] = {}
    for path in paths:
        root = root_of(path)
        if path.is_dir() and path.resolve() == root:
            groups[root] = None
        elif path.is_dir():
            folder = path.resolve()  # a file in it is chosen by where it is, not where it may link to
            files = [p for p in discover(root) if (p.parent.resolve() / p.name).is_relative_to(folder)]
            _add(groups, root, files)
        else:
            _add(groups, root, [path])
    return groups


def _add(groups: dict[Path, list[Path] | None], root: Path, files: list[Path]) -> None:
    if root in groups and groups[root] is None:
        return
    groups.setdefault(root, [])
    current = groups[root]
    assert current is not None
    current.extend(files)


def validate(paths: Sequence[Path | str] = (), options: Options = Options(),
             checks: tuple[Check, ...] | None = None, emit: Emit | None = None,
             replay: bool = False, summary: bool = False, surveyed: Surveyed | None = None
             ) -> ValidationResult:
    """Validate catalogue roots or files; every problem in every file, sorted by place.

    A file given alone is checked against the whole catalogue it belongs to, and only its
    own problems are reported (what a pre-commit hook wants): products that read none of the
    chosen files are not resolved. ``options.cache`` ("auto": the user cache folder, never
    the catalogue; see :mod:`productkit.cache`) remembers unchanged files and products between runs; the diagnostics are
    the same with and without it. ``emit`` (what a build makes of a clean product) runs in the
    same pass as each product's checks; its results are in ``context.made``. ``replay``: the
    caller wants only the diagnostics, so when no file changed since a validation of the whole
    catalogue (same bytes, options, working folder and productkit), its diagnostics are replayed
    from the cache without loading anything (``catalog`` then holds no documents), and when a
    few files changed, only what they can affect is checked again (see :mod:`productkit.checkindex`).
    ``summary``: the caller (a build) wants a :class:`Summary` of every document and the
    context of the products checked afresh, not the catalogue: the check index is used as for
    ``replay``. Given several roots, only the first one's summary is returned. ``surveyed``: a
    survey of a whole root the caller took (a build, for its fingerprint), gone by instead of
    another when that root is validated whole.
    """
    chosen = [Path(p) for p in paths] or [Path.cwd()]
    results: list[ValidationResult] = []
    for root, files in _group(chosen).items():
        given = surveyed if surveyed is not None and files is None and surveyed.root == root else None
        results.append(_validate_root(root, files, options, checks, emit, replay, summary, given))
    first = results[0]
    for other in results[1:]:
        first.diagnostics.extend(other.diagnostics)
        first.catalog.entries.extend(other.catalog.entries)
        first.catalog.files.extend(other.catalog.files)
        if first.replayed is not None or other.replayed is not None:
            first.replayed = first.kinds + other.kinds
    first.diagnostics = sort_diagnostics(first.diagnostics)
    return first


def _validate_root(root: Path, files: list[Path] | None, options: Options,
                   checks: tuple[Check, ...] | None, emit: Emit | None = None,
                   replay: bool = False, summary: bool = False, surveyed: Surveyed | None = None
                   ) -> ValidationResult:
    # The catalogue's files as text, in the order paths sort (thousands: made Paths only when loaded).
    every = list(surveyed.every) if surveyed is not None else discover_names(root)
    early: list[Diagnostic] = []
    discovered = len(every)
    chosen: list[str] = []  # the files given, as the catalogue names them
    if files is not None:
        # Below the (resolved) root, through real folders: how a file is named here; compared as
        # paths compare (without regard to case where the system's paths have none).
        known = set(map(os.path.normcase, every))
        for f in files:
            if not f.exists() and not f.is_symlink():
                early.append(Diagnostic("PK001", "no such file", Location(display_name(f))))
            elif f.suffix not in (".yaml", ".yml") and not f.is_dir():
                early.append(Diagnostic("PK014", "only .yaml and .yml files are catalogue documents",
                                        Location(display_name(f)), hint="rename the file or leave it out"))
            elif (named := _named(f, root, known)) is None:
                early.append(Diagnostic("PK015", "this file is reached through a link leading outside the "
                                        "catalogue; it is not read", Location(display_name(f)),
                                        hint="copy the file into the catalogue instead of linking to it"))
            else:
                chosen.append(named)
                if os.path.normcase(named) not in known:
                    every.append(named)
                    known.add(os.path.normcase(named))
    if len(every) > discovered:  # one order for every path: the order of the documents decides which is "first"
        every.sort(key=path_order)
    cache = open_cache(options.cache)
    selected = (frozenset({*(display_name(f) for f in files), *(display_name(Path(n)) for n in chosen)})
                if files is not None else None)
    if cache is not None and checks is None:
        return _indexed(root, every, selected, options, cache, early, emit, replay, summary, surveyed)
    catalog, diagnostics = load_catalog(root, options, list(map(Path, every)), cache)
    diagnostics.extend(early)
    from .checks import CHECKS, CheckContext, run_checks

    ctx = CheckContext.build(catalog, options, cache, selected)
    ctx.emit = emit
    diagnostics.extend(run_checks(ctx, CHECKS if checks is None else checks))
    if selected is not None:
        diagnostics = [d for d in diagnostics if d.location.file in selected]
    result = ValidationResult(catalog, diagnostics, selected, ctx)
    if summary:
        entries = {e.file: e for e in catalog.entries}
        result.summary = Summary({e.file: e.key for e in catalog.entries},
                                 {e.file: ctx.inputs[e.key] for e in catalog.entries if e.key in ctx.inputs},
                                 {e.file: document_digest(e) for e in catalog.entries}, entries.get,
                                 catalog.digests)
    return result


def _named(path: Path, root: Path, known: set[str]) -> str | None:
    """A file given by a user as the catalogue below ``root`` (resolved) names it: as written when
    the catalogue's walk found it there (the load then judges it as the walk's files: a link, a
    linked source folder), else through its real folders (``..`` and links to folders followed;
    a link in the last part is judged by the load); None when its folders lead out of the
    catalogue."""
    written = os.path.abspath(path)
    if os.path.normcase(written) in known:
        return written
    named = path.absolute().parent.resolve() / path.name
    return os.fspath(named) if named.is_relative_to(root) else None


def _indexed(root: Path, every: list[str], selected: frozenset[str] | None, options: Options, cache: Cache,
             early: list[Diagnostic], emit: Emit | None, replay: bool, summary: bool,
             surveyed: Surveyed | None = None) -> ValidationResult:
    """A validation through the check index (see :mod:`productkit.checkindex`): when the caller
    wants only the diagnostics (``replay``) or a :class:`Summary`, only what changed since the
    last one is checked again; else the whole catalogue is, and the index is recorded for the
    next run."""
    limits = LoadLimits(options.max_file_bytes, options.max_depth)
    context = index_context(root, options)
    seen: Survey | None
    if surveyed is not None and surveyed.context == context and surveyed.every == every:
        known, seen, started = surveyed.known, surveyed.seen, surveyed.started_ns
    else:
        started = now_ns()
        known = Index.read(cache, root, context)
        plain = not any((root / d).is_symlink() for d in SOURCE_DIRS)
        seen = survey(every, limits, known, started) if plain else None
    run = _Run(root, options, cache, context, started, seen)
    if (replay or summary) and known is not None and seen is not None:
        result = run.changed_only(known, limits, selected, emit, summary)
        if result is not None:
            result.diagnostics.extend(early)
            return result
    catalog, loaded = load_catalog(root, options, list(map(Path, every)), cache)
    from .checks import CheckContext
    from .findings import Findings
    from .recheck import recheck

    ctx = CheckContext.build(catalog, options, cache)
    ctx.emit = emit
    findings = Findings.of_load(catalog.files, loaded)
    recheck(findings, ctx, set(catalog.files), None)
    entries = {e.file: e for e in catalog.entries}
    keys = {e.file: e.key for e in catalog.entries}
    if known is not None and seen is not None:
        findings.digests = _kept_documents(known, seen, catalog.digests)
    if seen is not None and seen.shas == catalog.digests:  # else a file changed while it was read
        _documents(findings, keys, entries.get)  # every document is in memory: the next build needs them
        run.record(keys, findings)
    result = ValidationResult(catalog, [*_chosen(findings.all(), selected), *early], selected, ctx)
    if summary:
        result.summary = Summary(keys, findings.inputs, _documents(findings, keys, entries.get), entries.get,
                                 catalog.digests)
    return result


def _kept_documents(known: Index, seen: Survey, loaded: Mapping[str, str]) -> dict[str, str]:
    """The document digests the index knows, of the files that did not change since: neither
    before the survey nor before they were ``loaded`` (name -> the sha256 of the bytes checked;
    a build's survey may be older than its load)."""
    findings = known.findings()
    documents = findings.get("digests") if findings is not None else None
    if not isinstance(documents, dict):
        return {}
    return {str(n): str(d) for n, d in documents.items()
            if n in seen.shas and known.files.get(n, [""])[0] == seen.shas[n] == loaded.get(n)}


def _documents(findings: Findings, keys: dict[str, Key], load: Callable[[str], Entry | None]) -> dict[str, str]:
    """Every document's digest: the known ones, the others worked out now (and kept in ``findings``)."""
    for name in keys:
        if name not in findings.digests:
            entry = load(name)
            if entry is not None:
                findings.digests[name] = document_digest(entry)
    return {name: findings.digests[name] for name in keys if name in findings.digests}


def _chosen(found: Iterable[Diagnostic], selected: frozenset[str] | None) -> list[Diagnostic]:
    return list(found) if selected is None else [d for d in found if d.location.file in selected]


@dataclass(slots=True)
class _Run:
    """One validation through the index."""

    root: Path
    options: Options
    cache: Cache
    context: str
    started: int
    seen: Survey | None

    def record(self, keys: dict[str, Key], findings: Findings) -> None:
        if self.seen is not None:
            Index.write(self.cache, self.root, self.context, self.started, self.seen, keys, findings.to_data())

    def changed_only(self, known: Index, limits: LoadLimits, selected: frozenset[str] | None,
                     emit: Emit | None, summary: bool) -> ValidationResult | None:
        """The recorded findings with those a change can affect checked again; None when a whole
        validation is wanted instead (see :mod:`productkit.checkindex`), also when a file
        changed again while it was being checked. A unit of work (see :mod:`productkit._gcpause`):
        what it imports and loads lives on, and a few documents' garbage is small, so collection
        is held off for it (16 collections, one of them of the oldest generation, were a tenth
        of a pre-commit check of a just-edited file)."""
        try:
            with gc_paused():
                return self._changed_only(known, limits, selected, emit, summary)
        except ChangedDuringRun:
            return None

    def _changed_only(self, known: Index, limits: LoadLimits, selected: frozenset[str] | None,
                      emit: Emit | None, summary: bool) -> ValidationResult | None:
        from .findings import Findings

        seen = self.seen
        assert seen is not None
        names = list(seen.shas)
        changed = [n for n in names if known.files.get(n, [""])[0] != seen.shas[n]]
        removed = [n for n in known.files if n not in seen.shas]
        try:  # a replay with nothing changed reads no more than the index's head
            findings = Findings.from_data(known.findings(body=bool(changed or removed or summary)), names)
        except (KeyError, TypeError, ValueError, AttributeError):  # also: no body (None)
            return None
        keys = {n: k for n, k in known.keys.items() if n in seen.shas}
        load = Loader(self.root, seen, limits, self.cache)
        ctx: CheckContext | None = None
        if changed or removed or summary:
            from .recheck import DICTIONARY_KINDS, OTHER_CHECKS  # the checks: imported only when something changed

            if len(changed) + len(removed) > MAX_CHANGED or OTHER_CHECKS:
                return None
            if any(known.keys[n][0] in DICTIONARY_KINDS for n in (*changed, *removed) if n in known.keys):
                return None
            for name in changed:
                keys.pop(name, None)
                entry = load(name)
                if entry is not None:
                    if entry.key[0] in DICTIONARY_KINDS:
                        return None
                    keys[name] = entry.key
            ctx = self.recheck(findings, known, load, keys, changed, removed, emit)
        known_documents = len(findings.digests)
        documents = _documents(findings, keys, load) if summary else None
        if changed or removed or len(findings.digests) != known_documents:
            self.record(keys, findings)
        catalog = SourceCatalog(root=self.root, files=names)
        kinds = Counter(k[0] for k in keys.values())
        result = ValidationResult(catalog, _chosen(findings.all(), selected), selected, ctx, kinds)
        if documents is not None:
            result.summary = Summary(keys, findings.inputs, documents, load, seen.shas)
        return result

    def recheck(self, findings: Findings, known: Index, load: Loader, keys: dict[str, Key], changed: list[str],
                removed: list[str], emit: Emit | None) -> CheckContext:
        """Check again what ``changed`` and ``removed`` files can affect, on a catalogue that
        loads the rest of its documents only when a check looks them up."""
        from .checks import CheckContext
        from .context import dictionary_names
        from .recheck import DICTIONARY_KINDS, KIND_CHECKS, recheck

        seen = self.seen
        assert seen is not None
        moved = [*changed, *removed]
        before = [known.keys[n] for n in moved if n in known.keys]
        after = [keys[n] for n in changed if n in keys]
        ids = {k[1] for k in (*before, *after)}
        groups = {i.casefold() for i in ids}
        kinds = any(k[0] in KIND_CHECKS.values() for k in (*before, *after))
        touched = set(moved) | {f for f, refs in findings.refs.items() if not refs.isdisjoint(ids)}
        if {k[1] for k in known.keys.values()} != {k[1] for k in keys.values()}:
            touched |= findings.files_with(_GUESSED)  # their "did you mean" looked at every id
        wanted = set(touched)
        for name, key in keys.items():
            if key[1].casefold() in groups or key[0] in DICTIONARY_KINDS or (kinds and key[0] in KIND_CHECKS.values()):
                wanted.add(name)
        names = list(seen.shas)
        by_id: dict[tuple[str, str], list[str]] = {}
        for name in names:
            if name in keys:
                by_id.setdefault((keys[name][0], keys[name][1]), []).append(name)
        catalog = SourceCatalog(root=self.root, files=names, digests=dict(seen.shas), by_id=LazyIds(by_id, load))
        # The parameter dictionaries' documents are loaded only as their parameters are looked up,
        # when the names each declares are known (recorded when these files were last checked).
        declared = [n for n in names if n in keys and keys[n][0] == "ParameterDictionary"]
        table = dictionary_names(self.cache, self.root, declared, seen.shas) if self.cache is not None else None
        lazy = set(declared) - touched if table is not None and not kinds else set()
        catalog.entries = []
        for name in names:
            if name in lazy:
                catalog.entries.append(LazyEntry(name, keys[name], load))
            elif name in wanted and name in keys and (entry := load(name)) is not None:
                catalog.entries.append(entry)
        if lazy and table is not None and self.cache is not None:
            ctx = CheckContext.lazy(catalog, self.options, self.cache, table, load)
        else:
            ctx = CheckContext.build(catalog, self.options, self.cache)
        ctx.emit = emit
        if touched:
            recheck(findings, ctx, touched, groups, kinds)
        for name in removed:
            findings.loaded.pop(name, None)
        for name in changed:
            findings.loaded[name] = load.problems[name]
        return ctx


def index_context(root: Path, options: Options) -> str:
    """What a recorded index applies to: the options, the working folder (files are named
    relative to it), the catalogue's place, productkit itself and the checking libraries."""
    return digest(engine_digest(), libraries(), repr(replace(options, cache=None)), os.getcwd(),
                  str(root.absolute()), os.path.realpath(root))


# Codes whose hint guesses among every id of the catalogue: the files they are found in can change
# when any id comes or goes.
_GUESSED = frozenset({"PK202"})

_CHECKERS = ("pydantic", "pydantic-core", "cel-expr-python", "PyYAML", "jsonschema", "jsonschema-rs",
             "semantic-version", "google-re2", "holidays", "networkx", "lxml")


@functools.cache  # the libraries a process runs with do not change under it
def libraries() -> str:
    """The versions of the libraries whose answers (and messages) end up in diagnostics.

    Read from the names of the installed distributions' folders (``name-version.dist-info``,
    the first on the import path, as ``importlib.metadata`` finds them): a look at a few folders,
    where ``importlib.metadata``'s look-ups cost a validation about 20 ms. A library installed
    some other way is looked up through ``importlib.metadata``."""
    installed = _dist_info_versions({_normal(name) for name in _CHECKERS})
    found = []
    for name in _CHECKERS:
        version = installed.get(_normal(name)) or _metadata_version(name)
        found.append(f"{name}=={version}" if version is not None else f"{name}: not installed")
    return ",".join(found)


def _normal(name: str) -> str:
    """A distribution's name as packaging compares them (PEP 503): lower case, with ``-`` for
    every run of ``-``, ``_`` and ``.``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _dist_info_versions(wanted: set[str]) -> dict[str, str]:
    """The version of each ``wanted`` distribution (normalised names) whose ``.dist-info``
    folder is in a folder of the import path: the first one found, in the path's order."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:  # not a folder (a zip, a file) or gone
            continue
        for folder in names:
            if not folder.endswith(".dist-info"):
                continue
            name, _, version = folder[:-len(".dist-info")].partition("-")
            key = _normal(name)
            if key in wanted and version and key not in found:
                found[key] = version
        if len(found) == len(wanted):
            break
    return found


def _metadata_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
