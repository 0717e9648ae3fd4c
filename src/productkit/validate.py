"""``productkit validate``: load, check shape, resolve references, run every check."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cache import Cache, digest, engine_digest, open_cache
from .diagnostics import (
    Diagnostic,
    Location,
    diagnostic_from_data,
    diagnostic_to_data,
    has_errors,
    sort_diagnostics,
)
from .loader import LoadLimits, read_regular
from .options import Options
from .sources import SourceCatalog, discover, display_name, find_root, load_catalog

if TYPE_CHECKING:  # the checks are imported on a cache miss only: a replayed result starts fast
    from .checks import Check, CheckContext
    from .checks.base import Emit

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
        known = {p.resolve() for p in every}
        for f in files:
            if not f.exists() and not f.is_symlink():
                early.append(Diagnostic("PK001", "no such file", Location(display_name(f))))
            elif f.suffix not in (".yaml", ".yml") and not f.is_dir():
                early.append(Diagnostic("PK014", "only .yaml and .yml files are catalogue documents",
                                        Location(display_name(f)), hint="rename the file or leave it out"))
            elif f.resolve() not in known:
                every.append(f)
    cache = open_cache(options.cache)
    selected = frozenset(display_name(f) for f in files) if files is not None else None
    snapshot = _snapshot(root, every, options) if cache is not None and checks is None else None
    if replay and cache is not None and snapshot is not None:
        replayed = _replayed(cache, root, snapshot, selected, early)
        if replayed is not None:
            return replayed
    catalog, diagnostics = load_catalog(root, options, every, cache)
    diagnostics.extend(early)
    from .checks import CHECKS, CheckContext, run_checks

    ctx = CheckContext.build(catalog, options, cache, selected)
    ctx.emit = emit
    diagnostics.extend(run_checks(ctx, CHECKS if checks is None else checks))
    if cache is not None and snapshot is not None and selected is None:
        kinds = Counter(e.model.kind for e in catalog.entries)
        cache.put("results", str(root.absolute()), snapshot, {
            "diagnostics": [diagnostic_to_data(d) for d in diagnostics], "files": catalog.files,
            "kinds": dict(kinds)})
    if selected is not None:
        diagnostics = [d for d in diagnostics if d.location.file in selected]
    return ValidationResult(catalog, diagnostics, selected, ctx)


def _snapshot(root: Path, every: list[Path], options: Options) -> str | None:
    """What a whole validation's result depends on: every file's name, where it really is (a
    link leading out of the catalogue is refused) and its bytes, the options, the working folder
    (files are named relative to it) and productkit itself; None when a file is not a regular
    file that can be read within the limits (the full validation then says why)."""
    limits = LoadLimits(options.max_file_bytes, options.max_depth)
    h = hashlib.sha256()
    for path in sorted(every):
        name = display_name(path)
        raw, problem = read_regular(path, name, limits)  # never blocks on a FIFO
        if problem is not None or raw is None:
            return None
        where = os.path.realpath(path)
        h.update(f"{name}\0{where}\0".encode("utf-8", "surrogateescape") + hashlib.sha256(raw).digest())
    return digest(engine_digest(), _libraries(), repr(replace(options, cache=None)), os.getcwd(),
                  str(root.absolute()), h.hexdigest())


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


def _replayed(cache: Cache, root: Path, snapshot: str, selected: frozenset[str] | None,
              early: list[Diagnostic]) -> ValidationResult | None:
    """The stored result of validating these very files, narrowed to ``selected``; None on a miss."""
    stored: Any = cache.get("results", str(root.absolute()), snapshot)
    if not isinstance(stored, dict):
        return None
    try:
        diagnostics = [diagnostic_from_data(d) for d in stored["diagnostics"]]
        names = [str(f) for f in stored["files"]]
        kinds = Counter({str(k): int(v) for k, v in stored["kinds"].items()})
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    if selected is not None:
        diagnostics = [d for d in diagnostics if d.location.file in selected]
    catalog = SourceCatalog(root=root, files=names)
    return ValidationResult(catalog, [*diagnostics, *early], selected, None, kinds)
