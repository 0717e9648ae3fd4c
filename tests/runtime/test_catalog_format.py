"""A build written by an older productkit is refused with a message that says to rebuild."""

from __future__ import annotations

import json

import pytest

from productkit.runtime import Catalog, CatalogError

from .buildfixture import reseal
from .conftest import MakeBuild
from .products import loan

LOAN = "definitions/loan.personal@1.0.0.json"


def test_an_older_definition_format_says_rebuild(make_build: MakeBuild) -> None:
    build = make_build([loan("1.0.0")])
    data = json.loads((build / LOAN).read_text("utf-8"))
    data["format"] = "productkit.workflow/1"
    (build / LOAN).write_text(json.dumps(data), "utf-8")
    reseal(build)
    with pytest.raises(CatalogError) as refused:
        Catalog.load(build, verify="all")
    problems = [p for p in refused.value.problems if p.code == "PK605"]
    assert [p.location.file for p in problems] == [LOAN]
    assert "productkit.workflow/1" in problems[0].message and "rebuild" in problems[0].message


def test_a_deeply_nested_definition_is_refused_not_a_crash(make_build: MakeBuild) -> None:
    build = make_build([loan("1.0.0")])
    (build / LOAN).write_text("[" * 100_000 + "]" * 100_000, "utf-8")
    reseal(build)
    with pytest.raises(CatalogError) as refused:
        Catalog.load(build, verify="all")
    assert "PK605" in [p.code for p in refused.value.problems]


