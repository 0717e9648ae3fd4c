"""Calling a handler: attempts, backoff on an injected sleeper, timeouts, plain or async."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import inspect
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .. import ir
from . import _durations
from .errors import BusinessError
from .handlers import Handler, HandlerResult, StepCall
from .views import Attempt

__all__ = ["Outcome", "Policy", "Workers", "invoke"]

Clock = Callable[[], dt.datetime]


class HandlerTimeout(Exception):
    """The handler did not answer within the step's timeout."""


@dataclass(frozen=True, slots=True)
class Policy:
    """Attempts, backoff and timeout of a step, in seconds."""

    attempts: int = 1
    backoff: float = 0.0
    multiplier: float = 2.0
    max_backoff: float | None = None
    timeout: float | None = None

    @classmethod
    def of(cls, step: ir.Step) -> Policy:
        r = step.retry or ir.Retry()
        return cls(attempts=max(1, r.max_attempts),
                   backoff=_durations.seconds(r.backoff) if r.backoff else 0.0,
                   multiplier=float(r.multiplier),
                   max_backoff=_durations.seconds(r.max_backoff) if r.max_backoff else None,
                   timeout=_durations.seconds(step.timeout) if step.timeout else None)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        wait = self.backoff * self.multiplier ** (attempt - 1)
        return min(wait, self.max_backoff) if self.max_backoff is not None else wait


@dataclass(slots=True)
class Outcome:
    result: Literal["ok", "business", "failed"]
    outputs: Mapping[str, object] = field(default_factory=dict)
    code: str | None = None
    message: str | None = None
    attempts: list[Attempt] = field(default_factory=list)


def invoke(fn: Handler, call_for: Callable[[int], StepCall], policy: Policy, clock: Clock,
           sleep: Callable[[float], None], workers: Workers | None = None) -> Outcome:
    """Call ``fn`` until it answers, raises a business error, or the attempts run out.

    ``policy.timeout`` is the step's time budget: every attempt and the backoff between them
    (as the interrupting timer on the task in the BPMN); each attempt gets what is left."""
    out = Outcome("failed")
    deadline = clock() + dt.timedelta(seconds=policy.timeout) if policy.timeout is not None else None
    for number in range(1, policy.attempts + 1):
        started, t0 = clock(), time.perf_counter()
        budget = None if deadline is None else (deadline - started).total_seconds()
        if budget is not None and budget <= 0:
            out.message = f"the step's timeout of {policy.timeout} s ran out before attempt {number}"
            break
        result: Literal["ok", "error", "timeout", "business"]
        error: str | None = None
        try:
            value = _once(fn, call_for(number), budget, workers)
            outputs = _outputs(value)
            result = "ok"
        except BusinessError as exc:
            result, error = "business", exc.code
            out.result, out.code, out.message = "business", exc.code, exc.message
        except (HandlerTimeout, TimeoutError):
            result, error = "timeout", f"no answer within {policy.timeout} s"
        except Exception as exc:
            result, error = "error", f"{type(exc).__name__}: {exc}"
        out.attempts.append(Attempt(number, started, clock(), time.perf_counter() - t0, result, error))
        if result == "ok":
            out.result, out.outputs = "ok", outputs
            return out
        if result == "business":
            return out
        out.message = error
        if number < policy.attempts:
            delay = policy.delay(number)
            if deadline is not None and clock() + dt.timedelta(seconds=delay) >= deadline:
                out.message = f"{error}; the step's timeout of {policy.timeout} s leaves no time to retry"
                break
            sleep(delay)
    return out


def _outputs(value: object) -> Mapping[str, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"the handler returned {type(value).__name__}, expected a mapping or None")
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
        if not task.done.wait(timeout):
            raise HandlerTimeout()
        if task.error is not None:
            raise task.error
        return task.value


class _Task:
    __slots__ = ("call", "context", "done", "error", "fn", "value")

    def __init__(self, fn: Callable[[Any], Any], call: StepCall, context: contextvars.Context) -> None:
        self.fn, self.call, self.context = fn, call, context
        self.done = threading.Event()
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
            task.done.set()
            self._pool.put(self)
