"""A channel service that is killed at random moments by test_crash.py.

    python crash_worker.py BUILD STORE LEDGER COUNT worker|inline|local

It resumes what the previous (killed) run left, then drives applications app-000 ... to their
end. Every handler applies its effect to LEDGER, an SQLite file standing for the core system:
``calls`` logs each invocation, ``applied`` applies the effect once per idempotency key. The
handlers run on worker threads, ``inline`` on the caller's thread, or as ``local`` calls
(committed with the next durable write).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys
import time

from productkit.runtime import Application, Catalog, Engine, SQLiteStore, StepCall


def main(build: str, store: str, ledger_path: str, count: int, mode: str = "worker") -> None:
    ledger = sqlite3.connect(ledger_path, isolation_level=None, timeout=30)
    ledger.execute("PRAGMA journal_mode=WAL")
    ledger.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT NOT NULL)")
    ledger.execute("CREATE TABLE IF NOT EXISTS applied (key TEXT PRIMARY KEY)")

    def effect(call: StepCall) -> dict[str, object]:
        ledger.execute("INSERT INTO calls VALUES (?)", (call.idempotency_key,))
        time.sleep(0.002)  # the remote call: a window for the kill to land in
        ledger.execute("INSERT OR IGNORE INTO applied VALUES (?)", (call.idempotency_key,))
        return {}

    engine = Engine(Catalog.load(build), store=SQLiteStore(store))
    for need in engine.readiness("web").needs:
        if need.handler not in engine.handlers:
            engine.handlers.add(need.handler, effect, inline=mode == "inline", local=mode == "local")
    print("ready", flush=True)
    engine.recover()
    for i in range(count):
        app = engine.start("crash.product", "web", {}, application_id=f"app-{i:03d}")
        while not app.ended:
            app = _step(engine, app)
    print("done", flush=True)


def _step(engine: Engine, app: Application) -> Application:
    if app.status == "awaiting_input" and app.screen is not None:
        return engine.submit(app.id, app.screen.step_id, {"confirm": {"ok": True}})
    if app.status == "waiting" and app.due is not None:
        time.sleep(max(0.0, (app.due - dt.datetime.now().astimezone()).total_seconds()))
        engine.tick()
        return engine.get(app.id)
    return engine.resume(app.id)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), *sys.argv[5:6])
