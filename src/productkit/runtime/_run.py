"""The interpreter: advances one application through its workflow definition, one committed
step at a time. The engine creates a Run per call, under the application's lock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property

from .. import ir
from . import _durations, _expr, _flow, _values
from ._call import Outcome, Policy, Workers, invoke
from ._state import AppState, audit_row, step_row
from .catalog import Catalog
from .errors import ConditionError, HandlerMissing, InvalidState
from .handlers import Handlers, StepCall
from .store import AuditRow, Commit, StepRow, Store
from .views import AuditEvent, ProductVersion, StepRecord

__all__ = ["Ctx", "Run"]


@dataclass(frozen=True, slots=True)
class Ctx:
    """What the engine lends each run."""

    catalog: Catalog
    handlers: Handlers
    store: Store
    clock: Callable[[], dt.datetime]
    sleep: Callable[[float], None]
    workers: Workers | None = None


class Run:
    """One application being advanced. Nothing is stored except through :meth:`commit`."""

    def __init__(self, ctx: Ctx, pv: ProductVersion, state: AppState) -> None:
        self.ctx, self.pv, self.state = ctx, pv, state
        self.defn = pv.definition
        self.params = ctx.catalog.parameters(pv.id, pv.version)
        self._steps: list[StepRow] = []
        self._audit: list[AuditRow] = []

    # ------------------------------------------------------------ bookkeeping

    def event(self, kind: str, step_id: str | None = None, **detail: object) -> None:
        self.state.seq += 1
        ev = AuditEvent(self.state.seq, self.ctx.clock(), kind, step_id, detail)
        self._audit.append(audit_row(self.state.id, ev))

    def record(self, step_id: str, status: str, *, kind: str = "step",
               outcome: Outcome | None = None, detail: str | None = None,
               inputs: Mapping[str, object] | None = None,
               outputs: Mapping[str, object] | None = None) -> None:
        rec = StepRecord(step_id, "compensation" if kind == "compensation" else "step", status,
                         self.ctx.clock(), dict(inputs or {}), dict(outputs or {}),
                         tuple(outcome.attempts) if outcome else (), detail)
        self._steps.append(step_row(self.state.id, rec))

    def commit(self) -> None:
        """Store the state with the step results and audit rows gathered since the last commit."""
        st = self.state
        st.updated = self.ctx.clock()
        self.ctx.store.commit(Commit(st.to_row(), st.revision, tuple(self._steps), tuple(self._audit)))
        st.revision += 1
        self._steps, self._audit = [], []

    def env(self) -> dict[str, object]:
        return {**self.params, **self.state.data, ir.CHANNEL_VARIABLE: self.state.channel}

    @cached_property
    def positions(self) -> dict[str, _flow.Position]:
        return _flow.positions(self.defn.flow)

    # ------------------------------------------------------------ driving

    def advance(self) -> None:
        """Run steps until the application pauses (user or wait step) or ends."""
        if self.state.status == "compensating":
            self._compensate()
            return
        while self.state.status == "running":
            if not self._progress():
                self._pause()

    def _progress(self) -> bool:
        st = self.state
        front = _flow.frontier(self.defn.flow, st.finished)
        if not front:
            self._end("completed", None, None)
            return True
        for sid in front:
            step = self.defn.steps[sid]
            if sid not in st.entered:
                if self._enter(step):
                    return True
            elif step.kind == "wait" and st.timers[sid] <= self.ctx.clock():
                self._finish_wait(step)
                return True
        return False

    def _enter(self, step: ir.Step) -> bool:
        """Start a step; True when it finished (or ended the application) at once."""
        st = self.state
        if st.channel not in step.channels:
            return self._skip(step, f"not on channel {st.channel}")
        if step.when is not None:
            try:
                ok = _expr.holds(step.when, self.env(), self.defn.derived)
            except ConditionError as exc:
                self.record(step.id, "failed", detail=str(exc))
                self._end("failed", None, f"condition of step {step.id}: {exc.reason}")
                return True
            if not ok:
                return self._skip(step, f"condition {step.when.cel} is false")
        if step.kind == "end":
            st.finished[step.id] = "done"
            self.record(step.id, "done", detail=f"outcome {step.outcome}")
            self._end(step.outcome or "completed", step.message, f"end step {step.id}")
        elif step.kind == "service":
            self._service(step)
        elif step.kind == "user":
            st.entered.append(step.id)
            if step.timeout:  # a task that must be worked within a time, e.g. a manual approval
                st.timers[step.id] = _durations.add(self.ctx.clock(), step.timeout)
            self.event("awaiting_input", step.id, actor=step.actor)
            return False
        else:
            now = self.ctx.clock()
            st.timers[step.id] = _durations.add(now, step.duration or "PT0S")
            st.entered.append(step.id)
            self.event("waiting", step.id, due=st.timers[step.id])
            if st.timers[step.id] > now:
                return False
            self._finish_wait(step)
        return True

    def _skip(self, step: ir.Step, why: str) -> bool:
        self.state.finished[step.id] = "skipped"
        self.record(step.id, "skipped", detail=why)
        return True

    def _finish_wait(self, step: ir.Step) -> None:
        st = self.state
        due = st.timers.pop(step.id)
        st.entered.remove(step.id)
        st.finished[step.id] = "done"
        self.record(step.id, "done", detail=f"due {due.isoformat()}")
        self.event("wait_over", step.id, due=due)
        self.commit()

    def _pause(self) -> None:
        st = self.state
        users = [s for s in st.pending() if self.defn.steps[s].kind == "user"]
        st.status = "awaiting_input" if users else "waiting"
        self.commit()

    # ------------------------------------------------------------ service steps

    def _call(self, step: ir.Step, handler: str, *, inputs: Mapping[str, object],
              compensating: bool = False, outputs: Mapping[str, object] | None = None) -> Outcome:
        fn = self.ctx.handlers.get(handler)
        if fn is None:
            raise HandlerMissing(f"no handler {handler!r} for step {step.id} of {self.pv.key}; "
                                 f"application {self.state.id} waits at its last committed step")
        st = self.state
        key = f"{st.id}/{step.id}" + ("/compensate" if compensating else "")
        params = {n: _values.param_value(p) for n, p in step.parameters.items()}

        def call_for(attempt: int) -> StepCall:
            return StepCall(st.id, st.product_id, st.version, st.channel, step.id, handler,
                            step.component, inputs, params, key, attempt, compensating,
                            dict(outputs or {}))

        return invoke(fn, call_for, Policy.of(step), self.ctx.clock, self.ctx.sleep, self.ctx.workers)

    def _service(self, step: ir.Step) -> None:
        st = self.state
        inputs = {c: st.data[d] for c, d in step.inputs.items() if d in st.data}
        out = self._call(step, step.handler or "", inputs=inputs)
        if out.result == "ok":
            try:
                written = self._outputs(step, out.outputs)
            except _values.Problem as exc:
                out.result, out.message = "failed", f"output {exc.message}"
            else:
                st.data.update(written)
                st.finished[step.id] = "done"
                st.completed.append(step.id)
                if step.compensation is not None:
                    st.undo[step.id] = {"inputs": inputs, "outputs": dict(out.outputs)}
                self.record(step.id, "done", outcome=out, inputs=inputs, outputs=written)
                self.commit()
                return
        if out.result == "business":
            self._business(step, out, inputs)
            return
        st.finished[step.id] = "failed"
        self.record(step.id, "failed", outcome=out, inputs=inputs, detail=out.message)
        if not step.critical:
            # A non-critical step (a notification, an archive copy) fails alone: record, go on.
            self.event("noncritical_failure", step.id, reason=out.message or "")
            self.commit()
            return
        self._end("failed", None, f"step {step.id} failed: {out.message}")

    def _outputs(self, step: ir.Step, raw: Mapping[str, object]) -> dict[str, object]:
        """The handler's outputs under their product data paths, coerced to their types."""
        written: dict[str, object] = {}
        for cpath, dpath in step.outputs.items():
            value = raw.get(cpath, raw.get(dpath))
            fd = self.defn.data.get(dpath)
            if value is None:
                if fd is not None and fd.required:
                    raise _values.Problem("missing", f"'{cpath}' was not returned")
                continue
            written[dpath] = _values.coerce(fd, value) if fd is not None else value
        return written

    def _business(self, step: ir.Step, out: Outcome, inputs: Mapping[str, object]) -> None:
        code = out.code or ""
        route = step.errors.get(code)
        self.state.finished[step.id] = "error"
        self.record(step.id, "error", outcome=out, inputs=inputs, detail=code)
        if route is None and not step.critical:
            self.event("noncritical_failure", step.id, reason=f"undeclared business error {code}")
            self.commit()
        elif route is None:
            self._end("failed", None, f"step {step.id} raised undeclared business error {code}")
        elif route.goto is not None:
            self._goto(step, route.goto, code)
            self.commit()
        else:
            self._end(route.end or "failed", route.message, f"business error {code} at {step.id}")

    def _goto(self, step: ir.Step, target: str, code: str) -> None:
        """Jump forward: every unfinished step that must come before ``target`` is bypassed."""
        st, where = self.state, self.positions
        for sid, pos in _flow.walk(self.defn.flow):
            if sid not in st.finished and sid != target and _flow.precedes(pos, where[target]):
                st.finished[sid] = "bypassed"
                st.timers.pop(sid, None)
                self.record(sid, "bypassed", detail=f"error {code} at {step.id} goes to {target}")
        self.event("goto", step.id, code=code, target=target)

    # ------------------------------------------------------------ ending

    def _end(self, outcome: str, message: ir.Label | None, reason: str | None) -> None:
        st = self.state
        st.outcome, st.reason = outcome, reason
        st.message = message.model_dump(by_alias=True) if message is not None else None
        for sid in st.pending():
            st.finished[sid] = "abandoned"
            self.record(sid, "abandoned", detail=f"application ended {outcome}")
        self.event("ended", outcome=outcome, reason=reason)
        if outcome in self.defn.compensate_on and self._to_undo():
            st.status = "compensating"
            self.commit()
            self._compensate()
        else:
            st.status = "ended"
            self.commit()

    def _to_undo(self) -> list[str]:
        st = self.state
        return [s for s in reversed(st.completed)
                if self.defn.steps[s].compensation is not None and s not in st.compensated]

    def _compensate(self) -> None:
        """Undo the completed steps, newest first, one commit each."""
        st = self.state
        for sid in self._to_undo():
            step = self.defn.steps[sid]
            saved = st.undo.get(sid, {})
            handler = step.compensation.handler if step.compensation else ""
            out = self._call(step, handler, inputs=saved.get("inputs", {}), compensating=True,
                             outputs=saved.get("outputs", {}))
            st.compensated.append(sid)
            ok = out.result == "ok"
            st.attention = st.attention or not ok
            self.record(sid, "compensated" if ok else "compensation_failed", kind="compensation",
                        outcome=out, inputs=saved.get("inputs", {}), detail=out.message)
            self.event("compensated" if ok else "compensation_failed", sid)
            if not self._to_undo():
                st.status = "ended"
            self.commit()
        if st.status != "ended":
            st.status = "ended"
            self.commit()

    # ------------------------------------------------------------ from the outside

    def submit(self, step_id: str, values: Mapping[str, object], error: str | None = None) -> None:
        """Take a user step's checked values; ``error`` is a declared business error it reports."""
        st = self.state
        st.data.update(values)
        st.entered.remove(step_id)
        st.timers.pop(step_id, None)
        st.status = "running"
        self.event("submitted", step_id, fields=sorted(values), error=error)
        if error is not None:
            self._business(self.defn.steps[step_id], Outcome("business", code=error), values)
        else:
            st.finished[step_id] = "done"
            self.record(step_id, "done", inputs=values)
            self.commit()
        self.advance()

    def fire(self, now: dt.datetime) -> bool:
        """Finish the waits due at ``now`` and continue; False when none was due."""
        st = self.state
        due = [s for s in st.pending() if s in st.timers and st.timers[s] <= now]
        if not due or st.status not in ("waiting", "awaiting_input"):
            return False
        st.status = "running"  # committed with the first wait, so a crash here is resumed
        for sid in due:
            step = self.defn.steps[sid]
            if step.kind == "user":
                if self._user_timeout(step):
                    return True
            else:
                self._finish_wait(step)
        self.advance()
        return True

    def _user_timeout(self, step: ir.Step) -> bool:
        """A user step not done within its timeout fails; True when that ended the application."""
        st = self.state
        st.timers.pop(step.id, None)
        st.entered.remove(step.id)
        st.finished[step.id] = "failed"
        self.record(step.id, "failed", detail=f"not done within {step.timeout}")
        if not step.critical:
            self.event("noncritical_failure", step.id, reason=f"not done within {step.timeout}")
            self.commit()
            return False
        self._end("failed", None, f"step {step.id} was not done within {step.timeout}")
        return True

    def cancel(self, by: str, reason: str) -> None:
        st = self.state
        if st.status not in ("awaiting_input", "waiting"):
            raise InvalidState(f"application {st.id} is {st.status}; only an application waiting "
                               "for input or for time can be cancelled")
        for sid in st.pending():
            step = self.defn.steps[sid]
            if step.kind == "wait" and not step.interruptible:
                raise InvalidState(f"application {st.id} is in wait step {sid}, which cannot be "
                                   "interrupted")
        self.event("cancelled", by=by, reason=reason)
        self._end("cancelled", None, f"cancelled by {by}: {reason}")
