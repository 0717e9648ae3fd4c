"""SARIF checked against the official OASIS SARIF 2.1.0 JSON Schema (draft-04), vendored in
``tools/sarif/`` with its provenance, with formats checked (``uri``, ``uri-reference``)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "tools" / "sarif" / "sarif-schema-2.1.0.json"


@functools.cache
def _validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    checker = jsonschema.FormatChecker()  # every known format: draft-04 has no "uri-reference"
    assert {"uri", "uri-reference"} <= set(checker.checkers), "rfc3986-validator is needed to check URIs"
    return jsonschema.Draft4Validator(schema, format_checker=checker)


def sarif_problems(log: Any) -> list[str]:
    """Every way ``log`` breaks the official schema, as 'path: message' lines."""
    errors = sorted(_validator().iter_errors(log), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def validate_sarif(log: Any) -> None:
    """Fail with every problem when ``log`` is not valid SARIF 2.1.0."""
    problems = sarif_problems(log)
    assert not problems, "\n".join(problems)
