"""The open API under load: ``productkit serve`` on a loopback port (one process, SQLite store),
driven by concurrent clients that each walk whole deposit applications (start, the order, the
confirmation, a status read) for a fixed time. Reports requests per second and latency
percentiles of all requests, and applications completed per second."""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["measure_api"]

KEY = "pk_bench_partner_key_000000000000000000000000000"
PARTNERS = """\
partners:
  - id: P100231
    key_sha256: "{digest}"
    products: ["deposit.partner-*"]
    rate_limit: 1000000
"""
START = {"customer": {"id": "C2026120001"}, "partner": {"request_id": "REQ-P100231-70001"},
         "session": {"device_id": "partner-sdk-5d2e81"}}
ORDER = {"deposit": {"amount": "20000.00"}, "funding": {"account_number": "6228480012345678901"},
         "applicant": {"mobile": "13912345678"}, "consent": {"terms_accepted": True}}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _walk(client: Any, latencies: list[float], lock: threading.Lock) -> bool:
    def call(method: str, path: str, body: Any = None) -> Any:
        started = time.perf_counter()
        r = client.request(method, path, json=body)
        with lock:
            latencies.append(time.perf_counter() - started)
        r.raise_for_status()
        return r.json()

    app = call("POST", "/products/deposit.partner-time-deposit/applications", START)
    app = call("POST", app["next"]["href"], ORDER)
    app = call("POST", app["next"]["href"], {"otp": {"code": "482913"}})
    return call("GET", f"/applications/{app['id']}")["outcome"] == "completed"


def measure_api(repo: Path, seconds: float = 10.0, clients: int = 8) -> dict[str, Any]:
    """Requests/s and latency of the open API on the repo catalogue's partner deposit."""
    import hashlib

    import httpx

    from productkit.build import build
    from productkit.options import Options

    work = Path(tempfile.mkdtemp(prefix="productkit-api-bench-"))
    out = build([repo], work / "build", Options(release_date=dt.date.today() - dt.timedelta(days=10), cache=None))
    if out.out is None:
        return {"skipped": "the repo catalogue did not build"}
    partners = work / "partners.yaml"
    partners.write_text(PARTNERS.format(digest="sha256:" + hashlib.sha256(KEY.encode()).hexdigest()))
    port = _port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo / "src"), str(repo / "tests" / "fixtures")])}
    log = (work / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "productkit", "serve", str(work / "build"), "--handlers",
                             "partner_api:registry", "--partners", str(partners), "--port", str(port),
                             "--store", f"sqlite:{work / 'apps.db'}"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        latencies: list[float] = []
        lock, done = threading.Lock(), [0]
        stop = time.monotonic() + seconds

        def worker() -> None:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as client:
                while time.monotonic() < stop:
                    if _walk(client, latencies, lock):
                        with lock:
                            done[0] += 1

        started = time.perf_counter()
        with cf.ThreadPoolExecutor(clients) as pool:
            for f in [pool.submit(worker) for _ in range(clients)]:
                f.result()
        elapsed = time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
    ordered = sorted(latencies)
    return {"clients": clients, "seconds": round(elapsed, 2), "requests": len(ordered),
            "requests_per_second": len(ordered) / elapsed, "applications_per_second": done[0] / elapsed,
            "p50_ms": 1000 * statistics.median(ordered),
            "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]}
