"""Stores: SQLite durability and atomicity, optimistic revisions, many threads on one file,
and the audit trail an application leaves."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from productkit.runtime import (
    Catalog,
    Commit,
    Engine,
    HandlerMissing,
    Handlers,
    MemoryStore,
    SQLiteStore,
    StaleApplication,
    StepRow,
    Store,
)

from .conftest import FakeClock, MakeBuild
from .products import APPLY, LOAN_HANDLERS, START, loan, loan_recorder


def test_reopening_the_store_continues_where_it_stopped(make_build: MakeBuild, tmp_path: Path,
                                                        clock: FakeClock) -> None:
    catalog, rec = Catalog.load(make_build([loan()])), loan_recorder()
    first = Engine(catalog, handlers=rec.handlers, store=SQLiteStore(tmp_path / "a.db"), clock=clock)
    app = first.start("loan.personal", "mobile", START)
    first.close()

    db = sqlite3.connect(tmp_path / "a.db")
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()
    second = Engine(catalog, handlers=rec.handlers, store=SQLiteStore(tmp_path / "a.db"), clock=clock)
    assert second.get(app.id) == app
    assert second.submit(app.id, "apply", APPLY).outcome == "completed"
    assert rec.steps() == ["kyc", "aml", "score", "open", "notify"]


def test_a_missing_handler_stops_at_the_last_committed_step(make_build: MakeBuild, tmp_path: Path,
                                                           clock: FakeClock) -> None:
    catalog, rec = Catalog.load(make_build([loan()])), loan_recorder()
    store = SQLiteStore(tmp_path / "a.db")
    app = Engine(catalog, handlers=rec.handlers, store=store, clock=clock).start(
        "loan.personal", "mobile", START)

    rolled_back = Handlers()  # a deployment without notify.send
    for name in LOAN_HANDLERS:
        if name != "notify.send":
            rolled_back.add(name, rec.handlers.get(name))  # type: ignore[arg-type]
    with pytest.raises(HandlerMissing, match=r"notify\.send"):
        Engine(catalog, handlers=rolled_back, store=store, clock=clock).submit(app.id, "apply", APPLY)
    assert store.ids(["running"]) == [app.id]
    assert [r.step_id for r in Engine(catalog, store=store).steps(app.id)][-1] == "open"

    fixed = Engine(catalog, handlers=rec.handlers, store=store, clock=clock)
    assert [a.outcome for a in fixed.recover()] == ["completed"]
    assert rec.steps() == ["kyc", "aml", "score", "open", "notify"]  # nothing ran twice


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_commit_is_all_or_nothing_and_checks_the_revision(tmp_path: Path, kind: str,
                                                            make_build: MakeBuild) -> None:
    store: Store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "s.db")
    engine = Engine(Catalog.load(make_build([loan()])), handlers=loan_recorder().handlers, store=store)
    app = engine.start("loan.personal", "web", START)
    row = store.get(app.id)
    assert row is not None
    steps, audit = store.steps(app.id), store.audit(app.id)

    again = StepRow(app.id, "kyc", "step", "done", "{}")  # kyc is recorded already
    with pytest.raises(StaleApplication):
        store.commit(Commit(row, row.revision, (again,)))
    with pytest.raises(StaleApplication):
        store.commit(Commit(row, row.revision - 1))
    assert (store.get(app.id), store.steps(app.id), store.audit(app.id)) == (row, steps, audit)


def test_many_threads_on_one_sqlite_store(make_build: MakeBuild, tmp_path: Path) -> None:
    rec = loan_recorder()
    store = SQLiteStore(tmp_path / "busy.db", synchronous="NORMAL")
    engine = Engine(Catalog.load(make_build([loan()])), handlers=rec.handlers, store=store)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(12):
                app = engine.start("loan.personal", "mobile", START, application_id=f"T{n}-{i}")
                amount = {"loan": {"amount": f"{1000 + n * 100 + i}.00", "term_months": 12}}
                outcomes.append(str(engine.submit(app.id, "apply", amount).outcome))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == [] and outcomes == ["completed"] * 96
    keys = Counter(c.idempotency_key for c in rec.calls)
    assert len(keys) == 96 * 5 and set(keys.values()) == {1}
    for n in range(8):
        for i in range(12):
            app = engine.get(f"T{n}-{i}")
            assert app.data["loan.amount"] == Decimal(f"{1000 + n * 100 + i}.00")
            assert [s.step_id for s in engine.steps(app.id)] == [
                "kyc", "apply", "aml", "score", "decline", "open", "notify"]
            seqs = [e.seq for e in engine.audit(app.id)]
            assert seqs == list(range(1, len(seqs) + 1))


def test_the_audit_trail_has_inputs_outputs_attempts_and_timings(make_build: MakeBuild,
                                                                 clock: FakeClock) -> None:
    engine = Engine(Catalog.load(make_build([loan()])), handlers=loan_recorder().handlers,
                    clock=clock)
    app = engine.start("loan.personal", "mobile", START)
    clock.advance(minutes=5)
    app = engine.submit(app.id, "apply", APPLY)

    records = {r.step_id: r for r in engine.steps(app.id)}
    kyc, apply, opened = records["kyc"], records["apply"], records["open"]
    assert (kyc.inputs, kyc.outputs) == ({"name": "Li Lei"}, {"kyc.status": "passed"})
    assert [(a.number, a.result) for a in kyc.attempts] == [(1, "ok")]
    assert kyc.attempts[0].started == kyc.at == app.created
    assert apply.inputs == {"loan.amount": Decimal("20000.00"), "loan.term_months": 12}
    assert opened.at == clock.now and opened.outputs == {"loan.account": app.data["loan.account"]}
    kinds = [e.kind for e in engine.audit(app.id)]
    assert kinds == ["started", "awaiting_input", "submitted", "ended"]
    assert engine.audit(app.id)[-1].detail == {"outcome": "completed", "reason": None}


@pytest.mark.parametrize("make", ["app", "step", "audit"])
def test_rows_made_through_their_slots_are_the_classes_own(make: str) -> None:
    """The row makers set every field, in order, and make rows that are still frozen."""
    import dataclasses
    import inspect

    from productkit.runtime import store as store_module

    cls = {"app": store_module.AppRow, "step": store_module.StepRow, "audit": store_module.AuditRow}[make]
    maker = getattr(store_module, f"make_{make}_row")
    names = [f.name for f in dataclasses.fields(cls)]
    assert list(inspect.signature(maker).parameters) == names
    values = [f"v{i}" for i in range(len(names))]  # each field its own value
    row = maker(*values)
    assert type(row) is cls and row == cls(*values) and hash(row) == hash(cls(*values))
    assert [getattr(row, n) for n in names] == values
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(row, names[0], "changed")
