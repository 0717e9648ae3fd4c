"""The forms target: per user step and channel, a JSON Schema of the data the screen collects, a
JSON Forms UI schema and zh-CN/en labels (see :mod:`productkit.forms`). Channels render them
without product code, and the runtime validates submissions with the same files."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from ..forms import forms_of
from ..ir import WorkflowDefinition, pretty_json
from .base import EmitContext, Emitted, Target, register

__all__ = ["FormsTarget"]


@register
class FormsTarget(Target[EmitContext, None]):
    """One ``forms/<id>@<version>/<step>.<channel>.json`` file per user step and channel."""

    name = "forms"
    suffix = "/"
    description = "JSON Schema and JSON Forms UI schema of every screen, per channel"

    def emit(self, defn: WorkflowDefinition) -> Emitted:
        folder = self.location(defn)
        files = {f"{folder}{sid}.{channel}.json": pretty_json(form).encode("utf-8")
                 for sid, per_channel in forms_of(defn).items() for channel, form in per_channel.items()}
        return Emitted(self.name, files, (), folder)

    def verify(self, files: Mapping[str, bytes]) -> Iterator[tuple[str, str]]:
        """Every form's schema is a valid JSON Schema 2020-12 (checked by its meta-schema)."""
        for name, data in sorted(files.items()):
            try:
                Draft202012Validator.check_schema(orjson.loads(data)["schema"])
            except SchemaError as exc:
                yield name, f"the form's schema fails the JSON Schema 2020-12 meta-schema: {exc.message}"
            except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                yield name, f"the form is not a JSON object with a schema: {exc}"
