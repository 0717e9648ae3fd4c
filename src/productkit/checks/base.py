"""What every check receives: the stage context plus the products assembled so far."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..assemble import Assemblies, Assembly, assemble
from ..context import Context, problem_diagnostic
from ..diagnostics import Diagnostic
from ..resolve import resolve_product
from ..sources import Entry

__all__ = ["CheckContext", "Emit", "problem_diagnostic"]

# What a build makes of a product that passed its checks, in the same pass (and the same worker
# process) that checked it, given the context that checked it: the build's own output of it (None
# when the build keeps its previous output), and the targets' diagnostics about it (located and
# reported by check_products like validate's).
Emit = Callable[[Assembly, "CheckContext"], tuple[Any, tuple[Diagnostic, ...]]]


@dataclass(slots=True, weakref_slot=True)
class CheckContext(Context):
    """A :class:`Context` that also keeps each product's assembly, built on first use, and, when
    a build sets ``emit``, what it made of each product checked afresh (``made``)."""

    assemblies: Assemblies = field(init=False)
    emit: Emit | None = None
    made: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    # when set, check_products also keeps each product's findings here, by the product's file
    by_product: dict[str, list[Diagnostic]] | None = None

    def __post_init__(self) -> None:
        # the assemblies reach back to this context through a weak reference: no cycle, so what a
        # check or a build made is freed as soon as its context goes, not by a later collection
        # walking a whole catalogue's objects (about a second at scale 1)
        self.assemblies = Assemblies(weakref.WeakMethod(self._assemble))

    def _assemble(self, entry: Entry) -> Assembly:
        return assemble(self, resolve_product(self, entry))

    def to_compile(self, key: tuple[str, str, str]) -> Assembly:
        """A clean product's assembly to compile: the one its checks built, else (its findings
        came from the cache) one assembled again without the graph checks, and not kept."""
        built = self.assemblies.built(key)
        if built is not None:
            return built
        return assemble(self, resolve_product(self, self.assemblies.entry(key)), checked=False)
