"""Handlers as Temporal activities: one activity is one attempt of one handler call.

The activity gets the :class:`StepCall` the core built (its idempotency key is
``<application>/<step>``, the same on every attempt and on every replay) and calls the handler
from the worker's :class:`Handlers` exactly as the embedded engine does (same timeout, same
business errors). How the attempt ended is the activity's result; the core decides on a retry.
A worker that dies in the middle of an attempt stops heartbeating, and Temporal runs the same
attempt again on another worker (same number, same key). A handler that is not registered
here fails the activity, which Temporal retries until a worker that has it takes it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging

from temporalio import activity

from .._call import Workers, attempt
from ..handlers import Handlers
from ._wire import answer_text, call_of
from ._workflow import CALL_ACTIVITY, HEARTBEAT

__all__ = ["Calls"]

log = logging.getLogger("productkit.runtime.temporal")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Calls:
    """The activity of a worker, over its handlers."""

    def __init__(self, handlers: Handlers) -> None:
        self.handlers = handlers
        self._workers = Workers()

    @activity.defn(name=CALL_ACTIVITY)
    async def call(self, payload: str) -> str:
        call, timeout = call_of(payload)
        fn = self.handlers.get(call.handler)
        if fn is None:
            raise RuntimeError(f"no handler {call.handler!r} on this worker for step {call.step_id} "
                               f"of {call.product_id}@{call.version}; another worker may have it")
        work = asyncio.ensure_future(asyncio.to_thread(
            functools.partial(attempt, fn, call, timeout, _now, self._workers)))
        while True:
            done, _ = await asyncio.wait({work}, timeout=HEARTBEAT.total_seconds() / 3)
            if done:
                return answer_text(work.result())
            activity.heartbeat()
