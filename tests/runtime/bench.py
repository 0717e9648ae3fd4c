"""Applications per second for a 10-step product (not a test): ``python -m tests.runtime.bench``
or ``python tests/runtime/bench.py`` from the repository root."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from productkit import ir
from productkit.runtime import Catalog, Engine, Handlers, MemoryStore, SQLiteStore, Store
from runtime.buildfixture import cond, definition, end, parallel, service, user, write_build

SERVICES = [f"s{i}" for i in range(1, 8)]


def product() -> ir.WorkflowDefinition:
    """Ten steps: seven services (two in parallel, one with outputs), a screen, a conditional end
    that does not fire, and the final outcome."""
    steps = [service(s, f"bench.{s}") for s in SERVICES]
    steps[0] = service("s1", "bench.s1", outputs={"score": "risk.score"})
    steps += [user("confirm", {"confirm.ok": ir.FieldDef(type="boolean")}),
              end("decline", "rejected", when=cond("risk.score < 600", {"risk.score": "integer"})),
              end("done", "completed")]
    flow: list[str | ir.Parallel] = ["s1", "s2", "confirm", "decline", parallel(["s3"], ["s4"]),
                                     "s5", "s6", "s7", "done"]
    return definition("bench.product", "1.0.0", steps, flow,
                       data={"risk.score": ir.FieldDef(type="integer")})


def run(store: Store, catalog: Catalog, n: int) -> float:
    handlers = Handlers()
    for s in SERVICES:
        handlers.add(f"bench.{s}", lambda call: {"score": 700})
    engine = Engine(catalog, handlers=handlers, store=store)
    t0 = time.perf_counter()
    for _ in range(n):
        app = engine.start("bench.product", "web", {})
        app = engine.submit(app.id, "confirm", {"confirm": {"ok": True}})
        assert app.outcome == "completed"
    return n / (time.perf_counter() - t0)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Catalog.load(write_build(Path(tmp) / "build", [product()]))
        run(MemoryStore(), catalog, 50)  # warm up caches (CEL programs, validators)
        print(f"memory          {run(MemoryStore(), catalog, 2000):8.0f} applications/s")
        syncs: tuple[Literal["NORMAL", "FULL"], ...] = ("NORMAL", "FULL")
        for sync in syncs:
            store = SQLiteStore(Path(tmp) / f"{sync}.db", synchronous=sync)
            print(f"sqlite {sync:<8} {run(store, catalog, 1000):8.0f} applications/s")
            store.close()


if __name__ == "__main__":
    main()
