"""The channel service's side: the embedded engine's API over applications run by Temporal.

    engine = TemporalEngine(catalog, address="temporal.bank.internal:7233", handlers=handlers)

``start``, ``submit``, ``cancel``, ``get``, ``steps``, ``audit`` and ``readiness`` take and
return what :class:`productkit.runtime.Engine`'s do. The checks before a start (the version on
sale, the context, the eligibility rules, the handlers) run here, as in the embedded engine;
everything after runs in the application's workflow on a worker.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import uuid
from collections.abc import Callable, Collection, Coroutine, Mapping
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from .._codec import encode
from .._coerce import payload_problem
from .._state import AppState, audit_event, step_record
from ..catalog import Catalog
from ..engine import Engine, _text
from ..errors import (
    EngineError,
    InvalidArgument,
    InvalidState,
    NotFound,
)
from ..handlers import Handlers
from ..status import Canceller
from ..views import Application, AuditEvent, FieldError, Readiness, StepRecord
from ._wire import errors_of, view_of
from ._worker import TASK_QUEUE
from ._workflow import WORKFLOW

__all__ = ["TemporalEngine"]

T = TypeVar("T")
_ERRORS: dict[str, type[EngineError]] = {c.__name__: c for c in (InvalidArgument, InvalidState, NotFound)}


def _now() -> dt.datetime:
    return dt.datetime.now().astimezone()


class TemporalEngine:
    """Runs product workflows on a Temporal cluster (see the module).

    ``handlers`` is the registry the workers run (the deployment imports the same module); it
    answers ``readiness`` and the start's check that every handler exists. ``clock`` is the
    channel service's clock: an application's times are its clock at the start plus the time
    the workflow has run since. ``skip_backoff`` makes the applications this engine starts
    retry at once instead of after the step's backoff: what ``Engine(sleep=lambda s: None)``
    does in tests and scenario runs; never in production."""

    def __init__(self, catalog: Catalog, *, address: str = "localhost:7233", namespace: str = "default",
                 task_queue: str = TASK_QUEUE, handlers: Handlers | None = None,
                 clock: Callable[[], dt.datetime] | None = None, client: Client | None = None,
                 skip_backoff: bool = False) -> None:
        self.catalog = catalog
        self.task_queue = task_queue
        self.clock = clock or _now
        self.skip_backoff = skip_backoff
        self._local = Engine(catalog, handlers=handlers, clock=self.clock)  # its checks and views
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="productkit-temporal",
                                        daemon=True)
        self._thread.start()
        self.client = client or self._run(Client.connect(address, namespace=namespace))

    @property
    def handlers(self) -> Handlers:
        return self._local.handlers

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    # ------------------------------------------------------------ the embedded engine's API

    def start(self, product_id: str, channel: str, context: Mapping[str, object],
              version: str | None = None, *, application_id: str | None = None) -> Application:
        """Open an application and return it at its first pause or its end (as ``Engine.start``)."""
        for name, value in (("product_id", product_id), ("channel", channel)):
            _text(name, value)
        _text("version", version, optional=True)
        _text("application_id", application_id, optional=True)
        app_id = application_id or uuid.uuid4().hex
        pv = self._local._offered(product_id, channel, version)
        data = self._local._admitted(pv, channel, context)
        start = encode({"id": app_id, "product_id": pv.id, "version": pv.version, "digest": pv.digest,
                        "channel": channel, "at": self.clock(), "data": data,
                        "skip_backoff": self.skip_backoff})
        try:
            handle = self._run(self.client.start_workflow(
                WORKFLOW, start, id=app_id, task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE))
        except WorkflowAlreadyStartedError:
            existing = self.get(app_id)
            if application_id is None or existing.product_id != product_id:
                raise InvalidState(f"application {app_id} exists for {existing.product_id}") from None
            return existing
        return self._update(handle, "settled", None)

    def submit(self, app_id: str, step_id: str, data: Mapping[str, object], *,
               error: str | None = None) -> Application:
        """Submit a user step's data (as ``Engine.submit``): refused fields come back as the
        view's ``errors`` and leave nothing in the application's history."""
        _text("application id", app_id)
        _text("step_id", step_id)
        _text("error", error, optional=True)
        problem = payload_problem(data)
        try:
            payload = encode({"step_id": step_id, "data": dict(data), "error": error}) if problem is None else ""
        except (TypeError, ValueError) as exc:  # a value JSON cannot carry (an object, NaN)
            problem = f"a value cannot be submitted: {exc}"
        if problem is not None:  # one error for the whole form, nothing sent
            return self._view(self._query(app_id)[0], [FieldError("", "type", problem)])
        return self._update(self._handle(app_id), "submit", payload)

    def cancel(self, app_id: str, by: str, reason: str) -> Application:
        """Cancel an application waiting at a user or wait step; its steps are compensated."""
        try:
            Canceller(by)
        except ValueError:
            raise InvalidArgument(f"by is 'customer' or 'bank', not {by!r}") from None
        _text("reason", reason)
        _text("application id", app_id)
        return self._update(self._handle(app_id), "cancel", encode({"by": by, "reason": reason}))

    def advance(self, app_id: str, until: dt.datetime) -> Application:
        """Fire the application's waits and due times at or before ``until`` now (what
        ``Engine.tick(until)`` does for one application); its durable timers fire them anyway."""
        if not isinstance(until, dt.datetime) or until.utcoffset() is None:
            raise InvalidArgument(f"advance() needs a timezone-aware datetime, not {until!r}")
        return self._update(self._handle(app_id), "advance", until.isoformat())

    def get(self, app_id: str) -> Application:
        """The application as it stands (the workflow's ``view`` query)."""
        state, _steps, _audit = self._query(app_id)
        return self._view(state)

    def application(self, app_id: str) -> Application:
        return self.get(app_id)

    def steps(self, app_id: str) -> list[StepRecord]:
        return [step_record(r) for r in self._query(app_id)[1]]

    def audit(self, app_id: str) -> list[AuditEvent]:
        return [audit_event(r) for r in self._query(app_id)[2]]

    def readiness(self, channel: str, products: Collection[str] | None = None) -> Readiness:
        """As ``Engine.readiness``, over the registry given (the workers')."""
        return self._local.readiness(channel, products)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    # ------------------------------------------------------------ internals

    def _handle(self, app_id: str) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(app_id)

    def _update(self, handle: WorkflowHandle[Any, Any], name: str, arg: str | None) -> Application:
        args = [] if arg is None else [arg]
        try:
            text = self._run(handle.execute_update(name, args=args, result_type=str))
        except WorkflowUpdateFailedError as exc:
            return self._refused(handle.id, exc.cause)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:  # or its workflow has ended: say which
                state = self._query(handle.id)[0]
                raise InvalidState(f"application {handle.id} is {state.status} ({state.outcome}); "
                                   f"it takes no {name} any more") from None
            raise _rpc(handle.id, exc) from None
        row, _steps, _audit = view_of(text)
        return self._view(AppState.from_row(row))

    def _refused(self, app_id: str, cause: BaseException | None) -> Application:
        """An Update the workflow rejected: field errors as the view's, others as the error."""
        if isinstance(cause, ApplicationError) and cause.type == "FieldErrors" and cause.details:
            return self._view(self._query(app_id)[0], errors_of(str(cause.details[0])))
        if isinstance(cause, ApplicationError) and cause.type in _ERRORS:
            raise _ERRORS[cause.type](cause.message)
        raise EngineError(f"application {app_id}: {cause}")

    def _query(self, app_id: str) -> tuple[AppState, list[Any], list[Any]]:
        _text("application id", app_id)
        try:
            text = self._run(self._handle(app_id).query("view", result_type=str))
        except RPCError as exc:
            raise _rpc(app_id, exc) from None
        row, steps, audit = view_of(text)
        return AppState.from_row(row), steps, audit

    def _view(self, state: AppState, errors: Collection[Any] = ()) -> Application:
        return self._local._view(self._local._pinned(state), state, errors)


def _rpc(app_id: str, exc: RPCError) -> EngineError:
    if exc.status == RPCStatusCode.NOT_FOUND:
        return NotFound(f"no application {app_id!r}")
    return EngineError(f"application {app_id}: the Temporal service said {exc.status.name}: {exc.message}")
