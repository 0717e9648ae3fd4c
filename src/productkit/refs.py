"""Resolving ``id@range`` references to the highest matching version in the catalogue."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import semantic_version

from .shape import did_you_mean
from .sources import Entry, SourceCatalog, parse_version

__all__ = ["COMPONENT_KINDS", "RefProblem", "resolve_ref", "split_ref"]

COMPONENT_KINDS = ("ProcessComponent", "UIComponent")


@dataclass(frozen=True, slots=True)
class RefProblem:
    code: str
    message: str
    suggest: Callable[[], str | None] | None = None  # the hint, worked out only when it is asked for

    @property
    def hint(self) -> str | None:
        """What to write instead. A near id is looked for among every id of the kinds only
        here: resolving steps and cache keys meets a broken reference once per product, and
        only its report needs the hint."""
        return self.suggest() if self.suggest is not None else None


def split_ref(ref: str) -> tuple[str, str]:
    ident, _, rng = ref.partition("@")
    return ident, rng or "*"


def resolve_ref(catalog: SourceCatalog, ref: str, kinds: Sequence[str]) -> Entry | RefProblem:
    """The highest version of ``ref``'s id among ``kinds`` that satisfies its range."""
    ident, rng = split_ref(ref)
    found = catalog.versions(kinds, ident)
    if not found:
        other = [k for (k, i) in catalog.by_id if i == ident]
        if other:
            return RefProblem("PK209", f"'{ident}' is a {other[0]}, expected a "
                              + " or ".join(kinds))
        return RefProblem("PK202", f"no {' or '.join(kinds)} '{ident}'",
                          functools.partial(_near, catalog, ident, tuple(kinds)))
    for entry in found:
        if _satisfies(entry.model.version, rng):
            return entry
    have = ", ".join(e.model.version for e in reversed(found))
    return RefProblem("PK203", f"no version of '{ident}' satisfies '{rng}'; the catalogue has {have}",
                      functools.partial(str, f"use a range that includes one of {have}"))


def _near(catalog: SourceCatalog, ident: str, kinds: tuple[str, ...]) -> str | None:
    return did_you_mean(ident, catalog.ids(kinds))


@functools.lru_cache(maxsize=65536)
def _satisfies(version: str, rng: str) -> bool:
    """Whether ``version`` is in range ``rng``; memoised: every product of a line asks the same."""
    return parse_version(version) in _range(rng)


@functools.lru_cache(maxsize=4096)
def _range(text: str) -> semantic_version.NpmSpec:
    return semantic_version.NpmSpec(text)
