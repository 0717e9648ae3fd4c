"""Checks that keep what `build` writes portable: file names within 255 bytes, no two product
versions whose file names differ only by case (they collide on macOS and Windows)."""

from __future__ import annotations

from collections.abc import Iterator

from ..diagnostics import Diagnostic, Related
from ..model import Product, ProductLine
from ..sources import Entry
from .base import CheckContext

__all__ = ["NAME_BYTES", "check_case_collisions", "check_name_lengths"]

NAME_BYTES = 255  # the file-name limit of every common file system
# The longest names build writes: "<id>@<version>.bpmn" / ".json" and "<step>.<channel>.json".
_PRODUCT_SUFFIX = len(".bpmn")
_STEP_SUFFIX = len(".mini-program.json")


def check_name_lengths(ctx: CheckContext) -> Iterator[Diagnostic]:
    """PK106/PK107: ids, versions and step ids too long to become file names of the build."""
    for entry in ctx.catalog.entries:
        model = entry.model
        if isinstance(model, Product):
            size = len(f"{model.id}@{model.version}".encode()) + _PRODUCT_SUFFIX
            if size > NAME_BYTES:
                field = "id" if len(model.id) >= len(model.version) else "version"
                yield Diagnostic("PK106" if field == "id" else "PK107",
                                 f"'{model.id}@{model.version}' makes build file names of {size} bytes, "
                                 f"above the limit of {NAME_BYTES}", entry.doc.loc((field,)),
                                 hint="shorten the id or the version")
        if isinstance(model, Product | ProductLine):
            yield from _step_names(entry, model)


def _step_names(entry: Entry, model: Product | ProductLine) -> Iterator[Diagnostic]:
    for i, step in enumerate(model.steps):
        size = len(step.id.encode()) + _STEP_SUFFIX
        if size > NAME_BYTES:
            yield Diagnostic("PK106", f"step id '{step.id[:40]}...' makes form file names of {size} bytes, "
                             f"above the limit of {NAME_BYTES}", entry.doc.loc(("steps", i, "id")),
                             hint="shorten the step id")


def check_case_collisions(ctx: CheckContext) -> Iterator[Diagnostic]:
    """PK201: two versions of one product that differ only by case (1.0.0-RC and 1.0.0-rc)
    would overwrite each other's files on a case-insensitive file system."""
    seen: dict[str, Entry] = {}
    for entry in sorted(ctx.catalog.kind("Product"), key=lambda e: (e.file, e.key)):
        folded = f"{entry.key[1]}@{entry.key[2]}".casefold()
        other = seen.setdefault(folded, entry)
        if other is not entry and other.key != entry.key:
            yield Diagnostic("PK201", f"Product {entry.key[1]} {entry.key[2]} differs from version "
                             f"{other.key[2]} only by case; their build files would collide",
                             entry.doc.loc(("version",)),
                             related=(Related(other.doc.loc(("version",)), "the other version"),),
                             hint="use versions that differ in more than case")
