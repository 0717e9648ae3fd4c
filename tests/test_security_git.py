"""--changed-since: a reference never reaches git as an option; a bad one is a usage error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from casekit import valid_cases
from productkit.impact import GitError, changed_products

SRC = Path(__file__).resolve().parents[1] / "src"


def _repo(tmp_path: Path) -> Path:
    root = next(c for c in valid_cases() if c.name == "deposit_line").install(tmp_path / "repo")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=root, check=True)
    return root


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run([sys.executable, "-m", "productkit", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("ref", ["--output=PWNED", "-p", "--exec=touch PWNED", "", "HEAD\n--output=PWNED"])
def test_option_like_refs_are_refused_and_write_nothing(tmp_path: Path, ref: str) -> None:
    root = _repo(tmp_path)
    with pytest.raises(GitError):
        changed_products([root], ref)
    proc = _cli(root, "build", ".", "--out", str(tmp_path / "out"), f"--changed-since={ref}")
    assert proc.returncode == 2 and "--changed-since" in proc.stderr and "Traceback" not in proc.stderr
    assert not list(root.rglob("PWNED")) and not list(tmp_path.rglob("PWNED"))


@pytest.mark.parametrize("ref", ["nosuchref", "HEAD~7", "0" * 40])
def test_unknown_refs_are_usage_errors_not_empty_selections(tmp_path: Path, ref: str) -> None:
    root = _repo(tmp_path)
    with pytest.raises(GitError, match="names no commit"):
        changed_products([root], ref)
    proc = _cli(root, "build", ".", "--out", str(tmp_path / "out"), f"--changed-since={ref}")
    assert proc.returncode == 2 and ref in proc.stderr
    assert not (tmp_path / "out").exists()


def test_outside_a_repository_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = next(c for c in valid_cases() if c.name == "deposit_line").install(tmp_path / "plain")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with pytest.raises(GitError, match="not inside"):
        changed_products([root], "HEAD")


def test_a_real_change_selects_its_products(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    assert changed_products([root], "HEAD") == []
    product = next(p for p in (root / "products").rglob("*.yaml") if "kind: Product\n" in p.read_text())
    product.write_text(product.read_text() + "\n# touched\n")
    assert changed_products([root], "HEAD")
