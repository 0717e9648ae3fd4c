"""The forms target: per user step and channel, a JSON Schema of the data the screen collects, a
JSON Forms UI schema and zh-CN/en labels (see :mod:`productkit.forms`). Channels render them
without product code, and the runtime validates submissions with the same files."""

from __future__ import annotations

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
