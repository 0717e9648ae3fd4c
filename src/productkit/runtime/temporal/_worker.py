"""A worker: polls a task queue and runs the application workflows and the handler activities.

    worker = make_worker(client, [Catalog.load("build")], handlers)
    await worker.run()

or from the command line ``productkit worker --temporal HOST:PORT --build build --handlers
module:registry``. Give it every build whose applications may still be running (``--build``
repeats): a workflow pinned to a digest none of them holds is refused (PK615) and waits for a
worker that has it.
"""

from __future__ import annotations

import asyncio
import importlib
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from ..catalog import Catalog
from ..errors import InvalidArgument
from ..handlers import Handlers
from ._activities import Calls
from ._programs import add as add_definitions
from ._workflow import ApplicationWorkflow

__all__ = ["TASK_QUEUE", "load_handlers", "make_worker", "serve"]

TASK_QUEUE = "productkit"
# Imported once, outside the sandbox, and shared by every workflow: productkit's runtime (the
# decision core is pure; the program registry must be one per process) and the libraries it
# uses to check a submission.
_PASSTHROUGH = ("productkit", "pydantic", "pydantic_core", "jsonschema", "jsonschema_specifications",
                "referencing", "rpds", "cel_expr_python", "re2", "orjson", "yaml", "holidays")


def runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*_PASSTHROUGH))


def make_worker(client: Client, builds: Sequence[Catalog], handlers: Handlers, *,
                task_queue: str = TASK_QUEUE, max_concurrent: int = 200) -> Worker:
    """A worker for ``task_queue`` that runs the product versions of ``builds`` with ``handlers``."""
    for catalog in builds:
        add_definitions(catalog)
    return Worker(client, task_queue=task_queue, workflows=[ApplicationWorkflow],
                  activities=[Calls(handlers).call], workflow_runner=runner(),
                  max_concurrent_activities=max_concurrent,
                  max_concurrent_workflow_tasks=max_concurrent)


def load_handlers(spec: str) -> Handlers:
    """``module:attribute`` naming a :class:`Handlers` registry (or a function returning one)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise InvalidArgument(f"--handlers {spec!r}: expected module:registry")
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise InvalidArgument(f"--handlers {spec!r}: {exc}") from None
    if callable(found) and not isinstance(found, Handlers):
        found = found()
    if not isinstance(found, Handlers):
        raise InvalidArgument(f"--handlers {spec!r} is a {type(found).__name__}, not a Handlers registry")
    return found


def serve(address: str, builds: Sequence[Path], handlers: Handlers, *, namespace: str = "default",
          task_queue: str = TASK_QUEUE) -> None:
    """Run a worker until SIGINT or SIGTERM (then finish the tasks in hand and stop)."""
    catalogs = [Catalog.load(b) for b in builds]
    asyncio.run(_serve(address, catalogs, handlers, namespace, task_queue))


async def _serve(address: str, catalogs: Sequence[Catalog], handlers: Handlers, namespace: str,
                 task_queue: str) -> None:
    client = await Client.connect(address, namespace=namespace)
    worker = make_worker(client, catalogs, handlers, task_queue=task_queue)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        versions = sorted({pv.key for catalog in catalogs for pv in catalog})
        sys.stderr.write(f"productkit worker: polling {task_queue!r} on {address} ({namespace}) with "
                         f"{len(versions)} product version(s) from {len(catalogs)} build(s)\n")
        await stop.wait()
