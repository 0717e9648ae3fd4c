"""The decision core's state machine: one event applied to a copy of an application's state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..ir import (
    APPLICATION_DATE_VARIABLE,
    CHANNEL_VARIABLE,
    FAILED_CODE,
    OUTCOME_VARIABLE,
    ErrorRoute,
    Label,
    Step,
)
from ._coerce import coerced, owned, owned_from, storable
from ._durations import add
from ._expr import holds
from ._flow import precedes, walk
from ._protocol import (
    AwaitInput,
    CallHandler,
    CancelRequested,
    CancelTimer,
    Command,
    End,
    Event,
    HandlerAnswered,
    Program,
    Resumed,
    Started,
    StartTimer,
    Submitted,
    Ticked,
    TimerFired,
    TimerKind,
    awaiting,
    build_call_handler,
    build_record_audit,
    build_record_step,
    build_save,
    call_key,
)
from ._state import AppState, attempt_of, attempt_row
from ._values import Problem
from .errors import ConditionError, InvalidArgument, InvalidState
from .handlers import StepCall, build_step_call
from .status import (
    ACTIVE,
    PAUSED,
    AttemptResult,
    AuditKind,
    Canceller,
    Outcome,
    RecordKind,
    Status,
    StepStatus,
)
from .views import Attempt, build_audit_event, build_step_record

__all__ = ["Machine"]


# The enum members the core reads, bound once: reading a member through its class goes through
# the enum metaclass's __getattr__ hook (Python 3.11), about 650 machine instructions a read
# against a few for a module constant, and the core reads a hundred per application.
_STEP_ABANDONED = StepStatus.ABANDONED
_STEP_BYPASSED = StepStatus.BYPASSED
_STEP_COMPENSATED = StepStatus.COMPENSATED
_STEP_COMPENSATION_FAILED = StepStatus.COMPENSATION_FAILED
_STEP_DONE = StepStatus.DONE
_STEP_ERROR = StepStatus.ERROR
_STEP_FAILED = StepStatus.FAILED
_STEP_SKIPPED = StepStatus.SKIPPED
_APP_AWAITING_INPUT = Status.AWAITING_INPUT
_APP_COMPENSATING = Status.COMPENSATING
_APP_ENDED = Status.ENDED
_APP_FINISHING = Status.FINISHING
_APP_RUNNING = Status.RUNNING
_APP_WAITING = Status.WAITING
_TRY_BUSINESS = AttemptResult.BUSINESS
_TRY_ERROR = AttemptResult.ERROR
_TRY_OK = AttemptResult.OK
_TRY_TIMEOUT = AttemptResult.TIMEOUT
_AUDIT_AWAITING_INPUT = AuditKind.AWAITING_INPUT
_AUDIT_CANCELLED = AuditKind.CANCELLED
_AUDIT_COMPENSATED = AuditKind.COMPENSATED
_AUDIT_COMPENSATION_FAILED = AuditKind.COMPENSATION_FAILED
_AUDIT_ENDED = AuditKind.ENDED
_AUDIT_GOTO = AuditKind.GOTO
_AUDIT_NONCRITICAL_FAILURE = AuditKind.NONCRITICAL_FAILURE
_AUDIT_STARTED = AuditKind.STARTED
_AUDIT_SUBMITTED = AuditKind.SUBMITTED
_AUDIT_WAITING = AuditKind.WAITING
_AUDIT_WAIT_OVER = AuditKind.WAIT_OVER
_RECORD_COMPENSATION = RecordKind.COMPENSATION
_RECORD_STEP = RecordKind.STEP
_OUTCOME_CANCELLED = Outcome.CANCELLED
_OUTCOME_COMPLETED = Outcome.COMPLETED
_OUTCOME_FAILED = Outcome.FAILED
_TIMER_DUE = TimerKind.DUE
_TIMER_RETRY = TimerKind.RETRY
_TIMER_WAIT = TimerKind.WAIT


@dataclass(slots=True)
class _Result:
    """How a handler call ended, over all its attempts."""

    result: AttemptResult  # OK, BUSINESS, or ERROR for a failure
    outputs: Mapping[str, object] = field(default_factory=dict)
    code: str | None = None
    message: str | None = None
    attempts: tuple[Attempt, ...] = ()


_FINAL = frozenset({_TRY_OK, _TRY_BUSINESS})  # attempts no retry follows
_GOING = frozenset({_APP_RUNNING, _APP_COMPENSATING, _APP_FINISHING})  # what advance() drives


def _outcome(text: str) -> Outcome:
    """An outcome the definition names; builds name only known ones, so another one (a
    definition written by hand) ends the application failed rather than stopping it."""
    try:
        return Outcome(text)
    except ValueError:
        return _OUTCOME_FAILED


def _own(values: Mapping[str, object] | None) -> dict[str, object]:
    """``values`` as a record's dict. A dict is kept as it is: the ones a record gets (a call's
    inputs and the outputs written, built for it; a submission's values; what was saved to undo)
    are only read from then on, like the record itself."""
    if type(values) is dict:
        return values
    return {} if values is None else dict(values)


class Machine:
    """One decision: changes ``state`` and appends to ``out``.

    Copy on write: the state it is given, and each state a :class:`Save` holds, is never
    changed. A Save holds ``state`` itself, and the machine copies it only where it goes on
    after a Save (:meth:`own`: at each turn of :meth:`advance` and of :meth:`_fire`, the only
    places a step starts after one), so the last Save of a decision is not copied at all."""

    def __init__(self, program: Program, state: AppState, at: dt.datetime) -> None:
        self.program, self.defn, self.state, self.at = program, program.plain(), state, at
        self.out: list[Command] = []
        self.suspended = False  # a handler's answer or a retry timer is awaited
        self._day: dt.date | None = None
        self._shared = True  # ``state`` is the one given or the one the last Save holds

    def own(self) -> None:
        """Make ``state`` a copy of its own before it is changed, if it is shared."""
        if self._shared:
            self.state = self.state.copy()
            self._shared = False

    def handle(self, event: Event) -> None:
        self.own()  # the state given: every event changes it (or raises)
        if type(event) is HandlerAnswered:  # most events: answers of handler calls
            self._answered(event)
            return
        match event:
            case Started():
                st = self.state
                self.audit(_AUDIT_STARTED, product=f"{st.product_id}@{st.version}",
                           channel=st.channel, digest=st.digest)
                self.save()  # the application exists before any handler is called
                self.advance()
            case Resumed():
                self.advance()
            case Submitted():
                self._submitted(event)
            case Ticked():
                self._fire(self._due(event.until))
            case TimerFired():
                self._timer(event)
            case HandlerAnswered():
                self._answered(event)
            case CancelRequested():
                self._cancel(event)

    # ------------------------------------------------------------ bookkeeping

    def audit(self, kind: AuditKind, step_id: str | None = None, **detail: object) -> None:
        self.state.seq += 1
        self.out.append(build_record_audit(build_audit_event(self.state.seq, self.at, kind, step_id, detail)))

    def record(self, step_id: str, status: StepStatus, *, compensation: bool = False,
               result: _Result | None = None, detail: str | None = None,
               inputs: Mapping[str, object] | None = None,
               outputs: Mapping[str, object] | None = None) -> None:
        kind = _RECORD_COMPENSATION if compensation else _RECORD_STEP
        self.out.append(build_record_step(build_step_record(
            step_id, kind, status, self.at, _own(inputs), _own(outputs),
            result.attempts if result else (), detail)))

    def save(self) -> None:
        """The state so far, to commit; it is not changed from here on (see the class)."""
        self.state.updated = self.at
        self.out.append(build_save(self.state))
        self._shared = True

    def suspend(self, command: CallHandler | StartTimer) -> None:
        self.out.append(command)
        self.suspended = True

    @property
    def day(self) -> dt.date:
        """The application date: its start time's date on the business calendar's clock."""
        if self._day is None:  # the start time never changes: one reading per decision
            self._day = self.program.business_date(self.state.created)
        return self._day

    def env(self) -> dict[str, object]:
        return {**self.program.parameters_on(self.day), **self.state.data,
                CHANNEL_VARIABLE: self.state.channel,
                APPLICATION_DATE_VARIABLE: self.day}

    # ------------------------------------------------------------ driving

    def advance(self) -> None:
        """Run steps until the application pauses, ends, or awaits a handler or a retry."""
        while not self.suspended:
            status = self.state.status
            if status not in _GOING:
                return
            self.own()  # each turn may follow a Save
            if status == _APP_RUNNING:
                if not self._progress():
                    self._pause()
            elif status == _APP_COMPENSATING:
                self._compensate_next()
            else:
                self._finally_next()

    def _progress(self) -> bool:
        st = self.state
        front = self.program.frontier(st.finished)
        if not front:
            self._end(_OUTCOME_COMPLETED, None, None)
            return True
        for sid in front:
            step = self.defn.steps[sid]
            if sid not in st.entered:
                if self._enter(step):
                    return True
            elif step.kind == "wait" and st.timers[sid] <= self.at:
                self._finish_wait(step)
                return True
        return False

    def _enter(self, step: Step) -> bool:
        """Start a step; True when it finished, ended the application or awaits a handler."""
        st = self.state
        if step.id in st.calls:  # the engine stopped during this step's call
            self._continue_call(step, False)
            return True
        if st.channel not in step.channels:
            return self._skip(step, f"not on channel {st.channel}")
        if step.when is not None:
            holding = self._condition(step)
            if holding is None:
                return True
            if not holding:
                return self._skip(step, f"condition {step.when.cel} is false")
        if step.kind == "end":
            return self._enter_end(step)
        if step.kind == "service":
            self._start_call(step, False)
            return True
        return self._enter_user(step) if step.kind == "user" else self._enter_wait(step)

    def _condition(self, step: Step) -> bool | None:
        """Whether the step's condition holds; None when it cannot say (the application failed)."""
        assert step.when is not None
        try:
            return holds(step.when, self.env(), self.defn.derived)
        except ConditionError as exc:
            self.record(step.id, _STEP_FAILED, detail=str(exc))
            self._end(_OUTCOME_FAILED, None, f"condition of step {step.id}: {exc.reason}")
            return None

    def _skip(self, step: Step, why: str) -> bool:
        self.state.finished[step.id] = _STEP_SKIPPED
        self.record(step.id, _STEP_SKIPPED, detail=why)
        return True

    def _enter_end(self, step: Step) -> bool:
        self.state.finished[step.id] = _STEP_DONE
        self.record(step.id, _STEP_DONE, detail=f"outcome {step.outcome}")
        self._end(_outcome(step.outcome or _OUTCOME_COMPLETED), step.message, f"end step {step.id}")
        return True

    def _enter_user(self, step: Step) -> bool:
        st = self.state
        st.entered.append(step.id)
        if step.timeout:  # a task that must be worked within a time, e.g. a manual approval
            st.timers[step.id] = add(self.at, step.timeout)
            self.out.append(StartTimer(_TIMER_DUE, step.id, st.timers[step.id]))
        self.audit(_AUDIT_AWAITING_INPUT, step.id, actor=step.actor)
        self.out.append(AwaitInput(step.id, step.actor))
        return False

    def _enter_wait(self, step: Step) -> bool:
        st = self.state
        st.timers[step.id] = due = add(self.at, step.duration or "PT0S")
        st.entered.append(step.id)
        self.audit(_AUDIT_WAITING, step.id, due=due)
        if due > self.at:
            self.out.append(StartTimer(_TIMER_WAIT, step.id, due))
            return False
        self._finish_wait(step)
        return True

    def _finish_wait(self, step: Step) -> None:
        st = self.state
        due = st.timers.pop(step.id)
        st.entered.remove(step.id)
        st.finished[step.id] = _STEP_DONE
        self.record(step.id, _STEP_DONE, detail=f"due {due.isoformat()}")
        self.audit(_AUDIT_WAIT_OVER, step.id, due=due)
        self.save()

    def _pause(self) -> None:
        st = self.state
        users = [s for s in st.pending() if self.defn.steps[s].kind == "user"]
        st.status = _APP_AWAITING_INPUT if users else _APP_WAITING
        self.save()

    # ------------------------------------------------------------ handler calls

    def _start_call(self, step: Step, compensating: bool) -> None:
        budget = self.program.budget(step)
        deadline = self.at + budget if budget is not None else None
        call: dict[str, Any] = {"attempts": [], "deadline": deadline, "due": None}
        self.state.calls[call_key(step.id, compensating)] = call
        self._attempt(step, compensating, call)

    def _continue_call(self, step: Step, compensating: bool) -> None:
        """A call the engine stopped in: wait what is left of its backoff, then try again."""
        due = self.state.calls[call_key(step.id, compensating)]["due"]
        if due is not None and due > self.at:
            self.suspend(StartTimer(_TIMER_RETRY, step.id, due, compensating))
        else:
            self._attempt(step, compensating)

    def _attempt(self, step: Step, compensating: bool, call: dict[str, Any] | None = None) -> None:
        if call is None:
            call = self.state.calls[call_key(step.id, compensating)]
        number, deadline = len(call["attempts"]) + 1, call["deadline"]
        budget = None if deadline is None else (deadline - self.at).total_seconds()
        if budget is not None and budget <= 0:
            message = (f"the step's timeout of {self.program.policy(step).timeout} s ran out before "
                       f"attempt {number}")
            self._finish_call(step, compensating, _Result(_TRY_ERROR, message=message))
            return
        self.suspend(build_call_handler(self._call_for(step, compensating, number), budget))

    def _call_for(self, step: Step, compensating: bool, number: int) -> StepCall:
        st = self.state
        if compensating:
            saved = st.undo.get(step.id, {})
            handler = step.compensation.handler if step.compensation else ""
            inputs, outputs = owned(saved.get("inputs", {})), owned(saved.get("outputs", {}))
        else:  # the handler's own copies: what it changes is not the application's
            handler, inputs, outputs = step.handler or "", owned_from(st.data, step.inputs), {}
        key = call_key(step.id, compensating)
        params = self.program.step_parameters(step, self.day)
        return build_step_call(st.id, st.product_id, st.version, st.channel, step.id, handler,
                               step.component, inputs, params, f"{st.id}/{key}", number, compensating,
                               outputs)

    def _inputs(self, step: Step) -> dict[str, object]:
        data = self.state.data
        return {c: data[d] for c, d in step.inputs.items() if d in data}

    def _answered(self, ev: HandlerAnswered) -> None:
        st, key = self.state, call_key(ev.step_id, ev.compensating)
        step, call = self.defn.steps.get(ev.step_id), st.calls.get(key)
        if step is None or call is None or st.status not in ACTIVE:
            raise InvalidState(f"application {st.id} awaits no answer from {key}")
        attempt = ev.attempt
        if attempt.result == _TRY_TIMEOUT:  # the wording names the step's whole budget
            attempt = replace(attempt, error=f"no answer within {self.program.policy(step).timeout} s")
        first = not call["attempts"]
        if not first or attempt.result not in _FINAL:  # else the call ends with this attempt alone
            call["attempts"] = [*call["attempts"], attempt_row(attempt)]
        if attempt.result == _TRY_OK:
            out = _Result(_TRY_OK, ev.outputs)
        elif attempt.result == _TRY_BUSINESS:
            out = _Result(_TRY_BUSINESS, code=ev.code, message=ev.message)
        elif self._retry(step, ev.compensating, attempt):
            return
        else:
            out = _Result(_TRY_ERROR, message=self._failure(step, attempt))
        if first:  # the first attempt: the one just answered, as it is
            out.attempts = (attempt,)
        self._finish_call(step, ev.compensating, out)
        self.advance()

    def _retry(self, step: Step, compensating: bool, attempt: Attempt) -> bool:
        """Save the due retry and start its timer; False when no attempt is left or fits."""
        policy, call = self.program.policy(step), self.state.calls[call_key(step.id, compensating)]
        if attempt.number >= policy.attempts:
            return False
        due = self.at + dt.timedelta(seconds=policy.delay(attempt.number))
        if call["deadline"] is not None and due >= call["deadline"]:
            return False
        call["due"] = due
        self.save()  # durable before the backoff: a crash now resumes with the next attempt
        self.suspend(StartTimer(_TIMER_RETRY, step.id, due, compensating))
        return True

    def _failure(self, step: Step, attempt: Attempt) -> str | None:
        policy = self.program.policy(step)
        if attempt.number >= policy.attempts:
            return attempt.error
        return f"{attempt.error}; the step's timeout of {policy.timeout} s leaves no time to retry"

    def _finish_call(self, step: Step, compensating: bool, out: _Result) -> None:
        call = self.state.calls.pop(call_key(step.id, compensating))
        if not out.attempts:
            out.attempts = tuple(attempt_of(a) for a in call["attempts"])
        if compensating:
            self._compensated(step, out)
        else:
            self._service_done(step, out)

    def _timer(self, ev: TimerFired) -> None:
        st = self.state
        if ev.kind != _TIMER_RETRY:
            if ev.step_id in st.pending() and ev.step_id in st.timers:
                self._fire([ev.step_id])  # else it was withdrawn, or fired already
            return
        step = self.defn.steps.get(ev.step_id)
        if step is not None and call_key(step.id, ev.compensating) in st.calls \
                and st.status in ACTIVE:
            self._attempt(step, ev.compensating)
            self.advance()

    # ------------------------------------------------------------ service steps

    def _service_done(self, step: Step, out: _Result) -> None:
        st = self.state
        inputs = self._inputs(step)
        if out.result == _TRY_OK:
            try:
                written = self._outputs(step, out.outputs)
            except Problem as exc:
                out.result, out.message = _TRY_ERROR, f"output {exc.message}"
            else:
                self._service_ok(step, out, inputs, written)
                return
        if out.result == _TRY_BUSINESS:
            self._business(step, out, inputs)
            return
        st.finished[step.id] = _STEP_FAILED
        self.record(step.id, _STEP_FAILED, result=out, inputs=inputs, detail=out.message)
        route = step.errors.get(FAILED_CODE)
        if route is not None:  # the product routes the technical failure like a business error
            self._route(step, route, FAILED_CODE, out.message)
            return
        if not step.critical:
            # A non-critical step (a notification, an archive copy) fails alone: record, go on.
            self.audit(_AUDIT_NONCRITICAL_FAILURE, step.id, reason=out.message or "")
            self.save()
            return
        self._end(_OUTCOME_FAILED, None, f"step {step.id} failed: {out.message}")

    def _service_ok(self, step: Step, out: _Result, inputs: Mapping[str, object],
                    written: Mapping[str, object]) -> None:
        st = self.state
        st.data.update(written)
        st.finished[step.id] = _STEP_DONE
        st.completed.append(step.id)
        if step.compensation is not None:
            st.undo[step.id] = {"inputs": inputs, "outputs": owned(out.outputs)}
        self.record(step.id, _STEP_DONE, result=out, inputs=inputs, outputs=written)
        self.save()

    def _outputs(self, step: Step, raw: Mapping[str, object]) -> dict[str, object]:
        """The handler's outputs under their product data paths, coerced to their types."""
        written: dict[str, object] = {}
        for cpath, dpath in step.outputs.items():
            value = raw.get(cpath, raw.get(dpath))
            fd = self.defn.data.get(dpath)
            if value is None:
                if fd is not None and fd.required:
                    raise Problem("missing", f"'{cpath}' was not returned")
                continue
            written[dpath] = coerced(fd, value)
        if step.compensation is not None:  # the whole answer is kept for the compensation
            self._kept(step, raw)
        return written

    @staticmethod
    def _kept(step: Step, raw: Mapping[str, object]) -> None:
        """Problem when an output the step does not declare cannot be stored."""
        for key, value in raw.items():
            if key not in step.outputs and key not in step.outputs.values():
                try:
                    storable(value)
                except Problem as exc:
                    raise Problem(exc.code, f"'{key}': {exc.message}") from None

    def _business(self, step: Step, out: _Result, inputs: Mapping[str, object]) -> None:
        code = out.code or ""
        route = step.errors.get(code)
        self.state.finished[step.id] = _STEP_ERROR
        self.record(step.id, _STEP_ERROR, result=out, inputs=inputs, detail=code)
        if route is None and not step.critical:
            self.audit(_AUDIT_NONCRITICAL_FAILURE, step.id,
                       reason=f"undeclared business error {code}")
            self.save()
        elif route is None:
            self._end(_OUTCOME_FAILED, None, f"step {step.id} raised undeclared business error {code}")
        else:
            self._route(step, route, code, None)

    def _route(self, step: Step, route: ErrorRoute, code: str, failure: str | None) -> None:
        """Follow an error route: jump forward, or end with its outcome."""
        what = f"technical failure ({failure})" if failure else "business error"
        if route.goto is not None:
            self._goto(step, route.goto, code)
            self.save()
        else:
            self._end(_outcome(route.end or _OUTCOME_FAILED), route.message, f"{what} {code} at {step.id}")

    def _goto(self, step: Step, target: str, code: str) -> None:
        """Jump forward: every unfinished step that must come before ``target`` is bypassed."""
        st, where = self.state, self.program.positions
        for sid, pos in walk(self.defn.flow):
            if sid not in st.finished and sid != target and precedes(pos, where[target]):
                st.finished[sid] = _STEP_BYPASSED
                if st.timers.pop(sid, None) is not None:
                    self.out.append(CancelTimer(self._timer_kind(sid), sid))
                self.record(sid, _STEP_BYPASSED,
                            detail=f"error {code} at {step.id} goes to {target}")
        self.audit(_AUDIT_GOTO, step.id, code=code, target=target)

    def _timer_kind(self, step_id: str) -> TimerKind:
        return _TIMER_DUE if self.defn.steps[step_id].kind == "user" else _TIMER_WAIT

    # ------------------------------------------------------------ ending

    def _end(self, outcome: Outcome, message: Label | None, reason: str | None) -> None:
        st = self.state
        st.outcome, st.reason = outcome, reason
        st.message = message.model_dump(by_alias=True) if message is not None else None
        for sid in st.pending() if st.entered else ():  # most applications end with none pending
            st.finished[sid] = _STEP_ABANDONED
            self.record(sid, _STEP_ABANDONED, detail=f"application ended {outcome}")
            if sid in st.timers:
                self.out.append(CancelTimer(self._timer_kind(sid), sid))
        self.audit(_AUDIT_ENDED, outcome=outcome, reason=reason)
        if outcome in self.defn.compensate_on and self._to_undo():
            st.status = _APP_COMPENSATING
            self.save()
        else:
            self._finish()

    def _finish(self) -> None:
        """After the compensations: run the finally steps (one commit each), then close."""
        if self._finals_left():
            self.state.status = _APP_FINISHING
            self.save()
        else:
            self._close()

    def _finals_left(self) -> list[str]:
        return [s for s in self.defn.finally_steps if s not in self.state.finished]

    def _finally_next(self) -> None:
        """Start the next finally step, skip it, or close when none is left. A finally step
        never changes the outcome: it is not critical and has no routes."""
        st, left = self.state, self._finals_left()
        if not left:
            self._close()
            return
        step = self.defn.steps[left[0]]
        if call_key(step.id, False) in st.calls:
            self._continue_call(step, False)
        elif st.channel not in step.channels:
            self._skip(step, f"not on channel {st.channel}")
        elif step.when is None or self._final_condition(step):
            self._start_call(step, False)

    def _final_condition(self, step: Step) -> bool:
        """Whether a finally step's condition holds (it reads ``outcome``); when false or
        undecidable, the step is recorded as skipped or failed and False returned."""
        assert step.when is not None
        try:
            holding = holds(step.when, {**self.env(), OUTCOME_VARIABLE: str(self.state.outcome)}, self.defn.derived)
        except ConditionError as exc:
            self.state.finished[step.id] = _STEP_FAILED
            self.record(step.id, _STEP_FAILED, detail=str(exc))
            self.audit(_AUDIT_NONCRITICAL_FAILURE, step.id, reason=f"condition: {exc.reason}")
            self.save()
            return False
        if not holding:
            self._skip(step, f"condition {step.when.cel} is false")
            self.save()
        return holding

    def _close(self) -> None:
        st = self.state
        st.status = _APP_ENDED
        self.save()
        self.out.append(End(st.outcome or _OUTCOME_COMPLETED, st.reason))

    def _to_undo(self) -> list[str]:
        st = self.state
        return [s for s in reversed(st.completed)
                if self.defn.steps[s].compensation is not None and s not in st.compensated]

    def _compensate_next(self) -> None:
        """Undo the newest completed step not undone yet (one commit each), or close."""
        todo = self._to_undo()
        if not todo:
            self._finish()
            return
        step = self.defn.steps[todo[0]]
        if call_key(step.id, True) in self.state.calls:
            self._continue_call(step, True)
        else:
            self._start_call(step, True)

    def _compensated(self, step: Step, out: _Result) -> None:
        st = self.state
        st.compensated.append(step.id)
        ok = out.result == _TRY_OK
        st.attention = st.attention or not ok
        status = _STEP_COMPENSATED if ok else _STEP_COMPENSATION_FAILED
        self.record(step.id, status, compensation=True, result=out,
                    inputs=st.undo.get(step.id, {}).get("inputs", {}), detail=out.message)
        self.audit(_AUDIT_COMPENSATED if ok else _AUDIT_COMPENSATION_FAILED, step.id)
        if self._to_undo():
            self.save()
        else:
            self._finish()

    # ------------------------------------------------------------ from the outside

    def _submitted(self, ev: Submitted) -> None:
        st = self.state
        step = awaiting(self.defn, st, ev.step_id)
        st.data.update(ev.values)
        st.entered.remove(step.id)
        if st.timers.pop(step.id, None) is not None:
            self.out.append(CancelTimer(_TIMER_DUE, step.id))
        st.status = _APP_RUNNING
        self.audit(_AUDIT_SUBMITTED, step.id, fields=sorted(ev.values), error=ev.error)
        if ev.error is not None:
            self._business(step, _Result(_TRY_BUSINESS, code=ev.error), ev.values)
        else:
            st.finished[step.id] = _STEP_DONE
            self.record(step.id, _STEP_DONE, inputs=ev.values)
            self.save()
        self.advance()

    def _due(self, until: dt.datetime) -> list[str]:
        st = self.state
        return [s for s in st.pending() if s in st.timers and st.timers[s] <= until]

    def _fire(self, due: list[str]) -> None:
        """Finish the waits and fail the user steps whose time is up, then go on."""
        st = self.state
        if not due or st.status not in PAUSED:
            return
        st.status = _APP_RUNNING  # saved with the first wait, so a crash here is resumed
        for sid in due:
            self.own()  # a wait finished, or a staff step failed, is saved
            step = self.defn.steps[sid]
            if step.kind != "user":
                self._finish_wait(step)
            elif self._user_timeout(step):
                break
        self.advance()

    def _user_timeout(self, step: Step) -> bool:
        """A user step not done within its timeout fails; True when that ended the application."""
        st = self.state
        st.timers.pop(step.id, None)
        st.entered.remove(step.id)
        st.finished[step.id] = _STEP_FAILED
        self.record(step.id, _STEP_FAILED, detail=f"not done within {step.timeout}")
        if not step.critical:
            self.audit(_AUDIT_NONCRITICAL_FAILURE, step.id,
                       reason=f"not done within {step.timeout}")
            self.save()
            return False
        self._end(_OUTCOME_FAILED, None, f"step {step.id} was not done within {step.timeout}")
        return True

    def _cancel(self, ev: CancelRequested) -> None:
        st = self.state
        if ev.by not in tuple(Canceller):
            raise InvalidArgument(f"by is 'customer' or 'bank', not {ev.by!r}")
        if st.status not in PAUSED:
            raise InvalidState(f"application {st.id} is {st.status}; only an application waiting "
                               "for input or for time can be cancelled")
        for sid in st.pending():
            if self.defn.steps[sid].kind == "wait" and not self.defn.steps[sid].interruptible:
                raise InvalidState(f"application {st.id} is in wait step {sid}, which cannot be "
                                   "interrupted")
        self.audit(_AUDIT_CANCELLED, by=ev.by, reason=ev.reason)
        self._end(_OUTCOME_CANCELLED, None, f"cancelled by {ev.by}: {ev.reason}")
        self.advance()
