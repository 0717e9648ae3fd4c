"""Effective windows across documents: a member's window lies inside its lines' windows, and two
versions of one product are never on sale on the same day.

A start written ``T+n`` is known only at release; it is compared only with another ``T+n``
start (both are the release date), never with a calendar date.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import semantic_version

from ..diagnostics import Diagnostic, Location, Related
from ..model import Product, ProductLine
from ..resolve import extends_chain
from ..sources import Entry
from ..types import ValueProblem, parse_date, release_offset
from .base import CheckContext

__all__ = ["Window", "check_line_windows", "check_version_overlaps", "window_of"]


@dataclass(frozen=True, slots=True)
class Window:
    """When a document is on sale: ``start`` None for T+n (the release date), ``until`` None when open."""

    entry: Entry
    start: dt.date | None
    released: bool  # the start is T+n
    until: dt.date | None

    def at(self, part: str) -> Location:
        doc = self.entry.doc
        if part in ("from", "until") and ("effective", part) in doc.marks.values:
            return doc.loc(("effective", part))
        if ("effective",) in doc.marks.values:
            return doc.loc(("effective",))
        return doc.loc(("id",))


def window_of(entry: Entry) -> Window | None:
    """The effective window of a product or line, or None when it has none or it does not parse."""
    model = entry.model
    assert isinstance(model, Product | ProductLine)
    eff = model.effective
    if eff is None:
        return None
    try:
        released = eff.from_ is not None and release_offset(eff.from_) is not None
        start = parse_date(eff.from_) if eff.from_ is not None and not released else None
        until = parse_date(eff.until) if eff.until is not None else None
    except ValueProblem:
        return None  # PK108, reported by check_effective
    return Window(entry, start, released, until)


def check_line_windows(ctx: CheckContext) -> Iterator[Diagnostic]:
    """PK222: a member (product or narrower line) on sale outside a window its line declares."""
    for entry in [*ctx.catalog.kind("ProductLine"), *ctx.catalog.kind("Product")]:
        chain = extends_chain(ctx, entry, [])
        if not chain:
            continue
        mine = window_of(entry)
        line = next((w for e in chain if (w := window_of(e)) is not None), None)
        if line is not None:
            yield from _inside(entry, mine, line)


def _inside(entry: Entry, mine: Window | None, line: Window) -> Iterator[Diagnostic]:
    name = line.entry.model.id
    if line.start is not None and mine is not None and mine.start is not None and mine.start < line.start:
        yield Diagnostic("PK222", f"from {mine.start} is before the start {line.start} of line {name}",
                         mine.at("from"), related=(Related(line.at("from"), "the line starts here"),))
    if line.until is None:
        return
    if mine is None or mine.until is None:
        where = mine.at("until") if mine is not None else entry.doc.loc(("id",))
        yield Diagnostic("PK222", f"{entry.model.id} has no end date, but line {name} ends on {line.until}",
                         where, related=(Related(line.at("until"), "the line ends here"),),
                         hint=f"give it effective.until on or before {line.until}")
    elif mine.until > line.until:
        yield Diagnostic("PK222", f"until {mine.until} is after the end {line.until} of line {name}",
                         mine.at("until"), related=(Related(line.at("until"), "the line ends here"),))


def check_version_overlaps(ctx: CheckContext) -> Iterator[Diagnostic]:
    """PK223: two versions of one product whose effective windows share a day."""
    by_id: dict[str, list[Window]] = {}
    for entry in ctx.catalog.kind("Product"):
        window = window_of(entry)
        if window is not None:
            by_id.setdefault(entry.model.id, []).append(window)
    for windows in by_id.values():
        for a, b in itertools.combinations(windows, 2):
            if a.entry.model.version.lower() != b.entry.model.version.lower() and _overlap(a, b):
                early, late = sorted((a, b), key=lambda w: semantic_version.Version(w.entry.model.version))
                yield _overlap_diagnostic(early, late)


def _overlap(a: Window, b: Window) -> bool:
    if a.released or b.released:
        # Only two T+n starts are comparable: both are the release date.
        return a.released and b.released
    assert a.start is not None and b.start is not None
    return (b.until is None or a.start <= b.until) and (a.until is None or b.start <= a.until)


def _raw_from(window: Window) -> str:
    model = window.entry.model
    assert isinstance(model, Product) and model.effective is not None
    return str(model.effective.from_)


def _overlap_diagnostic(early: Window, late: Window) -> Diagnostic:
    pid, old, new = late.entry.model.id, early.entry.model.version, late.entry.model.version
    starts = late.start.isoformat() if late.start is not None else f"{_raw_from(late)} (after the release date)"
    ends = f"until {early.until}" if early.until else "with no end date"
    return Diagnostic("PK223", f"{pid} {new} is on sale from {starts}, while {old} is on sale {ends}",
                      late.at("from"),
                      related=(Related(early.at("until" if early.until else "from"), f"the window of {old}"),),
                      hint=f"end {old} the day before {new} starts (effective.until), or start {new} later")
