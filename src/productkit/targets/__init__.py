"""Stage 6: output targets. Each target is a plug-in class registered by name (see :mod:`.base`).

Every public module of this package is imported when the registry is first asked for (a new
target is one new module here), and so is every ``productkit.targets`` entry point of an
installed package.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from importlib.metadata import entry_points

from .base import TARGETS, EmitContext, Emitted, Target, emit, register

__all__ = ["TARGETS", "EmitContext", "Emitted", "Target", "emit", "load_targets", "register"]


def load_targets() -> dict[str, type[Target]]:  # type: ignore[type-arg]
    """The registry with every built-in and installed target in it (the installed packages are
    looked up once per process: scanning their metadata costs milliseconds per call)."""
    _discover()
    return TARGETS


@functools.cache
def _discover() -> None:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    for entry in entry_points(group="productkit.targets"):
        entry.load()


load_targets()
