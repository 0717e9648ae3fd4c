"""``impact``: which products a change affects, for CI selection."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .diagnostics import ProductkitError
from .options import Options
from .shape import did_you_mean
from .validate import validate

__all__ = ["GitError", "UnknownTarget", "affected", "changed_products", "git_output", "resolve_commit"]


class UnknownTarget(ProductkitError):
    """A target that is neither a file nor the id of a document of the catalogue."""


def affected(root: Path, targets: Sequence[str], strict: bool = True) -> list[str]:
    """Products (id@version) whose inputs include any of ``targets`` (files or ids).

    With ``strict``, a target that names no file and no document raises :class:`UnknownTarget`
    (with the nearest id): a typo must not look like "nothing is affected"."""
    result = validate([root], Options())
    ctx = result.context
    if strict:
        _check_targets(root, targets, {e.model.id for e in result.catalog.entries})
    if ctx is None:
        return []
    wanted_files = {str(_target_file(root, t)) for t in targets}
    wanted_ids = set(targets)
    out = set()
    data_paths = _dictionary_paths(result, wanted_ids, wanted_files)
    dictionary_ids = {e.model.id for e in result.catalog.kind("ParameterDictionary")}
    dict_files = {str(Path(e.doc.file).resolve()) for e in result.catalog.kind("ParameterDictionary")}
    for key, asm in ctx.assemblies.items():
        rp = asm.product
        entries = [rp.entry, *rp.chain, *(rs.component for rs in rp.steps if rs.component is not None)]
        files = {str(Path(e.doc.file).resolve()) for e in entries}
        ids = {e.model.id for e in entries}
        if wanted_ids & dictionary_ids or wanted_files & dict_files:
            params = [*rp.params.values(), *(p for rs in rp.steps for p in rs.params.values())]
            used = {p.name for p in params} | {p.spec.ref for p in params if p.spec.ref}
            names = {n for e in result.catalog.kind("ParameterDictionary")
                     if e.model.id in wanted_ids or str(Path(e.doc.file).resolve()) in wanted_files
                     for n in getattr(e.model, "parameters", {})}
            if used & names:
                out.add(f"{key[1]}@{key[2]}")
        if files & wanted_files or ids & wanted_ids or _data_paths(asm) & data_paths:
            out.add(f"{key[1]}@{key[2]}")
    return sorted(out)


def _dictionary_paths(result: Any, ids: set[str], files: set[str]) -> set[str]:
    """The data paths (and aliases) defined by the data dictionaries among the targets."""
    out: set[str] = set()
    for e in result.catalog.kind("DataDictionary"):
        if e.model.id in ids or str(Path(e.doc.file).resolve()) in files:
            for path, entry in e.model.data.items():
                out |= {path, *entry.aliases}
    return out


def _data_paths(asm: Any) -> set[str]:
    """Every data path a product's context and steps read or write."""
    paths = set(asm.product.context)
    for io in asm.steps.values():
        paths |= set(io.reads) | set(io.writes)
    return paths


def _check_targets(root: Path, targets: Sequence[str], ids: set[str]) -> None:
    for target in targets:
        if target not in ids and not _target_file(root, target).exists():
            hint = did_you_mean(target, ids)
            raise UnknownTarget(f"'{target}' is neither a file nor the id of a document in {root}"
                                + (f"; {hint}" if hint else ""))


def _target_file(root: Path, target: str) -> Path:
    """A file named relative to the working directory, or else to the catalogue root."""
    path = Path(target)
    if path.is_absolute() or path.exists() or not (root / path).exists():
        return path.resolve()
    return (root / path).resolve()


class GitError(ProductkitError):
    """A ``--changed-since`` reference that cannot be used (a usage error, exit 2)."""


def changed_products(paths: Sequence[Path], ref: str) -> list[str]:
    """Product ids affected by the files changed since git ``ref``.

    ``ref`` never reaches git as an option (``--output=FILE`` would write a file): it may not
    start with '-', and must name a commit (``rev-parse --verify --end-of-options REF^{commit}``).
    An unknown reference, or a folder outside any git repository, raises :class:`GitError`:
    an empty selection would silently build nothing."""
    root = Path(paths[0]) if paths else Path(".")
    folder = root if root.is_dir() else root.parent
    commit = resolve_commit(folder, ref, "--changed-since")
    diff = _git(folder, "diff", "--name-only", "--no-renames", "-z", commit, "--", ".")
    if diff is None:
        raise GitError(f"git could not list the files changed since {ref!r}")
    top = _git(folder, "rev-parse", "--show-toplevel")
    base = Path(top.strip()) if top else folder
    files = [str((base / name).resolve()) for name in diff.split("\0") if name]
    return sorted({pid.split("@")[0] for pid in affected(root, files, strict=False)})


def resolve_commit(folder: Path, ref: str, option: str) -> str:
    """The commit ``ref`` names in the repository holding ``folder``; GitError otherwise. The
    reference never reaches git as an option (no leading '-', ``--end-of-options``)."""
    if not ref or ref.startswith("-") or any(ch in ref for ch in "\0\n\r"):
        raise GitError(f"{option} {ref!r} is not a git reference")
    if _git(folder, "rev-parse", "--git-dir") is None:
        raise GitError(f"{option} needs a git repository, and {folder} is not inside one")
    commit = _git(folder, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if commit is None:
        raise GitError(f"{option} {ref!r} names no commit in the git repository at {folder}")
    return commit.strip()


def git_output(folder: Path, *args: str) -> bytes | None:
    """git's raw output (e.g. an archive), or None when it fails."""
    try:
        proc = subprocess.run(["git", *args], cwd=folder, capture_output=True, check=False, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _git(folder: Path, *args: str) -> str | None:
    """git's output, or None when it fails (not a repository, unknown ref, git missing)."""
    try:
        proc = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=False,
                              timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None
