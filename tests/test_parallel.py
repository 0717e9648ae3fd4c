"""Per-product work on every core (productkit.parallel), and a build staged as it is checked."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from productkit import parallel
from productkit.build import build
from productkit.options import Options
from productkit.output import Stage
from productkit.runtime import Catalog

RELEASE = dt.date(2026, 9, 30)


def _big(n: int) -> tuple[int, bytes, int]:
    # a result larger than a pipe's buffer: a child must never wait for the parent to read
    return n, os.urandom(8) + bytes(70_000), os.getpid()


_IN_A_FRESH_PROCESS = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
from test_parallel import _big
from productkit import parallel
out = parallel.map_ordered(_big, list(range(120)), minimum=2)
print(json.dumps({"order": [n for n, _, _ in out], "sizes": sorted({len(d) for _, d, _ in out}),
                  "pids": len({pid for _, _, pid in out}), "cores": parallel.cores()}))
"""


def test_results_come_back_in_order_from_every_worker() -> None:
    # a fresh interpreter: this one may run other tests' threads, and then it never forks
    done = subprocess.run([sys.executable, "-c", _IN_A_FRESH_PROCESS, str(Path(__file__).parent)],
                          capture_output=True, text=True, check=True, timeout=120)
    out = json.loads(done.stdout)
    assert out["order"] == list(range(120)) and out["sizes"] == [70_008]
    if out["cores"] >= 2:
        assert out["pids"] >= 2, "the work was shared with a forked worker"


class _Unpicklable(Exception):
    def __init__(self, a: int, b: int) -> None:  # a custom signature: does not unpickle as raised
        super().__init__(f"{a}/{b}")
        self.lock = __import__("threading").Lock()  # and does not pickle at all


def _fails(n: int) -> int:
    if n == 77:  # an odd item: a forked worker's share on two cores
        raise ValueError(f"item {n} is bad")
    return n


def _fails_oddly(n: int) -> int:
    if n == 91:
        raise _Unpicklable(n, 2)
    return n


def test_a_workers_failure_is_raised_in_the_caller() -> None:
    with pytest.raises(ValueError, match="item 77 is bad"):
        parallel.map_ordered(_fails, list(range(100)), minimum=2)


def test_a_failure_that_does_not_pickle_still_arrives_with_its_traceback() -> None:
    with pytest.raises((_Unpicklable, RuntimeError), match="91/2"):
        parallel.map_ordered(_fails_oddly, list(range(100)), minimum=2)


def test_a_process_with_threads_is_not_forked() -> None:
    import threading

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        out = parallel.map_ordered(_big, list(range(50)), minimum=2)
    finally:
        stop.set()
        other.join()
    assert {pid for _, _, pid in out} == {os.getpid()}


def _files(out: Path) -> set[str]:
    folder = out.resolve()
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_a_selected_build_holds_exactly_what_its_manifest_seals(repo_catalogue: Path, tmp_path: Path) -> None:
    out = tmp_path / "build"
    first = build([repo_catalogue], out, Options(release_date=RELEASE, cache=None), select=["deposit.time-1y"])
    assert not first.failed(), first.diagnostics
    assert {k.split("@")[0] for k in first.compiled} == {"deposit.time-1y"}
    Catalog.load(out, verify="all")  # every file sealed, none unlisted
    manifest = first.manifest
    assert manifest is not None
    assert _files(out) == {*manifest["files"], "manifest.json", ".productkit-build"}
    whole = build([repo_catalogue], out, Options(release_date=RELEASE, cache=None))
    assert not whole.failed() and whole.reused == first.compiled
    Catalog.load(out, verify="all")
    again = build([repo_catalogue], out, Options(release_date=RELEASE, cache=None), select=["loan.*"])
    assert not again.failed() and again.compiled == [] and again.up_to_date is False
    Catalog.load(out, verify="all")


def test_a_disk_failure_while_staging_is_pk502_and_the_previous_build_stays(
        repo_catalogue: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "build"
    assert not build([repo_catalogue], out, Options(release_date=RELEASE, cache=None)).failed()
    before = {name: (out / name).read_bytes() for name in _files(out)}
    product = next(p for p in sorted((repo_catalogue / "products").rglob("*.yaml"))
                   if not p.name.endswith(".scenario.yaml"))
    product.write_text(product.read_text("utf-8") + "\n# edited\n", "utf-8")

    def full(self: Stage, name: str, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", name)

    monkeypatch.setattr(Stage, "write", full)
    failed = build([repo_catalogue], out, Options(release_date=RELEASE, cache=None))
    assert [d.code for d in failed.diagnostics if d.severity.value == "error"] == ["PK502"]
    assert {name: (out / name).read_bytes() for name in _files(out)} == before
    assert not [p for p in (tmp_path / ".build.builds").iterdir() if p.name.startswith(".tmp-")]


_LOAD_BOTH_WAYS = """
import json, os, sys
from pathlib import Path
from productkit import parallel, sources
from productkit.options import Options

def seen(root, minimum):
    sources.PARALLEL_FILES = minimum
    catalog, found = sources.load_catalog(Path(root), Options(cache=None))
    entries = [[e.file, list(e.key), e.damaged, e.model.model_dump(mode="json"), repr(e.doc.data),
                sorted(e.doc.marks.values.items()), sorted(e.doc.marks.keys.items()),
                sorted(e.doc.marks.quoted), sorted(e.doc.marks.block)] for e in catalog.entries]
    return {"entries": entries, "files": catalog.files, "digests": catalog.digests,
            "found": [repr(d) for d in found]}

apart, whole = seen(sys.argv[1], 10), seen(sys.argv[1], 10**9)
print(json.dumps({"same": apart == whole, "entries": len(whole["entries"]), "found": len(whole["found"]),
                  "cores": parallel.cores()}))
"""


def test_a_catalogue_parsed_on_every_core_is_the_one_parsed_here(repo_catalogue: Path) -> None:
    # every kind of document, and files that do not load or make a damaged model, in their places
    bad = repo_catalogue / "products" / "zz-bad"
    bad.mkdir()
    (bad / "syntax.yaml").write_text("apiVersion: productkit/v1\nkind: [\n", "utf-8")
    (bad / "shape.yaml").write_text("apiVersion: productkit/v1\nkind: Product\nid: 7\n", "utf-8")
    (bad / "bytes.yaml").write_bytes(b"apiVersion: productkit/v1\nkind: \xff\n")
    (repo_catalogue / "components" / "a-first.yaml").write_text("just text\n", "utf-8")
    done = subprocess.run([sys.executable, "-c", _LOAD_BOTH_WAYS, str(repo_catalogue)], capture_output=True,
                          text=True, check=True, timeout=300)
    out = json.loads(done.stdout)
    assert out["same"], "a catalogue parsed in forked workers differs from one parsed in this process"
    assert out["entries"] >= 120 and out["found"] >= 4
