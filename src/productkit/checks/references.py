"""Checks that every reference names something that exists, at a version that exists."""

from __future__ import annotations

from collections.abc import Iterator

from ..diagnostics import Diagnostic, Related, Severity
from ..model import FAILED_CODE, ProcessComponent, Product, ProductLine, UIComponent
from ..refs import COMPONENT_KINDS, RefProblem, resolve_ref
from ..sources import Entry
from .base import CheckContext

__all__ = ["check_references"]


def _deprecation(target: Entry, at: Entry, path: tuple[str | int, ...]) -> Diagnostic | None:
    model = target.model
    if not isinstance(model, ProcessComponent | UIComponent) or model.deprecated is None:
        return None
    dep = model.deprecated
    hint = f"use {dep.replaced_by}" if dep.replaced_by else None
    why = f": {dep.reason}" if dep.reason else ""
    return Diagnostic("PK204", f"{model.id} {model.version} is deprecated since {dep.since}{why}",
                      at.doc.loc(path), Severity.WARNING,
                      (Related(target.doc.loc(("deprecated",)), "deprecated here"),), hint)


def check_references(ctx: CheckContext) -> Iterator[Diagnostic]:
    """PK202/PK203/PK209/PK204/PK212: component and template references, error codes."""
    for entry in ctx.catalog.entries:
        model = entry.model
        if isinstance(model, Product | ProductLine):
            if model.extends is not None:
                found = resolve_ref(ctx.catalog, model.extends, ("ProductLine",))
                if isinstance(found, RefProblem):
                    yield Diagnostic(found.code, found.message, entry.doc.loc(("extends",)), hint=found.hint)
            yield from _step_refs(ctx, entry, model)
        if isinstance(model, ProcessComponent | UIComponent) and model.deprecated is not None:
            rep = model.deprecated.replaced_by
            if rep is not None:
                found = resolve_ref(ctx.catalog, rep, COMPONENT_KINDS)
                if isinstance(found, RefProblem):
                    yield Diagnostic(found.code, found.message,
                                     entry.doc.loc(("deprecated", "replaced_by")), hint=found.hint)


def _step_refs(ctx: CheckContext, entry: Entry, model: Product | ProductLine) -> Iterator[Diagnostic]:
    for i, step in enumerate(model.steps):
        if step.use is None:
            continue
        found = resolve_ref(ctx.catalog, step.use, COMPONENT_KINDS)
        if isinstance(found, RefProblem):
            yield Diagnostic(found.code, found.message, entry.doc.loc(("steps", i, "use")), hint=found.hint)
            continue
        dep = _deprecation(found, entry, ("steps", i, "use"))
        if dep is not None:
            yield dep
        target = found.model
        declared = {e.code for e in target.errors} if isinstance(target, ProcessComponent) else set()
        service = isinstance(target, ProcessComponent) and target.task == "service"
        for code in step.on_error:
            if code == FAILED_CODE and not service:
                yield Diagnostic("PK412", f"step '{step.id}' routes {FAILED_CODE}, but {target.id} calls no "
                                 "handler: only a service step fails technically",
                                 entry.doc.loc(("steps", i, "on_error", code), key=True))
            elif code not in declared and code != FAILED_CODE:
                have = ", ".join(sorted(declared)) or "none"
                yield Diagnostic("PK212", f"{target.id} declares no error '{code}' (it declares {have})",
                                 entry.doc.loc(("steps", i, "on_error", code), key=True),
                                 related=(Related(found.doc.loc(("errors",)), "errors declared here"),))
