"""``productkit validate``: load, check shape, resolve references, run every check."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from .cache import Cache, digest, engine_digest, open_cache
from .checkindex import MAX_CHANGED, Index, LazyIds, Loader, Survey, now_ns, survey
from .diagnostics import Diagnostic, Location, has_errors, sort_diagnostics
from .loader import LoadLimits
from .options import Options
from .sources import SOURCE_DIRS, SourceCatalog, discover, display_name, find_root, load_catalog

if TYPE_CHECKING:  # the checks are imported on a cache miss only: a replayed result starts fast
    from .checks import Check, CheckContext
    from .checks.base import Emit
    from .findings import Findings

__all__ = ["ValidationResult", "validate"]


@dataclass(slots=True)
class ValidationResult:
    """What a validation found: the catalogue (valid documents) and every diagnostic."""

    catalog: SourceCatalog
    diagnostics: list[Diagnostic] = field(default_factory=list)
    selected: frozenset[str] | None = None
    context: CheckContext | None = None
    replayed: Counter[str] | None = None  # documents per kind, when the result was replayed (no catalogue)

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


def _group(paths: Sequence[Path]) -> dict[Path, list[Path] | None]:
    """Catalogue root -> the files chosen in it (None: the whole catalogue)."""
    groups: dict[Path, list[Path] | None] = {}
    for path in paths:
        root = find_root(path.resolve()) if path.exists() else path
        if path.is_dir() and path.resolve() == root:
            groups[root] = None
        elif path.is_dir():
            files = [p for p in discover(root) if p.resolve().is_relative_to(path.resolve())]
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
             replay: bool = False) -> ValidationResult:
    """Validate catalogue roots or files; every problem in every file, sorted by place.

    A file given alone is checked against the whole catalogue it belongs to, and only its
    own problems are reported (what a pre-commit hook wants): products that read none of the
    chosen files are not resolved. ``options.cache`` ("auto": the user cache folder, never
    the catalogue; see :mod:`productkit.cache`) remembers unchanged files and products between runs; the diagnostics are
    the same with and without it. ``emit`` (what a build makes of a clean product) runs in the
    same pass as each product's checks; its results are in ``context.made``. ``replay``: the
    caller wants only the diagnostics, so when no file changed since a validation of the whole
    catalogue (same bytes, options, working folder and productkit), its diagnostics are replayed
    from the cache without loading anything (``catalog`` then holds no documents).
    """
    chosen = [Path(p) for p in paths] or [Path.cwd()]
    results: list[ValidationResult] = []
    for root, files in _group(chosen).items():
        results.append(_validate_root(root, files, options, checks, emit, replay))
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
                   replay: bool = False) -> ValidationResult:
    every = discover(root)
    early: list[Diagnostic] = []
    if files is not None:
        known = set(every)  # below the (resolved) root, through real folders: how a file is named here
        for f in files:
            if not f.exists() and not f.is_symlink():
                early.append(Diagnostic("PK001", "no such file", Location(display_name(f))))
            elif f.suffix not in (".yaml", ".yml") and not f.is_dir():
                early.append(Diagnostic("PK014", "only .yaml and .yml files are catalogue documents",
                                        Location(display_name(f)), hint="rename the file or leave it out"))
            elif f.absolute().parent.resolve() / f.name not in known and not _listed(f, every):
                every.append(f)
    cache = open_cache(options.cache)
    selected = frozenset(display_name(f) for f in files) if files is not None else None
    if cache is not None and checks is None:
        return _indexed(root, every, selected, options, cache, early, emit, replay)
    catalog, diagnostics = load_catalog(root, options, every, cache)
    diagnostics.extend(early)
    from .checks import CHECKS, CheckContext, run_checks

    ctx = CheckContext.build(catalog, options, cache, selected)
    ctx.emit = emit
    diagnostics.extend(run_checks(ctx, CHECKS if checks is None else checks))
    if selected is not None:
        diagnostics = [d for d in diagnostics if d.location.file in selected]
    return ValidationResult(catalog, diagnostics, selected, ctx)


def _listed(path: Path, every: list[Path]) -> bool:
    """True when ``path`` leads to one of the catalogue's files (through links)."""
    return path.resolve() in {p.resolve() for p in every}


def _indexed(root: Path, every: list[Path], selected: frozenset[str] | None, options: Options, cache: Cache,
             early: list[Diagnostic], emit: Emit | None, replay: bool) -> ValidationResult:
    """A validation through the check index (see :mod:`productkit.checkindex`): only what
    changed since the last one is checked again when the caller wants only the diagnostics
    (``replay``); else the whole catalogue is, and the index is recorded for the next run."""
    limits = LoadLimits(options.max_file_bytes, options.max_depth)
    context, started = _context(root, options), now_ns()
    known = Index.read(cache, root, context)
    plain = not any((root / d).is_symlink() for d in SOURCE_DIRS)
    seen = survey(every, limits, known, started) if plain else None
    if replay and known is not None and seen is not None:
        result = _changed_only(root, selected, options, cache, known, seen, limits, context, started)
        if result is not None:
            result.diagnostics.extend(early)
            return result
    catalog, loaded = load_catalog(root, options, every, cache)
    from .checks import CheckContext
    from .findings import Findings
    from .recheck import recheck

    ctx = CheckContext.build(catalog, options, cache)
    ctx.emit = emit
    findings = Findings(loaded={name: [] for name in catalog.files})
    for d in loaded:  # a refused file (a link leading out, a bad name) is not in catalog.files
        findings.loaded.setdefault(d.location.file, []).append(d)
    recheck(findings, ctx, set(catalog.files), None)
    if seen is not None and seen.shas == catalog.digests:  # else a file changed while it was read
        Index.write(cache, root, context, started, seen, {e.file: e.key for e in catalog.entries},
                    findings.to_data())
    diagnostics = [*_chosen(findings.all(), selected), *early]
    return ValidationResult(catalog, diagnostics, selected, ctx)


def _chosen(found: Iterable[Diagnostic], selected: frozenset[str] | None) -> list[Diagnostic]:
    return list(found) if selected is None else [d for d in found if d.location.file in selected]


def _changed_only(root: Path, selected: frozenset[str] | None, options: Options, cache: Cache, known: Index,
                  seen: Survey, limits: LoadLimits, context: str, started: int) -> ValidationResult | None:
    """The recorded findings with those a change can affect checked again; None when a whole
    validation is wanted instead (see :mod:`productkit.checkindex`)."""
    from .findings import Findings

    names = list(seen.shas)
    changed = [n for n in names if known.files.get(n, [""])[0] != seen.shas[n]]
    removed = [n for n in known.files if n not in seen.shas]
    try:
        findings = Findings.from_data(known.findings, names)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    keys = {n: k for n, k in known.keys.items() if n in seen.shas}
    if changed or removed:
        from .recheck import DICTIONARY_KINDS, OTHER_CHECKS  # the checks: imported only when something changed

        if len(changed) + len(removed) > MAX_CHANGED or OTHER_CHECKS:
            return None
        if any(known.keys[n][0] in DICTIONARY_KINDS for n in (*changed, *removed) if n in known.keys):
            return None
        load = Loader(root, seen, limits, cache)
        for name in changed:
            keys.pop(name, None)
            entry = load(name)
            if entry is not None:
                if entry.key[0] in DICTIONARY_KINDS:
                    return None
                keys[name] = entry.key
        _recheck(findings, root, options, cache, known, seen, load, keys, changed, removed)
        Index.write(cache, root, context, started, seen, keys, findings.to_data())
    catalog = SourceCatalog(root=root, files=names)
    kinds = Counter(k[0] for k in keys.values())
    return ValidationResult(catalog, _chosen(findings.all(), selected), selected, None, kinds)


def _recheck(findings: Findings, root: Path, options: Options, cache: Cache, known: Index, seen: Survey,
             load: Loader, keys: dict[str, tuple[str, str, str]], changed: list[str], removed: list[str]) -> None:
    """Check again what ``changed`` and ``removed`` files can affect, on a catalogue that loads
    the rest of its documents only when a check looks them up."""
    from .checks import CheckContext
    from .recheck import DICTIONARY_KINDS, KIND_CHECKS, recheck

    moved = [*changed, *removed]
    before = [known.keys[n] for n in moved if n in known.keys]
    after = [keys[n] for n in changed if n in keys]
    ids = {k[1] for k in (*before, *after)}
    groups = {i.casefold() for i in ids}
    kinds = any(k[0] in KIND_CHECKS.values() for k in (*before, *after))
    touched = set(moved) | {f for f, refs in findings.refs.items() if not refs.isdisjoint(ids)}
    wanted = set(touched)
    for name, key in keys.items():
        if key[1].casefold() in groups or key[0] in DICTIONARY_KINDS or (kinds and key[0] in KIND_CHECKS.values()):
            wanted.add(name)
    names = list(seen.shas)
    by_id: dict[tuple[str, str], list[str]] = {}
    for name in names:
        if name in keys:
            by_id.setdefault((keys[name][0], keys[name][1]), []).append(name)
    catalog = SourceCatalog(root=root, files=names, digests=dict(seen.shas), by_id=LazyIds(by_id, load))
    catalog.entries = [e for name in names if name in wanted and name in keys and (e := load(name)) is not None]
    ctx = CheckContext.build(catalog, options, cache)
    recheck(findings, ctx, touched, groups, kinds)
    for name in removed:
        findings.loaded.pop(name, None)
    for name in changed:
        findings.loaded[name] = load.problems[name]


def _context(root: Path, options: Options) -> str:
    """What a recorded index applies to: the options, the working folder (files are named
    relative to it), the catalogue's place, productkit itself and the checking libraries."""
    return digest(engine_digest(), _libraries(), repr(replace(options, cache=None)), os.getcwd(),
                  str(root.absolute()), os.path.realpath(root))


_CHECKERS = ("pydantic", "pydantic-core", "cel-expr-python", "PyYAML", "jsonschema", "jsonschema-rs",
             "semantic-version", "google-re2", "holidays", "networkx", "lxml")


def _libraries() -> str:
    """The versions of the libraries whose answers (and messages) end up in diagnostics."""
    found = []
    for name in _CHECKERS:
        try:
            found.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}: not installed")
    return ",".join(found)
