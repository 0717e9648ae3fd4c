"""Finding, loading and indexing the documents of a catalogue.

A catalogue root is a folder holding ``components/`` and ``products/``; every ``.yaml`` and
``.yml`` file below those is a document (``*.scenario.yaml`` files are scenarios, read by
``productkit test``). Validation can be asked for a few files: the whole catalogue is still
loaded, so that references resolve, but only the chosen files' problems are reported.
"""

from __future__ import annotations

import functools
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import semantic_version

from .diagnostics import Diagnostic, Location
from .loader import Document, LoadLimits, load_file
from .model import Header
from .options import Options
from .shape import to_model

__all__ = ["SOURCE_DIRS", "Catalog", "Entry", "discover", "find_root", "load_catalog"]

SOURCE_DIRS = ("components", "products")
SCENARIO_SUFFIXES = (".scenario.yaml", ".scenario.yml")


@dataclass(frozen=True, slots=True)
class Entry:
    """One valid document: the loaded text with positions and its typed model."""

    doc: Document
    model: Header

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.model.kind, self.model.id, self.model.version)


@dataclass(slots=True)
class Catalog:
    """All documents of a catalogue, indexed by kind, id and version."""

    root: Path
    entries: list[Entry] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    by_id: dict[tuple[str, str], list[Entry]] = field(default_factory=lambda: defaultdict(list))

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        self.by_id[(entry.model.kind, entry.model.id)].append(entry)

    def kind(self, kind: str) -> list[Entry]:
        return [e for e in self.entries if e.model.kind == kind]

    def versions(self, kinds: Iterable[str], ident: str) -> list[Entry]:
        """Every version of ``ident`` among ``kinds``, highest first."""
        found = [e for k in kinds for e in self.by_id.get((k, ident), [])]
        return sorted(found, key=lambda e: parse_version(e.model.version), reverse=True)

    def ids(self, kinds: Iterable[str]) -> set[str]:
        wanted = set(kinds)
        return {i for (k, i) in self.by_id if k in wanted}


@functools.lru_cache(maxsize=4096)
def parse_version(text: str) -> semantic_version.Version:
    """``text`` as a semantic version; memoised, as every reference resolution sorts versions."""
    return semantic_version.Version(text)


def _is_yaml(path: Path) -> bool:
    return path.suffix in (".yaml", ".yml") and not path.name.endswith(SCENARIO_SUFFIXES)


def find_root(path: Path) -> Path:
    """The catalogue root at or above ``path`` (a folder with components/ or products/)."""
    start = path if path.is_dir() else path.parent
    for candidate in (start, *start.parents):
        if any((candidate / d).is_dir() for d in SOURCE_DIRS):
            return candidate
    return start


def discover(root: Path) -> list[Path]:
    """Every catalogue file below ``root``'s source folders, in a stable order."""
    found: list[Path] = []
    for sub in SOURCE_DIRS:
        base = root / sub
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            found.extend(Path(dirpath) / f for f in sorted(filenames)
                         if not f.startswith(".") and _is_yaml(Path(f)))
    return sorted(found)


def display_name(path: Path) -> str:
    """How a file is named in messages: relative to the working directory when below it."""
    try:
        return str(path.absolute().relative_to(Path.cwd().absolute()))
    except ValueError:
        return str(path)


def load_catalog(root: Path, options: Options,
                 files: Sequence[Path] | None = None) -> tuple[Catalog, list[Diagnostic]]:
    """Load every document below ``root`` (or just ``files``); collect all problems."""
    catalog = Catalog(root=root)
    diagnostics: list[Diagnostic] = []
    limits = LoadLimits(options.max_file_bytes, options.max_depth)
    for path in files if files is not None else discover(root):
        name = display_name(path)
        catalog.files.append(name)
        doc, problems = load_file(path, name, limits)
        diagnostics.extend(problems)
        if doc is None:
            continue
        model, problems = to_model(doc)
        diagnostics.extend(problems)
        if model is not None:
            catalog.add(Entry(doc, model))
    return catalog, diagnostics


def loc_of(entry: Entry, *path: str | int, key: bool = False) -> Location:
    return entry.doc.loc(tuple(path), key=key)
