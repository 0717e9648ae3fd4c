"""The catalogue's walk gives its files in the order their paths sort, without sorting them.

The order decides which of two documents with one id is "first" in every message, and the
build's fingerprint and the check index go by it, so it must be the order of Path objects
(part by part), which is not the order of the paths as text: ``a/x.yaml`` sorts before
``a-b.yaml`` as a path, after it as text.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from productkit.sources import discover, discover_all, discover_names, path_order

# Names chosen around the separator: "-" and "." sort before "/", "0" and letters after it.
_PARTS = st.sampled_from(["a", "a-b", "a.b", "a b", "ab", "A", "a0", "z", "é", "_x", ".hidden"])
_FILES = st.lists(st.tuples(st.sampled_from(["components", "products"]),
                            st.lists(_PARTS, min_size=0, max_size=3),
                            st.sampled_from([".yaml", ".yml", ".scenario.yaml", ".txt"])),
                  min_size=1, max_size=25)


def _plant(root: Path, files: list[tuple[str, list[str], str]]) -> tuple[set[str], set[str]]:
    documents: set[str] = set()
    scenarios: set[str] = set()
    for top, folders, suffix in files:
        folder = root.joinpath(top, *folders)
        if folder.exists() and not folder.is_dir():
            continue  # a file already holds this name
        path = folder / f"f{suffix}"
        if path.is_dir():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text("kind: Product\n", encoding="utf-8")
        if any(part.startswith(".") for part in folders):
            continue  # dot-named folders are an editor's or a tool's: never read
        if suffix == ".scenario.yaml":
            scenarios.add(os.fspath(path))
        elif suffix in (".yaml", ".yml"):
            documents.add(os.fspath(path))
    return documents, scenarios


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=_FILES)
def test_the_walk_gives_paths_in_their_order(tmp_path_factory: object, files: list[tuple[str, list[str], str]]) -> None:
    root = tmp_path_factory.mktemp("catalogue").resolve()  # type: ignore[attr-defined]
    documents, scenarios = _plant(root, files)
    names = discover_names(root)
    assert set(names) == documents
    assert [Path(n) for n in names] == sorted(Path(n) for n in documents)
    assert discover(root) == sorted(map(Path, documents))
    found, scenario_paths = discover_all(root)
    assert found == names
    assert scenario_paths == sorted(map(Path, scenarios))


def test_path_order_is_the_order_of_paths_not_of_text() -> None:
    names = ["/c/a-b.yaml", "/c/a/x.yaml", "/c/a.yaml", "/c/a b/y.yaml"]
    assert sorted(names, key=path_order) == [str(p) for p in sorted(map(Path, names))]
    assert sorted(names, key=path_order) != sorted(names)  # the text order differs: the key matters
