"""The check index: what the last validation of a whole catalogue found, by origin, and what
each of its files was, so that the next validation re-checks only what changed.

After a whole validation with the cache on, the user cache (never the catalogue) holds, for the
catalogue's root: every file's name, sha256 and ``lstat`` stamp, the key (kind, id, version) of
the document it holds, and every check's findings by origin (:class:`~productkit.findings.Findings`).
It applies only to the same options, working folder, productkit source and checking libraries.

The next validation of that catalogue:

* finds the files that changed: a file whose stamp (size, mtime, ctime, inode) equals the one
  recorded has the recorded bytes (a stamp is recorded only for a file last changed well before
  the survey that read it: else it may have changed again within its file system's time
  resolution, as git's index knows); any other file is read and hashed;
* when nothing changed, reports the recorded findings without loading anything;
* when a few documents changed (none of them a dictionary, whose change can change every finding),
  loads only what the re-checks read: the changed files, the documents they can affect (the
  files referencing their ids), the documents sharing their ids, the dictionaries, and,
  through a lazy index by id, whatever a check resolves a reference to; re-runs those checks;
  and reports the recorded findings with theirs replaced;
* otherwise (no index, a link or an odd file name in the catalogue, a dictionary changed, many
  files changed) validates the whole catalogue and records a new index.

The findings are those of a whole validation of the same files, by construction and by test
(tests/test_checkindex.py compares them after edits of every kind).
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cache import Cache
from .diagnostics import Diagnostic
from .loader import Document, LoadLimits, read_regular
from .sources import Entry, SourceCatalog, display_name, load_one, plain_path

if TYPE_CHECKING:
    from .model import Header

__all__ = ["ChangedDuringRun", "Index", "LazyEntry", "LazyIds", "Loader", "Survey", "Surveyed", "survey"]

NAMESPACE = "index"
BODY_NAMESPACE = "index-body"
_FORMAT = 2
_BODY = ("refs", "inputs", "digests")  # the findings' parts only a re-check or a build reads
# Past this many changed files a whole validation is about as cheap, and simpler to trust.
MAX_CHANGED = 200
# File systems stamp times coarsely (a clock tick; a second or two on some): a file stamped within
# this much of a survey's start may have been written after it, with the same stamp.
_GRANULARITY_NS = 2_000_000_000


@dataclass(slots=True)
class Survey:
    """Every file of the catalogue as it is now: name -> sha256, its stamp when trusted, and its
    path as the catalogue's walk wrote it."""

    shas: dict[str, str] = field(default_factory=dict)
    stamps: dict[str, list[int]] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)


def survey(every: Iterable[str], limits: LoadLimits, known: Index | None, started_ns: int) -> Survey | None:
    """Each file's sha256 (``every``: paths as text, in the catalogue's order, as
    :func:`~productkit.sources.discover_names` gives them), reading only the files whose stamp
    is not the one ``known`` recorded; None when a file is a link, has a name that is not UTF-8,
    or cannot be read as a regular file within the limits (a whole validation says why, or
    follows the link as it must)."""
    out = Survey()
    cwd = os.getcwd().rstrip(os.sep) + os.sep  # as display_name has it (the root folder too)
    for path in every:  # in the caller's order (the catalogue's)
        if path.startswith(os.sep) and plain_path(path):  # what display_name gives, the working folder read once
            name = path[len(cwd):] if path.startswith(cwd) else path
        else:
            name = display_name(Path(path))
        if not _plain_name(name):
            return None
        try:
            st = os.lstat(path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None  # a link, a folder, a FIFO: the whole validation's rules apply
        stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        recorded = known.files.get(name) if known is not None else None
        if recorded is not None and recorded[1:] == stamp:
            out.shas[name] = recorded[0]
        else:
            raw, problem = read_regular(path, name, limits)
            if problem is not None or raw is None:
                return None
            out.shas[name] = hashlib.sha256(raw).hexdigest()
        if max(st.st_mtime_ns, st.st_ctime_ns) < started_ns - _GRANULARITY_NS:
            out.stamps[name] = stamp  # else it may change again within its time stamp's tick, unseen
        out.paths[name] = path
    return out


@dataclass(frozen=True, slots=True)
class Surveyed:
    """A survey of a whole catalogue, handed from a build's fingerprint to its validation, so that
    both go by one reading of the files (the files, the index it was taken against, when it began)."""

    root: Path
    context: str
    every: list[str]  # as discover_names gives them
    known: Index | None
    seen: Survey
    started_ns: int


def _plain_name(name: str) -> bool:
    return name.isascii() or not any("\udc80" <= ch <= "\udcff" for ch in name)


@dataclass(slots=True)
class Index:
    """What :mod:`checkindex` records about one catalogue (see the module's documentation).

    It is kept in two parts: the head (every file's stamp, every document's key, the findings)
    is all a validation with nothing changed reads; the body (each file's references and inputs,
    each document's digest), about two thirds of the bytes, is read only when something changed
    or a build asks for a summary. Both carry the token of the run that wrote them."""

    written_ns: int
    files: dict[str, list[Any]]  # name -> [sha256, size, mtime_ns, ctime_ns, inode] (stamp absent: [sha])
    keys: dict[str, tuple[str, str, str]]  # name -> the key of the document it holds
    head: dict[str, Any]  # Findings.to_data() less its body parts
    token: str = ""
    cache: Cache | None = None
    name: str = ""
    context: str = ""

    @classmethod
    def read(cls, cache: Cache, root: Path, context: str) -> Index | None:
        name = str(root.absolute())
        value = cache.get(NAMESPACE, name, context)
        try:
            if not isinstance(value, dict) or value.get("format") != _FORMAT:
                return None
            files = {str(n): list(v) for n, v in value["files"].items()}
            if not all(len(v) in (1, 5) and isinstance(v[0], str) for v in files.values()):
                return None
            keys = {str(n): (str(k[0]), str(k[1]), str(k[2])) for n, k in value["keys"].items()}
            head = value["findings"]
            if not isinstance(head, dict) or any(part in head for part in _BODY):
                return None
            return cls(int(value["written_ns"]), files, keys, head, str(value["token"]), cache, name, context)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            return None

    def findings(self, body: bool = True) -> dict[str, Any] | None:
        """The findings as :meth:`Findings.to_data` wrote them; without ``body``, its body parts
        are left empty; None when the body is gone or is not this head's."""
        if not body:
            return {**self.head, **{part: {} for part in _BODY}}
        value = self.cache.get(BODY_NAMESPACE, self.name, self.context) if self.cache is not None else None
        if not isinstance(value, dict) or value.get("token") != self.token:
            return None
        try:
            return {**self.head, **{part: dict(value[part]) for part in _BODY}}
        except (KeyError, TypeError, ValueError):
            return None

    @staticmethod
    def write(cache: Cache, root: Path, context: str, started_ns: int, seen: Survey,
              keys: Mapping[str, tuple[str, str, str]], findings: Mapping[str, Any]) -> None:
        files = {name: [sha, *seen.stamps.get(name, ())] for name, sha in seen.shas.items()}  # [sha] or [sha, stamp]
        token = os.urandom(16).hex()  # the body is written first: a head never names a body it lacks
        name = str(root.absolute())
        cache.put(BODY_NAMESPACE, name, context, {"token": token, **{part: findings[part] for part in _BODY}})
        cache.put(NAMESPACE, name, context, {
            "format": _FORMAT, "written_ns": started_ns, "token": token, "files": files,
            "keys": {name: list(key) for name, key in keys.items()},
            "findings": {k: v for k, v in findings.items() if k not in _BODY}})


def now_ns() -> int:
    """The moment a survey starts (a file changed at or after it is not trusted by its stamp)."""
    return time.time_ns()


class LazyIds(dict[tuple[str, str], list[Entry]]):
    """A catalogue's index by (kind, id) whose documents are loaded when first looked up.

    Every key is known from the start (iterating gives every (kind, id) of the catalogue); a
    lookup loads that id's documents, in discovery order, through ``load`` (each file once,
    so that the same document is the same object everywhere)."""

    def __init__(self, names: Mapping[tuple[str, str], list[str]], load: Callable[[str], Entry | None]) -> None:
        super().__init__(dict.fromkeys(names))  # type: ignore[arg-type]
        self._names = names
        self._load = load

    def __getitem__(self, key: tuple[str, str]) -> list[Entry]:
        found = super().__getitem__(key)
        if found is None:
            found = [e for name in self._names[key] if (e := self._load(name)) is not None]
            super().__setitem__(key, found)
        return found

    def __missing__(self, key: tuple[str, str]) -> list[Entry]:
        return []

    def get(self, key: tuple[str, str], default: Any = None) -> Any:
        if key in self:  # (dict.get would not load the documents)
            return self[key]
        return default


class LazyEntry(Entry):
    """A document known by its file and key (from the index), loaded through ``load`` when
    anything else of it is asked for: a check that only names the file reads nothing."""

    __slots__ = ("_load",)

    def __init__(self, file: str, key: tuple[str, str, str], load: Callable[[str], Entry | None]) -> None:
        self.file, self.key, self._load = file, key, load  # (Entry's own fields are read from the loaded one)

    def _loaded(self) -> Entry:
        entry = self._load(self.file)
        if entry is None or entry.key != self.key:  # not what the index recorded: it changed since
            raise ChangedDuringRun(self.file)
        return entry

    @property
    def doc(self) -> Document:  # type: ignore[override]
        return self._loaded().doc

    @property
    def model(self) -> Header:  # type: ignore[override]
        return self._loaded().model

    @property
    def damaged(self) -> bool:  # type: ignore[override]
        return self._loaded().damaged

    def __repr__(self) -> str:
        return f"LazyEntry({self.file!r}, {self.key!r})"


class ChangedDuringRun(Exception):
    """A catalogue file no longer holds the bytes the survey found: it changed during the run."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class Loader:
    """Loads single documents of a catalogue (through the cache), each once, and only as the
    survey found them: a file whose bytes changed since raises :class:`ChangedDuringRun`."""

    def __init__(self, root: Path, seen: Survey, limits: LoadLimits, cache: Cache | None) -> None:
        self.seen = seen
        self.limits = limits
        self.cache = cache
        self.scratch = SourceCatalog(root=root)
        self.entries: dict[str, Entry | None] = {}
        self.problems: dict[str, list[Diagnostic]] = {}

    def __call__(self, name: str) -> Entry | None:
        if name not in self.entries:
            entry, problems = load_one(Path(self.seen.paths[name]), name, self.limits, self.scratch, self.cache)
            if self.scratch.digests.get(name) != self.seen.shas[name]:
                raise ChangedDuringRun(name)
            self.entries[name], self.problems[name] = entry, problems
        return self.entries[name]
