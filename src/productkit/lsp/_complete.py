"""Completion and hover from the session's catalogue.

What is offered depends on the line being typed, read as text (the buffer is often not valid
YAML while one types): after ``use:`` component ids with a caret range of their major version;
in ``after:`` (inline or as a list) and ``goto:`` the step ids of the buffer; under
``parameters:`` and ``with:`` the dictionaries' parameter names; elsewhere the data names (the
data dictionary's paths and the context the document and its lines declare)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from lsprotocol import types

from ..model import DataDictionary, ParameterDictionary, ProcessComponent, Product, ProductLine, UIComponent
from ..resolve import extends_chain
from ._session import Session

__all__ = ["complete", "hover"]

_USE = re.compile(r"\buse:\s*[\w.-]*$")
_STEP_REF = re.compile(r"\b(?:after:\s*\[?[^\]]*|goto:\s*[\w.-]*)$")
_STEP_ID = re.compile(r"^\s*-\s+id:\s*([\w.-]+)", re.M)
_KEY = re.compile(r"(\s*)(?:-\s+)?([\w-]+):")


def complete(session: Session, name: str, text: str, line: int, col: int) -> list[types.CompletionItem]:
    """The completion items at ``line``:``col`` of the buffer ``text`` of file ``name``."""
    lines = text.splitlines()
    before = lines[line][:col] if line < len(lines) else ""
    section = _section_above(lines, line)
    if _USE.search(before):
        return list(_components(session))
    if _STEP_REF.search(before) or (section == "after" and re.fullmatch(r"\s*-\s*[\w.-]*", before)):
        return [types.CompletionItem(label=s, kind=types.CompletionItemKind.Reference, detail="step")
                for s in dict.fromkeys(_STEP_ID.findall(text))]
    if section in ("parameters", "with"):
        return list(_parameters(session))
    return list(_data_names(session, name))


def _components(session: Session) -> Iterator[types.CompletionItem]:
    seen: set[str] = set()
    for entry in session.catalog.entries:
        model = entry.model
        if not isinstance(model, ProcessComponent | UIComponent):
            continue
        label = f"{model.id}@^{model.version.split('.')[0]}"
        if label not in seen:
            seen.add(label)
            title = model.title.en if getattr(model, "title", None) is not None else None
            yield types.CompletionItem(label=label, kind=types.CompletionItemKind.Module,
                                       detail=f"{entry.key[0]} {model.version}", documentation=title)


def _parameters(session: Session) -> Iterator[types.CompletionItem]:
    for entry in session.catalog.kind("ParameterDictionary"):
        model = entry.model
        assert isinstance(model, ParameterDictionary)
        for pname, spec in model.parameters.items():
            title = spec.title.en if spec.title is not None else None
            yield types.CompletionItem(label=pname, kind=types.CompletionItemKind.Property,
                                       detail=f"{spec.type or 'parameter'} ({model.id})", documentation=title)


def _data_names(session: Session, name: str) -> Iterator[types.CompletionItem]:
    found: dict[str, str] = {}
    for entry in session.catalog.kind("DataDictionary"):
        assert isinstance(entry.model, DataDictionary)
        found.update((path, f"data ({entry.model.id})") for path in entry.model.data)
    own = session.entries.get(name)
    if own is not None and isinstance(own.model, Product | ProductLine):
        for level in (own, *extends_chain(session.ctx, own, [])):
            assert isinstance(level.model, Product | ProductLine)
            found.update((path, f"context ({level.model.id})") for path in level.model.context)
    for path, detail in sorted(found.items()):
        yield types.CompletionItem(label=path, kind=types.CompletionItemKind.Field, detail=detail)


def hover(session: Session, name: str, text: str, line: int, col: int) -> types.Hover | None:
    """A parameter's resolved value and where each level of it was set, at ``line``:``col``."""
    lines = text.splitlines()
    if line >= len(lines):
        return None
    word = _word(lines[line], col)
    rp = session.resolved(name) if word else None
    param = rp.params.get(word) if rp is not None else None
    if param is None:
        return None
    value = param.value if param.value is not None else "(not set)"
    chain = "\n".join(f"- `{i.source}` = {i.value} ({i.location})" for i in param.provenance)
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                                    value=f"**{word}** = {value}\n\n{chain}"))


def _word(text: str, col: int) -> str:
    for m in re.finditer(r"[\w.-]+", text):
        if m.start() <= col <= m.end():
            return m.group()
    return ""


def _section_above(lines: list[str], line: int) -> str | None:
    """The key of the nearest less-indented ``key:`` line above ``line``."""
    here = lines[line] if line < len(lines) else ""
    indent = len(here) - len(here.lstrip())
    for text in reversed(lines[:line]):
        m = _KEY.match(text)
        if m and len(m[1]) < indent:
            return m[2]
    return None
