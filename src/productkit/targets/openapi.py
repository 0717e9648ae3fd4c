"""The OpenAPI target: every product version offered on the ``open-api`` channel, described as an
HTTP API partner platforms call (OpenAPI 3.1), served by ``productkit serve``.

Per product version the target writes ``openapi/<id>@<version>.json``: the request bodies of its
start and of each open-API step. Those bodies are the built forms' schemas themselves (the start
body is the product's context, the same declarations the engine checks), so the document cannot
say something else than what the engine validates. :meth:`OpenApiTarget.combine` joins the parts
of the versions still offered on the release date into ``openapi.json``, with examples taken from
the products' scenarios that the schemas accept, and checks every embedded schema against the
form file it came from.

Errors are RFC 9457 ``application/problem+json`` documents carrying productkit's runtime codes
(:data:`PROBLEMS`) and, for field errors, the data path of each field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from ..cache import digest, open_cache
from ..forms import data_schema, forms_of
from ..ir import WorkflowDefinition, compact_json, load
from ..offer import OPEN_API, PARTNER_CONTEXT, PROBLEMS, TERMS_SCHEMA, terms
from .base import BuildView, Emitted, Target, register

__all__ = ["DOCUMENT", "OpenApiTarget"]

DOCUMENT = "openapi.json"
PART_FORMAT = "productkit.openapi-part/1"
_VERSION = "3.1.0"
START = "_start"  # the start body's schema name: a step id starts with a letter, so none clashes
_MAX_EXAMPLES = 5  # per body: enough to show the shapes, few enough to read


def _part(defn: WorkflowDefinition) -> dict[str, Any]:
    """What one product version adds to the document: its start body and step bodies."""
    forms = forms_of(defn)
    context = [(p, f) for p, f in defn.context.items()
               if p != PARTNER_CONTEXT and (f.channels is None or OPEN_API in f.channels)]
    steps = {sid: per[OPEN_API]["schema"] for sid, per in forms.items() if OPEN_API in per}
    return {"format": PART_FORMAT, "product": defn.id, "version": defn.version,
            "start": data_schema(context, f"{defn.name.en}: start"),
            "steps": steps, "journey": list(defn.journeys.get(OPEN_API, [])),
            "terms": terms(defn)}


@register
class OpenApiTarget(Target[Any, None]):
    """``openapi/<id>@<version>.json`` per product version on open-api; ``openapi.json`` for all."""

    name = "openapi"
    suffix = ".json"
    description = "OpenAPI 3.1 document of the products offered on the open-api channel"

    def emit(self, defn: WorkflowDefinition) -> Emitted:
        if OPEN_API not in defn.channels:
            return Emitted(self.name, {}, (), "")
        where = self.location(defn)
        return Emitted(self.name, {where: compact_json(_part(defn)).encode("utf-8")}, (), where)

    def combine(self, parts: Mapping[str, bytes], build: BuildView) -> dict[str, bytes]:
        offered = sorted((part for part in (orjson.loads(data) for data in parts.values())
                          if _offered(part, build.release_date)),
                         key=_product_version)
        examples = _examples(build, offered)
        return {DOCUMENT: compact_json(document(offered, examples, build.release_date)).encode("utf-8")}

    def verify(self, files: Mapping[str, bytes], build: BuildView | None = None) -> Iterator[tuple[str, str]]:
        """The document passes the OpenAPI 3.1 specification's schema (openapi-spec-validator
        when installed), each embedded body schema is valid draft-07 and equal to the form file
        of the build it was taken from."""
        data = files.get(DOCUMENT)
        if data is None:
            return
        doc = orjson.loads(data)
        if build is not None:
            forms = {n: build.files[n] for n in build.files  # bytes read only for the open API forms
                     if n.startswith("forms/") and n.endswith(f".{OPEN_API}.json")}
            yield from ((DOCUMENT, problem) for problem in parts_problems(doc, forms))
        slot = os.fspath(build.root) if build is not None else "document"
        yield from ((DOCUMENT, problem) for problem in self._document_problems(data, doc, slot))

    def _document_problems(self, data: bytes, doc: Mapping[str, Any], slot: str = "document") -> list[str]:
        """What the meta-schemas say of the document: worked out once per document's bytes (the
        specification's schema takes seconds on a bank's document; the user cache remembers the
        verdict on each catalogue's last document, ``slot``, so that builds of two catalogues do
        not take turns undoing each other's)."""
        cache = open_cache(self.options.cache)
        key = digest(hashlib.sha256(data).hexdigest(), *_checker_versions())
        if cache is not None:
            hit = cache.get("openapi-checked", slot, key)
            if isinstance(hit, list) and all(isinstance(p, str) for p in hit):
                return hit
        from jsonschema import Draft7Validator

        problems = []
        for name, schema in sorted(doc.get("components", {}).get("schemas", {}).items()):
            try:
                Draft7Validator.check_schema(schema)
            except Exception as exc:  # jsonschema's SchemaError and its kin
                problems.append(f"schema {name} is not a valid JSON Schema: {exc}")
        problems += [problem for _, problem in _spec_problems(doc)]
        if cache is not None:
            cache.put("openapi-checked", slot, key, problems)
        return problems


def _product_version(part: Mapping[str, Any]) -> tuple[str, Any]:
    import semantic_version

    return part["product"], semantic_version.Version(part["version"])


def _checker_versions() -> list[str]:
    from importlib import metadata

    found = []
    for name in ("jsonschema", "openapi-spec-validator"):
        try:
            found.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}: not installed")
    return found


def _spec_problems(doc: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    try:
        from openapi_spec_validator import validate
        from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
    except ImportError:  # an optional checker: the runtime and the build do not need it
        return
    try:
        validate(dict(doc))
    except OpenAPIValidationError as exc:
        yield DOCUMENT, f"fails the OpenAPI 3.1 specification: {exc.message}"


def _offered(part: Mapping[str, Any], on: dt.date) -> bool:
    """Still offered on or after the release date (a version whose last day has passed is not)."""
    until = part["terms"]["effective"]["until"]
    return until is None or dt.date.fromisoformat(until) >= on


# ----------------------------------------------------------------- the document


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem_response(text: str) -> dict[str, Any]:
    return {"description": text, "content": {"application/problem+json": {"schema": _ref("Problem")}}}


_RATE_HEADERS = {"Retry-After": {"description": "seconds to wait before the next request",
                                 "schema": {"type": "integer", "minimum": 0}}}


def _errors(*statuses: int) -> dict[str, Any]:
    """The problem responses of ``statuses``, by reference: each is written once, in
    ``components.responses``, not once per operation."""
    return {str(status): _response_ref(_problem_name(status)) for status in statuses}


def _problem_name(status: int) -> str:
    return f"Problem{status}"


def _response_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _parameter_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _shared_responses() -> dict[str, Any]:
    """The responses operations share: every problem status, and a step's result."""
    out = {_problem_name(status): _problem_response(text) for status, text in PROBLEMS_BY_STATUS.items()}
    out[_problem_name(429)]["headers"] = _RATE_HEADERS
    out[_STEP_DONE] = _ok("the application after the step (its next step, or its outcome)", "Application")["200"]
    return out


_STEP_DONE = "StepDone"
_APP_ID, _IDEMPOTENCY_KEY = "ApplicationId", "IdempotencyKey"


PROBLEMS_BY_STATUS = {
    400: "the request is not JSON, or not an object",
    401: "no API key, or a key that is not valid",
    404: "no such product or application for this partner",
    409: "the application is not waiting for this step, or the product is not on sale today",
    413: "the request body is larger than the service accepts",
    415: "the request body is not application/json",
    422: "the payload does not fit the product (field errors name each path), the applicant is not "
         "eligible, or an Idempotency-Key is reused with another body",
    429: "the partner's rate limit is used up",
    503: "the service cannot run this product now (a handler it needs is not registered, or its build "
         "files fail verification)",
}

_AUTHED = (401, 404, 429, 503)
_POSTED = (400, 413, 415, 422)

_IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
                "description": "a key the partner chooses per operation; retrying with the same key and "
                               "the same body returns the first result, never a second application",
                "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[\\x21-\\x7e]+$"}}


def _app_id_param() -> dict[str, Any]:
    return {"name": "application_id", "in": "path", "required": True,
            "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}}


def _schema_name(product: str, version: str, what: str) -> str:
    safe = f"{product}@{version}.{what}".replace("@", "_").replace("/", "_")
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in safe)


def _json_body(schema_name: str, examples: Mapping[str, Any]) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": _ref(schema_name)}
    if examples:
        media["examples"] = {k: {"value": v} for k, v in sorted(examples.items())}
    return {"required": True, "content": {"application/json": media}}


def _ok(description: str, schema: str, status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}}


def document(parts: list[dict[str, Any]], examples: Mapping[str, Mapping[str, Any]],
             release: dt.date) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the product versions in ``parts``."""
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA, "Application": APPLICATION_SCHEMA,
                               "Terms": TERMS_SCHEMA, "ProductList": PRODUCT_LIST_SCHEMA,
                               "Cancel": CANCEL_SCHEMA, "Health": HEALTH_SCHEMA}
    by_product: dict[str, list[dict[str, Any]]] = {}
    for part in parts:
        by_product.setdefault(part["product"], []).append(part)
    paths: dict[str, Any] = {**_common_paths(sorted(by_product))}
    for product, versions in sorted(by_product.items()):
        paths.update(_product_paths(product, versions, schemas, examples))
    return {
        "openapi": _VERSION,
        "info": {"title": "productkit open API",
                 "version": release.isoformat(),
                 "description": "Products a partner platform may sell, and their applications. Every "
                                "request carries `Authorization: Bearer <API key>`; a partner sees only the "
                                "products its key allows and only its own applications. Exact decimals, "
                                "percents and money amounts travel as text."},
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "security": [{"apiKey": []}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items())),
                       "responses": _shared_responses(),
                       "parameters": {_APP_ID: _app_id_param(), _IDEMPOTENCY_KEY: _IDEMPOTENCY},
                       "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                                      "description": "the partner's API key"}}},
    }


def _common_paths(products: list[str]) -> dict[str, Any]:
    unsecured: list[dict[str, list[str]]] = []
    product_id: dict[str, Any] = {"type": "string", "description": "a product id offered on the open API"}
    if products:
        product_id["examples"] = products
    return {
        "/products": {"get": {
            "operationId": "listProducts", "summary": "The products this partner may sell today, with their terms",
            "responses": {**_ok("products on sale on the open API", "ProductList"), **_errors(401, 429, 503)}}},
        "/products/{product_id}": {"get": {
            "operationId": "readProduct", "summary": "One product's terms (the version on sale today)",
            "parameters": [{"name": "product_id", "in": "path", "required": True, "schema": product_id}],
            "responses": {**_ok("the product's terms", "Terms"), **_errors(*_AUTHED, 409)}}},
        "/applications/{application_id}": {"get": {
            "operationId": "readApplication", "summary": "An application's status and the next step it needs",
            "parameters": [_parameter_ref(_APP_ID)],
            "responses": {**_ok("the application", "Application"), **_errors(*_AUTHED)}}},
        "/applications/{application_id}/cancel": {"post": {
            "operationId": "cancelApplication", "summary": "Cancel an application on the customer's behalf",
            "parameters": [_parameter_ref(_APP_ID), _parameter_ref(_IDEMPOTENCY_KEY)],
            "requestBody": _json_body("Cancel", {}),
            "responses": {**_ok("the application, cancelled (compensations run)", "Application"),
                          **_errors(*_AUTHED, *_POSTED, 409)}}},
        "/healthz": {"get": {"operationId": "health", "summary": "The service is up", "security": unsecured,
                             "responses": _ok("up", "Health")}},
        "/readyz": {"get": {"operationId": "ready", "security": unsecured,
                            "summary": "Ready: every handler the offered products need is registered",
                            "responses": {**_ok("ready", "Health"),
                                          "503": {"description": "not ready; `missing` names the handlers",
                                                  "content": {"application/json": {"schema": _ref("Health")}}}}}},
    }


def _linked(responses: dict[str, Any], status: str, versions: list[dict[str, Any]]) -> dict[str, Any]:
    """OpenAPI links from a started application to what a partner does with it next."""
    app_id = {"application_id": "$response.body#/id"}
    links: dict[str, Any] = {"readApplication": {"operationId": "readApplication", "parameters": app_id},
                             "cancelApplication": {"operationId": "cancelApplication", "parameters": app_id}}
    for part in versions:
        for sid in part["journey"]:
            if sid in part["steps"]:
                links[f"submit-{part['version']}-{sid}"] = {
                    "operationId": f"submit:{part['product']}@{part['version']}:{sid}", "parameters": app_id}
    responses[status]["links"] = links
    return responses


def _product_paths(product: str, versions: list[dict[str, Any]], schemas: dict[str, Any],
                   examples: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    starts = []
    for part in versions:
        version = part["version"]
        start = _schema_name(product, version, START)
        schemas[start] = part["start"]
        starts.append(_ref(start))
        for sid in part["journey"]:
            if sid not in part["steps"]:
                continue
            name = _schema_name(product, version, sid)
            schemas[name] = part["steps"][sid]
            paths[f"/products/{product}/versions/{version}/applications/{{application_id}}/steps/{sid}"] = {"post": {
                "operationId": f"submit:{product}@{version}:{sid}",
                "summary": f"{part['terms']['name']['en']}: submit step '{sid}'",
                "parameters": [_parameter_ref(_APP_ID), _parameter_ref(_IDEMPOTENCY_KEY)],
                "requestBody": _json_body(name, examples.get(name, {})),
                "responses": {"200": _response_ref(_STEP_DONE), **_errors(*_AUTHED, *_POSTED, 409)}}}
    body: dict[str, Any] = {"required": True, "content": {"application/json": {
        "schema": starts[0] if len(starts) == 1 else {"anyOf": starts}}}}  # versions may accept the same body
    start_examples = {k: v for part in versions
                      for k, v in examples.get(_schema_name(product, part["version"], START), {}).items()}
    if start_examples:
        body["content"]["application/json"]["examples"] = {k: {"value": v} for k, v in sorted(start_examples.items())}
    newest = versions[-1]["terms"]["name"]["en"]
    paths[f"/products/{product}/applications"] = {"post": {
        "operationId": f"start:{product}", "summary": f"{newest}: start an application (the version on sale today)",
        "parameters": [_parameter_ref(_IDEMPOTENCY_KEY)], "requestBody": body,
        "responses": {**_linked(_ok("the application, at its first step or its outcome", "Application", "201"),
                                "201", versions),
                      "200": {"description": "the application an earlier request with the same "
                                             "Idempotency-Key started",
                              "content": {"application/json": {"schema": _ref("Application")}}},
                      **_errors(*_AUTHED, *_POSTED, 409)}}}
    return paths


# ----------------------------------------------------------------- examples from scenarios


def _examples(build: BuildView, parts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """schema name -> example name -> value, from the open-API scenarios of the products, each
    kept only when the schema it illustrates accepts it."""
    from ..sources import discover_scenarios

    wanted = {(p["product"], p["version"]): p for p in parts}
    if not wanted:
        return {}
    paths = discover_scenarios(build.root) if build.scenarios is None else build.scenarios
    if not paths:
        return {}  # (nor are the scenario models loaded)
    from .._scenario_check import expand
    from .._scenario_data import values_of
    from ..scenarios import load_selected

    loaded, _ = load_selected(build.root, sorted({p for p, _ in wanted}), paths)
    out: dict[str, dict[str, Any]] = {}
    for file in loaded:
        part = _part_for(file.spec.product, file.spec.version, parts)
        defn = _definition(build, part)
        if part is None or defn is None:
            continue
        for sc in expand(file.spec):
            if sc.channel != OPEN_API:
                continue
            context = {k: v for k, v in values_of(sc.context, defn).items() if k != PARTNER_CONTEXT}
            _keep(out, _schema_name(defn.id, defn.version, START), part["start"], sc.id, _nested(context))
            for sid, raw in sc.inputs.items():
                if sid in part["steps"]:
                    step = defn.steps[sid]
                    _keep(out, _schema_name(defn.id, defn.version, sid), part["steps"][sid], sc.id,
                          _nested(values_of(raw, defn, step.fields)))
    return out


def _part_for(product: str, version: str | None, parts: list[dict[str, Any]]) -> dict[str, Any] | None:
    mine = [p for p in parts if p["product"] == product and (version is None or p["version"] == version)]
    return mine[-1] if mine else None


def _definition(build: BuildView, part: Mapping[str, Any] | None) -> WorkflowDefinition | None:
    if part is None:
        return None
    data = build.files.get(f"definitions/{part['product']}@{part['version']}.json")
    return load(data) if data is not None else None


def _keep(out: dict[str, dict[str, Any]], name: str, schema: Mapping[str, Any], example: str,
          value: dict[str, Any]) -> None:
    """Keep ``value`` as an example of ``name`` if the schema accepts it and no kept example is
    the same (scenarios that start alike give one example, named after the first)."""
    from jsonschema import Draft7Validator

    kept = out.setdefault(name, {})
    if (len(kept) < _MAX_EXAMPLES and value not in kept.values()
            and Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER).is_valid(value)):
        kept[example] = value


def _nested(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in sorted(flat.items()):
        node = out
        *parents, leaf = path.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[leaf] = value
    return out


# ----------------------------------------------------------------- response schemas

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["type", "title", "status", "code"],
    "description": "RFC 9457 problem details with productkit's code and, for field errors, each field's path",
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "code": {"type": "string", "enum": sorted(PROBLEMS)},
        "errors": {"type": "array", "items": {"type": "object", "required": ["path", "code", "message"],
                                              "properties": {"path": {"type": "string"}, "code": {"type": "string"},
                                                             "message": {"type": "string"},
                                                             "rule": {"type": ["string", "null"]}}}},
        "rules": {"type": "array", "items": {"type": "string"}},
    },
}

_NEXT = {"type": ["object", "null"], "required": ["step", "title", "method", "href"], "properties": {
    "step": {"type": "string"}, "title": {"type": "object"}, "method": {"const": "POST"},
    "href": {"type": "string"}, "shows": {"type": "object"}}}

APPLICATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "product", "version", "status", "outcome", "next", "created", "updated"],
    "properties": {
        "id": {"type": "string"}, "product": {"type": "string"}, "version": {"type": "string"},
        "status": {"type": "string", "enum": ["running", "waiting", "ended"]},
        "outcome": {"type": ["string", "null"]},
        "message": {"type": ["object", "null"]},
        "next": _NEXT,
        "pending": {"type": "array", "items": {"type": "string"}},
        "due": {"type": ["string", "null"]},
        "created": {"type": "string"}, "updated": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}

PRODUCT_LIST_SCHEMA: dict[str, Any] = {"type": "object", "required": ["products"], "properties": {
    "products": {"type": "array", "items": _ref("Terms")}}}

CANCEL_SCHEMA: dict[str, Any] = {"type": "object", "required": ["reason"], "additionalProperties": False,
                                 "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 200}}}

HEALTH_SCHEMA: dict[str, Any] = {"type": "object", "required": ["status"], "properties": {
    "status": {"type": "string", "enum": ["ok", "ready", "not-ready"]},
    "missing": {"type": "array", "items": {"type": "string"}}}}


def parts_problems(doc: Mapping[str, Any], forms: Mapping[str, bytes]) -> Iterator[str]:
    """Each body schema of ``doc`` that differs from the form it came from (``forms``: build name
    -> bytes of the forms target's files)."""
    schemas = doc.get("components", {}).get("schemas", {})
    for name, data in sorted(forms.items()):
        if not name.endswith(f".{OPEN_API}.json"):
            continue
        form = orjson.loads(data)
        key = name.split("/")[1]
        product, version = key.rsplit("@", 1)
        mine = schemas.get(_schema_name(product, version, form["step"]))
        if mine is not None and mine != form["schema"]:
            yield f"{name}: the OpenAPI body of step '{form['step']}' differs from the form"

