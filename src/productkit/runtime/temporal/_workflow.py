"""An application as a Temporal workflow: the decision core over a pinned definition.

The workflow holds the application's state, its step results and audit trail (Temporal's
history is what makes them durable) and feeds events to :func:`productkit.runtime.core.decide`:

* ``CallHandler``: one attempt is one activity (:mod:`._activities`); its answer is the next
  event. The backoff before the next attempt (``StartTimer(RETRY)``) is a durable timer.
* Waits and a staff step's due time are a durable timer on the state's earliest due time; when
  it fires the core gets ``Ticked``, as the embedded engine's ``tick()`` gives it.
* Screens are the ``submit`` Update, whose validator runs the embedded engine's checks of the
  submission: a refused submission is rejected before it is accepted, so it changes nothing and
  leaves no event in the history. ``cancel`` and ``advance`` (fire waits due by a time) are
  Updates too; the ``view`` query returns the state, the step rows and the audit rows.

Time is ``workflow.now()`` moved by a fixed offset: the channel service's clock when it started
the application minus the workflow's (zero but for the latency in production; a fake clock's
distance in tests), so every time the core sees is the one the embedded engine would see.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from .._codec import decode, encode
    from .._coerce import payload_problem
    from .._protocol import (
        CallHandler,
        CancelRequested,
        Command,
        Event,
        HandlerAnswered,
        RecordAudit,
        RecordStep,
        Started,
        StartTimer,
        Submitted,
        Ticked,
        TimerFired,
        TimerKind,
        awaiting,
        new_state,
    )
    from .._state import audit_row, step_row
    from ..core import decide
    from ..errors import EngineError
    from ..status import Canceller, Status
    from ..store import AuditRow, StepRow
    from ..views import FieldError
    from ._programs import pinned
    from ._wire import answer_of, call_text, errors_text, shifted, view_text

__all__ = ["CALL_ACTIVITY", "WORKFLOW", "ApplicationWorkflow", "activity_options"]

WORKFLOW = "productkit.Application"
CALL_ACTIVITY = "productkit.call"
# A worker lost in the middle of an attempt is noticed by its missing heartbeat; Temporal then
# runs that same attempt again (same number, same idempotency key), as recover() does.
HEARTBEAT = dt.timedelta(seconds=5)
_REDO = RetryPolicy(initial_interval=dt.timedelta(milliseconds=200), backoff_coefficient=2.0,
                    maximum_interval=dt.timedelta(seconds=5), maximum_attempts=0)
_NO_DEADLINE = dt.timedelta(days=7)  # a step without a timeout: how long one attempt may run


def activity_options(timeout: float | None) -> dict[str, Any]:
    """Temporal options of one attempt: the step's timeout (what is left of its budget) is the
    attempt's start-to-close timeout, with a second of grace for the worker to report it."""
    limit = _NO_DEADLINE if timeout is None else dt.timedelta(seconds=timeout + 1.0)
    return {"start_to_close_timeout": limit, "heartbeat_timeout": HEARTBEAT, "retry_policy": _REDO}


def _refuse(kind: str, message: str, details: str | None = None) -> ApplicationError:
    return ApplicationError(message, *([details] if details is not None else []), type=kind,
                            non_retryable=True)


@workflow.defn(name=WORKFLOW)
class ApplicationWorkflow:
    """One application, from start to end (see the module)."""

    @workflow.init
    def __init__(self, start: str) -> None:
        body = decode(start)
        self._key = f"{body['product_id']}@{body['version']}"
        self._digest: str = body["digest"]
        self._offset: dt.timedelta = body["at"] - workflow.now()
        self._skip_backoff = bool(body.get("skip_backoff"))
        self._state = new_state(body["id"], body["product_id"], body["version"], body["digest"],
                                body["channel"], body["at"], body["data"])
        self._steps: list[StepRow] = []
        self._audit: list[AuditRow] = []
        self._lock = asyncio.Lock()
        self._ready = False
        self._moves = 0  # events fed so far: the main loop re-arms its timer when it changes

    def _now(self) -> dt.datetime:
        return workflow.now() + self._offset

    @workflow.run
    async def run(self, start: str) -> str:
        found = pinned(self._digest, self._key)  # unknown: the task fails and waits
        self._program = found.program
        async with self._lock:
            await self._feed(Started(self._now()))
        self._ready = True
        while self._state.status != Status.ENDED:
            await self._wait_for_time_or_news()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return encode({"outcome": self._state.outcome, "reason": self._state.reason})

    async def _wait_for_time_or_news(self) -> None:
        due, moves = self._state.due(), self._moves
        if due is not None and due <= self._now():
            await self._fire(due)
            return
        timeout = None if due is None else (due - self._now()).total_seconds()
        try:
            await workflow.wait_condition(lambda: self._moves != moves, timeout=timeout)
        except TimeoutError:
            await self._fire(due)

    async def _fire(self, due: dt.datetime | None) -> None:
        async with self._lock:
            if due is not None and self._state.due() == due and self._state.status != Status.ENDED:
                now = self._now()
                await self._feed(Ticked(now, max(now, due)))

    # ------------------------------------------------------------ carrying out decisions

    async def _feed(self, event: Event) -> None:
        follow: Event | None = event
        while follow is not None:
            decision = decide(self._program, self._state, follow)
            self._state, follow = decision.state, None
            for command in decision.commands:
                follow = await self._do(command) or follow
        self._moves += 1

    async def _do(self, command: Command) -> Event | None:
        if isinstance(command, RecordStep):
            self._steps.append(step_row(self._state.id, command.record))
        elif isinstance(command, RecordAudit):
            self._audit.append(audit_row(self._state.id, command.event))
        elif isinstance(command, CallHandler):
            return await self._call(command)
        elif isinstance(command, StartTimer) and command.kind == TimerKind.RETRY:
            if not self._skip_backoff:
                await workflow.sleep(max(0.0, (command.due - self._now()).total_seconds()))
            return TimerFired(self._now(), TimerKind.RETRY, command.step_id, command.compensating)
        # Save: the history is the store. AwaitInput, End, wait timers: the state says them.
        return None

    async def _call(self, command: CallHandler) -> HandlerAnswered:
        text = await workflow.execute_activity(
            CALL_ACTIVITY, call_text(command.call, command.timeout), result_type=str,
            **activity_options(command.timeout))
        return shifted(answer_of(text), self._now(), self._offset)

    # ------------------------------------------------------------ the outside

    @workflow.update(name="settled")
    async def settled(self) -> str:
        """The application at its first pause or its end (what ``start`` returns)."""
        await workflow.wait_condition(lambda: self._ready and not self._lock.locked())
        return self.view()

    @workflow.update(name="submit")
    async def submit(self, payload: str) -> str:
        async with self._lock:
            step_id, values, code, errors = self._checked(payload)
            if errors:  # the state moved between the validator and here: refuse as it would
                raise _refuse("FieldErrors", "the submission was refused", errors_text(errors))
            await self._feed(Submitted(self._now(), step_id, values, code))
        return self.view()

    @submit.validator
    def _validate_submit(self, payload: str) -> None:
        self._not_busy()
        _step_id, _values, _code, errors = self._checked(payload)
        if errors:
            raise _refuse("FieldErrors", "the submission was refused", errors_text(errors))

    def _checked(self, payload: str) -> tuple[str, dict[str, object], str | None, list[FieldError]]:
        """The embedded engine's checks of a submission (InvalidState and the like refuse it)."""
        body = decode(payload)
        step_id, data, error = body["step_id"], body["data"], body["error"]
        found = pinned(self._digest, self._key)
        try:
            step = awaiting(found.version.definition, self._state, step_id)
            problem = payload_problem(data)
            if problem is not None:
                return step_id, {}, None, [FieldError("", "type", problem)]
            values, code, errors = found.checker._checked(found.version, self._state, step, data, error)
        except EngineError as exc:
            raise _refuse(type(exc).__name__, str(exc)) from None
        return step_id, values, code, errors

    def _not_busy(self) -> None:
        """Refuse while a step is under way (the embedded engine would wait for its lock; a
        channel service asks again when the application pauses)."""
        if not self._ready or self._lock.locked():
            raise _refuse("InvalidState", f"application {self._state.id} is busy with a step; "
                          "ask again when it pauses")

    @workflow.update(name="cancel")
    async def cancel(self, payload: str) -> str:
        async with self._lock:
            await self._feed(self._cancel_event(payload))
        return self.view()

    @cancel.validator
    def _validate_cancel(self, payload: str) -> None:
        self._not_busy()
        try:
            event = self._cancel_event(payload)
        except ValueError as exc:
            raise _refuse("InvalidArgument", str(exc)) from None
        try:  # the core decides whether it may be cancelled now: ask it, without acting
            decide(self._program, self._state, event)
        except EngineError as exc:
            raise _refuse(type(exc).__name__, str(exc)) from None

    def _cancel_event(self, payload: str) -> CancelRequested:
        body = decode(payload)
        return CancelRequested(self._now(), Canceller(body["by"]), body["reason"])

    @workflow.update(name="advance")
    async def advance(self, until: str) -> str:
        """Fire every wait and due time at or before ``until`` now, as ``Engine.tick(until)``."""
        moment = dt.datetime.fromisoformat(until)
        async with self._lock:
            due = self._state.due()
            if self._state.status in (Status.AWAITING_INPUT, Status.WAITING) and due is not None \
                    and due <= moment:
                await self._feed(Ticked(self._now(), moment))
        return self.view()

    @advance.validator
    def _validate_advance(self, until: str) -> None:
        try:
            moment = dt.datetime.fromisoformat(until)
        except ValueError:
            raise _refuse("InvalidArgument", f"advance() needs an ISO time, not {until!r}") from None
        if moment.utcoffset() is None:
            raise _refuse("InvalidArgument", f"advance() needs a timezone-aware time, not {until!r}")

    @workflow.query(name="view")
    def view(self) -> str:
        return view_text(self._state.to_row(), self._steps, self._audit)
