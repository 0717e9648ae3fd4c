"""Per-channel forms: the JSON Schema (draft-07, the dialect JSON Forms' and RJSF's own ajv read
by default) of the data a user step collects, a JSON Forms UI schema, a react-jsonschema-form
UI schema per language, zh-CN and en texts (labels, help, placeholders, option labels, error
messages) and the initial data, so a channel renders the form without product code.

Exact decimals travel as text whose ``pattern`` encodes their range, places and step; a
consent must be ``true``; fields keep the order the YAML declares them in.
"""

from __future__ import annotations

from typing import Any

from . import ir
from .types import TYPES, field_schema, get

__all__ = ["DIALECT", "LANGUAGES", "MESSAGES", "data_schema", "form", "forms_of", "gaps", "keywords",
           "step_forms"]

DIALECT = "http://json-schema.org/draft-07/schema#"
LANGUAGES = ("zh-CN", "en")

# Validation messages by JSON Schema keyword: JSON Forms looks up ``error.<keyword>`` (ajv's
# ``keyword`` of the error), RJSF's errors carry the same word as ``name``. A form carries only
# those its own schema can produce (:func:`keywords`).
MESSAGES: dict[str, dict[str, str]] = {
    "zh-CN": {"required": "此项必填", "type": "格式不正确", "minLength": "内容过短",
              "maxLength": "内容过长", "pattern": "格式或取值不符合要求", "minimum": "数值过小",
              "maximum": "数值过大", "multipleOf": "须按规定的步长递增", "const": "须勾选同意",
              "enum": "请从选项中选择", "oneOf": "请从选项中选择", "format": "格式不正确",
              "minItems": "选择的项目过少", "maxItems": "选择的项目过多"},
    "en": {"required": "This field is required", "type": "The value has the wrong type",
           "minLength": "Too short", "maxLength": "Too long",
           "pattern": "The value is not in the expected form or range", "minimum": "Too small",
           "maximum": "Too large", "multipleOf": "Not on the allowed step", "const": "Please accept to continue",
           "enum": "Choose one of the options", "oneOf": "Choose one of the options",
           "format": "The value is not in the expected format", "minItems": "Too few items",
           "maxItems": "Too many items"},
}

# Widgets each renderer knows: JSON Forms control options, RJSF ``ui:widget`` names.
_JSONFORMS_OPTIONS: dict[str, dict[str, Any]] = {"radio": {"format": "radio"}, "textarea": {"multi": True}}
_RJSF_WIDGETS = {"radio": "radio", "textarea": "textarea", "select": "select", "consent": "checkbox"}


def _kind(f: ir.FieldDef) -> Any:
    # An unknown type reads as text, as a string field would.
    return get(f.type) or TYPES["string"]


def _insert(schema: dict[str, Any], path: str, leaf: dict[str, Any], required: bool) -> None:
    parts = path.split(".")
    node = schema
    for part in parts[:-1]:
        child = node.setdefault("properties", {}).setdefault(part, {"type": "object", "properties": {}})
        if required and part not in node.setdefault("required", []):
            node["required"].append(part)
        node = child
    node.setdefault("properties", {})[parts[-1]] = leaf
    if required:
        node.setdefault("required", []).append(parts[-1])


def _scope(path: str) -> str:
    return "#/properties/" + "/properties/".join(path.split("."))


def _fields(step: ir.Step, channel: str) -> list[tuple[str, ir.FieldDef]]:
    """The step's fields shown on ``channel``, in the order the YAML declares them."""
    return [(p, f) for p, f in step.fields.items() if f.channels is None or channel in f.channels]


def form(step: ir.Step, channel: str) -> dict[str, Any]:
    """The form of ``step`` on ``channel``: schema, uischema (JSON Forms), RJSF UI schemas,
    i18n texts and initial data."""
    fields = _fields(step, channel)
    schema = data_schema(fields, step.title.en)
    words = keywords(schema)
    uischema = {"type": "VerticalLayout", "label": step.title.en, "i18n": step.id,
                "elements": [_control(p, f) for p, f in fields]}
    return {"step": step.id, "channel": channel, "schema": schema, "uischema": uischema,
            "rjsf": {lang: _rjsf(step, fields, lang) for lang in LANGUAGES},
            "i18n": {lang: _texts(step, fields, words, lang) for lang in LANGUAGES},
            "data": _initial(fields), "shows": list(step.shows)}


def data_schema(fields: list[tuple[str, ir.FieldDef]], title: str) -> dict[str, Any]:
    """The JSON Schema (draft-07) of an object holding ``fields`` (data path -> declaration) as
    nested properties: what a form collects, or the context an application starts with."""
    schema: dict[str, Any] = {"$schema": DIALECT, "type": "object", "title": title, "properties": {}}
    for path, f in fields:
        _insert(schema, path, field_schema(_kind(f), f), f.required and not f.readonly)
    for node in _objects(schema):
        if "required" in node:
            node["required"] = sorted(set(node["required"]))
    return schema


def _control(path: str, f: ir.FieldDef) -> dict[str, Any]:
    """The JSON Forms control of a field; its texts are looked up under ``<path>.*``."""
    control: dict[str, Any] = {"type": "Control", "scope": _scope(path), "i18n": path}
    if f.label is not None:
        control["label"] = f.label.en
    options = dict(_JSONFORMS_OPTIONS.get(f.widget or "", {}))
    if f.placeholder is not None:
        options["placeholder"] = f.placeholder.en
    if f.readonly:
        options["readonly"] = True
    if options:
        control["options"] = options
    return control


def keywords(schema: dict[str, Any]) -> set[str]:
    """The keywords of ``schema`` whose failure ajv reports as an error of that keyword: every
    one written anywhere in it but the root's ``type`` (a form's data is always an object)."""
    return _words(schema) - {"type"} | set().union(*map(_words, _subschemas(schema)))


_LOWER = frozenset({"minItems", "minLength"})


def _words(schema: Any) -> set[str]:
    if not isinstance(schema, dict):
        return set()
    # A lower bound of 0 (``minItems``, ``minLength``) refuses nothing.
    found = {k for k, v in schema.items() if k in MESSAGES["en"] and not (k in _LOWER and v == 0)}
    for sub in _subschemas(schema):
        found |= _words(sub)
    return found


def _subschemas(schema: dict[str, Any]) -> list[Any]:
    subs = [*schema.get("properties", {}).values(), *schema.get("oneOf", []), *schema.get("anyOf", [])]
    items = schema.get("items")
    return subs + (items if isinstance(items, list) else [items])


def _texts(step: ir.Step, fields: list[tuple[str, ir.FieldDef]], words: set[str], lang: str) -> dict[str, str]:
    """The JSON Forms i18n table of one language: ``<key>.label``, ``<key>.description``,
    option labels ``<key>.<English title>``, ``error.<keyword>`` for the keywords the schema
    holds, ``enum.none`` (the empty option of a select) if it has options, per-field errors."""
    out = {step.id + ".label": _say(step.title, lang)}
    out.update({"error." + k: v for k, v in MESSAGES[lang].items() if k in words})
    if words & {"enum", "oneOf"}:
        out["enum.none"] = "请选择" if lang == "zh-CN" else "Choose"
    for path, f in fields:
        for key, label in (("label", f.label), ("description", f.help), ("placeholder", f.placeholder)):
            if label is not None:
                out[f"{path}.{key}"] = _say(label, lang)
        for label in (f.value_labels or {}).values():
            out[f"{path}.{label.en}"] = _say(label, lang)
        out.update(_field_errors(path, f, lang))
    return out


def _field_errors(path: str, f: ir.FieldDef, lang: str) -> dict[str, str]:
    """A message naming the allowed range of a number written as text (its pattern)."""
    kind = _kind(f)
    if not kind.decimal:
        return {}
    lo, hi = f.min or "", f.max or ""
    places = kind.form_places(f)
    if lang == "zh-CN":
        text = f"请输入{lo or '不限'}至{hi or '不限'}之间的数，最多{places}位小数"
        text += f"，按{f.step}递增" if f.step else ""
    else:
        text = f"Enter a number from {lo or 'any'} to {hi or 'any'} with at most {places} decimal places"
        text += f", in steps of {f.step}" if f.step else ""
    return {f"{path}.error.pattern": text}


def _say(label: ir.Label, lang: str) -> str:
    return label.zh_CN if lang == "zh-CN" else label.en


def _rjsf(step: ir.Step, fields: list[tuple[str, ir.FieldDef]], lang: str) -> dict[str, Any]:
    """react-jsonschema-form's UI schema in one language: order, widgets, texts, options."""
    submit = {"submitText": "提交" if lang == "zh-CN" else "Submit"}
    root: dict[str, Any] = {"ui:title": _say(step.title, lang), "ui:submitButtonOptions": submit}
    for path, f in fields:
        *parents, leaf = path.split(".")
        node = root
        for part in parents:
            if part not in node:
                node.setdefault("ui:order", []).append(part)
            # A parent object only groups dotted paths: no title of its own on the screen.
            node = node.setdefault(part, {"ui:label": False})
        node.setdefault("ui:order", []).append(leaf)
        node[leaf] = _rjsf_field(f, lang)
    return root


def _rjsf_field(f: ir.FieldDef, lang: str) -> dict[str, Any]:
    ui: dict[str, Any] = {}
    if f.widget in _RJSF_WIDGETS:
        ui["ui:widget"] = _RJSF_WIDGETS[f.widget]
    for key, label in (("ui:title", f.label), ("ui:description", f.help), ("ui:placeholder", f.placeholder)):
        if label is not None:
            ui[key] = _say(label, lang)
    if f.values and f.value_labels:
        # RJSF titles each ``oneOf`` option from the matching ``ui:title``.
        ui["oneOf"] = [{"ui:title": _say(f.value_labels[v], lang) if v in f.value_labels else v}
                       for v in f.values]
    if f.readonly:
        ui["ui:readonly"] = True
    return ui


def _initial(fields: list[tuple[str, ir.FieldDef]]) -> dict[str, Any]:
    """The data a form starts with: every parent object (so an empty form shows each field's
    own message) and the declared defaults."""
    data: dict[str, Any] = {}
    for path, f in fields:
        *parents, leaf = path.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        if f.default is not None:
            node[leaf] = f.default
    return data


def _objects(node: dict[str, Any]) -> list[dict[str, Any]]:
    out = [node]
    for child in node.get("properties", {}).values():
        if isinstance(child, dict) and child.get("type") == "object":
            out.extend(_objects(child))
    return out


def gaps(defn: ir.WorkflowDefinition) -> list[tuple[str, str, str]]:
    """(step, field, what) for each declared check a form's schema cannot say."""
    return [(sid, path, why) for sid, step in sorted(defn.steps.items()) if step.kind == "user"
            for path, f in step.fields.items() for why in _kind(f).schema_gaps(f)]


def forms_of(defn: ir.WorkflowDefinition) -> dict[str, dict[str, dict[str, Any]]]:
    """step id -> channel -> form, for every user step and every channel it runs on."""
    return {sid: step_forms(step) for sid, step in sorted(defn.steps.items()) if step.kind == "user"}


def step_forms(step: ir.Step) -> dict[str, dict[str, Any]]:
    """channel -> form, for every channel the user step ``step`` runs on (a form depends on
    nothing but its step)."""
    return _per_channel(step, step.channels if step.actor == "customer" else ["staff"])


def _per_channel(step: ir.Step, channels: list[str]) -> dict[str, dict[str, Any]]:
    """The forms of ``step`` on ``channels``: a form depends on its channel only through the
    fields shown there, so channels showing the same fields share one (with their own name)."""
    out: dict[str, dict[str, Any]] = {}
    made: dict[tuple[str, ...], dict[str, Any]] = {}
    for channel in channels:
        shown = tuple(path for path, _ in _fields(step, channel))
        first = made.get(shown)
        if first is None:
            made[shown] = out[channel] = form(step, channel)
        else:
            out[channel] = {**first, "channel": channel}
    return out
