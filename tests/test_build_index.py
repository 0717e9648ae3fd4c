"""A build through the check index (only what a change can affect is checked, the rest of the
catalogue is not even loaded) writes exactly what a build without any cache writes, byte for byte,
after every edit of a sequence; and it compiles only the products whose inputs changed."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest

from productkit.build import BuildResult, build
from productkit.diagnostics import diagnostic_to_data
from productkit.options import Options
from productkit.sources import load_catalog
from test_lsp_session import COMPONENT, DICTIONARY, EDITS, LINE, PRODUCT, apply_edit

RELEASE = dt.date(2026, 9, 30)
DEMAND = "products/deposit/demand-class-ii.yaml"


def _edits(root: Path) -> list[tuple[str, str | None]]:
    """Edits that keep the catalogue clean (each build compiles something), one that breaks it,
    a file removed and one added; each applies to the state the last one left."""
    def edit(rel: str, old: str, new: str) -> tuple[str, str]:
        text = (root / rel).read_text(encoding="utf-8")
        assert old in text, (rel, old)
        return rel, text.replace(old, new, 1)

    product = (root / PRODUCT).read_text(encoding="utf-8")
    return [
        edit(PRODUCT, "en: 1-year time deposit}", "en: One-year time deposit}"),
        edit(COMPONENT, "en: App push notification}", "en: Push notification}"),
        edit(LINE, "en: Lump-sum time deposits}", "en: Lump-sum deposits}"),
        edit(DICTIONARY, "\n", "\n# reviewed\n"),
        EDITS[0],  # breaks the product
        (PRODUCT, product),
        (DEMAND, None),
        (PRODUCT.replace("1y.yaml", "1y-next.yaml"),
         product.replace("\nid: deposit.time-1y\n", "\nid: deposit.time-1y-next\n", 1)),
    ]


def _tree(out: Path) -> dict[str, bytes]:
    base = out.resolve()
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


LOADS: list[Path] = []  # the catalogues loaded whole by the indexed builds


def _both(root: Path, tmp_path: Path) -> tuple[BuildResult, BuildResult]:
    indexed = build([root], tmp_path / "indexed" / "build", Options(release_date=RELEASE))
    plain = build([root], tmp_path / "plain" / "build", Options(release_date=RELEASE, cache=None))
    return indexed, plain


def _counting(root: Path, *args: object, **kwargs: object) -> object:
    LOADS.append(root)
    return load_catalog(root, *args, **kwargs)  # type: ignore[arg-type]


def _same(indexed: BuildResult, plain: BuildResult, tmp_path: Path, step: str) -> None:
    assert [diagnostic_to_data(d) for d in indexed.diagnostics] == \
        [diagnostic_to_data(d) for d in plain.diagnostics], step
    assert sorted(indexed.compiled) == sorted(plain.compiled), step
    assert _tree(tmp_path / "indexed" / "build") == _tree(tmp_path / "plain" / "build"), step


def test_every_edit_builds_what_a_build_without_cache_builds(repo_catalogue: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    first = _both(repo_catalogue, tmp_path)
    _same(*first, tmp_path, "cold")
    assert first[0].compiled
    monkeypatch.setattr("productkit.validate.load_catalog", _counting)
    compiled: list[int] = []
    for rel, text in _edits(repo_catalogue):
        apply_edit(repo_catalogue, rel, text)
        LOADS.clear()
        indexed = build([repo_catalogue], tmp_path / "indexed" / "build", Options(release_date=RELEASE))
        whole = len(LOADS)
        plain = build([repo_catalogue], tmp_path / "plain" / "build", Options(release_date=RELEASE, cache=None))
        _same(indexed, plain, tmp_path, rel)
        assert whole == (1 if "parameters/" in rel else 0), rel  # only a dictionary edit loads it all
        compiled.append(len(indexed.compiled))
    # a product alone, a component's users, a line's members, everything, nothing (broken), the
    # product again, nothing (a product removed), the new product alone
    assert compiled[0] == 1 and compiled[1] > 1 and compiled[3] == len(first[0].compiled)
    assert compiled[4] == 0 and compiled[5] == 1 and compiled[6] == 0 and compiled[7] == 1, compiled


def test_a_product_edit_compiles_that_product_alone(repo_catalogue: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "build"
    cold = build([repo_catalogue], out, Options(release_date=RELEASE))
    assert not cold.failed() and len(cold.compiled) > 3
    path = repo_catalogue / PRODUCT
    path.write_text(path.read_text("utf-8").replace("\nname: {", "\n# renamed\nname: {", 1), "utf-8")
    again = build([repo_catalogue], out, Options(release_date=RELEASE))
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    ident = next(p for p in manifest["products"] if p["definition"].startswith("definitions/deposit.time-1y@"))
    assert again.compiled == [f"{ident['id']}@{ident['version']}"]


def _edited_after_planning(root: Path, work: Path, forked: bool) -> dict[str, Any]:
    """Build ``root`` with one of its products edited once the build has planned (read only
    after the checks), every product compiled in a forked worker when ``forked``: the build's
    codes, whether it wrote anything, and the processes that raised ChangedDuringRun."""
    import functools

    import productkit.build as building
    from productkit import parallel
    from productkit.checkindex import ChangedDuringRun
    from productkit.validate import validate

    raised: list[int] = []
    saved = (building._plan, parallel.map_ordered, ChangedDuringRun.__init__)
    first, planned = ChangedDuringRun.__init__, building._plan
    note = work / "raised-in"  # a worker's exception is raised again here, in the caller

    def noted(self: ChangedDuringRun, name: str) -> None:
        with open(note, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
        first(self, name)

    def plan(*args: object, **kwargs: object) -> object:
        found = planned(*args, **kwargs)  # type: ignore[arg-type]
        (root / "products" / "deposit" / "time-deposit-3m.yaml").write_text(
            "apiVersion: productkit/v1\nkind: Product\nid: [broken\n", "utf-8")
        return found

    validate([root], Options(release_date=RELEASE))  # the index: the build checks nothing again
    ChangedDuringRun.__init__ = noted  # type: ignore[method-assign]
    building._plan = plan  # type: ignore[assignment]
    if forked:
        parallel.map_ordered = functools.partial(parallel.map_ordered, minimum=2, own=0.0)
    try:
        result = build([root], work / "build", Options(release_date=RELEASE))
    finally:
        building._plan, parallel.map_ordered, ChangedDuringRun.__init__ = saved  # type: ignore[method-assign]
    raised += [int(p) for p in note.read_text("utf-8").split()] if note.exists() else []
    return {"codes": [d.code for d in result.diagnostics], "failed": result.failed(),
            "wrote": (work / "build").exists(), "raised": raised, "pid": os.getpid()}


@pytest.mark.parametrize("where", ["here", "worker"])
def test_a_file_changed_while_the_build_reads_it_writes_nothing(repo_catalogue: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """What was checked must be what is compiled: a file the build reads only after the checks
    (here, a product compiled once the build has planned), edited in between, stops the build
    with PK513 and writes nothing, also when a forked worker reads it (``worker``: every product
    compiled in one, in a fresh interpreter, which forks: a process running other threads, as
    the test process may, never does)."""
    import subprocess
    import sys

    from productkit import parallel

    monkeypatch.chdir(tmp_path)
    if where == "here":
        found = _edited_after_planning(repo_catalogue, tmp_path, forked=False)
    else:
        assert parallel.cores() >= 2, "a worker needs a second core"
        code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
                "from pathlib import Path; import test_build_index as t; "
                f"print(json.dumps(t._edited_after_planning(Path({str(repo_catalogue)!r}), "
                f"Path({str(tmp_path)!r}), forked=True)))")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [c for c in found["codes"] if c == "PK513"] == ["PK513"]
    assert found["failed"] and not found["wrote"]
    assert (found["raised"][0] != found["pid"]) == (where == "worker"), found


def test_a_file_edited_while_another_build_held_the_output_is_built(repo_catalogue: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A build that waited for another build of the same output surveys the catalogue again: a
    product edited during the wait (one the checks' index answers for, compiled afresh into a new
    output) is built as it now is, not refused as changed while the build read it (PK513)."""
    import threading

    import productkit.build as building
    from productkit.output import staged_build
    from productkit.validate import validate

    monkeypatch.chdir(tmp_path)
    validate([repo_catalogue], Options(release_date=RELEASE))  # the index: the build checks nothing again
    out = tmp_path / "build"
    path = repo_catalogue / PRODUCT
    waiting, release = threading.Event(), threading.Event()

    def staged(*args: object, **kwargs: object) -> object:
        waiting.set()  # surveyed already: about to wait for the output
        return staged_build(*args, **kwargs)  # type: ignore[arg-type]

    def holder() -> None:
        with staged_build(out):
            release.wait(30)

    monkeypatch.setattr(building, "staged_build", staged)
    held = threading.Thread(target=holder)
    held.start()
    results: list[BuildResult] = []
    later = threading.Thread(target=lambda: results.append(build([repo_catalogue], out, Options(release_date=RELEASE))))
    later.start()
    assert waiting.wait(30)
    path.write_text(path.read_text("utf-8").replace("en: 1-year time deposit}", "en: One-year deposit}"), "utf-8")
    threading.Timer(max(1.0, 2 * building._SURVEY_AGAIN_AFTER), release.set).start()
    later.join(60)
    held.join(30)
    [result] = results
    assert not result.failed(), [d.code for d in result.diagnostics]
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    definition = next(p["definition"] for p in manifest["products"] if p["id"] == "deposit.time-1y")
    assert "One-year deposit" in (out / definition).read_text("utf-8")


@pytest.mark.parametrize("child", [False, True], ids=["linked-by-the-build", "linked-by-a-child"])
def test_a_kept_file_edited_in_place_with_its_mtime_put_back_is_compiled_again(
        repo_catalogue: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, child: bool) -> None:
    """The stamps that spare a build from reading kept files hold the change time too, whether
    the build checks and links the previous build's files or a child does (see _prelink)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("productkit.build._Stamps.SETTLED_NS", 0)  # every file counts as settled
    monkeypatch.setattr("productkit._prelink.PRELINK_MIN", 0 if child else 10**9)
    monkeypatch.setattr("productkit._prelink.threading.active_count", lambda: 1)  # threads other tests left
    out = tmp_path / "build"
    build([repo_catalogue], out, Options(release_date=RELEASE))
    build([repo_catalogue], out, Options(release_date=RELEASE))  # reads every file, records its stamp
    victim = sorted(out.resolve().glob("definitions/*.json"))[0]
    st = victim.stat()
    data = victim.read_bytes()
    with open(victim, "r+b") as fh:
        fh.write(data.replace(b'"version"', b'"VERSION"', 1))
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    again = build([repo_catalogue], out, Options(release_date=RELEASE))
    assert not again.up_to_date and any(d.code == "PK507" for d in again.diagnostics)
    assert victim.name.removesuffix(".json") in again.compiled
    assert b'"VERSION"' not in (out / "definitions" / victim.name).read_bytes()


def test_a_build_reads_the_catalogue_and_its_index_once(repo_catalogue: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The fingerprint's survey (every file's stamp, the changed ones read) is the one the
    validation goes by: one survey, one reading of the index, one reading of the previous
    manifest, and still exactly the edited product compiled."""
    import productkit.build as building
    import productkit.checkindex as checkindex
    import productkit.validate as validating

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "build"
    build([repo_catalogue], out, Options(release_date=RELEASE))
    calls: list[str] = []

    def counted(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return fn(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(checkindex, "survey", counted("survey", checkindex.survey))
    monkeypatch.setattr(validating, "survey", counted("survey", validating.survey))
    monkeypatch.setattr(checkindex.Index, "read", staticmethod(counted("index", checkindex.Index.read)))
    previous: list[Any] = []
    read_previous = building._previous

    def remembered(*args: Any) -> Any:
        previous.append(read_previous(*args))
        return previous[-1]

    monkeypatch.setattr(building, "_previous", remembered)
    path = repo_catalogue / PRODUCT
    path.write_text(path.read_text("utf-8").replace("\nname: {", "\n# renamed\nname: {", 1), "utf-8")
    again = build([repo_catalogue], out, Options(release_date=RELEASE))
    assert len(again.compiled) == 1 and not again.failed()
    assert sorted(calls) == ["index", "survey"]
    assert len(previous) == 2 and previous[1] is previous[0] and previous[0].folder is not None


def test_catalogue_relative_names_are_what_realpath_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A product's input digest names its files relative to the catalogue, links resolved; the
    folders' resolutions are shared, with the same result as resolving each file whole."""
    from productkit.build import _relative_to

    root = tmp_path / "cat"
    (root / "products" / "a").mkdir(parents=True)
    (root / "products" / "a" / "p.yaml").write_text("x", "utf-8")
    (root / "products" / "b").symlink_to(root / "products" / "a")
    (root / "products" / "link.yaml").symlink_to(root / "products" / "a" / "p.yaml")
    (tmp_path / "elsewhere.yaml").write_text("y", "utf-8")
    (root / "products" / "out.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    monkeypatch.chdir(root)
    via = tmp_path / "via"
    via.symlink_to(root)
    names = ["products/a/p.yaml", "products/b/p.yaml", "products/link.yaml", "products/out.yaml",
             "products/a/../a/p.yaml", "products/missing.yaml", str(via / "products" / "a" / "p.yaml"),
             "products/a/", "products/."]
    for start in (root, via):
        rel = _relative_to(start)
        base = os.path.realpath(start) + os.sep
        for name in names:
            real = os.path.realpath(name)
            expected = real[len(base):] if real.startswith(base) else Path(name).as_posix()
            assert rel(name) == expected, name


def test_a_file_edited_after_the_fingerprint_is_recorded_as_it_was_checked(
        repo_catalogue: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The survey a build hands to its validation may be older than what the validation loads
    (the build waited for its lock in between): a document edited in that gap, when the
    catalogue is validated whole, is recorded with the digest of what was checked, never the
    digest the index knew."""
    import productkit.build as building

    monkeypatch.chdir(tmp_path)
    build([repo_catalogue], tmp_path / "indexed" / "build", Options(release_date=RELEASE))
    dictionary = repo_catalogue / DICTIONARY  # a dictionary edit: the validation runs whole
    dictionary.write_text(dictionary.read_text("utf-8") + "\n# reviewed\n", "utf-8")
    fingerprint = building._fingerprint

    def then_edited(*args: Any) -> Any:
        found = fingerprint(*args)
        path = repo_catalogue / PRODUCT
        path.write_text(path.read_text("utf-8").replace("en: 1-year time deposit}", "en: One-year deposit}", 1),
                        "utf-8")
        return found

    monkeypatch.setattr(building, "_fingerprint", then_edited)
    indexed = build([repo_catalogue], tmp_path / "indexed" / "build", Options(release_date=RELEASE))
    monkeypatch.setattr(building, "_fingerprint", fingerprint)
    plain = build([repo_catalogue], tmp_path / "plain" / "build", Options(release_date=RELEASE, cache=None))
    assert indexed.manifest is not None and plain.manifest is not None
    assert indexed.manifest["documents"] == plain.manifest["documents"]


def _dropping(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names each commit drops from its stage: written there, then not part of the build."""
    from productkit.output import Stage

    dropped: list[str] = []
    drop = Stage._drop_unlisted

    def counting(stage: Stage, listed: set[str], linked: set[str]) -> None:
        names = [p.relative_to(stage.folder).as_posix() for p in stage.folder.rglob("*") if p.is_file()]
        dropped.extend(n for n in names if n not in listed or n in linked)
        drop(stage, listed, linked)

    monkeypatch.setattr(Stage, "_drop_unlisted", counting)
    return dropped


def test_a_product_its_change_may_concern_is_checked_but_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks of a change look at every product it may concern (here: the product's line
    uses the component's first version, which the product replaces by its second); a product
    whose own inputs did not change is checked again and kept, not compiled and dropped."""
    from casekit import valid_cases

    root = next(c for c in valid_cases() if c.name == "inherited_step_replaced_in_place").install(tmp_path / "cat")
    first = root / "components" / "open.yaml"
    text = first.read_text("utf-8")
    second = text.replace("\nversion: 1.0.0\n", "\nversion: 2.0.0\n", 1)
    (root / "components" / "open-2.yaml").write_text(second, "utf-8")
    product = root / "products" / "product.yaml"
    product.write_text(product.read_text("utf-8").replace("use: core.open-deposit@^1", "use: core.open-deposit@^2"),
                       "utf-8")
    dropped = _dropping(monkeypatch)
    monkeypatch.chdir(tmp_path)
    cold = _both(root, tmp_path)
    _same(*cold, tmp_path, "cold")
    assert cold[0].compiled == ["deposit.time-1y@1.0.0"]
    first.write_text(text.replace("en: Open deposit}", "en: Open a deposit}"), "utf-8")
    again = _both(root, tmp_path)
    _same(*again, tmp_path, "the first version edited")
    assert again[0].compiled == [] and again[0].reused == ["deposit.time-1y@1.0.0"] and not again[0].failed()
    assert dropped == []


def test_a_build_emits_only_the_products_it_writes(repo_catalogue: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Along the sequence of edits, nothing is written into the stage to be dropped."""
    dropped = _dropping(monkeypatch)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "build"
    assert not build([repo_catalogue], out, Options(release_date=RELEASE)).failed()
    for rel, text in _edits(repo_catalogue):
        apply_edit(repo_catalogue, rel, text)
        build([repo_catalogue], out, Options(release_date=RELEASE))
        assert dropped == [], rel
