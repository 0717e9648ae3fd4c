"""Targets are plug-ins end to end: a registry, `--target`, manifest locations named by the
target, Options reaching each target, and a new target that is one module and nothing else."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from productkit import cli
from productkit.build import build
from productkit.options import Options
from productkit.targets import TARGETS, load_targets
from productkit.targets.bpmn import BpmnTarget
from productkit.targets.forms import FormsTarget

CASES = Path(__file__).resolve().parent / "cases" / "valid"
RELEASE = dt.date(2026, 9, 30)
RUN = CliRunner()


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    root = tmp_path / "cat"
    shutil.copytree(CASES / "deposit_line", root)
    return root


def _manifest(out: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((out / "manifest.json").read_text("utf-8"))
    return data


def test_the_registry_holds_the_built_in_targets() -> None:
    registry = load_targets()
    assert registry["bpmn"] is BpmnTarget and registry["forms"] is FormsTarget
    assert all(cls.description for cls in registry.values())


def test_the_manifest_records_each_targets_location(catalogue: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    assert not build([catalogue], out, Options(release_date=RELEASE)).failed()
    products = _manifest(out)["products"]
    assert isinstance(products, list) and products
    for entry in products:
        key = f"{entry['id']}@{entry['version']}"
        assert entry["targets"] == {"bpmn": f"bpmn/{key}.bpmn", "forms": f"forms/{key}/"}
        assert "bpmn" not in entry  # the old hard-coded key is gone
        assert (out / entry["targets"]["bpmn"]).is_file()
        assert all(name.startswith(entry["targets"]["forms"]) for per in entry["forms"].values()
                   for name in per.values())


def test_target_chooses_what_is_written(catalogue: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    result = RUN.invoke(cli.app, ["build", str(catalogue), "--out", str(out), "--release-date", "2026-09-30",
                                  "--target", "bpmn", "--no-cache"])
    assert result.exit_code == 0, result.output
    assert not (out / "forms").exists() and any((out / "bpmn").iterdir())
    products = _manifest(out)["products"]
    assert isinstance(products, list)
    assert {tuple(p["targets"]) for p in products} == {("bpmn",)}


def test_an_unknown_target_or_language_is_a_usage_error(catalogue: Path, tmp_path: Path) -> None:
    for args, said in ((["--target", "dot"], "known targets are bpmn, forms"), (["--lang", "fr"], "--lang 'fr'")):
        result = RUN.invoke(cli.app, ["build", str(catalogue), "--out", str(tmp_path / "b"), *args])
        assert result.exit_code == 2 and said in result.output, result.output
        assert not (tmp_path / "b").exists()


def test_list_targets(catalogue: Path) -> None:
    result = RUN.invoke(cli.app, ["build", "--list-targets"])
    assert result.exit_code == 0
    assert [line.split("\t")[0] for line in result.output.splitlines()] == sorted(TARGETS)


def test_options_reach_the_target(catalogue: Path, tmp_path: Path) -> None:
    names = {}
    for lang in ("zh-CN", "en"):
        out = tmp_path / lang
        assert not build([catalogue], out, Options(release_date=RELEASE, language=lang, cache=None)).failed()
        names[lang] = b"".join(p.read_bytes() for p in sorted((out / "bpmn").iterdir()))
    assert names["zh-CN"] != names["en"]
    assert "一年期".encode() in names["zh-CN"] and b"1-year" in names["en"]


def _installed_target(tmp_path: Path) -> Path:
    """A folder holding a package that registers the target "outline", installed as an entry point
    of group productkit.targets would be (put the folder on PYTHONPATH)."""
    plugin = tmp_path / "plugin"
    (plugin / "pk_outline").mkdir(parents=True)
    (plugin / "pk_outline" / "__init__.py").write_text(textwrap.dedent('''
        from productkit.targets import EmitContext, Emitted, Target, register

        @register
        class Outline(Target[EmitContext, str]):
            name, suffix, description = "outline", ".txt", "the steps, one per line"

            def emit(self, defn):
                ctx = EmitContext(defn, self.name, output=self.location(defn))
                return ctx.finish("\\n".join(sorted(defn.steps)).encode())
    '''), "utf-8")
    dist = plugin / "pk_outline-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: pk-outline\nVersion: 1.0\n", "utf-8")
    (dist / "entry_points.txt").write_text("[productkit.targets]\noutline = pk_outline\n", "utf-8")
    return plugin


def test_a_new_target_is_one_module(tmp_path: Path, catalogue: Path) -> None:
    """A module that registers a Target, made importable as an installed package's entry point
    would be, is built by `--target` with no other change to productkit."""
    plugin = _installed_target(tmp_path)
    out = tmp_path / "b"
    code = ("import sys; from productkit.cli import main; sys.argv = ['productkit', 'build', sys.argv[1], "
            "'--out', sys.argv[2], '--target', 'outline', '--release-date', '2026-09-30', '--no-cache']; main()")
    done = subprocess.run([sys.executable, "-c", code, str(catalogue), str(out)], capture_output=True, text=True,
                          env={"PYTHONPATH": f"{plugin}:{Path(cli.__file__).parents[1]}", "PATH": "/usr/bin:/bin"},
                          timeout=120)
    assert done.returncode == 0, done.stderr
    products = _manifest(out)["products"]
    assert isinstance(products, list)
    for entry in products:
        location = entry["targets"]["outline"]
        assert location == f"outline/{entry['id']}@{entry['version']}.txt"
        steps = json.loads((out / entry["definition"]).read_text("utf-8"))["steps"]
        assert (out / location).read_text("utf-8").splitlines() == sorted(steps)


def test_installed_targets_are_looked_for_only_when_one_is_wanted(tmp_path: Path) -> None:
    """The built-in targets come with the package; the installed packages' entry points are
    scanned (and their targets imported) only when a target that is not built in is asked for,
    or every target is."""
    plugin = _installed_target(tmp_path)
    code = ("import sys; from productkit.targets import load_targets, emit\n"
            "print('outline' in load_targets(['bpmn', 'forms']), 'pk_outline' in sys.modules)\n"
            "print('outline' in load_targets(['bpmn', 'outline']), 'pk_outline' in sys.modules)\n")
    listing = "from productkit.targets import load_targets; print(sorted(load_targets()))"
    unknown = ("import sys; from productkit.targets import emit\n"
               "try:\n    emit(None, 'nope')\n"
               "except KeyError as exc:\n    print('outline' in str(exc), 'pk_outline' in sys.modules)\n")
    env = {"PYTHONPATH": f"{plugin}:{Path(cli.__file__).parents[1]}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["False False", "True True"]
    done = subprocess.run([sys.executable, "-c", listing], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "'outline'" in done.stdout and "'bpmn'" in done.stdout
    # emit() by a name that is not built in looks among the installed targets before it refuses
    done = subprocess.run([sys.executable, "-c", unknown], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["True True"]
