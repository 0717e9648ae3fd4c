"""Usage errors are exit 2 with a message naming what was wrong; PK900 is for real bugs only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"


def _cli(*args: str, cwd: Path = REPO, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run([sys.executable, "-m", "productkit", *args], cwd=cwd, env=env, stdin=stdin,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(("args", "says"), [
    (["test", "deposit.time-1yy"], "did you mean 'deposit.time-1y'"),
    (["test", "no.such-product"], "no.such-product"),
    (["impact", "kyc.identity-verificaton"], "did you mean 'kyc.identity-verification'"),
    (["impact", "products/nope.yaml"], "products/nope.yaml"),
    (["schema", "--out", "README.md"], "README.md is a file"),
    (["simulate", "deposit.time-1y"], "--data"),  # stdin is not a terminal: nothing could run
])
def test_usage_errors_name_the_problem_and_exit_2(args: list[str], says: str) -> None:
    proc = _cli(*args)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert says in output
    assert "PK900" not in output and "Traceback" not in output


def test_simulate_of_an_unknown_product_with_data(tmp_path: Path) -> None:
    data = tmp_path / "data.yaml"
    data.write_text("context: {}\n", encoding="utf-8")
    proc = _cli("simulate", "deposit.time-1yy", "--data", str(data))
    assert proc.returncode == 2 and "did you mean 'deposit.time-1y'" in proc.stdout


def test_schema_into_an_unwritable_place_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    proc = _cli("schema", "--out", str(tmp_path / "file" / "sub"))
    assert proc.returncode == 2 and "cannot write" in proc.stderr and "Traceback" not in proc.stderr
