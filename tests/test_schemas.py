"""The editor schemas: generated from the models, current, valid 2020-12, examples pass."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from productkit.schema import EXAMPLES, schema_files

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


@pytest.mark.parametrize("name", sorted(schema_files()))
def test_committed_schema_is_current(name: str) -> None:
    committed = (SCHEMAS / name).read_text(encoding="utf-8") if (SCHEMAS / name).exists() else None
    assert committed == schema_files()[name], f"schemas/{name} is stale: run `make schemas`"


@pytest.mark.parametrize("name", sorted(schema_files()))
def test_schema_passes_the_meta_schema(name: str) -> None:
    schema = json.loads(schema_files()[name])
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_example_validates_and_a_wrong_kind_does_not(kind: str) -> None:
    validator = jsonschema.Draft202012Validator(json.loads(schema_files()[f"{kind}.schema.json"]))
    assert list(validator.iter_errors(EXAMPLES[kind])) == []
    wrong = {**EXAMPLES[kind], "kind": "Nonsense"}
    assert any(e.validator == "const" for e in validator.iter_errors(wrong))
