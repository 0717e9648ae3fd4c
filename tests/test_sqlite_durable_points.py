"""The benchmark's ten-step product on SQLite: how many durable points (Commits) an application
costs and what each holds. Handlers that are not local are called only once what led to them is
committed, so the count is one before each call plus one per answer to the caller; guards,
rejects that do not fire and the end have no point of their own."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from bench._runtime import _engine_runner, _sqlite_rate, write_catalogue

from productkit.build import build
from productkit.runtime import Commit, SQLiteStore

POINTS = [
    ([], "awaiting_input"),  # started, the request screen shown: the first answer to the caller
    (["request"], "running"),  # the request, committed before kyc is called
    (["kyc"], "running"),  # kyc's answer, before aml is called
    (["aml"], "running"),  # aml's answer, before fraud is called
    (["fraud"], "running"),  # fraud's answer, before the score is called
    # The risk guard (decided before the score was called, recomputed after a crash), the score's
    # answer, its guard and the confirmation screen: the second answer to the caller.
    (["reject-risk", "score", "reject-score"], "awaiting_input"),
    (["confirm"], "running"),  # the confirmation, before the booking is called
    (["book"], "running"),  # the booking's answer, before the notification is called
    (["notify"], "ended"),  # the notification's answer with the end
]


class RecordingStore(SQLiteStore):
    """An SQLiteStore that remembers the step rows and status of each Commit."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.points: list[tuple[list[str], str]] = []

    def commit(self, commit: Commit) -> None:
        super().commit(commit)
        self.points.append(([s.step_id for s in commit.steps], commit.app.status))


@pytest.fixture(scope="module")
def ten_step(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ten-step")
    write_catalogue(root / "catalogue")
    assert build([root / "catalogue"], out=root / "build").out is not None
    return root / "build"


@pytest.mark.parametrize(("local", "transactions"), [(False, 9), (True, 3)])
def test_durable_points_of_an_application(ten_step: Path, tmp_path: Path, local: bool,
                                          transactions: int) -> None:
    store = RecordingStore(tmp_path / "apps.db")
    run = _engine_runner(importlib.import_module("productkit.runtime"), ten_step, store, local)
    for _ in range(3):
        run()
    stats = store.stats()
    # One caller alone: every Commit is a transaction of its own (one sync of the log under FULL).
    assert (stats.commits, stats.transactions) == (3 * transactions, 3 * transactions)
    if not local:
        assert store.points == POINTS * 3
    else:  # local calls: their answers wait for the next answer to the caller
        assert [status for _, status in store.points[:3]] == ["awaiting_input", "awaiting_input", "ended"]
    store.close()


def test_the_benchmark_processes_share_one_database(ten_step: Path, tmp_path: Path) -> None:
    """The benchmark's SQLite figure runs one worker process per core on one database file: every
    application of every process completes, with its nine Commits, and all of them are in the file."""
    runtime = importlib.import_module("productkit.runtime")
    db = tmp_path / "apps.db"
    rate, writes = _sqlite_rate(runtime, ten_step, db, "NORMAL", False, 8, 4, windows=2, processes=2)
    assert rate > 0
    assert writes["commits_per_application"] == 9.0
    assert 0 < writes["transactions_per_application"] <= 9.0
    store = SQLiteStore(db)
    try:  # 20 warm-up applications per process, then 2 windows of 8
        assert len(store.ids(["ended"])) == 2 * (20 + 2 * 8)
    finally:
        store.close()
