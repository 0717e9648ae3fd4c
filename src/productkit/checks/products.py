"""Checks on assembled products: parameters, rules and the graph (see resolve and assemble)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from .._gcpause import gc_frozen, gc_paused, promote
from ..assemble import assemble
from ..cache import digest
from ..diagnostics import Diagnostic, diagnostic_from_data, diagnostic_to_data, has_errors
from ..model import Product, ProductLine
from ..parallel import map_ordered
from ..refs import COMPONENT_KINDS, resolve_ref
from ..resolve import ResolvedProduct, extends_chain, resolve_product
from ..shape import did_you_mean
from ..sources import Entry
from .base import CheckContext
from .targets import located, target_problems

__all__ = ["check_line_cycles", "check_products"]


def check_line_cycles(ctx: CheckContext) -> Iterator[Diagnostic]:
    """PK205: extends cycles among lines, also when no product extends them yet."""
    for entry in ctx.catalog.kind("ProductLine"):
        out: list[Diagnostic] = []
        extends_chain(ctx, entry, out)
        yield from out


def check_products(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Resolve and assemble every product; PK2xx, PK3xx and PK4xx diagnostics.

    A product's problems depend only on the files it reads (its own, its lines', the
    components its steps use, the dictionaries) and on which files its references pick, so
    they are cached under a digest of exactly those; cross-document checks stay global.
    Products not in the cache are checked independently of each other, on every core."""
    dictionaries = [e.file for e in ctx.catalog.kind("ParameterDictionary")]
    products = list(ctx.catalog.kind("Product"))
    found: dict[int, list[Diagnostic]] = {}  # by position: two files may declare the same key
    todo: list[tuple[int, Entry, str | None]] = []
    wanted = ctx.cache is not None or ctx.selected is not None  # else neither the key nor the files are read
    for at, entry in enumerate(products):
        key, reads = _dependencies(ctx, entry, dictionaries) if wanted else (None, set())
        if ctx.selected is not None and ctx.selected.isdisjoint(reads):
            ctx.assemblies.add(entry)  # none of its problems could be in the chosen files
            continue
        hit = _cached(ctx.cache.get("products", entry.file, key)) if ctx.cache is not None and key else None
        if hit is not None:
            found[at], ctx.inputs[entry.key] = hit
            ctx.assemblies.add(entry)
            continue
        todo.append((at, entry, key))
    with gc_frozen(), gc_paused():  # products build much and leave few cycles: see _gcpause
        checked = map_ordered(functools.partial(_check_product, ctx), [entry for _, entry, _ in todo])
    promote()  # the assemblies live on: given to the oldest generation, not walked young
    for (at, entry, key), (said, inputs, made) in zip(todo, checked, strict=True):
        found[at], ctx.inputs[entry.key] = said, inputs
        if entry.key not in ctx.assemblies:  # checked in another process: assembled again on demand
            ctx.assemblies.add(entry)
        if made is not None:
            ctx.made[entry.key] = made
        if ctx.cache is not None and key:
            ctx.cache.put("products", entry.file, key, {"found": [diagnostic_to_data(d) for d in said],
                                                         "inputs": inputs})
    for at, entry in enumerate(products):
        if ctx.by_product is not None:
            ctx.by_product[entry.file] = found.get(at, [])
        yield from found.get(at, ())


def _cached(value: object) -> tuple[list[Diagnostic], list[str]] | None:
    """A product's cached check results, or None when the entry is not what check_products wrote."""
    if not isinstance(value, dict):
        return None
    found, inputs = value.get("found"), value.get("inputs")
    if not (isinstance(found, list) and isinstance(inputs, list) and all(isinstance(f, str) for f in inputs)):
        return None
    try:
        return [diagnostic_from_data(d) for d in found], inputs
    except ValueError:
        return None


def _check_product(ctx: CheckContext, entry: Entry) -> tuple[list[Diagnostic], list[str], Any]:
    """One product's diagnostics, the files it reads, and what ``ctx.emit`` made of it (when it
    is clean and a build asked)."""
    rp = resolve_product(ctx, entry)
    found = [*rp.diagnostics, *_step_refs(rp)]
    asm = assemble(ctx, rp)
    # kept for what asks next (explain, the site); a build has what it needs in ``made``
    ctx.assemblies.add(entry, asm if ctx.emit is None else None)
    inputs = input_files(rp)
    if _damaged(rp):
        return [*found, *(d for d in asm.diagnostics if d.code[:3] not in _FOLLOW_ON)], inputs, None
    found += asm.diagnostics
    made = None
    if not has_errors(found):
        if ctx.emit is None:
            found += target_problems(asm, ctx.options)
        else:
            made, said = ctx.emit(asm, ctx)
            found += located(asm, said)
    return found, inputs, made


# Expressions and the graph of a product made of a document with shape errors see only what
# could be read of it: what they find there follows from those errors, reported already.
_FOLLOW_ON = ("PK3", "PK4")


def _damaged(rp: ResolvedProduct) -> bool:
    entries = [rp.entry, *rp.chain, *(rs.component for rs in rp.steps if rs.component is not None)]
    return any(e.damaged for e in entries)


def input_files(rp: ResolvedProduct) -> list[str]:
    """The catalogue files a resolved product is made of (dictionaries aside)."""
    files = {rp.entry.file, *(e.file for e in rp.chain)}
    files |= {rs.component.file for rs in rp.steps if rs.component is not None}
    return sorted(files)


def _dependencies(ctx: CheckContext, entry: Entry, dictionaries: list[str]) -> tuple[str | None, set[str]]:
    """The cache key of a product's checks, and every file they may read (a superset)."""
    chain = extends_chain(ctx, entry, [])
    reads = {entry.file, *dictionaries, *(e.file for e in chain)}
    parts = [repr(replace(ctx.options, cache=None)), "product", entry.file, "lines", *(e.file for e in chain)]
    for level in (entry, *chain):
        model = level.model
        assert isinstance(model, Product | ProductLine)
        for step in model.steps:
            if step.use is not None:
                found = resolve_ref(ctx.catalog, step.use, COMPONENT_KINDS)
                picked = found.file if isinstance(found, Entry) else "-"
                parts.append(f"use {step.use} -> {picked}")
                reads.add(picked)
    reads.discard("-")
    parts.append("dictionaries")
    parts.extend(dictionaries)
    digests = ctx.catalog.digests
    if any(f not in digests for f in reads):
        return None, reads
    parts.extend(f"{f}={digests[f]}" for f in sorted(reads))
    return digest(*parts), reads


def _step_refs(rp: ResolvedProduct) -> Iterator[Diagnostic]:
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
