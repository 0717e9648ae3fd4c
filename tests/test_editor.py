"""The editor agrees with productkit: yaml-language-server, with the mapping the project ships,
finds nothing to underline in the repo's catalogue, and does underline what productkit refuses."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from productkit.schema import SHORTHANDS, schema_files
from yaml_ls import REPO, diagnostics, session, shipped_settings

KINDS = ("Product", "ProductLine", "ProcessComponent", "UIComponent", "ParameterDictionary", "DataDictionary")


def _catalogue(root: Path) -> list[Path]:
    return sorted(p for folder in ("products", "components") for p in (root / folder).rglob("*.yaml"))


def test_yaml_language_server_finds_nothing_in_the_catalogue() -> None:
    """Scenario files included: a file no schema claims gets no diagnostic either, so this also
    proves that the product mapping leaves them alone."""
    files = _catalogue(REPO)
    found = diagnostics(REPO, files)
    assert len(found) == len(files)
    problems = [f"{p.relative_to(REPO)}:{d['range']['start']['line'] + 1}: {d['message']}"
                for p, ds in sorted(found.items()) for d in ds]
    assert problems == []


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "cat"
    for name in ("schemas", ".vscode"):
        shutil.copytree(REPO / name, root / name)
    return root


def test_yaml_language_server_underlines_what_productkit_refuses(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    comp = REPO / "components" / "process" / "kyc"
    target = root / "components" / "process" / "kyc"
    target.mkdir(parents=True)
    source = sorted(comp.glob("*.yaml"))[0].read_text(encoding="utf-8")
    (target / "typo.yaml").write_text(source.replace("retry:", "retyr:", 1), encoding="utf-8")
    (root / "products").mkdir()
    (root / "products" / "x.scenario.yaml").write_text(
        "product: x\nscenarios:\n  - id: a\n    channel: mobile\n    expect: {outcome: completed}\n", "utf-8")
    (root / "products" / "y.scenario.yaml").write_text(
        "product: y\nscenarios:\n  - id: a\n    expect: {outcome: complete}\n", "utf-8")
    (root / "products" / "bad-line.yaml").write_text(
        "apiVersion: productkit/v1\nkind: ProductLine\nid: x.line\nversion: 1.0.0\n"
        "name: {zh-CN: 线, en: Line}\neffective: T+1\nchannel_policy: {forbid: [partner-pages]}\n",
        encoding="utf-8")
    (root / "components" / "data").mkdir()
    (root / "components" / "data" / "bad.yaml").write_text(
        "apiVersion: productkit/v1\nkind: DataDictionary\nid: data.x\nversion: 1.0.0\n"
        "title: {zh-CN: 数据, en: Data}\ndata:\n  applicant.age: {type: integer, titel: {zh-CN: 年龄, en: Age}}\n",
        encoding="utf-8")
    found = diagnostics(root, _catalogue(root))
    assert "retyr:" in (target / "typo.yaml").read_text(encoding="utf-8")
    messages = {p.name: [d["message"] for d in ds] for p, ds in found.items()}
    assert any("retyr" in m for m in messages["typo.yaml"]), messages
    assert messages["x.scenario.yaml"] == []  # mapped to the scenario schema, not the product's
    assert any("complete" in m or "Value is not accepted" in m for m in messages["y.scenario.yaml"]), messages
    assert any("partner-pages" in m or "Value is not accepted" in m for m in messages["bad-line.yaml"]), messages
    assert not any("effective" in m for m in messages["bad-line.yaml"]), "a line has effective dates"
    assert any("titel" in m for m in messages["bad.yaml"]), messages


def test_the_readme_shows_the_mapping_that_ships() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Editor support"):text.index("## Build output")]
    block = re.search(r"```json\n(.*?)```", section, re.S)
    assert block is not None
    assert json.loads(block[1])["yaml.schemas"] == shipped_settings()["yaml"]["schemas"]


def _properties(node: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    """Every (place, property schema) below ``node``."""
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            out.append((f"{where}.{name}", prop))
        for key, value in node.items():
            out += _properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _properties(value, f"{where}[{i}]")
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_every_property_has_a_description(kind: str) -> None:
    schema = json.loads(schema_files()[f"{kind}.schema.json"])
    missing = [where for where, prop in _properties(schema, kind) if not prop.get("description")]
    assert missing == []


@pytest.mark.parametrize("kind", KINDS)
def test_no_property_hovers_as_two_titles(kind: str) -> None:
    """An optional field is not an anyOf with null: hover would read "Extends || Extends"."""
    text = schema_files()[f"{kind}.schema.json"]
    assert '{"type": "null"}' not in text.replace("\n", "").replace("  ", "")
    schema = json.loads(text)
    assert all("anyOf" not in prop for _, prop in _properties(schema, kind))


README_SHORT_FORMS = [
    ("Product", "parameters:\n  annual_rate: 1.75\n  term_months: {value: 12, locked: true}\n"
                "  min_amount: \"5000.00 CNY\"\n  fee: {amount: 5.00, currency: CNY}\neffective: T+1\n"),
    ("ProcessComponent", "title: {zh-CN: 核验, en: Check}\nerrors: [kyc.service-unavailable, {code: aml.hit}]\n"
                         "timeout: PT10S\n"),
]


@pytest.mark.parametrize(("kind", "body"), README_SHORT_FORMS)
def test_short_forms_pass_the_schema(kind: str, body: str) -> None:
    head = f"apiVersion: productkit/v1\nkind: {kind}\nid: a.b\nversion: 1.0.0\n"
    if kind == "Product":
        head += "name: {zh-CN: 产品, en: Product}\n"
    doc = yaml.safe_load(head + body)
    validator = jsonschema.Draft202012Validator(json.loads(schema_files()[f"{kind}.schema.json"]))
    assert [e.message for e in validator.iter_errors(doc)] == []
    assert set(SHORTHANDS) == {"ParamSetting", "BusinessError", "Effective"}


def test_hover_shows_each_field_s_own_words(tmp_path: Path) -> None:
    """Hover on ``timeout`` explains timeout (not the document's title); ``extends`` reads once."""
    root = _copy(tmp_path)
    (root / "components" / "process").mkdir(parents=True)
    (root / "products").mkdir()
    comp = root / "components" / "process" / "c.yaml"
    comp.write_text("apiVersion: productkit/v1\nkind: ProcessComponent\nid: a.b\nversion: 1.0.0\n"
                    "title: {zh-CN: 甲, en: A}\nhandler: a.b\ntimeout: PT10S\n", encoding="utf-8")
    prod = root / "products" / "p.yaml"
    prod.write_text("apiVersion: productkit/v1\nkind: Product\nid: a.p\nversion: 1.0.0\n"
                    "name: {zh-CN: 甲, en: A}\nextends: a.line@^1\n", encoding="utf-8")
    found, (timeout, extends) = session(root, [comp, prod], hovers=[(comp, 6, 2), (prod, 5, 2)])
    assert found[comp] == [] and found[prod] == []
    assert "time budget" in timeout and "productkit ProcessComponent" not in timeout, timeout
    assert "the product line this inherits" in extends and "||" not in extends, extends
