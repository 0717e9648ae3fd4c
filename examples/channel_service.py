"""A mobile-banking back end opening a 1-year time deposit: from Catalog.load to a finished
application. Run `make run` first (it writes build/), then `python examples/channel_service.py`."""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

from productkit.runtime import Catalog, Engine, Handlers, SQLiteStore, StepCall

build_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("build")
catalog = Catalog.load(build_dir)  # verifies every seal before use; refuses a tampered build

handlers = Handlers()


@handlers.register("risk.fraud.score-transaction")
def score(call: StepCall) -> dict[str, object]:
    return {"fraud.risk_level": "low"}


@handlers.register("core.deposit.open-time-deposit")
def book(call: StepCall) -> dict[str, object]:
    # call.idempotency_key is the same on every attempt and after a crash: give it to the core
    # system so the deposit is booked once. Parameters arrive as exact Decimals.
    assert str(call.parameters["annual_rate"]) == "1.20"
    return {"deposit.certificate_number": "TD20261201000123"}


# The other steps of this product (consent record, OTP check, notifications) are stubbed.
for need in Engine(catalog, handlers=handlers).readiness("mobile", ["deposit.time-1y"]).needs:
    if not need.registered:
        handlers.add(need.handler, lambda call: {})

with tempfile.TemporaryDirectory() as tmp:
    engine = Engine(catalog, handlers=handlers, store=SQLiteStore(Path(tmp) / "apps.db"),
                    clock=lambda: dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC))
    app = engine.start("deposit.time-1y", "mobile", {
        "application.id": "APP20261201000001", "customer.id": "C2026000101",
        "applicant.id_number": "110105199003071234", "applicant.mobile": "13812345678",
        "applicant.age": 36, "session.device_id": "dev-7f3a9c2e4b1d"})
    answers = {"amount": {"deposit.amount": "100000.00"},
               "funding": {"funding.account_number": "6222021234567890123"},
               "terms": {"consent.terms_accepted": True}, "otp": {"otp.code": "384920"}}
    while app.screen is not None:
        print("screen:", app.screen.step_id, "-", app.screen.title.en, "/", app.screen.title.zh_CN)
        app = engine.submit(app.id, app.screen.step_id, answers.get(app.screen.step_id, {}))
    print("outcome:", app.outcome, app.reason or "", "certificate:", app.data.get("deposit.certificate_number"))
    engine.close()
