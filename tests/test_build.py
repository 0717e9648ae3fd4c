"""`productkit build`: canonical, deterministic, incremental and atomic output."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from productkit import ir
from productkit.build import Release, build, next_business_day
from productkit.options import Options

CASES = Path(__file__).resolve().parent / "cases" / "valid"
SOURCE = CASES / "deposit_line"
RELEASE = dt.date(2026, 9, 30)


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    root = tmp_path / "cat"
    shutil.copytree(SOURCE, root)
    return root


def _tree(out: Path) -> dict[str, bytes]:
    base = out.resolve()
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def _consistent(out: Path) -> dict[str, object]:
    """What a channel service checks: every definition matches the manifest's digest."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["products"]:
        defn = ir.load((out / entry["definition"]).read_bytes())
        assert ir.with_digest(defn).digest == defn.digest == entry["digest"]
    return manifest


def test_build_writes_definitions_forms_and_manifest(catalogue: Path, tmp_path: Path) -> None:
    out = tmp_path / "build"
    result = build([catalogue], out, Options(release_date=RELEASE))
    assert not result.failed(), result.diagnostics
    manifest = _consistent(out)
    assert manifest["format"] == "productkit.manifest/2"
    assert manifest["release_date"] == "2026-09-30"
    assert [p["id"] for p in manifest["products"]] == sorted(p["id"] for p in manifest["products"])
    assert manifest["changes"]["added"] == sorted(f"{p['id']}@{p['version']}" for p in manifest["products"])
    for entry in manifest["products"]:
        assert entry["components"], "the lock names every component version used"
        for per_channel in entry["forms"].values():
            for name in per_channel.values():
                form = json.loads((out / name).read_text(encoding="utf-8"))
                jsonschema.Draft202012Validator.check_schema(form["schema"])
                assert form["i18n"]["zh-CN"] and form["i18n"]["en"]


def test_definition_round_trips_and_matches_its_schema(catalogue: Path, tmp_path: Path) -> None:
    out = tmp_path / "build"
    build([catalogue], out, Options(release_date=RELEASE))
    validator = jsonschema.Draft202012Validator(ir.workflow_schema())
    for path in sorted((out / "definitions").glob("*.json")):
        text = path.read_text(encoding="utf-8")
        defn = ir.load(text)
        assert ir.load(ir.dump(defn)) == defn
        assert ir.dump(defn) == text
        assert list(validator.iter_errors(json.loads(text))) == []


def test_t_plus_one_is_the_next_business_day() -> None:
    assert next_business_day(dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 8)  # National Day week
    assert next_business_day(dt.date(2026, 1, 2), 1) == dt.date(2026, 1, 4)  # adjusted working Sunday
    assert next_business_day(dt.date(2026, 11, 27), 1) == dt.date(2026, 11, 30)  # Friday -> Monday


def _cli_build(root: Path, out: Path, cwd: Path, seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    subprocess.run([sys.executable, "-m", "productkit", "build", str(root), "--out", str(out),
                    "--release-date", RELEASE.isoformat()], cwd=cwd, env=env, check=True,
                   capture_output=True)


def test_build_is_byte_identical_across_hash_seeds_file_order_and_cwd(catalogue: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "b1", tmp_path / "b2"
    _cli_build(catalogue, first, catalogue, "1")
    # The same documents under other file names (another order on disk), another cwd and seed.
    shuffled = tmp_path / "shuffled"
    for path in sorted(catalogue.rglob("*.yaml")):
        rel = path.relative_to(catalogue)
        target = shuffled / rel.parent / f"z{random.Random(str(rel)).randint(0, 999)}-{rel.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    _cli_build(catalogue, second, tmp_path, "4242")
    assert _tree(first) == _tree(second)
    third = tmp_path / "b3"
    _cli_build(shuffled, third, tmp_path, "7")
    strip = {k: v for k, v in _tree(first).items() if k.startswith("forms/")}
    assert strip == {k: v for k, v in _tree(third).items() if k.startswith("forms/")}


def test_no_change_rebuild_recompiles_nothing_and_a_component_change_only_its_users(
        catalogue: Path, tmp_path: Path) -> None:
    out = tmp_path / "build"
    cold = build([catalogue], out, Options(release_date=RELEASE))
    assert cold.compiled and not cold.reused
    before = _tree(out)
    again = build([catalogue], out, Options(release_date=RELEASE))
    assert again.compiled == [] and sorted(again.reused) == sorted(cold.compiled)
    assert again.up_to_date and _tree(out) == before  # nothing changed: the build is left as it is
    assert again.diagnostics == cold.diagnostics
    component = catalogue / "components" / "open.yaml"
    text = component.read_text(encoding="utf-8")
    component.write_text(text.replace("en: Open deposit", "en: Open a deposit"), encoding="utf-8")
    changed = build([catalogue], out, Options(release_date=RELEASE))
    assert not changed.failed(), changed.diagnostics
    users = sorted(pid for pid in cold.compiled)  # every product of this catalogue books a deposit
    assert sorted(changed.compiled) == users


def test_a_failing_build_leaves_the_previous_build(catalogue: Path, tmp_path: Path) -> None:
    out = tmp_path / "build"
    build([catalogue], out, Options(release_date=RELEASE))
    before = _tree(out)
    product = next((catalogue / "products").glob("*.yaml"))
    product.write_text(product.read_text(encoding="utf-8") + "\nbogus_field: 1\n", encoding="utf-8")
    result = build([catalogue], out, Options(release_date=RELEASE))
    assert result.failed() and any(d.code == "PK103" for d in result.diagnostics)
    assert _tree(out) == before


def test_a_build_killed_at_any_moment_leaves_a_loadable_build(catalogue: Path, tmp_path: Path) -> None:
    out = tmp_path / "build"
    build([catalogue], out, Options(release_date=RELEASE))
    _consistent(out)
    rng = random.Random(20261127)
    component = catalogue / "components" / "open.yaml"
    for attempt in range(6):
        text = component.read_text(encoding="utf-8")
        component.write_text(text.replace("PT", "PT1", 1) if attempt % 2 else text.replace("PT1", "PT", 1),
                             encoding="utf-8")
        proc = subprocess.Popen([sys.executable, "-m", "productkit", "build", str(catalogue), "--out", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _consistent(out)
    build([catalogue], out, Options(release_date=RELEASE), release=Release(grace=0))
    store = out.parent / ".build.builds"
    assert not [p for p in store.iterdir() if p.name.startswith(".tmp-")], "killed builds' leftovers are swept"
    kept = [p.resolve() for p in store.iterdir() if p.is_dir()]
    assert out.resolve() in kept and len(kept) <= 3, "the current build and at most two retired ones"


def test_an_up_to_date_rebuild_reports_the_same_warnings(catalogue: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    comp = catalogue / "components" / "kyc.yaml"
    comp.write_text(comp.read_text(encoding="utf-8") + "deprecated: {since: 2026-01-01}\n", encoding="utf-8")
    out = tmp_path / "build"
    first = build([catalogue], out, Options(release_date=RELEASE))
    assert [d.code for d in first.diagnostics] == ["PK204"] and not first.up_to_date
    monkeypatch.chdir(tmp_path)  # replayed paths follow the working directory
    again = build([catalogue], out, Options(release_date=RELEASE))
    assert again.up_to_date
    [warning] = again.diagnostics
    assert (warning.code, warning.location.line, warning.location.col) == (
        "PK204", first.diagnostics[0].location.line, first.diagnostics[0].location.col)
    assert Path(warning.location.file).resolve() == Path(first.diagnostics[0].location.file).resolve()


def test_a_retired_build_a_reader_holds_is_not_swept(catalogue: Path, tmp_path: Path) -> None:
    """A channel service's lazy catalogue reads product files long after it loaded the build: the
    builds that retire it keep its folder while it is held, and sweep it once it is closed."""
    from productkit.runtime import Catalog

    out = tmp_path / "build"
    build([catalogue], out, Options(release_date=RELEASE))
    reader = Catalog.load(out)  # lazy: no product file read yet
    held = out.resolve()
    product = next(iter(reader)).id
    for day in range(1, 5):  # retire it, then build past the two kept and the (zero) grace
        build([catalogue], out, Options(release_date=RELEASE + dt.timedelta(days=day)), release=Release(grace=0))
    assert out.resolve() != held and held.is_dir()
    assert reader.definition(product).id == product  # read now, from the held folder
    reader.close()
    build([catalogue], out, Options(release_date=RELEASE + dt.timedelta(days=9)), release=Release(grace=0))
    assert not held.exists()


def test_retired_builds_are_removed_after_the_new_one_is_written(catalogue: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A build writes and commits first, then removes the builds retired past their grace: the
    removal of a build's thousands of files neither delays the new build nor precedes its
    writes (creating files just after deleting many is slow on ext4)."""
    from productkit import output

    out = tmp_path / "build"
    for day in range(4):  # within their grace period: all retired builds stay
        build([catalogue], out, Options(release_date=RELEASE + dt.timedelta(days=day)))
    store = out.parent / ".build.builds"
    before = {p.name for p in store.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert len(before) == 4
    seen: list[set[str]] = []
    write = output._write_files

    def writing(tmp: Path, *args: object, **kwargs: object) -> None:
        seen.append({p.name for p in store.iterdir() if p.is_dir() and not p.name.startswith(".")})
        write(tmp, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(output, "_write_files", writing)
    build([catalogue], out, Options(release_date=RELEASE + dt.timedelta(days=9)), release=Release(grace=0))
    after = {p.name for p in store.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert seen == [before], "nothing was removed before the new build was written"
    assert len(after) == 3 and len(before - after) == 2, "all but two retired builds were removed after the commit"


def test_a_business_day_is_worked_out_once_per_holidays_release(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """T+n is remembered in the user cache (each process would build the holiday calendar
    again); an entry for another holidays release, or one tampered with, is not used."""
    from productkit import build as building
    from productkit.cache import open_cache

    asked: list[int] = []

    def counting(release: dt.date, days: int, calendar: str = "CN") -> dt.date:
        asked.append(days)
        return next_business_day(release, days, calendar)

    monkeypatch.setattr(building, "next_business_day", counting)
    cache = open_cache(tmp_path / "cache")
    assert cache is not None
    day = dt.date(2026, 9, 30)
    assert building._business_day(day, 1, "CN", cache) == "2026-10-08"
    assert building._business_day(day, 1, "CN", cache) == "2026-10-08"
    assert building._business_day(day, 2, "CN", cache) == "2026-10-09"
    assert asked == [1, 2]
    assert building._business_day(day, 1, "CN", None) == "2026-10-08"
    assert asked == [1, 2, 1]
    for entry in (tmp_path / "cache").rglob("*.json"):
        entry.write_bytes(entry.read_bytes().replace(b"2026-10-08", b"2026-10-01"))
    assert building._business_day(day, 1, "CN", cache) == "2026-10-08"
    assert asked == [1, 2, 1, 1]
    monkeypatch.setattr("importlib.metadata.version", lambda name: "0.0-other")
    assert building._business_day(day, 2, "CN", cache) == "2026-10-09"
    assert asked == [1, 2, 1, 1, 2]
