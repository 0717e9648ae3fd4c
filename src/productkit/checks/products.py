"""Checks on assembled products: parameters, rules and the graph (see resolve and assemble)."""

from __future__ import annotations

from collections.abc import Iterator

from ..diagnostics import Diagnostic
from ..shape import did_you_mean
from ._context import Context

__all__ = ["check_line_cycles", "check_products"]


def check_line_cycles(ctx: Context) -> Iterator[Diagnostic]:
    """PK205: extends cycles among lines, also when no product extends them yet."""
    from ..resolve import extends_chain

    for entry in ctx.catalog.kind("ProductLine"):
        out: list[Diagnostic] = []
        extends_chain(ctx, entry, out)
        yield from out


def check_products(ctx: Context) -> Iterator[Diagnostic]:
    """Resolve and assemble every product; PK2xx, PK3xx and PK4xx diagnostics."""
    from ..assemble import assemble
    from ..resolve import resolve_product

    for entry in ctx.catalog.kind("Product"):
        rp = resolve_product(ctx, entry)
        yield from rp.diagnostics
        yield from _step_refs(rp)
        asm = assemble(ctx, rp)
        ctx.assemblies[entry.key] = asm
        yield from asm.diagnostics


def _step_refs(rp: object) -> Iterator[Diagnostic]:
    from ..resolve import ResolvedProduct

    assert isinstance(rp, ResolvedProduct)
    ids = {rs.step.id for rs in rp.steps}
    for rs in rp.steps:
        for j, before in enumerate(rs.step.after):
            if before not in ids:
                yield Diagnostic("PK202", f"no step '{before}' in this product", rs.loc("after", j),
                                 hint=did_you_mean(before, ids))
        for code, route in rs.step.on_error.items():
            if route.goto is not None and route.goto not in ids:
                yield Diagnostic("PK202", f"no step '{route.goto}' in this product",
                                 rs.loc("on_error", code, "goto"), hint=did_you_mean(route.goto, ids))
