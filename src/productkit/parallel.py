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


def map_ordered(fn: Callable[[_T], _R], items: Sequence[_T], minimum: int = PARALLEL_MIN) -> list[_R]:
    """``[fn(item) for item in items]``, shared among forked workers when that pays."""
    workers = min(cores(), _MAX_WORKERS)
    if workers < 2 or len(items) < minimum or "fork" not in multiprocessing.get_all_start_methods():
        return [fn(item) for item in items]
    mp = multiprocessing.get_context("fork")
    children = []
    for w in range(1, workers):
        recv, send = mp.Pipe(duplex=False)
        proc = mp.Process(target=_work, args=(fn, items[w::workers], send), daemon=True)
        proc.start()
        send.close()
        children.append((recv, proc))
    try:
        shares = [[fn(item) for item in items[0::workers]]]
        for recv, proc in children:
            shares.append(_collect(recv))
            proc.join()
    finally:
        for _, proc in children:
            if proc.is_alive():
                proc.terminate()
    out: list[_R] = [None] * len(items)  # type: ignore[list-item]
    for w, share in enumerate(shares):
        out[w::workers] = share
    return out


def _work(fn: Callable[[_T], _R], items: Sequence[_T], conn: Any) -> None:
    # one message per result: neither side ever holds a whole share's results serialised at once
    try:
        for item in items:
            conn.send(("ok", fn(item)))
        conn.send(("done", None))
    except BaseException as exc:  # handed to the parent, which raises it
        conn.send(("error", exc))
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
