"""schemas/ holds exactly the generated schemas, and the kind schemas are as strict as the models."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from productkit.schema import EXAMPLES, schema_files

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def test_schema_folder_equals_the_generated_schemas() -> None:
    committed = {p.name: p.read_text(encoding="utf-8") for p in sorted(SCHEMAS.glob("*.json"))}
    generated = schema_files()
    extra = sorted(committed.keys() - generated.keys())
    assert not extra, f"schemas/ holds files no kind generates ({', '.join(extra)}): delete them"
    stale = sorted(n for n in generated if committed.get(n) != generated[n])
    assert not stale, f"schemas/ is stale ({', '.join(stale)}): run `make schemas`"


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_kind_schema_rejects_an_unknown_field(kind: str) -> None:
    """The models forbid unknown fields (PK103); an editor using the schema must flag them too."""
    validator = jsonschema.Draft202012Validator(json.loads(schema_files()[f"{kind}.schema.json"]))
    misspelt = {**EXAMPLES[kind], "paramters": {}}
    assert any(e.validator == "additionalProperties" for e in validator.iter_errors(misspelt))
