"""A hand-written subset of the SARIF 2.1.0 schema: the parts productkit writes."""

from __future__ import annotations

from typing import Any

_MESSAGE = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}
_REGION = {"type": "object", "required": ["startLine"],
           "properties": {"startLine": {"type": "integer", "minimum": 1},
                          "startColumn": {"type": "integer", "minimum": 1}}}
_PHYSICAL = {"type": "object", "required": ["artifactLocation"],
             "properties": {"artifactLocation": {"type": "object", "required": ["uri"],
                                                 "properties": {"uri": {"type": "string",
                                                                        "minLength": 1}}},
                            "region": _REGION}}
SARIF_SUBSET: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string", "format": "uri"},
        "runs": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["tool", "results"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
                    "type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string"}, "rules": {"type": "array", "items": {
                        "type": "object", "required": ["id"],
                        "properties": {"id": {"type": "string"},
                                       "shortDescription": _MESSAGE}}}}}}},
                "results": {"type": "array", "items": {
                    "type": "object", "required": ["message", "ruleId", "locations"],
                    "properties": {
                        "ruleId": {"type": "string", "pattern": "^PK[0-9]{3}$"},
                        "ruleIndex": {"type": "integer", "minimum": 0},
                        "level": {"enum": ["none", "note", "warning", "error"]},
                        "message": _MESSAGE,
                        "locations": {"type": "array", "items": {
                            "type": "object", "properties": {"physicalLocation": _PHYSICAL}}},
                        "relatedLocations": {"type": "array", "items": {
                            "type": "object",
                            "properties": {"id": {"type": "integer", "minimum": -1},
                                           "message": _MESSAGE,
                                           "physicalLocation": _PHYSICAL}}},
                    }}},
            }}},
    },
}
