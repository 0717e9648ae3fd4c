"""The versions of the checking libraries that key the check index and the build cache: read
from the installed distributions' folder names, they are what importlib.metadata answers."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest

from productkit import validate


def test_the_versions_are_importlib_metadatas() -> None:
    expected = []
    for name in validate._CHECKERS:
        try:
            expected.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            expected.append(f"{name}: not installed")
    assert validate.libraries.__wrapped__() == ",".join(expected)


@pytest.mark.parametrize(("folder", "name", "version"), [
    ("PyYAML-6.0.4.dist-info", "pyyaml", "6.0.4"),
    ("pydantic_core-2.50.5.dist-info", "pydantic-core", "2.50.5"),
    ("google_re2-1.1.20251105.dist-info", "google-re2", "1.1.20251105"),
    ("semantic_version-2.10.0.dist-info", "semantic-version", "2.10.0"),
])
def test_a_dist_info_folder_names_its_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   folder: str, name: str, version: str) -> None:
    (tmp_path / folder).mkdir()
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert validate._dist_info_versions({name}) == {name: version}


def test_the_first_folder_on_the_path_wins_and_others_are_not_read(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    (first / "lxml-6.2.1.dist-info").mkdir(parents=True)
    (second / "lxml-5.0.0.dist-info").mkdir(parents=True)
    (second / "networkx-3.6.1.dist-info").mkdir(parents=True)
    (tmp_path / "a-file.zip").write_bytes(b"")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "a-file.zip"), str(tmp_path / "gone"), str(first), str(second)])
    assert validate._dist_info_versions({"lxml", "networkx"}) == {"lxml": "6.2.1", "networkx": "3.6.1"}
    assert validate._dist_info_versions({"holidays"}) == {}


def test_a_library_without_a_dist_info_folder_is_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    scanned = validate.libraries.__wrapped__()
    monkeypatch.setattr(validate, "_dist_info_versions", lambda wanted: {})
    assert validate.libraries.__wrapped__() == scanned
