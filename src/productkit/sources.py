"""Finding, loading and indexing the documents of a catalogue.

A catalogue root is a folder holding ``components/`` and ``products/``; every ``.yaml`` and
``.yml`` file below those is a document (``*.scenario.yaml`` files are scenarios, read by
``productkit test``). Validation can be asked for a few files: the whole catalogue is still
loaded, so that references resolve, but only the chosen files' problems are reported.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import semantic_version

from ._gcpause import gc_paused, promote
from .cache import Cache, digest
from .diagnostics import Diagnostic, Location, diagnostic_from_data, diagnostic_to_data
from .loader import Document, LoadLimits, _decode, load_text, pack_document, read_regular, unpack_document
from .options import Options
from .parallel import map_ordered

if TYPE_CHECKING:  # the models load with the first document: a replayed validation never needs them
    from .model import Header

__all__ = ["SOURCE_DIRS", "Entry", "SourceCatalog", "discover", "discover_all", "discover_names", "discover_scenarios",
           "document_digest", "find_root", "load_catalog", "load_one", "outside", "path_order"]

SOURCE_DIRS = ("components", "products")
SCENARIO_SUFFIXES = (".scenario.yaml", ".scenario.yml")


class Entry:
    """One document: the loaded text with positions and its typed model. ``damaged``: the model
    is what could be read of a document with shape errors (see :func:`~productkit.shape.to_model`)."""

    __slots__ = ("damaged", "doc", "file", "key", "model")

    def __init__(self, doc: Document, model: Header, damaged: bool = False) -> None:
        self.doc = doc
        self.model = model
        self.damaged = damaged
        self.file: str = doc.file
        self.key: tuple[str, str, str] = (model.kind, model.id, model.version)

    def __repr__(self) -> str:
        return f"Entry({self.file!r}, {self.key!r})"


def document_digest(entry: Entry) -> str:
    """The digest of a document's content as read (comments and layout do not count): what
    version discipline compares between builds."""
    import orjson

    data = orjson.dumps(entry.model.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(slots=True)
class SourceCatalog:
    """All documents of a catalogue, indexed by kind, id and version."""

    root: Path
    entries: list[Entry] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)  # file -> sha256 of its bytes
    by_id: dict[tuple[str, str], list[Entry]] = field(default_factory=lambda: defaultdict(list))

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        self.by_id[(entry.key[0], entry.key[1])].append(entry)

    def kind(self, kind: str) -> list[Entry]:
        return [e for e in self.entries if e.key[0] == kind]

    def versions(self, kinds: Iterable[str], ident: str) -> list[Entry]:
        """Every version of ``ident`` among ``kinds``, highest first."""
        found = [e for k in kinds for e in self.by_id.get((k, ident), [])]
        return sorted(found, key=lambda e: parse_version(e.key[2]), reverse=True)

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
    """The catalogue root of ``path``: the folder itself when it holds components/ or products/,
    else the parent of the nearest enclosing folder named components or products. It never
    walks further up: a folder outside any catalogue is its own (empty) root, so an unrelated
    ancestor that happens to hold a components/ folder is never read."""
    start = path if path.is_dir() else path.parent
    if any((start / d).is_dir() for d in SOURCE_DIRS):
        return start
    for candidate in (start, *start.parents):
        if candidate.name in SOURCE_DIRS:
            return candidate.parent
    return start


def root_of(path: Path) -> Path:
    """The catalogue root of a path given by a user: a folder's (links followed); a file's, the
    catalogue its path is written in, whatever a link in that path leads to (the validation then
    refuses a file reached through a link leading out, as the catalogue's walk does); a path that
    does not exist stands for itself."""
    if path.is_dir():
        return find_root(path.resolve())
    if not (path.exists() or path.is_symlink()):  # a dangling link is in a catalogue too
        return path
    return find_root(Path(os.path.abspath(path))).resolve()


def discover(root: Path) -> list[Path]:
    """Every catalogue file below ``root``'s source folders, in a stable order (as paths sort). Links
    are listed as they are (a linked folder too, so that load_catalog can refuse one that leads
    outside the catalogue); the walk never descends into a linked folder."""
    return list(map(Path, _walked(root)[0]))


def discover_scenarios(root: Path) -> list[Path]:
    """Every scenario file below ``root``'s source folders that lies inside the catalogue
    (linked folders are not entered; a link leading out of the catalogue is left out)."""
    return _scenarios(_walked(root)[1], root)


def discover_names(root: Path) -> list[str]:
    """:func:`discover`'s files as the names the walk gives them (absolute paths as text, in the
    same order): what a survey of the catalogue goes by, without making thousands of paths."""
    return _walked(root)[0]


def discover_all(root: Path) -> tuple[list[str], list[Path]]:
    """:func:`discover_names` and :func:`discover_scenarios` from one walk of the folders (a build
    needs both: its output holds examples taken from the scenarios)."""
    found, scenarios = _walked(root)
    return found, _scenarios(scenarios, root)


def _walked(root: Path) -> tuple[list[str], list[str]]:
    """The documents and the scenarios below ``root``'s source folders, as the walk names them,
    each in the order their paths sort. Names beginning with a dot (an editor's or a tool's files
    and folders) are neither."""
    found: list[str] = []
    scenarios: list[str] = []
    for sub in sorted(SOURCE_DIRS):
        base = os.path.join(root, sub)
        if os.path.isdir(base):
            _walk(base, found, scenarios)
    return found, scenarios


def _scenarios(found: list[str], root: Path) -> list[Path]:
    return [p for p in map(Path, found) if not outside(p, root)]


def _walk(folder: str, found: list[str], scenarios: list[str]) -> None:
    """A folder's entries are taken in the order of their names, so the names come out in the
    order their paths sort (part by part) without a sort of the whole list."""
    try:
        listed = sorted(os.scandir(folder), key=_name)
    except OSError:
        return
    for item in listed:
        name = item.name
        if name.startswith("."):
            continue
        if item.is_dir(follow_symlinks=False):
            _walk(item.path, found, scenarios)
        elif item.is_symlink() and item.is_dir():
            found.append(item.path)  # a linked folder: listed, never entered
        elif name.endswith(SCENARIO_SUFFIXES):
            scenarios.append(item.path)
        elif name.endswith((".yaml", ".yml")):
            found.append(item.path)


def _name(item: os.DirEntry[str]) -> str:
    return item.name


def path_order(name: str) -> list[str]:
    """The order of ``name`` among paths written as text, as Path objects sort: part by part
    (and without regard to case where the system's paths have none)."""
    return os.path.normcase(name).split(os.sep)


def outside(path: Path, root: Path) -> bool:
    """True when ``path`` (after following every link) is not inside ``root``."""
    try:
        return not path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a link loop
        return True


def _linked_root(root: Path) -> bool:
    """Whether a source folder of the catalogue is itself a link (then every file may lead out)."""
    return any((root / d).is_symlink() for d in SOURCE_DIRS)


def _refused(path: Path, name: str, root: Path, linked: bool) -> Diagnostic | None:
    """Why a file is not read (see _name_problem), looked for only where it can apply."""
    suspect = linked or path.is_symlink() or not _is_utf8(name)
    return _name_problem(path, name, root) if suspect else None


def _name_problem(path: Path, name: str, root: Path) -> Diagnostic | None:
    """A file that must not be read: a name that is not UTF-8, a link leading out of the catalogue."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return Diagnostic("PK004", "the file name is not valid UTF-8", Location(shown),
                          hint="rename the file; catalogue file names are UTF-8")
    if outside(path, root):
        return Diagnostic("PK015", "this link leads outside the catalogue; it is not read",
                          Location(name), hint="copy the file into the catalogue instead of linking to it")
    if path.is_dir():
        return Diagnostic("PK002", "is a linked folder; only regular files are read", Location(name))
    return None


def plain_path(text: str) -> bool:
    """True when ``text`` has no empty, ``.`` or ``..`` part (Path would normalise those)."""
    parts = text.split(os.sep)[1:]
    return "" not in parts and "." not in parts and ".." not in parts


def display_name(path: Path) -> str:
    """How a file is named in messages: relative to the working directory when below it."""
    text, cwd = os.fspath(path), os.getcwd()
    if os.path.isabs(text) and plain_path(text) and text != cwd:  # the usual case: what relative_to gives
        below = cwd.rstrip(os.sep) + os.sep
        return text[len(below):] if text.startswith(below) else text
    try:
        return str(path.absolute().relative_to(Path.cwd().absolute()))
    except ValueError:
        return str(path)


def load_catalog(root: Path, options: Options,
                 files: Sequence[Path] | None = None,
                 cache: Cache | None = None) -> tuple[SourceCatalog, list[Diagnostic]]:
    """Load every document below ``root`` (or just ``files``); collect all problems.

    With a ``cache``, a file whose bytes (and name, and limits) are unchanged is not parsed
    again: its entry, or its diagnostics, come from the cache."""
    with gc_paused():  # every document loaded lives on: collections would only walk them again and again
        loaded = _load_all(root, options, files, cache)
        # ... and so would the first collections after the pause, which find all of it young
        # (three walks over the whole catalogue, a second each at scale 1): it is left out of
        # collections instead: it is handed to the oldest generation at once (see _gcpause).
        promote()
        return loaded


def _load_all(root: Path, options: Options, files: Sequence[Path] | None,
              cache: Cache | None) -> tuple[SourceCatalog, list[Diagnostic]]:
    catalog = SourceCatalog(root=root)
    limits = LoadLimits(options.max_file_bytes, options.max_depth)
    linked = _linked_root(root)
    found: list[Diagnostic | _Read] = []  # per file, in order: why it is refused, or what was read
    for path in files if files is not None else discover(root):
        name = display_name(path)
        refused = _refused(path, name, root, linked)
        if refused is not None:
            found.append(refused)
            continue
        catalog.files.append(name)
        found.append(_read(path, name, limits, catalog, cache))
    _parse_all([r for r in found if isinstance(r, _Read) and r.result is None], limits, cache)
    diagnostics: list[Diagnostic] = []
    for item in found:
        if isinstance(item, Diagnostic):
            diagnostics.append(item)
            continue
        assert item.result is not None
        entry, problems = item.result
        diagnostics.extend(problems)
        if entry is not None:
            catalog.add(entry)
    return catalog, diagnostics


@dataclass(slots=True)
class _Read:
    """One file read: its bytes and cache key until it is parsed, then its entry and problems."""

    raw: bytes
    name: str
    where: str
    key: str
    result: tuple[Entry | None, list[Diagnostic]] | None = None


# Files parsed in forked workers, the results sent back: below this many a fork costs more than
# it saves. This process takes in what a worker sends (about a third of what parsing it costs)
# while the worker parses: keeping three fifths of the files here ends both at the same time
# (measured at scale 1 on two idle cores).
PARALLEL_FILES = 400
_OWN_SHARE = 0.6


def _parse_all(todo: list[_Read], limits: LoadLimits, cache: Cache | None) -> None:
    """Parse the files read but not found in the cache, on every core; cache what they make."""
    from . import shape  # noqa: F401 - imported once, before the workers are forked
    parsed = map_ordered(functools.partial(_parse_read, limits=limits), todo, PARALLEL_FILES, own=_OWN_SHARE)
    for item, result in zip(todo, parsed, strict=True):
        item.result = result
        if cache is not None:
            cache.put("files", item.where, item.key, _to_cache(*result))


def _parse_read(item: _Read, limits: LoadLimits) -> tuple[Entry | None, list[Diagnostic]]:
    return _parse(item.raw, item.name, limits)


def _read(path: Path, name: str, limits: LoadLimits, catalog: SourceCatalog, cache: Cache | None) -> _Read:
    """A file's bytes, or why they cannot be read; its entry already when the cache has it."""
    raw, err = read_regular(path, name, limits)
    if err is not None or raw is None:
        return _Read(b"", name, "", "", (None, [err] if err else []))
    sha = hashlib.sha256(raw).hexdigest()
    catalog.digests[name] = sha
    read = _Read(raw, name, str(path.absolute()), digest(sha, name, repr(limits)))
    if cache is not None:
        read.result = _from_cache(cache.get("files", read.where, read.key), name)
    return read


def _is_utf8(name: str) -> bool:
    return name.isascii() or not any("\udc80" <= ch <= "\udcff" for ch in name)


def load_one(path: Path, name: str, limits: LoadLimits, catalog: SourceCatalog,
             cache: Cache | None) -> tuple[Entry | None, list[Diagnostic]]:
    """Stages 1 and 2 for one file, as load_file and to_model do them, through the cache; a file
    the catalogue's walk would refuse (a link leading out of it, a name that is not UTF-8) is
    refused alike, however it was named."""
    refused = _refused(path, name, catalog.root, _linked_root(catalog.root))
    if refused is not None:
        return None, [refused]
    read = _read(path, name, limits, catalog, cache)
    if read.result is None:
        _parse_all([read], limits, cache)
    assert read.result is not None
    return read.result


def _to_cache(entry: Entry | None, problems: list[Diagnostic]) -> dict[str, Any]:
    return {"problems": [diagnostic_to_data(d) for d in problems],
            "doc": pack_document(entry.doc) if entry is not None else None}


def _from_cache(value: Any, name: str) -> tuple[Entry | None, list[Diagnostic]] | None:
    """A cached load result, or None (a miss) when it is anything but what _to_cache wrote:
    the document must be this file's and must still make a model."""
    if not (isinstance(value, dict) and isinstance(value.get("problems"), list)):
        return None
    try:
        problems = [diagnostic_from_data(d) for d in value["problems"]]
        if value.get("doc") is None:
            return None, problems
        doc = unpack_document(value["doc"])
    except ValueError:
        return None
    if doc.file != name:
        return None
    from .shape import to_model

    model, found = to_model(doc)  # its diagnostics are among the cached problems
    return (Entry(doc, model, bool(found)), problems) if model is not None else None


def _parse(raw: bytes, name: str, limits: LoadLimits) -> tuple[Entry | None, list[Diagnostic]]:
    text, err = _decode(name, raw)
    if err is not None or text is None:
        return None, [err] if err else []
    doc, problems = load_text(text, name, limits)
    if doc is None:
        return None, problems
    from .shape import to_model

    model, more = to_model(doc)
    return (Entry(doc, model, bool(more)) if model is not None else None), problems + more
