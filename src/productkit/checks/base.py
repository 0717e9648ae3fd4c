"""What every check receives: the stage context plus the products assembled so far."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..assemble import Assemblies, Assembly, assemble
from ..context import Context, problem_diagnostic
from ..resolve import resolve_product
from ..sources import Entry

__all__ = ["CheckContext", "problem_diagnostic"]


@dataclass(slots=True)
class CheckContext(Context):
    """A :class:`Context` that also keeps each product's assembly, built on first use."""

    assemblies: Assemblies = field(init=False)

    def __post_init__(self) -> None:
        self.assemblies = Assemblies(self._assemble)

    def _assemble(self, entry: Entry) -> Assembly:
        return assemble(self, resolve_product(self, entry))
