"""The golden cases: every invalid case yields its expected diagnostics, every valid case none."""

from __future__ import annotations

from pathlib import Path

import pytest

from casekit import Case, Expect, GoldenCheck, compare_golden, golden_text, invalid_cases, relative, valid_cases
from productkit.diagnostics import Diagnostic, Severity, render_text
from productkit.validate import validate

REPO = Path(__file__).resolve().parents[1]

INVALID = invalid_cases()
VALID = valid_cases()


def _describe(diagnostics: list[Diagnostic], root: Path) -> str:
    return "\n".join(f"  {d.code} {relative(d.location.file, root)}:{d.location.line}:"
                     f"{d.location.col} hint={d.hint!r}" for d in diagnostics) or "  (none)"


@pytest.mark.parametrize("case", INVALID, ids=lambda c: c.name)
def test_invalid_case(case: Case, tmp_path: Path, golden: GoldenCheck) -> None:
    root = case.install(tmp_path)
    result = validate([root])
    expects = case.expects()
    missing = [e for e in expects if not any(e.matches(d, root) for d in result.diagnostics)]
    assert not missing, (f"{case.name}: expected {', '.join(map(str, missing))}; got\n"
                         + _describe(result.diagnostics, root))
    assert result.failed(strict=True)
    golden(case.golden, golden_text(result.diagnostics, root))


@pytest.mark.parametrize("case", INVALID, ids=lambda c: c.name)
def test_invalid_case_is_well_formed(case: Case) -> None:
    """Each case states what it expects, and its name's code is among the expectations."""
    expects = case.expects()
    assert expects, f"{case.source} has no '# expect: CODE line:col' header"
    assert case.code in {e.code for e in expects}, f"{case.name} expects no {case.code}"
    assert all(e.line is not None for e in expects), "committed cases state a line:col"


def test_no_orphan_goldens() -> None:
    """Every *.expected.json belongs to a case (a renamed case leaves none behind)."""
    names = {c.golden.name for c in INVALID}
    orphans = sorted(p.name for p in INVALID[0].source.parent.glob("*.expected.json")
                     if p.name not in names)
    assert not orphans


@pytest.mark.parametrize("case", VALID, ids=lambda c: c.name)
def test_valid_case(case: Case, tmp_path: Path) -> None:
    root = case.install(tmp_path)
    result = validate([root])
    assert result.diagnostics == [], _describe(result.diagnostics, root)
    assert result.catalog.entries, "a valid case holds at least one document"


def test_repo_catalogue_has_no_errors() -> None:
    result = validate([REPO])
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    assert not errors, render_text(errors, show_source=False)
    assert result.catalog.entries, "the repository's catalogue is not empty"


def test_golden_mismatch_shows_a_diff_and_the_flag_rewrites(tmp_path: Path) -> None:
    path = tmp_path / "x.expected.json"
    missing = compare_golden(path, "[]\n", update=False)
    assert missing is not None and "--update-goldens" in missing
    assert compare_golden(path, '["a"]\n', update=True) is None
    assert path.read_text(encoding="utf-8") == '["a"]\n'
    assert compare_golden(path, '["a"]\n', update=False) is None
    diff = compare_golden(path, '["b"]\n', update=False)
    assert diff is not None
    assert '-["a"]' in diff.splitlines() and '+["b"]' in diff.splitlines()


def test_expect_header_checks_related_places(tmp_path: Path) -> None:
    from productkit.diagnostics import Location, Related

    at = Location(str(tmp_path / "products" / "p.yaml"), 9, 16)
    declared = Related(Location(str(tmp_path / "products" / "line.yaml"), 8, 3), "declared here")
    found = Diagnostic("PK111", "m", at, related=(declared,))
    assert Expect("PK111", "products/p.yaml", 9, 16, related="products/line.yaml:8:3").matches(found, tmp_path)
    assert not Expect("PK111", "products/p.yaml", 9, 16, related="products/line.yaml:8:4").matches(found, tmp_path)
    two = "products/line.yaml:8:3,products/x.yaml:1:1"
    assert not Expect("PK111", "products/p.yaml", 9, 16, related=two).matches(found, tmp_path)
