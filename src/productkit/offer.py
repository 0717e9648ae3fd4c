"""What a partner platform is told about a product version it may sell: its terms.

Shared by the OpenAPI target (the documented example) and ``productkit serve`` (the response),
so the document and the service describe a product with the same words. Only the compiled
workflow definition is read: parameters with their values, the effective dates, the channels and
the eligibility rules in both languages.
"""

from __future__ import annotations

from typing import Any

from .ir import WorkflowDefinition

__all__ = ["OPEN_API", "PARTNER_CONTEXT", "PROBLEMS", "TERMS_SCHEMA", "terms"]

OPEN_API = "open-api"
# A product that declares this context path gets the calling partner's id there, from its API
# key: a partner never states (or forges) who it is in a payload.
PARTNER_CONTEXT = "partner.id"

# Codes of the problems the open API answers with (runtime stage). Stable: never renumber.
PROBLEMS: dict[str, tuple[int, str]] = {
    "PK620": (401, "no API key, or a key that is not valid"),
    "PK621": (404, "no such product or application for this partner"),
    "PK622": (409, "the product is not on sale on the open API today"),
    "PK623": (422, "the applicant is not eligible"),
    "PK624": (422, "the payload does not fit the product"),
    "PK625": (409, "the application is not waiting for this step, or has ended"),
    "PK626": (429, "rate limit used up"),
    "PK627": (413, "request body too large"),
    "PK628": (422, "Idempotency-Key reused with a different request"),
    "PK629": (503, "a handler the product needs is not registered"),
    "PK630": (400, "the request body is not a JSON object"),
    "PK631": (415, "the request body is not application/json"),
    "PK632": (503, "the product's build files fail verification; it cannot be served"),
}

_LABEL = {"type": "object", "required": ["zh-CN", "en"], "additionalProperties": False,
          "properties": {"zh-CN": {"type": "string"}, "en": {"type": "string"}}}

TERMS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "version", "name", "effective", "channels", "parameters", "eligibility"],
    "properties": {
        "id": {"type": "string"},
        "version": {"type": "string"},
        "name": _LABEL,
        "description": {"type": ["string", "null"]},
        "effective": {"type": "object", "required": ["from", "until"], "properties": {
            "from": {"type": ["string", "null"], "format": "date"},
            "until": {"type": ["string", "null"], "format": "date"}}},
        "channels": {"type": "array", "items": {"type": "string"}},
        "parameters": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["type", "value"], "properties": {
                "type": {"type": "string"},
                "value": {"description": "exact decimals, percents and money amounts as text"},
                "currency": {"type": ["string", "null"]},
                "unit": {"type": ["string", "null"]},
                "title": {"oneOf": [_LABEL, {"type": "null"}]},
                "schedule": {"type": "array", "description": "dated values (campaigns) by application date",
                             "items": {"type": "object", "required": ["from", "until", "value"], "properties": {
                                 "from": {"type": "string", "format": "date"},
                                 "until": {"type": ["string", "null"], "format": "date"}, "value": {}}}}}}},
        "eligibility": {"type": "array", "items": {
            "type": "object", "required": ["id", "message"], "properties": {
                "id": {"type": "string"}, "message": _LABEL}}},
    },
}


def terms(defn: WorkflowDefinition) -> dict[str, Any]:
    """The terms of ``defn`` as JSON: parameters and their values, effective dates, channels and
    the eligibility rules in words (their bilingual messages, never the expressions)."""
    return {
        "id": defn.id,
        "version": defn.version,
        "name": defn.name.model_dump(by_alias=True),
        "description": defn.description,
        "effective": {"from": defn.effective.from_, "until": defn.effective.until},
        "channels": list(defn.channels),
        "parameters": {name: {"type": p.type, "value": p.value, "currency": p.currency, "unit": p.unit,
                              "title": p.title.model_dump(by_alias=True) if p.title else None,
                              "schedule": [s.model_dump(by_alias=True) for s in p.schedule]}
                       for name, p in sorted(defn.parameters.items())},
        "eligibility": [{"id": r.id, "message": r.message.model_dump(by_alias=True)}
                        for r in defn.rules if r.kind == "eligibility"],
    }
