"""Every product's scenario files pass on the embedded engine (`productkit test`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from productkit import cli
from productkit.scenarios import ScenarioResult, discover_scenarios, load_scenarios, run_scenarios

REPO = Path(__file__).resolve().parents[1]


def _ids() -> list[str]:
    out = []
    for path in discover_scenarios(REPO):
        loaded, problems = load_scenarios(path)
        assert loaded is not None, problems
        out += [f"{loaded[0].product}/{sc.id}" for sc in loaded[0].scenarios]
    return out


@pytest.fixture(scope="module")
def results() -> dict[str, ScenarioResult]:
    found, diagnostics = run_scenarios(REPO)
    assert [d for d in diagnostics if d.severity.value == "error"] == []
    return {f"{r.product}/{r.scenario}": r for r in found}


@pytest.mark.parametrize("key", _ids())
def test_scenario(key: str, results: dict[str, ScenarioResult]) -> None:
    result = results[key]
    assert result.problems == []
    assert result.passed


def test_every_product_has_approval_rejection_and_failure(results: dict[str, ScenarioResult]) -> None:
    outcomes: dict[str, set[str]] = {}
    for r in results.values():
        outcomes.setdefault(r.product, set()).add(r.outcome or "")
    assert outcomes and all({"completed", "rejected", "failed"} <= o for o in outcomes.values()), outcomes


def test_failures_compensate_what_was_done(results: dict[str, ScenarioResult]) -> None:
    failed = [r for r in results.values() if r.outcome == "failed"]
    assert failed and any(r.compensated for r in failed)


def test_cli_reports_a_failing_scenario(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "cat"
    shutil.copytree(REPO / "components", root / "components")
    shutil.copytree(REPO / "products" / "deposit", root / "products" / "deposit")
    scenario = next((root / "products" / "deposit").glob("time-deposit-1y.scenario.yaml"))
    text = scenario.read_text(encoding="utf-8")
    scenario.write_text(text.replace("outcome: completed", "outcome: rejected", 1), encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["test", "deposit.time-1y", "--root", str(root)])
    assert result.exit_code == 1
    assert "FAIL  deposit.time-1y" in result.output and "outcome: expected rejected" in result.output


def test_simulate_reports_a_bad_data_file_with_its_location(tmp_path: Path) -> None:
    data = tmp_path / "sim.yaml"
    data.write_text("context: {applicant.age: 30}\ninptus: {}\n", encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["simulate", "deposit.time-1y", "--data", str(data), "--root", str(REPO)])
    assert result.exit_code == 1
    assert f"{data}:2:1: error PK103" in result.output and "Traceback" not in result.output


def test_simulate_runs_a_product_from_a_data_file(tmp_path: Path) -> None:
    data = tmp_path / "sim.yaml"
    data.write_text("context: {}\n", encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["simulate", "deposit.time-1y", "--data", str(data), "--root", str(REPO)])
    assert result.exit_code == 0
    assert "deposit.time-1y on mobile" in result.output
    assert "the context does not fit the product" in result.output and "InvalidContext" not in result.output
