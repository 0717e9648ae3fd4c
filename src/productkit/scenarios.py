"""Scenario files: a designer's executable examples of a product, run on the embedded engine.

A scenario file sits beside its product (``<product>.scenario.yaml``)::

    product: deposit.time-1y
    scenarios:
      - id: approved
        channel: mobile
        on: 2026-12-08              # the date the application is made
        context: {applicant.age: 30}
        inputs:                     # per user step: what the customer (or employee) submits
          amount: {deposit.amount: "10000.00"}
        handlers:                   # per service step: a result, a business error, or a failure
          kyc: {result: {kyc.status: passed}}
          book: {fail: core system timeout}
        expect:
          outcome: failed
          steps: [amount, kyc, book]
          compensated: []

Strict by default: a service step reached without a stub fails the scenario (``defaults:
generated`` lets productkit invent sample outputs instead). Every step id, stub result and
error code is checked against the built product before the run.

``productkit test`` builds the catalogue into a temporary folder, loads it as a channel service
would, runs every scenario with stubbed handlers and a fake clock (waits are fast-forwarded
unless the scenario moves the clock itself), and compares outcome, path, data and messages.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._scenario_check import check_file, expand
from ._scenario_data import norm, values_of
from ._scenario_model import OUTCOMES, Expect, Scenario, ScenarioFile, Stub, load_scenarios, scenario_schema
from ._scenario_run import Record, ScenarioResult, run_scenario, sample_value, stub_handlers
from .diagnostics import Diagnostic
from .loader import Document, load_file
from .sources import discover_scenarios, find_root

__all__ = ["OUTCOMES", "Expect", "Loaded", "Record", "Scenario", "ScenarioFile", "ScenarioResult",
           "Stub", "built_catalog", "discover_scenarios", "expand", "load_scenarios", "load_selected",
           "norm", "run_file", "run_scenario", "run_scenarios", "sample_value", "scenario_schema", "stub_handlers",
           "unknown_products", "values_of"]


@dataclass(frozen=True, slots=True)
class Loaded:
    """A scenario file as loaded: its model and its document (for locations)."""

    spec: ScenarioFile
    doc: Document


def load_selected(root: Path, products: Sequence[str] = (),
                  paths: Sequence[Path] | None = None) -> tuple[list[Loaded], list[Diagnostic]]:
    """The scenario files below ``root`` (of ``products`` when given; ``paths``: those files,
    found already) and their shape problems."""
    diagnostics: list[Diagnostic] = []
    files = []
    for path in discover_scenarios(root) if paths is None else paths:
        loaded, problems = load_scenarios(path)
        diagnostics += problems
        if loaded is not None and (not products or loaded[0].product in products):
            files.append(Loaded(*loaded))
    return files, diagnostics


def unknown_products(root: Path, products: Sequence[str]) -> list[str]:
    """A message for each of ``products`` that has no scenario file below ``root``, naming the
    nearest product that has one (a typo must not read as "0 passed, 0 failed")."""
    from .shape import did_you_mean

    known = set()
    for path in discover_scenarios(find_root(root.resolve())):
        doc, _ = load_file(path)  # the product a file names, even when the rest of it is wrong
        if doc is not None and isinstance(doc.data, dict) and isinstance(doc.data.get("product"), str):
            known.add(str(doc.data["product"]))
    out = []
    for pid in products:
        if pid not in known:
            hint = did_you_mean(pid, known)
            out.append(f"no scenarios for product '{pid}'" + (f"; {hint}" if hint else ""))
    return out


@contextmanager
def built_catalog(root: Path) -> Iterator[tuple[Any, list[Diagnostic]]]:
    """The catalogue at ``root`` built into a temporary folder and loaded as a channel service
    would (None and the build's problems when it does not build)."""
    from .build import build
    from .options import Options
    from .runtime import Catalog

    with tempfile.TemporaryDirectory(prefix="productkit-test-") as tmp:
        built = build([root], Path(tmp) / "build",
                      Options(release_date=dt.date(2026, 11, 27), targets=("forms",)))
        if built.failed():
            yield None, list(built.diagnostics)
            return
        yield Catalog.load(Path(tmp) / "build"), []


def run_file(catalog: Any, loaded: Loaded, defn: Any = None) -> tuple[list[ScenarioResult], list[Diagnostic]]:
    """Check one scenario file against its product, then run each of its scenarios."""
    spec, doc = loaded.spec, loaded.doc
    try:
        defn = defn or catalog.definition(spec.product, spec.version)
    except Exception:
        return [], [Diagnostic("PK202", f"no built product '{spec.product}'", doc.loc(("product",)))]
    static = check_file(spec, doc, defn)
    results = []
    for index, sc in enumerate(expand(spec)):
        at = ("scenarios", index)
        generated = (sc.defaults or spec.defaults) == "generated"
        result = run_scenario(catalog, sc, spec.product, spec.version, doc.file, generated=generated,
                              location=doc.loc(at + ("id",)))
        mine = [d for d in static if d.location.path[:2] == at]
        result.diagnostics = mine + result.diagnostics
        result.passed = result.passed and not mine
        results.append(result)
    return results, []


def run_scenarios(root: Path, products: Sequence[str] = ()) -> tuple[list[ScenarioResult], list[Diagnostic]]:
    """Build the catalogue at ``root`` aside, then run every (selected) product's scenarios."""
    root = find_root(root.resolve())
    files, diagnostics = load_selected(root, products)
    with built_catalog(root) as (catalog, problems):
        if catalog is None:
            return [], diagnostics + problems
        results = []
        for loaded in files:
            found, missing = run_file(catalog, loaded)
            results += found
            diagnostics += missing
    return results, diagnostics
