"""Resolving references: a broken one's hint (a near id among every id of the kinds, found with
difflib) is looked for only when the problem is reported, not each time a step is resolved."""

from __future__ import annotations

from pathlib import Path

import pytest

from productkit import refs
from productkit.options import Options
from productkit.sources import load_catalog


def test_a_broken_references_hint_is_worked_out_only_when_asked_for(
        repo_catalogue: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog, _ = load_catalog(repo_catalogue, Options(cache=None))
    component = next(e for e in catalog.entries if e.key[0] == "ProcessComponent").key[1]
    asked: list[str] = []

    def near(word: str, choices: object) -> str:
        asked.append(word)
        return f"did you mean '{component}'?"

    monkeypatch.setattr(refs, "did_you_mean", near)
    found = refs.resolve_ref(catalog, component + "x@^1", refs.COMPONENT_KINDS)
    assert isinstance(found, refs.RefProblem) and found.code == "PK202" and asked == []
    assert found.hint == f"did you mean '{component}'?" and asked == [component + "x"]
    versions = refs.resolve_ref(catalog, component + "@^99", refs.COMPONENT_KINDS)
    assert isinstance(versions, refs.RefProblem) and versions.code == "PK203"
    assert versions.hint is not None and versions.hint.startswith("use a range that includes one of ")
