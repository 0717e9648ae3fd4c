"""Loading a build: effective dating, eligibility, exact parameters, journeys and forms, and
refusing builds that are half-written, tampered with or inconsistent."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from productkit import ir
from productkit.runtime import CATALOG_CODES, Catalog, CatalogError, NotFound

from .buildfixture import definition, reseal, rewrite_manifest, service
from .conftest import MakeBuild
from .products import loan

DAY = dt.date(2026, 3, 2)


@pytest.fixture
def two_versions(make_build: MakeBuild) -> Path:
    return make_build([loan("1.0.0", effective_until="2026-03-01"),
                       loan("1.1.0", effective_from="2026-03-02"),
                       definition("card.web-only", "1.0.0", [service("a", "h.a")], channels=["web"])])


@pytest.mark.parametrize(("day", "expected"), [
    ("2025-12-31", []),
    ("2026-01-01", ["loan.personal@1.0.0"]),
    ("2026-03-01", ["loan.personal@1.0.0"]),  # until is the last day on sale
    ("2026-03-02", ["loan.personal@1.1.0"]),
])
def test_products_on_sale_by_date_and_channel(two_versions: Path, day: str, expected: list[str]) -> None:
    catalog = Catalog.load(two_versions)
    assert [p.key for p in catalog.products("mobile", on=dt.date.fromisoformat(day))] == expected


def test_products_by_eligibility(two_versions: Path) -> None:
    catalog = Catalog.load(two_versions)

    def offered(customer: dict[str, Any]) -> list[str]:
        return [p.id for p in catalog.products("web", on=DAY, customer=customer)]

    assert offered({"applicant": {"age": 30}}) == ["card.web-only", "loan.personal"]
    assert offered({"applicant.age": 16}) == ["card.web-only"]
    assert offered({}) == ["card.web-only", "loan.personal"]  # undecided until the age is known


def test_parameters_are_exact(two_versions: Path) -> None:
    params = Catalog.load(two_versions).parameters("loan.personal", "1.0.0")
    assert params == {"min_age": 18, "max_amount": Decimal("50000.00"), "annual_rate": Decimal("4.35")}
    assert str(params["max_amount"]) == "50000.00" and type(params["min_age"]) is int


def test_definition_journey_and_form(two_versions: Path) -> None:
    catalog = Catalog.load(two_versions)
    assert catalog.definition("loan.personal").version == "1.1.0"
    assert catalog.definition("loan.personal", "1.0.0").digest == catalog.entry(
        "loan.personal", "1.0.0").digest
    [screen] = catalog.journey("loan.personal", "mobile")
    assert (screen.step_id, screen.values) == ("apply", {"loan.term_months": 12})
    form = catalog.form("loan.personal", "apply", "web")
    assert form.schema["properties"]["loan"]["required"] == ["amount", "term_months"]
    with pytest.raises(NotFound):
        catalog.form("loan.personal", "kyc", "web")
    with pytest.raises(NotFound, match=r"1\.0\.0, 1\.1\.0"):
        catalog.definition("loan.personal", "9.9.9")


def _edit_json(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


LOAN = "definitions/loan.personal@1.0.0.json"


def _raise_rate(d: dict[str, Any]) -> None:
    d["parameters"]["annual_rate"]["value"] = "9.99"


def _raise_rate_and_rehash(d: dict[str, Any]) -> None:
    _raise_rate(d)
    d["digest"] = ir.with_digest(ir.WorkflowDefinition.model_validate(d)).digest


def _widen_channels(b: Path) -> None:
    rewrite_manifest(b, lambda m: m["products"][0].update(channels=["mobile", "web", "counter"]))


def _narrow_channels_and_reseal(b: Path) -> None:
    rewrite_manifest(b, lambda m: m["products"][0].update(channels=["mobile"]))
    reseal(b)


def _escape_and_reseal(b: Path) -> None:
    rewrite_manifest(b, lambda m: m["products"][0].update(definition="../../etc/passwd"))
    reseal(b)


def _truncate_manifest(b: Path) -> None:
    (b / "manifest.json").write_text('{"format": "productkit.ma')


def _break_form(b: Path) -> None:
    (b / "forms/loan.personal@1.0.0/apply.web.json").write_text("{")


def _retitle_form(b: Path) -> None:
    _edit_json(b / "forms/loan.personal@1.0.0/apply.web.json", lambda f: f["schema"].update(title="Pay here"))


def _unschema_form(b: Path) -> None:
    _edit_json(b / "forms/loan.personal@1.0.0/apply.web.json", lambda f: f.update(schema={"type": 5}))


TAMPERING: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "definition edited": (lambda b: _edit_json(b / LOAN, _raise_rate), ["PK611", "PK606"]),
    "definition edited and re-hashed": (lambda b: _edit_json(b / LOAN, _raise_rate_and_rehash),
                                        ["PK611", "PK606"]),
    "manifest entry edited": (_widen_channels, ["PK603"]),
    "manifest entry edited and resealed": (_narrow_channels_and_reseal, ["PK607"]),
    "half-written (no manifest)": (lambda b: (b / "manifest.json").unlink(), ["PK601"]),
    "truncated manifest": (_truncate_manifest, ["PK601"]),
    "definition missing": (lambda b: (b / LOAN).unlink(), ["PK604"]),
    "path outside the build": (_escape_and_reseal, ["PK604"]),
    "form not JSON": (_break_form, ["PK611", "PK608"]),
    "form not a JSON Schema": (_unschema_form, ["PK611", "PK608"]),
    "form edited, still valid": (_retitle_form, ["PK611"]),
}


def _load_and_use(build: Path, verify: str) -> None:
    """Load the build, then use its one product's definition and forms (where a lazy load
    reads and verifies them)."""
    catalog = Catalog.load(build, verify=verify)
    for pv in catalog:
        assert pv.definition.id and pv.forms is not None


@pytest.mark.parametrize("verify", ["all", "lazy"])
@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_a_tampered_or_half_written_build_is_refused(make_build: MakeBuild, name: str, verify: str) -> None:
    """Whether every file is checked at load or each when first used, a tampered file is never
    used: the same problems are reported, at load or at the first use."""
    build = make_build([loan("1.0.0")])
    tamper, codes = TAMPERING[name]
    tamper(build)
    with pytest.raises(CatalogError) as refused:
        _load_and_use(build, verify)
    assert [p.code for p in refused.value.problems] == codes
    assert all(p.code in CATALOG_CODES for p in refused.value.problems)


def test_a_lazy_load_reads_no_product_file_until_one_is_used(make_build: MakeBuild) -> None:
    build = make_build([loan("1.0.0"), loan("2.0.0")])
    (build / "definitions/loan.personal@2.0.0.json").write_text("{}", "utf-8")  # broken, unsealed content
    catalog = Catalog.load(build)  # the manifest and the folder are sound: loads
    assert [pv.version for pv in catalog.versions("loan.personal")] == ["1.0.0", "2.0.0"]
    assert catalog.definition("loan.personal", "1.0.0").version == "1.0.0"  # a sound version works
    for _ in range(2):  # refused on every use, not only the first
        with pytest.raises(CatalogError) as refused:
            catalog.definition("loan.personal", "2.0.0")
        assert [p.code for p in refused.value.problems] == ["PK611", "PK605"]
    with pytest.raises(CatalogError):
        Catalog.load(build, verify="all")


def test_every_problem_is_reported_together(make_build: MakeBuild) -> None:
    build = make_build([loan("1.0.0"), loan("2.0.0")])
    _edit_json(build / LOAN, _raise_rate)
    (build / "definitions/loan.personal@2.0.0.json").unlink()
    with pytest.raises(CatalogError) as refused:
        Catalog.load(build, verify="all")
    found = sorted((p.code, p.location.file) for p in refused.value.problems)
    assert found == [("PK604", "definitions/loan.personal@2.0.0.json"), ("PK606", LOAN), ("PK611", LOAN)]
    assert "PK606" in str(refused.value) and "edited after the build" in str(refused.value)


def test_a_definition_the_engine_could_not_run_is_refused(make_build: MakeBuild) -> None:
    steps = [service("a", "h.a", errors={"x": ir.ErrorRoute(goto="a0")}), service("a0", "h.b")]
    bad = definition("p.bad", "1.0.0", steps, ["a0", "a"])  # routes an error backwards
    with pytest.raises(CatalogError) as refused:
        Catalog.load(make_build([bad]), verify="all")
    [problem] = refused.value.problems
    assert problem.code == "PK609" and "does not come later" in problem.message


def test_loading_reads_through_the_build_link(make_build: MakeBuild, tmp_path: Path) -> None:
    real = make_build([loan()])
    link = tmp_path / "current"
    link.symlink_to(real)
    catalog = Catalog.load(link, verify="all")
    shutil.rmtree(real)  # everything was read at load time
    assert catalog.root == real.resolve() and catalog.definition("loan.personal").version == "1.0.0"


def test_a_lazy_catalogue_never_reads_a_vanished_file(make_build: MakeBuild) -> None:
    """A folder removed under a lazy reader (not by productkit build, which waits for readers):
    the first use of a version not read yet is a CatalogError, never a crash or a stale answer."""
    real = make_build([loan()])
    catalog = Catalog.load(real)
    shutil.rmtree(real)
    with pytest.raises(CatalogError) as refused:
        catalog.definition("loan.personal")
    assert [p.code for p in refused.value.problems] == ["PK604"]
