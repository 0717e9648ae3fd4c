"""The README's channel-service example runs against a real build, and the README shows it."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

from productkit.build import build
from productkit.options import Options

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "channel_service.py"


def test_channel_service_example_finishes_an_application(tmp_path: Path) -> None:
    out = tmp_path / "build"
    result = build([REPO], out, Options(release_date=dt.date(2026, 11, 27), targets=("forms",)))
    assert not result.failed(), result.diagnostics
    proc = subprocess.run([sys.executable, str(EXAMPLE), str(out)], capture_output=True, text=True,
                          check=True, timeout=120)
    assert "screen: amount" in proc.stdout
    assert "outcome: completed" in proc.stdout and "TD20261201000123" in proc.stdout


def test_readme_shows_the_example_verbatim() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    body = EXAMPLE.read_text(encoding="utf-8").split('"""', 2)[2].strip()
    assert body in readme
