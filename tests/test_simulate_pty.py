"""``productkit simulate`` on a terminal: driven under a pseudo-terminal, it asks for the
customer's details and each screen's fields with their labels, refuses an answer that breaks
the form's rules and says why, and ends with the steps taken and the outcome in plain words."""

from __future__ import annotations

import os
import re
import select
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pty = pytest.importorskip("pty")

ANSWERS = {"age": "36", "id_number": "110105199003071234", "mobile": "13812345678",
           "application.id": "APP20261201000001", "customer.id": "C2026000101",
           "device": "dev-7f3a9c2e4b1d", "account|账户": "6222021234567890123", "terms|条款|accept": "true",
           "code|验证码": "384920"}


def _answer(prompt: str, amounts: list[str]) -> str:
    if re.search(r"amount|金额", prompt, re.I) and "<" not in prompt:
        return amounts.pop(0) if amounts else ""
    return next((a for k, a in ANSWERS.items() if re.search(k, prompt, re.I)), "")  # Enter: the default


def _drive(lang: str, amounts: list[str], timeout: float = 90.0) -> tuple[int, str]:
    """Run simulate in a pseudo-terminal, answering each prompt (a line ending in ': ')."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI on the terminal
        os.environ["PYTHONPATH"] = str(REPO / "src")
        os.execv(sys.executable, [sys.executable, "-m", "productkit", "simulate", "deposit.time-3m",
                                  "--channel", "web", "--root", str(REPO), "--lang", lang])
    seen, pending, deadline = "", "", time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096).decode("utf-8", "replace")
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen, pending = seen + chunk, pending + chunk
        if pending.endswith(": "):
            os.write(fd, (_answer(pending.splitlines()[-1], amounts) + "\n").encode())
            pending = ""
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen.replace("\r\n", "\n")


def test_simulate_asks_refuses_with_a_reason_and_ends_in_plain_words() -> None:
    code, out = _drive("en", ["12.5", "20000"])
    assert code == 0, out
    assert "Amount (CNY)" in out and "not accepted: 12.5 is below the minimum 50.00" in out
    assert "Book time deposit (book) is a service step with no result given" in out
    assert re.search(r"skipped\s+reject-fraud: fraud.risk_level == \"high\" is false \(fraud.risk_level = low\)", out)
    assert "outcome: completed. The application is complete: the customer has the product." in out
    assert "None" not in out and "Error" not in out and "Traceback" not in out


def test_simulate_speaks_chinese_when_asked() -> None:
    code, out = _drive("zh-CN", ["20000"])
    assert code == 0, out
    assert "存款金额" in out or "金额" in out
    assert "申请已完成" in out


def test_simulate_from_data_explains_a_failure_without_python_words(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from productkit import cli

    data = tmp_path / "sim.yaml"
    data.write_text(
        "context: {application.id: APP20261201000001, customer.id: C2026000101, applicant.id_number: "
        "'110105199003071234', applicant.mobile: '13812345678', applicant.age: 36, session.device_id: dev-7f3a9c2e}\n"
        "inputs: {amount: {deposit.amount: '20000.00'}, funding: {funding.account_number: '6222021234567890123'},"
        " terms: {consent.terms_accepted: true}, review: {}, otp: {otp.code: '384920'}, result: {}}\n"
        "handlers: {book: {fail: core timeout}}\n", encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["simulate", "deposit.time-3m", "--channel", "web", "--data", str(data),
                                          "--root", str(REPO)])
    assert result.exit_code == 0, result.output
    assert re.search(r"failed\s+book \(Book time deposit\): technical failure: core timeout", result.output)
    assert "note: fraud: no result was given; used fraud.risk_level = low" in result.output
    assert "outcome: failed. The application could not be completed because a system failed" in result.output
    assert "_Failure" not in result.output and "None" not in result.output
