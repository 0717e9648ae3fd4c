"""``productkit serve`` as partners meet it: a real server process on a loopback port, tested by
schemathesis from the server's own OpenAPI document, and killed in the middle of requests."""

from __future__ import annotations

import concurrent.futures as cf
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from partner_api_support import KEYS, auth, built, free_port, partners_file, server

HERE = Path(__file__).resolve().parent
START = {"customer": {"id": "C2026120001"}, "partner": {"request_id": "REQ-P100231-70001"},
         "session": {"device_id": "partner-sdk-5d2e81"}}
ORDER = {"deposit": {"amount": "20000.00"}, "funding": {"account_number": "6228480012345678901"},
         "applicant": {"mobile": "13912345678"}, "consent": {"terms_accepted": True}}
DEPOSIT = "/products/deposit.partner-time-deposit"


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built(tmp_path_factory.mktemp("partner-api-live"))


def test_schemathesis_finds_no_failure(build_dir: Path, tmp_path: Path) -> None:
    """Every phase (examples, coverage, fuzzing, stateful) with bounded examples: no 5xx, every
    response as the document says (status, content type, headers, body schema)."""
    st = Path(sys.executable).with_name("st")
    with server(build_dir, partners_file(tmp_path)) as (url, _):
        run = subprocess.run([str(st), "--config-file", str(HERE / "schemathesis.toml"), "run",
                              f"{url}/openapi.json", "-H", f"Authorization: Bearer {KEYS['P100231']}",
                              "--checks", "all", "-n", "5", "--seed", "1", "-w", "1", "--request-timeout", "20",
                              "--report", "junit", "--report-dir", str(tmp_path / "report")],
                             capture_output=True, text=True, timeout=900, cwd=tmp_path)
    summary = run.stdout[-4000:]
    assert run.returncode == 0, summary
    assert "passed" in summary and "failed" not in summary.split("SUMMARY")[-1]


def _start(url: str, key: str) -> tuple[str, int, str | None]:
    try:
        r = httpx.post(f"{url}{DEPOSIT}/applications", json=START, timeout=10,
                       headers={**auth("P100231"), "Idempotency-Key": key})
        return key, r.status_code, r.json().get("id") if r.status_code in (200, 201) else None
    except httpx.TransportError:
        return key, 0, None


def _submit(url: str, app_id: str, key: str) -> tuple[str, int, str | None]:
    href = f"{url}{DEPOSIT}/versions/1.0.0/applications/{app_id}/steps/order"
    try:
        r = httpx.post(href, json=ORDER, timeout=10, headers={**auth("P100231"), "Idempotency-Key": key})
        return app_id, r.status_code, (r.json().get("next") or {}).get("step") if r.status_code == 200 else None
    except httpx.TransportError:
        return app_id, 0, None


def test_a_killed_server_loses_no_acknowledged_application(build_dir: Path, tmp_path: Path) -> None:
    """Requests in flight when the server is killed with SIGKILL: every one it acknowledged is
    there after a restart, and retrying every request with its key starts nothing twice."""
    db, partners, port = tmp_path / "apps.db", partners_file(tmp_path), free_port()
    keys = [f"start-{i:03d}" for i in range(40)]
    with server(build_dir, partners, store=f"sqlite:{db}", slow=0.2, port=port) as (url, proc), \
            cf.ThreadPoolExecutor(8) as pool:
        started = list(pool.map(lambda k: _start(url, k), keys[:20]))
        apps = [a for _, status, a in started if status == 201 and a]
        assert len(apps) == 20
        futures = [pool.submit(_submit, url, a, f"order-{a}") for a in apps]
        futures += [pool.submit(_start, url, k) for k in keys[20:]]
        # killed once the first answers are in (however loaded the machine), while most are in flight
        cf.wait(futures, timeout=60, return_when=cf.FIRST_COMPLETED)
        time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        answers = [f.result() for f in futures]
    acknowledged_orders = {a for a, status, step in answers[:20] if status == 200 and step == "confirm"}
    acknowledged_starts = {k: a for k, status, a in answers[20:] if status == 201}
    assert 0 < len(acknowledged_orders) + len(acknowledged_starts) < 40  # the kill fell mid-flight

    with server(build_dir, partners, store=f"sqlite:{db}", port=port) as (url, _):
        for app_id in acknowledged_orders:
            view = httpx.get(f"{url}/applications/{app_id}", headers=auth("P100231")).json()
            assert view["next"]["step"] == "confirm", view
        for key, app_id in acknowledged_starts.items():
            assert httpx.get(f"{url}/applications/{app_id}", headers=auth("P100231")).status_code == 200
            assert _start(url, key)[2] == app_id  # a retry finds the same application
        retried = [_start(url, k) for k in keys]
        ids = [a for _, _, a in retried]
        assert all(ids) and len(set(ids)) == len(keys)  # one application per key, none twice
        for app_id in apps:  # every order retried ends at the confirmation, once
            _, status, step = _submit(url, app_id, f"order-{app_id}")
            assert (status, step) == (200, "confirm")
