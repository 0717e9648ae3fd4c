"""The definitions a worker can run, by digest: what a workflow is pinned to.

A workflow names the digest of the definition its application started on. The worker fills
this registry from the builds it was given before it polls; the workflow looks its digest up
and refuses one it does not have (:class:`DefinitionUnknown`, PK615). Digests name content, so
an entry never changes: reading it from a workflow is deterministic. The workflow sandbox passes
this module through, so every workflow of a process sees the one registry."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..catalog import Catalog
from ..core import Program
from ..engine import Engine
from ..errors import EngineError
from ..views import ProductVersion

__all__ = ["DefinitionUnknown", "Pinned", "add", "pinned"]


class DefinitionUnknown(EngineError):
    """PK615: the worker has no definition with the digest an application is pinned to."""

    code = "PK615"


@dataclass(frozen=True, slots=True)
class Pinned:
    """One product version a worker runs: the definition, its program, and the catalogue
    (forms, parameters) that checks its screens."""

    version: ProductVersion
    program: Program
    checker: Engine  # the embedded engine's checks of a submission, over this catalogue


_PINNED: dict[str, Pinned] = {}
_LOCK = threading.Lock()


def add(catalog: Catalog) -> list[str]:
    """Make every product version of ``catalog`` runnable here; the digests added."""
    checker = Engine(catalog)
    added = []
    with _LOCK:
        for pv in catalog:
            if pv.digest not in _PINNED:
                _PINNED[pv.digest] = Pinned(pv, Program.of(pv.definition), checker)
                added.append(pv.digest)
    return added


def pinned(digest: str, key: str) -> Pinned:
    """The product version with ``digest``; DefinitionUnknown when no build given to this
    worker holds it."""
    found = _PINNED.get(digest)
    if found is None:
        raise DefinitionUnknown(
            f"PK615: this worker has no definition of {key} with digest {digest}; the application "
            "waits until a worker given a build that holds it picks it up (productkit worker "
            "--build <that build>, repeatable)")
    return found
