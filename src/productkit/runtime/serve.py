"""``productkit serve``: the products offered on the open-API channel as an authenticated HTTP API
for partner platforms, run by the embedded engine over a verified build.

The service answers what ``build/openapi.json`` documents (it serves that very file, checked
against the manifest's seal): products a partner may sell, starting an application, submitting a
step's payload (validated with the step's open-API form, as every channel's submissions are),
reading an application's status and next step, and cancelling it. Errors are RFC 9457
``application/problem+json`` with productkit's codes (PK620..PK632) and each field's path.

Partners authenticate with ``Authorization: Bearer <key>``; a key is confined to its products and
to the applications it started (anything else is 404, so existence does not leak); each key has
a rate limit (429 with ``Retry-After``); bodies are size-limited; POSTs honour ``Idempotency-Key``.
Each request is logged (partner, method, route, product, application, status, time), never its
payload. Build the app with :func:`create_app` and run it with any ASGI server (uvicorn)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..offer import OPEN_API, PARTNER_CONTEXT, PROBLEMS, terms
from ..types import Money
from ..types.table import Table
from ._api_store import ApiStore
from .engine import Engine
from .errors import (
    CatalogError,
    EngineError,
    HandlerMissing,
    InvalidArgument,
    InvalidContext,
    InvalidState,
    NotEligible,
    NotFound,
    NotOffered,
    NotReady,
)
from .partners import Partner, Partners, RateLimiter
from .status import Status
from .views import Application, FieldError

__all__ = ["DOCUMENT", "MAX_BODY", "ApiSettings", "create_app"]

DOCUMENT = "openapi.json"
MAX_BODY = 64 * 1024
MAX_DEPTH = 32  # nesting of a request body: forms nest a few levels, never dozens
log = logging.getLogger("productkit.serve")


class Problem(Exception):
    """An answer other than success: productkit's code, its HTTP status, what went wrong."""

    def __init__(self, code: str, detail: str, *, errors: list[dict[str, Any]] | None = None,
                 rules: list[str] | None = None, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.code, self.detail, self.errors, self.rules = code, detail, errors, rules
        self.retry_after = retry_after

    @property
    def status(self) -> int:
        return PROBLEMS[self.code][0]

    def response(self, instance: str) -> Response:
        body: dict[str, Any] = {"type": f"https://productkit.dev/problems/{self.code}",
                                "title": PROBLEMS[self.code][1], "status": self.status,
                                "detail": self.detail, "code": self.code, "instance": instance}
        if self.errors is not None:
            body["errors"] = self.errors
        if self.rules is not None:
            body["rules"] = self.rules
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        return Response(_json(body), self.status, headers, media_type="application/problem+json")


def _json(data: Any) -> bytes:
    return orjson.dumps(data, default=_plain, option=orjson.OPT_SORT_KEYS)


def _plain(value: Any) -> Any:
    """What orjson cannot write itself: exact decimals as text, money as its amount and currency,
    a rate table as its rows."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Money):
        return {"amount": str(value.amount), "currency": value.currency}
    if isinstance(value, Table):
        return [{"from": _plain_key(r.low), "to": _plain_key(r.high), "key": _plain_key(r.key),
                 "value": r.value} for r in value.rows]
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)  # any other value type: its text, never a failed response


def _plain_key(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal | Money) else value


@dataclass
class ApiSettings:
    """How the service runs: the partners, where it keeps idempotency records, body limit."""

    partners: Partners
    store: ApiStore = field(default_factory=ApiStore)
    max_body: int = MAX_BODY
    limiter: RateLimiter = field(default_factory=RateLimiter)


@dataclass
class _Call:
    """One request as it is handled: who calls, and what the log line says about it."""

    request: Request
    partner: Partner | None = None
    product: str | None = None
    application: str | None = None


Handler = Callable[["_Api", _Call], Awaitable[Response]]


class _Api:
    def __init__(self, engine: Engine, settings: ApiSettings) -> None:
        self.engine, self.settings = engine, settings
        self.document = engine.catalog.sealed_file(DOCUMENT)
        self.operations = _operations(orjson.loads(self.document))

    # ------------------------------------------------------------ plumbing

    def route(self, handler: Handler, *, public: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            call, started = _Call(request), time.perf_counter()
            try:
                if not public:
                    self._authenticate(call)
                response = await handler(self, call)
            except Problem as problem:
                response = problem.response(request.url.path)
            _log(call, response.status_code, time.perf_counter() - started)
            return response
        return endpoint

    def _authenticate(self, call: _Call) -> None:
        header = call.request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        partner = self.settings.partners.authenticate(key.strip()) if scheme.lower() == "bearer" else None
        if partner is None:
            raise Problem("PK620", "send the partner's API key as 'Authorization: Bearer <key>'")
        call.partner = partner
        wait = self.settings.limiter.take(partner)
        if wait:
            raise Problem("PK626", f"at most {partner.rate_limit} requests per minute", retry_after=wait)

    async def body(self, call: _Call) -> dict[str, Any]:
        request, limit = call.request, self.settings.max_body
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise Problem("PK631", f"the body must be application/json, not {kind or 'missing'}")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise Problem("PK627", f"the body may hold at most {limit} bytes")
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > limit:
                raise Problem("PK627", f"the body may hold at most {limit} bytes")
        try:
            parsed = orjson.loads(bytes(data))
        except orjson.JSONDecodeError as exc:
            raise Problem("PK630", f"the body is not JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise Problem("PK630", f"the body is a JSON {type(parsed).__name__}, expected an object")
        if _depth(parsed) > MAX_DEPTH:
            raise Problem("PK630", f"the body nests deeper than {MAX_DEPTH} levels")
        return parsed

    def product(self, call: _Call, product_id: str) -> None:
        """The partner may sell ``product_id`` and the build offers it on the open API (else 404)."""
        call.product = product_id
        assert call.partner is not None
        try:
            versions = self.engine.catalog.versions(product_id)
        except NotFound:
            versions = []
        if not call.partner.sells(product_id) or not any(OPEN_API in pv.channels for pv in versions):
            raise Problem("PK621", f"no product {product_id!r} for this partner")

    def owned(self, call: _Call, app_id: str) -> Application:
        """The application, when it is this partner's (else 404, as if it did not exist)."""
        call.application = app_id
        assert call.partner is not None
        owner = self.settings.store.owner(app_id)
        if owner is None or owner.partner != call.partner.id:
            raise Problem("PK621", f"no application {app_id!r} for this partner")
        call.product = owner.product
        try:
            with _problems():
                return self.engine.get(app_id)
        except Problem as problem:
            if problem.code in ("PK621", "PK624"):  # gone or malformed: as if it did not exist
                raise Problem("PK621", f"no application {app_id!r} for this partner") from None
            raise

    async def once(self, call: _Call, body: Mapping[str, Any], app_id: str | None,
                   act: Callable[[], tuple[int, bytes]]) -> Response:
        """Run ``act`` at most once per Idempotency-Key: a retry with the same key and body gets
        the first answer, a different body under the same key is 422."""
        key = call.request.headers.get("idempotency-key")
        assert call.partner is not None
        if key is None:
            status, data = await run_in_threadpool(act)
            return Response(data, status, media_type=_media(status))
        if not 0 < len(key) <= 128 or not key.isascii() or not key.isprintable() or " " in key:
            raise Problem("PK624", "Idempotency-Key is 1 to 128 visible ASCII characters",
                          errors=[{"path": "Idempotency-Key", "code": "pattern", "message": "not a valid key"}])
        request = _fingerprint(call.request.method, call.request.url.path, body)
        earlier = await run_in_threadpool(self.settings.store.remember, call.partner.id, key, request, app_id)
        if earlier is not None and earlier.request != request:
            raise Problem("PK628", "this Idempotency-Key was used with another request")
        if earlier is not None and earlier.status is not None and earlier.body is not None:
            replayed = 200 if earlier.status == 201 else earlier.status
            return Response(earlier.body, replayed, {"Idempotent-Replayed": "true"}, media_type=_media(replayed))
        try:
            status, data = await run_in_threadpool(act)
        except Problem as problem:
            if earlier is not None and problem.code == "PK625" and app_id is not None:
                # The first attempt got this far before the service stopped, and its step was
                # taken: the retry's answer is the application as it stands now.
                now = await run_in_threadpool(self.engine.get, app_id)
                data = _json(application_json(now, self.engine))
                await run_in_threadpool(self.settings.store.answer, call.partner.id, key, 200, data)
                return Response(data, 200, {"Idempotent-Replayed": "true"}, media_type="application/json")
            if problem.status in (409, 422):  # the same request would get the same answer
                await run_in_threadpool(self.settings.store.answer, call.partner.id, key, problem.status,
                                        bytes(problem.response(call.request.url.path).body))
            raise
        await run_in_threadpool(self.settings.store.answer, call.partner.id, key, status, data)
        return Response(data, status, media_type=_media(status))


def _depth(value: Any) -> int:
    """How deeply objects and arrays nest in ``value`` (iteratively: no recursion to exhaust)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        node, depth = todo.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                todo.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def _media(status: int) -> str:
    return "application/json" if status < 400 else "application/problem+json"


def _fingerprint(method: str, path: str, body: Mapping[str, Any]) -> str:
    text = json.dumps([method, path, body], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _log(call: _Call, status: int, seconds: float) -> None:
    log.info(json.dumps({"partner": call.partner.id if call.partner else None, "method": call.request.method,
                         "route": _route_of(call.request), "product": call.product,
                         "application": call.application, "status": status,
                         "ms": round(seconds * 1000, 1)}, sort_keys=True))


def _route_of(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", request.url.path)


def _operations(doc: Mapping[str, Any]) -> set[tuple[str, str, str]]:
    """(product, version, step) for each step submission the document offers."""
    out = set()
    for path in doc.get("paths", {}):
        parts = path.strip("/").split("/")
        if len(parts) == 8 and parts[0] == "products" and parts[2] == "versions" and parts[6] == "steps":
            out.add((parts[1], parts[3], parts[7]))
    return out


# ----------------------------------------------------------------- views


def application_json(app: Application, engine: Engine) -> dict[str, Any]:
    """An application as a partner reads it: status, outcome and the step it waits for."""
    status = {Status.ENDED: "ended", Status.AWAITING_INPUT: "waiting"}.get(app.status, "running")
    nxt = None
    if app.screen is not None and app.status == Status.AWAITING_INPUT:
        nxt = {"step": app.screen.step_id, "title": app.screen.title.model_dump(by_alias=True), "method": "POST",
               "href": f"/products/{app.product_id}/versions/{app.version}/applications/{app.id}/steps/"
                       f"{app.screen.step_id}",
               "shows": dict(app.screen.shows)}
    return {"id": app.id, "product": app.product_id, "version": app.version, "status": status,
            "outcome": str(app.outcome) if app.outcome is not None else None,
            "message": app.message.model_dump(by_alias=True) if app.message is not None else None,
            "next": nxt, "pending": list(app.pending), "due": app.due.isoformat() if app.due else None,
            "created": app.created.isoformat(), "updated": app.updated.isoformat(),
            "errors": [_field_error(e) for e in app.errors]}


def _field_error(e: FieldError) -> dict[str, Any]:
    return {"path": e.path, "code": e.code, "message": e.message, "rule": e.rule}


# ----------------------------------------------------------------- operations


async def _health(api: _Api, call: _Call) -> Response:
    return Response(_json({"status": "ok"}), media_type="application/json")


async def _ready(api: _Api, call: _Call) -> Response:
    readiness = await run_in_threadpool(api.engine.readiness, OPEN_API)
    body = {"status": "ready" if readiness.ready else "not-ready", "missing": list(readiness.missing)}
    return Response(_json(body), 200 if readiness.ready else 503, media_type="application/json")


async def _document(api: _Api, call: _Call) -> Response:
    return Response(api.document, media_type="application/json")


async def _list(api: _Api, call: _Call) -> Response:
    partner = call.partner
    assert partner is not None

    def offered() -> list[dict[str, Any]]:
        today = _today(api)
        out = []
        for pv in api.engine.catalog.products(OPEN_API, today):
            if partner.sells(pv.id):
                with _problems():
                    out.append(terms(pv.definition))
        return out
    return Response(_json({"products": await run_in_threadpool(offered)}), media_type="application/json")


async def _read_product(api: _Api, call: _Call) -> Response:
    product_id = call.request.path_params["product_id"]
    api.product(call, product_id)

    def read() -> dict[str, Any]:
        with _problems():
            today = _today(api)
            return terms(api.engine.catalog.current(product_id, OPEN_API, today).definition)
    return Response(_json(await run_in_threadpool(read)), media_type="application/json")


async def _read_application(api: _Api, call: _Call) -> Response:
    app = await run_in_threadpool(api.owned, call, call.request.path_params["application_id"])
    return Response(_json(application_json(app, api.engine)), media_type="application/json")


def _start_route(product_id: str) -> Handler:
    async def start(api: _Api, call: _Call) -> Response:
        api.product(call, product_id)
        body = await api.body(call)
        assert call.partner is not None
        context = await run_in_threadpool(_with_partner, api, product_id, body, call.partner)
        key = call.request.headers.get("idempotency-key")
        app_id = _derived_id(call.partner.id, key) if key else uuid.uuid4().hex
        call.application = app_id

        def act() -> tuple[int, bytes]:
            store = api.settings.store
            store.own(app_id, call.partner.id if call.partner else "", product_id)  # before: a crash keeps it
            try:
                with _problems():
                    app = api.engine.start(product_id, OPEN_API, context, application_id=app_id)
            except Problem:
                if not api.engine.store.get(app_id):
                    store.disown(app_id)  # refused, nothing started: nothing to own
                raise
            return 201, _json(application_json(app, api.engine))
        return await api.once(call, body, app_id, act)
    return start


def _submit_route(product_id: str, version: str, step_id: str) -> Handler:
    async def submit(api: _Api, call: _Call) -> Response:
        api.product(call, product_id)
        app_id = call.request.path_params["application_id"]
        app = await run_in_threadpool(api.owned, call, app_id)
        if app.product_id != product_id or app.version != version:
            raise Problem("PK621", f"no application {app_id!r} of {product_id}@{version} for this partner")
        body = await api.body(call)

        def act() -> tuple[int, bytes]:
            with _problems():
                after = api.engine.submit(app_id, step_id, body)
            if after.errors:
                raise Problem("PK624", f"the payload of step '{step_id}' does not fit the product",
                              errors=[_field_error(e) for e in after.errors])
            return 200, _json(application_json(after, api.engine))
        return await api.once(call, body, app_id, act)
    return submit


async def _cancel(api: _Api, call: _Call) -> Response:
    app_id = call.request.path_params["application_id"]
    await run_in_threadpool(api.owned, call, app_id)
    body = await api.body(call)
    reason = body.get("reason")
    if set(body) != {"reason"} or not isinstance(reason, str) or not 0 < len(reason) <= 200:
        raise Problem("PK624", "the body is {\"reason\": text of 1 to 200 characters}",
                      errors=[{"path": "reason", "code": "type", "message": "expected text of 1 to 200 characters"}])

    def act() -> tuple[int, bytes]:
        with _problems():
            app = api.engine.cancel(app_id, "customer", reason)
        return 200, _json(application_json(app, api.engine))
    return await api.once(call, body, app_id, act)


def _with_partner(api: _Api, product_id: str, body: dict[str, Any], partner: Partner) -> dict[str, Any]:
    """The start context with the calling partner's id where the product declares ``partner.id``
    (the version on sale today decides; only its files are read)."""
    with _problems():
        today = _today(api)
        declared = PARTNER_CONTEXT in api.engine.catalog.current(product_id, OPEN_API, today).definition.context
    if not declared:
        return body
    given = body.get("partner", {})
    if not isinstance(given, dict):
        raise Problem("PK624", "partner is an object", errors=[{"path": "partner", "code": "type",
                                                                 "message": "expected an object"}])
    if "id" in given and given["id"] != partner.id:
        raise Problem("PK624", "partner.id is set from the API key and may not name another partner",
                      errors=[{"path": PARTNER_CONTEXT, "code": "const", "message": "not the calling partner"}])
    return {**body, "partner": {**given, "id": partner.id}}


def _today(api: _Api) -> dt.date:
    """Today on the build's business calendar: what decides which version is on sale."""
    return api.engine.catalog.business_date(api.engine.clock())


def _derived_id(partner: str, key: str) -> str:
    """The application id a start with this Idempotency-Key gets: the same on every retry, so a
    retry after a crash finds the application the first attempt started instead of a second."""
    return hashlib.sha256(f"{partner}\0{key}".encode()).hexdigest()[:32]


@contextlib.contextmanager
def _problems() -> Iterator[None]:
    """The engine's refusals, raised inside, as the API's problems."""
    try:
        yield
    except EngineError as exc:
        problem = _problem_of(exc)
        if problem is None:
            raise
        raise problem from None


def _problem_of(exc: EngineError) -> Problem | None:
    if isinstance(exc, CatalogError):  # a version whose files fail verification: refused, not served
        log.error("%s", exc)
        return Problem("PK632", "this product cannot be served now: its build files fail verification")
    if isinstance(exc, NotEligible):
        return Problem("PK623", str(exc), rules=list(exc.rules))
    if isinstance(exc, InvalidContext):
        return Problem("PK624", "the start payload does not fit the product",
                       errors=[_field_error(e) if isinstance(e, FieldError) else
                               {"path": "", "code": "type", "message": str(e)} for e in exc.errors])
    if isinstance(exc, NotOffered):
        return Problem("PK622", str(exc))
    if isinstance(exc, NotReady | HandlerMissing):
        return Problem("PK629", str(exc))
    if isinstance(exc, InvalidState):
        return Problem("PK625", str(exc))
    if isinstance(exc, NotFound):
        return Problem("PK621", str(exc))
    if isinstance(exc, InvalidArgument):
        return Problem("PK624", str(exc))
    return None


def create_app(engine: Engine, settings: ApiSettings) -> Starlette:
    """The ASGI application serving the open API of ``engine``'s build."""
    api = _Api(engine, settings)
    routes = [
        Route("/healthz", api.route(_health, public=True)),
        Route("/readyz", api.route(_ready, public=True)),
        Route("/openapi.json", api.route(_document, public=True)),
        Route("/products", api.route(_list)),
        Route("/applications/{application_id}", api.route(_read_application)),
        Route("/applications/{application_id}/cancel", api.route(_cancel), methods=["POST"]),
    ]
    products = sorted({p for p, _, _ in api.operations} | _started(api))
    for product_id in products:
        routes.append(Route(f"/products/{product_id}/applications", api.route(_start_route(product_id)),
                            methods=["POST"]))
    for product_id, version, step_id in sorted(api.operations):
        routes.append(Route(f"/products/{product_id}/versions/{version}/applications/{{application_id}}/steps/"
                            f"{step_id}", api.route(_submit_route(product_id, version, step_id)), methods=["POST"]))
    routes.append(Route("/products/{product_id}", api.route(_read_product)))
    app = Starlette(routes=routes)
    app.state.engine = engine  # for the server's own timer thread and for tests
    return app


def _started(api: _Api) -> set[str]:
    """Products the document lets a partner start (those with a start operation)."""
    doc = orjson.loads(api.document)
    return {path.split("/")[2] for path in doc.get("paths", {})
            if path.startswith("/products/") and path.endswith("/applications") and path.count("/") == 3}
