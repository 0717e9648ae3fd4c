"""SQLiteStore.get answers a row the store committed itself without a query while no other
connection has committed since (the WAL index's change counter says so), and what it answers
is always what the database holds: checked against MemoryStore and against a plain query over
random runs in which a second store on the same file writes too."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from productkit.runtime import AppRow, Commit, MemoryStore, SQLiteStore, StaleApplication, StepRow
from productkit.runtime import sqlite as sqlite_module


def _row(app: str, status: str = "running", state: str = "{}") -> AppRow:
    return AppRow(app, "p", "1.0.0", "web", status, None, 0, state)


def _queried(store: SQLiteStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    read = sqlite_module.SQLiteStore._read

    def counted(self: SQLiteStore, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        seen.append(sql)
        return read(self, sql, params)

    monkeypatch.setattr(sqlite_module.SQLiteStore, "_read", counted)
    return seen


def test_a_row_the_store_committed_is_answered_without_a_query(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    store = SQLiteStore(tmp_path / "apps.db")
    store.commit(Commit(_row("A"), 0))
    store.commit(Commit(_row("A", "awaiting_input", '{"n":2}'), 1))
    queries = _queried(store, monkeypatch)
    assert store.get("A") == AppRow("A", "p", "1.0.0", "web", "awaiting_input", None, 2, '{"n":2}')
    assert queries == []
    assert store.get("B") is None and len(queries) == 1  # not kept: asked
    store.close()


def test_a_commit_by_another_connection_is_read_from_the_database(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    store = SQLiteStore(tmp_path / "apps.db")
    store.commit(Commit(_row("A"), 0))
    store.commit(Commit(_row("B"), 0))
    other = sqlite3.connect(tmp_path / "apps.db", isolation_level=None)
    other.execute("UPDATE applications SET status = 'ended', revision = 2 WHERE id = 'A'")
    other.close()
    queries = _queried(store, monkeypatch)
    assert store.get("A") == AppRow("A", "p", "1.0.0", "web", "ended", None, 2, "{}")
    store.commit(Commit(_row("C"), 0))  # the store's next commit: B was kept before the other's
    assert store.get("B") == AppRow("B", "p", "1.0.0", "web", "running", None, 1, "{}")
    assert store.get("A") is not None and store.get("A").status == "ended"  # type: ignore[union-attr]
    assert len(queries) == 4
    assert store.get("C") == AppRow("C", "p", "1.0.0", "web", "running", None, 1, "{}")
    assert len(queries) == 4  # C alone was kept again
    store.close()


def test_a_refused_commit_leaves_the_stored_row(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "apps.db")
    store.commit(Commit(_row("A"), 0, (StepRow("A", "s", "step", "done", "{}"),)))
    twice = (StepRow("A", "s", "step", "done", "{}"),)
    for stale in (Commit(_row("A", "ended"), 0), Commit(_row("A", "ended"), 1, twice)):
        with pytest.raises(StaleApplication):
            store.commit(stale)
        assert store.get("A") == AppRow("A", "p", "1.0.0", "web", "running", None, 1, "{}")
    store.close()


_APPS = ("A", "B", "C")
_op = st.tuples(st.sampled_from(("mine", "other", "batch", "read")),
                st.lists(st.tuples(st.sampled_from(_APPS), st.integers(-1, 1), st.sampled_from(("s1", "s2", "s3")),
                                   st.sampled_from(("running", "awaiting_input", "ended"))),
                         min_size=1, max_size=4))


def _commit_for(model: MemoryStore, app: str, shift: int, step: str, status: str, n: int) -> Commit:
    """A Commit at the revision the model holds (``shift`` 0), or a stale one."""
    current = model.get(app)
    expected = max(0, (current.revision if current is not None else 0) + shift)
    return Commit(AppRow(app, "p", "1.0.0", "web", status, n if n % 2 else None, 0, f'{{"n":{n}}}'), expected,
                  (StepRow(app, f"{step}-{n % 3}", "step", "done", f'{{"n":{n}}}'),))


def _apply(model: MemoryStore, commit: Commit) -> type[BaseException] | None:
    try:
        model.commit(commit)
    except StaleApplication:
        return StaleApplication
    return None


def _truth(path: Path, app: str) -> AppRow | None:
    db = sqlite3.connect(path)
    rows = db.execute("SELECT id, product_id, version, channel, status, due_at, revision, state "
                      "FROM applications WHERE id = ?", (app,)).fetchall()
    db.close()
    return AppRow(*rows[0]) if rows else None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_op, min_size=1, max_size=14))
def test_what_the_store_answers_is_what_memory_holds(ops: list[tuple[str, list[tuple[str, int, str, str]]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "apps.db"
        mine, other = SQLiteStore(path, synchronous="NORMAL"), SQLiteStore(path, synchronous="NORMAL")
        model = MemoryStore()
        n = 0
        for kind, items in ops:
            if kind == "read":
                continue
            commits = []
            for app, shift, step, status in items:
                n += 1
                commits.append(_commit_for(model, app, shift, step, status, n))
            if kind == "batch":  # written together, as a group transaction of callers on several threads
                batch = [sqlite_module._Pending(c) for c in commits]
                with mine._lock:
                    mine._write(batch)
                got = [type(p.error) if p.error is not None else None for p in batch]
                assert got == [_apply(model, c) for c in commits]
            else:
                store = mine if kind == "mine" else other
                for c in commits:
                    expected = _apply(model, c)
                    if expected is None:
                        store.commit(c)
                    else:
                        with pytest.raises(expected):
                            store.commit(c)
            for app in _APPS:
                assert mine.get(app) == other.get(app) == model.get(app) == _truth(path, app)
        mine.close()
        other.close()
