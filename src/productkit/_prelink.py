"""The previous build's files, checked and linked into a new build's stage by a forked process
while this one checks the catalogue.

An incremental build keeps most of the previous build: every kept file is checked against its
seal (by its ``lstat`` stamp, or read and hashed) and hard-linked into the stage. At scale that is
tens of thousands of system calls, a third of a one-product build, and none of it depends on what
the checks find. So a forked child does it for every file of every product of the previous build
while the build process validates, and reports what it found as sealed and linked; the build
then keeps a product only if each of its files was found as sealed, and the commit drops what it
linked and did not keep (see :meth:`productkit.output.Stage.commit`). A file found as sealed that
could not be linked (a file system without hard links) is written at the commit, as without a
child.

The child is started before the build knows whether it has anything to do: it checks the files
while the build fingerprints the catalogue, and links them only once told where (the stage,
:meth:`Linker.go`). A rebuild that finds its output up to date stops it before it has linked
anything: a link changes its file's ``ctime``, which would make the files' recorded stamps stale.

The stage then holds only the child's links until the commit: what the build itself writes goes
to a folder of its own (:attr:`Stage.fresh`), so nothing is ever written into a file the previous
build shares. A child that fails leaves the build to do the work itself, as without a child.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import signal
import stat
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from .output import Inside, Stage, plain_name, syncfs
from .parallel import cores

__all__ = ["PRELINK_MIN", "Linker", "Prelinked", "Work", "prelinking"]

PRELINK_MIN = 2000  # files of the previous build; below this a fork costs more than it saves

Stamp = list[int]  # size, mtime_ns, inode, ctime_ns (as build._Stamps records them)
Checked = list[tuple[str, Stamp | None]]  # each file found as sealed; its stamp to record when it was read


@dataclass(frozen=True, slots=True)
class Prelinked:
    """What the child linked; what it found as sealed but could not link; the stamps of files it
    had to read that matched their seals (settled ones); and, asked for later (the child takes
    them after reporting the rest), each link's stamp where the file had a recorded one."""

    linked: frozenset[str]
    unlinked: frozenset[str]
    saw: dict[str, Stamp]
    link_stamps: Callable[[], dict[str, Stamp]] = field(compare=False, repr=False)

    def sealed(self, name: str) -> bool:
        return name in self.linked or name in self.unlinked


@dataclass(frozen=True, slots=True)
class Work:
    """What the child is given: the previous build's folder, its product files (sealed), and the
    stamps recorded when they were last found as sealed."""

    folder: str
    names: Sequence[str]
    seals: Mapping[str, str]
    stamps: Mapping[str, Stamp]
    settled_before: int  # ns: a stamp is recorded only for a file last changed before this


class Linker:
    """The child at work. It checks the files, then waits for :meth:`go`; it then links them and
    sends two messages (each its length, then its JSON): what it linked, then the links' stamps.
    :meth:`stop` ends it if the caller leaves before the second."""

    def __init__(self, pid: int, fd: int, go_fd: int) -> None:
        self.pid, self.fd, self.go_fd = pid, fd, go_fd
        self.reaped, self.failed = False, False

    def go(self, stage: Stage) -> None:
        """Have the child link the files it found as sealed into ``stage``; from now on what the
        build writes goes to the stage's own fresh folder. A child that is gone already is found
        so by :meth:`result`."""
        stage.keep_fresh_apart()
        with contextlib.suppress(OSError):  # the child ended: it sends no result
            _send(self.go_fd, os.fsencode(stage.folder))
        self._close_go()

    def _close_go(self) -> None:
        if self.go_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.go_fd)
            self.go_fd = -1

    def result(self) -> Prelinked | None:
        """Wait for the child's first message: what it linked, or None when it failed (the stage
        may then hold some of its links: the caller clears it)."""
        data = self._message()
        try:
            if data is None:
                raise ValueError("the child ended without its result")
            found = orjson.loads(data)
            return Prelinked(frozenset(found["linked"]), frozenset(found["unlinked"]), dict(found["saw"]),
                             self._link_stamps)
        except (ValueError, KeyError, TypeError):
            self.stop()
            return None

    def _link_stamps(self) -> dict[str, Stamp]:
        data = self._message()
        self._reap()
        if data is None or self.failed:
            return {}
        try:
            stamps = orjson.loads(data)
        except ValueError:
            return {}
        return dict(stamps) if isinstance(stamps, dict) else {}

    def _message(self) -> bytes | None:
        head = self._read(8)
        return self._read(int.from_bytes(head, "little")) if head is not None else None

    def _read(self, size: int) -> bytes | None:
        return None if self.reaped else _read_exactly(self.fd, size)  # a pipe gone: no message

    def _reap(self) -> None:
        if not self.reaped:
            self.reaped, self.failed = True, True  # whatever happens next, it is never waited for again
            self._close_go()
            with contextlib.suppress(OSError):
                os.close(self.fd)
            try:
                _, status = os.waitpid(self.pid, 0)
            except ChildProcessError:  # reaped already (a process that ignores SIGCHLD)
                return
            self.failed = not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0

    def stop(self) -> None:
        """End the child now, unless it was waited for already (its pid may be another's since)."""
        if not self.reaped:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()


@contextlib.contextmanager
def prelinking(work: Work | None) -> Iterator[Linker | None]:
    """Start the child checking ``work``'s files (None: no previous build, or too small to pay for
    a fork, or a process that must not fork); it links them once told where (:meth:`Linker.go`)
    and is stopped if the caller leaves without its result."""
    if work is None or len(work.names) < PRELINK_MIN or not hasattr(os, "fork") or cores() < 2 \
            or threading.active_count() > 1:  # a forked child could inherit a lock another thread held
        yield None
        return
    child = _start(work)
    try:
        yield child  # None: no fork to be had (a process limit, memory): the build does the work itself
    finally:
        if child is not None:
            child.stop()  # a no-op once both its messages were read (it has exited and been waited for)


_HELD = {signal.SIGINT, signal.SIGTERM}  # not delivered while the child is being made


def _start(work: Work) -> Linker | None:
    """Fork the child; None when there is no fork to be had. Interrupts wait until each side
    knows which it is: the parent's never unwinds the parent's code in the child, and the parent
    always has the child to stop."""
    fds: list[int] = []
    try:
        fds.extend(os.pipe())
        fds.extend(os.pipe())
    except OSError:
        _close(fds)
        return None
    read, write, go_read, go_write = fds
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        pid = os.fork()
    except OSError:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        _close(fds)
        return None
    if pid == 0:
        _run(work, (read, go_write), go_read, write, held)  # never returns
    try:
        _close([write, go_read])
        return Linker(pid, read, go_write)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _close(fds: Sequence[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _run(work: Work, parents: Sequence[int], go: int, fd: int, held: Any) -> None:
    """The child's whole life: it leaves through os._exit, whatever happens (an interrupt too),
    running nothing of the parent's (its cleanups, its atexit handlers, its buffered output)."""
    code = 1
    try:
        gc.disable()  # a collection would walk, and so copy, the parent's memory
        _close(parents)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        checked = _check_all(work)
        into = _told(go)
        if into is None:  # the build had nothing to do, or left: nothing is linked
            code = 0
            return
        first, recorded = _link_all(work, into, checked)
        _send(fd, orjson.dumps(first))
        carried = _carried(into, recorded)
        with contextlib.suppress(OSError):  # the links' folder entries flushed now, not at the commit
            syncfs(into)  # (which flushes the file system again: this only takes work off its path)
        _send(fd, orjson.dumps(carried))
        code = 0
    finally:
        os._exit(code)


def _told(go: int) -> str | None:
    """The stage to link into, once the build says (its length, then its path; read to that
    length, not to the end: a process the build forks later holds the pipe open too); None when
    the build closes the pipe instead."""
    head = _read_exactly(go, 8)
    data = _read_exactly(go, int.from_bytes(head, "little")) if head is not None else None
    return os.fsdecode(data) if data else None


def _read_exactly(fd: int, size: int) -> bytes | None:
    """``size`` bytes from ``fd``; None when it ends before (or cannot be read)."""
    chunks, left = [], size
    while left:
        try:
            chunk = os.read(fd, min(left, 1 << 20))
        except OSError:
            return None
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _send(fd: int, data: bytes) -> None:
    view = memoryview(len(data).to_bytes(8, "little") + data)
    while view:
        view = view[os.write(fd, view):]


def _check_all(work: Work) -> Checked:
    """Every file of ``work`` found as its seal says (see :func:`_sealed`)."""
    found: Checked = []
    base, sep = work.folder, os.sep
    inside = Inside(base)
    for name in work.names:
        if not plain_name(name) or not inside(name):  # a file outside the build: nothing of it is taken
            continue
        sealed, seen = _sealed(base + sep + name, work.seals.get(name), work.stamps.get(name), work.settled_before)
        if sealed:
            found.append((name, seen))
    return found


def _link_all(work: Work, into: str, checked: Checked) -> tuple[dict[str, Any], dict[str, Stamp]]:
    """Link every file found as sealed; what to report, and the recorded stamp of each file linked
    that has one (the stamp its link is checked against, see :func:`_carried`)."""
    linked: list[str] = []
    unlinked: list[str] = []
    saw: dict[str, Stamp] = {}
    recorded: dict[str, Stamp] = {}
    made: set[str] = {into}
    base, sep = work.folder, os.sep
    for name, seen in checked:
        if seen is not None:
            saw[name] = seen
        target = into + sep + name
        folder = os.path.dirname(target)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        try:
            os.link(base + sep + name, target)
        except OSError:
            unlinked.append(name)  # the commit copies it from the previous build
            continue
        linked.append(name)
        stamp = seen or work.stamps.get(name)
        if stamp is not None:
            recorded[name] = stamp
    return {"linked": linked, "unlinked": unlinked, "saw": saw}, recorded


def _stamp(path: str) -> Stamp | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns] if stat.S_ISREG(st.st_mode) else None


def _sealed(path: str, seal: str | None, recorded: Stamp | None, settled_before: int) -> tuple[bool, Stamp | None]:
    """Whether the file is as its seal says (by its stamp, else read and hashed), and its stamp
    to record when it had to be read and was settled."""
    if seal is None:
        return False, None
    stamp = _stamp(path)
    if stamp is None:
        return False, None
    if recorded is not None and recorded == stamp:
        return True, None
    try:
        with open(path, "rb") as fh:
            sha = "sha256:" + hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        return False, None
    if sha != seal:
        return False, None
    settled = _stamp(path)
    keep = settled is not None and settled == stamp and max(stamp[1], stamp[3]) < settled_before
    return True, stamp if keep else None


def _carried(into: str, recorded: Mapping[str, Stamp]) -> dict[str, Stamp]:
    """Each link's stamp, where it is the recorded file (same size, mtime, inode): linking
    changed only its ctime, which the next build finds as recorded here."""
    out = {}
    for name, was in recorded.items():
        stamp = _stamp(into + os.sep + name)
        if stamp is not None and stamp[:3] == was[:3]:
            out[name] = stamp
    return out
