"""Per-channel forms: JSON Schema (2020-12) of the data a user step collects, plus a JSON Forms
UI schema with zh-CN and en labels, so a channel renders the form without product code."""

from __future__ import annotations

from typing import Any

from . import ir
from .types import TYPES, field_schema, get

__all__ = ["form", "forms_of"]


def _field_schema(f: ir.FieldDef) -> dict[str, Any]:
    # An unknown type reads as text, as a string field would.
    return field_schema(get(f.type) or TYPES["string"], f)


def _insert(schema: dict[str, Any], path: str, leaf: dict[str, Any], required: bool) -> None:
    parts = path.split(".")
    node = schema
    for part in parts[:-1]:
        props = node.setdefault("properties", {})
        child = props.setdefault(part, {"type": "object", "properties": {}})
        if required:
            node.setdefault("required", [])
            if part not in node["required"]:
                node["required"].append(part)
        node = child
    node.setdefault("properties", {})[parts[-1]] = leaf
    if required:
        node.setdefault("required", []).append(parts[-1])


def _scope(path: str) -> str:
    return "#/properties/" + "/properties/".join(path.split("."))


def form(step: ir.Step, channel: str) -> dict[str, Any]:
    """The form of ``step`` on ``channel``: schema, uischema (JSON Forms) and i18n labels."""
    schema: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                              "type": "object", "title": step.title.en, "properties": {}}
    elements: list[dict[str, Any]] = []
    i18n: dict[str, dict[str, str]] = {"zh-CN": {step.id + ".title": step.title.zh_CN},
                                       "en": {step.id + ".title": step.title.en}}
    for path, f in sorted(step.fields.items()):
        if f.channels is not None and channel not in f.channels:
            continue
        _insert(schema, path, _field_schema(f), f.required and not f.readonly)
        control: dict[str, Any] = {"type": "Control", "scope": _scope(path), "i18n": path}
        if f.label is not None:
            control["label"] = f.label.en
            i18n["zh-CN"][path + ".label"] = f.label.zh_CN
            i18n["en"][path + ".label"] = f.label.en
        if f.widget:
            control["options"] = {"widget": f.widget}
        elements.append(control)
    for node in _objects(schema):
        if "required" in node:
            node["required"] = sorted(set(node["required"]))
    uischema = {"type": "VerticalLayout", "label": step.title.en, "i18n": step.id, "elements": elements}
    return {"step": step.id, "channel": channel, "schema": schema, "uischema": uischema, "i18n": i18n,
            "shows": list(step.shows)}


def _objects(node: dict[str, Any]) -> list[dict[str, Any]]:
    out = [node]
    for child in node.get("properties", {}).values():
        if isinstance(child, dict) and child.get("type") == "object":
            out.extend(_objects(child))
    return out


def forms_of(defn: ir.WorkflowDefinition) -> dict[str, dict[str, dict[str, Any]]]:
    """step id -> channel -> form, for every user step and every channel it runs on."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for sid, step in sorted(defn.steps.items()):
        if step.kind != "user":
            continue
        channels = step.channels if step.actor == "customer" else ["staff"]
        out[sid] = {c: form(step, c) for c in channels}
    return out
