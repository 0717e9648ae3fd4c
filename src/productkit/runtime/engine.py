"""The Engine: starts applications, takes submissions, fires timers, cancels, and resumes
after a crash. It holds no application in memory between calls: every call reads the
application from the store, advances it under a per-application lock, and commits each step.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from types import MappingProxyType

from .. import ir
from . import _flow
from ._call import Workers
from ._codec import micros
from ._run import Ctx, Run
from ._state import AppState, audit_event, step_record
from ._submit import check_submission, coerce_all
from .catalog import Catalog, flatten, form_of
from .errors import (
    DefinitionChanged,
    EngineError,
    InvalidContext,
    InvalidState,
    NotEligible,
    NotFound,
    NotOffered,
    NotReady,
)
from .handlers import Handlers
from .store import ACTIVE, MemoryStore, Store
from .views import (
    Application,
    AuditEvent,
    FieldError,
    HandlerNeed,
    ProductReadiness,
    ProductVersion,
    Readiness,
    StepRecord,
)

__all__ = ["Engine"]

log = logging.getLogger("productkit.runtime")
_STRIPES = 64


def _now() -> dt.datetime:
    return dt.datetime.now().astimezone()


class Engine:
    """Runs product workflows from a catalogue, durably.

    ``clock`` returns the current (timezone-aware) time and ``sleep`` waits between retry
    attempts; inject both in tests. The engine is safe to share between threads."""

    def __init__(self, catalog: Catalog, *, handlers: Handlers | None = None,
                 store: Store | None = None, clock: Callable[[], dt.datetime] | None = None,
                 sleep: Callable[[float], None] | None = None) -> None:
        self.catalog = catalog
        self.handlers = handlers if handlers is not None else Handlers()
        self.store: Store = store if store is not None else MemoryStore()
        self.clock = clock or _now
        self._sleep = sleep or time.sleep
        self._workers = Workers()
        self._locks = [threading.RLock() for _ in range(_STRIPES)]

    def _ctx(self) -> Ctx:
        return Ctx(self.catalog, self.handlers, self.store, self.clock, self._sleep, self._workers)

    def _lock(self, app_id: str) -> threading.RLock:
        return self._locks[hash(app_id) % _STRIPES]

    # ------------------------------------------------------------ starting

    def start(self, product_id: str, channel: str, context: Mapping[str, object],
              version: str | None = None, *, application_id: str | None = None) -> Application:
        """Open an application and run it to its first pause (a screen to show) or its end.

        The newest version on sale on ``channel`` today is used unless ``version`` is given.
        Passing ``application_id`` makes the call idempotent: starting an existing id returns
        that application as it stands."""
        app_id = application_id or uuid.uuid4().hex
        with self._lock(app_id):
            if application_id is not None and (row := self.store.get(app_id)) is not None:
                if row.product_id != product_id:
                    raise InvalidState(f"application {app_id} exists for {row.product_id}")
                return self.get(app_id)
            pv = self._offered(product_id, channel, version)
            missing = sorted({n.handler for n in _needs(pv, channel) if n.handler not in self.handlers})
            if missing:
                raise NotReady(pv.key, missing)
            data = self._context(pv, context)
            failed = self.catalog.failing_rules(pv, channel, data)
            if failed:
                raise NotEligible(pv.id, [r.id for r in failed], [r.message.en for r in failed])
            now = self.clock()
            state = AppState(app_id, pv.id, pv.version, pv.digest, channel, "running", now, now,
                             data=data)
            run = Run(self._ctx(), pv, state)
            run.event("started", product=pv.key, channel=channel, digest=pv.digest)
            run.commit()  # the application exists before any handler is called
            run.advance()
            return self._view(pv, run.state)

    def _offered(self, product_id: str, channel: str, version: str | None) -> ProductVersion:
        today = self.clock().date()
        if version is None:
            return self.catalog.current(product_id, channel, today)
        pv = self.catalog.entry(product_id, version)
        if channel not in pv.channels or not pv.on_sale(today):
            raise NotOffered(f"{pv.key} is not on sale on {channel} on {today.isoformat()}")
        return pv

    def _context(self, pv: ProductVersion, context: Mapping[str, object]) -> dict[str, object]:
        declared = pv.definition.context
        flat = flatten(context, declared)
        values, errors = coerce_all(declared, flat, {})
        if errors:
            raise InvalidContext(errors)
        return values

    # ------------------------------------------------------------ continuing

    def submit(self, app_id: str, step_id: str, data: Mapping[str, object], *,
               error: str | None = None) -> Application:
        """Submit a user step's data. On field errors nothing changes and the returned view
        carries ``errors``; otherwise the application runs to its next pause or its end.

        A staff step reports one of its declared business errors (a reviewer confirming an AML
        match) by submitting the code at the step's ``error_path``, or as ``error``: the other
        fields are then optional and the step's error route is followed."""
        with self._lock(app_id):
            pv, state = self._load(app_id)
            step = pv.definition.steps.get(step_id)
            if state.status != "awaiting_input" or step is None or step.kind != "user" \
                    or step_id not in state.pending():
                raise InvalidState(f"application {app_id} is {state.status} and does not wait for "
                                   f"step {step_id!r} (pending: {', '.join(state.pending()) or 'none'})")
            data, code = _error_code(step, data, error)
            form = form_of(pv, step, state.channel)
            validator = self.catalog.validator(pv, form) if form is not None else None
            env = {**self.catalog.parameters(pv.id, pv.version), **state.data,
                   ir.CHANNEL_VARIABLE: state.channel}
            values, errors = check_submission(step, state.channel, form, validator, data, state.data,
                                              env, pv.definition.rules, pv.definition.derived)
            if code is not None:  # declining: what is not filled in is not missing
                errors = [e for e in errors if e.code not in ("required", "rule")]
            if errors:
                return self._view(pv, state, errors)
            run = Run(self._ctx(), pv, state)
            run.submit(step_id, values, code)
            return self._view(pv, run.state)

    def tick(self, now: dt.datetime | None = None) -> list[Application]:
        """Finish every wait due at ``now`` (default: the clock) and continue those applications."""
        moment = now or self.clock()
        advanced = []
        for app_id in self.store.due(micros(moment)):
            with self._lock(app_id):
                try:
                    pv, state = self._load(app_id)
                    run = Run(self._ctx(), pv, state)
                    if run.fire(moment):
                        advanced.append(self._view(pv, run.state))
                except EngineError as exc:  # one application must not stop the others
                    log.error("timer of application %s: %s", app_id, exc)
        return advanced

    def cancel(self, app_id: str, by: str, reason: str) -> Application:
        """Cancel an application waiting at a user or wait step: its completed steps are
        compensated and who cancelled, and why, is recorded."""
        if by not in ("customer", "bank"):
            raise ValueError(f"by is 'customer' or 'bank', not {by!r}")
        with self._lock(app_id):
            pv, state = self._load(app_id)
            run = Run(self._ctx(), pv, state)
            run.cancel(by, reason)
            return self._view(pv, run.state)

    def resume(self, app_id: str) -> Application:
        """Continue an application a crash left between steps (a no-op for any other)."""
        with self._lock(app_id):
            pv, state = self._load(app_id)
            if state.status in ACTIVE:
                run = Run(self._ctx(), pv, state)
                run.advance()
                state = run.state
            return self._view(pv, state)

    def recover(self) -> list[Application]:
        """Resume every application left running or compensating, e.g. after a crash. Call it
        once the handlers are registered, before serving. An application that still cannot go
        on (a handler missing) is logged and left where it is; the others go on."""
        resumed = []
        for app_id in self.store.ids(ACTIVE):
            try:
                resumed.append(self.resume(app_id))
            except EngineError as exc:
                log.error("cannot resume application %s: %s", app_id, exc)
        return resumed

    def run_timers(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Call :meth:`tick` every ``interval`` seconds until ``stop`` is set (run it on a
        thread of its own)."""
        while not stop.wait(interval):
            try:
                self.tick()
            except Exception:  # pragma: no cover - keep the loop alive; the error is logged
                log.exception("timer loop")

    # ------------------------------------------------------------ reading

    def get(self, app_id: str) -> Application:
        pv, state = self._load(app_id)
        return self._view(pv, state)

    def steps(self, app_id: str) -> list[StepRecord]:
        """The committed step results: inputs, outputs, attempts with their timings."""
        return [step_record(r) for r in self.store.steps(app_id)]

    def audit(self, app_id: str) -> list[AuditEvent]:
        return [audit_event(r) for r in self.store.audit(app_id)]

    def readiness(self, channel: str, products: Collection[str] | None = None) -> Readiness:
        """For every service step of every product version offered on ``channel``: is its
        handler (and compensation handler) registered? Products with nothing missing ship by
        configuration alone; the others need new code first."""
        needs: list[HandlerNeed] = []
        ready: list[ProductReadiness] = []
        for pv in self.catalog:
            if channel not in pv.channels or (products is not None and pv.id not in products):
                continue
            mine = [HandlerNeed(n.product_id, n.version, n.step_id, n.handler, n.role,
                                n.handler in self.handlers) for n in _needs(pv, channel)]
            needs += mine
            missing = tuple(sorted({n.handler for n in mine if not n.registered}))
            ready.append(ProductReadiness(pv.id, pv.version, missing))
        return Readiness(channel, tuple(needs), tuple(ready))

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------ internals

    def _load(self, app_id: str) -> tuple[ProductVersion, AppState]:
        row = self.store.get(app_id)
        if row is None:
            raise NotFound(f"no application {app_id!r}")
        state = AppState.from_row(row)
        try:
            pv = self.catalog.entry(state.product_id, state.version)
        except NotFound:
            raise NotFound(f"application {app_id} runs {state.product_id}@{state.version}, which "
                           "this catalogue no longer holds; keep it in the build") from None
        if pv.digest != state.digest:
            raise DefinitionChanged(f"application {app_id} started on {pv.key} with digest "
                                    f"{state.digest}; the catalogue now has {pv.digest}")
        return pv, state

    def _view(self, pv: ProductVersion, state: AppState,
              errors: Collection[FieldError] = ()) -> Application:
        defn = pv.definition
        order = {sid: i for i, (sid, _) in enumerate(_flow.walk(defn.flow))}
        pending = sorted(state.pending(), key=lambda s: order.get(s, 0))
        users = [s for s in pending if defn.steps[s].kind == "user"]
        screen = None
        if users and state.status == "awaiting_input":
            screen = self.catalog.screen(pv, defn.steps[users[0]], state.channel, state.data)
        message = ir.Label.model_validate(state.message) if state.message else None
        return Application(
            id=state.id, product_id=state.product_id, version=state.version,
            channel=state.channel, status=state.status, outcome=state.outcome, message=message,
            reason=state.reason, screen=screen, pending=tuple(pending), due=state.due(),
            data=MappingProxyType(dict(state.data)), created=state.created,
            updated=state.updated, needs_attention=state.attention, errors=tuple(errors))


def _error_code(step: ir.Step, data: Mapping[str, object],
                error: str | None) -> tuple[Mapping[str, object], str | None]:
    """The submission with the declared error code (if any) at the step's ``error_path``."""
    if step.error_path is None:
        if error is not None and error not in step.errors:
            raise InvalidState(f"step {step.id} declares no business error {error!r}")
        return data, error
    flat = flatten(data, step.fields)
    if error is not None:
        flat[step.error_path] = error
    code = flat.get(step.error_path)
    return flat, code if isinstance(code, str) and code in step.errors else None


def _needs(pv: ProductVersion, channel: str) -> list[HandlerNeed]:
    """The handlers the service steps of ``pv`` on ``channel`` call (registered: unknown)."""
    out = []
    for sid, step in sorted(pv.definition.steps.items()):
        if step.kind != "service" or channel not in step.channels:
            continue
        if step.handler:
            out.append(HandlerNeed(pv.id, pv.version, sid, step.handler, "handler", False))
        if step.compensation is not None:
            out.append(HandlerNeed(pv.id, pv.version, sid, step.compensation.handler,
                                   "compensation", False))
    return out
