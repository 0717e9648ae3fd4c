"""The forms target: per user step and channel, a JSON Schema of the data the screen collects, a
JSON Forms UI schema and zh-CN/en labels (see :mod:`productkit.forms`). Channels render them
without product code, and the runtime validates submissions with the same files."""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import orjson

from ..diagnostics import Diagnostic, Location, Severity
from ..forms import gaps, step_forms
from ..ir import Step, WorkflowDefinition, compact_json
from .base import BuildView, EmitContext, Emitted, Target, register

if TYPE_CHECKING:
    import jsonschema_rs

__all__ = ["FormsTarget"]


# Draft-07 keywords besides those it validates with: what strict ajv (and so JSON Forms and
# RJSF) compiles without complaint.
_ANNOTATIONS = frozenset({
    "$schema", "$id", "$comment", "title", "description", "default", "readOnly", "writeOnly",
    "examples", "definitions", "contentMediaType", "contentEncoding"})
_SUBSCHEMAS = ("items", "not", "if", "then", "else", "additionalProperties", "contains", "propertyNames")


def _unknown(schema: object, where: str) -> Iterator[tuple[str, str]]:
    """(location, keyword) for each keyword of ``schema`` that draft-07 does not define."""
    if not isinstance(schema, dict):
        return
    yield from ((where, k) for k in sorted(schema) if k not in _KEYWORDS)
    for key in ("properties", "definitions"):
        for name, sub in sorted(schema.get(key, {}).items()):
            yield from _unknown(sub, f"{where}/{key}/{name}")
    for key in ("oneOf", "anyOf", "allOf"):
        for i, sub in enumerate(schema.get(key, [])):
            yield from _unknown(sub, f"{where}/{key}/{i}")
    for key in _SUBSCHEMAS:
        yield from _unknown(schema.get(key), f"{where}/{key}")


@register
class FormsTarget(Target[EmitContext, None]):
    """One ``forms/<id>@<version>/<step>.<channel>.json`` file per user step and channel."""

    name = "forms"
    suffix = "/"
    description = "JSON Schema and JSON Forms UI schema of every screen, per channel"

    def emit(self, defn: WorkflowDefinition) -> Emitted:
        folder = self.location(defn)
        files = {f"{folder}{sid}.{channel}.json": data for sid, step in sorted(defn.steps.items())
                 if step.kind == "user" for channel, data in _encoded(step).items()}
        return Emitted(self.name, files, self.problems(defn), folder)

    def problems(self, defn: WorkflowDefinition) -> tuple[Diagnostic, ...]:
        """What :meth:`emit` reports (the constraints a form cannot carry), without rendering."""
        where = defn.source or f"{defn.id}@{defn.version}"
        return tuple(Diagnostic("PK501", f"step {sid}, field {path}: {why}", Location(where, path=("steps", sid)),
                                severity=Severity.WARNING) for sid, path, why in gaps(defn))

    def verify(self, files: Mapping[str, bytes], build: BuildView | None = None) -> Iterator[tuple[str, str]]:
        """Every form's schema is a valid JSON Schema draft-07 (checked by its meta-schema), the
        dialect JSON Forms and react-jsonschema-form validate with by default."""
        for name, data in sorted(files.items()):
            yield from ((name, problem) for problem in _form_problems(data))


# The products of a line share most of their screens: a build writes each distinct form many
# times (a tenth of the form files of the catalogue are distinct), and what the checks say of a
# form depends on its bytes only, so each distinct form is judged once per process.
@functools.lru_cache(maxsize=1024)
def _form_problems(data: bytes) -> tuple[str, ...]:
    """What the checks say of one form file."""
    try:
        schema = orjson.loads(data)["schema"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        return (f"the form is not a JSON object with a schema: {exc}",)
    return _judged(orjson.dumps(schema))


@functools.lru_cache(maxsize=1024)
def _judged(schema: bytes) -> tuple[str, ...]:
    """What the checks say of a form's schema (a step's channels often share one)."""
    return tuple(_schema_problems(orjson.loads(schema)))


# A form depends on its step only, and the products of a line share most of their steps: each
# distinct step's forms are made and encoded once per process, found again by the step's JSON
# text (which keeps the order its fields are declared in, as the forms do).
_ENCODED: dict[str, dict[str, bytes]] = {}
_ENCODED_MAX = 4096  # steps; a larger catalogue starts over (their forms are made again)


def _encoded(step: Step) -> dict[str, bytes]:
    """channel -> the form file of user step ``step``."""
    key = step.model_dump_json()
    found = _ENCODED.get(key)
    if found is None:
        if len(_ENCODED) >= _ENCODED_MAX:
            _ENCODED.clear()
        found = _ENCODED[key] = {channel: compact_json(form).encode("utf-8")
                                 for channel, form in step_forms(step).items()}
    return found


def _schema_problems(schema: object) -> list[str]:
    """What the draft-07 meta-schema and strict ajv's keyword list say of a form's schema."""
    failed = next(_meta_schema().iter_errors(schema), None)
    if failed is not None:
        return [f"the form's schema fails the JSON Schema draft-07 meta-schema: {failed.message}"]
    return [f"{where} uses '{word}', not a draft-07 keyword (strict ajv refuses it)"
            for where, word in _unknown(schema, "#")]


# The keywords of draft-07: those jsonschema's draft-07 validator validates with (a test holds
# the list equal to its), ``then`` and ``else`` (which it reads as part of ``if``), and the
# annotations. Written out rather than asked of jsonschema, whose import would be most of the
# checks of a build that compiles one product.
_VALIDATED = frozenset({
    "$ref", "additionalItems", "additionalProperties", "allOf", "anyOf", "const", "contains",
    "dependencies", "enum", "exclusiveMaximum", "exclusiveMinimum", "format", "if", "items",
    "maxItems", "maxLength", "maxProperties", "maximum", "minItems", "minLength", "minProperties",
    "minimum", "multipleOf", "not", "oneOf", "pattern", "patternProperties", "properties",
    "propertyNames", "required", "type", "uniqueItems"})
_KEYWORDS = _VALIDATED | {"then", "else"} | _ANNOTATIONS


@functools.cache
def _meta_schema() -> jsonschema_rs.Draft7Validator:
    """The draft-07 meta-schema as a compiled validator (jsonschema-rs): a form is checked in
    microseconds instead of the pure-Python validator's milliseconds. Loaded when the first
    form is checked: importing the targets stays cheap."""
    import jsonschema_rs

    return jsonschema_rs.Draft7Validator(draft_07_meta_schema())


def draft_07_meta_schema() -> dict[str, object]:
    """The draft-07 meta-schema document jsonschema checks with (its jsonschema-specifications
    copy), read as a file: importing jsonschema for it would cost more than every form check."""
    spec = importlib.util.find_spec("jsonschema_specifications")
    if spec is None or not spec.submodule_search_locations:
        from jsonschema import Draft7Validator

        return dict(Draft7Validator.META_SCHEMA)
    folder = next(iter(spec.submodule_search_locations))
    with open(os.path.join(folder, "schemas", "draft7", "metaschema.json"), "rb") as fh:
        document: dict[str, object] = orjson.loads(fh.read())
    return document
