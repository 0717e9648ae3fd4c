"""The open API partners call: the OpenAPI document the build writes, and ``productkit serve``
walking applications, refusing what a partner may not do, and answering retries once."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import orjson
import pytest
from openapi_spec_validator import validate

from partner_api_support import auth, built, client, partners_file

DEPOSIT = "/products/deposit.partner-time-deposit"
LOAN = "/products/loan.partner-instalment"
ORDER = {"deposit": {"amount": "20000.00"}, "funding": {"account_number": "6228480012345678901"},
         "applicant": {"mobile": "13912345678"}, "consent": {"terms_accepted": True}}
DEPOSIT_START = {"customer": {"id": "C2026120001"}, "partner": {"request_id": "REQ-P100231-70001"},
                 "session": {"device_id": "partner-sdk-5d2e81"}}
LOAN_START = {"customer": {"id": "C2026120002"}, "partner": {"request_id": "REQ-P200019-90001"}}
LOAN_REQUEST = {"applicant": {"name": "陈思远", "id_number": "110105199003070035", "mobile": "13811112222"},
                "loan": {"amount": "36000.00", "term_months": 12, "repayment_account": "6222021234567890123",
                         "repayment_method": "equal-installment", "repayment_day": 15, "purpose": "durable-goods"},
                "income": {"verified_monthly": "18000.00"}, "consent": {"credit_query_authorized": True}}


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built(tmp_path_factory.mktemp("partner-api"))


@pytest.fixture(scope="module")
def document(build_dir: Path) -> dict[str, object]:
    return orjson.loads((build_dir / "openapi.json").read_bytes())


@pytest.fixture()
def api(build_dir: Path, tmp_path: Path) -> httpx.Client:
    return client(build_dir, partners_file(tmp_path))


# ----------------------------------------------------------------- the document


def test_document_passes_openapi_spec_validator(document: dict[str, object]) -> None:
    validate(document)  # raises on any violation of the OpenAPI 3.1 specification
    assert document["openapi"] == "3.1.0"


def test_every_open_api_product_version_and_step_is_described(build_dir: Path, document: dict) -> None:
    manifest = json.loads((build_dir / "manifest.json").read_text())
    offered = [p for p in manifest["products"] if "open-api" in p["channels"]]
    assert {p["id"] for p in offered} == {"deposit.partner-time-deposit", "loan.partner-instalment",
                                          "wallet.partner-ewallet"}
    for p in offered:
        assert f"/products/{p['id']}/applications" in document["paths"]
        for step, per_channel in p["forms"].items():
            if "open-api" in per_channel:
                path = (f"/products/{p['id']}/versions/{p['version']}/applications/{{application_id}}"
                        f"/steps/{step}")
                assert path in document["paths"], path


def test_step_bodies_are_the_built_forms(build_dir: Path, document: dict) -> None:
    """Not a second copy that can drift: each body schema equals the schema of its form file."""
    compared = 0
    for form_file in sorted((build_dir / "forms").glob("*/*.open-api.json")):
        form = json.loads(form_file.read_text())
        product, version = form_file.parent.name.rsplit("@", 1)
        op = document["paths"][f"/products/{product}/versions/{version}/applications/{{application_id}}"
                               f"/steps/{form['step']}"]["post"]
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert document["components"]["schemas"][ref.rsplit("/", 1)[1]] == form["schema"]
        compared += 1
    assert compared == 6  # two screens in each of the three open-API products


def test_examples_come_from_scenarios_and_fit_their_schemas(document: dict) -> None:
    from jsonschema import Draft7Validator

    op = document["paths"]["/products/loan.partner-instalment/versions/1.0.0/applications/{application_id}"
                           "/steps/request"]["post"]
    media = op["requestBody"]["content"]["application/json"]
    schema = document["components"]["schemas"][media["schema"]["$ref"].rsplit("/", 1)[1]]
    assert "approved-at-checkout" in media["examples"]  # the scenario's id
    for example in media["examples"].values():
        Draft7Validator(schema).validate(example["value"])
    assert media["examples"]["approved-at-checkout"]["value"]["loan"]["amount"] == "36000.00"


def test_partner_id_is_never_part_of_a_start_body(document: dict) -> None:
    start = document["components"]["schemas"]["wallet.partner-ewallet_1.0.0._start"]
    assert "id" not in start["properties"]["partner"]["properties"]
    assert "request_id" in start["properties"]["partner"]["properties"]


def test_the_service_serves_the_sealed_document(api: httpx.Client, build_dir: Path) -> None:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    assert response.content == (build_dir / "openapi.json").read_bytes()


# ----------------------------------------------------------------- whole applications


def _next(app: dict) -> str:
    assert app["next"] is not None, app
    return str(app["next"]["href"])


def test_a_deposit_from_start_to_completion(api: httpx.Client) -> None:
    started = api.post(f"{DEPOSIT}/applications", json=DEPOSIT_START, headers=auth("P100231"))
    assert started.status_code == 201, started.text
    app = started.json()
    assert app["status"] == "waiting" and app["next"]["step"] == "order"
    app = api.post(_next(app), json=ORDER, headers=auth("P100231")).json()
    assert app["next"]["step"] == "confirm"
    done = api.post(_next(app), json={"otp": {"code": "482913"}}, headers=auth("P100231"))
    assert done.status_code == 200, done.text
    assert done.json()["outcome"] == "completed" and done.json()["next"] is None
    read = api.get(f"/applications/{app['id']}", headers=auth("P100231")).json()
    assert read["status"] == "ended" and read["outcome"] == "completed"


def test_a_loan_from_start_to_disbursement(build_dir: Path, tmp_path: Path) -> None:
    """Start, both screens, the payout hold (a timer the service fires when due), the outcome."""
    now = [dt.datetime.now(dt.UTC)]
    api = client(build_dir, partners_file(tmp_path), clock=lambda: now[0])
    app = api.post(f"{LOAN}/applications", json=LOAN_START, headers=auth("P200019")).json()
    app = api.post(_next(app), json=LOAN_REQUEST, headers=auth("P200019")).json()
    assert app["next"]["step"] == "confirm"
    assert app["next"]["shows"]["loan.annual_rate"] == "4.35"  # what the partner shows before signing
    held = api.post(_next(app), json={"otp": {"code": "731904"}, "signature": {"image_token": "sig-7f3a9c1d2e4b5a6c"}},
                    headers=auth("P200019")).json()
    assert held["status"] == "running" and held["next"] is None and held["pending"] == ["hold"]
    assert dt.datetime.fromisoformat(held["due"]) - now[0] == dt.timedelta(minutes=30)
    api.app.state.engine.tick()  # not due yet: nothing moves
    assert api.get(f"/applications/{app['id']}", headers=auth("P200019")).json()["pending"] == ["hold"]
    now[0] += dt.timedelta(minutes=30)
    api.app.state.engine.tick()  # what the server's timer thread does every second
    done = api.get(f"/applications/{app['id']}", headers=auth("P200019")).json()
    assert done["status"] == "ended" and done["outcome"] == "completed"


def test_a_rejection_and_a_cancellation(api: httpx.Client) -> None:
    poor = {**LOAN_REQUEST, "income": {"verified_monthly": "2000.00"}}
    app = api.post(f"{LOAN}/applications", json=LOAN_START, headers=auth("P200019")).json()
    assert api.post(_next(app), json=poor, headers=auth("P200019")).json()["outcome"] == "rejected"
    app = api.post(f"{DEPOSIT}/applications", json=DEPOSIT_START, headers=auth("P100231")).json()
    cancelled = api.post(f"/applications/{app['id']}/cancel", json={"reason": "customer changed their mind"},
                         headers=auth("P100231"))
    assert cancelled.status_code == 200 and cancelled.json()["outcome"] == "cancelled"
    again = api.post(f"/applications/{app['id']}/cancel", json={"reason": "again"}, headers=auth("P100231"))
    assert again.status_code == 409 and again.json()["code"] == "PK625"


def test_field_errors_are_problems_with_paths(api: httpx.Client) -> None:
    app = api.post(f"{DEPOSIT}/applications", json=DEPOSIT_START, headers=auth("P100231")).json()
    bad = {**ORDER, "deposit": {"amount": "20000.001"}, "funding": {"account_number": "12"}}
    response = api.post(_next(app), json=bad, headers=auth("P100231"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "PK624" and problem["status"] == 422
    assert {e["path"] for e in problem["errors"]} >= {"deposit.amount", "funding.account_number"}
    # nothing changed: the application still waits for the same step
    assert api.get(f"/applications/{app['id']}", headers=auth("P100231")).json()["next"]["step"] == "order"


def test_not_eligible_and_invalid_context(api: httpx.Client) -> None:
    wallet = {"application": {"id": "APP20261210000009"}, "partner": {"request_id": "REQ-P100231-1"},
              "applicant": {"age": 12}, "session": {"device_id": "partner-sdk-000001"}}
    response = api.post("/products/wallet.partner-ewallet/applications", json=wallet, headers=auth("P100231"))
    assert response.status_code == 422 and response.json()["code"] == "PK623"
    assert "minimum-age" in response.json()["rules"]
    response = api.post(f"{DEPOSIT}/applications", json={"customer": {"id": "x"}}, headers=auth("P100231"))
    assert response.status_code == 422 and response.json()["code"] == "PK624"
    assert any(e["path"].startswith("customer.id") for e in response.json()["errors"])


# ----------------------------------------------------------------- authentication and confinement


def test_no_key_or_a_wrong_key_is_401(api: httpx.Client) -> None:
    for headers in ({}, {"Authorization": "Bearer pk_wrong"}, {"Authorization": "Basic abc"}):
        response = api.get("/products", headers=headers)
        assert response.status_code == 401 and response.json()["code"] == "PK620"
    assert api.get("/healthz").status_code == 200  # health needs no key


def test_a_partner_sees_only_its_products(api: httpx.Client) -> None:
    listed = api.get("/products", headers=auth("P200019")).json()["products"]
    assert [p["id"] for p in listed] == ["loan.partner-instalment"]
    assert listed[0]["eligibility"] == [] and listed[0]["parameters"]["max_loan_amount"]["value"] == "200000.00"
    for path in (DEPOSIT, "/products/no.such-product"):
        response = api.get(path, headers=auth("P200019"))
        assert response.status_code == 404 and response.json()["code"] == "PK621"
    outside = api.post(f"{DEPOSIT}/applications", json=DEPOSIT_START, headers=auth("P200019"))
    assert outside.status_code == 404  # the same answer as for a product that does not exist


def test_a_partner_never_sees_or_touches_another_partners_application(api: httpx.Client) -> None:
    app = api.post(f"{LOAN}/applications", json=LOAN_START, headers=auth("P100231")).json()
    mine = f"/applications/{app['id']}"
    assert api.get(mine, headers=auth("P100231")).status_code == 200
    assert api.get(mine, headers=auth("P200019")).status_code == 404
    assert api.post(f"{mine}/cancel", json={"reason": "x"}, headers=auth("P200019")).status_code == 404
    assert api.post(_next(app), json=LOAN_REQUEST, headers=auth("P200019")).status_code == 404
    assert api.get(mine, headers=auth("P100231")).json()["next"]["step"] == "request"  # untouched
    unknown = api.get("/applications/" + "0" * 32, headers=auth("P100231"))
    assert unknown.status_code == 404 and unknown.json()["code"] == "PK621"


def test_the_partner_id_comes_from_the_key(api: httpx.Client) -> None:
    wallet = {"application": {"id": "APP20261210000010"}, "partner": {"request_id": "REQ-P100231-2"},
              "applicant": {"age": 30}, "session": {"device_id": "partner-sdk-000002"}}
    started = api.post("/products/wallet.partner-ewallet/applications", json=wallet, headers=auth("P100231"))
    assert started.status_code == 201, started.text  # P100231 is in the product's allowed partners
    forged = {**wallet, "partner": {"id": "P100487", "request_id": "REQ-P100231-3"}}
    response = api.post("/products/wallet.partner-ewallet/applications", json=forged, headers=auth("P100231"))
    assert response.status_code == 422 and response.json()["errors"][0]["path"] == "partner.id"


def test_rate_limit_answers_429_with_retry_after(build_dir: Path, tmp_path: Path) -> None:
    limited = client(build_dir, partners_file(tmp_path, rate=3))
    codes = [limited.get("/products", headers=auth("P100231")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = limited.get("/products", headers=auth("P100231"))
    assert response.json()["code"] == "PK626" and int(response.headers["Retry-After"]) >= 1
    assert limited.get("/products", headers=auth("P200019")).status_code == 200  # per key


def test_bodies_are_size_limited_and_must_be_json_objects(build_dir: Path, tmp_path: Path) -> None:
    small = client(build_dir, partners_file(tmp_path), max_body=2048)
    big = {**DEPOSIT_START, "padding": "x" * 4096}
    response = small.post(f"{DEPOSIT}/applications", json=big, headers=auth("P100231"))
    assert response.status_code == 413 and response.json()["code"] == "PK627"
    response = small.post(f"{DEPOSIT}/applications", content=b"[1, 2]", headers={
        **auth("P100231"), "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["code"] == "PK630"
    response = small.post(f"{DEPOSIT}/applications", content=b"a=b", headers={
        **auth("P100231"), "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415 and response.json()["code"] == "PK631"


def test_requests_are_logged_without_payloads(api: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="productkit.serve"):
        app = api.post(f"{DEPOSIT}/applications", json=DEPOSIT_START, headers=auth("P100231")).json()
        api.post(_next(app), json=ORDER, headers=auth("P100231"))
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "productkit.serve"]
    assert [(line["partner"], line["product"], line["application"], line["status"]) for line in lines] == [
        ("P100231", "deposit.partner-time-deposit", app["id"], 201),
        ("P100231", "deposit.partner-time-deposit", app["id"], 200)]
    text = caplog.text
    for personal in ("13912345678", "6228480012345678901", "C2026120001"):
        assert personal not in text


# ----------------------------------------------------------------- idempotency


def test_a_retried_start_never_starts_twice(api: httpx.Client) -> None:
    headers = {**auth("P100231"), "Idempotency-Key": "order-2026-0001"}
    first = api.post(f"{DEPOSIT}/applications", json=DEPOSIT_START, headers=headers)
    again = api.post(f"{DEPOSIT}/applications", json=DEPOSIT_START, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = api.post(f"{DEPOSIT}/applications", json=DEPOSIT_START, headers={**auth("P100231"),
                                                                             "Idempotency-Key": "order-2026-0002"})
    assert other.json()["id"] != first.json()["id"]


def test_the_same_key_with_another_body_is_422(api: httpx.Client) -> None:
    headers = {**auth("P100231"), "Idempotency-Key": "order-2026-0003"}
    assert api.post(f"{DEPOSIT}/applications", json=DEPOSIT_START, headers=headers).status_code == 201
    changed = {**DEPOSIT_START, "customer": {"id": "C2026120099"}}
    response = api.post(f"{DEPOSIT}/applications", json=changed, headers=headers)
    assert response.status_code == 422 and response.json()["code"] == "PK628"


def test_a_retried_submit_answers_as_the_first(api: httpx.Client) -> None:
    app = api.post(f"{DEPOSIT}/applications", json=DEPOSIT_START, headers=auth("P100231")).json()
    headers = {**auth("P100231"), "Idempotency-Key": "submit-order-1"}
    first = api.post(_next(app), json=ORDER, headers=headers)
    again = api.post(_next(app), json=ORDER, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.json()["next"]["step"] == "confirm"


def test_keys_are_per_partner(api: httpx.Client) -> None:
    one = api.post(f"{LOAN}/applications", json=LOAN_START,
                   headers={**auth("P100231"), "Idempotency-Key": "shared-key"}).json()
    two = api.post(f"{LOAN}/applications", json=LOAN_START,
                   headers={**auth("P200019"), "Idempotency-Key": "shared-key"}).json()
    assert one["id"] != two["id"]


def test_a_deeply_nested_body_is_refused_not_a_crash(api: httpx.Client) -> None:
    body = b'{"customer": {"id": "C2026120001"}, "x": ' + b"[" * 1000 + b"1" + b"]" * 1000 + b"}"
    for headers in (auth("P100231"), {**auth("P100231"), "Idempotency-Key": "deep-1"}):
        response = api.post(f"{DEPOSIT}/applications", content=body,
                            headers={**headers, "Content-Type": "application/json"})
        assert response.status_code == 400 and response.json()["code"] == "PK630"


def test_idempotency_keys_expire_after_a_day() -> None:
    from productkit.runtime._api_store import ApiStore

    now = [1_000_000.0]
    store = ApiStore(keep_keys=86_400, clock=lambda: now[0])
    assert store.remember("P1", "k-old", "sha256:a", None) is None
    now[0] += 2 * 86_400
    for i in range(300):  # enough new keys for a sweep
        store.remember("P1", f"k-{i}", "sha256:b", None)
    assert store.remember("P1", "k-old", "sha256:c", None) is None  # forgotten: a new request
    assert store.remember("P1", "k-1", "sha256:c", None) is not None  # a recent one is remembered


def test_a_refused_start_leaves_nothing_owned(api: httpx.Client, build_dir: Path) -> None:
    wallet = {"application": {"id": "APP20261210000011"}, "partner": {"request_id": "REQ-P100231-9"},
              "applicant": {"age": 12}, "session": {"device_id": "partner-sdk-000011"}}
    headers = {**auth("P100231"), "Idempotency-Key": "refused-1"}
    first = api.post("/products/wallet.partner-ewallet/applications", json=wallet, headers=headers)
    assert first.status_code == 422 and first.json()["code"] == "PK623"
    again = api.post("/products/wallet.partner-ewallet/applications", json=wallet, headers=headers)
    assert again.status_code == 422 and again.json() == first.json()  # the same answer, replayed


def test_two_catalogues_keep_their_own_document_verdicts(repo_catalogue: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The specification's check of the open-API document (seconds on a bank's document) is
    remembered per catalogue: building two catalogues by turns checks each document once."""
    import shutil

    import productkit.targets.openapi as openapi
    from productkit.build import build
    from productkit.options import Options

    other = tmp_path / "other"
    shutil.copytree(repo_catalogue, other)
    product = other / "products" / "loan" / "partner-instalment.yaml"
    product.write_text(product.read_text("utf-8").replace("en: ", "en: Our ", 1), "utf-8")  # another document
    checked: list[int] = []
    spec = openapi._spec_problems

    def counting(doc: object) -> object:
        checked.append(1)
        return spec(doc)  # type: ignore[arg-type]

    monkeypatch.setattr(openapi, "_spec_problems", counting)
    monkeypatch.setenv("PRODUCTKIT_CACHE_DIR", str(tmp_path / "user-cache"))
    options = Options(release_date=dt.date(2026, 9, 30))
    documents = []
    for turn, root in enumerate((repo_catalogue, other, repo_catalogue, other)):
        deposit = root / "products" / "deposit" / "time-deposit-1y.yaml"  # not offered on the open API
        deposit.write_text(deposit.read_text("utf-8") + f"# turn {turn}\n", "utf-8")  # so each build builds
        out = tmp_path / f"out-{root.name}" / "build"
        result = build([root], out, options)
        assert not result.failed() and result.compiled, [d.code for d in result.diagnostics]
        documents.append((out / "openapi.json").read_bytes())
    assert documents[0] == documents[2] != documents[1] == documents[3]
    assert len(checked) == 2


@pytest.mark.parametrize("content", ["newer", "not a database"])
def test_a_store_serve_cannot_use_is_a_usage_error(build_dir: Path, tmp_path: Path, content: str) -> None:
    """A store file a newer productkit wrote, or no SQLite file at all, is named as the
    --store argument's problem (exit 2), not reported as an internal error."""
    import os
    import sqlite3
    import subprocess
    import sys

    from partner_api_support import HANDLERS, REPO

    path = tmp_path / "apps.db"
    if content == "newer":
        db = sqlite3.connect(path)
        db.execute("PRAGMA user_version = 99")
        db.close()
    else:
        path.write_bytes(b"this is not a database, just some bytes long enough to be read " * 20)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO / "tests" / "fixtures")])}
    proc = subprocess.run([sys.executable, "-m", "productkit", "serve", str(build_dir), "--handlers", HANDLERS,
                           "--partners", str(partners_file(tmp_path)), "--store", f"sqlite:{path}"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"productkit: --store 'sqlite:{path}': ") and "PK900" not in proc.stderr
    assert ("newer productkit" in proc.stderr) == (content == "newer")
