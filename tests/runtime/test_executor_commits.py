"""The embedded executor's commits: Saves with nothing done between them are one transaction,
a handler is called only once everything before it is committed, and every call returns only
after its last state is committed."""

from __future__ import annotations

from collections.abc import Mapping

from productkit.runtime import Catalog, Commit, Engine, MemoryStore, StepCall

from .conftest import MakeBuild
from .products import APPLY, START, loan, loan_recorder


class CountingStore(MemoryStore):
    """A MemoryStore that remembers what each transaction held."""

    def __init__(self) -> None:
        super().__init__()
        self.commits: list[tuple[list[str], list[str], str]] = []

    def commit(self, commit: Commit) -> None:
        super().commit(commit)
        self.commits.append(([s.step_id for s in commit.steps], [str(a.kind) for a in commit.audit],
                             commit.app.status))


def test_one_commit_per_step_and_none_between_steps(make_build: MakeBuild) -> None:
    store, rec = CountingStore(), loan_recorder()
    seen: dict[str, list[str]] = {}

    def score(call: StepCall) -> Mapping[str, object]:
        seen["score"] = [s.step_id for s in store.steps(call.application_id)]
        row = store.get(call.application_id)
        assert row is not None and row.status == "running"
        return {"score": 700}

    rec.outputs["credit.score"] = score
    engine = Engine(Catalog.load(make_build([loan()])), handlers=rec.handlers, store=store)
    app = engine.start("loan.personal", "mobile", START)
    # Started (committed before KYC is called), then KYC done and the screen entered: one commit.
    assert store.commits == [([], ["started"], "running"),
                             (["kyc"], ["awaiting_input"], "awaiting_input")]
    assert engine.get(app.id).status == "awaiting_input"

    del store.commits[:]
    app = engine.submit(app.id, "apply", APPLY)
    assert app.outcome == "completed"
    # Each step its own transaction; notify and the end of the application share the last one.
    assert [c[0] for c in store.commits] == [["apply"], ["aml"], ["score"], ["decline", "open"],
                                             ["notify"]]
    assert store.commits[-1][1:] == (["ended"], "ended")
    # The handler of a step saw every step before it committed.
    assert seen["score"] == ["kyc", "apply", "aml"]
    assert [s.step_id for s in engine.steps(app.id)] == ["kyc", "apply", "aml", "score", "decline",
                                                         "open", "notify"]
