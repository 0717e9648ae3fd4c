"""Shared fixtures: the ``--update-goldens`` flag, the golden-file comparison and a copy of the
repository's catalogue."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from casekit import GoldenCheck, compare_golden
from temporal_support import temporal_server  # noqa: F401 - one Temporal dev server per session


def pytest_configure(config: pytest.Config) -> None:
    # Runs (and CLI subprocesses) that use the default cache keep it in a folder of this session,
    # not in the user's cache.
    os.environ.setdefault("PRODUCTKIT_CACHE_DIR", tempfile.mkdtemp(prefix="productkit-test-cache-"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite the golden expectation files (tests/cases/**/*.expected.json) from the "
        "current output instead of comparing against them",
    )


REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def repo_catalogue(tmp_path: Path) -> Path:
    """A writable copy of the repository's catalogue (its components and products)."""
    root = tmp_path / "repo"
    for sub in ("components", "products"):
        shutil.copytree(REPO_ROOT / sub, root / sub)
    return root


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture
def golden(update_goldens: bool) -> GoldenCheck:
    """Compare ``actual`` with the golden file at ``path`` (or rewrite it with the flag)."""

    def check(path: Path, actual: str) -> None:
        problem = compare_golden(path, actual, update_goldens)
        if problem is not None:
            pytest.fail(problem, pytrace=False)

    return check


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int,
                            config: pytest.Config) -> None:
    """Name every skipped test loudly; with PRODUCTKIT_NO_SKIP=1 (set by CI) a skip fails the run."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    terminalreporter.section(f"SKIPPED: {len(skipped)} test(s) did not run", sep="!", red=True, bold=True)
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        terminalreporter.write_line(f"  {report.nodeid}: {reason}", red=True)
    if os.environ.get("PRODUCTKIT_NO_SKIP") == "1":
        terminalreporter.write_line("PRODUCTKIT_NO_SKIP=1: a skipped test fails the run", red=True, bold=True)
        terminalreporter._session.exitstatus = pytest.ExitCode.TESTS_FAILED  # type: ignore[attr-defined]
