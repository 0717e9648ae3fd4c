"""Change governance inside ``build``: the manifest's classified ``changes``, version discipline
(content changed under the same version) and the release gate (``--allow CLASS``).

Only product versions whose digest differs from the previous build are parsed and compared, so
a one-product change costs one comparison, not a reading of the whole previous build."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, Location, Severity
from .diff import Added, ChangeClass, Diff, Side, Uses, diff, handlers_of
from .ir import Label, WorkflowDefinition, load

__all__ = ["classified_changes", "gate", "handlers_of", "relevant_diff", "side_of_files", "version_discipline"]


def side_of_files(files: Mapping[str, bytes], targets: Iterable[str]) -> Side:
    """The product versions among the files a build is about to write."""
    names = {name.removeprefix("definitions/").removesuffix(".json"): name for name in files
             if name.startswith("definitions/")}
    return Side(_Loaded(names, files), frozenset(targets))


def _key(entry: Mapping[str, Any]) -> str:
    return f"{entry['id']}@{entry['version']}"


def _changed_ids(before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]) -> set[str]:
    ids = set()
    for key in set(before) | set(after):
        if key not in before or key not in after or before[key].get("digest") != after[key].get("digest"):
            ids.add(key.rsplit("@", 1)[0])
    return ids


def relevant_diff(prev_manifest: Mapping[str, Any], prev_folder: Path | None, entries: Sequence[Mapping[str, Any]],
                  files: Mapping[str, bytes], targets: Iterable[str]) -> Diff:
    """The diff from the previous build to the one being written, reading only what changed
    (the new definitions one at a time, as the comparison reaches them)."""
    before = {_key(e): e for e in prev_manifest.get("products", []) if isinstance(e, dict)}
    after = {_key(e): e for e in entries}
    ids = _changed_ids(before, after)
    base_defs = {}
    for key, entry in before.items():
        if key.rsplit("@", 1)[0] in ids and prev_folder is not None:
            try:
                base_defs[key] = load((prev_folder / entry["definition"]).read_bytes())
            except (OSError, ValueError, KeyError):
                continue  # unreadable: the product shows as added
    head_defs = _Loaded({key: e["definition"] for key, e in after.items() if key.rsplit("@", 1)[0] in ids}, files)
    added = {key: _added(after[key]) for key in head_defs}
    base_handlers = {h for e in before.values() for h in e.get("handlers", [])}
    base_targets = {t for e in before.values() for t in e.get("targets", {})}
    kept = frozenset(k for k, e in after.items() if e.get("kept"))
    types = prev_manifest.get("types")
    base = Side(base_defs, frozenset(base_targets) if before else frozenset(), frozenset(base_handlers),
                frozenset(types) if isinstance(types, list) else None, _uses(before, base_defs))
    return diff(base, Side(head_defs, frozenset(targets), uses=_uses(after, head_defs), added=added), kept)


def _added(entry: Mapping[str, Any]) -> Added:
    """What the diff of a new product needs, from its manifest entry: the definition it names
    is then not loaded back (a cold build adds every product)."""
    effective = entry["effective"]
    return Added(Label.model_validate(entry["name"]), (effective.get("from"), effective.get("from_source")),
                 frozenset(entry["handlers"]))


def _uses(entries: Mapping[str, Mapping[str, Any]], keys: Iterable[str]) -> dict[str, Uses]:
    """The components and lines of each product version, as its manifest entry records them."""
    return {key: (dict(entries[key].get("components", {})), list(entries[key].get("lines", []))) for key in keys}


class _Loaded(Mapping[str, WorkflowDefinition]):
    """Definitions by id@version, each loaded from the build's files when asked for and not kept
    (a definition takes hundreds of KB in memory; a whole build's would not fit the budget)."""

    def __init__(self, names: Mapping[str, str], files: Mapping[str, bytes]) -> None:
        self._names, self._files = names, files

    def __getitem__(self, key: str) -> WorkflowDefinition:
        return load(self._files[self._names[key]])

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def classified_changes(result: Diff, before: Iterable[str], after: Iterable[str],
                       digests: tuple[Mapping[str, str], Mapping[str, str]]) -> dict[str, Any]:
    """The manifest's ``changes``: added, removed and changed product versions, and each
    product change with its class and the kinds of change in it."""
    old, new = set(before), set(after)
    return {"added": sorted(new - old), "removed": sorted(old - new),
            "changed": sorted(k for k in old & new if digests[0][k] != digests[1][k]),
            "products": [{"id": p.id, "version": p.version, "base_version": p.base_version, "class": str(p.cls),
                          "kinds": sorted({c.kind for c in p.changes})} for p in result.products]}


def gate(result: Diff, allow: frozenset[ChangeClass], where: str) -> list[Diagnostic]:
    """PK509 for every product change outside the allowed classes, with why."""
    out = []
    for p in result.products:
        if p.cls in allow:
            continue
        worst = [c for c in p.changes if c.cls == p.cls]
        why = "; ".join(f"{c.kind} {c.subject}: {c.why}" for c in worst[:3])
        out.append(Diagnostic("PK509", f"{p.id}@{p.version} is a {p.cls} change, and this build allows only "
                              f"{', '.join(sorted(allow))}: {why}", Location(where),
                              hint="ship it through the release that allows its class, or undo the change"))
    return out


def version_discipline(previous: Mapping[str, str], current: Mapping[str, str],
                       files: Mapping[str, str], severity: Severity) -> list[Diagnostic]:
    """PK508 for every document (product, line, component, dictionary) whose content changed
    while its kind, id and version stayed the same: applications in flight are pinned to versions."""
    out = []
    for key, digest in sorted(current.items()):
        if key in previous and previous[key] != digest:
            kind, ident = key.split(":", 1)
            out.append(Diagnostic("PK508", f"{kind} {ident} changed since the previous build without a new "
                                  "version", Location(files.get(key, key)), severity,
                                  hint="bump its version: applications in flight are pinned to the version they "
                                  "started on"))
    return out
