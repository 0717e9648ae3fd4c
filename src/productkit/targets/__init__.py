"""Stage 6: output targets. Each target is a plug-in class registered by name (see :mod:`.base`);
importing this package registers the built-in ones."""

from __future__ import annotations

from . import bpmn as bpmn
from .base import TARGETS, EmitContext, Emitted, Target, emit, register

__all__ = ["TARGETS", "EmitContext", "Emitted", "Target", "emit", "register"]
