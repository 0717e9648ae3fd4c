"""JSON Schemas (2020-12) of the document kinds, generated from the models, for editors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .model import KINDS

__all__ = ["EXAMPLES", "kind_schema", "schema_files", "write_schemas"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"

EXAMPLES: dict[str, dict[str, Any]] = {
    "ProcessComponent": {
        "apiVersion": "productkit/v1", "kind": "ProcessComponent", "id": "kyc.identity-verification",
        "version": "2.1.0", "title": {"zh-CN": "身份核验", "en": "Identity verification"},
        "handler": "risk.kyc.verify-identity", "provides": ["kyc"],
    },
    "UIComponent": {
        "apiVersion": "productkit/v1", "kind": "UIComponent", "id": "ui.otp-confirmation",
        "version": "1.0.0", "title": {"zh-CN": "短信验证码", "en": "OTP confirmation"},
        "channels": ["mobile", "web"],
    },
    "Product": {
        "apiVersion": "productkit/v1", "kind": "Product", "id": "deposit.time-1y",
        "version": "1.0.0", "name": {"zh-CN": "一年期定期存款", "en": "1-year time deposit"},
        "extends": "deposit.time@^1", "effective": {"from": "T+1"},
    },
    "ProductLine": {
        "apiVersion": "productkit/v1", "kind": "ProductLine", "id": "deposit.time",
        "version": "1.0.0", "name": {"zh-CN": "定期存款", "en": "Time deposits"},
    },
    "ParameterDictionary": {
        "apiVersion": "productkit/v1", "kind": "ParameterDictionary", "id": "dict.deposit",
        "version": "1.0.0", "title": {"zh-CN": "存款参数", "en": "Deposit parameters"},
        "parameters": {"annual_rate": {"type": "percent", "title": {"zh-CN": "年利率", "en": "Annual rate"}}},
    },
}


def kind_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one kind, with the dialect, an id, a title and an example."""
    schema = KINDS[kind].model_json_schema(by_alias=True, mode="validation")
    schema["properties"]["kind"] = {"const": kind, "description": "the document kind"}
    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind"})
    out = {"$schema": DIALECT, "$id": f"https://productkit.dev/schemas/v1/{kind}.schema.json",
           **schema}
    out["title"] = f"productkit {kind}"
    out["examples"] = [EXAMPLES[kind]]
    return out


def schema_files() -> dict[str, str]:
    """File name -> text of every schema, deterministic."""
    files = {f"{kind}.schema.json": json.dumps(kind_schema(kind), ensure_ascii=False, indent=2,
                                               sort_keys=True) + "\n" for kind in sorted(KINDS)}
    from .ir import workflow_schema

    files["WorkflowDefinition.schema.json"] = json.dumps(workflow_schema(), ensure_ascii=False, indent=2,
                                                         sort_keys=True) + "\n"
    from .scenarios import scenario_schema

    files["Scenario.schema.json"] = json.dumps(scenario_schema(), ensure_ascii=False, indent=2,
                                               sort_keys=True) + "\n"
    return files


def write_schemas(out: Path, check: bool = False) -> list[str]:
    """Write (or with ``check`` only compare) the schemas; returns the names that differed."""
    stale = []
    for name, text in schema_files().items():
        path = out / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            stale.append(name)
            if not check:
                out.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    return stale
