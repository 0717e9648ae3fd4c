"""``productkit validate`` through the check index reports exactly what a validation without any
cache reports, after every edit of a sequence (a product, a line, a component, a dictionary, broken
YAML, files removed, added and bumped), for the whole catalogue and for the edited file alone; and
it re-checks only what an edit can affect."""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path

import pytest

from productkit import checkindex
from productkit.cache import Cache, open_cache
from productkit.diagnostics import Diagnostic, diagnostic_to_data
from productkit.options import Options
from productkit.validate import validate
from test_lsp_session import COMPONENT, DICTIONARY, EDITS, PRODUCT, apply_edit


@pytest.fixture()
def catalogue(repo_catalogue: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PRODUCTKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return repo_catalogue


def _data(found: list[Diagnostic]) -> list[object]:
    return [diagnostic_to_data(d) for d in found]


def _uncached(*paths: Path) -> list[object]:
    return _data(validate(list(paths), Options(cache=None)).diagnostics)


def _indexed(*paths: Path) -> tuple[list[object], bool]:
    """The diagnostics through the index, and whether the catalogue was loaded whole."""
    result = validate(list(paths), Options(), replay=True)
    return _data(result.diagnostics), result.replayed is None


def _clock_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    """Surveys start a few seconds later than they do: every file there is old enough for its
    stamp to be trusted (a file changed within a time stamp's tick of a survey is not)."""
    monkeypatch.setattr("productkit.validate.now_ns", lambda: time.time_ns() + 3_000_000_000)


def test_every_edit_reports_what_a_validation_without_cache_reports(catalogue: Path) -> None:
    clean, whole = _indexed(catalogue)
    assert whole and clean == _uncached(catalogue)
    assert _indexed(catalogue) == (clean, False)  # nothing changed: replayed, nothing loaded
    seen: set[str] = set()
    for rel, text in EDITS:
        path = apply_edit(catalogue, rel, text)
        if text is not None:  # the edited file alone first, as a pre-commit hook asks
            alone, whole = _indexed(path)
            assert alone == _uncached(path), rel
        found, again = _indexed(catalogue)
        expected = _uncached(catalogue)
        assert found == expected, rel
        whole = whole if text is not None else again
        dictionary = "parameters/" in rel or "data/" in rel
        assert whole == dictionary, rel  # only a dictionary edit validates the whole catalogue
        assert not again or text is None, rel  # the run after it had the index
        seen |= {str(d[0]) for d in expected if isinstance(d, list)}
    assert {"PK202", "PK203", "PK005", "PK201", "PK223", "PK216", "PK218"} <= seen
    assert _indexed(catalogue)[0] == clean


def test_an_edit_rechecks_only_the_products_it_can_affect(catalogue: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _indexed(catalogue)
    loaded: list[str] = []
    original = checkindex.Loader.__call__

    def spy(self: checkindex.Loader, name: str) -> object:
        if name not in self.entries:
            loaded.append(name)
        return original(self, name)

    monkeypatch.setattr(checkindex.Loader, "__call__", spy)
    rel, text = EDITS[0]
    assert text is not None
    (catalogue / rel).write_text(text, encoding="utf-8")
    found, whole = _indexed(catalogue / rel)
    assert not whole and any(isinstance(d, list) and d[0] == "PK202" for d in found)
    total = sum(1 for _ in catalogue.rglob("*.yaml"))
    assert PRODUCT in {Path(n).relative_to(catalogue.name).as_posix() for n in loaded}
    assert len(loaded) < total / 3, f"loaded {len(loaded)} of {total} documents"


def test_a_recheck_holds_collection_off_and_gives_it_back(catalogue: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The few documents a re-check loads and the checks it imports live on: collection is held
    off while it runs (see productkit._gcpause) and is on again after it, as it was before."""
    _indexed(catalogue)
    states: list[bool] = []
    original = checkindex.Loader.__call__

    def spy(self: checkindex.Loader, name: str) -> object:
        states.append(gc.isenabled())
        return original(self, name)

    monkeypatch.setattr(checkindex.Loader, "__call__", spy)
    rel, text = EDITS[0]
    assert text is not None
    (catalogue / rel).write_text(text, encoding="utf-8")
    assert gc.isenabled()
    _, whole = _indexed(catalogue / rel)
    assert not whole and states and not any(states)
    assert gc.isenabled()


def test_a_change_that_keeps_size_and_mtime_is_still_seen(catalogue: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stamp holds the inode change time too, which a program cannot set back."""
    _clock_ahead(monkeypatch)
    _indexed(catalogue)
    index = checkindex.Index.read(*_where(catalogue))
    assert index is not None and all(len(v) == 5 for v in index.files.values())  # every stamp trusted
    time.sleep(0.05)  # a later tick of the file system's clock
    path = catalogue / PRODUCT
    text = path.read_text(encoding="utf-8")
    st = path.stat()
    path.write_text(text.replace("    use: notify.app-push@^1\n", "    use: notify.app-pxsh@^1\n", 1), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size
    assert _indexed(catalogue)[0] == _uncached(catalogue) != []


def test_a_file_changed_just_before_the_survey_is_read_again(catalogue: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A file changed within a time stamp's tick of the survey is not trusted by its stamp (it may
    change again with the same stamp); the others are."""
    _clock_ahead(monkeypatch)
    path = catalogue / PRODUCT
    later = time.time_ns() + 3_000_000_000
    os.utime(path, ns=(later, later))  # as if changed at the survey's start
    _indexed(catalogue)
    index = checkindex.Index.read(*_where(catalogue))
    assert index is not None
    name = os.path.relpath(path)
    assert len(index.files[name]) == 1  # its sha256, no stamp
    assert all(len(v) == 5 for n, v in index.files.items() if n != name)


def _where(root: Path) -> tuple[Cache, Path, str]:
    from productkit.validate import index_context

    cache = open_cache("auto")
    assert cache is not None
    return cache, root, index_context(root, Options())


def test_a_dictionary_edit_checks_the_whole_catalogue(catalogue: Path) -> None:
    _indexed(catalogue)
    (catalogue / DICTIONARY).write_text((catalogue / DICTIONARY).read_text("utf-8") + "\n# note\n", "utf-8")
    found, whole = _indexed(catalogue)
    assert whole and found == _uncached(catalogue)


def test_a_guess_among_every_id_follows_ids_that_come_and_go(catalogue: Path) -> None:
    """A reference to a missing id hints at the nearest id of the whole catalogue: an id added
    or removed anywhere re-checks the files with such a hint."""
    path = catalogue / PRODUCT
    path.write_text(path.read_text("utf-8").replace("use: notify.app-push@^1", "use: zqzq.widgetx@^1"), "utf-8")
    _indexed(catalogue)
    source = (catalogue / COMPONENT).read_text("utf-8")
    near = catalogue / "components" / "process" / "notify" / "zq.yaml"
    near.write_text(source.replace("id: notify.app-push", "id: zqzq.widget"), "utf-8")
    found, whole = _indexed(catalogue)
    assert not whole and found == _uncached(catalogue)
    assert any(isinstance(d, list) and d[0] == "PK202" and "zqzq.widget'" in str(d[5]) for d in found)
    near.unlink()
    assert _indexed(catalogue)[0] == _uncached(catalogue)


def test_a_replay_reads_the_head_alone_and_a_lost_body_means_a_whole_run(catalogue: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing changed: the index's head (stamps, keys, findings) is all that is read. A change
    needs the body (references, inputs, digests); a body that is gone, or was written by another
    run than the head, is never mixed with it: the catalogue is validated whole, with the same
    findings."""
    from productkit.cache import Cache as CacheType

    clean, _ = _indexed(catalogue)
    read: list[str] = []
    original = CacheType.get

    def get(self: CacheType, namespace: str, name: str, key: str) -> object:
        read.append(namespace)
        return original(self, namespace, name, key)

    monkeypatch.setattr(CacheType, "get", get)
    assert _indexed(catalogue) == (clean, False)
    assert checkindex.BODY_NAMESPACE not in read and checkindex.NAMESPACE in read
    cache, root, context = _where(catalogue)
    head = checkindex.Index.read(cache, root, context)
    assert head is not None
    body = cache.get(checkindex.BODY_NAMESPACE, str(root.absolute()), context)
    assert isinstance(body, dict) and head.findings() is not None
    cache.put(checkindex.BODY_NAMESPACE, str(root.absolute()), context, {**body, "token": "another run"})
    assert head.findings() is None
    apply_edit(catalogue, PRODUCT, (catalogue / PRODUCT).read_text("utf-8").replace(
        "    use: notify.app-push@^1\n", "    use: notify.app-pxsh@^1\n", 1))
    found, whole = _indexed(catalogue)
    assert whole and found == _uncached(catalogue) != clean


def test_a_product_edit_loads_only_the_dictionaries_it_looks_up(catalogue: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The names each dictionary declares are recorded with the index: a re-check loads a
    dictionary document when one of its parameters is looked up, and reports the same."""
    _indexed(catalogue)
    loaded: list[str] = []
    original = checkindex.Loader.__call__

    def spy(self: checkindex.Loader, name: str) -> object:
        if name not in self.entries:
            loaded.append(Path(name).relative_to(catalogue.name).as_posix())
        return original(self, name)

    monkeypatch.setattr(checkindex.Loader, "__call__", spy)
    path = catalogue / PRODUCT
    path.write_text(path.read_text("utf-8") + "\n", encoding="utf-8")
    found, whole = _indexed(path)
    assert not whole and found == _uncached(path)
    dictionaries = {p.relative_to(catalogue).as_posix() for p in (catalogue / "components" / "parameters").glob("*")}
    assert PRODUCT in loaded and 0 < len(dictionaries & set(loaded)) < len(dictionaries), loaded


def test_the_survey_names_files_as_messages_do_with_the_working_folder_at_the_root(
        repo_catalogue: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A container's working folder is often ``/``: the survey's names are still display_name's,
    the names the index records (else every run would validate the whole catalogue)."""
    from productkit.loader import LoadLimits
    from productkit.sources import display_name

    monkeypatch.chdir("/")
    files = sorted(repo_catalogue.rglob("*.yaml"))[:3]
    found = checkindex.survey([os.fspath(f) for f in files], LoadLimits(), None, 0)
    assert found is not None and list(found.shas) == [display_name(p) for p in files]
    assert all(not name.startswith("/") for name in found.shas)
