"""Both sides of ``productkit diff`` and ``release-notes``, and how a diff is shown to people.

A side is a build folder (verified as a channel service would load it) or a git reference of the
catalogue: that commit's files are exported (``git archive``, never a checkout) into a temporary
folder and built there with the same options.
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from .build import build
from .diagnostics import ProductkitError, render_text, safe_text
from .diff import ORDER, ChangeClass, Diff, ProductDiff, Side
from .impact import GitError, git_output, resolve_commit
from .options import Options
from .runtime import CatalogError
from .runtime._build import read_build

__all__ = ["SideError", "load_side", "render", "side_of_build"]


class SideError(ProductkitError):
    """A side that is neither a readable build nor a git reference that builds."""


def side_of_build(folder: Path) -> Side:
    """The product versions of a verified build folder."""
    try:
        build = read_build(folder)
    except CatalogError as exc:
        raise SideError(f"{folder} is not a loadable build: {exc}") from None
    manifest = json.loads((build.root / "manifest.json").read_bytes())  # verified by read_build
    targets = {t for entry in manifest.get("products", []) for t in entry.get("targets", {})}
    types = manifest.get("types")
    return Side({pv.key: pv.definition for pv in build.products}, frozenset(targets),
                types=frozenset(types) if isinstance(types, list) else None)


def load_side(spec: str, catalogue: Path, options: Options, work: Path) -> Side:
    """``spec`` as a build folder when it is one, else as a git reference of ``catalogue``."""
    folder = Path(spec)
    if (folder / "manifest.json").is_file():
        return side_of_build(folder)
    try:
        commit = resolve_commit(catalogue if catalogue.is_dir() else catalogue.parent, spec, "a git reference")
    except GitError as exc:
        raise SideError(f"{spec!r} is neither a build folder nor a usable git reference: {exc}") from None
    return _built_at(commit, spec, catalogue, options, work)


def _built_at(commit: str, spec: str, catalogue: Path, options: Options, work: Path) -> Side:
    top_text = git_output(catalogue, "rev-parse", "--show-toplevel")
    archive = git_output(catalogue, "archive", "--format=tar", commit)
    if top_text is None or archive is None:
        raise SideError(f"git could not export {spec!r}")
    tree = Path(tempfile.mkdtemp(prefix="ref-", dir=work))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")  # no links out, no devices, no absolute paths
    root = tree / catalogue.resolve().relative_to(Path(top_text.decode().strip()).resolve())
    result = build([root], tree.with_name(tree.name + "-build"), options)
    if result.failed(options.strict) or result.out is None:
        first = next((d for d in result.diagnostics if d.severity.value == "error"), None)
        said = render_text([first], show_source=False).strip() if first else ""
        raise SideError(f"the catalogue at {spec!r} does not build" + (f": {said}" if said else ""))
    return side_of_build(result.out)


# ---------------------------------------------------------------- rendering

_CLASS_WORDS = {
    ChangeClass.CONFIGURATION: "configuration: ships T+1, no code, no new journey",
    ChangeClass.ASSEMBLY: "assembly: scenarios must pass and a reviewer signs off",
    ChangeClass.CODE: "code: needs a software release",
    ChangeClass.BREAKING: "breaking: applications in flight cannot finish as started",
}


def _value(value: Any) -> str:
    if isinstance(value, dict) and set(value) >= {"zh-CN", "en"}:
        return f"{value['en']} / {value['zh-CN']}"
    return "-" if value is None else str(value)


def _line(change: Any) -> str:
    arrow = f": {_value(change.before)} -> {_value(change.after)}" if change.before is not None or \
        change.after is not None else ""
    by = f" (set by {change.detail['by']})" if change.detail.get("by") else ""
    return f"{change.kind} {change.subject}{arrow}{by} [{change.cls}: {change.why}]"


def _product_text(p: ProductDiff, markdown: bool) -> list[str]:
    head = f"{p.id}@{p.version}" + (f" (from {p.base_version})" if p.base_version not in (None, p.version) else "")
    title = f"### {head}: **{p.cls}**" if markdown else f"{head}: {p.cls}"
    return [title, *((f"- {_line(c)}" if markdown else f"  - {_line(c)}") for c in p.changes), ""]


def render(result: Diff, fmt: str) -> str:
    """The diff as ``text`` (a terminal or a pull-request comment) or ``markdown``."""
    markdown = fmt == "markdown"
    lines = ["## Product changes" if markdown else "Product changes"]
    if not result.products:
        lines.append("no product changed")
    for p in sorted(result.products, key=lambda p: (-ORDER.index(p.cls), p.id, p.version)):
        lines += _product_text(p, markdown)
    for title, shared in (("Components", result.components), ("Product lines", result.lines)):
        if shared:
            lines.append(f"## {title}" if markdown else title)
            lines += [f"- {s.id}: {', '.join(s.before)} -> {', '.join(s.after)} [{s.cls}], affects "
                      f"{', '.join(s.products)}" for s in shared]
    counts = {c: sum(1 for p in result.products if p.cls == c) for c in ORDER}
    lines.append("")
    lines += [f"{'- ' if markdown else ''}{n} {_CLASS_WORDS[c]}" for c, n in counts.items() if n]
    return "\n".join(safe_text(line) for line in lines).rstrip() + "\n"  # catalogue text escaped
