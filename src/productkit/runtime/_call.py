"""Calling a handler once: plain or async, under a timeout, on reused worker threads."""

from __future__ import annotations

import _thread
import asyncio
import contextvars
import datetime as dt
import inspect
import logging
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ._protocol import HandlerAnswered, build_handler_answered
from .errors import BusinessError
from .handlers import Handler, HandlerResult, StepCall
from .status import AttemptResult
from .views import build_attempt

__all__ = ["HandlerTimeout", "Workers", "attempt"]

Clock = Callable[[], dt.datetime]
_OK = AttemptResult.OK  # bound once: a member read through its enum class costs a hook call (see _machine)
log = logging.getLogger("productkit.runtime")


class HandlerTimeout(Exception):
    """The handler did not answer within the step's timeout."""


def attempt(fn: Handler, call: StepCall, timeout: float | None, clock: Clock,
            workers: Workers | None = None, *, inline: bool = False) -> HandlerAnswered:
    """Call ``fn`` once with at most ``timeout`` seconds; how it ended, as the core's event.

    A business error is reported with its code, a timeout or any other exception as a failed
    attempt; retrying is the core's decision, waiting between attempts the executor's.
    ``inline``: a plain ``fn`` is called on this thread, where it cannot be timed out; its
    answer, if later than ``timeout``, counts as a timeout (and is logged)."""
    started, t0 = clock(), time.perf_counter()
    outputs: Mapping[str, object] = {}
    code = message = error = None
    result = _OK
    try:
        if inline and timeout is not None:  # an async fn's coroutine is awaited with what is left
            value = _inline(fn, call, timeout, t0)
            outputs = value if type(value) is dict else _outputs(value)  # a dict: the common answer
        else:
            outputs = _outputs(_once(fn, call, timeout, workers))
    except BusinessError as exc:
        result, error, code, message = AttemptResult.BUSINESS, exc.code, exc.code, exc.message
    except (HandlerTimeout, TimeoutError):
        result, error = AttemptResult.TIMEOUT, f"no answer within {timeout} s"
    except Exception as exc:
        result, error = AttemptResult.ERROR, f"{type(exc).__name__}: {exc}"
    finished = clock()
    record = build_attempt(call.attempt, started, finished, time.perf_counter() - t0, result, error)
    return build_handler_answered(finished, call.step_id, call.compensating, record, outputs, code, message)


def _outputs(value: object) -> Mapping[str, object]:
    if value is None:
        return {}
    if type(value) is not dict and not isinstance(value, Mapping):
        raise TypeError(f"the handler returned {type(value).__name__}, expected a mapping or None")
    return value


def _inline(fn: Handler, call: StepCall, timeout: float, t0: float) -> HandlerResult:
    """``fn(call)`` on this thread; HandlerTimeout when it answered after ``timeout``."""
    value = fn(call)
    if type(value) is not dict and inspect.isawaitable(value):  # a dict, the common answer, is not
        return _await(value, max(0.0, timeout - (time.perf_counter() - t0)))
    took = time.perf_counter() - t0
    if took > timeout:  # it cannot be given up while it runs (the module's docstring): say so
        log.warning("inline handler %r for step %s of application %s answered after %.3f s, past "
                    "its timeout of %s s; an inline handler cannot be timed out", call.handler,
                    call.step_id, call.application_id, took, timeout)
        raise HandlerTimeout()
    return value


def _once(fn: Handler, call: StepCall, timeout: float | None, workers: Workers | None = None) -> HandlerResult:
    if inspect.iscoroutinefunction(fn):
        return _await(fn(call), timeout)
    if timeout is None:
        value = fn(call)
    elif workers is not None:
        value = workers.run(fn, call, timeout)
    else:
        value = _in_thread(fn, call, timeout)
    if inspect.isawaitable(value):
        return _await(value, timeout)
    return value


def _await(awaitable: Awaitable[HandlerResult], timeout: float | None) -> HandlerResult:
    async def main() -> HandlerResult:
        if timeout is None:
            return await awaitable
        return await asyncio.wait_for(awaitable, timeout)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    # Called from inside an event loop (an async channel service): use a loop of our own.
    value: HandlerResult = _in_thread(lambda _call: asyncio.run(main()), None, None)
    return value


def _in_thread(fn: Callable[[Any], Any], call: StepCall | None, timeout: float | None) -> Any:
    """Run ``fn(call)`` on a daemon thread; HandlerTimeout if it is still running at ``timeout``.

    A timed-out call is abandoned, not killed: the idempotency key makes its late effect safe."""
    box: dict[str, Any] = {}
    context = contextvars.copy_context()

    def target() -> None:
        try:
            box["value"] = context.run(fn, call)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="productkit-handler", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise HandlerTimeout()
    if "error" in box:
        raise box["error"]
    value: Any = box.get("value")
    return value


class Workers:
    """Threads that run handler calls under a timeout, reused from call to call.

    Starting a thread per call cost more than the engine's own work; a call handed to an idle
    worker costs two queue operations. A call that times out is abandoned with its thread (the
    idempotency key makes its late effect safe); the next call is given another thread, so a
    hung handler never blocks the rest."""

    def __init__(self) -> None:
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()

    def run(self, fn: Callable[[Any], Any], call: StepCall, timeout: float) -> Any:
        try:
            worker = self._idle.get_nowait()
        except queue.Empty:
            worker = _Worker(self._idle)
            worker.start()
        task = _Task(fn, call, contextvars.copy_context())
        worker.inbox.put(task)
        if not task.done.acquire(timeout=timeout):
            raise HandlerTimeout()
        if task.error is not None:
            raise task.error
        return task.value


class _Task:
    __slots__ = ("call", "context", "done", "error", "fn", "value")

    def __init__(self, fn: Callable[[Any], Any], call: StepCall, context: contextvars.Context) -> None:
        self.fn, self.call, self.context = fn, call, context
        self.done = _thread.allocate_lock()  # held until the worker is done: cheaper than an Event
        self.done.acquire()
        self.value: Any = None
        self.error: BaseException | None = None


class _Worker(threading.Thread):
    def __init__(self, idle: queue.SimpleQueue[_Worker]) -> None:
        super().__init__(name="productkit-handler", daemon=True)
        self.inbox: queue.SimpleQueue[_Task] = queue.SimpleQueue()
        self._pool = idle

    def run(self) -> None:
        while True:
            task = self.inbox.get()
            try:
                task.value = task.context.run(task.fn, task.call)
            except BaseException as exc:
                task.error = exc
            task.done.release()
            self._pool.put(self)
