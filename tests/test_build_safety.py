"""`build` never moves or deletes what it did not create, never ships an empty build by
accident, keeps what a selection leaves out, and seals (and signs) everything it writes."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from productkit import cli
from productkit.build import Release, build
from productkit.options import Options
from productkit.runtime import Catalog, CatalogError
from productkit.runtime.seal import generate_key_pair, manifest_digest

CASES = Path(__file__).resolve().parent / "cases" / "valid"
RELEASE = dt.date(2026, 9, 30)
OPTS = Options(release_date=RELEASE, cache=None)
RUN = CliRunner()


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    root = tmp_path / "cat"
    shutil.copytree(CASES / "deposit_line", root)
    one = root / "products" / "one-year.yaml"
    two = one.with_name("two-year.yaml")
    two.write_text(one.read_text("utf-8").replace("deposit.time-1y", "deposit.time-2y"), "utf-8")
    return root


def _tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _codes(result: object) -> list[str]:
    return [d.code for d in result.diagnostics]  # type: ignore[attr-defined]


def _products(out: Path) -> list[str]:
    return [p["id"] for p in json.loads((out / "manifest.json").read_text("utf-8"))["products"]]


@pytest.mark.parametrize("where", ["file", "source folder", "catalogue root", "foreign folder", "inside products",
                                   "link elsewhere"])
def test_out_must_be_new_or_a_build(catalogue: Path, tmp_path: Path, where: str) -> None:
    foreign = tmp_path / "data"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("precious", "utf-8")
    (tmp_path / "notes.txt").write_text("precious", "utf-8")
    (tmp_path / "link").symlink_to(foreign)
    out = {"file": tmp_path / "notes.txt", "source folder": catalogue / "products", "catalogue root": catalogue,
           "foreign folder": foreign, "inside products": catalogue / "products" / "out",
           "link elsewhere": tmp_path / "link"}[where]
    before = (_tree(tmp_path), sorted(p.name for p in tmp_path.iterdir()))
    result = build([catalogue], out, OPTS)
    assert _codes(result) == ["PK505"] and result.failed()
    assert (_tree(tmp_path), sorted(p.name for p in tmp_path.iterdir())) == before


def test_a_previous_build_and_a_new_path_are_accepted(catalogue: Path, tmp_path: Path) -> None:
    out = tmp_path / "new" / "build"
    assert not build([catalogue], out, OPTS).failed()
    assert (out / ".productkit-build").is_file() and out.is_symlink()
    assert not build([catalogue], out, Options(release_date=dt.date(2026, 10, 8), cache=None)).failed()


def test_a_selection_that_matches_nothing_is_an_error(catalogue: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    build([catalogue], out, OPTS)
    before = _tree(out.resolve())
    result = build([catalogue], out, OPTS, select=["deposit.time-1y", "deposit.tim-3y"])
    assert _codes(result) == ["PK506"] and "deposit.tim-3y" in result.diagnostics[0].message
    assert _tree(out.resolve()) == before


def test_a_selective_build_keeps_the_products_it_did_not_select(catalogue: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    build([catalogue], out, OPTS)
    assert _products(out) == ["deposit.time-1y", "deposit.time-2y"]
    kept = (out / "definitions" / "deposit.time-1y@1.0.0.json").read_bytes()
    for name in ("one-year.yaml", "two-year.yaml"):  # both change; only one is selected
        path = catalogue / "products" / name
        path.write_text(path.read_text("utf-8") + "\n", "utf-8")
    result = build([catalogue], out, OPTS, select=["deposit.time-2y"])
    assert not result.failed() and _products(out) == ["deposit.time-1y", "deposit.time-2y"]
    assert (result.compiled, result.reused) == (["deposit.time-2y@1.0.0"], ["deposit.time-1y@1.0.0"])
    assert (out / "definitions" / "deposit.time-1y@1.0.0.json").read_bytes() == kept
    Catalog.load(out)


def test_an_inherited_tampered_file_is_compiled_again_not_resealed(catalogue: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    build([catalogue], out, OPTS)
    form = next((out / "forms" / "deposit.time-2y@1.0.0").glob("*.json"))
    good = form.read_bytes()
    form.write_bytes(good.replace(b'"title"', b'"Title"', 1))  # an edit the manifest did not seal
    one = catalogue / "products" / "one-year.yaml"
    one.write_text(one.read_text("utf-8") + "\n", "utf-8")  # something changed: not up to date
    result = build([catalogue], out, OPTS)
    assert "PK507" in _codes(result) and not result.failed()
    assert (out / form.relative_to(out)).read_bytes() == good
    Catalog.load(out)


def test_an_up_to_date_check_does_not_trust_a_damaged_build(catalogue: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    build([catalogue], out, OPTS)
    definition = next((out / "definitions").iterdir())
    definition.unlink()
    again = build([catalogue], out, OPTS)
    assert not again.up_to_date and not again.failed()
    Catalog.load(out)
    (out / "definitions" / "stray.json").write_text("{}", "utf-8")
    assert not build([catalogue], out, OPTS).up_to_date


def test_readers_never_see_a_build_vanish_during_rebuilds(catalogue: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    build([catalogue], out, OPTS)
    failures: list[str] = []
    loads = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal loads
        while not stop.is_set():
            try:
                Catalog.load(out)
                loads += 1
            except CatalogError as exc:
                failures.append(str(exc))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for day in range(1, 9):
            assert not build([catalogue], out, Options(release_date=dt.date(2026, 10, day), cache=None)).failed()
    finally:
        stop.set()
        thread.join()
    assert failures == [] and loads > 0


def _signed(catalogue: Path, tmp_path: Path) -> tuple[Path, bytes]:
    private, public = generate_key_pair()
    out = tmp_path / "b"
    assert not build([catalogue], out, OPTS, release=Release(sign=private)).failed()
    return out, public


def _reseal(out: Path, edit: object) -> None:
    path = out / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    edit(manifest)  # type: ignore[operator]
    manifest["digest"] = manifest_digest(manifest)
    path.write_text(json.dumps(manifest), "utf-8")


def _codes_of_load(out: Path, keys: list[bytes]) -> list[str]:
    with pytest.raises(CatalogError) as refused:
        Catalog.load(out, trusted_keys=keys)
    return sorted({p.code for p in refused.value.problems})


def test_a_signed_build_loads_with_its_key_and_nothing_else(catalogue: Path, tmp_path: Path) -> None:
    out, public = _signed(catalogue, tmp_path)
    assert Catalog.load(out, trusted_keys=[public]).digest
    _, stranger = generate_key_pair()
    assert _codes_of_load(out, [stranger]) == ["PK613"]


def test_an_unsigned_build_is_refused_when_keys_are_trusted(catalogue: Path, tmp_path: Path) -> None:
    _, public = generate_key_pair()
    out = tmp_path / "b"
    build([catalogue], out, OPTS)
    Catalog.load(out)  # without trusted keys the seals alone are checked
    assert _codes_of_load(out, [public]) == ["PK612"]


def test_a_resealed_edit_breaks_the_signature(catalogue: Path, tmp_path: Path) -> None:
    out, public = _signed(catalogue, tmp_path)
    _reseal(out, lambda m: m.update(release_date="2027-01-01"))
    Catalog.load(out)  # the checksum alone is fooled by a reseal...
    assert _codes_of_load(out, [public]) == ["PK613"]  # ...the signature is not


def test_the_release_date_is_sealed(catalogue: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    build([catalogue], out, OPTS)
    path = out / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    assert manifest["release_date"] == "2026-09-30"
    path.write_text(json.dumps({**manifest, "release_date": "2027-09-30"}), "utf-8")
    with pytest.raises(CatalogError) as refused:
        Catalog.load(out)
    assert [p.code for p in refused.value.problems] == ["PK603"]


def test_an_unlisted_file_is_refused(catalogue: Path, tmp_path: Path) -> None:
    out, public = _signed(catalogue, tmp_path)
    (out / "definitions" / "extra@9.9.9.json").write_text("{}", "utf-8")
    assert _codes_of_load(out, [public]) == ["PK614"]


def test_keygen_and_sign_on_the_command_line(catalogue: Path, tmp_path: Path) -> None:
    key = tmp_path / "release.key"
    made = RUN.invoke(cli.app, ["keygen", "--out", str(key)])
    assert made.exit_code == 0, made.output
    assert key.stat().st_mode & 0o077 == 0
    assert RUN.invoke(cli.app, ["keygen", "--out", str(key)]).exit_code == 2  # never overwrites
    out = tmp_path / "b"
    built = RUN.invoke(cli.app, ["build", str(catalogue), "--out", str(out), "--sign", str(key), "--no-cache"])
    assert built.exit_code == 0, built.output
    Catalog.load(out, trusted_keys=[(tmp_path / "release.key.pub").read_bytes()])
    bad = RUN.invoke(cli.app, ["build", str(catalogue), "--out", str(out), "--sign", str(key) + ".pub"])
    assert bad.exit_code == 2 and "private key" in bad.output


_NAME_PART = st.sampled_from(["forms", "a@1.0.0", "x.json", "", ".", "..", "/", "b\x00", "中"])


@given(st.lists(_NAME_PART, min_size=1, max_size=4).map("/".join))
def test_a_stage_places_a_file_inside_the_build_or_refuses_it(name: str) -> None:
    """Where a build file goes in the stage: its plain name under the stage folder, as pathlib
    joins it, or a refusal for a name that would leave the build."""
    from productkit.output import Stage

    folder = Path("/store/.tmp-build")
    stage = Stage(Path("/out"), Path("/store"), folder, 0.0)
    joined = folder / name
    leaves = name.startswith("/") or ".." in Path(name).parts or not joined.is_relative_to(folder)
    if leaves:
        with pytest.raises(ValueError, match="leaves the build"):
            stage.path(name)
    else:
        assert stage.path(name) == joined


def test_a_commit_holds_what_it_lists_and_nothing_written_before(tmp_path: Path) -> None:
    """What was written into the stage (by this process or a worker) and is not listed, and what
    the commit links from the previous build instead, is not part of the committed build."""
    from productkit.output import MARKER, staged_build, write_build

    previous = write_build(tmp_path / "out", {"forms/p@1.0.0/web.json": b"old", "keep.json": b"kept"})
    with staged_build(tmp_path / "out") as stage:
        stage.write("forms/p@1.0.0/web.json", b"new")
        stage.write("forms/dropped@1.0.0/web.json", b"made, then not used")
        stage.write("keep.json", b"written, then linked instead")
        stage.write("top.json", b"also made and dropped")
        folder = stage.commit({"forms/p@1.0.0/web.json": b"new", "keep.json": b"kept", "extra.json": b"x"},
                              {"keep.json": previous / "keep.json"}, staged={"forms/p@1.0.0/web.json"})
    files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert files == {"forms/p@1.0.0/web.json": b"new", "keep.json": b"kept", "extra.json": b"x",
                     MARKER: (folder / MARKER).read_bytes()}
    assert (folder / "keep.json").stat().st_ino == (previous / "keep.json").stat().st_ino


def test_a_build_is_committed_even_when_tidying_after_it_fails(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the link points at the new build, a failure to record or remove retired builds is
    not a failure to write the build: it is current, and the next build tidies."""
    from productkit import output

    write = output.write_build
    first = write(tmp_path / "out", {"a.json": b"1"})

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "_save_retired", full)
    second = write(tmp_path / "out", {"a.json": b"2"})
    assert (tmp_path / "out").resolve() == second.resolve() != first.resolve()
    assert (tmp_path / "out" / "a.json").read_bytes() == b"2"
