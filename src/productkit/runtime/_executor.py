"""The embedded executor: carries out the decision core's commands in this process, over a Store.

It feeds one event to :func:`productkit.runtime.core.decide`, commits each ``Save`` with the
rows recorded since the last one (one store transaction per step), calls the handler a
``CallHandler`` names and feeds its answer back, and waits out a retry's backoff through the
injected ``sleep`` after the core saved the due retry.

A ``Save`` is committed when something outside the process is next done (a handler called, a
backoff waited) and when the run returns to the caller, so Saves that follow one another with
nothing done in between (an application started and paused at its first screen; a last step
and the end) are one transaction: the later state with the rows of both. Nothing is called
before what led to it is committed, and nothing is returned before it is committed. Timers of
waits and staff steps need nothing here: the committed row's due time is the timer,
``Engine.tick()`` fires it.

A handler registered as ``local`` (a workflow engine's local activity, see
:mod:`productkit.runtime.handlers`) is the one exception: it runs in this process on the caller's
thread and is called without committing first; its result is committed with the next durable
write (before another handler is called, a backoff is waited, or the run returns). A crash
before that write loses the call's result with everything since the last commit: nothing of it
was acknowledged, and continuing from the last commit calls it again with the same idempotency
key, as a crash during any attempt does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from ._call import Workers, attempt
from ._protocol import (
    CallHandler,
    Command,
    Event,
    Program,
    RecordAudit,
    RecordStep,
    Save,
    StartTimer,
    TimerFired,
    TimerKind,
)
from ._state import WRITER, AppState, RecentStates, audit_row, step_row
from .core import decide
from .errors import HandlerMissing
from .handlers import Handlers
from .store import AuditRow, Commit, Kept, StepRow, Store, Writer
from .views import AuditEvent, StepRecord

__all__ = ["Ctx", "Executor"]


# MemoryStore.keep: the state, the revision read, the step records and audit events, the writer.
Keep = Callable[[Kept, int, Sequence[StepRecord], Sequence[AuditEvent], Writer], None]


@dataclass(frozen=True, slots=True)
class Ctx:
    """What the engine lends each executor."""

    handlers: Handlers
    store: Store
    clock: Callable[[], dt.datetime]
    sleep: Callable[[float], None]
    workers: Workers | None = None
    recent: RecentStates | None = None  # told the last state each run committed
    # A store that keeps the objects themselves (MemoryStore.keep): nothing is encoded for it.
    keep: Keep | None = None


class Executor:
    """One application being advanced, under the engine's lock for it."""

    def __init__(self, ctx: Ctx, key: str, program: Program, state: AppState) -> None:
        self.ctx, self.key, self.program, self.state = ctx, key, program, state
        self.revision = state.revision
        self._keep = ctx.keep
        # Rows to commit, or for a store that keeps objects the records and events themselves.
        self._steps: list[StepRow | StepRecord] = []
        self._audit: list[AuditRow | AuditEvent] = []
        # The last Save not committed yet, with how many of the rows recorded belong to it.
        self._saved: tuple[AppState, int, int] | None = None
        # The last state committed, with its text, for the engine's RecentStates once the run
        # is over (the states committed before it in the same run are never read back).
        self._committed: tuple[str, AppState] | None = None

    def run(self, event: Event) -> bool:
        """Decide on ``event`` and carry it out, with the handler answers and retry timers that
        follow, until the application waits for the outside; False when nothing happened."""
        acted = False
        follow: Event | None = event
        steps, audit, keep = self._steps, self._audit, self._keep is not None
        try:
            while follow is not None:
                decision = decide(self.program, self.state, follow)
                self.state, follow = decision.state, None
                acted = acted or bool(decision.commands)
                for command in decision.commands:
                    kind = type(command)  # the commands of every step inline, the rest in _do
                    if kind is RecordStep:
                        record = command.record  # type: ignore[union-attr]
                        steps.append(record if keep else step_row(self.state.id, record))
                    elif kind is RecordAudit:
                        audited = command.event  # type: ignore[union-attr]
                        audit.append(audited if keep else audit_row(self.state.id, audited))
                    elif kind is Save:
                        self._saved = (command.state, len(steps), len(audit))  # type: ignore[union-attr]
                    else:
                        follow = self._do(command) or follow
                        steps, audit = self._steps, self._audit  # a commit hands over what it took
        finally:
            try:
                self._flush()  # nothing returns (or raises) to the caller before it is committed
            finally:
                self._remember()
        return acted

    def _remember(self) -> None:
        """Tell the engine's RecentStates the state this run committed last."""
        if self._committed is not None and self.ctx.recent is not None:
            text, state = self._committed
            self.ctx.recent.put(text, state, self.revision)
        self._committed = None

    def _do(self, command: Command) -> Event | None:
        """Carry out a command other than the records and Saves :meth:`run` keeps; the event it
        leads to, if any."""
        kind = type(command)
        if kind is CallHandler:
            if not self.ctx.handlers.local(command.call.handler):  # type: ignore[union-attr]
                self._flush()  # a handler is called only once what led to the call is committed
            return self._call(command)  # type: ignore[arg-type]
        if isinstance(command, StartTimer) and command.kind == TimerKind.RETRY:
            self._flush()  # the due retry is stored before the backoff
            return self._backoff(command)
        # AwaitInput, End and the other timers: the committed status and due time say them.
        return None

    def _flush(self) -> None:
        """Commit the last Save with the rows recorded up to it (rows recorded after it wait
        for the next Save)."""
        if self._saved is None:
            return
        state, steps, audit = self._saved
        self._saved = None
        if self._keep is not None:
            self._kept(state, steps, audit)
            return
        taken, told = cast(list[StepRow], self._steps), cast(list[AuditRow], self._audit)
        if steps == len(taken) and audit == len(told):  # the common case: nothing recorded after the Save
            rows = Commit(state.to_row(), self.revision, tuple(taken), tuple(told))
            self._steps, self._audit = [], []
        else:
            rows = Commit(state.to_row(), self.revision, tuple(taken[:steps]), tuple(told[:audit]))
            self._steps, self._audit = self._steps[steps:], self._audit[audit:]
        try:
            self.ctx.store.commit(rows)
        except BaseException:
            self._committed = None
            if self.ctx.recent is not None:  # the row may hold anything now: read it back from the store
                self.ctx.recent.forget(state.id)
            raise
        self.revision += 1
        self._committed = (rows.app.state, state)

    def _kept(self, state: AppState, steps: int, audit: int) -> None:
        """:meth:`_flush` for a store that keeps objects: ``state`` is the Save's own copy,
        which nobody changes once it is kept."""
        rows, events = self._steps, self._audit
        if steps == len(rows) and audit == len(events):  # the common case: nothing recorded after the Save
            self._steps, self._audit = [], []
        else:
            rows, events = rows[:steps], events[:audit]
            del self._steps[:steps], self._audit[:audit]
        state.revision = self.revision + 1
        self._keep(state, self.revision, rows, events, WRITER)  # type: ignore[arg-type,misc]
        self.revision += 1

    def _call(self, command: CallHandler) -> Event:
        call = command.call
        fn = self.ctx.handlers.get(call.handler)
        if fn is None:
            raise HandlerMissing(f"no handler {call.handler!r} for step {call.step_id} of {self.key}; "
                                 f"application {call.application_id} waits at its last committed step")
        return attempt(fn, call, command.timeout, self.ctx.clock, self.ctx.workers,
                       inline=self.ctx.handlers.inline(call.handler))

    def _backoff(self, command: StartTimer) -> Event:
        """Wait until the retry is due (it is stored already), then fire it."""
        self.ctx.sleep(max(0.0, (command.due - self.ctx.clock()).total_seconds()))
        return TimerFired(self.ctx.clock(), TimerKind.RETRY, command.step_id, command.compensating)
