"""JSON Schemas (2020-12) of the document kinds, generated from the models, for editors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .model import KINDS

__all__ = ["EXAMPLES", "SHORTHANDS", "kind_schema", "schema_files", "write_schemas"]

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
    "DataDictionary": {
        "apiVersion": "productkit/v1", "kind": "DataDictionary", "id": "data.applicant",
        "version": "1.0.0", "title": {"zh-CN": "申请人数据", "en": "Applicant data"},
        "data": {"applicant.age": {"type": "integer", "title": {"zh-CN": "申请人年龄", "en": "Applicant's age"}}},
    },
}


# The short forms the models accept (their ``mode="before"`` validators), for the editor too.
_VALUE = {"type": ["number", "string", "boolean", "array"]}
SHORTHANDS: dict[str, dict[str, Any]] = {
    "ParamSetting": {"anyOf": [_VALUE, {"type": "object", "required": ["amount"],
                                        "properties": {
                                            "amount": {"type": ["number", "string"], "description": "the amount"},
                                            "currency": {"type": "string", "description": "ISO 4217 code"}}}],
                     "description": "shorthand for {value: ...}: a number, text, boolean, list or "
                                    "{amount, currency}", "examples": [1.75, "5000.00 CNY"]},
    "BusinessError": {"type": "string", "pattern": r"^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$",
                      "description": "shorthand for {code: ...}", "examples": ["aml.hit"]},
    "Effective": {"type": "string", "description": "shorthand for {from: ...}", "examples": ["T+1"]},
}


def _with_shorthands(defs: dict[str, Any]) -> None:
    """Each model with a short form accepts it in the schema as well: anyOf [object, short]."""
    for name, short in SHORTHANDS.items():
        if name in defs:
            full = defs[name]
            defs[name] = {"title": full.get("title", name), "description": full.get("description", ""),
                          "anyOf": [full, short]}


def _without_null(node: Any) -> Any:
    """Optional fields without their ``null`` branch and default: YAML never needs to write
    them, and editors show each anyOf branch's title on hover ("Extends || Extends")."""
    if isinstance(node, list):
        return [_without_null(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _without_null(v) for k, v in node.items()}
    branches = out.get("anyOf")
    if isinstance(branches, list) and {"type": "null"} in branches:
        rest = [b for b in branches if b != {"type": "null"}]
        del out["anyOf"]
        if out.get("default", 0) is None:
            del out["default"]
        out = {**(rest[0] if len(rest) == 1 else {"anyOf": rest}), **out}  # the field's own words win
    return out


def _titled(node: Any) -> None:
    """Every property with a title of its own: without one, an editor's hover shows the title
    of the enclosing schema (the document's) above the field's description."""
    if isinstance(node, list):
        for item in node:
            _titled(item)
    elif isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            if isinstance(prop, dict):
                prop.setdefault("title", name.replace("_", " ").title())
        for value in node.values():
            _titled(value)


def kind_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one kind, with the dialect, an id, a title and an example."""
    schema = _without_null(KINDS[kind].model_json_schema(by_alias=True, mode="validation"))
    _titled(schema)
    _with_shorthands(schema.get("$defs", {}))
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
