"""Designer tests that can fail: the catalogue's scenarios changed from outside (a stub removed,
a stub under a misspelt step id, a stub result the component does not declare) fail
``productkit test`` with a located message; invalid values anywhere in a scenario file are
located errors with stable codes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from productkit import cli
from productkit.scenarios import load_scenarios

REPO = Path(__file__).resolve().parents[1]
FILE = "products/deposit/time-deposit-1y.scenario.yaml"


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cat")
    shutil.copytree(REPO / "components", root / "components")
    (root / "products").mkdir()
    shutil.copytree(REPO / "products" / "deposit", root / "products" / "deposit")
    return root


def _changed(catalogue: Path, tmp_path: Path, old: str, new: str) -> tuple[Path, str]:
    """A copy of the catalogue whose 1-year deposit scenarios have ``old`` replaced by ``new``
    once; returns the root and the line:col where the change starts."""
    root = tmp_path / "cat"
    shutil.copytree(catalogue, root)
    path = root / FILE
    text = path.read_text(encoding="utf-8")
    assert old in text
    at = text.index(old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    line = text.count("\n", 0, at) + 1
    return root, f"{line}:{at - text.rfind(chr(10), 0, at)}"


def _test(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.app, ["test", "deposit.time-1y", "--root", str(root), *args])
    return result.exit_code, result.output


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    at = -1
    for _ in range(occurrence):
        at = text.index(needle, at + 1)
    return text.count("\n", 0, at) + 1


def test_a_removed_stub_fails_at_the_scenario_naming_the_step(catalogue: Path, tmp_path: Path) -> None:
    stub = "      book: {result: {deposit.certificate_number: TD20261201000123}}\n"
    root, _ = _changed(catalogue, tmp_path, stub, "")
    code, out = _test(root)
    line = _line_of((root / FILE).read_text(encoding="utf-8"), "- id: approved-mobile")
    assert code == 1
    assert f"{root / FILE}:{line}:9: error PK701: scenario 'approved-mobile' reaches service step 'book'" in out
    assert "FAIL  deposit.time-1y  approved-mobile" in out


def test_generated_defaults_fill_a_missing_stub_when_the_scenario_says_so(catalogue: Path, tmp_path: Path) -> None:
    root, _ = _changed(catalogue, tmp_path, "      book: {result: {deposit.certificate_number: TD20261201000123}}\n",
                       "")
    path = root / FILE
    path.write_text(path.read_text(encoding="utf-8").replace(
        "  - id: approved-mobile\n", "  - id: approved-mobile\n    defaults: generated\n", 1), encoding="utf-8")
    code, out = _test(root)
    assert "PK701" not in out
    assert "approved-mobile  (completed)" in out and "data deposit.certificate_number" in out  # sample value
    assert code == 1  # the sample certificate number is not the one the scenario expects


def test_a_stub_under_a_misspelt_step_id_is_located_with_the_right_suggestion(catalogue: Path, tmp_path: Path) -> None:
    root, at = _changed(catalogue, tmp_path, "      book: {result: {deposit.certificate_number: TD20261201000123}}",
                        "      bok: {result: {deposit.certificate_number: TD20261201000123}}")
    code, out = _test(root)
    line = int(at.split(":")[0])
    assert code == 1
    assert f"{root / FILE}:{line}:7: error PK702: the product has no service step 'bok'" in out
    assert "did you mean 'book'?" in out


def test_a_stub_result_outside_the_declaration_is_located(catalogue: Path, tmp_path: Path) -> None:
    root, at = _changed(catalogue, tmp_path, "fraud: {result: {fraud.risk_level: low}}",
                        "fraud: {result: {fraud.risk_level: lowish, fraud.note: x}}")
    code, out = _test(root)
    line = int(at.split(":")[0])
    assert code == 1
    assert re.search(rf":{line}:\d+: error PK703: fraud.risk_level = lowish: .*low, medium, high", out)
    assert "did you mean 'low'?" in out
    assert re.search(rf":{line}:\d+: error PK703: step 'fraud' .* has no output 'fraud.note'", out)


def test_a_stub_result_breaking_its_pattern_is_located(catalogue: Path, tmp_path: Path) -> None:
    root, at = _changed(catalogue, tmp_path, "deposit.certificate_number: TD20261201000123}",
                        "deposit.certificate_number: XX1}")
    code, out = _test(root)
    assert code == 1 and f":{at.split(':')[0]}:" in out and "error PK703: deposit.certificate_number = XX1" in out


def test_an_undeclared_business_error_is_located(catalogue: Path, tmp_path: Path) -> None:
    root, _at = _changed(catalogue, tmp_path, "book: {error: core.insufficient-funds}",
                        "book: {error: core.insufficient-fund}")
    code, out = _test(root)
    assert code == 1 and "error PK703: step 'book'" in out and "did you mean 'core.insufficient-funds'?" in out


@pytest.mark.parametrize(("old", "new", "code", "hint"), [
    ("outcome: completed", "outcome: complete", "PK108", "did you mean 'completed'?"),
    ("channel: mobile", "channel: mobil", "PK108", "channels are"),
    ("    channel: mobile\n", "    channel: mobile\n    on: 2026-13-01\n", "PK108", "YYYY-MM-DD"),
    ("    channel: mobile\n", "    channel: mobile\n    advance: {review: 24 hours}\n", "PK108", ""),
    ("    channel: mobile\n", "    channel: mobile\n    cancel: {at: review, by: clerk}\n", "PK108", "'bank'"),
])
def test_invalid_values_are_located_errors(catalogue: Path, tmp_path: Path, old: str, new: str, code: str,
                                           hint: str) -> None:
    root, at = _changed(catalogue, tmp_path, old, new)
    loaded, problems = load_scenarios(root / FILE)
    assert loaded is None and [p.code for p in problems] == [code]
    line = int(at.split(":")[0]) + (1 if new.count("\n") > 1 else 0)
    assert problems[0].location.line == line
    assert hint in (problems[0].hint or "") + problems[0].message
    exit_code, out = _test(root)
    assert exit_code == 1 and f"error {code}" in out


def test_did_you_mean_never_suggests_the_word_itself(catalogue: Path, tmp_path: Path) -> None:
    root, _at = _changed(catalogue, tmp_path, "    channel: mobile\n", "    channel: mobile\n    message: hello\n")
    _, problems = load_scenarios(root / FILE)
    assert [p.code for p in problems] == ["PK103"]
    assert "'message'" not in (problems[0].hint or "")
    root2, _ = _changed(catalogue, tmp_path / "2", "    expect:\n", "    expect:\n      mesage: hello\n")
    _, problems = load_scenarios(root2 / FILE)
    assert problems[0].hint == "did you mean 'message'?"


def test_unknown_steps_in_expectations_cancel_and_advance_are_located(catalogue: Path, tmp_path: Path) -> None:
    root, _ = _changed(catalogue, tmp_path, "    channel: mobile\n",
                       "    channel: mobile\n    advance: {reveiw: PT1H}\n    cancel: {at: reviw}\n")
    code, out = _test(root)
    assert code == 1 and out.count("error PK702") == 2 and "did you mean 'review'?" in out


def test_unknown_product_is_a_usage_error_naming_the_nearest(catalogue: Path) -> None:
    result = CliRunner().invoke(cli.app, ["test", "deposit.time-1z", "--root", str(catalogue)])
    assert result.exit_code == 2 and "deposit.time-1y" in result.output and "PK900" not in result.output
    data = catalogue / "sim.yaml"
    data.write_text("context: {}\n", encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["simulate", "deposit.time-1z", "--data", str(data),
                                          "--root", str(catalogue)])
    assert result.exit_code == 2 and "no product 'deposit.time-1z'" in result.output
    assert "did you mean 'deposit.time-1y'?" in result.output and "PK900" not in result.output


def test_coverage_in_json_and_the_floor(catalogue: Path) -> None:
    code, out = _test(catalogue, "--coverage", "--format", "json")
    data = json.loads(out)
    cov = data["coverage"][0]
    assert cov["product"] == "deposit.time-1y" and code == 0
    assert set(cov["categories"]) == {"steps", "branches", "error routes", "compensations", "channels", "outcomes"}
    assert cov["categories"]["error routes"]["missed"] == [] and cov["categories"]["outcomes"]["missed"] == []
    assert "book: core.insufficient-funds" in cov["categories"]["error routes"]["covered"]
    code, out = _test(catalogue, "--min-coverage", "100")
    assert code == (0 if cov["percent"] >= 100 else 1)
    assert "coverage" in out and ("below --min-coverage" in out) == (cov["percent"] < 100)
