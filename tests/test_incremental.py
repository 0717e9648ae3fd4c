"""The caches of validate and build never change a diagnostic or an output, only the time taken."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casekit import Case, invalid_cases, valid_cases
from productkit.build import build
from productkit.diagnostics import Diagnostic
from productkit.options import Options
from productkit.validate import validate

CASES = invalid_cases() + valid_cases()


def _run(root: Path | list[Path], cache: Path | None, replay: bool = False) -> list[Diagnostic]:
    paths = root if isinstance(root, list) else [root]
    return validate(paths, Options(cache=cache), replay=replay).diagnostics


def _replayed(root: Path | list[Path], cache: Path) -> list[Diagnostic]:
    """The result when nothing changed since a whole validation: replayed, nothing loaded."""
    paths = root if isinstance(root, list) else [root]
    result = validate(paths, Options(cache=cache), replay=True)
    assert result.replayed is not None and result.catalog.entries == [], "the result was not replayed"
    return result.diagnostics


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.json"))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_cold_warm_and_disabled_agree(case: Case, tmp_path: Path) -> None:
    root = case.install(tmp_path / "cat")
    cache = tmp_path / "cache"
    plain = _run(root, None)
    assert _run(root, cache) == plain  # cold: fills the cache
    assert _entries(cache), "nothing was cached"
    assert _run(root, cache) == plain  # warm
    assert _replayed(root, cache) == plain  # nothing changed: the whole result, replayed


def test_repo_catalogue_warm_and_per_file(repo_catalogue: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    plain = _run(repo_catalogue, None)
    assert _run(repo_catalogue, cache) == plain
    assert _run(repo_catalogue, cache) == plain
    # A file alone reports exactly its share of the whole, cached or not.
    documents = [p for p in sorted((repo_catalogue / "products").rglob("*.yaml"))
                 if not p.name.endswith(".scenario.yaml")]
    for path in documents[:6]:
        for c in (None, cache):
            assert _run([path], c) == [d for d in plain if d.location.file == str(path)], path
        assert _replayed([path], cache) == [d for d in plain if d.location.file == str(path)], path


def test_corrupt_entries_are_misses(repo_catalogue: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    plain = _run(repo_catalogue, cache)
    entries = _entries(cache)
    for i, entry in enumerate(entries):
        data = entry.read_bytes()
        entry.write_bytes(data[: len(data) // 2] if i % 2 else b"not an entry")
    assert _run(repo_catalogue, cache) == plain
    assert _run(repo_catalogue, cache) == plain


def _deposit(tmp_path: Path) -> Path:
    return next(c for c in valid_cases() if c.name.endswith("deposit_line")).install(tmp_path / "cat")


@pytest.mark.parametrize(("file", "old", "new"), [
    ("components/open.yaml", None, None),  # a component
    ("components/parameters.yaml", None, None),  # a dictionary
    ("products/line.yaml", None, None),  # a line
])
def test_an_edit_invalidates_what_depends_on_it(tmp_path: Path, file: str, old: str | None,
                                                 new: str | None) -> None:
    root = _deposit(tmp_path)
    cache = tmp_path / "cache"
    assert _run(root, cache) == _run(root, None) == []
    path = root / file
    text = path.read_text(encoding="utf-8")
    for edit in _edits(text):
        path.write_text(edit, encoding="utf-8")
        assert _run(root, cache, replay=True) == _run(root, cache) == _run(root, None), edit
    path.write_text(text, encoding="utf-8")
    assert _run(root, cache, replay=True) == []


def _edits(text: str) -> list[str]:
    """A few damaging edits: drop a line at a time among the first ones with a colon."""
    lines = text.splitlines(keepends=True)
    picks = [i for i, line in enumerate(lines) if ":" in line and not line.lstrip().startswith("#")][2:8]
    return ["".join(lines[:i] + lines[i + 1:]) for i in picks]


def test_build_with_cache_matches_build_without(repo_catalogue: Path, tmp_path: Path) -> None:
    opts = Options(targets=("forms",), release_date=__import__("datetime").date(2025, 1, 6))
    plain = build([repo_catalogue], tmp_path / "plain" / "out", dataclasses.replace(opts, cache=None))
    cached = build([repo_catalogue], tmp_path / "cached" / "out", dataclasses.replace(opts, cache=tmp_path / "c"))
    assert not (tmp_path / "cached" / ".productkit-cache").exists() and _entries(tmp_path / "c")
    opts = dataclasses.replace(opts, cache=tmp_path / "c")
    again = build([repo_catalogue], tmp_path / "cached" / "out", opts)
    assert plain.diagnostics == cached.diagnostics == again.diagnostics
    assert plain.manifest is not None and cached.manifest is not None and again.manifest is not None
    assert plain.manifest["files"] == cached.manifest["files"] == again.manifest["files"]
    assert again.compiled == [] and sorted(again.reused) == sorted(cached.compiled)
    # A component edit recompiles exactly the products that use it, and nothing else.
    component = next(p for p in sorted((repo_catalogue / "components").rglob("*.yaml"))
                     if "kind: ProcessComponent" in p.read_text(encoding="utf-8"))
    users = {f"{p['id']}@{p['version']}" for p in again.manifest["products"]
             if p["components"].get(_field(component, "id")) == _field(component, "version")}
    assert users
    component.write_text(component.read_text(encoding="utf-8") + "\n# touched\n", encoding="utf-8")
    edited = build([repo_catalogue], tmp_path / "cached" / "out", opts)
    assert set(edited.compiled) == users  # a comment is not content: no version discipline warning
    fresh = build([repo_catalogue], tmp_path / "fresh" / "out", dataclasses.replace(opts, cache=None))
    assert edited.diagnostics == fresh.diagnostics
    assert edited.manifest is not None and fresh.manifest is not None
    assert edited.manifest["files"] == fresh.manifest["files"]


def _field(path: Path, name: str) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip().strip("'\"")
    raise AssertionError(f"no {name} in {path}")


def test_what_the_targets_say_of_a_product_not_compiled_is_kept_by_its_inputs(repo_catalogue: Path,
                                                                             tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """An edit of the version of a component a line's step uses re-checks the line's members,
    also one whose own step replaces it with another version (here deposit.time-1y's ``notify``:
    ``~1.0.0`` against the line's ``^1``); its inputs are unchanged, so it is not compiled, and
    what the targets say of it is kept in the user cache by its inputs: the next such edit finds
    it there, and reports what a build without any cache reports."""
    import productkit.build as building

    member = repo_catalogue / "products" / "deposit" / "time-deposit-1y.yaml"
    text = member.read_text(encoding="utf-8")
    assert "\nsteps:\n" in text
    member.write_text(text.replace("\nsteps:\n", "\nsteps:\n  - id: notify\n    use: notify.sms@~1.0.0\n"
                                   "    critical: false\n    inputs:\n"
                                   "      notify.reference: deposit.certificate_number\n", 1), encoding="utf-8")

    opts = Options(release_date=__import__("datetime").date(2025, 1, 6), cache=tmp_path / "c")
    asked: list[tuple[str, bool]] = []
    get = building._TargetProblems.get

    def spy(self: building._TargetProblems, file: str, inputs: str | None) -> object:
        found = get(self, file, inputs)
        asked.append((file, found is not None))
        return found

    monkeypatch.setattr(building._TargetProblems, "get", spy)
    out = tmp_path / "cached" / "out"
    first = build([repo_catalogue], out, opts)
    assert first.manifest is not None
    component = next(p for p in sorted((repo_catalogue / "components").rglob("*.yaml"))
                     if _field(p, "id") == "notify.sms" and _field(p, "version") == "1.1.0")
    for n in (1, 2):
        asked.clear()
        component.write_text(component.read_text(encoding="utf-8") + f"\n# touched {n}\n", encoding="utf-8")
        edited = build([repo_catalogue], out, opts)
        fresh = build([repo_catalogue], tmp_path / f"fresh{n}" / "out", dataclasses.replace(opts, cache=None))
        assert edited.diagnostics == fresh.diagnostics and not edited.failed()
        assert edited.manifest is not None and fresh.manifest is not None
        assert edited.manifest["files"] == fresh.manifest["files"]
        assert edited.compiled and "deposit.time-1y@1.0.0" not in edited.compiled
        assert [file for file, _ in asked] == [os.fspath(member)], asked
        assert all(found == (n == 2) for _, found in asked), asked  # kept by the first, found by the second


@pytest.mark.parametrize("cache", [True, False], ids=["cached", "no-cache"])
def test_a_scenario_edit_rebuilds_the_open_api_examples(repo_catalogue: Path, tmp_path: Path, cache: bool) -> None:
    """The OpenAPI document's examples come from the scenarios: a scenario edit is a change of
    the build's inputs (not an up-to-date build keeping the old example), and the rebuilt
    output equals a build from scratch; no product is compiled again for it."""
    opts = Options(targets=("openapi", "forms"), release_date=dt.date(2026, 9, 30),
                   cache=tmp_path / "c" if cache else None)
    first = build([repo_catalogue], tmp_path / "inc" / "out", opts)
    assert first.manifest is not None

    def example() -> Any:
        doc = json.loads((tmp_path / "inc" / "out" / "openapi.json").read_text("utf-8"))
        op = doc["paths"]["/products/loan.partner-instalment/versions/1.0.0/applications/{application_id}"
                          "/steps/request"]["post"]
        return op["requestBody"]["content"]["application/json"]["examples"]["approved-at-checkout"]["value"]

    assert example()["loan"]["amount"] == "36000.00"
    scenario = repo_catalogue / "products" / "loan" / "partner-instalment.scenario.yaml"
    text = scenario.read_text("utf-8")
    assert text.count("loan.amount: 36000.00") == 1
    scenario.write_text(text.replace("loan.amount: 36000.00", "loan.amount: 37000.00"), "utf-8")
    edited = build([repo_catalogue], tmp_path / "inc" / "out", opts)
    assert edited.compiled == []
    assert example()["loan"]["amount"] == "37000.00"
    fresh = build([repo_catalogue], tmp_path / "fresh" / "out", opts)
    assert edited.manifest is not None and fresh.manifest is not None
    assert edited.manifest["files"] == fresh.manifest["files"]
    # A scenario in a folder whose name begins with a dot is not part of the catalogue.
    hidden = repo_catalogue / "products" / ".drafts"
    hidden.mkdir()
    (hidden / scenario.name).write_text(text, "utf-8")
    again = build([repo_catalogue], tmp_path / "inc" / "out", opts)
    assert again.compiled == [] and example()["loan"]["amount"] == "37000.00"


_NAMES = st.lists(st.sampled_from([f"/cat/{d}/{f}.yaml" for d in ("components", "products", "a b", "z")
                                   for f in ("x", "y", "x-1", "é")]), max_size=12)


@given(batch=st.lists(_NAMES, max_size=6), extra=_NAMES, seed=st.integers(0, 3))
def test_input_digests_ranked_ahead_equal_those_sorted_per_product(batch: list[list[str]], extra: list[str],
                                                                   seed: int) -> None:
    """A build ranks every name its products read once (``rank_all``); each digest must be the
    one sorting that product's own (relative name, name) pairs gives, names read twice and
    relative names shared by two files included, and a name not ranked falls back to sorting."""
    from productkit.build import _InputDigests

    def relative(name: str) -> str:  # two names may share a relative name (a link and its file)
        return name.rsplit("/", 1)[1] if seed % 2 else name[5:]

    def sha(name: str) -> str | None:
        return None if (len(name) + seed) % 3 == 0 else f"{hash((name, seed)) & 0xFFFF:x}"

    opts = Options(release_date=dt.date(2026, 9, 30))
    ranked, plain = _InputDigests(opts, relative, sha), _InputDigests(opts, relative, sha)
    ranked.rank_all(name for files in batch for name in files)
    for files in [*batch, [*extra, *(batch[0] if batch else [])]]:
        assert ranked(files) == plain(files)
