"""A built repo catalogue, a partners file and the open-API service, for the API tests."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from starlette.testclient import TestClient

from productkit.build import build
from productkit.options import Options
from productkit.runtime import Catalog, Engine, MemoryStore
from productkit.runtime._api_store import ApiStore
from productkit.runtime.partners import Partners
from productkit.runtime.serve import ApiSettings, create_app

REPO = Path(__file__).resolve().parents[1]
# Released ten days ago, so the products (effective T+1) are on sale for a server on the real clock.
RELEASE = dt.date.today() - dt.timedelta(days=10)
KEYS = {"P100231": "pk_test_partner_one_key_0000000000000000000000",
        "P200019": "pk_test_partner_two_key_0000000000000000000000"}
PARTNERS = """\
partners:
  - id: P100231
    name: e-commerce platform
    key_sha256: "sha256:b405cb5b755d82e84dedc85e85c70de2392d3236ef4d530f6ede081a9f89f84c"
    products: ["wallet.*", "deposit.partner-*", "loan.partner-*"]
    rate_limit: {rate}
  - id: P200019
    name: car dealer platform
    key_sha256: "sha256:93659912b5a80f6901ca16c6616b0f90bfa8af308c36aa2dee85a4923ba4fa66"
    products: ["loan.partner-instalment"]
    rate_limit: {rate}
"""
HANDLERS = "partner_api:registry"


def built(folder: Path) -> Path:
    out = folder / "build"
    result = build([REPO], out, Options(release_date=RELEASE, cache=None))
    assert result.out is not None, [str(d) for d in result.diagnostics if d.severity == "error"]
    return out


def partners_file(folder: Path, rate: int = 100_000) -> Path:
    path = folder / "partners.yaml"
    path.write_text(PARTNERS.format(rate=rate), encoding="utf-8")
    return path


def auth(partner: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[partner]}"}


def client(build_dir: Path, partners: Path, *, max_body: int = 65536,
           clock: Callable[[], dt.datetime] | None = None) -> TestClient:
    """An in-process client of the service over ``build_dir`` with the test handlers."""
    sys.path.insert(0, str(REPO / "tests" / "fixtures"))
    from partner_api import registry

    engine = Engine(Catalog.load(build_dir), handlers=registry, store=MemoryStore(), clock=clock,
                    sleep=lambda s: None)
    app = create_app(engine, ApiSettings(Partners.load(partners), ApiStore(), max_body))
    return TestClient(app, base_url="http://partner-api.test", raise_server_exceptions=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(build_dir: Path, partners: Path, store: str = "memory", slow: float = 0.0,
           port: int | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``productkit serve`` in its own process on a loopback port; yields its base URL."""
    port = port or free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO / "tests" / "fixtures")]),
           "PRODUCTKIT_TEST_SLOW_HANDLER": str(slow)}
    log = (Path(partners).parent / f"serve-{port}.log").open("wb")  # a file: a full pipe would block it
    proc = subprocess.Popen([sys.executable, "-m", "productkit", "serve", str(build_dir), "--handlers", HANDLERS,
                             "--partners", str(partners), "--port", str(port), "--store", store],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                said = (Path(partners).parent / f"serve-{port}.log").read_text(errors="replace")
                raise AssertionError(f"the server did not start: {said[-2000:]}")
            time.sleep(0.1)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
