"""Shared fixtures: the ``--update-goldens`` flag and the golden-file comparison."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from casekit import GoldenCheck


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite the golden expectation files (tests/cases/**/*.expected.json) from the "
        "current output instead of comparing against them",
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture
def golden(update_goldens: bool) -> GoldenCheck:
    """Compare ``actual`` with the golden file at ``path`` (or rewrite it with the flag)."""

    def check(path: Path, actual: str) -> None:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if update_goldens:
            if current != actual:
                path.write_text(actual, encoding="utf-8")
            return
        if current is None:
            pytest.fail(f"{path} is missing; run `pytest --update-goldens` to create it")
        if current != actual:
            diff = "".join(difflib.unified_diff(
                current.splitlines(keepends=True), actual.splitlines(keepends=True),
                fromfile=f"{path.name} (golden)", tofile=f"{path.name} (actual)"))
            pytest.fail(f"output differs from {path}; if the change is intended, run "
                        f"`pytest --update-goldens` and review the diff\n{diff}", pytrace=False)

    return check
