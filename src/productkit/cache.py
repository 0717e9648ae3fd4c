"""A local, content-addressed cache of stage results, so that unchanged inputs are not redone.

The cache holds data, never code: each entry is one JSON file
``<folder>/<engine>/<namespace>/<name digest>.json``. The file is named after *what* is cached
(a catalogue file, a product), so an edit overwrites the entry instead of piling up new ones;
the key inside says *which inputs* produced the value (content digests of every input and of
productkit's own source), so a stale entry is a miss.

An entry cannot change a diagnostic:

* it is JSON read with orjson, so reading it runs no code (no pickle, ever);
* its first line is an HMAC-SHA256 of the rest under a random secret kept in the cache folder
  (created with mode 0600 on first use): an entry this tool did not write, or one copied from
  another machine, is a miss;
* callers validate the value's structure when they decode it, and anything odd is a miss.

The folder defaults to the user's cache (``$PRODUCTKIT_CACHE_DIR``, else
``$XDG_CACHE_HOME/productkit``, else ``~/.cache/productkit``), never the catalogue: a pull
request cannot plant entries. Entries are written to a temporary file and renamed, so a reader
never sees half of one; anything unreadable is a miss, never an error.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

__all__ = ["CACHE_DIR_NAME", "ENV_VAR", "Cache", "default_folder", "digest", "engine_digest", "open_cache"]

CACHE_DIR_NAME = ".productkit-cache"  # the old in-catalogue folder: never read any more
ENV_VAR = "PRODUCTKIT_CACHE_DIR"
FORMAT = "productkit.cache/2"
_SECRET = "secret"
_SECRET_BYTES = 32
_MAX_ENTRY = 64 * 1024 * 1024  # a larger file is not one this tool wrote


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
    secret: bytes

    def _path(self, namespace: str, name: str) -> Path:
        return self.folder / self.engine[:16] / namespace / f"{digest(name)[:40]}.json"

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self.secret, body, hashlib.sha256).hexdigest().encode("ascii")

    def get(self, namespace: str, name: str, key: str) -> Any | None:
        """The JSON value stored for ``name`` under ``key``, or None (absent, stale, foreign)."""
        raw = _read_bounded(self._path(namespace, name))
        if raw is None:
            return None
        mac, _, body = raw.partition(b"\n")
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            stored = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if (not isinstance(stored, dict) or stored.get("format") != FORMAT
                or stored.get("key") != self._full_key(key)):
            return None
        return stored.get("value")

    def put(self, namespace: str, name: str, key: str, value: Any) -> None:
        """Store a JSON ``value``; a cache that cannot be written is skipped (it is only a cache)."""
        try:
            body = orjson.dumps({"format": FORMAT, "key": self._full_key(key), "value": value})
        except (TypeError, orjson.JSONEncodeError):
            return
        path = self._path(namespace, name)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write_atomic(path, self._mac(body) + b"\n" + body)
        except OSError:
            return

    def drop(self, namespace: str, name: str) -> None:
        """Remove what is stored for ``name`` (nothing when there is none or it cannot be removed)."""
        try:
            self._path(namespace, name).unlink(missing_ok=True)
        except OSError:
            return

    def _full_key(self, key: str) -> str:
        return digest(self.engine, key)


def _read_bounded(path: Path) -> bytes | None:
    """The bytes of a regular file (never following a link), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            raw = fh.read(_MAX_ENTRY + 1)
    except OSError:
        return None
    return raw if len(raw) <= _MAX_ENTRY else None


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@functools.cache
def engine_digest() -> str:
    """productkit's own source: a new productkit invalidates every cached result."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()


def default_folder() -> Path | None:
    """The user cache folder: $PRODUCTKIT_CACHE_DIR, $XDG_CACHE_HOME/productkit or ~/.cache/productkit."""
    chosen = os.environ.get(ENV_VAR)
    if chosen:
        return Path(chosen)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "productkit"
    try:
        return Path.home() / ".cache" / "productkit"
    except RuntimeError:  # no home directory: run without a cache
        return None


def _secret(folder: Path) -> bytes | None:
    """The folder's MAC secret, created (mode 0600) on first use; None when unusable."""
    path = folder / _SECRET
    try:
        if not path.exists():
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            _ignore(folder)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)  # mode 0600
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(_SECRET_BYTES))
            try:
                os.link(tmp, path)  # atomic, and never replaces a secret another run made first
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
    except OSError:
        return None
    raw = _read_bounded(path)
    return raw if raw is not None and len(raw) == _SECRET_BYTES else None


def _ignore(folder: Path) -> None:
    ignore = folder / ".gitignore"  # should the folder be inside a repository, keep it out of it
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")


def open_cache(setting: object) -> Cache | None:
    """The cache an Options.cache setting names: "auto" -> the user cache folder, a path -> that
    folder, None -> no cache. A folder that cannot be used means no cache, never an error."""
    if setting is None:
        return None
    folder = default_folder() if setting == "auto" else Path(str(setting))
    if folder is None:
        return None
    secret = _secret(folder)
    return Cache(folder, engine_digest(), secret) if secret is not None else None
