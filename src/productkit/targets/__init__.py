"""Stage 6: output targets. Each target is a plug-in class registered by name (see :mod:`.base`).

Every public module of this package is imported with it (a new target is one new module here).
Every ``productkit.targets`` entry point of an installed package is loaded when a target is
asked for that is not built in, or every target is (scanning the installed packages' metadata
costs tens of milliseconds: a check of a product that wants the built-in targets does without).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable

from .base import TARGETS, EmitContext, Emitted, Target, emit, load_installed, register

__all__ = ["TARGETS", "EmitContext", "Emitted", "Target", "emit", "load_targets", "register"]


def load_targets(wanted: Iterable[str] | None = None) -> dict[str, type[Target]]:  # type: ignore[type-arg]
    """The registry with every built-in target in it, and every installed one when ``wanted``
    (target names) is None or names one that is not built in (the installed packages are looked
    up once per process)."""
    if wanted is None or any(name not in TARGETS for name in wanted):
        load_installed()
    return TARGETS


def _import_built_in() -> None:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


_import_built_in()  # once, with the package: every built-in target is registered before any is asked for
