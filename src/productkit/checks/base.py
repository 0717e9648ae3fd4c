"""What every check receives: the stage context plus the products assembled so far."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field, fields
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


@dataclass(slots=True)
class CheckContext(Context):
    """A :class:`Context` that also keeps each product's assembly, built on first use, and, when
    a build sets ``emit``, what it made of each product checked afresh (``made``)."""

    assemblies: Assemblies = field(init=False)
    emit: Emit | None = None
    made: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    # when set, check_products also keeps each product's findings here, by the product's file
    by_product: dict[str, list[Diagnostic]] | None = None

    def __post_init__(self) -> None:
        # The assemblies make products with a plain Context sharing this one's fields (the same
        # catalogue, options and memo tables), not with this context: no reference cycle, so
        # what a check or a build made is freed as soon as it is dropped, not by a later
        # collection walking a whole catalogue's objects (about a second at scale 1), and the
        # assemblies keep working for a caller that keeps only them.
        plain = Context(**{f.name: getattr(self, f.name) for f in fields(Context)})
        self.assemblies = Assemblies(functools.partial(_assembled, plain))

    def to_compile(self, key: tuple[str, str, str]) -> Assembly:
        """A clean product's assembly to compile: the one its checks built, else (its findings
        came from the cache) one assembled again without the graph checks, and not kept."""
        built = self.assemblies.built(key)
        if built is not None:
            return built
        return assemble(self, resolve_product(self, self.assemblies.entry(key)), checked=False)


def _assembled(ctx: Context, entry: Entry) -> Assembly:
    return assemble(ctx, resolve_product(ctx, entry))
