"""Every product's scenario files pass on the embedded engine (`productkit test`)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from productkit import cli
from productkit.coverage import Coverage
from productkit.scenario_report import RunReport, RunRequest, run_tests
from productkit.scenarios import ScenarioResult, built_catalog, discover_scenarios, load_scenarios, load_selected

REPO = Path(__file__).resolve().parents[1]


def _ids() -> list[str]:
    out = []
    for path in discover_scenarios(REPO):
        loaded, problems = load_scenarios(path)
        assert loaded is not None, problems
        out += [f"{loaded[0].product}/{sc.id}" for sc in loaded[0].scenarios]
    return out


@pytest.fixture(scope="module")
def run() -> RunReport:
    with open(os.devnull, "w", encoding="utf-8") as sink:
        outcome = run_tests(RunRequest(REPO, coverage=True), sink)
    assert [d for d in outcome.diagnostics if d.severity.value == "error"] == []
    return outcome


@pytest.fixture(scope="module")
def results(run: RunReport) -> dict[str, ScenarioResult]:
    return {f"{r.product}/{r.scenario}": r for r in run.results}


def test_the_catalogue_covers_every_error_route_and_outcome(run: RunReport) -> None:
    coverage: dict[str, Coverage] = {c.product: c for c in run.coverage}
    assert len(coverage) >= 10
    for pid, cov in coverage.items():
        missed = [i.name for c in ("error routes", "outcomes", "channels") for i in cov.of(c) if not i.covered]
        assert missed == [], pid
        assert cov.percent("steps") >= 90, (pid, [i.name for i in cov.of("steps") if not i.covered])


def test_mutants_of_one_product_are_killed_and_survivors_located() -> None:
    """The mutation run, bounded to one product so that the suite stays fast."""
    from productkit.mutate import mutation_score

    files, _ = load_selected(REPO, ["deposit.time-1y"])
    with built_catalog(REPO) as (catalog, _problems):
        report = mutation_score(catalog, files, REPO)
    operators = {m.operator for m in report.killed}
    assert {"negate-when", "drop-error-route", "swap-outcome", "remove-compensation"} <= operators
    assert report.score() >= 90, report.render()
    negated = next(m for m in report.killed if m.description == "negating the condition of step 'reject-fraud'")
    line_file = REPO / "products/deposit/time-deposit-line.yaml"
    text = line_file.read_text(encoding="utf-8").splitlines()
    assert Path(negated.location.file).resolve() == line_file
    assert text[negated.location.line - 1].strip().startswith("when: fraud.risk_level")
    for d in report.diagnostics():
        assert d.code == "PK705" and d.location.line > 1 and Path(d.location.file).suffix == ".yaml"
    catalogue = sorted(p.read_bytes() for p in (REPO / "products").rglob("*.yaml"))
    assert catalogue == sorted(p.read_bytes() for p in (REPO / "products").rglob("*.yaml"))  # never written


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


def test_test_and_simulate_take_a_version_and_a_date(tmp_path: Path) -> None:
    """A second version of the large CD from 2027 on: `test id@version` pins the scenarios to
    it, `--date` picks the version on sale that day, `simulate` walks the one named."""
    import shutil

    root = tmp_path / "cat"
    shutil.copytree(REPO / "components", root / "components")
    shutil.copytree(REPO / "products" / "deposit", root / "products" / "deposit")
    product = root / "products" / "deposit" / "large-cd-2026-01.yaml"
    text = product.read_text(encoding="utf-8")
    assert "version: 1.0.0" in text and "effective: {from: 2026-12-01, until: 2026-12-31}" in text
    (product.parent / "large-cd-2026-01-v2.yaml").write_text(
        text.replace("version: 1.0.0", "version: 2.0.0").replace(
            "{from: 2026-12-01, until: 2026-12-31}", "{from: 2027-01-01, until: 2027-06-30}"), encoding="utf-8")
    pid = "deposit.large-cd-2026-01"
    for versions, day, want in [((), None, {"2.0.0"}),                      # the newest, on its first day
                                (((pid, "2.0.0"),), None, {"2.0.0"}),       # named
                                ((), dt.date(2027, 2, 1), {"2.0.0"}),       # on sale that day
                                ((), dt.date(2026, 12, 10), {"1.0.0"})]:
        with open(os.devnull, "w", encoding="utf-8") as sink:
            report = run_tests(RunRequest(root, (pid,), versions=versions, date=day), sink)
        assert report.results and {r.version for r in report.results} == want, (versions, day)
        assert all(r.passed for r in report.results)
    runner = CliRunner()
    data = tmp_path / "sim.yaml"
    data.write_text("context: {}\n", encoding="utf-8")
    walked = runner.invoke(cli.app, ["simulate", "deposit.large-cd-2026-01@2.0.0", "--date", "2027-02-01",
                                     "--data", str(data), "--root", str(root), "--channel", "web"])
    assert walked.exit_code == 0, walked.output
    assert "deposit.large-cd-2026-01 on web" in walked.output
    missing = runner.invoke(cli.app, ["simulate", "deposit.large-cd-2026-01", "--date", "2028-01-01",
                                      "--data", str(data), "--root", str(root), "--channel", "web"])
    assert missing.exit_code == 2 and "not on sale" in missing.output
