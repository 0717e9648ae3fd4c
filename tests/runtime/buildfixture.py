"""Writes build folders (the layout ``productkit build`` produces) from WorkflowDefinitions
built in Python, and small factories to build those definitions tersely."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from productkit import expr, ir
from productkit.runtime.seal import manifest_digest

CHANNELS = ["mobile", "web"]


def label(en: str, zh: str | None = None) -> ir.Label:
    return ir.Label(**{"zh-CN": zh or en, "en": en})


def cond(text: str, scope: Mapping[str, str]) -> ir.Condition:
    """A condition compiled by productkit.expr, as the compiler does."""
    result = expr.check(text, scope)
    if not isinstance(result, ir.Condition):
        raise AssertionError(f"{text}: {result}")
    return result


def field(type: str = "string", **kw: Any) -> ir.FieldDef:
    kw.setdefault("label", label(kw.pop("title", type)))
    return ir.FieldDef(type=type, **kw)


def param(type: str, value: Any, currency: str | None = None) -> ir.ParamValue:
    return ir.ParamValue(type=type, value=value, currency=currency)


def service(sid: str, handler: str, *, channels: Sequence[str] = CHANNELS, **kw: Any) -> ir.Step:
    return ir.Step(id=sid, kind="service", handler=handler, title=label(sid),
                   component=f"{handler}@1.0.0", channels=list(channels), **kw)


def user(sid: str, fields: Mapping[str, ir.FieldDef], *, channels: Sequence[str] = CHANNELS,
         **kw: Any) -> ir.Step:
    kw.setdefault("actor", "customer")
    return ir.Step(id=sid, kind="user", title=label(f"{sid} screen", f"{sid} 页面"),
                   component=f"ui.{sid}@1.0.0", channels=list(channels), fields=dict(fields), **kw)


def wait(sid: str, duration: str, *, channels: Sequence[str] = CHANNELS, **kw: Any) -> ir.Step:
    return ir.Step(id=sid, kind="wait", title=label(sid), duration=duration,
                   channels=list(channels), **kw)


def end(sid: str, outcome: str, *, channels: Sequence[str] = CHANNELS, **kw: Any) -> ir.Step:
    return ir.Step(id=sid, kind="end", title=label(sid), outcome=outcome, channels=list(channels), **kw)


def parallel(*branches: Sequence[str | ir.Parallel]) -> ir.Parallel:
    return ir.Parallel(parallel=[list(b) for b in branches])


def definition(pid: str, version: str, steps: Sequence[ir.Step],
               flow: Sequence[str | ir.Parallel] | None = None, *,
               channels: Sequence[str] = CHANNELS, effective_from: str | None = "2026-01-01",
               effective_until: str | None = None, data: Mapping[str, ir.FieldDef] | None = None,
               **kw: Any) -> ir.WorkflowDefinition:
    """A definition; ``data`` types default to required strings, journeys to the user steps."""
    by_id = {s.id: s for s in steps}
    all_data: dict[str, ir.FieldDef] = {p: f for p, f in kw.get("context", {}).items()}
    for s in steps:
        all_data.update(s.fields)
        for dpath in s.outputs.values():
            all_data.setdefault(dpath, ir.FieldDef(type="string"))
    all_data.update(data or {})
    order = list(flow) if flow is not None else [s.id for s in steps]
    users = [sid for sid in _ids(order) if by_id[sid].kind == "user" and by_id[sid].actor == "customer"]
    journeys = {c: [s for s in users if c in by_id[s].channels] for c in channels}
    kw.setdefault("parameters", {})
    return ir.WorkflowDefinition(
        id=pid, version=version, name=label(pid), channels=list(channels),
        effective=ir.Effective(**{"from": effective_from}, until=effective_until),
        data=all_data, steps=by_id, flow=order, journeys=journeys, source=f"products/{pid}.yaml", **kw)


def _ids(flow: Iterable[str | ir.Parallel]) -> list[str]:
    out: list[str] = []
    for item in flow:
        if isinstance(item, str):
            out.append(item)
        else:
            for branch in item.parallel:
                out += _ids(branch)
    return out


# ---------------------------------------------------------------- forms


def _field_schema(f: ir.FieldDef) -> dict[str, Any]:
    t = f.type
    if t == "integer":
        out: dict[str, Any] = {"type": "integer"}
        if f.min is not None:
            out["minimum"] = int(f.min)
        if f.max is not None:
            out["maximum"] = int(f.max)
    elif t in ("decimal", "percent", "money"):
        out = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
    elif t == "boolean":
        out = {"type": "boolean"}
    elif t == "date":
        out = {"type": "string", "format": "date"}
    elif t == "enum":
        out = {"type": "string", "enum": list(f.values or [])}
    else:
        out = {"type": "string"}
        if f.max_length is not None:
            out["maxLength"] = f.max_length
    if f.label is not None:
        out["title"] = f.label.en
    return out


def form(step: ir.Step, channel: str, style: Literal["nested", "flat"] = "nested") -> dict[str, Any]:
    """The form of a user step: nested objects per path segment (as productkit's emitter
    writes) or one flat property per dotted data path."""
    schema: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                              "type": "object", "properties": {}}
    for path, f in sorted(step.fields.items()):
        if f.channels is not None and channel not in f.channels:
            continue
        required = f.required and not f.readonly
        parts = path.split(".") if style == "nested" else [path]
        node = schema
        for part in parts[:-1]:
            node = node["properties"].setdefault(part, {"type": "object", "properties": {}})
        node["properties"][parts[-1]] = _field_schema(f)
        if required:
            node.setdefault("required", []).append(parts[-1])
    elements = [{"type": "Control", "scope": "#/properties/" + "/properties/".join(p.split("."))}
                for p in sorted(step.fields)]
    return {"schema": schema, "uischema": {"type": "VerticalLayout", "elements": elements}}


# ---------------------------------------------------------------- the build folder


def _sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_build(out: Path, definitions: Iterable[ir.WorkflowDefinition], *,
                release_date: str = "2026-01-01",
                form_style: Literal["nested", "flat"] = "nested") -> Path:
    """Write ``out/manifest.json``, ``definitions/`` and ``forms/`` for the definitions."""
    entries = []
    files: dict[str, str] = {}
    for defn in definitions:
        d = ir.with_digest(defn)
        key = f"{d.id}@{d.version}"
        rel = f"definitions/{key}.json"
        _write(out / rel, ir.dump(d))
        files[rel] = _sha(ir.dump(d))
        forms: dict[str, dict[str, str]] = {}
        for sid, step in sorted(d.steps.items()):
            if step.kind != "user":
                continue
            for channel in (step.channels if step.actor == "customer" else ["staff"]):
                frel = f"forms/{key}/{sid}.{channel}.json"
                text = json.dumps(form(step, channel, form_style), indent=2)
                _write(out / frel, text)
                files[frel] = _sha(text)
                forms.setdefault(sid, {})[channel] = frel
        entries.append({
            "id": d.id, "version": d.version, "name": d.name.model_dump(by_alias=True), "channels": d.channels,
            "effective": {"from": d.effective.from_, "until": d.effective.until},
            "digest": d.digest, "definition": rel, "forms": forms, "components": d.components,
        })
    entries.sort(key=lambda e: (e["id"], e["version"]))
    files = dict(sorted(files.items()))
    manifest = {"format": "productkit.manifest/2", "release_date": release_date, "products": entries,
                "files": files}
    manifest["digest"] = manifest_digest(manifest)
    _write(out / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
    return out


def rewrite_manifest(out: Path, edit: Any) -> None:
    """Apply ``edit(manifest)`` and write the manifest back (its digest left as it was)."""
    path = out / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest, indent=2))


def reseal(out: Path) -> None:
    """Recompute every file seal and the manifest digest after an edit (a tamperer who knows
    the scheme)."""
    def seal(m: dict[str, Any]) -> None:
        m["files"] = {rel: "sha256:" + hashlib.sha256((out / rel).read_bytes()).hexdigest()
                      for rel in m.get("files", {}) if (out / rel).exists()}
        m["digest"] = manifest_digest(m)

    rewrite_manifest(out, seal)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
