"""Shared by the forms tests: the repo catalogue built once, and the Node tools of tools/forms
(JSON Forms, react-jsonschema-form, ajv, esbuild, playwright-core), installed with npm ci."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from productkit.build import build
from productkit.options import Options
from productkit.runtime import Catalog

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tools" / "forms"


def built_catalogue(out: Path) -> Catalog:
    """The repo catalogue built into ``out`` and loaded as a channel service loads it."""
    result = build([str(ROOT)], out, Options(release_date=dt.date(2026, 11, 30)))
    assert not result.failed(), [str(d) for d in result.diagnostics if d.severity == "error"]
    return Catalog.load(out)


def built_forms(out: Path) -> dict[str, dict[str, Any]]:
    """Every form file of the repo catalogue built into ``out``, by its name in the build."""
    built_catalogue(out)
    return {p.relative_to(out).as_posix(): json.loads(p.read_bytes()) for p in sorted((out / "forms").rglob("*.json"))}


@functools.cache
def node_tools() -> Path:
    """tools/forms with its pinned node_modules; fails (never skips) without Node and npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are needed for the forms renderers and ajv (tools/forms)")
    if not (TOOLS / "node_modules" / "@jsonforms" / "core").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=TOOLS, check=True, capture_output=True)
    return TOOLS


def node(script: str, payload: Any) -> Any:
    """Run ``tools/forms/<script>`` with ``payload`` as JSON on stdin; its JSON output."""
    run = subprocess.run(["node", script], cwd=node_tools(), input=json.dumps(payload, ensure_ascii=False),
                         capture_output=True, text=True, check=False, timeout=300)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def chromium() -> str:
    """Debian's chromium, with a font that has Chinese glyphs (the zh-CN pages and screenshots
    are rendered with it, not as empty boxes); both installed with apt-get when missing and
    running as root."""
    found = shutil.which("chromium")
    root = os.geteuid() == 0 and shutil.which("apt-get") is not None
    if found is None and root:
        _apt_install("chromium")
        found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    if root and not _has_chinese_font():
        _apt_install("fonts-wqy-zenhei")
    return found


def _apt_install(package: str) -> None:
    subprocess.run(["apt-get", "install", "-y", "-q", package], check=True, capture_output=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def _has_chinese_font() -> bool:
    if shutil.which("fc-list") is None:
        return False
    listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
    return bool(listed.stdout.strip())
