"""Stage 2: a loaded document -> its typed model, every shape problem a located diagnostic."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ._gcpause import gc_paused
from .diagnostics import Diagnostic
from .loader import Document
from .model import KINDS, Header

__all__ = ["FIELD_NAMES", "diagnostic_of", "did_you_mean", "salvage", "to_model"]

API_VERSION = "productkit/v1"


def _field_names(models: Iterable[type[BaseModel]]) -> frozenset[str]:
    seen: set[str] = set()
    todo = list(models)
    names: set[str] = set()
    while todo:
        model = todo.pop()
        if model.__name__ in seen:
            continue
        seen.add(model.__name__)
        for name, info in model.model_fields.items():
            names.add(info.alias or name)
            for arg in _nested_models(info.annotation):
                todo.append(arg)
    return frozenset(names)


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()) or ():
        out.extend(_nested_models(arg))
    return out


FIELD_NAMES = _field_names(KINDS.values())


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A hint naming the closest choice, or None."""
    match = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else None


def _header_problem(doc: Document) -> Diagnostic | None:
    data = doc.data
    api = data.get("apiVersion")
    if api is None:
        return Diagnostic("PK101", "missing 'apiVersion'", doc.loc(()),
                          hint=f"start the document with apiVersion: {API_VERSION}")
    if api != API_VERSION:
        return Diagnostic("PK101", f"unknown apiVersion '{api}', expected '{API_VERSION}'",
                          doc.loc(("apiVersion",)))
    kind = data.get("kind")
    if kind is None:
        return Diagnostic("PK101", "missing 'kind'", doc.loc(()),
                          hint="kind is one of " + ", ".join(KINDS))
    if not isinstance(kind, str) or kind not in KINDS:
        hint = did_you_mean(str(kind), KINDS) or "kind is one of " + ", ".join(KINDS)
        return Diagnostic("PK101", f"unknown kind '{kind}'", doc.loc(("kind",)), hint=hint)
    return None


@gc_paused()
def to_model(doc: Document) -> tuple[Header | None, list[Diagnostic]]:
    """Validate a document against its kind's model; every error is located.

    A document with shape errors still defines what could be read: the model of the document
    without its bad parts (:func:`salvage`), so that its id, kind and declared interface are
    known to the rest of the catalogue and one mistake is reported once, not again by every
    document that uses it. The errors make the run fail all the same."""
    problem = _header_problem(doc)
    if problem is not None:
        return None, [problem]
    model_cls = KINDS[doc.data["kind"]]
    try:
        return model_cls.model_validate(doc.data), []
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        return salvage(model_cls, doc.data, errors), _one_root([diagnostic_of(doc, err) for err in errors])


def _one_root(found: list[Diagnostic]) -> list[Diagnostic]:
    """A label with a misspelt language key (``eng:``) lacks that language only because of it:
    the unknown key, with its did-you-mean, is the one report."""
    misspelt = {d.location.path[:-1] for d in found if d.code == "PK103" and d.location.path}
    return [d for d in found if not (d.code == "PK110" and d.location.path in misspelt)]


_SALVAGE_ROUNDS = 8


def salvage(model_cls: type[Header], data: Any, errors: list[ErrorDetails]) -> Header | None:
    """The model of ``data`` with every part an error points at left out (a missing label text
    filled from the other language), or None when even that does not validate."""
    data = copy.deepcopy(data)
    for _ in range(_SALVAGE_ROUNDS):
        if not all([_repair(data, err) for err in errors]):
            return None
        data = _compact(data)  # list items are marked first, so that no index moves meanwhile
        try:
            return model_cls.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
    return None


def _repair(data: Any, err: ErrorDetails) -> bool:
    """Leave out the part of ``data`` that ``err`` is about; False when that is the document."""
    path, _ = _doc_path(tuple(err["loc"]))
    if err["type"] == "missing" and path and path[-1] in _LABEL_TEXTS:
        parent = _at(data, path[:-1])
        if isinstance(parent, dict):
            other = parent.get(_LABEL_TEXTS[str(path[-1])])
            parent[path[-1]] = other if isinstance(other, str) else ""
            return True
    if err["type"] == "missing" or path[-1:] in (("type",), ("ref",)):
        path = path[:-1]  # the mapping that lacks the field; a declaration without its type
    return _drop(data, path)


_LABEL_TEXTS = {"en": "zh-CN", "zh-CN": "en"}


def _at(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _drop(data: Any, path: tuple[str | int, ...]) -> bool:
    """Remove the value at ``path`` (already removed counts); a top-level field is kept."""
    if len(path) < 2 and not (path and path[0] not in _REQUIRED_TOP):
        return False
    parent = _at(data, path[:-1])
    key = path[-1]
    if isinstance(parent, dict):
        parent.pop(key, None)
    elif isinstance(parent, list) and isinstance(key, int) and key < len(parent):
        parent[key] = _GONE
    return True


_GONE = object()


def _compact(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _compact(v) for k, v in data.items() if v is not _GONE}
    if isinstance(data, list):
        return [_compact(v) for v in data if v is not _GONE]
    return data
_REQUIRED_TOP = frozenset({"apiVersion", "kind", "id", "version", "title", "name", "channels", "parameters"})


_TYPE_WORDS = {
    "model_type": "a mapping", "dict_type": "a mapping", "list_type": "a list",
    "string_type": "text", "bool_type": "true or false", "int_type": "an integer",
    "literal_error": "one of the allowed words",
}


_BOUND_WORDS = {
    "greater_than_equal": "at least", "less_than_equal": "at most", "greater_than": "more than",
    "less_than": "less than", "too_short": "a length of at least", "too_long": "a length of at most",
}


def _doc_path(loc: tuple[int | str, ...]) -> tuple[tuple[str | int, ...], bool]:
    """Pydantic's error location -> document path; True when the error is about a key."""
    path: list[str | int] = []
    is_key = False
    for part in loc:
        if part == "[key]":
            is_key = True
            break
        if isinstance(part, str) and (part.startswith("function-") or "[" in part):
            continue
        path.append(part)
    return tuple(path), is_key


def diagnostic_of(doc: Document, err: ErrorDetails) -> Diagnostic:
    """A pydantic error on ``doc`` as a located, coded diagnostic."""
    path, is_key = _doc_path(tuple(err["loc"]))
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind.startswith("pk"):
        return Diagnostic(kind.upper(), err["msg"], doc.loc(path, key=is_key),
                          hint=ctx.get("hint") or None)
    if kind == "missing":
        name = str(path[-1]) if path else "?"
        code = "PK110" if name in ("zh-CN", "en") else "PK102"
        msg = f"the label lacks its '{name}' text" if code == "PK110" else f"required field '{name}' is missing"
        return Diagnostic(code, msg, doc.loc(path[:-1]),
                          hint="labels shown to people carry both zh-CN and en" if code == "PK110" else None)
    if kind == "extra_forbidden":
        name = str(path[-1]) if path else "?"
        return Diagnostic("PK103", f"unknown field '{name}'", doc.loc(path, key=True),
                          hint=did_you_mean(name, FIELD_NAMES))
    if kind == "literal_error":
        found = err.get("input")
        expected = str(ctx.get("expected", ""))
        words = [w.strip(" '") for w in expected.replace(" or ", ",").split(",") if w.strip(" '")]
        return Diagnostic("PK108", f"found '{found}', expected {expected}", doc.loc(path),
                          hint=did_you_mean(str(found), words))
    if kind in _TYPE_WORDS:
        from .types import describe

        return Diagnostic("PK104", f"found {describe(err.get('input'))}, expected {_TYPE_WORDS[kind]}",
                          doc.loc(path))
    if kind in _BOUND_WORDS:
        limit = next((ctx[k] for k in ("min_length", "max_length", "ge", "le", "gt", "lt") if k in ctx), "?")
        return Diagnostic("PK108", f"found {err.get('input')}, expected {_BOUND_WORDS[kind]} {limit}",
                          doc.loc(path))
    if kind == "value_error":
        msg = err["msg"].removeprefix("Value error, ")
        return Diagnostic("PK109", msg, doc.loc(path))
    return Diagnostic("PK108", err["msg"], doc.loc(path))
