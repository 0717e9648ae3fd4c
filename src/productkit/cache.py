"""A local, content-addressed cache of stage results, so that unchanged inputs are not redone.

Each entry is one file ``<folder>/<engine>/<namespace>/<name digest>.pkl`` holding
``(FORMAT, key, value)``: the file is named after *what* is cached (a catalogue file, a product),
so an edit overwrites the entry instead of piling up new ones, and the key says *which inputs*
produced the value, so a stale entry is a miss. Entries are written to a temporary file and
renamed, so a reader never sees half of one; anything unreadable is a miss, never an error.

The values are pickled. That is acceptable only because this cache is local and the tool itself
wrote every entry (the folder lives beside the build output or in the catalogue root); it is not a
format to exchange, and a cache folder from an untrusted source must not be used.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CACHE_DIR_NAME", "Cache", "digest", "engine_digest", "open_cache"]

CACHE_DIR_NAME = ".productkit-cache"
FORMAT = "productkit.cache/1"


def digest(*parts: str | bytes) -> str:
    """sha256 over ``parts``, each length-prefixed so that no two part lists collide."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Cache:
    """The entries of one productkit engine (source digest) below ``folder``."""

    folder: Path
    engine: str

    def _path(self, namespace: str, name: str) -> Path:
        return self.folder / self.engine[:16] / namespace / f"{digest(name)[:40]}.pkl"

    def get(self, namespace: str, name: str, key: str) -> Any | None:
        """The value stored for ``name`` under ``key``, or None (absent, stale or unreadable)."""
        try:
            with open(self._path(namespace, name), "rb") as fh:
                stored = pickle.load(fh)  # written by this tool: see the module docstring
        except Exception:  # any unreadable, truncated or foreign entry is simply a miss
            return None
        if not (isinstance(stored, tuple) and len(stored) == 3 and stored[0] == FORMAT and stored[1] == key):
            return None
        return stored[2]

    def put(self, namespace: str, name: str, key: str, value: Any) -> None:
        """Store ``value``; a cache that cannot be written is skipped silently (it is only a cache)."""
        path = self._path(namespace, name)
        try:
            data = pickle.dumps((FORMAT, key, value), protocol=pickle.HIGHEST_PROTOCOL)
            if not path.parent.is_dir():
                self._prepare(path.parent)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
            return

    def _prepare(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        ignore = self.folder / ".gitignore"  # keep the cache out of version control
        if not ignore.exists():
            ignore.write_text("*\n", encoding="utf-8")


@functools.cache
def engine_digest() -> str:
    """productkit's own source: a new productkit invalidates every cached result."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()


def open_cache(setting: object, default: Path) -> Cache | None:
    """The cache an Options.cache setting names: "auto" -> ``default``, None -> no cache."""
    if setting is None:
        return None
    folder = default if setting == "auto" else Path(str(setting))
    return Cache(folder, engine_digest())
