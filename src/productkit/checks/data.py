"""Checks against the data dictionary: every data path the catalogue uses is defined there, with
the same type, by its canonical name; two definitions with one meaning are flagged.

Nothing here runs when the catalogue holds no DataDictionary: the dictionary is opt-in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from .. import _celparse as cel
from ..assemble import type_name
from ..diagnostics import Diagnostic, Location, Related, Severity
from ..loader import Document
from ..model import DataDictionary, DataEntry, ProcessComponent, Product, ProductLine, TypeSpec, UIComponent
from ..params import effective_spec
from ..refs import COMPONENT_KINDS, resolve_ref
from ..shape import did_you_mean
from ..sources import Entry, SourceCatalog
from .base import CheckContext

__all__ = ["check_data_dictionary", "data_uses"]

_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})


@dataclass(frozen=True, slots=True)
class Use:
    """One place a document uses a data path, with the declaration written there (if any)."""

    path: str
    at: Location
    spec: TypeSpec | None = None


@dataclass(slots=True)
class _Index:
    entries: dict[str, tuple[DataEntry, Location]]
    aliases: dict[str, str]  # alias -> canonical path


def check_data_dictionary(ctx: CheckContext) -> Iterator[Diagnostic]:
    """PK216-PK219 (and PK201 for a path defined twice), when the catalogue has a data dictionary."""
    dictionaries = ctx.catalog.kind("DataDictionary")
    if not dictionaries:
        return
    index, found = _index(dictionaries)
    yield from found
    yield from _same_meaning(index)
    for entry in ctx.catalog.entries:
        for use in data_uses(entry, ctx.catalog):
            yield from _judge(ctx, index, use)


def _index(dictionaries: list[Entry]) -> tuple[_Index, list[Diagnostic]]:
    index, out = _Index({}, {}), []
    for entry in dictionaries:
        model = entry.model
        assert isinstance(model, DataDictionary)
        for path, spec in model.data.items():
            at = entry.doc.loc(("data", path), key=True)
            if path in index.entries:
                out.append(Diagnostic("PK201", f"data path '{path}' is defined twice", at,
                                      related=(Related(index.entries[path][1], "first defined here"),)))
                continue
            index.entries[path] = (spec, at)
    for entry in dictionaries:
        model = entry.model
        assert isinstance(model, DataDictionary)
        for path, spec in model.data.items():
            for j, alias in enumerate(spec.aliases):
                if alias in index.entries or alias in index.aliases:
                    out.append(Diagnostic("PK201", f"'{alias}' is an alias of '{path}' and is also defined",
                                          entry.doc.loc(("data", path, "aliases", j)),
                                          hint="a path is either defined or an alias of one definition"))
                    continue
                index.aliases[alias] = path
    return index, out


def _normal(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.casefold()).strip()


def _same_meaning(index: _Index) -> Iterator[Diagnostic]:
    """PK219: two definitions whose English or Chinese titles are the same once normalised."""
    seen: dict[tuple[str, str], str] = {}
    for path, (spec, at) in index.entries.items():
        for lang, title in (("en", spec.title.en), ("zh-CN", spec.title.zh_cn)):
            key = (lang, _normal(title))
            first = seen.setdefault(key, path)
            if first != path:
                yield Diagnostic("PK219", f"'{path}' and '{first}' have the same {lang} title '{title}'", at,
                                 Severity.WARNING, related=(Related(index.entries[first][1], "defined here"),),
                                 hint="if they mean the same, keep one and list the other in its aliases; "
                                 "else give each a title that tells them apart")
                break


def _judge(ctx: CheckContext, index: _Index, use: Use) -> Iterator[Diagnostic]:
    path = use.path
    if path in index.aliases:
        canonical = index.aliases[path]
        yield Diagnostic("PK217", f"'{path}' is an alias of '{canonical}' in the data dictionary", use.at,
                         Severity.WARNING, related=(Related(index.entries[canonical][1], "defined here"),),
                         hint=f"write {canonical}")
        path = canonical
    if path not in index.entries:
        yield Diagnostic("PK216", f"data path '{path}' is not in the data dictionary", use.at, Severity.WARNING,
                         hint=did_you_mean(path, [*index.entries, *index.aliases])
                         or "add it to a DataDictionary with its type and meaning")
        return
    spec, at = index.entries[path]
    if use.spec is None or (use.spec.type is None and use.spec.ref is None):
        return
    mine, theirs = effective_spec(use.spec, ctx.dictionary), effective_spec(spec, ctx.dictionary)
    if mine.type is None or theirs.type is None or _agree(mine, theirs):
        return
    yield Diagnostic("PK218", f"{use.path} is declared {_shown(mine)} here, {_shown(theirs)} in the data "
                     "dictionary", use.at, related=(Related(at, "defined here"),),
                     hint=f"declare it as the dictionary does ({_shown(theirs)}), or use another path")


def _agree(mine: TypeSpec, theirs: TypeSpec) -> bool:
    if type_name(mine) != type_name(theirs):
        return False
    return mine.type != "money" or mine.currency is None or theirs.currency is None or mine.currency == theirs.currency


def _shown(spec: TypeSpec) -> str:
    return type_name(spec) + (f" {spec.currency}" if spec.type == "money" and spec.currency else "")


# ------------------------------------------------------------------ where documents use data


def data_uses(entry: Entry, catalog: SourceCatalog | None = None) -> Iterator[Use]:
    """Every data path ``entry`` declares, renames, shows or reads in an expression; with the
    catalogue, a renamed path carries the type the component declares for it."""
    model, doc = entry.model, entry.doc
    if isinstance(model, ProcessComponent):
        for part, decls in (("inputs", model.inputs), ("outputs", model.outputs)):
            yield from (Use(p, doc.loc((part, p), key=True), s) for p, s in decls.items())
    elif isinstance(model, UIComponent):
        yield from (Use(p, doc.loc(("fields", p), key=True), s) for p, s in model.fields.items())
        yield from (Use(p, doc.loc(("shows", i))) for i, p in enumerate(model.shows) if "." in p)
    elif isinstance(model, Product | ProductLine):
        yield from _product_uses(model, doc, catalog)


def _product_uses(model: Product | ProductLine, doc: Document, catalog: SourceCatalog | None) -> Iterator[Use]:
    yield from (Use(p, doc.loc(("context", p), key=True), s) for p, s in model.context.items())
    for i, step in enumerate(model.steps):
        declared = _declared(catalog, step.use)
        for part, renames in (("inputs", step.inputs), ("outputs", step.outputs)):
            yield from (Use(p, doc.loc(("steps", i, part, k)), declared.get(k)) for k, p in renames.items())
        if step.when is not None:
            yield from _expr_uses(step.when, doc, ("steps", i, "when"))
    for i, rule in enumerate(model.rules):
        yield from _expr_uses(rule.expr, doc, ("rules", i, "expr"))
    for name, d in model.derived.items():
        yield from _expr_uses(d.expr, doc, ("derived", name, "expr"))


def _declared(catalog: SourceCatalog | None, use: str | None) -> dict[str, TypeSpec]:
    """The component's own declarations by path (inputs, outputs, fields), or none."""
    if catalog is None or use is None:
        return {}
    found = resolve_ref(catalog, use, COMPONENT_KINDS)
    model = found.model if isinstance(found, Entry) else None
    if isinstance(model, ProcessComponent):
        return {**model.inputs, **model.outputs}
    if isinstance(model, UIComponent):
        return dict(model.fields)
    return {}


def _expr_uses(text: str, doc: Document, path: tuple[str | int, ...]) -> Iterator[Use]:
    try:
        root = cel.parse(text)
    except cel.ParseError:
        return  # reported by the expression checks
    for name, offset in _dotted(root):
        yield Use(name, doc.text_loc(path, offset))


def _dotted(root: cel.Node) -> Iterator[tuple[str, int]]:
    """Dotted names an expression reads, with their offsets (a macro's own variable aside)."""
    todo: list[tuple[cel.Node, frozenset[str]]] = [(root, frozenset())]
    while todo:
        node, bound = todo.pop()
        if isinstance(node, cel.Name):
            if "." in node.path and node.path.split(".")[0] not in bound:
                yield node.path, node.offset
            continue
        if (isinstance(node, cel.Call) and node.func in _MACROS and node.target is not None and node.args
                and isinstance(node.args[0], cel.Name) and "." not in node.args[0].path):
            todo.append((node.target, bound))
            todo.extend((arg, bound | {node.args[0].path}) for arg in node.args[1:])
            continue
        todo.extend((child, bound) for child in cel.children(node))
