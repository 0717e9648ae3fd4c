"""Crash recovery: a real process running applications on SQLite is killed (SIGKILL) at random
moments and started again until it finishes. Every application must complete, no committed step
may run again, and no effect may be applied twice."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from productkit import ir
from productkit.runtime import Catalog, Engine, SQLiteStore

from .buildfixture import definition, parallel, service, user, wait
from .conftest import MakeBuild

WORKER = Path(__file__).with_name("crash_worker.py")
# Enough work that six kills 0.02-0.35 s into a run cannot outrun it: an application takes at least
# 26 ms (eight handlers sleep 2 ms each, the wait 10 ms), so a hundred take more than 2.1 s.
APPS = 100
SERVICES = [f"s{i}" for i in range(1, 9)]


def crash_product() -> ir.WorkflowDefinition:
    """Ten steps: services, a screen, a short wait, and a parallel block."""
    steps = [service(s, f"crash.{s}") for s in SERVICES]
    steps += [user("confirm", {"confirm.ok": ir.FieldDef(type="boolean")}), wait("pause", "PT0.01S")]
    flow: list[str | ir.Parallel] = ["s1", "s2", "s3", "confirm", "s4", "pause",
                                     parallel(["s5", "s6"], ["s7"]), "s8"]
    return definition("crash.product", "1.0.0", steps, flow)


def _run(args: list[str], kill_after: float | None) -> bool:
    """Run the worker; kill it ``kill_after`` seconds after it is ready. True if killed."""
    proc = subprocess.Popen([sys.executable, str(WORKER), *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "ready"
        if kill_after is not None:
            time.sleep(kill_after)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
                return True
        proc.wait(60)
        out = proc.stdout.read()  # the same buffered stream readline() used
        assert proc.returncode == 0 and out.strip() == "done", out
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# Plain and inline handlers are called once what led to them is committed: a kill repeats at most
# the attempt in flight. Local calls are committed with the next durable write: a kill repeats
# at most the calls since the last commit, the longest run of them between two pauses (s5-s8).
REPEATS_PER_KILL = {"worker": 1, "inline": 1, "local": 4}


@pytest.mark.parametrize("mode", list(REPEATS_PER_KILL))
def test_killed_at_random_points_resumes_without_losing_or_repeating(
        make_build: MakeBuild, tmp_path: Path, mode: str) -> None:
    seed = int(os.environ.get("PRODUCTKIT_CRASH_SEED", random.randrange(2**31)))
    rng = random.Random(seed)
    build = make_build([crash_product()])
    store, ledger = tmp_path / "apps.db", tmp_path / "ledger.db"
    args = [str(build), str(store), str(ledger), str(APPS), mode]
    kills = sum(_run(args, rng.uniform(0.02, 0.35)) for _ in range(6))
    _run(args, None)

    context = f"seed {seed}, {kills} kills"
    assert kills >= 3, context
    db = sqlite3.connect(ledger)
    calls = [k for (k,) in db.execute("SELECT key FROM calls")]
    applied = {k for (k,) in db.execute("SELECT key FROM applied")}
    expected = {f"app-{i:03d}/{s}" for i in range(APPS) for s in SERVICES}
    # The idempotency key was stable across crashes: each effect is applied exactly once.
    assert applied == expected, context
    # Only a step in flight at a kill can be called again; committed steps never are.
    assert len(calls) - len(expected) <= kills * REPEATS_PER_KILL[mode], context

    engine = Engine(Catalog.load(build), store=SQLiteStore(store))
    for i in range(APPS):
        app = engine.get(f"app-{i:03d}")
        assert (app.status, app.outcome) == ("ended", "completed"), context
        steps = [r.step_id for r in engine.steps(app.id)]
        assert sorted(steps) == sorted([*SERVICES, "confirm", "pause"]), context
