"""What the build's targets would say about a product, said by ``validate`` first and located.

A target reports what it cannot express (PK501: a condition without a FEEL form, an error path
BPMN cannot read, ...) against the workflow definition, by path (``steps.<id>.when``). Here
each product that passed every other check is compiled and emitted by every selected target,
and each such diagnostic is moved to the place in the YAML it is about, so that ``validate``
raises everything ``build`` would, with line and column.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from ..assemble import Assembly
from ..diagnostics import Diagnostic, Location
from ..options import Options

__all__ = ["located", "target_problems"]


def target_problems(asm: Assembly, options: Options) -> Iterator[Diagnostic]:
    """Every selected target's diagnostics on the product, located in its source."""
    from ..compile import compile_product
    from ..targets import load_targets

    registry = load_targets(options.targets)
    asked = [registry[name] for name in options.targets if name in registry]
    if not asked:
        return
    defn = compile_product(asm, digest=False)  # what the targets say does not depend on it
    for target in asked:
        yield from located(asm, target(options).problems(defn))


def located(asm: Assembly, found: Iterable[Diagnostic]) -> Iterator[Diagnostic]:
    """Targets' diagnostics on the definition of ``asm``, each moved to its place in the YAML."""
    for d in found:
        yield replace(d, location=_locate(asm, d.location))


def _locate(asm: Assembly, at: Location) -> Location:
    """A definition path (``steps``, step id, ...) as the place in the document that says it."""
    path = at.path
    if len(path) >= 2 and path[0] == "steps" and path[1] in asm.steps:
        return asm.steps[str(path[1])].rs.loc(*path[2:])
    return asm.product.entry.doc.loc(path)
