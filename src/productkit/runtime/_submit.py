"""Checking what a user step submits: the form's JSON Schema, the exact field declarations,
and the product's rules that read the submitted fields. Every problem is collected."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from ..ir import Derived, FieldDef, Rule, Step
from ._coerce import checked
from ._expr import holds
from ._quick import QuickCheck
from ._values import Problem, wire
from .catalog import flatten
from .errors import ConditionError
from .views import FieldError, Form

__all__ = ["check_submission", "coerce_all", "fields_on"]

# JSON Schema keywords -> the FieldError codes of the runtime's own checks (for de-duplication).
_CODES = {
    "required": "required", "type": "type", "minimum": "minimum", "exclusiveMinimum": "minimum",
    "maximum": "maximum", "exclusiveMaximum": "maximum", "multipleOf": "step",
    "pattern": "pattern", "minLength": "length", "maxLength": "length", "minItems": "length",
    "maxItems": "length", "enum": "enum", "const": "enum", "additionalProperties": "unknown",
    "unevaluatedProperties": "unknown", "format": "format",
}


def coerce_all(fields: Mapping[str, FieldDef], flat: Mapping[str, object],
               current: Mapping[str, object]) -> tuple[dict[str, object], list[FieldError]]:
    """Coerce and check each declared field; the values that passed and every problem."""
    values: dict[str, object] = {}
    errors: list[FieldError] = []
    unknown = flat.keys() - fields.keys()  # most submissions: none
    for path in sorted(unknown) if unknown else ():
        errors.append(FieldError(path, "unknown", f"'{path}' is not a field here"))
    for path, fd in fields.items():
        if fd.readonly:
            # A form sends a read-only field back as it showed it: its value, else its default.
            if path in flat and flat[path] != current.get(path, fd.default):
                errors.append(FieldError(path, "readonly", f"'{path}' is read-only"))
            continue
        raw = flat.get(path)
        if raw is None or raw == "":
            if fd.required:
                errors.append(FieldError(path, "required", f"'{path}' is required"))
            continue
        try:
            value, problems = checked(fd, raw)
        except Problem as exc:
            errors.append(FieldError(path, exc.code, exc.message))
            continue
        if problems:
            errors += [FieldError(path, p.code, p.message) for p in problems]
        else:
            values[path] = value
    return values, errors


def check_submission(step: Step, channel: str, form: Form | None,
                     validator: Validator | None, raw: Mapping[str, object],
                     current: Mapping[str, object], env: Mapping[str, object],
                     rules: list[Rule], derived: Mapping[str, Derived],
                     quick: QuickCheck | None = None, fields: Mapping[str, FieldDef] | None = None,
                     ) -> tuple[dict[str, object], list[FieldError]]:
    """The coerced values of a submission, or the field errors that reject it. ``fields``: the
    step's fields on ``channel`` (:func:`fields_on`), when the caller keeps them."""
    if fields is None:
        fields = fields_on(step, channel)
    flat = flatten(raw, fields)
    values, errors = coerce_all(fields, flat, current)
    if form is not None and validator is not None:
        # A field the exact checks already rejected needs no second, vaguer, schema message
        # (and its raw value, NaN or a number too long to write, is not shown to the schema).
        own = {e.path for e in errors} if errors else _NONE
        # Text is checked as sent, so the engine refuses what the form's pattern refuses ("+5",
        # "1.5%"); other values in the form the schema describes (a Decimal as its string).
        shown = {p: flat[p] if _as_text(fields.get(p), flat.get(p)) else v
                 for p, v in {**flat, **values}.items() if p not in own}
        errors += [e for e in _schema_errors(form, validator, fields, shown, quick) if e.path not in own]
    if not errors:
        errors = _rule_errors(fields, values, env, rules, derived)
        if not errors:  # the common case: accepted
            return values, errors
    return values, _unique(errors, fields)


def fields_on(step: Step, channel: str) -> dict[str, FieldDef]:
    """The fields of ``step`` a submission on ``channel`` has."""
    return {p: f for p, f in step.fields.items() if f.channels is None or channel in f.channels}


def _as_text(fd: FieldDef | None, raw: object) -> bool:
    """Whether the schema judges the submitted text itself (its form sends text)."""
    return isinstance(raw, str) and fd is not None and fd.type not in ("integer", "boolean") \
        and not fd.type.startswith("list")


def _schema_errors(form: Form, validator: Validator, fields: Mapping[str, FieldDef],
                   flat: Mapping[str, object], quick: QuickCheck | None = None) -> list[FieldError]:
    shape = _shape(form.schema, fields)
    nested = shape.nested
    instance: dict[str, Any] = {}
    for path, value in flat.items():
        if value is None or value == "":
            continue  # absent, as the runtime's own "required" check reads it
        if type(value) not in _AS_IS:
            value = wire(value, shape.prop(path))
        if nested:
            _put_at(instance, shape.parts(path), value)
        else:
            instance[path] = value
    if quick is not None and quick(instance):
        return []
    out = []
    for err in validator.iter_errors(instance):
        out += _field_errors(err, nested)
    return out


class _Shape:
    """How a form's schema holds a step's fields: nested by their dotted paths or not, and the
    property schema of each path (worked out once per schema and fields)."""

    __slots__ = ("fields", "nested", "props", "schema", "split")

    def __init__(self, schema: Mapping[str, Any], fields: Mapping[str, FieldDef]) -> None:
        self.schema, self.fields = schema, fields
        props = schema.get("properties", {})
        self.nested = not any("." in k for k in props) and any("." in p for p in fields)
        self.props: dict[str, Mapping[str, Any] | None] = {}
        self.split: dict[str, list[str]] = {}

    def parts(self, path: str) -> list[str]:
        """``path.split(".")``, once per path (only read)."""
        found = self.split.get(path)
        if found is None:
            found = path.split(".")
            if len(self.split) < _MAX_SPLIT:  # a submission's unknown paths are split each time
                self.split[path] = found
        return found

    def prop(self, path: str) -> Mapping[str, Any] | None:
        found = self.props.get(path, self)
        if found is self:
            found = self.props[path] = _property(self.schema, path, self.nested)
        return found  # type: ignore[return-value]


_NONE: frozenset[str] = frozenset()
_AS_IS = frozenset({str, int, bool})  # values :func:`wire` gives back as they are
_MAX_SPLIT = 256  # paths a shape remembers split

# Shapes by the identity of their schema and fields; each holds both, so no id is reused while
# it is here. Forms and the engine's fields of a step live as long as their definition.
_SHAPES: dict[tuple[int, int], _Shape] = {}
_MAX_SHAPES = 1024


def _shape(schema: Mapping[str, Any], fields: Mapping[str, FieldDef]) -> _Shape:
    shape = _SHAPES.get((id(schema), id(fields)))
    if shape is None or shape.schema is not schema or shape.fields is not fields:
        if len(_SHAPES) >= _MAX_SHAPES:  # fields made anew at each call (not the engine's)
            _SHAPES.clear()
        shape = _SHAPES[(id(schema), id(fields))] = _Shape(schema, fields)
    return shape


def _property(schema: Mapping[str, Any], path: str, nested: bool) -> Mapping[str, Any] | None:
    node: Any = schema
    for part in (path.split(".") if nested else [path]):
        node = node.get("properties", {}).get(part) if _is_mapping(node) else None
        if node is None:
            return None
    return node if _is_mapping(node) else None


def _is_mapping(node: object) -> bool:
    return type(node) is dict or isinstance(node, Mapping)  # a schema's nodes are dicts


def _put_at(instance: dict[str, Any], parts: list[str], value: object) -> None:
    """``value`` at the nested place ``parts`` names (nothing when a parent is no object)."""
    node = instance
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            return
        node = child
    node[parts[-1]] = value


def _field_errors(err: ValidationError, nested: bool) -> list[FieldError]:
    where = [str(p) for p in err.absolute_path]
    code = _CODES.get(str(err.validator), "schema")
    if err.validator in ("required", "additionalProperties", "unevaluatedProperties") \
            and isinstance(err.instance, Mapping):
        if err.validator == "required":
            wanted = err.validator_value if isinstance(err.validator_value, list) else []
            names = [n for n in wanted if n not in err.instance]
        else:
            known = err.schema.get("properties", {}) if isinstance(err.schema, Mapping) else {}
            names = [n for n in err.instance if n not in known]
        return [FieldError(_join(where, str(n), nested), code, err.message) for n in names]
    if not nested and len(where) > 1:
        where = where[:1]
    return [FieldError(".".join(where), code, err.message)]


def _join(where: list[str], name: str, nested: bool) -> str:
    return ".".join([*where, name]) if nested else (where[0] if where else name)


def _rule_errors(fields: Mapping[str, FieldDef], values: Mapping[str, object],
                 env: Mapping[str, object], rules: list[Rule],
                 derived: Mapping[str, Derived]) -> list[FieldError]:
    """Rules that read a submitted field and are false with the submitted values."""
    scope = {**env, **values}
    out: list[FieldError] = []
    for rule in rules:
        touched = [n for n in rule.condition.names if n in fields]
        if not touched:
            continue
        try:
            ok = holds(rule.condition, scope, derived)
        except ConditionError:
            continue  # it needs data not collected yet
        if not ok:
            msg = rule.message.en if rule.message else f"rule {rule.id} is not met"
            out += [FieldError(p, "rule", msg, rule=rule.id, label=rule.message) for p in touched]
    return out


def _unique(errors: list[FieldError], fields: Mapping[str, FieldDef]) -> list[FieldError]:
    """One error per field and code, the runtime's own (more exact) message first; an error on
    a parent object is dropped when its fields have errors of their own."""
    seen: set[tuple[str, str]] = set()
    out = []
    for e in errors:
        if e.path not in fields and any(o.path.startswith(e.path + ".") for o in errors):
            continue
        if (e.path, e.code) not in seen:
            seen.add((e.path, e.code))
            out.append(e)
    return out
