"""An incremental build whose previous build's files were checked and linked into the stage by a
forked child (productkit._prelink) is, file for file and finding for finding, the build made
without the child: a changed, a removed, a tampered product, versions kept in flight, a child
that fails half-way."""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import productkit._prelink as prelink
import productkit.build as build_module
from productkit.build import BuildResult, Release, build
from productkit.cache import open_cache
from productkit.options import Options
from productkit.runtime import Catalog

OPTS = Options(release_date=dt.date(2026, 9, 30), cache=None)


def _tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _manifest(out: Path) -> dict[str, Any]:
    """The manifest less what names the build's own folder (PK507 says which previous build)."""
    manifest = json.loads((out / "manifest.json").read_bytes())
    for found in manifest["build"]["diagnostics"]:
        if found["code"] == "PK507":
            found["file"] = "<the previous build>"
    return {k: v for k, v in manifest.items() if k != "digest"}


def _touch(root: Path, product: str) -> None:
    """An edit of a product's file that changes its bytes, not its content."""
    path = _product_file(root, product)
    path.write_text(path.read_text("utf-8") + "\n", "utf-8")


def _empty_folders(path: Path) -> list[str]:
    return [top for top, dirs, files in os.walk(path) if not dirs and not files]


def _product_file(root: Path, product: str) -> Path:
    return next(p for p in sorted((root / "products").rglob("*.yaml"))
                if f"id: {product}\n" in p.read_text("utf-8"))


@pytest.fixture
def linked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every build links through the child; the number of files each child linked is recorded
    (a test that meant to use the child and did not fails on it). Threads other tests left in
    this process (servers) would keep the build from forking; the child touches nothing of
    theirs, so they are not counted here."""
    monkeypatch.setattr(prelink, "PRELINK_MIN", 0)
    monkeypatch.setattr("productkit._prelink.threading.active_count", lambda: 1)
    counts: list[int] = []
    take = build_module._take_links

    def spy(linker: prelink.Linker, previous: Any, stage: Any) -> None:
        take(linker, previous, stage)
        counts.append(len(stage.prelinked))

    monkeypatch.setattr(build_module, "_take_links", spy)
    return counts


def _twice(tmp_path: Path, root: Path, change: Callable[[Path, Path], None], options: Options = OPTS,
           release: Release = Release(), use_child: Callable[[bool], None] | None = None,
           select: list[str] | None = None
           ) -> tuple[tuple[BuildResult, Path], tuple[BuildResult, Path]]:
    """The same first build and change, rebuilt with the child (first) and without (second)."""
    out = []
    for child in (True, False):
        where = tmp_path / ("with" if child else "without")
        cat, target = where / "cat", where / "build"
        shutil.copytree(root, cat)
        assert not build([cat], target, options, release=release).failed()
        change(cat, target)
        if use_child is not None:
            use_child(child)
        out.append((build([cat], target, options, select=select or (), release=release), target))
    return out[0], out[1]


def _same(one: tuple[BuildResult, Path], two: tuple[BuildResult, Path]) -> None:
    (a, a_out), (b, b_out) = one, two
    assert (a.compiled, a.reused) == (b.compiled, b.reused)
    assert [d.code for d in a.diagnostics] == [d.code for d in b.diagnostics]
    files = _tree(a_out)
    assert {n: files[n] for n in files if n != "manifest.json"} == {n: d for n, d in _tree(b_out).items()
                                                                    if n != "manifest.json"}
    assert _manifest(a_out) == _manifest(b_out)
    assert not _empty_folders(a_out.resolve())
    Catalog.load(a_out)


def _switch(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    monkeypatch.setattr("productkit._prelink.threading.active_count", lambda: 1)  # see the linked fixture
    return lambda on: monkeypatch.setattr(prelink, "PRELINK_MIN", 0 if on else 10**9)


def test_a_changed_product_is_compiled_and_the_rest_linked(repo_catalogue: Path, tmp_path: Path,
                                                           linked: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    def change(cat: Path, _: Path) -> None:
        path = _product_file(cat, "deposit.time-1y")
        path.write_text(path.read_text("utf-8").replace("\nid: deposit.time-1y\n", "\nid: deposit.time-1y\n\n"),
                        "utf-8")

    one, two = _twice(tmp_path, repo_catalogue, change, use_child=_switch(monkeypatch))
    _same(one, two)
    assert one[0].compiled == ["deposit.time-1y@1.0.0"] and len(one[0].reused) > 5
    assert len(linked) == 1 and linked[0] > 20  # every file of every product, the changed one's too


def test_a_removed_product_leaves_nothing_behind(repo_catalogue: Path, tmp_path: Path, linked: list[int],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def change(cat: Path, out: Path) -> None:
        _product_file(cat, "deposit.time-1y").unlink()

    one, two = _twice(tmp_path, repo_catalogue, change, use_child=_switch(monkeypatch))
    _same(one, two)
    assert not any("deposit.time-1y@" in name for name in _tree(one[1]))
    assert linked and linked[0] > 20


def test_a_tampered_previous_file_is_not_linked_but_compiled_again(repo_catalogue: Path, tmp_path: Path,
                                                                    linked: list[int],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def change(cat: Path, out: Path) -> None:
        form = next((out / "forms" / "deposit.time-1y@1.0.0").glob("*.json"))
        form.write_bytes(form.read_bytes().replace(b'"title"', b'"Title"', 1))  # not what the manifest sealed
        _touch(cat, "deposit.time-3y")  # something changed: not up to date

    one, two = _twice(tmp_path, repo_catalogue, change, use_child=_switch(monkeypatch))
    _same(one, two)
    assert "PK507" in [d.code for d in one[0].diagnostics]
    assert "deposit.time-1y@1.0.0" in one[0].compiled and linked


def test_versions_kept_in_flight_are_linked(repo_catalogue: Path, tmp_path: Path, linked: list[int],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def change(cat: Path, _: Path) -> None:
        path = _product_file(cat, "deposit.time-1y")
        path.write_text(path.read_text("utf-8").replace("\nversion: 1.0.0\n", "\nversion: 1.1.0\n"), "utf-8")

    one, two = _twice(tmp_path, repo_catalogue, change, release=Release(keep_versions=1),
                      use_child=_switch(monkeypatch))
    _same(one, two)
    assert "deposit.time-1y@1.0.0" in one[0].reused and "deposit.time-1y@1.1.0" in one[0].compiled
    assert len(linked) == 1 and linked[0] > 20


@pytest.mark.parametrize("half", [False, True], ids=["fails-at-once", "fails-half-way"])
def test_a_failing_child_leaves_the_build_to_do_the_work(repo_catalogue: Path, tmp_path: Path, linked: list[int],
                                                         monkeypatch: pytest.MonkeyPatch, half: bool) -> None:
    real = prelink._link_all

    def failing(work: prelink.Work, into: str, checked: prelink.Checked) -> dict[str, Any]:
        if half:  # some files linked into the stage, then the child dies
            real(work, into, checked[: len(checked) // 2])
        raise OSError("the child fails")

    def change(cat: Path, _: Path) -> None:
        _touch(cat, "deposit.time-1y")

    monkeypatch.setattr(prelink, "_link_all", failing)
    one, two = _twice(tmp_path, repo_catalogue, change, use_child=_switch(monkeypatch))
    _same(one, two)
    assert len(one[0].reused) > 5
    assert linked == [0]  # the child ran, failed, and the stage was emptied for the build to fill


def test_a_file_system_without_hard_links_keeps_products_all_the_same(
        repo_catalogue: Path, tmp_path: Path, linked: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """A file found as sealed that cannot be linked is copied at the commit, not compiled again."""
    def change(cat: Path, _: Path) -> None:
        _touch(cat, "deposit.time-1y")
        monkeypatch.setattr(os, "link", _no_link)  # for the rebuild: the child's links and the commit's

    one, two = _twice(tmp_path, repo_catalogue, change, use_child=_switch(monkeypatch))
    _same(one, two)
    assert one[0].compiled == ["deposit.time-1y@1.0.0"] and len(one[0].reused) > 5
    assert "PK507" not in [d.code for d in one[0].diagnostics] and linked == [0]


def _no_link(source: Any, target: Any, **_: Any) -> None:
    raise OSError(errno.EXDEV, "hard links are not supported here")


def test_the_links_stamps_are_carried_for_the_next_build(repo_catalogue: Path, tmp_path: Path, linked: list[int],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """With the user cache, each kept file's stamp in the new build is recorded, so the next
    build finds it sealed without reading it; the stamps are those of the files as they are."""
    options = dataclasses.replace(OPTS, cache=tmp_path / "cache")
    monkeypatch.setattr(build_module._Stamps, "SETTLED_NS", 0)  # every file counts as settled

    def change(cat: Path, _: Path) -> None:
        _touch(cat, "deposit.time-1y")

    one, two = _twice(tmp_path, repo_catalogue, change, options, use_child=_switch(monkeypatch))
    _same(one, two)
    folder = one[1].resolve()
    manifest = json.loads((folder / "manifest.json").read_bytes())
    cache = open_cache(options.cache)
    assert cache is not None
    recorded = cache.get("build-stamps", os.path.realpath(folder), manifest["digest"])
    kept = {n for n in _tree(one[1]) if "deposit.time-3y@" in n}
    assert isinstance(recorded, dict) and kept and kept <= set(recorded)
    for name in kept:
        st = os.lstat(folder / name)
        assert recorded[name] == [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]


def test_only_the_current_build_keeps_stamps_in_the_user_cache(repo_catalogue: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Each build lives in a folder of its own, and its stamps are kept under that folder's name:
    a committed build drops the entry of the build it retired, so the cache holds one entry per
    output however many builds were made, and that entry still spares the next build reading
    the files it keeps. A build that fails keeps the previous build's entry."""
    options = dataclasses.replace(OPTS, cache=tmp_path / "cache")
    monkeypatch.setattr(build_module._Stamps, "SETTLED_NS", 0)  # every file counts as settled
    out = tmp_path / "out"
    cache = open_cache(options.cache)
    assert cache is not None
    entries = cache.folder / cache.engine[:16] / "build-stamps"
    for n in range(4):
        _touch(repo_catalogue, "deposit.time-1y")
        made = build([repo_catalogue], out, options)
        assert made.out is not None and (n == 0 or made.compiled == ["deposit.time-1y@1.0.0"]), made.diagnostics
        if n == 0:  # the first build has no previous one to carry stamps from
            continue
        current = out.resolve()
        digest = json.loads((current / "manifest.json").read_bytes())["digest"]
        recorded = cache.get("build-stamps", os.path.realpath(current), digest)
        assert isinstance(recorded, dict) and len(recorded) > 10
        assert len(list(entries.iterdir())) == 1
    broken = _product_file(repo_catalogue, "deposit.time-1y")
    broken.write_text(broken.read_text("utf-8").replace("en: 1-year time deposit}", "en: [}", 1), "utf-8")
    failed = build([repo_catalogue], out, options)
    assert failed.out is None and out.resolve() == current
    assert len(list(entries.iterdir())) == 1
    assert cache.get("build-stamps", os.path.realpath(current), digest) == recorded


def test_a_previous_manifest_naming_a_file_outside_its_build_takes_nothing_from_it(
        repo_catalogue: Path, tmp_path: Path, linked: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """A manifest whose digest holds may still have been written by hand: an entry naming a file
    outside its build (sealed with that file's sha256) is compiled again, and nothing is read
    from, linked to or written at that place."""
    from productkit.runtime.seal import manifest_digest

    def change(cat: Path, out: Path) -> None:
        outside = out.parent / "outside.json"
        outside.write_bytes(b'{"not": "a definition"}\n')
        manifest_file = out.resolve() / "manifest.json"
        manifest = json.loads(manifest_file.read_bytes())
        entry = next(p for p in manifest["products"] if p["id"] == "deposit.time-3y")
        escape = "definitions/../../../outside.json"
        manifest["files"][escape] = "sha256:" + hashlib.sha256(outside.read_bytes()).hexdigest()
        entry["definition"] = escape
        manifest["digest"] = manifest_digest(manifest)
        manifest_file.write_bytes(json.dumps(manifest).encode())
        _touch(cat, "deposit.time-1y")

    one, two = _twice(tmp_path, repo_catalogue, change, use_child=_switch(monkeypatch))
    _same(one, two)
    for result, out in (one, two):
        assert "deposit.time-3y@1.0.0" in result.compiled
        outside = out.parent / "outside.json"
        assert outside.stat().st_nlink == 1 and outside.read_bytes() == b'{"not": "a definition"}\n'


def test_no_fork_to_be_had_leaves_the_build_to_do_the_work(repo_catalogue: Path, tmp_path: Path, linked: list[int],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A process limit or no memory for a fork is no reason to fail a build."""
    def change(cat: Path, _: Path) -> None:
        _touch(cat, "deposit.time-1y")

    def no_fork() -> int:
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    one, two = _twice(tmp_path, repo_catalogue, change, use_child=_switch(monkeypatch))
    _same(one, two)
    assert not one[0].failed() and len(one[0].reused) > 5 and linked == []


def test_a_removed_product_leaves_no_folder_without_hard_links(repo_catalogue: Path, tmp_path: Path,
                                                               linked: list[int],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The folders the child made for files it could not link go when those files do."""
    def change(cat: Path, _: Path) -> None:
        _product_file(cat, "deposit.time-1y").unlink()
        monkeypatch.setattr(os, "link", _no_link)

    one, two = _twice(tmp_path, repo_catalogue, change, use_child=_switch(monkeypatch))
    _same(one, two)  # no empty folder either
    assert not any("deposit.time-1y@" in name for name in _tree(one[1])) and linked == [0]


@pytest.mark.parametrize("child", [False, True], ids=["linked-by-the-build", "linked-by-a-child"])
def test_stamps_carried_hold_after_the_commit_removed_a_retired_build(repo_catalogue: Path, tmp_path: Path,
                                                                      linked: list[int],
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      child: bool) -> None:
    """A retired build removed by the commit held links to the kept files: their ctime changed
    after the child took their stamps, so they are taken again; what is recorded is what the
    files are (else the next build reads and hashes every kept file again)."""
    options = dataclasses.replace(OPTS, cache=tmp_path / "cache")
    monkeypatch.setattr(build_module._Stamps, "SETTLED_NS", 0)
    _switch(monkeypatch)(child)
    out, release = tmp_path / "build", Release(grace=0.0)
    for _ in range(5):  # from the fourth commit on, each removes a retired build
        _touch(repo_catalogue, "deposit.time-1y")
        assert not build([repo_catalogue], out, options, release=release).failed()
    folder = out.resolve()
    assert len([c for c in folder.parent.iterdir() if not c.name.startswith(".")]) < 5  # some were removed
    assert len(linked) == (4 if child else 0)  # every rebuild through the child, or none
    manifest = json.loads((folder / "manifest.json").read_bytes())
    cache = open_cache(options.cache)
    assert cache is not None
    recorded = cache.get("build-stamps", os.path.realpath(folder), manifest["digest"])
    kept = [n for n in _tree(out) if "deposit.time-3y@" in n]
    assert isinstance(recorded, dict) and kept and set(kept) <= set(recorded)
    for name in kept:
        st = os.lstat(folder / name)
        assert recorded[name] == [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns], name


def test_a_previous_manifest_naming_a_build_wide_file_as_a_product_file_takes_nothing(
        repo_catalogue: Path, tmp_path: Path, linked: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """A product entry naming the marker (or the manifest, a signature, openapi.json) as one of
    its files, its seal recomputed, is compiled again; the previous build's marker is never
    written into through a link."""
    from productkit.output import MARKER
    from productkit.runtime.seal import manifest_digest

    def change(cat: Path, out: Path) -> None:
        folder = out.resolve()
        marker = folder / MARKER
        manifest = json.loads((folder / "manifest.json").read_bytes())
        entry = next(p for p in manifest["products"] if p["id"] == "deposit.time-3y")
        entry["forms"].setdefault("extra", {})["web"] = MARKER
        manifest["files"][MARKER] = "sha256:" + hashlib.sha256(marker.read_bytes()).hexdigest()
        manifest["digest"] = manifest_digest(manifest)
        (folder / "manifest.json").write_bytes(json.dumps(manifest).encode())
        os.utime(marker, ns=(1, 1))
        _touch(cat, "deposit.time-1y")

    one, two = _twice(tmp_path, repo_catalogue, change, use_child=_switch(monkeypatch))
    _same(one, two)
    for result, out in (one, two):
        assert "deposit.time-3y@1.0.0" in result.compiled
        previous = next(c for c in out.resolve().parent.iterdir() if c != out.resolve() and not c.name.startswith("."))
        assert (previous / MARKER).stat().st_mtime_ns == 1  # as it was left


def test_a_selection_of_a_signed_build_with_and_without_the_child(repo_catalogue: Path, tmp_path: Path,
                                                                  linked: list[int],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from productkit.runtime.seal import generate_key_pair

    private, public = generate_key_pair()
    release = Release(sign=private)

    def change(cat: Path, _: Path) -> None:
        for product in ("deposit.time-1y", "deposit.time-3y"):
            _touch(cat, product)

    out = _twice(tmp_path, repo_catalogue, change, release=release, use_child=_switch(monkeypatch),
                 select=["deposit.time-3y"])
    _same(*out)
    Catalog.load(out[0][1], [public], verify="all")
    assert out[0][0].compiled == ["deposit.time-3y@1.0.0"] and linked and linked[0] > 20


def test_a_previous_product_folder_that_is_a_link_takes_nothing_through_it(
        repo_catalogue: Path, tmp_path: Path, linked: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder of the previous build replaced by a link to a copy elsewhere (every file still
    matching its seal) is not read through: its product is compiled again."""
    def change(cat: Path, out: Path) -> None:
        forms = out.resolve() / "forms" / "deposit.time-3y@1.0.0"
        elsewhere = out.parent / "elsewhere"
        shutil.copytree(forms, elsewhere)
        shutil.rmtree(forms)
        forms.symlink_to(elsewhere, target_is_directory=True)
        _touch(cat, "deposit.time-1y")

    one, two = _twice(tmp_path, repo_catalogue, change, use_child=_switch(monkeypatch))
    _same(one, two)
    for result, _ in (one, two):
        assert {"deposit.time-1y@1.0.0", "deposit.time-3y@1.0.0"} <= set(result.compiled)


def test_an_up_to_date_rebuild_stops_the_child_before_it_links_anything(repo_catalogue: Path, tmp_path: Path,
                                                                        linked: list[int],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The child starts checking before the build knows it has nothing to do: it is stopped then,
    having linked nothing (a link would change the files' ctime, and so make every recorded
    stamp stale), and it leaves no stage behind."""
    out = tmp_path / "build"
    assert not build([repo_catalogue], out, OPTS).failed()
    started: list[prelink.Linker | None] = []
    start = prelink._start

    def spy(work: prelink.Work) -> prelink.Linker | None:
        started.append(start(work))
        return started[-1]

    monkeypatch.setattr(prelink, "_start", spy)
    before = {n: os.lstat(out / n) for n in _tree(out)}
    again = build([repo_catalogue], out, OPTS)
    assert again.up_to_date and len(started) == 1 and started[0] is not None and started[0].reaped
    after = {n: os.lstat(out / n) for n in _tree(out)}
    assert {n: (s.st_nlink, s.st_ctime_ns) for n, s in after.items()} == \
        {n: (s.st_nlink, s.st_ctime_ns) for n, s in before.items()}
    assert linked == [] and not [p for p in out.resolve().parent.iterdir() if p.name.startswith(".tmp-")]


def test_a_build_retired_while_waiting_for_the_output_is_not_what_is_linked(
        repo_catalogue: Path, tmp_path: Path, linked: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """The child checks the build found before the output's lock is taken; when another build
    committed meanwhile, the files linked are the new previous build's (a child is started for
    it), and the build is the one made without a child."""
    real = build_module._previous

    def committed_meanwhile(out: Path, options: Options, before: Any = None) -> Any:
        return real(out, options)  # read afresh under the lock: not the build the child checked

    started: list[prelink.Work] = []
    start = prelink._start

    def spy(work: prelink.Work) -> prelink.Linker | None:
        started.append(work)
        return start(work)

    def change(cat: Path, _: Path) -> None:
        _touch(cat, "deposit.time-1y")
        monkeypatch.setattr(build_module, "_previous", committed_meanwhile)
        monkeypatch.setattr(prelink, "_start", spy)

    one, two = _twice(tmp_path, repo_catalogue, change, use_child=_switch(monkeypatch))
    _same(one, two)
    assert one[0].compiled == ["deposit.time-1y@1.0.0"] and len(linked) == 1 and linked[0] > 20
    assert len(started) == 2  # the first child stopped unused, a second one for the build found under the lock
