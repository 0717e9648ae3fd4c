"""Which version of a product a command means: ``id``, ``id@version``, or the one on sale on a date.

Used by ``explain``, ``test`` and ``simulate`` (``PRODUCT[@VERSION] [--date YYYY-MM-DD]``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import semantic_version

__all__ = ["ProductRef", "VersionWindow", "parse_ref", "pick_version"]


@dataclass(frozen=True, slots=True)
class ProductRef:
    id: str
    version: str | None = None

    def __str__(self) -> str:
        return self.id + (f"@{self.version}" if self.version else "")


@dataclass(frozen=True, slots=True)
class VersionWindow:
    """A version and when it is on sale (``start`` None: from its release; ``until`` None: open)."""

    version: str
    start: dt.date | None
    until: dt.date | None

    def on_sale(self, day: dt.date) -> bool:
        return (self.start is None or self.start <= day) and (self.until is None or day <= self.until)


def parse_ref(text: str) -> ProductRef:
    """``deposit.time-1y`` or ``deposit.time-1y@1.1.0``; ValueError for a version that is not semver."""
    pid, sep, version = text.partition("@")
    if not sep:
        return ProductRef(text)
    try:
        semantic_version.Version(version)
    except ValueError as exc:
        raise ValueError(f"'{version}' in '{text}' is not a version (write id@1.2.0)") from exc
    return ProductRef(pid, version)


def pick_version(ref: ProductRef, windows: Iterable[VersionWindow], day: dt.date | None) -> str | None:
    """The version ``ref`` names; else the newest one on sale on ``day``; else the newest.
    None when there is no such version (the caller says which versions there are)."""
    known = sorted(windows, key=lambda w: semantic_version.Version(w.version))
    if ref.version is not None:
        found = [w for w in known if w.version == ref.version]
        return found[0].version if found and (day is None or found[0].on_sale(day)) else None
    if day is not None:
        known = [w for w in known if w.on_sale(day)]
    return known[-1].version if known else None
