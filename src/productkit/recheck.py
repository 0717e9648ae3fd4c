"""Running the checks by origin (see :mod:`productkit.findings`): everything once, or again only
what a change can affect."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Iterable

from .checks import CHECKS, Check, CheckContext
from .checks.data import check_data_dictionary
from .checks.dates import check_line_windows, check_version_overlaps
from .checks.documents import (
    check_declarations,
    check_dictionary_names,
    check_duplicates,
    check_effective,
    check_step_ids,
)
from .checks.limits import check_case_collisions, check_name_lengths
from .checks.products import check_line_cycles, check_products
from .checks.references import check_references
from .diagnostics import Diagnostic
from .findings import Findings
from .model import ProcessComponent, Product, ProductLine, UIComponent
from .refs import split_ref
from .resolve import extends_chain
from .sources import Entry, SourceCatalog

__all__ = ["DICTIONARY_KINDS", "DOCUMENT_CHECKS", "GROUP_CHECKS", "KIND_CHECKS", "OTHER_CHECKS", "recheck",
           "references"]

# The checks whose findings about a document depend only on it and on what it references.
DOCUMENT_CHECKS: tuple[Check, ...] = (check_declarations, check_effective, check_step_ids, check_name_lengths,
                                      check_references, check_line_windows)
# The checks that compare documents sharing an id (up to case) and nothing else.
GROUP_CHECKS: tuple[Check, ...] = (check_duplicates, check_case_collisions, check_version_overlaps)
# The checks that look at the documents of one kind only.
KIND_CHECKS: dict[Check, str] = {check_dictionary_names: "ParameterDictionary", check_line_cycles: "ProductLine"}
# Any other check looks at the whole catalogue.
OTHER_CHECKS: tuple[Check, ...] = tuple(c for c in CHECKS if c not in (
    *DOCUMENT_CHECKS, *GROUP_CHECKS, *KIND_CHECKS, check_products, check_data_dictionary))
_DICTIONARY = "ParameterDictionary"
_DATA = "DataDictionary"
DICTIONARY_KINDS = (_DICTIONARY, _DATA)  # a change to one of these can change every finding


def recheck(found: Findings, ctx: CheckContext, files: set[str], groups: set[str] | None, kinds: bool = True) -> None:
    """Re-run the per-file checks of ``files``, the id checks of ``groups`` (None: all), the
    kind checks when ``kinds``, and any other check, against ``ctx``'s catalogue, whose
    ``entries`` must hold at least the dictionaries, the documents of ``groups`` and, when
    ``kinds``, the documents of those kinds (every document, for the other checks)."""
    run = _Runner(ctx)
    entries = {e.file: e for e in ctx.catalog.entries}
    for name in files:
        found.forget(name)
    data = ctx.catalog.kind(_DATA)
    found.data_base = run(_data_check(), data)
    chosen = [entries[name] for name in sorted(files & entries.keys())]
    for entry in chosen:
        found.documents[entry.file] = run(DOCUMENT_CHECKS, [entry])
        found.data[entry.file] = _data_uses(found, run, entry, data)
        found.refs[entry.file] = references(ctx, entry)
        if entry.key[0] != "Product":
            found.products.pop(entry.file, None)
    _products(found, ctx, run, [e for e in chosen if e.key[0] == "Product"])
    _regroup(found, run, ctx.catalog.entries, groups)
    if kinds:
        found.kinds = [d for check, kind in KIND_CHECKS.items() if check in CHECKS
                      for d in run((check,), ctx.catalog.kind(kind))]
    found.others = run(OTHER_CHECKS, ctx.catalog.entries)


def _products(found: Findings, ctx: CheckContext, run: _Runner, products: list[Entry]) -> None:
    """``check_products`` over ``products`` in one run (on every core), each one's findings
    kept by its file."""
    if not products or check_products not in CHECKS:
        return
    per: dict[str, list[Diagnostic]] = {}
    run.sliced.by_product = per
    try:
        run((check_products,), [*ctx.catalog.kind(_DICTIONARY), *products])
    finally:
        run.sliced.by_product = None
    for entry in products:
        found.products[entry.file] = per.get(entry.file, [])
        found.inputs[entry.file] = ctx.inputs.get(entry.key, [])


def _regroup(found: Findings, run: _Runner, entries: list[Entry], groups: set[str] | None) -> None:
    members: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        folded = entry.key[1].casefold()
        if groups is None or folded in groups:
            members[folded].append(entry)
    for folded in groups if groups is not None else set(found.groups):
        found.groups.pop(folded, None)
    checks = tuple(c for c in GROUP_CHECKS if c in CHECKS)
    for folded, group in members.items():
        found.groups[folded] = run(checks, group)


def _data_uses(found: Findings, run: _Runner, entry: Entry, data: list[Entry]) -> list[Diagnostic]:
    """What the data check finds in ``entry``'s uses: its run with the data dictionaries and
    ``entry``, less its run with the dictionaries alone (their own findings)."""
    if not data or entry.key[0] == _DATA or not _data_check():
        return []
    uses = Counter(run(_data_check(), [*data, entry]))
    uses.subtract(found.data_base)
    return [d for d, n in uses.items() for _ in range(n)]


class _Runner:
    """Runs checks over a slice of the catalogue, references resolving against the whole."""

    def __init__(self, ctx: CheckContext) -> None:
        self.whole = ctx.catalog
        self.part = SourceCatalog(root=self.whole.root, files=self.whole.files, digests=self.whole.digests,
                                  by_id=self.whole.by_id)
        self.ctx = ctx
        self.sliced = dataclasses.replace(ctx, catalog=self.part)
        self.sliced.assemblies = ctx.assemblies

    def __call__(self, checks: tuple[Check, ...], entries: list[Entry]) -> list[Diagnostic]:
        if not checks:
            return []
        if entries is self.whole.entries:
            return [d for check in checks for d in check(self.ctx)]
        self.part.entries = entries
        return [d for check in checks for d in check(self.sliced)]


def _data_check() -> tuple[Check, ...]:
    return (check_data_dictionary,) if check_data_dictionary in CHECKS else ()


def references(ctx: CheckContext, entry: Entry) -> frozenset[str]:
    """The ids whose documents can change ``entry``'s findings: the lines of its chain and
    every id its levels (or a component's replacement) name."""
    model = entry.model
    if isinstance(model, ProcessComponent | UIComponent):
        rep = model.deprecated.replaced_by if model.deprecated is not None else None
        return frozenset([split_ref(rep)[0]] if rep else [])
    if not isinstance(model, Product | ProductLine):
        return frozenset()
    ids: set[str] = set()
    for level in (entry, *extends_chain(ctx, entry, [])):
        assert isinstance(level.model, Product | ProductLine)
        ids.add(level.key[1])
        ids.update(_named(level.model))
    return frozenset(ids)


def _named(model: Product | ProductLine) -> Iterable[str]:
    if model.extends is not None:
        yield split_ref(model.extends)[0]
    for step in model.steps:
        if step.use is not None:
            yield split_ref(step.use)[0]
