"""The cache is data only, lives outside the catalogue, and can never change a diagnostic."""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
from pathlib import Path

import orjson
import pytest

from casekit import invalid_cases, valid_cases
from productkit.cache import CACHE_DIR_NAME, ENV_VAR, default_folder, engine_digest, open_cache
from productkit.diagnostics import Diagnostic
from productkit.options import Options
from productkit.validate import validate


class _Plant:
    """Unpickling this writes a file: proof that a pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (Path.write_text, (self.marker, "pickle ran"))


def _run(root: Path, cache: Path | str | None) -> list[Diagnostic]:
    return validate([root], Options(cache=cache)).diagnostics  # type: ignore[arg-type]


def _failing(tmp_path: Path) -> Path:
    case = next(c for c in invalid_cases() if c.name.startswith("PK111"))
    return case.install(tmp_path / "cat")


def _plant_everywhere(folder: Path, marker: Path) -> None:
    payload = pickle.dumps(_Plant(marker))
    for sub in ("", "files", f"{engine_digest()[:16]}/files", f"{engine_digest()[:16]}/products"):
        where = folder / sub
        where.mkdir(parents=True, exist_ok=True)
        for name in ("entry.pkl", "entry.json", f"{'0' * 40}.json"):
            (where / name).write_bytes(payload)


def test_a_planted_pickle_never_runs(tmp_path: Path) -> None:
    root = _failing(tmp_path)
    marker = tmp_path / "pwned"
    _plant_everywhere(root / CACHE_DIR_NAME, marker)  # what a pull request could add
    cache = tmp_path / "cache"
    _plant_everywhere(cache, marker)
    for setting in ("auto", cache, root / CACHE_DIR_NAME, None):
        for _ in range(2):
            assert any(d.code == "PK111" for d in _run(root, setting))
    assert not marker.exists()


def _forge(cache: Path, value: object) -> int:
    """Overwrite every entry with ``value``, keeping its key and re-signing with a guessed secret."""
    forged = 0
    for entry in cache.rglob("*.json"):
        _, _, body = entry.read_bytes().partition(b"\n")
        stored = orjson.loads(body)
        stored["value"] = value
        body = orjson.dumps(stored)
        mac = hmac.new(b"\0" * 32, body, hashlib.sha256).hexdigest().encode()
        entry.write_bytes(mac + b"\n" + body)
        forged += 1
    return forged


@pytest.mark.parametrize("value", [
    {"problems": [], "doc": None},  # "this file has no problems"
    {"found": [], "inputs": []},  # "this product has no problems"
])
def test_a_forged_entry_cannot_make_a_failing_run_pass(tmp_path: Path, value: object) -> None:
    root = _failing(tmp_path)
    cache = tmp_path / "cache"
    cold = _run(root, None)
    assert any(d.code == "PK111" for d in cold)
    assert _run(root, cache) == cold
    assert _forge(cache, value)
    assert _run(root, cache) == cold


def test_entries_signed_elsewhere_are_misses(tmp_path: Path) -> None:
    """An entry copied from another cache folder (another secret) is not trusted."""
    root = _failing(tmp_path)
    cold = _run(root, None)
    first, second = tmp_path / "one", tmp_path / "two"
    _run(root, first)
    _run(root, second)
    for entry in first.rglob("*.json"):
        target = second / entry.relative_to(first)
        target.write_bytes(entry.read_bytes().replace(b"PK111", b"PK112"))
    assert _run(root, second) == cold


@pytest.mark.parametrize("value", [
    None, 1, "x", [], {"problems": "x"}, {"problems": [["PK111"]], "doc": None},
    {"problems": [], "doc": {"file": "elsewhere.yaml", "data": {}, "marks": ""}},
    {"problems": [], "doc": {"file": 1}}, {"found": [[1, 2, 3, 4, 5, 6, 7]], "inputs": []},
    {"found": [], "inputs": [1]},
])
def test_structurally_odd_values_are_misses(tmp_path: Path, value: object) -> None:
    """Even an entry carrying this folder's signature is decoded defensively."""
    root = next(c for c in valid_cases() if c.name == "deposit_line").install(tmp_path / "cat")
    bad = _failing(tmp_path / "bad")
    cache_dir = tmp_path / "cache"
    for catalogue in (root, bad):
        cold = _run(catalogue, None)
        _run(catalogue, cache_dir)
        cache = open_cache(cache_dir)
        assert cache is not None
        for entry in cache_dir.rglob("*.json"):
            _, _, body = entry.read_bytes().partition(b"\n")
            stored = orjson.loads(body)
            stored["value"] = value
            body = orjson.dumps(stored)
            entry.write_bytes(cache._mac(body) + b"\n" + body)
        assert _run(catalogue, cache_dir) == cold


def test_default_folder_is_the_user_cache_never_the_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_folder() == tmp_path / "xdg" / "productkit"
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "chosen"))
    assert default_folder() == tmp_path / "chosen"
    root = _failing(tmp_path)
    before = sorted(root.rglob("*"))
    _run(root, "auto")
    assert list((tmp_path / "chosen").rglob("*.json"))
    assert sorted(root.rglob("*")) == before


def test_secret_is_private_and_a_bad_secret_disables_the_cache(tmp_path: Path) -> None:
    cache = open_cache(tmp_path / "c")
    assert cache is not None
    assert (os.stat(tmp_path / "c" / "secret").st_mode & 0o077) == 0
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "secret").write_bytes(b"short")
    assert open_cache(tmp_path / "d") is None
    root = _failing(tmp_path)
    assert _run(root, tmp_path / "d") == _run(root, None)
