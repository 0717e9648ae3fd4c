"""The repository's catalogue is the bank's reference catalogue and the tour for new designers:
every field of the language is used by at least one of its documents, and it validates with no
error and no warning (infos, such as PK213 for a product-specific parameter, are allowed).

A field counts as used when some document sets it explicitly (it is in ``model_fields_set`` of
an instance), so a default value does not demonstrate anything. That the scenarios pass is
checked by ``test_scenarios.py``.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from productkit.diagnostics import Severity
from productkit.model import KINDS, Header, TypeSpec
from productkit.validate import ValidationResult, validate

REPO = Path(__file__).resolve().parents[1]

# Bases whose fields are the same field wherever they are inherited: a declaration field is
# demonstrated once whether a dictionary entry, a UI field, a product's parameter setting or an
# input sets it, and a header field once whichever kind of document sets it. Fields of the other
# classes count per class: a product line extending a line is not shown by a product doing so.
SHARED_BASES: tuple[type[BaseModel], ...] = (TypeSpec, Header)

# Purely documentary fields: free text and labels for people that change nothing a check, the
# compiler or the runtime does, so they need no demonstration.
DOCUMENTARY: dict[tuple[str, str], str] = {
    ("Header", "description"): "free text about a document",
    ("Header", "tags"): "search keywords of a document",
    ("TypeSpec", "description"): "free text about a declaration",
}


def _models_in(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models an annotation mentions (through unions, lists, dicts, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _reachable() -> set[type[BaseModel]]:
    seen: set[type[BaseModel]] = set()
    todo: list[type[BaseModel]] = list(KINDS.values())
    while todo:
        cls = todo.pop()
        if cls not in seen:
            seen.add(cls)
            todo += [m for f in cls.model_fields.values() for m in _models_in(f.annotation)]
    return seen


def _feature(cls: type[BaseModel], name: str) -> tuple[str, str]:
    """The language feature a field of ``cls`` is: (class, field), shared bases merged."""
    for base in SHARED_BASES:
        if issubclass(cls, base) and name in base.model_fields:
            return (base.__name__, name)
    return (cls.__name__, name)


def _features() -> set[tuple[str, str]]:
    return {_feature(cls, name) for cls in _reachable() for name in cls.model_fields}


def _used(value: object) -> Iterator[tuple[str, str]]:
    if isinstance(value, BaseModel):
        for name in value.model_fields_set:
            yield _feature(type(value), name)
        for name in type(value).model_fields:
            yield from _used(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _used(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _used(item)


@functools.cache
def _catalogue() -> ValidationResult:
    return validate([REPO])


def test_the_catalogue_has_no_errors_and_no_warnings() -> None:
    problems = [f"{d.location}: {d.severity.value} {d.code} {d.message}"
                for d in _catalogue().diagnostics if d.severity is not Severity.INFO]
    assert not problems, "\n".join(problems)


def test_every_kind_of_document_is_in_the_catalogue() -> None:
    kinds = {e.model.kind for e in _catalogue().catalog.entries}
    assert kinds == set(KINDS)


def test_every_field_of_the_language_is_used_by_the_catalogue() -> None:
    used = {feature for entry in _catalogue().catalog.entries for feature in _used(entry.model)}
    unused = sorted(_features() - used - set(DOCUMENTARY))
    assert not unused, "fields no catalogue document sets (use them in a product or component, " \
        "realistically, or allowlist a purely documentary one): " + \
        ", ".join(f"{cls}.{name}" for cls, name in unused)


def test_the_documentary_allowlist_names_real_fields() -> None:
    stale = sorted(set(DOCUMENTARY) - _features())
    assert not stale, f"allowlisted fields the language no longer has: {stale}"


def test_the_walk_sees_every_model_and_the_merged_features() -> None:
    names = {cls.__name__ for cls in _reachable()}
    assert {"TypeSpec", "UIField", "DictionaryEntry", "ParamSetting", "Step", "ErrorRoute", "Derived",
            "BusinessError", "Retry", "Wait", "Assignment", "Deprecation", "Effective", "Label"} <= names
    assert _feature(KINDS["UIComponent"], "tags") == ("Header", "tags")
    assert _feature(KINDS["ProductLine"], "extends") == ("ProductLine", "extends")
    assert ("UIField", "readonly") in _features() and ("TypeSpec", "step") in _features()
