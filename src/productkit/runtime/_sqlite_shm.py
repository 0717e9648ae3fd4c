"""This process's one handle on a database's ``-shm`` file (the WAL index), shared by every
SQLiteStore of the process on that database and closed only when the last of them closes; and
the writer lock that orders the stores of different processes on one database.

Why the handle is shared and held: SQLite marks a WAL index as in use with a POSIX lock on it
(the "DMS" byte, https://www.sqlite.org/walformat.html), and POSIX drops every lock a process
holds on a file when the process closes *any* descriptor of that file
(https://www.sqlite.org/howtocorrupt.html, section 2.2). A descriptor opened to map the change
counter and closed again would take SQLite's lock with it: another process opening the database
would then take the index for unused and reset it under the first one. So the handle is opened
once per process and file, and closed after the stores' own connections (a store closes its
connections first). A connection of the same process that is not a store's and outlives the
last store on its file loses its lock then, as it would to any close of that file. A child made
by ``fork`` starts without handles: what it inherited is its parent's, and it opens its own.
On Windows, where a close drops no other lock and an open file cannot be deleted, the handle
is let go before the connections close, so that SQLite can remove the index after the last.

The writer lock (:class:`WriterLock`) is a ``flock`` on a file of its own beside the database
(``<database>-writer``), never on SQLite's files: on the BSDs ``flock`` and SQLite's ``fcntl``
locks act on each other. A store's leader holds it while it writes a batch (the transaction,
and its rollback when it fails), so a leader of another store, in this process or another one,
sleeps in the kernel and wakes as soon as the write is done, where SQLite's own busy wait polls
(first after 1 ms, then 2, 5, 10 ms). SQLite's locks still decide who may write; the ``flock``
only orders the stores' turns, and when it cannot be had (a file that cannot be created, a file
system without ``flock``) the stores go on without it. Its wait has no time limit: a store whose
process is stopped while it writes holds the others up until it goes on or ends (the kernel
lets go of the lock of a process that ends).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
from collections.abc import Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's own busy wait orders the writers
    fcntl = None  # type: ignore[assignment]

__all__ = ["CLOSE_FIRST", "ShmFile", "WriterLock"]

_HEAD = 96  # the WAL-index header's two copies: all that is read
# Whether a store lets go of its handle before closing its connections (see the docstring).
CLOSE_FIRST = os.name == "nt"


class _Handle:
    """The descriptor and the mapping of one ``-shm`` file, with how many stores use them."""

    __slots__ = ("fd", "key", "map", "users")

    def __init__(self, fd: int, key: tuple[int, int]) -> None:
        self.fd = fd
        self.key = key
        self.users = 0
        try:
            self.map: mmap.mmap | None = mmap.mmap(fd, _HEAD, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # too short, or not mappable here
            self.map = None


_handles: dict[tuple[int, int], _Handle] = {}  # (device, inode) of the -shm -> this process's handle
_handles_lock = threading.Lock()
_orphans: list[int] = []  # descriptors that may not be closed while the process's stores are open


def _forked() -> None:
    """In a child made by fork: the handles are the parent's (its locks are not inherited, so
    closing them here drops nothing of SQLite's in either process)."""
    global _handles_lock
    _handles_lock = threading.Lock()
    for handle in _handles.values():
        with contextlib.suppress(OSError, ValueError):
            if handle.map is not None:
                handle.map.close()
            os.close(handle.fd)
    _handles.clear()
    for fd in _orphans:
        with contextlib.suppress(OSError):
            os.close(fd)
    _orphans.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


class ShmFile:
    """A store's use of its database's ``-shm`` handle (see the module's docstring)."""

    def __init__(self, db_path: str) -> None:
        self._handle = _acquire(db_path + "-shm")

    def head(self) -> bytes:
        """The WAL-index header's two copies, or b"" when they cannot be read."""
        handle = self._handle
        if handle is None or handle.map is None:
            return b""
        try:
            return handle.map[:_HEAD]
        except ValueError:  # closed
            return b""

    def close(self) -> None:
        """Let go of the handle; the last store of the process on this file closes it. Call it
        after the store's connections are closed (before them when CLOSE_FIRST)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            _release(handle)


def _acquire(path: str) -> _Handle | None:
    with _handles_lock:
        try:
            known = os.stat(path)
        except OSError:  # no WAL index (yet): nothing to map
            return None
        handle = _handles.get((known.st_dev, known.st_ino))
        if handle is None:
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                return None
            found = os.fstat(fd)
            key = (found.st_dev, found.st_ino)
            handle = _handles.get(key)
            if handle is None:
                handle = _handles[key] = _Handle(fd, key)
            else:  # pragma: no cover - the file was replaced between stat and open; a descriptor
                _orphans.append(fd)  # closed now would drop SQLite's lock: kept for the process's life
        handle.users += 1
        return handle


def _release(handle: _Handle) -> None:
    with _handles_lock:
        handle.users -= 1
        if handle.users > 0 or _handles.get(handle.key) is not handle:
            return
        del _handles[handle.key]
        if handle.map is not None:
            handle.map.close()
        os.close(handle.fd)


class WriterLock:
    """The writer lock of one store on ``<database>-writer`` (see the module's docstring)."""

    def __init__(self, db_path: str) -> None:
        self._fd: int | None = None
        if fcntl is not None:
            with contextlib.suppress(OSError):  # a folder it cannot be made in: no lock
                self._fd = os.open(db_path + "-writer", os.O_RDWR | os.O_CREAT, 0o666)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the lock while the block runs (without it when it cannot be had)."""
        fd = self._fd
        if fd is None:
            yield
            return
        try:  # the unlock runs whatever returned: one of a lock not held does nothing
            with contextlib.suppress(OSError):  # no flock here: SQLite alone orders the writers
                fcntl.flock(fd, fcntl.LOCK_EX)  # lets go of the GIL while it waits
            yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
