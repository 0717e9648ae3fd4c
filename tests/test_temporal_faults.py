"""Faults and deployments on Temporal, with ``productkit worker`` processes on a dev server.

* A worker killed with SIGKILL while applications are in flight (a smaller repetition of the
  fault run ``make bench`` repeats with 500 applications): none is lost, every one ends
  completed, and no step ran under two idempotency keys.
* A new build: an application started on a version finishes on it while new applications start
  on the new version; a worker without the application's definition refuses it (PK615) and the
  application waits, unharmed, for a worker that has it.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench._runtime import CHANNEL, CONTEXT, INPUTS, PRODUCT, write_catalogue
from bench._temporal import kill_run, worker_process

from productkit.build import build

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The ten-step product at 1.0.0, and a later build where it is 1.1.0 (a higher minimum score)."""
    root = tmp_path_factory.mktemp("ten-step")
    write_catalogue(root / "catalogue")
    assert build([root / "catalogue"], out=root / "v1").out is not None
    product = root / "catalogue" / "products" / "ten-step.yaml"
    text = product.read_text("utf-8")
    product.write_text(text.replace("version: 1.0.0", "version: 1.1.0").replace(
        "bench_min_score: 600", "bench_min_score: 650"), "utf-8")
    assert build([root / "catalogue"], out=root / "v2").out is not None
    return root / "v1", root / "v2"


def test_a_killed_worker_loses_nothing(temporal_server: str, builds: tuple[Path, Path],
                                       tmp_path: Path) -> None:
    figures = kill_run(temporal_server, builds[0], tmp_path, applications=40, seed=7)
    assert figures["killed_after_seconds"] is not None, figures  # the kill happened mid-run
    assert figures["lost"] == 0 and figures["errors"] == [], figures
    assert figures["completed"] == figures["applications"] == 40, figures
    assert figures["steps_under_two_keys"] == 0 and figures["keys_not_derived"] == 0, figures
    assert figures["steps_missing"] == 0, figures


@pytest.fixture
def stop() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)


def _engine(address: str, build: Path, queue: str) -> Any:
    from bench._temporal_handlers import registry

    from productkit.runtime import Catalog
    from productkit.runtime.temporal import TemporalEngine

    return TemporalEngine(Catalog.load(build), address=address, task_queue=queue, handlers=registry)


def _task_failures(engine: Any, app_id: str) -> list[str]:
    async def fetch() -> list[str]:
        handle = engine.client.get_workflow_handle(app_id)
        return [e.workflow_task_failed_event_attributes.failure.message
                async for e in handle.fetch_history_events()
                if e.HasField("workflow_task_failed_event_attributes")]

    out: list[str] = engine._run(fetch())
    return out


def test_a_new_build_rolls_out_without_moving_running_applications(
        temporal_server: str, builds: tuple[Path, Path], stop: list[subprocess.Popen[bytes]]) -> None:
    old, new = builds
    queue = f"deploy-{time.monotonic_ns()}"
    stop.append(worker_process(temporal_server, [old], queue))
    before = _engine(temporal_server, old, queue)
    running = before.start(PRODUCT, CHANNEL, CONTEXT)
    assert running.version == "1.0.0" and running.screen is not None
    stop[0].send_signal(signal.SIGTERM)
    stop[0].wait(timeout=30)

    # Only the new build: the worker refuses the running application's definition, clearly.
    stop.append(worker_process(temporal_server, [new], queue))
    after = _engine(temporal_server, new, queue)
    fresh = after.start(PRODUCT, CHANNEL, CONTEXT)
    assert fresh.version == "1.1.0"
    pending = asyncio.run_coroutine_threadsafe(before.client.get_workflow_handle(running.id).execute_update(
        "submit", args=[_payload("request")], result_type=str), before._loop)
    deadline = time.monotonic() + 60
    while not (failures := _task_failures(before, running.id)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert failures and "PK615" in failures[0] and "ten-step@1.0.0" in failures[0], failures

    with pytest.raises(Exception, match="Workflow Task in failed state"):
        pending.result(timeout=120)  # the server refuses Updates while the task keeps failing

    # A worker given both builds picks it up: it finishes on 1.0.0.
    stop.append(worker_process(temporal_server, [old, new], queue))
    app = _retrying(lambda: before.submit(running.id, "request", INPUTS["request"]))
    app = before.submit(running.id, "confirm", INPUTS["confirm"])
    assert (app.version, app.outcome) == ("1.0.0", "completed"), (app.status, app.reason)
    app = after.submit(fresh.id, "request", INPUTS["request"])
    app = after.submit(fresh.id, "confirm", INPUTS["confirm"])
    assert (app.version, app.outcome) == ("1.1.0", "completed")
    before.close()
    after.close()


def _retrying(call: Any) -> Any:
    """``call()`` once the failed workflow task has been retried on the new worker."""
    deadline = time.monotonic() + 120
    while True:
        try:
            return call()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _payload(step: str) -> str:
    from productkit.runtime._codec import encode

    return encode({"step_id": step, "data": INPUTS[step], "error": None})


def test_the_worker_command_refuses_bad_arguments_with_a_usage_error(tmp_path: Path) -> None:
    import sys

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "productkit", "worker", *args], capture_output=True,
                              text=True, env={"PYTHONPATH": f"{REPO / 'src'}:{REPO}"}, timeout=60)

    handlers = "bench._temporal_handlers:registry"
    bad_address = run("--temporal", "nowhere", "--build", str(tmp_path), "--handlers", handlers)
    assert bad_address.returncode == 2 and "expected HOST:PORT" in bad_address.stderr
    bad_handlers = run("--temporal", "127.0.0.1:1", "--build", str(tmp_path), "--handlers", "no.such.module:x")
    assert bad_handlers.returncode == 2 and "no.such.module" in bad_handlers.stderr
    no_build = run("--temporal", "127.0.0.1:1", "--build", str(tmp_path), "--handlers", handlers)
    assert no_build.returncode == 2 and "PK601" in no_build.stderr
    assert "Traceback" not in bad_address.stderr + bad_handlers.stderr + no_build.stderr
