"""The ten-step product's handlers for worker processes of the fault run: each call is written to
a journal (one line per attempt: application, step, compensating, idempotency key, process id),
after a short pause so that a killed worker dies in the middle of some calls.

``PRODUCTKIT_BENCH_JOURNAL`` names the journal file; ``PRODUCTKIT_BENCH_DELAY`` the pause in
seconds (default 0.01)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping

from productkit.runtime import Handlers, StepCall

from ._runtime import RESULTS

__all__ = ["registry"]

registry = Handlers()


def _journal(call: StepCall) -> None:
    path = os.environ.get("PRODUCTKIT_BENCH_JOURNAL")
    if not path:
        return
    line = json.dumps([call.application_id, call.step_id, call.compensating, call.idempotency_key,
                       call.attempt, os.getpid()]) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())  # one write to an O_APPEND file: lines never interleave
    finally:
        os.close(fd)


def _handler(result: Mapping[str, object]):  # type: ignore[no-untyped-def]
    def call(call: StepCall) -> dict[str, object]:
        time.sleep(float(os.environ.get("PRODUCTKIT_BENCH_DELAY", "0.01")))
        _journal(call)
        return dict(result)

    return call


for _name, _result in RESULTS.items():
    registry.add(_name, _handler(_result))
