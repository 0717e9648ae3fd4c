"""Nothing outside the catalogue is read: links out are refused unread, the root is never an
unrelated ancestor, file names that are not UTF-8 are located errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from casekit import valid_cases
from productkit.options import Options
from productkit.report import render
from productkit.sources import find_root
from productkit.validate import validate

SECRET = "TOP-SECRET-7f3a"


def _catalogue(tmp_path: Path) -> Path:
    root = next(c for c in valid_cases() if c.name == "deposit_line").install(tmp_path / "cat")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "s.yaml").write_text(f"apiVersion: productkit/v1\nkind: Product\nid: {SECRET}\n", encoding="utf-8")
    return root


@pytest.mark.parametrize("where", ["products/link.yaml", "components/sub/link.yaml", "products/linked-folder"])
def test_links_out_of_the_catalogue_are_refused_unread(tmp_path: Path, where: str) -> None:
    root = _catalogue(tmp_path)
    link = root / where
    link.parent.mkdir(parents=True, exist_ok=True)
    target = tmp_path / "outside" / ("s.yaml" if where.endswith(".yaml") else "")
    link.symlink_to(target)
    result = validate([root], Options(cache=None))
    found = [d for d in result.diagnostics if d.location.file.endswith(where)]
    assert [d.code for d in found] == ["PK015"]
    for fmt in ("text", "json", "sarif", "github"):
        assert SECRET not in render(result.diagnostics, fmt)


@pytest.mark.parametrize("cache", [None, "auto"])
@pytest.mark.parametrize("target", ["outside/s.yaml", "/dev/zero"])
def test_a_link_out_named_alone_is_refused_as_in_the_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               target: str, cache: str | None) -> None:
    """A file named on the command line belongs to the catalogue it is in, not to where its link
    leads: the same refusal, code and place as when the catalogue is walked, and nothing read."""
    monkeypatch.setenv("PRODUCTKIT_CACHE_DIR", str(tmp_path / "user-cache"))
    root = _catalogue(tmp_path)
    link = root / "products" / "link.yaml"
    link.symlink_to(target if target.startswith("/") else tmp_path / target)
    monkeypatch.chdir(root)
    whole = [d for d in validate([root], Options(cache=cache)).diagnostics if d.location.file.endswith("link.yaml")]
    for given in (Path("products/link.yaml"), link):
        alone = validate([given], Options(cache=cache))
        assert [(d.code, d.location.file) for d in alone.diagnostics] == [("PK015", "products/link.yaml")]
        assert [d.code for d in whole] == ["PK015"]
        assert SECRET not in render(alone.diagnostics, "text")


@pytest.mark.parametrize("cache", [None, "auto"])
def test_a_file_reached_through_a_linked_folder_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   cache: str | None) -> None:
    """A link above the file (a linked sub-folder, a linked source folder) leads out as surely as
    a link to the file: one PK015 where the file was named, nothing of it read."""
    monkeypatch.setenv("PRODUCTKIT_CACHE_DIR", str(tmp_path / "user-cache"))
    root = _catalogue(tmp_path)
    (root / "products" / "sub").symlink_to(tmp_path / "outside")
    monkeypatch.chdir(root)
    alone = validate([Path("products/sub/s.yaml")], Options(cache=cache))
    assert [(d.code, d.location.file) for d in alone.diagnostics] == [("PK015", "products/sub/s.yaml")]
    assert SECRET not in render(alone.diagnostics, "text")
    (root / "products").rename(tmp_path / "moved")
    (root / "products").symlink_to(tmp_path / "moved")
    named = next((tmp_path / "moved").glob("*.yaml")).name
    linked = validate([Path("products") / named], Options(cache=cache))
    assert [(d.code, d.location.file) for d in linked.diagnostics] == [("PK015", f"products/{named}")]


@pytest.mark.parametrize("cache", [None, "auto"])
def test_a_dangling_link_named_alone_is_refused_as_in_the_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     cache: str | None) -> None:
    monkeypatch.setenv("PRODUCTKIT_CACHE_DIR", str(tmp_path / "user-cache"))
    root = _catalogue(tmp_path)
    (root / "products" / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    monkeypatch.chdir(root)
    whole = validate([root], Options(cache=cache)).diagnostics
    alone = validate([Path("products/gone.yaml")], Options(cache=cache)).diagnostics
    assert [d.code for d in whole if d.location.file.endswith("gone.yaml")] == ["PK015"]
    assert [(d.code, d.location.file) for d in alone] == [("PK015", "products/gone.yaml")]


@pytest.mark.parametrize("cache", [None, "auto"])
def test_a_file_named_by_any_path_to_it_reports_its_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              cache: str | None) -> None:
    """``..`` in the path, or a link to the catalogue: the file's problems are still its own
    (before, they were filtered out under the name given and the check passed)."""
    monkeypatch.setenv("PRODUCTKIT_CACHE_DIR", str(tmp_path / "user-cache"))
    root = _catalogue(tmp_path)
    product = next((root / "products").glob("one-year.yaml"))
    product.write_text(product.read_text("utf-8").replace("\nid: ", "\nid: BAD ", 1), "utf-8")
    (tmp_path / "alias").symlink_to(root)
    monkeypatch.chdir(root)
    for given in (Path("products/one-year.yaml"), Path("products/../products/one-year.yaml"),
                  tmp_path / "alias" / "products" / "one-year.yaml"):
        found = validate([given], Options(cache=cache)).diagnostics
        assert [(d.code, d.location.file) for d in found] == [("PK106", "products/one-year.yaml")], given


def test_a_link_out_is_refused_when_only_changed_files_are_loaded(tmp_path: Path) -> None:
    """The load of one changed file refuses a link out as the catalogue's walk does."""
    from productkit.loader import LoadLimits
    from productkit.sources import SourceCatalog, load_one

    root = _catalogue(tmp_path)
    link = root / "products" / "link.yaml"
    link.symlink_to(tmp_path / "outside" / "s.yaml")
    entry, problems = load_one(link, "products/link.yaml", LoadLimits(), SourceCatalog(root=root), None)
    assert entry is None and [(d.code, d.location.file) for d in problems] == [("PK015", "products/link.yaml")]


def test_a_linked_source_folder_is_refused(tmp_path: Path) -> None:
    root = _catalogue(tmp_path)
    (root / "products").rename(tmp_path / "outside" / "products")
    (root / "products").symlink_to(tmp_path / "outside" / "products")
    codes = {d.code for d in validate([root], Options(cache=None)).diagnostics}
    assert "PK015" in codes


def test_links_inside_the_catalogue_still_work(tmp_path: Path) -> None:
    root = _catalogue(tmp_path)
    (root / "shared").mkdir()
    product = next((root / "products").glob("one-year.yaml"))
    product.rename(root / "shared" / "one-year.yaml")
    product.symlink_to(root / "shared" / "one-year.yaml")
    assert validate([root], Options(cache=None)).diagnostics == []


def test_the_root_is_never_an_unrelated_ancestor(tmp_path: Path) -> None:
    _catalogue(tmp_path)
    inner = tmp_path / "cat" / "docs" / "notes"
    inner.mkdir(parents=True)
    assert find_root(inner) == inner  # not tmp_path/cat: docs/ is not a source folder
    assert find_root(tmp_path / "cat" / "products" / "x" / "y.yaml") == tmp_path / "cat"
    assert find_root(tmp_path / "cat") == tmp_path / "cat"
    result = validate([inner], Options(cache=None))
    assert result.catalog.files == [] and result.diagnostics == []


def test_a_file_name_that_is_not_utf8_is_a_located_error(tmp_path: Path) -> None:
    root = _catalogue(tmp_path)
    bad = os.fsencode(root / "products") + b"/bad\xff\xfe.yaml"
    with open(bad, "wb") as fh:
        fh.write(b"apiVersion: productkit/v1\n")
    result = validate([root], Options(cache=None))
    assert [d.code for d in result.diagnostics] == ["PK004"]
    assert result.diagnostics[0].location.file.endswith("bad\\xff\\xfe.yaml")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    for fmt in ("text", "json", "sarif", "github"):
        proc = subprocess.run([sys.executable, "-m", "productkit", "validate", str(root), "-f", fmt],
                              capture_output=True, env=env, timeout=120)
        assert proc.returncode == 1 and b"PK004" in proc.stdout and b"PK900" not in proc.stderr
