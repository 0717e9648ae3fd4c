"""The command line: exit codes, output formats, and no traceback whatever the input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casekit import INVALID, VALID, Case, invalid_cases
from productkit import cli, console
from productkit.validate import validate
from sarif import validate_sarif

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()

GITHUB_LINE = re.compile(
    r"^::(error|warning|notice) file=[^,:]+(,line=[1-9][0-9]*,col=[0-9]+)?,title=PK[0-9]{3}::\S.*$")


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli.app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def invalid_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every committed invalid case in one catalogue; the working directory is its root."""
    for case in invalid_cases():
        target = tmp_path / case.name if case.source.is_dir() else tmp_path
        case.install(target)
        if case.source.is_dir():  # folder cases become sub-catalogues under products/
            (tmp_path / "products" / case.name).parent.mkdir(parents=True, exist_ok=True)
            target.rename(tmp_path / "products" / case.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def hostile_catalogue(invalid_catalogue: Path) -> Path:
    """The invalid cases plus files that cannot be committed: links, FIFOs, huge files."""
    products = invalid_catalogue / "products"
    (products / "zero.yaml").symlink_to("/dev/zero")
    (products / "gone.yaml").symlink_to(invalid_catalogue / "nowhere.yaml")
    os.mkfifo(products / "pipe.yaml")
    (products / "empty.yaml").write_bytes(b"")
    (products / "big.yaml").write_bytes(b"a: " + b"x" * (2 * 1024 * 1024) + b"\n")
    (products / "bomb.yaml").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    return invalid_catalogue


def test_valid_catalogue_exits_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Case(VALID / "deposit_line").install(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke("validate")
    assert code == 0
    assert out == ""  # no diagnostics; the summary goes to stderr
    assert err.strip()


def test_invalid_catalogue_exits_1_with_located_text(invalid_catalogue: Path) -> None:
    code, out, _ = invoke("validate", ".")
    assert code == 1
    assert "products/PK009_duplicate_key.yaml:8:1: error PK009" in out
    assert re.search(r"^    \s*\^$", out, re.MULTILINE), "a caret under the source line"


def test_warnings_fail_only_with_strict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Case(INVALID / "PK204_deprecated_component").install(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke("validate")
    assert code == 0 and "warning PK204" in out
    assert invoke("validate", "--strict")[0] == 1


@pytest.mark.parametrize("args", [
    ["validate", "--bogus"],
    ["validate", "--format", "xml"],
    ["no-such-command"],
    ["schema", "--out"],
])
def test_usage_errors_exit_2(args: list[str]) -> None:
    code, out, err = invoke(*args)
    assert code == 2
    assert "Traceback" not in out + err


def test_json_format_matches_the_library(invalid_catalogue: Path) -> None:
    code, out, _ = invoke("validate", "--format", "json")
    assert code == 1
    items = json.loads(out)["diagnostics"]
    assert items
    for item in items:
        assert {"code", "severity", "message", "file", "line", "col", "path"} <= item.keys()
        assert isinstance(item["line"], int) and isinstance(item["col"], int)
    expected = [(d.code, d.location.file, d.location.line, d.location.col)
                for d in validate([Path(".")]).diagnostics]
    assert [(i["code"], i["file"], i["line"], i["col"]) for i in items] == expected


def test_sarif_format_is_sarif_2_1_0(invalid_catalogue: Path) -> None:
    code, out, _ = invoke("validate", "--format", "sarif")
    assert code == 1
    log = json.loads(out)
    validate_sarif(log)
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules)
    assert run["results"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        (loc,) = result["locations"]
        assert not Path(loc["physicalLocation"]["artifactLocation"]["uri"]).is_absolute()
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["PK204"] == "warning" and levels["PK009"] == "error"
    assert any("relatedLocations" in r for r in run["results"]), "PK201 carries its first place"


def test_github_format_lines(invalid_catalogue: Path) -> None:
    code, out, _ = invoke("validate", "--format", "github")
    assert code == 1
    lines = out.splitlines()
    assert lines
    bad = [line for line in lines if not GITHUB_LINE.match(line)]
    assert not bad
    assert "::error file=products/PK009_duplicate_key.yaml,line=8,col=1,title=PK009::" in out
    assert any(line.startswith("::warning ") for line in lines)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_hostile_files_never_show_a_traceback(hostile_catalogue: Path, fmt: str) -> None:
    code, out, err = invoke("validate", "--format", fmt)
    assert code == 1
    assert "Traceback" not in out + err
    for name in ("zero.yaml", "gone.yaml", "pipe.yaml", "empty.yaml", "big.yaml", "bomb.yaml"):
        assert f"products/{name}" in out


def test_console_script_on_hostile_files(hostile_catalogue: Path) -> None:
    exe = Path(sys.executable).with_name("productkit")  # the console script of this venv
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "productkit"]
    proc = subprocess.run([*command, "validate", "."], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "products/zero.yaml: error PK015" in proc.stdout  # a link out of the catalogue: never opened


@pytest.mark.parametrize("entry", [cli.main, console.main], ids=["framework", "console"])
@pytest.mark.parametrize("options", [[], ["--strict"]], ids=["plain", "option"])
def test_internal_error_is_pk900_without_traceback(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                   entry: Callable[[], None], options: list[str]) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("productkit.validate.validate", explode)
    monkeypatch.setattr(sys, "argv", ["productkit", "validate", *options, str(REPO)])
    with pytest.raises(SystemExit) as exit_info:
        entry()
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert "PK900" in captured.err
    assert "Traceback" not in captured.out + captured.err


_ENTRY = ("import atexit, sys\n"
          "from productkit.{module} import main\n"
          "atexit.register(lambda: sys.stderr.write(f'framework loaded: {{\"typer\" in sys.modules}}\\n'))\n"
          "sys.argv[0] = 'productkit'\n"
          "main()\n")


def _entry(module: str, args: list[str]) -> tuple[int, str, str, str]:
    proc = subprocess.run([sys.executable, "-c", _ENTRY.format(module=module), *args], capture_output=True,
                          text=True, timeout=120, check=False)
    err, _, loaded = proc.stderr.rstrip("\n").rpartition("\n")
    return proc.returncode, proc.stdout, err, loaded


@pytest.mark.parametrize("args", [
    ["validate"], ["validate", "."], ["validate", "products/zero.yaml", "products/bomb.yaml"],
    ["validate", "nowhere.yaml", "products"], ["validate", "--", "."], ["validate", "--strict", "."],
], ids=["cwd", "root", "files", "missing", "dashes", "option"])
def test_the_console_answers_a_plain_validate_as_the_framework_does(hostile_catalogue: Path,
                                                                    args: list[str]) -> None:
    """``validate`` with paths alone skips the command-line framework; anything else goes
    through it. Either way: the same bytes out and the same exit code."""
    code, out, err, loaded = _entry("console", args)
    assert (code, out, err) == _entry("cli", args)[:3]
    assert code == 1 and "products/zero.yaml: error PK0" in out  # refused, never read
    plain = not any(a.startswith("-") for a in args[1:])
    assert loaded == f"framework loaded: {not plain}"


_PLUGINS = ("import atexit, os, sys\n"
            "from productkit.console import main\n"
            "atexit.register(lambda: sys.stderr.write(repr(os.environ.get('PYDANTIC_DISABLE_PLUGINS')) + '\\n'))\n"
            "sys.argv[0] = 'productkit'\n"
            "main()\n")


@pytest.mark.parametrize(("given", "seen"), [(None, "'__all__'"), ("", "''"), ("logfire", "'logfire'")],
                         ids=["unset", "none-disabled", "chosen"])
def test_a_plain_validate_leaves_pydantic_plugins_out_unless_told(repo_catalogue: Path, given: str | None,
                                                                  seen: str) -> None:
    """The console's plain validate does without pydantic's plugin scan of every installed
    package; a choice made in the environment stands."""
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if given is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = given
    proc = subprocess.run([sys.executable, "-c", _PLUGINS, "validate", str(repo_catalogue)], capture_output=True,
                          text=True, timeout=120, check=False, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr.rstrip("\n").rpartition("\n")[2] == seen


def test_python_dash_m_help() -> None:
    proc = subprocess.run([sys.executable, "-m", "productkit", "--help"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0
    assert "validate" in proc.stdout and "schema" in proc.stdout


def test_schema_command_writes_and_checks(tmp_path: Path) -> None:
    out = tmp_path / "schemas"
    assert invoke("schema", "--out", str(out))[0] == 0
    written = sorted(p.name for p in out.iterdir())
    assert written and all(name.endswith(".schema.json") for name in written)
    assert invoke("schema", "--check", "--out", str(out))[0] == 0
    (out / written[0]).write_text("{}\n", encoding="utf-8")
    code, _, err = invoke("schema", "--check", "--out", str(out))
    assert code == 1 and written[0] in err


def _entry_closed_pipe(module: str, args: list[str]) -> tuple[int, str, str]:
    """The entry with its stdout a pipe whose reader has gone."""
    proc = subprocess.Popen([sys.executable, "-c", _ENTRY.format(module=module), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(120)
    err, _, loaded = err.rstrip("\n").rpartition("\n")
    return proc.returncode, err, loaded


def test_a_closed_pipe_ends_both_paths_alike(hostile_catalogue: Path) -> None:
    """``productkit validate . | head -c1``: the reader is gone; neither path reports an error."""
    code, err, loaded = _entry_closed_pipe("console", ["validate", "."])
    assert (code, err) == _entry_closed_pipe("cli", ["validate", "."])[:2] == (1, "")
    assert loaded == "framework loaded: False"


def test_a_completion_request_goes_to_the_framework(hostile_catalogue: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_PRODUCTKIT_COMPLETE", "bash_complete")
    code, out, err, loaded = _entry("console", ["validate", "."])
    assert (code, out, err) == _entry("cli", ["validate", "."])[:3]
    assert loaded == "framework loaded: True" and "PK015" not in out


def test_a_path_the_framework_would_refuse_goes_to_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from productkit.console import _plain

    (tmp_path / "a.yaml").write_text("x", "utf-8")
    monkeypatch.chdir(tmp_path)
    assert _plain(["a.yaml", "missing.yaml", ""])
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as for a file its user cannot read
    assert not _plain(["a.yaml"]) and _plain(["missing.yaml"])


@pytest.mark.parametrize(("raised", "code", "said"), [
    (KeyboardInterrupt(), 130, ""), (EOFError(), 1, "\nAborted!\n"),
    (BrokenPipeError(32, "Broken pipe"), 1, ""), (RuntimeError("boom"), 2, "internal error PK900: RuntimeError: boom"),
])
def test_a_command_ends_as_the_framework_ends_one(capsys: pytest.CaptureFixture[str], raised: BaseException,
                                                  code: int, said: str) -> None:
    from productkit._run import guarded

    def run() -> int:
        raise raised

    stdout, stderr = sys.stdout, sys.stderr
    try:
        with pytest.raises(SystemExit) as exit_info:
            guarded(run)
    finally:
        sys.stdout, sys.stderr = stdout, stderr
    assert exit_info.value.code == code
    err = capsys.readouterr().err
    assert said in err if said else err == ""
