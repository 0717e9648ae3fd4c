"""The application rows the SQLite store committed itself, answered without a query while no
other connection has committed since.

Every commit to a database in WAL mode, by any connection of any process, adds one to the
change counter of the WAL index (``iChange``, in the ``-shm`` file SQLite maps into each
process: https://www.sqlite.org/walformat.html). The store reads the counter before its COMMIT,
while it holds the write lock, and after it: one more means the transaction was the only commit
in between, so the rows it wrote are what the database holds until the counter moves again. A
read compares the counter with the one after the store's last commit; while they are equal the
database is unchanged since and the kept row is the stored one. Reading the counter is a read of
mapped memory: no system call and the GIL kept, where a query lets the GIL go a few times (under
load each one a hand-over to another thread).

Anything unexpected (no ``-shm`` file, a header being written, a format not known) answers
"unknown", and the store then reads the database.
"""

from __future__ import annotations

import struct

from ._sqlite_shm import ShmFile
from .store import AppRow, make_app_row

__all__ = ["KeptRows"]

_HEADER = 48  # the WAL-index header; SQLite writes it twice, one copy after the other
_FIELDS = struct.Struct("=II")  # iVersion, unused (native byte order, as SQLite writes it)
_CHANGE = struct.Struct("=I")  # iChange, at offset 8
_VERSION = 3007000  # the WAL-index format
_LIMIT = 4096  # rows kept at most: past it the store starts afresh


class _ChangeCounter:
    """The WAL index's change counter, read from the process's mapping of the ``-shm`` file."""

    def __init__(self, shm: ShmFile) -> None:
        self._shm = shm

    def read(self) -> int | None:
        """The counter, or None when it cannot be told (a copy being written, an unknown format)."""
        head = self._shm.head()
        if len(head) != 2 * _HEADER or head[:_HEADER] != head[_HEADER:] or head[12] != 1:
            return None
        if _FIELDS.unpack_from(head)[0] != _VERSION:
            return None
        return int(_CHANGE.unpack_from(head, 8)[0])


class KeptRows:
    """The rows of the store's own commits, valid while the counter is the one after its last."""

    def __init__(self, shm: ShmFile) -> None:
        self._counter = _ChangeCounter(shm)
        # The row each Commit handed in, with the revision it left: the stored row is made when
        # read (an application is read about twice per nine Commits).
        self._rows: dict[str, tuple[AppRow, int]] = {}
        self._mine: int | None = None  # the counter after the last commit, when all since were ours

    def get(self, app_id: str) -> AppRow | None:
        """The stored row of ``app_id`` when this store wrote it and nobody committed since."""
        now = self._counter.read()
        if now is None or now != self._mine:
            return None
        kept = self._rows.get(app_id)
        if kept is None:
            return None
        row, revision = kept
        return make_app_row(row.id, row.product_id, row.version, row.channel, row.status, row.due_at, revision,
                            row.state)

    def before_commit(self) -> int | None:
        """The counter, read while the store holds the write lock, before its COMMIT."""
        return self._counter.read()

    def committed(self, before: int | None, rows: list[tuple[AppRow, int]]) -> None:
        """After a COMMIT of ``rows`` (each a Commit's row and the revision it is stored at):
        keep them when that commit alone moved the counter (and the others kept only when it was
        the next after the store's last)."""
        after = self._counter.read()
        if before is None or after != (before + 1) & 0xFFFFFFFF:
            self.forget()
            return
        if before != self._mine or len(self._rows) + len(rows) > _LIMIT:
            self._mine = None  # first: a read under way must not match while the rows change
            self._rows = {}
        for kept in rows:
            self._rows[kept[0].id] = kept
        self._mine = after  # last: the rows are in place when a read can match

    def forget(self) -> None:
        self._mine = None
        self._rows = {}

    def close(self) -> None:
        self.forget()
