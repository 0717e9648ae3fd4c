"""productkit: bank products declared in YAML, validated, and compiled into workflows.

The pipeline, one function per stage::

    result = productkit.validate(["."])          # load, shape, resolve, assemble, check
    build = productkit.build(["."], out=Path("build"))
    catalog = productkit.Catalog.load("build")   # what channel services use
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

__all__ = [
    "Diagnostic",
    "Options",
    "__version__",
    "build",
    "validate",
]

_LAZY = {
    "build": ("build", "build"),
    "validate": ("validate", "validate"),
    "Diagnostic": ("diagnostics", "Diagnostic"),
    "Options": ("options", "Options"),
    "Catalog": ("runtime", "Catalog"),
    "Engine": ("runtime", "Engine"),
}


def __getattr__(name: str) -> Any:
    # Lazy imports keep `productkit --help` fast and let `import productkit` stay light; the
    # package itself imports none of its modules, so no import of it can close a cycle.
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(name)
