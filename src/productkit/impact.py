"""``impact``: which products a change affects, for CI selection."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from .options import Options
from .validate import validate

__all__ = ["affected", "changed_products"]


def affected(root: Path, targets: Sequence[str]) -> list[str]:
    """Products (id@version) whose inputs include any of ``targets`` (files or ids)."""
    result = validate([root], Options())
    ctx = result.context
    if ctx is None:
        return []
    wanted_files = {str(_target_file(root, t)) for t in targets}
    wanted_ids = set(targets)
    out = set()
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
        if files & wanted_files or ids & wanted_ids:
            out.add(f"{key[1]}@{key[2]}")
    return sorted(out)


def _target_file(root: Path, target: str) -> Path:
    """A file named relative to the working directory, or else to the catalogue root."""
    path = Path(target)
    if path.is_absolute() or path.exists() or not (root / path).exists():
        return path.resolve()
    return (root / path).resolve()


def changed_products(paths: Sequence[Path], ref: str) -> list[str]:
    """Product ids affected by the files changed since git ``ref``."""
    root = Path(paths[0]) if paths else Path(".")
    proc = subprocess.run(["git", "diff", "--name-only", ref, "--", "."], cwd=root,
                          capture_output=True, text=True, check=False)
    files = [str((root / line).resolve()) for line in proc.stdout.splitlines() if line.strip()]
    return sorted({pid.split("@")[0] for pid in affected(root, files)})
