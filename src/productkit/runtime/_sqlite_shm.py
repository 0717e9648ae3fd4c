"""This process's one handle on a database's ``-shm`` file (the WAL index), shared by every
SQLiteStore of the process on that database and closed only when the last of them closes.

Why shared and held: SQLite marks a WAL index as in use with a POSIX lock on it (the "DMS" byte,
https://www.sqlite.org/walformat.html), and POSIX drops every lock a process holds on a file
when the process closes *any* descriptor of that file
(https://www.sqlite.org/howtocorrupt.html, section 2.2). A descriptor opened to map the change
counter and closed again would take SQLite's lock with it: another process opening the database
would then take the index for unused and reset it under the first one. So the handle is opened
once per process and file, and closed after the stores' own connections (a store closes its
connections first). A connection of the same process that is not a store's and outlives the
last store on its file loses its lock then, as it would to any close of that file.

The handle also carries the stores' writer lock across processes (:meth:`ShmFile.writing`): a
``flock`` on the same descriptor, which SQLite does not use (its locks are ``fcntl`` byte ranges,
independent of ``flock`` on the systems that run WAL). A store's leader takes it around the
statement that writes its batch, so a leader of another process sleeps in the kernel and wakes
as soon as the write is done, where SQLite's own busy wait polls (first after 1 ms, then 2, 5,
10 ms). SQLite's locks still decide who may write: the ``flock`` only orders the stores' turns.
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

__all__ = ["ShmFile"]

_HEAD = 96  # the WAL-index header's two copies: all that is read


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

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the writer lock shared with the stores of other processes on this database."""
        handle = self._handle
        if handle is None or fcntl is None:
            yield
            return
        fcntl.flock(handle.fd, fcntl.LOCK_EX)  # lets go of the GIL while it waits
        try:
            yield
        finally:
            fcntl.flock(handle.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Let go of the handle; the last store of the process on this file closes it. Call it
        after the store's connections are closed."""
        handle, self._handle = self._handle, None
        if handle is not None:
            _release(handle)


def _acquire(path: str) -> _Handle | None:
    with _handles_lock:
        try:
            known = os.stat(path)
        except OSError:  # no WAL index (yet): nothing to map or lock
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


_orphans: list[int] = []


def _release(handle: _Handle) -> None:
    with _handles_lock:
        handle.users -= 1
        if handle.users > 0 or _handles.get(handle.key) is not handle:
            return
        del _handles[handle.key]
        if handle.map is not None:
            handle.map.close()
        os.close(handle.fd)
