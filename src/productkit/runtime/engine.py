"""The Engine: starts applications, takes submissions, fires timers, cancels, and resumes
after a crash. It holds no application in memory between calls: every call reads the
application from the store, advances it under a per-application lock, and commits each step.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from types import MappingProxyType
from typing import cast

from jsonschema.protocols import Validator

from ..ir import APPLICATION_DATE_VARIABLE, CHANNEL_VARIABLE, FieldDef, Label, Step
from ._call import Workers
from ._codec import micros
from ._coerce import owned, payload_problem, text_problem
from ._executor import Ctx, Executor
from ._protocol import build_submitted, plain_copy
from ._quick import QuickCheck
from ._state import AppState, RecentStates, audit_event, step_record
from ._submit import check_submission, coerce_all, fields_on
from .catalog import Catalog, flatten, form_of, screen_of
from .core import (
    CancelRequested,
    Program,
    Resumed,
    Started,
    Ticked,
    awaiting,
    new_state,
)
from .errors import (
    CorruptApplication,
    DefinitionChanged,
    EngineError,
    InvalidArgument,
    InvalidContext,
    InvalidState,
    NotEligible,
    NotFound,
    NotOffered,
    NotReady,
)
from .handlers import Handlers
from .status import ACTIVE, Canceller, Status
from .store import MemoryStore, Store
from .views import (
    Application,
    AuditEvent,
    FieldError,
    Form,
    HandlerNeed,
    ProductReadiness,
    ProductVersion,
    Readiness,
    StepRecord,
    build_application,
)

__all__ = ["Engine"]

log = logging.getLogger("productkit.runtime")
# Locks for applications, by hash: a call holds its application's lock while it runs and while
# its step is made durable, so with few stripes unrelated applications wait for each other's sync.
_STRIPES = 1024
_AWAITING_INPUT = Status.AWAITING_INPUT  # bound once: a member read through its enum class costs a hook call


# A user step's form on a channel, its validator and quick check, and the step's fields there:
# as declared (a screen shows them) and as plain objects (a submission is checked against them,
# reading a dozen of their fields: see Program.plain).
_FormChecks = tuple["Form | None", "Validator | None", "QuickCheck | None", dict[str, FieldDef],
                    dict[str, FieldDef]]


class _LocalClock:
    """The time now in the local zone, as ``datetime.now().astimezone()`` reads it, with the
    zone read from the system once a minute (zones change their offset on whole minutes): the
    engine reads the clock a dozen times per application."""

    __slots__ = ("_zone",)

    def __init__(self) -> None:
        self._zone: tuple[dt.tzinfo, float] = (dt.UTC, 0.0)  # the zone, and until when it holds

    def now(self) -> dt.datetime:
        t = time.time()
        zone, until = self._zone
        if t >= until:
            local = time.localtime(t)
            zone = dt.timezone(dt.timedelta(seconds=local.tm_gmtoff), local.tm_zone)
            self._zone = (zone, t - t % 60 + 60)
        return dt.datetime.fromtimestamp(t, zone)

    __call__ = now


class Engine:
    """Runs product workflows from a catalogue, durably.

    ``clock`` returns the current (timezone-aware) time and ``sleep`` waits between retry
    attempts; inject both in tests. A due retry is stored before the engine sleeps, so a
    crash during the backoff is resumed by :meth:`recover` with the next attempt (see
    :mod:`productkit.runtime.core`). The engine is safe to share between threads."""

    def __init__(self, catalog: Catalog, *, handlers: Handlers | None = None,
                 store: Store | None = None, clock: Callable[[], dt.datetime] | None = None,
                 sleep: Callable[[float], None] | None = None) -> None:
        self.catalog = catalog
        self.handlers = handlers if handlers is not None else Handlers()
        self.store: Store = store if store is not None else MemoryStore()
        # The default clock's bound method: called as an object, a call would go through its
        # class's __call__ slot (a third of the reading's cost, a dozen readings per application).
        self.clock = clock or _LocalClock().now
        self._sleep = sleep or time.sleep
        self._workers = Workers()
        self._locks = [threading.RLock() for _ in range(_STRIPES)]
        self._programs: dict[str, Program] = {}
        self._handler_names: dict[tuple[str, str], frozenset[str]] = {}
        self._recent = RecentStates()
        self._declared: dict[tuple[str, str], dict[str, FieldDef]] = {}
        # Looked up once: each user step's form with its checks, each pinned product version
        # (with the catalogue it was found in).
        self._forms: dict[tuple[str, str, str], _FormChecks] = {}
        self._pins: dict[tuple[str, str], tuple[Catalog, ProductVersion]] = {}
        self._keep = cast(MemoryStore, self.store).keep if _keeps_objects(self.store) else None
        self._lent: Ctx | None = None
        self._last_today: tuple[float, Catalog, dt.date] | None = None

    def _program(self, pv: ProductVersion) -> Program:
        program = self._programs.get(pv.digest)
        if program is None:  # digests name content: one program per definition
            program = self._programs[pv.digest] = Program.of(pv.definition)
        return program

    def _executor(self, pv: ProductVersion, state: AppState) -> Executor:
        return Executor(self._ctx(), pv.key, self._program(pv), state)

    def _ctx(self) -> Ctx:
        """What the executors are lent: made again only when a part was replaced (a test's clock)."""
        ctx = self._lent
        if ctx is None or ctx.handlers is not self.handlers or ctx.store is not self.store \
                or ctx.clock is not self.clock or ctx.sleep is not self._sleep:
            ctx = self._lent = Ctx(self.handlers, self.store, self.clock, self._sleep, self._workers,
                                   self._recent, self._keep)
        return ctx

    def _needed(self, pv: ProductVersion, channel: str) -> frozenset[str]:
        """The handler names ``pv`` calls on ``channel`` (worked out once per definition)."""
        key = (pv.digest, channel)
        found = self._handler_names.get(key)
        if found is None:
            found = self._handler_names[key] = frozenset(n.handler for n in _needs(pv, channel))
        return found

    def _lock(self, app_id: str) -> threading.RLock:
        return self._locks[hash(app_id) % _STRIPES]

    # ------------------------------------------------------------ starting

    def start(self, product_id: str, channel: str, context: Mapping[str, object],
              version: str | None = None, *, application_id: str | None = None) -> Application:
        """Open an application and run it to its first pause (a screen to show) or its end.

        The newest version on sale on ``channel`` today is used unless ``version`` is given.
        Passing ``application_id`` makes the call idempotent: starting an existing id returns
        that application as it stands."""
        for name, value in (("product_id", product_id), ("channel", channel)):
            _text(name, value)
        _text("version", version, optional=True)
        _text("application_id", application_id, optional=True)
        app_id = application_id or _new_id()
        with self._lock(app_id):
            if application_id is not None and (row := self.store.get(app_id)) is not None:
                if row.product_id != product_id:
                    raise InvalidState(f"application {app_id} exists for {row.product_id}")
                return self.get(app_id)
            now = self.clock()  # one reading: the version on sale, eligibility and the date agree
            pv = self._offered(product_id, channel, version, now)
            data = self._admitted(pv, channel, context, now)
            executor = self._executor(pv, new_state(app_id, pv.id, pv.version, pv.digest, channel,
                                                    now, data))
            executor.run(Started(now))
            return self._view(pv, executor.state)

    def _offered(self, product_id: str, channel: str, version: str | None,
                 now: dt.datetime | None = None) -> ProductVersion:
        today = self._today(now or self.clock())
        if version is None:
            return self.catalog.current(product_id, channel, today)
        pv = self.catalog.entry(product_id, version)
        if channel not in pv.channels or not pv.on_sale(today):
            raise NotOffered(f"{pv.key} is not on sale on {channel} on {today.isoformat()}")
        return pv

    def _today(self, now: dt.datetime) -> dt.date:
        """``self.catalog.business_date(now)``, worked out once per minute: a business calendar's
        UTC offset is whole minutes, so its days begin on a whole minute of every clock."""
        minute, catalog = now.timestamp() // 60, self.catalog
        last = self._last_today
        if last is not None and last[0] == minute and last[1] is catalog:
            return last[2]
        day = catalog.business_date(now)
        self._last_today = (minute, catalog, day)
        return day

    def _admitted(self, pv: ProductVersion, channel: str, context: Mapping[str, object],
                  now: dt.datetime | None = None) -> dict[str, object]:
        """The start data, once the handlers, the context and the eligibility rules allow it."""
        missing = self.handlers.missing(self._needed(pv, channel))
        if missing:
            raise NotReady(pv.key, sorted(missing))
        data = self._context(pv, channel, context)
        day = self._program(pv).business_date(now or self.clock())
        failed = self.catalog.failing_rules(pv, channel, data, day) if self._program(pv).plain().rules else []
        if failed:
            raise NotEligible(pv.id, [r.id for r in failed], [r.message.en for r in failed])
        return data

    def _context(self, pv: ProductVersion, channel: str, context: Mapping[str, object]) -> dict[str, object]:
        # A context entry that names its channels is supplied there only: elsewhere it is absent.
        key = (pv.digest, channel)
        declared = self._declared.get(key)
        if declared is None:  # worked out once per definition and channel
            declared = self._declared[key] = {p: plain_copy(f) for p, f in pv.definition.context.items()
                                              if f.channels is None or channel in f.channels}
        problem = payload_problem(context)
        if problem is not None:
            raise InvalidContext([FieldError("", "type", problem)])
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
        _text("step_id", step_id)
        _text("error", error, optional=True)
        with self._lock(app_id):
            pv, state = self._load(app_id)
            step = awaiting(self._program(pv).plain(), state, step_id)  # the step as the core reads it
            problem = payload_problem(data)
            if problem is not None:  # not an object of fields: one error for the whole form
                return self._view(pv, state, [FieldError("", "type", problem)])
            values, code, errors = self._checked(pv, state, step, data, error)
            if errors:
                return self._view(pv, state, errors)
            executor = self._executor(pv, state)
            executor.run(build_submitted(self.clock(), step_id, values, code))
            return self._view(pv, executor.state)

    def _checked(self, pv: ProductVersion, state: AppState, step: Step, data: Mapping[str, object],
                 error: str | None) -> tuple[dict[str, object], str | None, list[FieldError]]:
        """The submission's values and business error code, or its field errors."""
        data, code = _error_code(step, data, error)
        form, validator, quick, _, fields = self._form(pv, step, state.channel)
        defn, env = self._program(pv).plain(), {}
        if defn.rules:  # only the rules read it
            day = self._program(pv).business_date(state.created)
            env = {**self._program(pv).parameters_on(day), **state.data,
                   CHANNEL_VARIABLE: state.channel, APPLICATION_DATE_VARIABLE: day}
        values, errors = check_submission(step, state.channel, form, validator, data, state.data,
                                          env, defn.rules, defn.derived, quick, fields)
        if code is not None:  # declining: what is not filled in is not missing
            errors = [e for e in errors if e.code not in ("required", "rule")]
        return values, code, errors

    def _form(self, pv: ProductVersion, step: Step, channel: str) -> _FormChecks:
        """A user step's form on ``channel`` with its validator and quick check, and the step's
        fields there (looked up once per definition, step and channel)."""
        key = (pv.digest, step.id, channel)
        found = self._forms.get(key)
        if found is None:
            form = form_of(pv, step, channel)
            fields = fields_on(step, channel)
            plain = {path: plain_copy(fd) for path, fd in fields.items()}
            if form is None:
                found = (None, None, None, fields, plain)
            else:
                found = (form, self.catalog.validator(pv, form), self.catalog.quick_check(pv, form), fields,
                         plain)
            self._forms[key] = found
        return found

    def tick(self, now: dt.datetime | None = None) -> list[Application]:
        """Finish every wait due at ``now`` (a timezone-aware time; default: the clock) and
        continue those applications. One that cannot go on is logged and left as it is."""
        if now is not None and (not isinstance(now, dt.datetime) or now.utcoffset() is None):
            raise InvalidArgument(f"tick() needs a timezone-aware datetime, not {now!r}")
        moment = now or self.clock()
        advanced = []
        for app_id in self.store.due(micros(moment)):
            with self._lock(app_id), _each("timer of application", app_id):
                pv, state = self._load(app_id)
                executor = self._executor(pv, state)
                if executor.run(Ticked(self.clock(), moment)):
                    advanced.append(self._view(pv, executor.state))
        return advanced

    def cancel(self, app_id: str, by: str, reason: str) -> Application:
        """Cancel an application waiting at a user or wait step: its completed steps are
        compensated and who cancelled, and why, is recorded. ``by`` is ``"customer"`` or
        ``"bank"`` (InvalidArgument otherwise)."""
        try:
            who = Canceller(by)
        except ValueError:
            raise InvalidArgument(f"by is 'customer' or 'bank', not {by!r}") from None
        _text("reason", reason)
        with self._lock(app_id):
            pv, state = self._load(app_id)
            executor = self._executor(pv, state)
            executor.run(CancelRequested(self.clock(), who, reason))
            return self._view(pv, executor.state)

    def resume(self, app_id: str) -> Application:
        """Continue an application a crash left between steps (a no-op for any other)."""
        with self._lock(app_id):
            pv, state = self._load(app_id)
            if state.status in ACTIVE:
                executor = self._executor(pv, state)
                executor.run(Resumed(self.clock()))
                state = executor.state
            return self._view(pv, state)

    def recover(self) -> list[Application]:
        """Resume every application left running or compensating, e.g. after a crash. Call it
        once the handlers are registered, before serving. An application that still cannot go
        on (a handler missing, a state that cannot be read) is logged and left where it is; the
        others go on. A retry whose backoff a crash interrupted waits what is left of it."""
        resumed = []
        for app_id in self.store.ids(ACTIVE):
            with _each("cannot resume application", app_id):
                resumed.append(self.resume(app_id))
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
        """The application as it stands after its last committed step."""
        pv, state = self._load(app_id)
        return self._view(pv, state)

    def application(self, app_id: str) -> Application:
        """The same as :meth:`get`; the Temporal executor answers to both names too."""
        return self.get(app_id)

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
        _text("application id", app_id)
        if self._keep is not None:
            kept = self.store.kept(app_id)  # type: ignore[attr-defined]  # a MemoryStore (no cast() call)
            if kept is not None:  # the state as committed, shared: the core decides on a copy
                state: AppState = kept[0]
                return self._pinned(state), state
        row = self.store.get(app_id)
        if row is None:
            raise NotFound(f"no application {app_id!r}")
        try:
            state = self._recent.get(row) or AppState.from_row(row)
        except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
            raise CorruptApplication(f"the stored state of application {app_id} cannot be read "
                                     f"({type(exc).__name__}: {exc})") from None
        return self._pinned(state), state

    def _pinned(self, state: AppState) -> ProductVersion:
        """The product version an application started on, exactly (by digest)."""
        pinned = self._pins.get((state.product_id, state.version))
        if pinned is not None and pinned[0] is self.catalog and pinned[1].digest == state.digest:
            return pinned[1]
        try:
            pv = self.catalog.entry(state.product_id, state.version)
        except NotFound:
            raise NotFound(f"application {state.id} runs {state.product_id}@{state.version}, which "
                           "this catalogue no longer holds; keep it in the build") from None
        if pv.digest != state.digest:
            raise DefinitionChanged(f"application {state.id} started on {pv.key} with digest "
                                    f"{state.digest}; the catalogue now has {pv.digest}")
        self._pins[(state.product_id, state.version)] = (self.catalog, pv)
        return pv

    def _view(self, pv: ProductVersion, state: AppState,
              errors: Collection[FieldError] = ()) -> Application:
        pending = state.pending() if state.entered else []  # none entered: a run or its end
        screen = None
        data = owned(state.data)  # the caller's own: changing it changes nothing committed
        if pending:
            program = self._program(pv)
            defn = program.plain()
            if len(pending) > 1:
                order = program.order
                pending.sort(key=lambda s: order.get(s, 0))
            users = [s for s in pending if defn.steps[s].kind == "user"]
            if users and state.status == _AWAITING_INPUT:
                day = program.business_date(state.created)
                step = defn.steps[users[0]]
                form, _, _, fields, _ = self._form(pv, step, state.channel)
                screen = screen_of(step, form, fields, data, program.parameters_on(day))
        message = Label.model_validate(state.message) if state.message else None
        return build_application(  # a view per call (see ._slots)
            state.id, state.product_id, state.version, state.channel, state.status, state.outcome,
            message, state.reason, screen, tuple(pending), state.due(), MappingProxyType(data),
            state.created, state.updated, state.attention, tuple(errors))


def _new_id() -> str:
    """``uuid.uuid4().hex``, without building the UUID object (a third of the time): 122 random
    bits with the version (4) and variant (RFC 4122) bits set as ``uuid.UUID`` sets them."""
    bits = int.from_bytes(os.urandom(16))
    bits = (bits & _CLEAR) | _SET
    return f"{bits:032x}"


_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))  # the variant and version bits, as uuid.UUID clears them
_SET = (0x8000 << 48) | (4 << 76)


def _keeps_objects(store: Store) -> bool:
    """Whether ``store`` is a MemoryStore that takes the engine's objects (:meth:`MemoryStore.keep`):
    one whose class changes how rows are committed or read is given rows, as any store is."""
    kind = type(store)
    return isinstance(store, MemoryStore) and kind.commit is MemoryStore.commit and kind.get is MemoryStore.get


def _error_code(step: Step, data: Mapping[str, object],
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


def _text(name: str, value: object, *, optional: bool = False) -> None:
    """InvalidArgument unless ``value`` is text that can be stored (None too when optional)."""
    if type(value) is str and value.isascii():  # the usual id or name: no surrogate can be in it
        return
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} is text, not {type(value).__name__}")
    problem = text_problem(value)
    if problem is not None:
        raise InvalidArgument(f"{name}: {problem}")


@contextlib.contextmanager
def _each(doing: str, app_id: str) -> Iterator[None]:
    """Log what stops one application of many, and go on with the others."""
    try:
        yield
    except EngineError as exc:
        log.error("%s %s: %s", doing, app_id, exc)
    except Exception:  # a bug or a broken row: still only this application's problem
        log.exception("%s %s", doing, app_id)


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
