"""``productkit validate``: load, check shape, resolve references, run every check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .cache import open_cache
from .checks import CHECKS, Check, CheckContext, run_checks
from .checks.base import Emit
from .diagnostics import Diagnostic, Location, has_errors, sort_diagnostics
from .options import Options
from .sources import SourceCatalog, discover, display_name, find_root, load_catalog

__all__ = ["ValidationResult", "validate"]


@dataclass(slots=True)
class ValidationResult:
    """What a validation found: the catalogue (valid documents) and every diagnostic."""

    catalog: SourceCatalog
    diagnostics: list[Diagnostic] = field(default_factory=list)
    selected: frozenset[str] | None = None
    context: CheckContext | None = None

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
             checks: tuple[Check, ...] = CHECKS, emit: Emit | None = None) -> ValidationResult:
    """Validate catalogue roots or files; every problem in every file, sorted by place.

    A file given alone is checked against the whole catalogue it belongs to, and only its
    own problems are reported (what a pre-commit hook wants): products that read none of the
    chosen files are not resolved. ``options.cache`` ("auto": the user cache folder, never
    the catalogue; see :mod:`productkit.cache`) remembers unchanged files and products between runs; the diagnostics are
    the same with and without it. ``emit`` (what a build makes of a clean product) runs in the
    same pass as each product's checks; its results are in ``context.made``.
    """
    chosen = [Path(p) for p in paths] or [Path.cwd()]
    results: list[ValidationResult] = []
    for root, files in _group(chosen).items():
        results.append(_validate_root(root, files, options, checks, emit))
    first = results[0]
    for other in results[1:]:
        first.diagnostics.extend(other.diagnostics)
        first.catalog.entries.extend(other.catalog.entries)
    first.diagnostics = sort_diagnostics(first.diagnostics)
    return first


def _validate_root(root: Path, files: list[Path] | None, options: Options,
                   checks: tuple[Check, ...], emit: Emit | None = None) -> ValidationResult:
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
    catalog, diagnostics = load_catalog(root, options, every, cache)
    diagnostics.extend(early)
    selected = frozenset(display_name(f) for f in files) if files is not None else None
    ctx = CheckContext.build(catalog, options, cache, selected)
    ctx.emit = emit
    diagnostics.extend(run_checks(ctx, checks))
    if selected is not None:
        diagnostics = [d for d in diagnostics if d.location.file in selected]
    return ValidationResult(catalog, diagnostics, selected, ctx)
