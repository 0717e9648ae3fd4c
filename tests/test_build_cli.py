"""`productkit build` on the command line: selection, git-based selection, output formats."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from productkit import cli

CASES = Path(__file__).resolve().parent / "cases"
RUN = CliRunner()


def _two_products(tmp_path: Path) -> Path:
    root = tmp_path / "cat"
    shutil.copytree(CASES / "valid" / "deposit_line", root)
    one = next((root / "products").glob("one-year.yaml"))
    two = one.with_name("two-year.yaml")
    two.write_text(one.read_text(encoding="utf-8").replace("deposit.time-1y", "deposit.time-2y"), encoding="utf-8")
    return root


def _built(out: Path) -> list[str]:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return [p["id"] for p in manifest["products"]]


def test_select_by_id_and_glob(tmp_path: Path) -> None:
    root = _two_products(tmp_path)
    out = tmp_path / "b"
    result = RUN.invoke(cli.app, ["build", str(root), "--out", str(out), "--select", "deposit.time-2y"])
    assert result.exit_code == 0, result.output
    assert _built(out) == ["deposit.time-2y"]
    result = RUN.invoke(cli.app, ["build", str(root), "--out", str(out), "--select", "deposit.time-*"])
    assert _built(out) == ["deposit.time-1y", "deposit.time-2y"]


def test_changed_since_builds_only_affected_products(tmp_path: Path) -> None:
    root = _two_products(tmp_path)
    git = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci"]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=root, check=True)
    two = root / "products" / "two-year.yaml"
    two.write_text(two.read_text(encoding="utf-8").replace("1-year", "2-year"), encoding="utf-8")
    out = tmp_path / "b"
    result = RUN.invoke(cli.app, ["build", str(root), "--out", str(out), "--changed-since", "HEAD"])
    assert result.exit_code == 0, result.output
    assert _built(out) == ["deposit.time-2y"]


def test_build_failures_in_sarif_and_github_formats(tmp_path: Path) -> None:
    root = _two_products(tmp_path)
    bad = root / "products" / "two-year.yaml"
    bad.write_text(bad.read_text(encoding="utf-8") + "\nsurprise: 1\n", encoding="utf-8")
    out = tmp_path / "b"
    sarif = RUN.invoke(cli.app, ["build", str(root), "--out", str(out), "--format", "sarif"])
    assert sarif.exit_code == 1
    doc = json.loads(sarif.stdout)
    [res] = doc["runs"][0]["results"]
    assert res["ruleId"] == "PK103" and res["locations"][0]["physicalLocation"]["region"]["startLine"] > 1
    github = RUN.invoke(cli.app, ["build", str(root), "--out", str(out), "--format", "github"])
    assert github.exit_code == 1 and github.stdout.startswith("::error file=")
    assert not out.exists(), "a failed build writes nothing"


def test_strict_turns_warnings_into_failure(tmp_path: Path) -> None:
    root = _two_products(tmp_path)
    comp = next((root / "components").glob("kyc.yaml"))
    comp.write_text(comp.read_text(encoding="utf-8") + "deprecated: {since: 2026-01-01}\n", encoding="utf-8")
    out = tmp_path / "b"
    assert RUN.invoke(cli.app, ["build", str(root), "--out", str(out)]).exit_code == 0
    assert RUN.invoke(cli.app, ["build", str(root), "--out", str(out), "--strict"]).exit_code == 1


def test_collection_is_held_off_while_the_command_line_starts_only(tmp_path: Path) -> None:
    """The console holds cyclic collection off from start-up; every command turns it back on
    as it starts (a build's units of work hold it off themselves and collect between them)."""
    import gc

    from productkit._gcpause import hold_collection

    root = _two_products(tmp_path)
    was_on = gc.isenabled()
    states: dict[str, bool] = {}
    try:
        for argv in (["build", str(root), "--out", str(tmp_path / "b")], ["validate", str(root)],
                     ["schema", "--out", str(tmp_path / "schemas")]):
            hold_collection()
            result = RUN.invoke(cli.app, argv)
            assert result.exit_code == 0, result.output
            states[argv[0]] = gc.isenabled()
    finally:
        if not was_on:
            gc.disable()
    assert states == {"build": True, "validate": True, "schema": True}


def test_the_console_holds_collection_off_until_the_command_starts(tmp_path: Path) -> None:
    """What the console script runs, in a process of its own: collection is off while the
    command line loads, on from the moment the command starts, for a build as for a plain
    ``validate`` (which the console answers without the command-line framework)."""
    root = _two_products(tmp_path)
    probe = ("import gc, sys\n"
             "import productkit._gcpause as g\n"
             "resume = g.resume\n"
             "def told():\n"
             "    print('held' if not gc.isenabled() else 'collecting', file=sys.stderr)\n"
             "    resume()\n"
             "    print('held' if not gc.isenabled() else 'collecting', file=sys.stderr)\n"
             "g.resume = told\n"
             "from productkit import console\n"
             "sys.argv = ['productkit', *sys.argv[1:]]\n"
             "console.main()\n")
    for argv in (["build", str(root), "--out", str(tmp_path / "b")], ["validate", str(root)]):
        done = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        said = [line for line in done.stderr.splitlines() if line in ("held", "collecting")]
        assert said == ["held", "collecting"], done.stderr
