"""Independent per-product work spread over the machine's cores, results in order.

Checking, compiling and emitting one product is CPU-bound and independent of every other
product, so on a multi-core machine forked workers (which inherit the loaded catalogue, so only
results travel back) take a share each and the calling process takes the first share itself.
Forking is used only where the platform has it; elsewhere, and for little work, the items are
done in this process. A worker that raises hands the exception to the caller, which raises it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["PARALLEL_MIN", "cores", "map_ordered"]

_T = TypeVar("_T")
_R = TypeVar("_R")

PARALLEL_MIN = 40  # items; below this a forked worker costs more than it saves
_MAX_WORKERS = 4


def cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def map_ordered(fn: Callable[[_T], _R], items: Sequence[_T], minimum: int = PARALLEL_MIN,
                own: float | None = None) -> list[_R]:
    """``[fn(item) for item in items]``, shared among forked workers when that pays. A process
    running other threads (a language server) is never forked: a child could inherit a lock
    another thread held.

    The items are dealt out in turn (neighbours are often alike in cost); ``own``: the fraction
    of the items (the first ones) this process keeps, when sending a result back costs the
    worker a good part of making it (the rest are dealt out among the workers)."""
    workers = min(cores(), _MAX_WORKERS)
    if (workers < 2 or len(items) < minimum or "fork" not in multiprocessing.get_all_start_methods()
            or threading.active_count() > 1):
        return [fn(item) for item in items]
    if own is None:  # dealt out in turn
        kept = [i for i in range(len(items)) if i % workers == 0]
        rest = [i for i in range(len(items)) if i % workers != 0]
    else:  # the first ``own`` of them here
        cut = round(own * len(items))
        kept, rest = list(range(cut)), list(range(cut, len(items)))
    places = [kept, *(rest[w::workers - 1] for w in range(workers - 1))]
    shares = _shared(fn, [[items[i] for i in share] for share in places])
    out: list[_R] = [None] * len(items)  # type: ignore[list-item]
    for share, results in zip(places, shares, strict=True):
        for i, result in zip(share, results, strict=True):
            out[i] = result
    return out


def _shared(fn: Callable[[_T], _R], shares: list[list[_T]]) -> list[list[_R]]:
    """The results of the first share, made here, and of each other share, made by a forked worker."""
    mp = multiprocessing.get_context("fork")
    children = []
    for share in shares[1:]:
        recv, send = mp.Pipe(duplex=False)
        proc = mp.Process(target=_work, args=(fn, share, send), daemon=True)
        proc.start()
        send.close()
        children.append((recv, proc))
    # Each child's results are read as they come, while this process works on its own share:
    # a child never waits on a full pipe.
    readers = [_Reader(recv) for recv, _ in children]
    try:
        results = [[fn(item) for item in shares[0]]]
        for reader, (_, proc) in zip(readers, children, strict=True):
            results.append(reader.result())
            proc.join()
    finally:
        for _, proc in children:
            if proc.is_alive():
                proc.terminate()
    return results


class _Reader:
    """A thread receiving one child's results as they are sent."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._out: list[Any] = []
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._out = _collect(self._conn)
        except BaseException as exc:  # raised in the caller's thread by result()
            self._failure = exc

    def result(self) -> list[Any]:
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        return list(self._out)


def _work(fn: Callable[[_T], _R], items: Sequence[_T], conn: Any) -> None:
    # one message per result: neither side ever holds a whole share's results serialised at once
    try:
        for item in items:
            conn.send(("ok", fn(item)))
        conn.send(("done", None))
    except BaseException as exc:  # handed to the parent, which raises it
        try:
            conn.send(("error", exc))
        except Exception:  # an exception that does not pickle: its text, with the traceback
            conn.send(("error", RuntimeError("".join(traceback.format_exception(exc)))))
    finally:
        conn.close()


def _collect(conn: Any) -> list[Any]:
    out: list[Any] = []
    while True:
        try:
            status, payload = conn.recv()
        except EOFError:
            raise RuntimeError("a worker process ended without its results") from None
        if status == "error":
            raise payload
        if status == "done":
            return out
        out.append(payload)
