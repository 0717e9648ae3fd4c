"""The output folder of ``build``: what may be replaced, and replacing it atomically.

``<out>`` is a symbolic link to a build folder in ``.<out>.builds/`` beside it. A new build is
written to a temporary folder there, renamed, and the link is swapped in one rename, so a build
killed at any moment leaves the previous build intact and loadable.

Rules that keep a build from destroying data:

* ``<out>`` must be a new path or a previous productkit build: a link into its own store, or a
  folder holding the :data:`MARKER` file. Anything else (a source folder, the catalogue itself,
  a regular file) is refused before anything is written, and nothing outside the store is ever
  moved or deleted.
* One build at a time per output: the writer holds an exclusive ``flock`` on the store's lock
  file while it writes, swaps and sweeps, so every temporary folder it finds then belongs to a
  build that died (no PIDs, which the system reuses).
* Retired builds stay for readers: a channel service that resolved the link just before the
  swap keeps reading the old folder. The two most recently retired builds are always kept, older
  ones until they have been retired for ``grace`` seconds.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import shutil
import stat
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = ["MARKER", "Inside", "OutputRefused", "Stage", "check_out", "plain_name", "staged_build", "syncfs",
           "tidy", "write_build"]

MARKER = ".productkit-build"  # in every build folder: "productkit wrote this, it may replace it"
_MARKER_TEXT = '{"format": "productkit.build-folder/1"}\n'
_RETIRED = ".retired.json"  # store: build folder name -> when it stopped being current
_KEEP_RETIRED = 2
SOURCE_DIRS = ("components", "products")


class OutputRefused(Exception):
    """``--out`` names something a build must not replace."""


def plain_name(name: str) -> bool:
    """True for a build file name that stays inside the build: relative, no empty, ``.`` or
    ``..`` part, no NUL (what a build names its files; a manifest naming anything else is not
    one this build may take files from)."""
    if not isinstance(name, str) or "\0" in name:
        return False
    parts = name.split("/")
    return not ("" in parts or "." in parts or ".." in parts)


class Inside:
    """Whether a build file's folder is a folder of the build itself (no part of it a link
    leading elsewhere), each folder resolved once: a previous build's files are read and linked
    only from there."""

    def __init__(self, base: str | Path) -> None:
        self.base = os.path.realpath(base)
        self.folders: dict[str, bool] = {"": True}

    def __call__(self, name: str) -> bool:
        return self._real(os.path.dirname(name))

    def _real(self, folder: str) -> bool:
        """A folder below the base, itself and each folder above it a folder (not a link)."""
        found = self.folders.get(folder)
        if found is None:
            if os.path.basename(folder) in ("", ".", "..") or os.path.isabs(folder):  # not a name below it
                self.folders[folder] = False
                return False
            try:
                st = os.lstat(os.path.join(self.base, folder))
            except OSError:
                found = False
            else:
                found = stat.S_ISDIR(st.st_mode) and self._real(os.path.dirname(folder))
            self.folders[folder] = found
        return found


def store_of(out: Path) -> Path:
    return out.parent / f".{out.name}.builds"


def is_build_folder(path: Path) -> bool:
    return (path / MARKER).is_file() and not (path / MARKER).is_symlink()


def check_out(out: Path, roots: Sequence[Path] = ()) -> None:
    """Raise OutputRefused when a build may not be written to ``out``."""
    out = out.absolute()
    for root in roots:
        for source in (root.resolve() / d for d in SOURCE_DIRS):
            if source.is_relative_to(out.resolve()):
                raise OutputRefused(f"--out {out} holds the catalogue's {source.name}/ folder: a build must not "
                                    "replace the catalogue; choose a folder of its own")
            if out.resolve().is_relative_to(source):
                raise OutputRefused(f"--out {out} is inside the catalogue's {source.name}/ folder, where the build "
                                    "would be read as catalogue documents; choose a folder outside it")
    if out.is_symlink():
        if Path(os.path.realpath(out)).parent != store_of(out).resolve():
            raise OutputRefused(f"--out {out} is a link to {os.readlink(out)}, not to a build productkit wrote "
                                f"(in {store_of(out).name}/); refusing to replace it")
        return
    if not out.exists():
        return
    if not out.is_dir():
        raise OutputRefused(f"--out {out} is a file, not a build folder; refusing to replace it")
    if not is_build_folder(out):
        raise OutputRefused(f"--out {out} exists and is not a productkit build (it has no {MARKER} file); "
                            "refusing to replace it: name a new folder or a previous build")


@contextlib.contextmanager
def _locked(store: Path) -> Iterator[None]:
    with open(store / ".lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # waits for another build of the same output
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class Stage:
    """A build being written: its temporary folder in the store, while this process holds the
    store's lock. Files may be written into it as they are made (by forked workers too); the
    rest comes with :meth:`commit`, which makes the build current."""

    def __init__(self, out: Path, store: Path, folder: Path, grace: float) -> None:
        self.out, self.store, self.folder, self.grace = out, store, folder, grace
        self.committed: Path | None = None
        self._folders: set[str] = set()  # made in the stage by this process
        # Where written files go until the commit when another process links the previous
        # build's files into the stage meanwhile (see productkit._prelink): never into a link.
        self.fresh: Path | None = None
        self.prelinked: set[str] = set()  # names linked into the stage by then, to keep or drop
        self.unlinked: set[str] = set()  # names whose folders were made for a link that failed
        # Whether the commit removed a retired build: one sharing a kept file changes its ctime.
        self.swept = True

    def keep_fresh_apart(self) -> None:
        """From now on, written files go to a folder of their own, moved into the stage at the
        commit (a temporary folder of the store: a dead build's is swept like its stage)."""
        self.fresh = self.folder.with_name(self.folder.name + "-fresh")
        self.fresh.mkdir()

    def path(self, name: str) -> Path:
        """Where the build file ``name`` (a relative path this build chose) is written."""
        return Path(self._where(name, self.fresh or self.folder))

    def _where(self, name: str, base: Path) -> str:
        parts = name.split("/")
        if "" in parts or "." in parts or ".." in parts or "\0" in name:  # (a plain name is the usual case)
            path = base / name
            if name.startswith("/") or ".." in Path(name).parts or not path.is_relative_to(base):
                raise ValueError(f"a build file name that leaves the build: {name!r}")
            return os.fspath(path)
        return os.path.join(base, *parts)

    def write(self, name: str, data: bytes) -> None:
        """Write one file now (durable only once committed)."""
        path = self._where(name, self.fresh or self.folder)
        folder = os.path.dirname(path)
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        with open(path, "wb") as fh:
            fh.write(data)

    def _drop_unlisted(self, listed: set[str], linked: set[str]) -> None:
        """Remove what was written into the stage but is not part of the build (output of a
        product the build then kept from before), and what will be linked from the previous build
        instead: only what the manifest lists is committed."""
        base = os.fspath(self.folder)
        for folder, _, names in os.walk(base):  # plain strings: a stage holds thousands of files
            inside = os.path.relpath(folder, base)
            prefix = "" if inside == "." else inside.replace(os.sep, "/") + "/"
            for file in names:
                if (name := prefix + file) not in listed or name in linked:
                    os.unlink(os.path.join(folder, file))

    def _settle(self, files: Mapping[str, bytes], staged: set[str], kept: set[str]) -> set[str]:
        """Make the stage hold what was linked into it and is kept, and what was written apart
        and is part of the build; returns the names it now holds."""
        base, dropped = os.fspath(self.folder), {os.path.dirname(name) for name in self.unlinked - kept}
        for name in self.prelinked - kept:
            os.unlink(os.path.join(base, name))
            dropped.add(os.path.dirname(name))
        moved = {name for name in staged if name in files}
        made = {os.path.dirname(name) for name in self.prelinked & kept}
        for name in sorted(moved):
            folder = os.path.dirname(name)
            if folder not in made:
                os.makedirs(os.path.join(base, folder), exist_ok=True)
                made.add(folder)
            os.replace(self._where(name, self.fresh or self.folder), self._where(name, self.folder))
        for folder in sorted(dropped - made, key=len, reverse=True):  # what no longer holds a file
            while folder:
                try:
                    os.rmdir(os.path.join(base, folder))
                except OSError:  # it still holds something
                    break
                folder = os.path.dirname(folder)
        assert self.fresh is not None
        shutil.rmtree(self.fresh, ignore_errors=True)
        self.fresh = None
        return moved | (self.prelinked & kept)

    def commit(self, files: Mapping[str, bytes], sources: Mapping[str, str | Path] | None = None,
               staged: Iterable[str] = ()) -> Path:
        """Write ``files`` (those in ``staged`` are already in the stage), make every file
        durable, and point ``out`` at the new build; returns the build folder."""
        present = set(staged)
        if self.fresh is not None:
            present = self._settle(files, present, set(sources or {}))
        else:
            self._drop_unlisted({*files, MARKER}, set(sources or {}))
        marker = os.path.join(self.folder, MARKER)
        with contextlib.suppress(FileNotFoundError):  # a new file, never one the stage may share
            os.unlink(marker)
        with open(marker, "wb") as fh:
            fh.write(_MARKER_TEXT.encode())
        _write_files(self.folder, files, sources or {}, {*present, MARKER})
        store, out = self.store, self.out
        target = store / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"
        os.replace(self.folder, target)
        self.committed = target
        old = _current(out)
        if out.exists() and not out.is_symlink():  # a build folder from before links: keep it as retired
            old = store / f"legacy-{uuid.uuid4().hex[:12]}"
            os.replace(out, old)
        link = out.parent / f".{out.name}.link-{uuid.uuid4().hex[:12]}"
        os.symlink(os.path.relpath(target, out.parent), link)
        os.replace(link, out)
        # The build is current from here on: what follows only tidies, and a failure of it (a
        # full disk, a folder another user owns) leaves its work to the next build that commits.
        with contextlib.suppress(OSError):
            if old is not None and old.resolve() != target.resolve():
                _retire(store, old.name)
            self.swept = _sweep(store, out, self.grace)
        return target


@contextlib.contextmanager
def staged_build(out: Path, grace: float = 600.0) -> Iterator[Stage]:
    """A new build of ``out`` in a temporary folder, removed unless committed. Holds the store's
    lock throughout: another build of the same output waits."""
    out = out.absolute()
    store = store_of(out)
    store.mkdir(parents=True, exist_ok=True)
    with _locked(store):
        # only what dead builds left: retired builds are removed once this one is committed,
        # not before it is written (creating files just after deleting a build's thousands of
        # files is several times slower on ext4, and readers would wait longer for the new build)
        _sweep_dead(store, out)
        stage = Stage(out, store, store / f".tmp-{uuid.uuid4().hex}", grace)
        stage.folder.mkdir()
        try:
            yield stage
        finally:
            if stage.committed is None:
                shutil.rmtree(stage.folder, ignore_errors=True)
            if stage.fresh is not None:
                shutil.rmtree(stage.fresh, ignore_errors=True)


def tidy(out: Path) -> None:
    """Remove the stages of dead builds of ``out`` unless a build of it is running now: what an
    up-to-date rebuild does instead of writing anything (retired builds are left to the next
    build that writes, so a no-change rebuild stays cheap)."""
    store = store_of(out.absolute())
    try:
        with open(store / ".lock", "a+b") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return  # a build is running: it sweeps what dead builds left when it starts
            try:
                for child in store.iterdir():
                    if child.name.startswith(".tmp-"):
                        shutil.rmtree(child, ignore_errors=True)
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    except OSError:
        return  # no store, or one this user cannot write: nothing of ours to sweep


def write_build(out: Path, files: Mapping[str, bytes], sources: Mapping[str, str | Path] | None = None,
                grace: float = 600.0) -> Path:
    """Write ``files`` as a new build and point ``out`` at it; returns the build folder.

    A file of ``sources`` (the same bytes in the previous build, on the same file system) is
    hard-linked instead of written: unchanged products cost no write."""
    with staged_build(out, grace) as stage:
        return stage.commit(files, sources)


_WRITERS = 8


def _write_files(tmp: Path, files: Mapping[str, bytes], sources: Mapping[str, str | Path],
                 staged: set[str] | None = None) -> None:
    """Every file but those ``staged`` already (linked from ``sources`` where possible; the bytes
    of the others asked of ``files`` only when written), durable on disk before this returns:
    one ``syncfs`` of the file system after all the writes where Linux offers it (it also makes
    the new folders' entries durable), else an fsync of each file and folder."""
    names = sorted(n for n in files if n not in (staged or ()))
    base = os.fspath(tmp)  # plain strings: a build holds thousands of files
    for folder in sorted({os.path.dirname(os.path.join(base, name)) for name in names}):
        os.makedirs(folder, exist_ok=True)
    todo = [name for name in names if not (name in sources and _link(sources[name], os.path.join(base, name)))]
    # creating and writing files waits on the file system, not the interpreter: a few threads
    # keep it busy (each write is complete or raises; a failure leaves only the temporary folder)
    with ThreadPoolExecutor(max_workers=_WRITERS) as pool:
        list(pool.map(lambda name: (tmp / name).write_bytes(files[name]), todo))  # raises the first failure
    if not syncfs(tmp):  # every file in the folder, also those written into the stage before
        inside = sorted(tmp.rglob("*"), key=lambda p: len(p.parts), reverse=True)
        for path in [*inside, tmp]:
            if not path.is_symlink():
                _fsync(path)


def syncfs(folder: str | Path) -> bool:
    """Flush the file system holding ``folder`` and wait for it; False where there is no syncfs."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(folder, os.O_RDONLY)
    try:
        if call(fd) != 0:
            raise OSError(ctypes.get_errno(), f"syncfs failed on {folder}")
    finally:
        os.close(fd)
    return True


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link(source: str | Path, path: str) -> bool:
    try:
        os.link(source, path)
    except OSError:
        return False  # another file system, or links not supported: write the bytes instead
    return True


def _current(out: Path) -> Path | None:
    return Path(os.path.realpath(out)) if out.is_symlink() else None


def _retired(store: Path) -> dict[str, float]:
    try:
        data = json.loads((store / _RETIRED).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(k, str) and isinstance(v, int | float)} \
        if isinstance(data, dict) else {}


def _save_retired(store: Path, retired: dict[str, float]) -> None:
    tmp = store / f"{_RETIRED}.{uuid.uuid4().hex[:8]}"
    tmp.write_text(json.dumps(retired, sort_keys=True), "utf-8")
    os.replace(tmp, store / _RETIRED)


def _retire(store: Path, name: str) -> None:
    retired = _retired(store)
    retired[name] = time.time()
    _save_retired(store, retired)


def _remove_unread(build: Path) -> None:
    """Remove a retired build unless a reader holds it: a catalogue that loaded it lazily keeps a
    shared lock on its marker file (productkit.runtime's Lease), and this removal takes the lock
    exclusively without waiting, so it never pulls files from under a reader. A build held now is
    removed by a later build."""
    try:
        fd = os.open(build / MARKER, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        shutil.rmtree(build, ignore_errors=True)  # no marker to hold: nobody can hold it
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return
    try:
        shutil.rmtree(build, ignore_errors=True)
    finally:
        os.close(fd)


def _sweep_dead(store: Path, out: Path) -> None:
    """Remove what dead builds left: temporary folders and links (the lock says no build is
    running)."""
    for child in store.iterdir():
        if child.name.startswith(".tmp-"):
            shutil.rmtree(child, ignore_errors=True)
    for link in out.parent.glob(f".{out.name}.link-*"):
        if link.is_symlink():
            link.unlink(missing_ok=True)


def _sweep(store: Path, out: Path, grace: float) -> bool:
    """Remove what dead builds left and retired builds past their grace period; whether it
    removed (or tried to remove) a retired build."""
    _sweep_dead(store, out)
    current = _current(out)
    retired = _retired(store)
    builds = [c for c in store.iterdir() if c.is_dir() and not c.name.startswith(".")
              and (current is None or c.resolve() != current)]
    builds.sort(key=lambda c: retired.get(c.name, c.stat().st_mtime), reverse=True)
    now = time.time()
    removed = False
    for old in builds[_KEEP_RETIRED:]:
        if now - retired.get(old.name, old.stat().st_mtime) >= grace:
            _remove_unread(old)
            removed = True
    _save_retired(store, {c.name: t for c, t in ((c, retired.get(c.name)) for c in builds)
                          if t is not None and c.exists()})
    return removed
